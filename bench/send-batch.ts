// npm run bench:batch: the CPU per message of the send batch alone. Batches of BENCH_BATCH
// sends (14 is what 2,222 msg/s makes) into 100 conversations of 10 members, on a PostgreSQL
// of the bench's own (BENCH_PG=private) or in a database of its own on DATABASE_URL's (local)
// server, read from /proc for the one backend that runs them; without either, on PGlite in
// this process (its whole CPU: PGlite runs on the calling thread). The whole-server runs
// cannot tell a few per cent from the machine's noise; this can, so two checkouts
// (BENCH_SERVER_DIR) compare here first.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Message } from '../src/domain/types.ts';
import type { Db } from '../src/storage/db.ts';
import { seedGroups } from '../test/helpers/seed-groups.ts';
import { knobs } from './knobs.ts';
import { openBenchDatabase } from './postgres.ts';

const BATCH = Math.max(1, Number(process.env.BENCH_BATCH ?? 14));
const ROUNDS = Math.max(1, Number(process.env.BENCH_BATCH_ROUNDS ?? 5));
const BATCHES_PER_ROUND = 1000;
const CONVERSATIONS = 100;
const MEMBERS = 10;

// The checkout under test's own storage code, so its migrations and send batch are measured.
const from = (file: string) => import(path.join(knobs.serverDir, file));
const { openPostgres } = (await from('src/storage/db-pg.ts')) as { openPostgres(url: string, o: { max: number }): Promise<Db> };
const { openPglite } = (await from('src/storage/db-pglite.ts')) as { openPglite(o: object): Promise<Db> };
const { migrate } = (await from('src/storage/migrate.ts')) as { migrate(db: Db): Promise<unknown> };
const { sendMany } = (await from('src/storage/sql/send-batch.ts')) as { sendMany(db: Db, m: Message[]): Promise<unknown[]> };

const database = knobs.databaseUrl ? await openBenchDatabase(knobs.databaseUrl) : null;
const db = database ? await openPostgres(database.url, { max: 1 }) : await openPglite({});
try {
  await migrate(db);
  const ids = await seedGroups(db, CONVERSATIONS, MEMBERS);
  const [backend] = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  /** CPU so far, in µs: the backend's (utime + stime, 10 ms ticks), or this process's on PGlite. */
  const cpu = () => {
    if (db.engine === 'pglite') {
      const u = process.cpuUsage();
      return u.user + u.system;
    }
    const fields = fs.readFileSync(`/proc/${backend!.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  };
  let sent = 0;
  const batch = (): Message[] =>
    Array.from({ length: BATCH }, () => {
      const c = Math.floor(Math.random() * CONVERSATIONS);
      sent++;
      return {
        id: randomUUID(),
        conversationId: ids[c]!,
        senderId: `u${c * MEMBERS + (sent % MEMBERS)}`,
        clientMsgId: `m${sent}`,
        body: 'x'.repeat(knobs.bodyBytes),
        attachments: [],
        replyTo: null,
        replyCount: 0,
        mentions: [],
        reactions: [],
        seq: 0,
        createdAt: new Date().toISOString(),
        editedAt: null,
        deletedAt: null,
      };
    });
  for (let i = 0; i < 100; i++) await sendMany(db, batch()); // plans settle, caches warm
  console.log(`send batch on ${db.engine}: ${BATCH} messages a batch, ${ROUNDS} rounds of ${BATCHES_PER_ROUND} batches; server ${knobs.serverDir}`);
  const perMessage: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Built before the clock starts, so the process's CPU is the driver's and the store's side.
    const batches = Array.from({ length: BATCHES_PER_ROUND }, batch);
    const t0 = cpu();
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    for (const b of batches) await sendMany(db, b);
    const us = (cpu() - t0) / (BATCHES_PER_ROUND * BATCH);
    const c = process.cpuUsage(c0);
    perMessage.push(us);
    const client = db.engine === 'pglite' ? '' : `, this process (the driver) ${((c.user + c.system) / (BATCHES_PER_ROUND * BATCH)).toFixed(1)} µs`;
    console.log(`  round ${r + 1}: ${db.engine === 'pglite' ? 'process' : 'backend'} CPU ${us.toFixed(1)} µs per message${client}; ${((performance.now() - w0) / BATCHES_PER_ROUND).toFixed(2)} ms per batch, commit included`);
  }
  const sorted = [...perMessage].sort((a, b) => a - b);
  console.log(`median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} µs per message (min ${sorted[0]!.toFixed(1)}, max ${sorted.at(-1)!.toFixed(1)})`);
} finally {
  await db.close();
  await database?.close();
}
