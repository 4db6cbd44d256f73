/** A JWT's claims, read without verifying (the server verifies; the client only plans). */
export function jwtClaims(token: string): { sub?: string; exp?: number } | null {
  try {
    const part = token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4)));
    return json && typeof json === 'object' ? json : null;
  } catch {
    return null;
  }
}

export interface TokenOptions {
  /** A fixed token. When it expires the client stops (closed, `token_expired`). */
  token?: string;
  /** Called for the first token, again before each one expires, and when the server says it expired. */
  tokenProvider?: () => string | Promise<string>;
}

/** Longest setTimeout delay browsers and Node honour (~24.8 days). */
const MAX_DELAY = 2 ** 31 - 1;

/**
 * The current token, refreshed through `tokenProvider` ahead of its `exp` (a fifth of its
 * remaining life, at most a minute early) so reconnects and REST calls never wait on an
 * expired one, and on demand when the server reports it expired.
 */
export function tokenSource(opts: TokenOptions, onError: (err: unknown) => void) {
  const provider = opts.tokenProvider;
  let current = opts.token ?? null;
  let inflight: Promise<string> | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const expiry = (t: string | null) => (t ? (jwtClaims(t)?.exp ?? 0) * 1000 || null : null);

  function schedule() {
    clearTimeout(timer);
    const exp = expiry(current);
    if (!provider || !exp || stopped) return;
    const left = exp - Date.now();
    const due = left - Math.min(60_000, left / 5);
    timer = setTimeout(() => void refresh().catch(onError), Math.min(Math.max(0, due), MAX_DELAY));
  }

  function refresh(): Promise<string> {
    if (!provider) return current ? Promise.resolve(current) : Promise.reject(new Error('No token'));
    inflight ??= Promise.resolve()
      .then(provider)
      .then((t) => {
        if (typeof t !== 'string' || !t) throw new Error('tokenProvider returned no token');
        current = t;
        schedule();
        return t;
      })
      .finally(() => {
        inflight = null;
      });
    return inflight;
  }

  schedule();
  return {
    /** A token that is not past its exp, refreshing first when it is (or when there is none yet). */
    get(): Promise<string> {
      const exp = expiry(current);
      if (current && (!exp || exp > Date.now() || !provider)) return Promise.resolve(current);
      return refresh();
    },
    refresh,
    canRefresh: !!provider,
    current: () => current,
    /** The user the current token is for, when it says. */
    subject: () => (current ? (jwtClaims(current)?.sub ?? null) : null),
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

export type TokenSource = ReturnType<typeof tokenSource>;
