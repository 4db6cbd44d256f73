export interface BackoffOptions {
  /** The first retry waits up to this long (ms). Default 500. */
  baseMs?: number;
  /** No wait is longer than this (ms). Default 30 000. */
  capMs?: number;
}

/**
 * Exponential backoff with full jitter: a uniformly random wait between 0 and
 * min(cap, base * 2^attempt). The randomness spreads a crowd of clients that lost the same
 * server, so they do not all come back in the same instant.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.capMs ?? 30_000, (opts.baseMs ?? 500) * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
