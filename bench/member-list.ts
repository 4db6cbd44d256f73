// npm run bench:members: what a member's conversation list and a conversation's view cost as
// groups grow. Both carry each conversation's first 100 members and its member count. One
// member of BENCH_MEMBERS_GROUPS (10) groups, each of every size in BENCH_MEMBERS_SIZES
// (`100,1000,10000`) in turn; it prints the median of BENCH_MEMBERS_CALLS (30) calls of the
// member's first page of conversations and of one group's view, and checks the counts; and what
// the status of the member's own messages on a page of history reads: every member (members.list,
// what it read before) or their lowest markers (members.othersMarkers); and what a message's
// receipts read: every member (before) or a page of them and their lowest markers; and a page of
// the member list, from the start and from the middle of the group; and which of 200 users share
// a conversation with the member (a presence query's check). On a
// PostgreSQL of its own (BENCH_PG=private) or in a database of its own on DATABASE_URL's
// server; without either, on PGlite in this process. Takes BENCH_SERVER_DIR like the others.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Db, Queryable } from '../src/storage/db.ts';
import type { ConversationRepo, MemberRepo } from '../src/storage/store.ts';
import { knobs } from './knobs.ts';
import { openBenchDatabase } from './postgres.ts';
import { medianMs } from './stats.ts';

const GROUPS = Math.max(1, Number(process.env.BENCH_MEMBERS_GROUPS ?? 10));
const SIZES = (process.env.BENCH_MEMBERS_SIZES ?? '100,1000,10000').split(',').map(Number);
const CALLS = Math.max(1, Number(process.env.BENCH_MEMBERS_CALLS ?? 30));

const from = (file: string) => import(path.join(knobs.serverDir, file));
const { openPostgres } = (await from('src/storage/db-pg.ts')) as { openPostgres(url: string, o: { max: number }): Promise<Db> };
const { openPglite } = (await from('src/storage/db-pglite.ts')) as { openPglite(o: object): Promise<Db> };
const { migrate } = (await from('src/storage/migrate.ts')) as { migrate(db: Db): Promise<unknown> };
const { conversationRepo } = (await from('src/storage/sql/conversations.ts')) as { conversationRepo(q: Queryable): ConversationRepo };
const { memberRepo } = (await from('src/storage/sql/members.ts')) as { memberRepo(q: Queryable): Partial<MemberRepo> & Pick<MemberRepo, 'list'> };

const database = knobs.databaseUrl ? await openBenchDatabase(knobs.databaseUrl) : null;
const db = database ? await openPostgres(database.url, { max: 1 }) : await openPglite({});

try {
  await migrate(db);
  await db.query(`INSERT INTO users (id) SELECT 'u' || g FROM generate_series(0, $1::int - 1) g`, [Math.max(...SIZES)]);
  const conversations = conversationRepo(db);
  const members = memberRepo(db);
  console.log(`conversation list on ${db.engine}: one member of ${GROUPS} groups of each size; server ${knobs.serverDir}`);
  for (const size of SIZES) {
    const ids: string[] = Array.from({ length: GROUPS }, () => randomUUID());
    await db.query(
      `INSERT INTO conversations (id, kind, created_by, last_activity_at, created_at, updated_at)
       SELECT id, 'group', 'u0', now(), now(), now() FROM unnest($1::uuid[]) id`,
      [ids],
    );
    // One statement per group, joined in user order: u0, the member listing, in every group.
    for (const id of ids) {
      await db.query(
        `INSERT INTO conversation_members (conversation_id, user_id, role, joined_at)
         SELECT $1, 'u' || g, 'member', now() + g * interval '1 ms' FROM generate_series(0, $2::int - 1) g`,
        [id, size],
      );
    }
    // Read markers move under use, which keeps the members' pages out of the visibility map.
    await db.query('UPDATE conversation_members SET delivered_seq = delivered_seq + 1 WHERE conversation_id = ANY($1::uuid[])', [ids]);
    if (db.engine === 'postgres') await db.query('ANALYZE');
    const page = { archived: false, before: null, limit: GROUPS };
    const listed = (await conversations.listFor('u0', page)).filter((c) => ids.includes(c.id));
    if (listed.length !== GROUPS || listed.some((c) => c.memberCount !== size || c.members.length !== Math.min(100, size))) {
      throw new Error(`groups of ${size}: the list shows ${listed.map((c) => `${c.memberCount}/${c.members.length}`).join(', ')}`);
    }
    const listMs = await medianMs(CALLS, () => conversations.listFor('u0', page));
    const viewMs = await medianMs(CALLS, () => conversations.getFor(ids[0]!, 'u0'));
    console.log(`  groups of ${size.toLocaleString('en-US')}: conversation list ${listMs.toFixed(2)} ms, one conversation ${viewMs.toFixed(2)} ms (medians of ${CALLS})`);
    const everyMs = await medianMs(CALLS, () => members.list(ids[0]!));
    const othersMarkers = members.othersMarkers;
    const lowestMs = othersMarkers ? await medianMs(CALLS, () => othersMarkers(ids[0]!, 'u0')) : null;
    console.log(
      `    a history page's status: every member ${everyMs.toFixed(2)} ms, their lowest markers ${lowestMs === null ? '- (not in this checkout)' : `${lowestMs.toFixed(2)} ms`} (medians of ${CALLS})`,
    );
    // A page of receipts (the service asks one more than its 100, to know whether more follow).
    const markersPage = members.markersPage;
    const pageMs = othersMarkers && markersPage
      ? await medianMs(CALLS, () => Promise.all([othersMarkers(ids[0]!, 'u0'), markersPage(ids[0]!, { excluding: 'u0', after: '', limit: 101 })]))
      : null;
    console.log(
      `    a message's receipts: every member ${everyMs.toFixed(2)} ms, a page of 100 and their lowest markers ${pageMs === null ? '- (not in this checkout)' : `${pageMs.toFixed(2)} ms`} (medians of ${CALLS})`,
    );
    // The member list a page at a time (the service asks one more than its 100), from the start
    // and from the middle of the group: along the join-order index, the same read wherever it starts.
    const memberPage = members.page;
    if (memberPage) {
      // Joined 1 ms apart from a time with microseconds: the page's keyset must keep them.
      const mid = (await memberPage(ids[0]!, 'u0', { after: null, limit: size }))!.members[Math.floor(size / 2) - 1]!;
      const after = { joinedAtUs: mid.joinedAtUs, userId: mid.member.userId };
      const middle = (await memberPage(ids[0]!, 'u0', { after, limit: 101 }))!;
      if (middle.members[0]?.member.userId !== `u${Math.floor(size / 2)}` || middle.memberCount !== size) {
        throw new Error(`groups of ${size}: the middle page starts at ${middle.members[0]?.member.userId}`);
      }
      const firstMs = await medianMs(CALLS, () => memberPage(ids[0]!, 'u0', { after: null, limit: 101 }));
      const middleMs = await medianMs(CALLS, () => memberPage(ids[0]!, 'u0', { after, limit: 101 }));
      console.log(`    the member list: every member ${everyMs.toFixed(2)} ms, the first page of 100 ${firstMs.toFixed(2)} ms, a page from the middle ${middleMs.toFixed(2)} ms (medians of ${CALLS})`);
    } else console.log('    the member list: - (not in this checkout)');
    // A presence query (GET /v1/presence, presence:get) of 200 users: which of them share a
    // conversation with the member. u1..u200 are in every group as large as 201.
    const contactsOf = members.contactsOf;
    if (contactsOf) {
      const among = Array.from({ length: 200 }, (_, i) => `u${i + 1}`);
      const found = await contactsOf('u0', among);
      if (found.length !== Math.min(200, size - 1)) throw new Error(`groups of ${size}: ${found.length} of the 200 are contacts`);
      const queryMs = await medianMs(CALLS, () => contactsOf('u0', among));
      console.log(`    a presence query's contacts among 200 users: ${queryMs.toFixed(2)} ms (median of ${CALLS})`);
    }
  }
} finally {
  await db.close();
  await database?.close();
}
