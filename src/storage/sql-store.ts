import type { Db, Queryable } from './db.ts';
import { isMigrated } from './migrate.ts';
import { conversationRepo } from './sql/conversations.ts';
import { eventRepo } from './sql/events.ts';
import { memberRepo } from './sql/members.ts';
import { messageRepo } from './sql/messages.ts';
import { userRepo } from './sql/users.ts';
import type { Repos, Store } from './store.ts';

const repos = (q: Queryable): Repos => ({
  users: userRepo(q),
  conversations: conversationRepo(q),
  members: memberRepo(q),
  messages: messageRepo(q),
  events: eventRepo(q),
});

/** The Postgres implementation of the store port, over either engine. */
export function createSqlStore(db: Db): Store {
  return {
    engine: db.engine,
    ...repos(db),
    transaction: (fn) => db.transaction((tx) => fn(repos(tx))),
    async isReady() {
      try {
        return await isMigrated(db);
      } catch {
        return false;
      }
    },
    close: () => db.close(),
  };
}
