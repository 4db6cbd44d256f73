import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '../src/domain/types.ts';
import type { Db } from '../src/storage/db.ts';
import { openPostgres } from '../src/storage/db-pg.ts';
import { listMigrations, migrate, splitStatements } from '../src/storage/migrate.ts';
import { memberRepo } from '../src/storage/sql/members.ts';
import { messageRepo } from '../src/storage/sql/messages.ts';
import { sendBatchParams, sendMany } from '../src/storage/sql/send-batch.ts';
import { skippedPostgres, throwawayDatabase } from './helpers/backends.ts';
import { plainMessage } from './helpers/plain-message.ts';
import { seedGroups } from './helpers/seed-groups.ts';

/**
 * Migration 010 counts unread messages from ordinals (msg_no, message_count) instead of
 * reading them. A database that already holds messages gets its ordinals from the
 * migration itself: written by the send batch before it, with a message deleted, its
 * counts must come out as a count of the messages would.
 */

const message = (conversationId: string, senderId: string, n: number): Message =>
  plainMessage({ conversationId, senderId, clientMsgId: `c${n}`, body: `m${n}` });

/** Applies the migrations before `id` as migrate() would, leaving the rest to it. */
async function migrateBefore(db: Db, id: number) {
  await db.transaction(async (tx) => {
    await tx.query('CREATE TABLE parley_migrations (id int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    for (const m of listMigrations().filter((m) => m.id < id)) {
      for (const statement of splitStatements(m.sql)) await tx.query(statement);
      await tx.query('INSERT INTO parley_migrations (id, name) VALUES ($1, $2)', [m.id, m.name]);
    }
  });
}

/** A batch as the send path wrote it before migration 010: parley_send_batch as migration 009 left it. */
const sendAsBefore = (db: Db, messages: Message[]) =>
  db.query('SELECT * FROM parley_send_batch($1, $2, $3, $4, $5, $6, $7, $8, $9)', sendBatchParams(messages));

/** What the counts are by definition: messages from others, not deleted, after the read marker. */
const counted = (db: Db, userId: string) =>
  db.query<{ conversation_id: string; n: number }>(
    `SELECT cm.conversation_id, count(x.seq)::int AS n FROM conversation_members cm
     JOIN messages x ON x.conversation_id = cm.conversation_id AND x.seq > cm.read_seq AND x.sender_id <> cm.user_id AND x.deleted_at IS NULL
     WHERE cm.user_id = $1 GROUP BY cm.conversation_id`,
    [userId],
  );

test('postgres: messages stored before migration 010 get ordinals that count their unread exactly (and groups their member counts)', { skip: skippedPostgres ?? false }, async () => {
  const database = await throwawayDatabase('parley_ordinal');
  const db = await openPostgres(database.url, { max: 2 });
  try {
    await migrateBefore(db, 10);
    // Two groups of three: u0-u2 and u3-u5. u1 and u4 read nothing; u0 and u3 send, u2 and u5 too.
    const [a, b] = await seedGroups(db, 2, 3);
    let n = 0;
    const batch = (conversationId: string, senders: string[]) => senders.map((s) => message(conversationId, s, n++));
    await sendAsBefore(db, [...batch(a!, ['u0', 'u2', 'u0']), ...batch(b!, ['u3'])]);
    const sent = batch(a!, ['u2', 'u0', 'u2']);
    await sendAsBefore(db, [...sent, ...batch(b!, ['u5', 'u3'])]);
    await messageRepo(db).softDelete(sent[1]!.id, new Date());

    assert.deepEqual(await migrate(db), listMigrations().filter((m) => m.id >= 10).map((m) => m.name));

    const ordinals = await db.query<{ conversation_id: string; seq: number; msg_no: number }>(
      'SELECT conversation_id, seq, msg_no FROM messages ORDER BY conversation_id, seq',
    );
    for (const id of [a!, b!]) {
      const mine = ordinals.filter((r) => r.conversation_id === id);
      assert.deepEqual(mine.map((r) => Number(r.msg_no)), mine.map((_, k) => k + 1), 'ordinals are 1, 2, 3... in seq order');
      const [c] = await db.query<{ message_count: number }>('SELECT message_count FROM conversations WHERE id = $1', [id]);
      assert.equal(Number(c!.message_count), mine.length);
    }

    const counts = await db.query<{ member_count: number }>('SELECT member_count FROM conversations WHERE id = ANY($1::uuid[])', [[a!, b!]]);
    assert.deepEqual(counts.map((r) => r.member_count), [3, 3], 'migration 011 counts the members of groups stored before it');

    // Sends after the migration continue the ordinals.
    await sendMany(db, batch(a!, ['u0', 'u2']));
    const summary = await memberRepo(db).unreadSummary('u1', new Date());
    assert.deepEqual(summary.conversations, { [a!]: 7 }, 'eight from others, one of them deleted');
    for (const user of ['u0', 'u1', 'u2', 'u3', 'u4', 'u5']) {
      const expected = Object.fromEntries((await counted(db, user)).map((r) => [r.conversation_id, r.n]));
      assert.deepEqual((await memberRepo(db).unreadSummary(user, new Date())).conversations, expected, user);
    }
  } finally {
    await db.close();
    await database.drop();
  }
});
