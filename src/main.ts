import { buildApp } from './app.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { WS_PATH } from './gateways/ws/index.ts';
import { createLogger } from './log.ts';
import { withEmbeddedSecret, withEmbeddedVapid } from './secrets.ts';

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main() {
  const startedAt = performance.now();
  let config: Config;
  try {
    config = withEmbeddedVapid(withEmbeddedSecret(loadConfig()));
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger({ level: config.logLevel, format: config.logFormat });
  const mode = `${config.databaseUrl ? 'PostgreSQL' : `embedded PGlite in ${config.dataDir}`}${config.redis ? ', cluster mode on Redis' : ''}`;
  log.info({ mode }, `Parley starting (${mode})`);
  // Each phase is reported as it ends, so a slow start shows where the time goes.
  const app = await buildApp(config, {
    logger: log,
    onPhase: (phase, ms, detail) => {
      const what =
        phase === 'storage'
          ? `${detail.engine === 'pglite' ? 'PGlite' : 'PostgreSQL'} opened`
          : phase === 'migrations'
            ? (detail.applied as string[]).length
              ? `applied ${(detail.applied as string[]).join(', ')}`
              : 'schema up to date'
            : 'started';
      log.info({ phase, ms: Math.round(ms) }, `${phase}: ${what} in ${seconds(ms)}`);
    },
  });
  const address = await app.http.listen({ port: config.port, host: config.host });
  // Always printed, whatever LOG_LEVEL: where to point a client.
  console.log(
    [
      `Parley listening on ${address} (${mode}), ready in ${seconds(performance.now() - startedAt)}`,
      `  Web app    ${address}/${config.devLogin ? ' (development sign-in on)' : ''}`,
      `  REST API   ${address}/v1`,
      `  API docs   ${address}/docs`,
      `  Socket.IO  ${address} (path /socket.io)`,
      `  WebSocket  ${address.replace(/^http/, 'ws')}${WS_PATH}`,
    ].join('\n'),
  );
  if (!config.databaseUrl && !process.env.PARLEY_JWT_SECRET) console.log('Get a token: npm run token -- <userId> [name]');

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down');
    // Whatever hangs (a peer that never closes, a database that never answers), the process
    // ends within the bound: a process manager waiting on it must not wait forever.
    setTimeout(() => {
      log.error({ timeoutMs: config.shutdownTimeoutMs, ...app.shutdownProgress() }, 'shutdown took too long; exiting anyway');
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    try {
      await app.shutdown();
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

await main();
