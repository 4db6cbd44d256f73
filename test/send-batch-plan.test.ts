import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { test } from 'node:test';
import type { Message } from '../src/domain/types.ts';
import type { Db, Queryable } from '../src/storage/db.ts';
import { openPglite } from '../src/storage/db-pglite.ts';
import { openPostgres } from '../src/storage/db-pg.ts';
import { migrate } from '../src/storage/migrate.ts';
import { sendMany } from '../src/storage/sql/send-batch.ts';
import { skippedPostgres, throwawayDatabase } from './helpers/backends.ts';
import { ensurePgliteTemplate } from './helpers/pglite-template.ts';
import { seedGroups } from './helpers/seed-groups.ts';

/**
 * A send batch reaches the rows it needs by key, never by reading a whole table: its cost
 * must follow the batch, not the size of `conversations` or `conversation_members`, nor the
 * dead row versions every send leaves behind in them. The transaction's own table counters
 * (pg_stat_xact_user_tables) show what one batch read.
 */
const CONVERSATIONS = 60;
const MEMBERS = 10;
const BATCH = 20;

interface Reads {
  relname: string;
  seq_scan: number;
  seq_tup_read: number;
  idx_tup_fetch: number;
}

const seed = (db: Db) => seedGroups(db, CONVERSATIONS, MEMBERS);

let sent = 0;
function batch(conversations: string[]): Message[] {
  return Array.from({ length: BATCH }, () => {
    const c = sent++ % CONVERSATIONS;
    return {
      id: randomUUID(),
      conversationId: conversations[c]!,
      senderId: `u${c * MEMBERS + (sent % MEMBERS)}`,
      clientMsgId: `m${sent}`,
      body: 'hello',
      attachments: [],
      replyTo: null,
      mentions: [],
      createdAt: new Date().toISOString(),
    } as unknown as Message;
  });
}

/** What one batch read of the three tables, from the transaction's own counters. */
async function readsOf(db: Db, messages: Message[]) {
  return db.transaction(async (tx) => {
    // The counters also hold earlier transactions not yet reported, hence the difference.
    const counters = () =>
      tx.query<Reads>(
        `SELECT relname, seq_scan, seq_tup_read, idx_tup_fetch FROM pg_stat_xact_user_tables
         WHERE relname IN ('conversations', 'conversation_members', 'messages') ORDER BY relname`,
      );
    const before = await counters();
    const outcomes = await sendMany(tx, messages);
    assert.ok(outcomes.every((o) => o.outcome === 'created'), JSON.stringify(outcomes));
    return (await counters()).map((r, i) => ({
      relname: r.relname,
      seq_scan: Number(r.seq_scan) - Number(before[i]!.seq_scan),
      seq_tup_read: Number(r.seq_tup_read) - Number(before[i]!.seq_tup_read),
      idx_tup_fetch: Number(r.idx_tup_fetch) - Number(before[i]!.idx_tup_fetch),
    }));
  });
}

function assertByKey(reads: Reads[], what: string) {
  assert.equal(reads.length, 3);
  for (const r of reads) {
    assert.equal(r.seq_scan, 0, `${what} scanned ${r.relname}: ${JSON.stringify(reads)}`);
    // By key: a few row versions per message (the checks, the lock and the update of each).
    assert.ok(r.idx_tup_fetch <= BATCH * 4, `${what} read ${r.idx_tup_fetch} rows of ${r.relname}: ${JSON.stringify(reads)}`);
  }
}

async function checkReads(db: Db) {
  const conversations = await seed(db);
  // Enough batches for the plan cache to settle, and dead row versions to pile up.
  const earlier = new Map<string, string>();
  for (let i = 0; i < 30; i++) {
    const messages = batch(conversations);
    await sendMany(db, messages);
    for (const m of messages) earlier.set(m.conversationId, m.id);
  }
  assertByKey(await readsOf(db, batch(conversations)), 'a batch');
  // Each message mentions another member and replies to an earlier message of its
  // conversation: checked by key, not by reading the conversation's members or history
  // (10 of each here, so a scan shows as 200 rows a batch).
  const replies = batch(conversations).map((m) => {
    // Conversation c has members u(c * MEMBERS) to u(c * MEMBERS + MEMBERS - 1).
    const c = conversations.indexOf(m.conversationId);
    const other = `u${c * MEMBERS + ((Number(m.senderId.slice(1)) + 1) % MEMBERS)}`;
    return { ...m, mentions: [other], replyTo: earlier.get(m.conversationId)! };
  });
  assertByKey(await readsOf(db, replies), 'a batch of mentions and replies');

  // One batch of everything: the checks of mentions and reply targets run for it alone, and
  // their verdicts go to the right sends; a retry answers its original before those checks.
  const parentOf = (m: Message) => earlier.get(m.conversationId)!;
  const replyCount = async (id: string) => Number((await db.query<{ n: number }>('SELECT reply_count AS n FROM messages WHERE id = $1', [id]))[0]!.n);
  const [plain, badMention, reply, crossReply, retried] = batch(conversations);
  const before = await replyCount(parentOf(reply!));
  const elsewhere = conversations.find((c) => c !== crossReply!.conversationId)!;
  const mixed = await sendMany(db, [
    plain!,
    { ...badMention!, mentions: ['u-stranger'] },
    { ...reply!, replyTo: parentOf(reply!), mentions: [reply!.senderId] },
    { ...crossReply!, replyTo: earlier.get(elsewhere)! },
    { ...replies[0]!, id: randomUUID(), mentions: ['u-stranger'] },
    retried!,
  ]);
  assert.deepEqual(
    mixed.map((o) => o.outcome),
    ['created', 'invalid_mention', 'created', 'invalid_reply', 'duplicate', 'created'],
  );
  assert.equal(await replyCount(parentOf(reply!)), before + 1, 'the one created reply, counted once');
  const [stored] = await db.query<{ mentions: string[] }>('SELECT mentions FROM messages WHERE id = $1', [reply!.id]);
  assert.deepEqual(stored!.mentions, [reply!.senderId]);

  // Retries within one batch: the first is created, the others answer its id.
  const [first, other] = batch(conversations);
  const retry = { ...first!, id: randomUUID(), body: 'again' };
  const outcomes = await sendMany(db, [first!, other!, retry, { ...retry, id: randomUUID() }]);
  assert.deepEqual(
    outcomes.map((o) => o.outcome),
    ['created', 'created', 'duplicate', 'duplicate'],
  );
  for (const o of outcomes.slice(2)) assert.deepEqual(o, { outcome: 'duplicate', messageId: first!.id });

  // Messages have no foreign keys to their conversation and sender (migration 006) nor to
  // the message a reply answers (migration 015): the batch's checks are what refuses a
  // conversation, a sender or a reply target that does not exist, and nothing is stored. No
  // trigger runs for an inserted message (a foreign key's check is one, queued per row).
  const [triggers] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = 'messages'::regclass AND tgtype & 4 <> 0`);
  assert.equal(triggers!.n, 0, 'triggers on inserting a message');
  const [noConversation, noSender, noParent] = batch(conversations);
  const refused = await sendMany(db, [
    { ...noConversation!, conversationId: randomUUID() },
    { ...noSender!, senderId: 'u-nobody' },
    { ...noParent!, replyTo: randomUUID() },
  ]);
  assert.deepEqual(
    refused.map((o) => o.outcome),
    ['not_member', 'not_member', 'invalid_reply'],
  );
  const ids = [noConversation!, noSender!, noParent!].map((m) => m.id);
  assert.deepEqual(await db.query('SELECT id FROM messages WHERE id = ANY ($1::uuid[])', [ids]), []);
}

test('pglite: a send batch reads rows by key, never a whole table', async () => {
  const db = await openPglite({ loadDataDir: new Blob([fs.readFileSync(await ensurePgliteTemplate())]) });
  try {
    await migrate(db);
    await checkReads(db);
  } finally {
    await db.close();
  }
});

test('postgres: a send batch reads rows by key, never a whole table', { skip: skippedPostgres ?? false }, async () => {
  const database = await throwawayDatabase();
  const db = await openPostgres(database.url, { max: 2 });
  try {
    await migrate(db);
    await checkReads(db);
  } finally {
    await db.close();
    await database.drop();
  }
});

/** enable_seqscan and plan_cache_mode, as the next query on this connection sees them. */
const show = async (q: Queryable) =>
  (await q.query<{ setting: string }>(`SELECT setting FROM pg_settings WHERE name IN ('enable_seqscan', 'plan_cache_mode') ORDER BY name`)).map((r) => r.setting);

const planned = (q: Queryable) =>
  q.query<{ name: string; generic: number; custom: number }>(
    `SELECT name, generic_plans::int AS generic, custom_plans::int AS custom FROM pg_prepared_statements
     WHERE name LIKE 'parley_send_batch%' ORDER BY name`,
  );

test('postgres: a connection parses and plans each send batch statement once, under the batch\'s settings alone', { skip: skippedPostgres ?? false }, async () => {
  // Parsed, analysed and planned on every call, the batch was a tenth of PostgreSQL's CPU
  // under load: its statements are prepared once per connection, with generic plans
  // (plan_cache_mode), and the settings that ask for them reach no other query.
  const database = await throwawayDatabase();
  // max 1: no connection of its own for sends, so the batch shares the pool's one connection.
  const shared = await openPostgres(database.url, { max: 1 });
  const own = await openPostgres(database.url, { max: 2 });
  try {
    await migrate(shared);
    const conversations = await seed(shared);
    for (const db of [shared, own]) {
      const sends = db.sendConnection ?? db;
      for (let i = 0; i < 3; i++) await sendMany(sends, batch(conversations));
      assert.deepEqual(await planned(sends), [
        { name: 'parley_send_batch', generic: 3, custom: 0 },
        { name: 'parley_send_batch_lock', generic: 3, custom: 0 },
      ]);
    }
    assert.deepEqual(await show(shared), ['on', 'auto'], 'the batch\'s settings outlived it on a shared connection');
    // In a caller's transaction they end with the batch, not with the transaction.
    assert.deepEqual(
      await shared.transaction(async (tx) => {
        await sendMany(tx, batch(conversations));
        return show(tx);
      }),
      ['on', 'auto'],
    );
  } finally {
    await Promise.all([shared.close(), own.close()]);
    await database.drop();
  }
});

test('pglite: the send batch\'s settings reach no other query', async () => {
  const db = await openPglite({ loadDataDir: new Blob([fs.readFileSync(await ensurePgliteTemplate())]) });
  try {
    await migrate(db);
    const conversations = await seed(db);
    await sendMany(db, batch(conversations));
    assert.deepEqual(await show(db), ['on', 'auto']);
    assert.deepEqual(
      await db.transaction(async (tx) => {
        await sendMany(tx, batch(conversations));
        return show(tx);
      }),
      ['on', 'auto'],
    );
  } finally {
    await db.close();
  }
});
