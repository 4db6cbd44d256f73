// A test page: a tiny chat UI on parley-client/react, bundled by esbuild for the browser
// tests. Its configuration comes in the URL fragment, which survives a reload.
import { createElement as h, useEffect } from 'react';
import { createRoot } from 'react-dom/client';
import { createClient } from '../../client/src/index.ts';
import {
  ParleyProvider,
  useConnectionState,
  useConversation,
  useConversations,
  useMessages,
  useNotifications,
  usePresence,
  useSendMessage,
  useTyping,
  useUnread,
} from '../../client/src/react/index.ts';

declare const location: { hash: string };
declare const document: { getElementById(id: string): unknown };
const page = globalThis as unknown as { chat: Record<string, unknown>; renders: Record<string, number> };

const cfg = JSON.parse(decodeURIComponent(location.hash.slice(1))) as { url: string; token: string; conversationId: string; peer: string };
const client = createClient({ url: cfg.url, token: cfg.token });
page.renders = { messages: 0, typing: 0 };
page.chat = { client, stats: () => client.stats.get(), persisted: () => client.persisted() };

function Status() {
  const s = useConnectionState();
  return h('p', { id: 'status' }, `${s.status}${s.synced ? ' synced' : ''}`);
}

function Conversations() {
  const { conversations } = useConversations();
  return h(
    'ul',
    { id: 'conversations' },
    conversations.map((c) => h('li', { key: c.id, 'data-unread': c.unreadCount }, `${c.title}: ${c.lastMessage?.body ?? ''}`)),
  );
}

function Title({ id }: { id: string }) {
  return h('h1', { id: 'title' }, useConversation(id)?.title ?? '');
}

function Messages({ id }: { id: string }) {
  page.renders.messages!++;
  const { messages, pending } = useMessages(id);
  return h('ol', { id: 'messages' }, [
    ...messages.map((m) => h('li', { key: m.id, 'data-state': 'sent', 'data-seq': m.seq }, m.body)),
    ...pending.map((e) => h('li', { key: e.clientMsgId, 'data-state': e.status }, e.body)),
  ]);
}

function Composer({ id }: { id: string }) {
  const { send } = useSendMessage(id);
  useEffect(() => {
    page.chat.send = send;
  }, [send]);
  return null;
}

function Typing({ id }: { id: string }) {
  page.renders.typing!++;
  return h('p', { id: 'typing' }, useTyping(id).typing.join(','));
}

function Presence({ ids }: { ids: string[] }) {
  const presence = usePresence(ids);
  return h('p', { id: 'presence' }, ids.map((u) => `${u}:${presence[u]?.status ?? '?'}`).join(','));
}

function Unread() {
  return h('p', { id: 'unread' }, String(useUnread()));
}

function Inbox() {
  const { notifications, unreadCount } = useNotifications();
  return h('p', { id: 'inbox' }, `${unreadCount}:${notifications.map((n) => n.title).join('|')}`);
}

const id = cfg.conversationId;
createRoot(document.getElementById('root') as never).render(
  h(
    ParleyProvider,
    { client },
    h(Status),
    h(Conversations),
    h(Title, { id }),
    h(Messages, { id }),
    h(Composer, { id }),
    h(Typing, { id }),
    h(Presence, { ids: [cfg.peer] }),
    h(Unread),
    h(Inbox),
  ),
);
