import { randomUUID } from 'node:crypto';
import type { Message } from '../../src/domain/types.ts';

/**
 * A new plain message (no attachments, reply or mentions), as the send batch takes it: for
 * tests and benches that write through the storage layer. Also used by bench/send-batch.ts
 * and bench/unread.ts.
 */
export const plainMessage = (m: { conversationId: string; senderId: string; clientMsgId: string; body: string }): Message => ({
  id: randomUUID(),
  ...m,
  attachments: [],
  replyTo: null,
  replyCount: 0,
  mentions: [],
  reactions: [],
  seq: 0,
  createdAt: new Date().toISOString(),
  editedAt: null,
  deletedAt: null,
});
