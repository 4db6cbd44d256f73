import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config.ts';

/**
 * Embedded mode with no PARLEY_JWT_SECRET: a secret is generated into the data dir on
 * first start (mode 0600) and reused after, so `npm run token` signs what the server accepts.
 */
export function withEmbeddedSecret(config: Config): Config {
  if (config.jwt.secret || config.jwt.jwksUrl || config.databaseUrl) return config;
  const file = path.join(config.dataDir, 'jwt-secret');
  let secret: string;
  try {
    secret = fs.readFileSync(file, 'utf8').trim();
  } catch {
    fs.mkdirSync(config.dataDir, { recursive: true });
    secret = randomBytes(32).toString('base64url');
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  }
  return Object.freeze({ ...config, jwt: Object.freeze({ ...config.jwt, secret, algorithms: ['HS256'] }) });
}
