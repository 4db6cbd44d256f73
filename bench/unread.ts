// npm run bench:unread: what a member's unread counts cost as their unread messages grow. A
// push's badge (every push), `GET /v1/me/unread` and the conversation list all count them.
// One member in BENCH_UNREAD_CONVERSATIONS (20) conversations of 10, who never reads while
// the others send; at each total in BENCH_UNREAD_STEPS it times the member's unread summary
// and first page of conversations (the median of BENCH_UNREAD_CALLS calls each) and checks
// the counts are exact. On a PostgreSQL of its own (BENCH_PG=private) or in a database of
// its own on DATABASE_URL's server; without either, on PGlite in this process. Takes
// BENCH_SERVER_DIR like the other benches, so two checkouts compare.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Message } from '../src/domain/types.ts';
import type { Db, Queryable } from '../src/storage/db.ts';
import type { ConversationRepo, MemberRepo } from '../src/storage/store.ts';
import { knobs } from './knobs.ts';
import { plainMessage } from '../test/helpers/plain-message.ts';
import { openBenchDatabase } from './postgres.ts';
import { medianMs } from './stats.ts';

const CONVERSATIONS = Math.max(1, Number(process.env.BENCH_UNREAD_CONVERSATIONS ?? 20));
const MEMBERS = 10;
const STEPS = (process.env.BENCH_UNREAD_STEPS ?? '0,1000,10000,100000').split(',').map(Number);
const CALLS = Math.max(1, Number(process.env.BENCH_UNREAD_CALLS ?? 50));
const READER = 'reader';

const from = (file: string) => import(path.join(knobs.serverDir, file));
const { openPostgres } = (await from('src/storage/db-pg.ts')) as { openPostgres(url: string, o: { max: number }): Promise<Db> };
const { openPglite } = (await from('src/storage/db-pglite.ts')) as { openPglite(o: object): Promise<Db> };
const { migrate } = (await from('src/storage/migrate.ts')) as { migrate(db: Db): Promise<unknown> };
const { sendMany } = (await from('src/storage/sql/send-batch.ts')) as { sendMany(db: Queryable, m: Message[]): Promise<unknown[]> };
const { memberRepo } = (await from('src/storage/sql/members.ts')) as { memberRepo(q: Queryable): MemberRepo };
const { conversationRepo } = (await from('src/storage/sql/conversations.ts')) as { conversationRepo(q: Queryable): ConversationRepo };

const database = knobs.databaseUrl ? await openBenchDatabase(knobs.databaseUrl) : null;
const db = database ? await openPostgres(database.url, { max: 1 }) : await openPglite({});

/** The reader and nine others in each conversation, written straight to the tables. */
async function seed(): Promise<string[]> {
  const ids = Array.from({ length: CONVERSATIONS }, () => randomUUID());
  await db.query(`INSERT INTO users (id) SELECT $1 UNION ALL SELECT 'u' || g FROM generate_series(1, $2::int) g`, [READER, CONVERSATIONS * (MEMBERS - 1)]);
  await db.query(
    `INSERT INTO conversations (id, kind, created_by, last_activity_at, created_at, updated_at)
     SELECT id, 'group', $2, now(), now(), now() FROM unnest($1::uuid[]) id`,
    [ids, READER],
  );
  await db.query(
    `INSERT INTO conversation_members (conversation_id, user_id, role, joined_at)
     SELECT ids[c + 1], CASE WHEN m = 0 THEN $2 ELSE 'u' || (c * ($3::int - 1) + m) END, 'member', now()
     FROM (SELECT $1::uuid[] AS ids) a, generate_series(0, cardinality($1::uuid[]) - 1) c, generate_series(0, $3::int - 1) m`,
    [ids, READER, MEMBERS],
  );
  return ids;
}

let sent = 0;
/** `n` messages from the others, spread over the conversations, in batches of 256. */
async function sendFromOthers(ids: string[], n: number) {
  for (let done = 0; done < n; ) {
    const batch: Message[] = [];
    for (; batch.length < 256 && done < n; done++, sent++) {
      const c = sent % ids.length;
      batch.push(
        plainMessage({ conversationId: ids[c]!, senderId: `u${c * (MEMBERS - 1) + 1 + (sent % (MEMBERS - 1))}`, clientMsgId: `m${sent}`, body: 'x'.repeat(knobs.bodyBytes) }),
      );
    }
    await sendMany(db, batch);
  }
}

try {
  await migrate(db);
  const ids = await seed();
  if (db.engine === 'postgres') await db.query('ANALYZE');
  const members = memberRepo(db);
  const conversations = conversationRepo(db);
  console.log(`unread counts on ${db.engine}: one member of ${CONVERSATIONS} conversations of ${MEMBERS}, never reading; server ${knobs.serverDir}`);
  for (const total of STEPS) {
    await sendFromOthers(ids, total - sent);
    const summary = await members.unreadSummary(READER, new Date());
    if (summary.total !== total) throw new Error(`unread total ${summary.total}, expected ${total}`);
    const page = await conversations.listFor(READER, { archived: false, before: null, limit: CONVERSATIONS });
    const listed = page.reduce((n, c) => n + c.unreadCount, 0);
    if (listed !== total) throw new Error(`conversation list's unread counts add up to ${listed}, expected ${total}`);
    const summaryMs = await medianMs(CALLS, () => members.unreadSummary(READER, new Date()));
    const listMs = await medianMs(CALLS, () => conversations.listFor(READER, { archived: false, before: null, limit: CONVERSATIONS }));
    console.log(`  ${total.toLocaleString('en-US')} unread: unread summary ${summaryMs.toFixed(2)} ms, conversation list ${listMs.toFixed(2)} ms (medians of ${CALLS})`);
  }
} finally {
  await db.close();
  await database?.close();
}
