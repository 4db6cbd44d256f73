/** Something that ends at a wall-clock time: a session whose token expires. */
export interface Expiring {
  /** When to call expire(), in ms since the epoch. Fixed while queued. */
  readonly expiresAt: number;
  /** Its place in the queue's heap, -1 when not queued: kept by the queue, so removal needs no search. */
  expiryIndex: number;
  expire(): void;
}

/** setTimeout's longest delay (~24.8 days): a later expiry is re-checked then. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * Expiries in one min-heap behind one timer, armed for the earliest. A Timeout per session
 * cost every idle connection about 200 bytes of heap (the Timeout, its arguments array, its
 * three boxed numbers, and a timer list of its own for most, since each token's remaining
 * lifetime is a different number of milliseconds); here it costs a slot in an array.
 * The timer is unref'd, as each session's was: it never keeps a process alive.
 */
export class ExpiryQueue {
  private readonly heap: Expiring[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** What the timer was armed for; a later earliest needs no new timer (it fires, finds nothing due, re-arms). */
  private armedFor = Number.POSITIVE_INFINITY;

  constructor(private readonly onError: (err: unknown) => void) {}

  get size(): number {
    return this.heap.length;
  }

  add(item: Expiring): void {
    if (item.expiryIndex >= 0) return;
    item.expiryIndex = this.heap.length;
    this.heap.push(item);
    this.up(item.expiryIndex);
    if (item.expiresAt < this.armedFor) this.arm();
  }

  remove(item: Expiring): void {
    const i = item.expiryIndex;
    if (i < 0 || this.heap[i] !== item) return;
    item.expiryIndex = -1;
    const last = this.heap.pop()!;
    if (last === item) return;
    this.place(last, i);
    this.down(i);
    this.up(last.expiryIndex);
  }

  /** Calls every expire() now due, earliest first, then arms the timer for the next. */
  private readonly fire = () => {
    this.timer = null;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = Date.now();
    while (this.heap.length > 0 && this.heap[0]!.expiresAt <= now) {
      const item = this.heap[0]!;
      this.remove(item);
      try {
        item.expire();
      } catch (err) {
        this.onError(err);
      }
    }
    this.arm();
  };

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.armedFor = Number.POSITIVE_INFINITY;
    const first = this.heap[0];
    if (!first) return;
    this.armedFor = first.expiresAt;
    this.timer = setTimeout(this.fire, Math.min(Math.max(0, first.expiresAt - Date.now()), MAX_DELAY_MS));
    this.timer.unref();
  }

  private place(item: Expiring, i: number): void {
    this.heap[i] = item;
    item.expiryIndex = i;
  }

  private up(i: number): void {
    const item = this.heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = this.heap[parent]!;
      if (p.expiresAt <= item.expiresAt) break;
      this.place(p, i);
      i = parent;
    }
    this.place(item, i);
  }

  private down(i: number): void {
    const n = this.heap.length;
    const item = this.heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && this.heap[r]!.expiresAt < this.heap[l]!.expiresAt ? r : l;
      const c = this.heap[child]!;
      if (c.expiresAt >= item.expiresAt) break;
      this.place(c, i);
      i = child;
    }
    this.place(item, i);
  }
}
