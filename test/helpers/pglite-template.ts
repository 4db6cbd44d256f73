import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { openPglite } from '../../src/storage/db-pglite.ts';
import { listMigrations, migrate } from '../../src/storage/migrate.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * A new PGlite instance costs ~4 s of initdb; loading a dump of an already-migrated one
 * costs ~1 s. The dump is keyed by the migrations, so a new migration makes a new one.
 */
export function templatePath(): string {
  const hash = createHash('sha256');
  for (const m of listMigrations()) hash.update(m.name).update(m.sql);
  return path.join(ROOT, '.tmp', `pglite-template-${hash.digest('hex').slice(0, 16)}.tgz`);
}

export async function ensurePgliteTemplate(): Promise<string> {
  const file = templatePath();
  if (fs.existsSync(file)) return file;
  const db = await openPglite();
  await migrate(db);
  const dump = Buffer.from(await (await db.dump()).arrayBuffer());
  await db.close();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}`;
  fs.writeFileSync(tmp, dump);
  fs.renameSync(tmp, file); // atomic: parallel test processes never read half a file
  return file;
}

