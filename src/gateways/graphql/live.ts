import type { EventName } from '../../realtime/hub.ts';

/**
 * A bounded queue of one subscription's live events. Past `max` the oldest is dropped, so
 * memory stays bounded whatever the consumer's pace; subscriptions that recover from the
 * conversation log see the gap that leaves and read the log again.
 */
export class Feed<T> {
  private items: T[] = [];
  private waiter: ((r: IteratorResult<T, undefined>) => void) | null = null;
  ended = false;

  constructor(
    readonly select: (event: EventName, data: unknown) => T | undefined,
    private readonly max: number,
    /** The conversation it follows: being removed from it ends the feed (unless the subscription ends itself). */
    readonly conversationId: string | null,
    readonly endsOnRemoval: boolean,
    private readonly onEnd: (feed: Feed<T>) => void,
  ) {}

  push(item: T): void {
    if (this.ended) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w({ value: item, done: false });
      return;
    }
    this.items.push(item);
    if (this.items.length > this.max) this.items.shift();
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.items.length) return Promise.resolve({ value: this.items.shift()!, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.items = [];
    this.waiter?.({ value: undefined, done: true });
    this.waiter = null;
    this.onEnd(this);
  }

  /** Yields what arrives until the feed ends. */
  async *drain(): AsyncGenerator<T> {
    for (;;) {
      const n = await this.next();
      if (n.done) return;
      yield n.value;
    }
  }
}

/**
 * The live side of one GraphQL WebSocket: the hub hands it every event meant for its user
 * (already filtered to conversations they belong to), and it passes each to the feeds of
 * the subscriptions that asked for it.
 */
export class LiveConnection {
  private readonly feeds = new Set<Feed<unknown>>();

  constructor(
    readonly id: string,
    readonly userId: string,
    /** Makes the socket's frame budget pay for work a frame caused beyond itself (a page of replayed log). */
    readonly charge: (frames: number) => void,
  ) {}

  open<T>(select: (event: EventName, data: unknown) => T | undefined, opts: { max: number; conversationId?: string; endsOnRemoval?: boolean }): Feed<T> {
    const feed = new Feed<T>(select, opts.max, opts.conversationId ?? null, opts.endsOnRemoval ?? true, (f) => this.feeds.delete(f as Feed<unknown>));
    this.feeds.add(feed as Feed<unknown>);
    return feed;
  }

  deliver(event: EventName, data: unknown): void {
    for (const feed of this.feeds) {
      const item = feed.select(event, data);
      if (item !== undefined) feed.push(item);
    }
    if (event === 'member:left') {
      const { conversationId, userId } = data as { conversationId: string; userId: string };
      if (userId !== this.userId) return;
      for (const feed of this.feeds) if (feed.conversationId === conversationId && feed.endsOnRemoval) feed.end();
    }
  }

  get size(): number {
    return this.feeds.size;
  }

  close(): void {
    for (const feed of this.feeds) feed.end();
  }
}

/**
 * The AsyncIterator graphql-js runs a subscription from. Its `return()` (the client
 * completed, or the socket closed) ends the feed first: a generator waiting on the feed
 * then wakes up and finishes, which a plain async generator's return() would wait for.
 */
export function iterate<T>(source: AsyncGenerator<T>, feed: { end(): void }): AsyncIterableIterator<T> {
  const it: AsyncIterableIterator<T> = {
    next: () => source.next(),
    async return(value?: unknown) {
      feed.end();
      await source.return(undefined);
      return { value: value as T, done: true };
    },
    async throw(err?: unknown) {
      feed.end();
      return source.throw(err);
    },
    [Symbol.asyncIterator]: () => it,
  };
  return it;
}
