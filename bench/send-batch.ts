// npm run bench:batch: the CPU per message of the send batch alone. Batches of BENCH_BATCH
// sends (14 is what 2,222 msg/s makes) into 100 conversations of 10 members, on a PostgreSQL
// of the bench's own (BENCH_PG=private) or in a database of its own on DATABASE_URL's (local)
// server, read from /proc for the one backend that runs them; without either, on PGlite in
// this process (its whole CPU: PGlite runs on the calling thread). The whole-server runs
// cannot tell a few per cent from the machine's noise; this can, so two checkouts
// (BENCH_SERVER_DIR) compare here first.
//
// BENCH_BATCH_PARTS=1 prices the parts of the batch: beside the checkout's batch as it is,
// the same batch with one part taken out (a function rewritten, an index dropped), each in a
// database of its own, the variants taking turns every TURN batches. Some of them break what the batch
// guarantees (concurrent writers, idempotency): they say what a part costs, not what to ship.
//
// BENCH_BATCH_BASELINE=<checkout> measures that checkout's batch (its migrations and its
// sendMany) beside this one's, in the same turns: a before and after that the machine's
// drift (a fifth between invocations, some sittings) does not swamp.
import path from 'node:path';
import type { Message } from '../src/domain/types.ts';
import type { Db, Queryable } from '../src/storage/db.ts';
import type { SendBatchSql } from '../src/storage/sql/send-batch-statements.ts';
import { plainMessage } from '../test/helpers/plain-message.ts';
import { seedGroups } from '../test/helpers/seed-groups.ts';
import { knobs } from './knobs.ts';
import { cpuMicros } from './proc.ts';
import { type BenchDatabase, openBenchDatabase } from './postgres.ts';

const BATCH = Math.max(1, Number(process.env.BENCH_BATCH ?? 14));
const ROUNDS = Math.max(1, Number(process.env.BENCH_BATCH_ROUNDS ?? 5));
/**
 * A pause after each batch, as the server's batches have between them (at 2,222 msg/s one
 * about every 5 ms, 2 ms of it in flight): a backend that sleeps between batches costs more a
 * batch than one kept busy back to back, since what it works on has gone cold meanwhile.
 */
const GAP_MS = Math.max(0, Number(process.env.BENCH_BATCH_GAP_MS ?? 0));
const pause = () => new Promise((resolve) => setTimeout(resolve, GAP_MS));
const BATCHES_PER_ROUND = 1000;
/** Batches a subject runs before the next one takes its turn, within a round. */
const TURN = 50;
const CONVERSATIONS = 100;
const MEMBERS = 10;

/** A checkout's own storage code, so its migrations and send batch are what is measured. */
interface Checkout {
  openPostgres(url: string, o: { max: number }): Promise<Db>;
  openPglite(o: object): Promise<Db>;
  migrate(db: Db): Promise<unknown>;
  sendMany(q: Queryable, m: Message[], sql?: SendBatchSql): Promise<unknown[]>;
  /** The batch's statements (checkouts since migration 014; before it, a plpgsql function). */
  SEND_BATCH_SQL?: SendBatchSql;
}
async function checkout(dir: string): Promise<Checkout> {
  const from = (file: string) => import(path.join(dir, file));
  return {
    ...(await from('src/storage/db-pg.ts')),
    ...(await from('src/storage/db-pglite.ts')),
    ...(await from('src/storage/migrate.ts')),
    ...(await from('src/storage/sql/send-batch.ts')),
    ...(await from('src/storage/sql/send-batch-statements.ts').catch(() => ({}))),
  } as Checkout;
}
const measured = await checkout(knobs.serverDir);
const baselineDir = process.env.BENCH_BATCH_BASELINE ? path.resolve(process.env.BENCH_BATCH_BASELINE) : null;

/** The send batch as a checkout has it, or with one part taken out. */
interface Variant {
  name: string;
  /** Whose batch: the measured checkout's unless said. */
  code?: Checkout;
  /** Applied after migrating, before seeding. */
  apply?(db: Db): Promise<void>;
  /** The measured checkout's batch statements, changed. */
  sql?(sql: SendBatchSql): SendBatchSql;
}

/** Replaces text of a batch statement (the main one: with and without checks); a part no longer where it was fails loudly. */
const rewrite =
  (part: RegExp | string, by: string, statement: 'main' | 'lock' = 'main') =>
  (sql: SendBatchSql): SendBatchSql => {
    const next = sql[statement].replace(part, by);
    if (next === sql[statement]) throw new Error(`BENCH_BATCH_PARTS: ${String(part).slice(0, 60)} is no longer in the send batch's ${statement} statement: update bench/send-batch.ts`);
    return statement === 'main' ? { ...sql, main: next, checked: sql.checked.replace(part, by) } : { ...sql, [statement]: next };
  };
const run = (...statements: string[]) => async (db: Db) => {
  for (const sql of statements) await db.query(sql);
};

const VARIANTS: Variant[] = [
  ...(baselineDir ? [{ name: `baseline ${baselineDir}`, code: await checkout(baselineDir) }] : []),
  { name: 'as is' },
  ...(process.env.BENCH_BATCH_PARTS === '1'
    ? [
        { name: "without the sender's read and delivered markers", sql: rewrite(/,\s*-- Sending marks[\s\S]*?RETURNING 1\n {2}\)/, '') },
        // A statement still, so the pipeline keeps its shape: what the lock costs beyond one.
        { name: 'without locking the conversations first', sql: rewrite(/FROM \(SELECT 1 FROM conversations[\s\S]*\) locked/, 'FROM unnest($1::uuid[]) locked', 'lock') },
        {
          name: 'without the idempotency key (its probe and unique index)',
          sql: rewrite(/LEFT JOIN messages d ON [^\n]*/, 'LEFT JOIN (SELECT NULL::uuid AS id, NULL::bigint AS seq) d ON false'),
          apply: run('ALTER TABLE messages DROP CONSTRAINT messages_conversation_id_sender_id_client_msg_id_key'),
        },
        { name: "without the log position's index", apply: run('DROP INDEX messages_log_pos') },
        { name: 'without the settings (custom plans)', sql: (sql: SendBatchSql) => ({ ...sql, settings: {} }) },
      ]
    : []),
];

interface Subject {
  variant: Variant;
  db: Db;
  /**
   * Sends a batch as the variant has it, where the server sends them: on the send batcher's
   * own connection where the engine has one.
   */
  send(batch: Message[]): Promise<unknown[]>;
  database: BenchDatabase | null;
  ids: string[];
  /**
   * A reader of the CPU used so far, in µs: the backend's (the scheduler's count), or
   * this process's on PGlite. Taken anew before each round: a connection lost is made again,
   * with another backend.
   */
  cpuMeter(): Promise<() => number>;
  perMessage: number[];
}

async function open(variant: Variant): Promise<Subject> {
  const database = knobs.databaseUrl ? await openBenchDatabase(knobs.databaseUrl) : null;
  const code = variant.code ?? measured;
  const db = database ? await code.openPostgres(database.url, { max: 2 }) : await code.openPglite({});
  try {
    await code.migrate(db);
    await variant.apply?.(db);
    const ids = await seedGroups(db, CONVERSATIONS, MEMBERS);
    const cpuMeter = async () => {
      if (db.engine === 'pglite') return () => {
        const u = process.cpuUsage();
        return u.user + u.system;
      };
      const [backend] = await (db.sendConnection ?? db).query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      // To the nanosecond: a round's 1,000 batches are 40-80 of /proc/<pid>/stat's 10 ms ticks.
      return () => cpuMicros(backend!.pid) ?? Number.NaN;
    };
    const sends = db.sendConnection ?? db;
    const sql = variant.sql && code.SEND_BATCH_SQL ? variant.sql(code.SEND_BATCH_SQL) : undefined;
    if (variant.sql && !sql) throw new Error(`BENCH_BATCH_PARTS: ${knobs.serverDir} has no send batch statements (send-batch-statements.ts)`);
    const send = (batch: Message[]) => code.sendMany(sends, batch, sql);
    return { variant, db, send, database, ids, cpuMeter, perMessage: [] };
  } catch (err) {
    await db.close();
    await database?.close();
    throw err;
  }
}

let sent = 0;
const batchFor = (ids: string[]): Message[] =>
  Array.from({ length: BATCH }, () => {
    const c = Math.floor(Math.random() * CONVERSATIONS);
    sent++;
    return plainMessage({ conversationId: ids[c]!, senderId: `u${c * MEMBERS + (sent % MEMBERS)}`, clientMsgId: `m${sent}`, body: 'x'.repeat(knobs.bodyBytes) });
  });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const subjects: Subject[] = [];
try {
  for (const v of VARIANTS) subjects.push(await open(v));
  for (const s of subjects) for (let i = 0; i < 100; i++) await s.send(batchFor(s.ids)); // plans settle, caches warm
  const engine = subjects[0]!.db.engine;
  const gap = GAP_MS ? `, ${GAP_MS} ms between batches (in the time per batch)` : '';
  console.log(`send batch on ${engine}: ${BATCH} messages a batch, ${ROUNDS} rounds of ${BATCHES_PER_ROUND} batches${gap}; server ${knobs.serverDir}`);
  for (let r = 0; r < ROUNDS; r++) {
    const turns = await Promise.all(
      subjects.map(async (s) => ({
        s,
        // Built before the clock starts, so the process's CPU is the driver's and the store's side.
        batches: Array.from({ length: BATCHES_PER_ROUND }, () => batchFor(s.ids)),
        cpu: await s.cpuMeter(),
        cpuUs: 0,
        driverUs: 0,
        wallMs: 0,
      })),
    );
    // The subjects take turns every TURN batches, each turn measured on its own: the
    // machine's speed drifts over seconds (a round's backend CPU ran 65-96 µs a message in
    // one sitting), and variants measured this close together share its drift.
    for (let at = 0; at < BATCHES_PER_ROUND; at += TURN) {
      for (const t of turns) {
        const t0 = t.cpu();
        const c0 = process.cpuUsage();
        const w0 = performance.now();
        for (const b of t.batches.slice(at, at + TURN)) {
          await t.s.send(b);
          if (GAP_MS) await pause();
        }
        t.cpuUs += t.cpu() - t0;
        const c = process.cpuUsage(c0);
        t.driverUs += c.user + c.system;
        t.wallMs += performance.now() - w0;
      }
    }
    for (const t of turns) {
      const us = t.cpuUs / (BATCHES_PER_ROUND * BATCH);
      t.s.perMessage.push(us);
      const client = engine === 'pglite' ? '' : `, this process (the driver) ${(t.driverUs / (BATCHES_PER_ROUND * BATCH)).toFixed(1)} µs`;
      const label = subjects.length > 1 ? ` ${t.s.variant.name}` : '';
      console.log(`  round ${r + 1}${label}: ${engine === 'pglite' ? 'process' : 'backend'} CPU ${us.toFixed(1)} µs per message${client}; ${(t.wallMs / BATCHES_PER_ROUND).toFixed(2)} ms per batch, commit included`);
    }
  }
  // Against the baseline checkout when there is one, else against this one's batch as it is.
  const reference = subjects[0]!;
  const base = median(reference.perMessage);
  for (const s of subjects) {
    const m = median(s.perMessage);
    const sorted = [...s.perMessage].sort((a, b) => a - b);
    // Round by round too: the machine drifts between rounds, and both sides of a round share it.
    const byRound = s.perMessage.map((x, k) => x - reference.perMessage[k]!);
    const lower = byRound.filter((d) => d < 0).length;
    const delta =
      s === reference
        ? ''
        : `: ${(m - base).toFixed(1)} µs (${(((m - base) / base) * 100).toFixed(0)}%) against the ${baselineDir ? 'baseline' : 'batch as it is'}; ` +
          `round by round ${median(byRound).toFixed(1)} µs (median), lower in ${lower} of ${byRound.length}`;
    console.log(`median${subjects.length > 1 ? ` ${s.variant.name}` : ''} ${m.toFixed(1)} µs per message (min ${sorted[0]!.toFixed(1)}, max ${sorted.at(-1)!.toFixed(1)})${delta}`);
  }
} finally {
  for (const s of subjects) {
    await s.db.close();
    await s.database?.close();
  }
}
