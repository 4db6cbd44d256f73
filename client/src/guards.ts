import type { ServerEventName } from '../../protocol/event-map.ts';

/**
 * Minimal shape checks for each server event, so a malformed payload is counted and
 * dropped at the door instead of throwing deep inside a store or a component. They check
 * what the SDK reads, not every field. Typed over every event name: a new server event
 * without a guard fails the typecheck.
 */
type Obj = Record<string, unknown>;
const obj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown) => typeof v === 'string';
const seqOk = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;

export const isMessage = (m: unknown): boolean =>
  obj(m) && str(m.id) && str(m.conversationId) && seqOk(m.seq) && str(m.senderId) && str(m.clientMsgId) && str(m.body) && Array.isArray(m.reactions) && str(m.createdAt);

const inLog = (d: unknown): d is Obj => obj(d) && str(d.conversationId) && seqOk(d.seq) && (d.seq as number) > 0;
const withMessage = (d: unknown) => inLog(d) && isMessage(d.message) && (d.message as Obj).conversationId === d.conversationId;
const withMember = (d: unknown) => inLog(d) && obj(d.member) && str(d.member.userId);

export const GUARDS: { [E in ServerEventName]: (d: unknown) => boolean } = {
  ready: (d) => obj(d) && str(d.userId),
  'message:new': withMessage,
  'message:updated': withMessage,
  'message:deleted': (d) => withMessage(d) && str((d as Obj).messageId),
  'reaction:updated': (d) => inLog(d) && str(d.messageId) && Array.isArray(d.reactions),
  'member:joined': withMember,
  'member:updated': withMember,
  'member:left': (d) => inLog(d) && str(d.userId),
  'conversation:updated': (d) => inLog(d) && obj(d.conversation),
  'receipt:updated': (d) => obj(d) && str(d.conversationId) && str(d.userId) && seqOk(d.readSeq) && seqOk(d.deliveredSeq),
  // lastSeq: since the server sends it (an older one does not).
  'unread:update': (d) => obj(d) && str(d.conversationId) && seqOk(d.unreadCount) && seqOk(d.totalUnread) && seqOk(d.readSeq) && (d.lastSeq === undefined || seqOk(d.lastSeq)),
  'typing:update': (d) => obj(d) && str(d.conversationId) && str(d.userId) && typeof d.typing === 'boolean',
  'message:locked': (d) => obj(d) && str(d.messageId) && str(d.conversationId),
  'presence:update': (d) => obj(d) && str(d.userId) && str(d.status),
  'notification:new': (d) => obj(d) && obj(d.notification) && str(d.notification.id) && seqOk(d.unreadCount),
  'notification:updated': (d) => obj(d) && seqOk(d.unreadCount),
  'session:expired': () => true,
  'sync:required': (d) => obj(d) && str(d.reason),
};
