import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ClientStorage } from './storage.ts';

/**
 * Node only (`parley-client/node`): the client's cursors and outbox in one JSON file, so a
 * bot or a server-side client resumes after a restart. Each write replaces the file
 * atomically (temp file, then rename): a crash leaves the old or the new one, never half.
 */
export function fileStorage(file: string): ClientStorage {
  let data: Promise<Record<string, unknown>> | null = null;
  let writing: Promise<void> = Promise.resolve();
  const load = () => {
    data ??= readFile(file, 'utf8').then(
      (text) => JSON.parse(text) as Record<string, unknown>,
      () => ({}),
    );
    return data;
  };
  return {
    get: async (key) => (await load())[key],
    async set(key, value) {
      const all = await load();
      all[key] = value;
      const text = JSON.stringify(all);
      // Writes run one at a time, in call order, so the last one wins on disk too.
      writing = writing.catch(() => {}).then(async () => {
        await mkdir(dirname(file), { recursive: true });
        await writeFile(`${file}.tmp`, text);
        await rename(`${file}.tmp`, file);
      });
      return writing;
    },
  };
}

export type { ClientStorage } from './storage.ts';
