import type { FastifyInstance } from 'fastify';
import { DevLogin } from '../../../../protocol/dev-login.ts';
import { Bodies } from '../../../../protocol/responses.ts';
import type { Config } from '../../../config.ts';
import { AppError } from '../../../errors.ts';
import { issueDevToken } from '../../../services/dev-login.ts';
import { operation } from './docs.ts';

// A page on another site could resolve its own name to 127.0.0.1 (DNS rebinding) and then
// read this route's answers as same-origin: only loopback host names may ask.
const LOOPBACK_HOST = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;

/** The development sign-in; registered only when `config.devLogin` is on, else it is a 404. */
export function devLoginRoutes(app: FastifyInstance, config: Config): void {
  if (!config.devLogin) return;
  app.post<{ Body: DevLogin }>('/v1/dev/login', {
    schema: {
      ...operation({
        operationId: 'devLogin',
        summary: 'Development sign-in: a token for any user id (embedded mode on a loopback host only)',
        tags: ['development'],
        access: 'public',
        ok: { 200: Bodies.devToken },
        body: true,
      }),
      body: DevLogin,
    },
    handler: async (req) => {
      if (!LOOPBACK_HOST.test(req.headers.host ?? '')) throw new AppError('forbidden', 'The development sign-in answers only on a loopback host name');
      return issueDevToken(config, req.body.userId, req.body.name);
    },
  });
}
