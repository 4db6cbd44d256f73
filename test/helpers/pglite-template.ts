import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { openPglite } from '../../src/storage/db-pglite.ts';
import { listMigrations, migrate } from '../../src/storage/migrate.ts';
import { createJobQueue, DEFAULT_JOB_OPTIONS } from '../../src/storage/pgboss.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PGBOSS_VERSION = (JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '../../node_modules/pg-boss/package.json'), 'utf8')) as { version: string }).version;

/** The job queue's install (its queues and their settings) lives here, beside the queue itself. */
const JOB_QUEUE_SOURCE = path.join(ROOT, 'src/storage/pgboss.ts');

/**
 * A new PGlite instance costs ~4 s of initdb; loading a dump of an already-migrated one
 * costs ~1 s. The dump is keyed by the migrations, pg-boss's version and the job queue's
 * install code, so a change to any of them makes a new one.
 */
export function templatePath(): string {
  const hash = createHash('sha256');
  for (const m of listMigrations()) hash.update(m.name).update(m.sql);
  hash.update(`pg-boss ${PGBOSS_VERSION}`);
  hash.update(fs.readFileSync(JOB_QUEUE_SOURCE));
  return path.join(ROOT, '.tmp', `pglite-template-${hash.digest('hex').slice(0, 16)}.tgz`);
}

export async function ensurePgliteTemplate(): Promise<string> {
  const file = templatePath();
  if (fs.existsSync(file)) return file;
  const db = await openPglite();
  await migrate(db);
  // pg-boss installs its schema and queues on first start: do it once here, not per test.
  const jobs = createJobQueue(db, DEFAULT_JOB_OPTIONS);
  await jobs.start();
  await jobs.stop();
  const dump = Buffer.from(await (await db.dump()).arrayBuffer());
  await db.close();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}`;
  fs.writeFileSync(tmp, dump);
  fs.renameSync(tmp, file); // atomic: parallel test processes never read half a file
  // Templates of earlier code are never read again.
  for (const old of fs.readdirSync(path.dirname(file))) {
    if (/^pglite-template-[0-9a-f]{16}\.tgz$/.test(old) && old !== path.basename(file)) fs.rmSync(path.join(path.dirname(file), old), { force: true });
  }
  return file;
}

