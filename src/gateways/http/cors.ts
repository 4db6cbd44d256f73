import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

/**
 * CORS for REST, governed by the same PARLEY_CORS_ORIGINS list as the realtime upgrades.
 * An allowed origin gets a working preflight and readable responses (errors included);
 * any other origin, or a request with no Origin, gets no CORS headers at all, so the
 * browser keeps the response from the page. Authentication is a bearer token, never a
 * cookie, so credentials are not allowed.
 */
export async function registerCors(app: FastifyInstance, allowlist: readonly string[]): Promise<void> {
  const any = allowlist.includes('*');
  await app.register(cors, {
    origin: (origin, callback) => callback(null, origin && (any || allowlist.includes(origin)) ? (any ? '*' : origin) : false),
    credentials: false,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type'],
    // Lets a page read how long to wait after `rate_limited`.
    exposedHeaders: ['Retry-After'],
    maxAge: 600,
  });
}
