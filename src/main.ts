import { buildApp } from './app.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { withEmbeddedSecret, withEmbeddedVapid } from './secrets.ts';

async function main() {
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
  const app = await buildApp(config);
  const address = await app.http.listen({ port: config.port, host: config.host });
  const mode = config.databaseUrl ? 'PostgreSQL' : `embedded PGlite in ${config.dataDir}`;
  console.log(`Parley listening on ${address} (${mode})`);
  console.log(`API docs: ${address}/docs`);
  if (!config.databaseUrl && !process.env.PARLEY_JWT_SECRET) console.log('Get a token: npm run token -- <userId> [name]');

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.http.log.info({ signal }, 'shutting down');
    await app.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

await main();
