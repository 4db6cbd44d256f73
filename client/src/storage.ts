/**
 * Where the client keeps what must survive a reload or a restart: its sync cursors and its
 * outbox. Values are plain JSON. IndexedDB in browsers; memory, or a file (see
 * `parley-client/node`), elsewhere.
 */
export interface ClientStorage {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
}

export function memoryStorage(): ClientStorage {
  const data = new Map<string, string>();
  return {
    get: async (key) => {
      const v = data.get(key);
      return v === undefined ? undefined : JSON.parse(v);
    },
    set: async (key, value) => void data.set(key, JSON.stringify(value)),
  };
}

// The few IndexedDB members used, so the SDK compiles without the DOM library.
interface IdbRequest<T = unknown> {
  result: T;
  error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface IdbDatabase {
  createObjectStore(name: string): unknown;
  transaction(store: string, mode: 'readonly' | 'readwrite'): { objectStore(name: string): { get(k: string): IdbRequest; put(v: unknown, k: string): IdbRequest } };
}
interface IdbFactory {
  open(name: string, version: number): IdbRequest<IdbDatabase> & { onupgradeneeded: (() => void) | null };
}

const done = <T>(req: IdbRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

/** One IndexedDB database with one key-value object store; each write is its own transaction. */
export function indexedDbStorage(name = 'parley', factory?: IdbFactory): ClientStorage {
  const idb = factory ?? (globalThis as { indexedDB?: IdbFactory }).indexedDB;
  if (!idb) throw new Error('IndexedDB is not available here');
  let db: Promise<IdbDatabase> | null = null;
  const open = () => {
    if (!db) {
      const req = idb.open(name, 1);
      req.onupgradeneeded = () => req.result.createObjectStore('kv');
      db = done(req);
    }
    return db;
  };
  const store = async (mode: 'readonly' | 'readwrite') => (await open()).transaction('kv', mode).objectStore('kv');
  return {
    get: async (key) => done((await store('readonly')).get(key)),
    set: async (key, value) => void (await done((await store('readwrite')).put(value, key))),
  };
}

/** IndexedDB where the platform has it (browsers), else memory (Node without a file store). */
export function defaultStorage(): ClientStorage {
  return 'indexedDB' in globalThis ? indexedDbStorage() : memoryStorage();
}
