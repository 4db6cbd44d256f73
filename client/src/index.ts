/**
 * parley-client: the Parley SDK. `createClient()` gives a connection kept alive, gapless
 * sync, an offline outbox and stores; `parley-client/react` has the hooks.
 */
export { type ClientOptions, createClient, type ParleyClient } from './client.ts';
export type { ConnectionState, ConnectionStatus } from './connection.ts';
export { ParleyError } from './errors.ts';
export type { OutboxEntry, OutboxStatus, SendInput } from './outbox.ts';
export type { Rest } from './rest.ts';
export { type ConversationsState, selectConversationList } from './state/conversations.ts';
export type { ClientStats, NotificationsState, PresenceState, ReceiptsState, TypingState } from './state/live.ts';
export type { MessagesState } from './state/messages.ts';
export { type ClientStorage, indexedDbStorage, memoryStorage } from './storage.ts';
export type { ReadableStore } from './store.ts';
export type { WebSocketConstructor, WebSocketLike } from './transport-ws.ts';
export type * from '../../protocol/types.ts';
export { CLOSE_CODES, PROTOCOL_VERSION } from '../../protocol/connection.ts';
