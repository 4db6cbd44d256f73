import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { CONTACTS_AMONG, CONTACTS_SETTINGS } from '../src/storage/sql/members.ts';
import { backends, skippedPostgres, type TestStore } from './helpers/backends.ts';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

const scans = (node: PlanNode): PlanNode[] => [
  ...(node['Node Type'].endsWith('Scan') && node['Relation Name'] === 'conversation_members' ? [node] : []),
  ...(node.Plans ?? []).flatMap(scans),
];

/** The check's scans of the members table, as the store runs it (its settings), and the rows they read. */
async function plan(store: TestStore, caller: string, asked: string[]): Promise<{ kinds: string[]; read: number }> {
  const [rows] = await store.pipeline([{ name: 'explain_contacts', text: `EXPLAIN (ANALYZE, FORMAT JSON) ${CONTACTS_AMONG}`, params: [caller, asked] }], CONTACTS_SETTINGS);
  const raw = (rows as [unknown][])[0]![0];
  const [{ Plan }] = (typeof raw === 'string' ? JSON.parse(raw) : raw) as [{ Plan: PlanNode }];
  const found = scans(Plan);
  return { kinds: found.map((n) => n['Node Type']), read: found.reduce((sum, n) => sum + (n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1), 0) };
}

async function conversationsOf(store: TestStore, ids: string[]): Promise<void> {
  await store.query(
    `INSERT INTO conversations (id, kind, created_by, last_activity_at, created_at, updated_at)
     SELECT id, 'group', 'c0', now(), now(), now() FROM unnest($1::uuid[]) id`,
    [ids],
  );
}

const ASKED = 200;
/** Conversations each asked user is in besides the one shared with the caller. */
const ELSEWHERE = 20;

if (skippedPostgres) test('presence contacts plan on postgres', { skip: skippedPostgres }, () => {});

for (const backend of backends) {
  describe(`presence contacts on ${backend.name}`, () => {
    // A presence query asks which of up to 200 users share a conversation with the caller. Read
    // as one join, it cost every membership of every user asked (or every member of every group
    // the caller is in): an active user made each query as large. Each user's check stops at its
    // first shared conversation instead; here it is the user's first membership (an index lists
    // a user's rows in the order they were written).
    test(`which of ${ASKED} users share a conversation reads about two rows each, not each one's ${ELSEWHERE + 1} memberships`, async () => {
      const store = await backend.openStore();
      try {
        const shared = randomUUID();
        const elsewhere = Array.from({ length: ELSEWHERE }, () => randomUUID());
        await store.query(`INSERT INTO users (id) SELECT 'c' || g FROM generate_series(0, $1::int) g`, [ASKED]);
        await conversationsOf(store, [shared, ...elsewhere]);
        // c0 (the caller) with c1..c(ASKED - 3) in one group; those and c(ASKED - 2) in every other
        // group, without c0.
        await store.query(
          `INSERT INTO conversation_members (conversation_id, user_id, role, joined_at)
           SELECT $1, 'c' || g, 'member', now() FROM generate_series(0, $2::int - 3) g`,
          [shared, ASKED],
        );
        await store.query(
          `INSERT INTO conversation_members (conversation_id, user_id, role, joined_at)
           SELECT c, 'c' || g, 'member', now() FROM unnest($1::uuid[]) c, generate_series(1, $2::int - 2) g`,
          [elsewhere, ASKED],
        );
        await store.query('ANALYZE conversation_members');

        // Those, one who shares nothing with c0, one unknown, and the caller itself.
        const asked = [...Array.from({ length: ASKED - 3 }, (_, i) => `c${i + 1}`), `c${ASKED - 2}`, 'nobody', 'c0'];
        const found = await store.members.contactsOf('c0', asked);
        assert.deepEqual(new Set(found), new Set(asked.slice(0, ASKED - 3)));

        const { read } = await plan(store, 'c0', asked);
        assert.ok(read <= 3 * ASKED, `${read} membership rows read to answer for ${ASKED} users`);
      } finally {
        await store.close();
      }
    });

    // On a few rows the planner reads the table whole under a LIMIT, once per user asked: that
    // is a scan of the whole table times 200 once it has grown, until statistics catch up.
    test('on a members table of a few rows the check still goes by index', async () => {
      const store = await backend.openStore();
      try {
        const id = randomUUID();
        await store.query(`INSERT INTO users (id) SELECT 'c' || g FROM generate_series(0, 5) g`);
        await conversationsOf(store, [id]);
        await store.query(`INSERT INTO conversation_members (conversation_id, user_id, role, joined_at) SELECT $1, 'c' || g, 'member', now() FROM generate_series(0, 5) g`, [id]);
        await store.query('ANALYZE conversation_members');
        const asked = ['c1', 'c2', 'c3', 'c4', 'c5', 'nobody'];
        assert.deepEqual(new Set(await store.members.contactsOf('c0', asked)), new Set(asked.slice(0, 5)));
        const { kinds } = await plan(store, 'c0', asked);
        assert.ok(kinds.length > 0 && !kinds.includes('Seq Scan'), kinds.join(', '));
      } finally {
        await store.close();
      }
    });
  });
}
