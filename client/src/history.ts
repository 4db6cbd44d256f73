import type { MessagesState } from './state/messages.ts';
import { upsertMessages } from './state/messages.ts';
import type { Rest } from './rest.ts';
import type { Store } from './store.ts';

/** Messages per page when the caller does not say. */
export const PAGE = 30;

/**
 * A conversation's loaded messages, paged from the server: the newest page first, older
 * pages on demand. `loading` guards against two loads of one conversation at once; live
 * events keep a loaded conversation current from then on.
 */
export function createHistory(rest: Rest, messagesOf: (id: string) => Store<MessagesState>) {
  async function loadNewest(id: string) {
    const ms = messagesOf(id);
    ms.set((s) => ({ ...s, loading: true }));
    try {
      const page = await rest.history(id, { limit: PAGE });
      ms.set((s) => ({ messages: upsertMessages(s.loaded ? s.messages : [], page.messages), hasMore: page.hasMore, loaded: true, loading: false }));
    } catch (err) {
      ms.set((s) => ({ ...s, loading: false }));
      throw err;
    }
  }

  return {
    loadNewest,
    /** The newest page, once (later calls return at once). */
    open(id: string): Promise<void> {
      const s = messagesOf(id).get();
      return s.loaded || s.loading ? Promise.resolve() : loadNewest(id);
    },
    /** The page before the oldest loaded message (the newest page when none is loaded). */
    async loadOlder(id: string, limit = PAGE) {
      const ms = messagesOf(id);
      const s = ms.get();
      if (!s.loaded) return loadNewest(id);
      if (s.loading || !s.hasMore) return;
      ms.set((x) => ({ ...x, loading: true }));
      try {
        const page = await rest.history(id, { limit, ...(s.messages[0] ? { before: s.messages[0].seq } : {}) });
        ms.set((x) => ({ ...x, messages: upsertMessages(x.messages, page.messages), hasMore: page.hasMore, loading: false }));
      } catch (err) {
        ms.set((x) => ({ ...x, loading: false }));
        throw err;
      }
    },
  };
}
