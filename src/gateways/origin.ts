import type { IncomingMessage } from 'node:http';

/**
 * The Origin allowlist for realtime requests (every Socket.IO polling request and every
 * upgrade). No Origin: not a browser, allowed. Same origin as the Host: allowed. Else the
 * origin must be listed in PARLEY_CORS_ORIGINS (or the list holds `*`). Cookies play no
 * part in authentication here, but a cross-site page must not open a socket at all.
 */
export function originAllowed(req: IncomingMessage, allowlist: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  if (allowlist.includes('*') || allowlist.includes(origin)) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
