import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.ts';
import { AppError } from '../../errors.ts';

/** Where `npm install` (scripts/build.mjs) leaves the built web app. */
export const WEB_DIST = path.resolve(import.meta.dirname, '../../../web/dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

// Paths the app never answers, whatever the Accept header says: the API and operations
// keep their JSON 404s, and a missing asset is a 404, not the page.
const NOT_APP = /^\/(v1|docs|openapi\.json|health|ready|metrics|graphql|socket\.io|assets)(\/|$)/;

interface WebFile {
  type: string;
  etag: string;
  cache: string;
  identity: Buffer;
  gzip?: Buffer;
  br?: Buffer;
}

const readIf = (file: string): Buffer | undefined => (fs.existsSync(file) ? fs.readFileSync(file) : undefined);
const etagOf = (b: Buffer): string => `"${createHash('sha256').update(b).digest('base64url').slice(0, 22)}"`;

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * What the page must know before its first request: whether the development sign-in
 * exists, and which parent windows may hand it a token. Put in a meta tag so the first
 * paint needs no round trip.
 */
function withRuntimeConfig(html: string, config: Config): Buffer {
  const runtime = { devLogin: config.devLogin, embedOrigins: config.embedOrigins };
  const tag = `<meta name="parley-config" content="${escapeAttr(JSON.stringify(runtime))}">`;
  return Buffer.from(html.replace('</head>', `${tag}\n</head>`));
}

/** Reads the built app into memory once (a few hundred KB), with the compressed twins the build wrote. */
function loadDist(dir: string, config: Config): Map<string, WebFile> {
  const files = new Map<string, WebFile>();
  const walk = (sub: string) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = path.posix.join(sub, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (!/\.(gz|br)$/.test(entry.name) && !entry.name.startsWith('.')) {
        const full = path.join(dir, rel);
        const ext = path.extname(entry.name);
        const isIndex = rel === 'index.html';
        const identity = isIndex ? withRuntimeConfig(fs.readFileSync(full, 'utf8'), config) : fs.readFileSync(full);
        files.set(`/${rel}`, {
          type: TYPES[ext] ?? 'application/octet-stream',
          etag: etagOf(identity),
          // Vite names what is under assets/ by content hash: such a URL never changes meaning.
          cache: rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
          identity,
          // index.html changed above: its build-time twins no longer match it.
          ...(isIndex ? {} : { gzip: readIf(`${full}.gz`), br: readIf(`${full}.br`) }),
        });
      }
    }
  };
  walk('');
  return files;
}

function contentSecurityPolicy(config: Config): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    // Avatars come from the embedding app's `picture` claims, on any https host.
    "img-src 'self' data: blob: https:",
    "connect-src 'self'",
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors 'self'${config.embedOrigins.map((o) => ` ${o}`).join('')}`,
  ].join('; ');
}

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Parley</title></head><body>
<h1>Parley is running</h1><p>The web app is not built. Run <code>npm run build</code> (or <code>npm install</code>) and restart.</p>
<p>The API is at <a href="/docs">/docs</a>.</p></body></html>`;

function send(req: FastifyRequest, reply: FastifyReply, file: WebFile, csp: string) {
  reply.header('cache-control', file.cache).header('etag', file.etag).header('vary', 'accept-encoding').header('x-content-type-options', 'nosniff');
  if (file.type.startsWith('text/html')) reply.header('content-security-policy', csp).header('referrer-policy', 'no-referrer');
  if (req.headers['if-none-match'] === file.etag) return reply.status(304).send();
  const accept = String(req.headers['accept-encoding'] ?? '');
  reply.type(file.type);
  if (file.br && /\bbr\b/.test(accept)) return reply.header('content-encoding', 'br').send(file.br);
  if (file.gzip && /\bgzip\b/.test(accept)) return reply.header('content-encoding', 'gzip').send(file.gzip);
  return reply.send(file.identity);
}

/**
 * Serves the web app at `/`: its files, and `index.html` for any other page a browser asks
 * for (`/c/<id>`, `/preferences`), so client routes survive a reload. Requests that do not
 * accept HTML, and the API's own prefixes, still get the JSON `route_not_found`.
 */
export function webAppRoutes(app: FastifyInstance, config: Config, dir = WEB_DIST): void {
  const files = fs.existsSync(path.join(dir, 'index.html')) ? loadDist(dir, config) : null;
  const csp = contentSecurityPolicy(config);
  const notFound = (reply: FastifyReply) => reply.status(404).send({ error: new AppError('route_not_found').toBody() });
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const url = req.url.split('?')[0]!;
    const file = files?.get(url);
    if (file && url !== '/index.html') return send(req, reply, file, csp);
    const page = url === '/' || (!NOT_APP.test(url) && !path.posix.extname(url) && /text\/html/.test(String(req.headers.accept ?? '')));
    if (!page) return notFound(reply);
    if (!files) return reply.status(503).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT);
    return send(req, reply, files.get('/index.html')!, csp);
  };
  app.get('/', { schema: { hide: true } }, handler);
  app.get('/*', { schema: { hide: true } }, handler);
}
