import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type Config, ConfigError, deepFreeze } from './config.ts';

const MIN_LENGTH = 32;

function readSecret(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Embedded mode with no PARLEY_JWT_SECRET: a secret is generated into the data dir on
 * first start (mode 0600) and reused after, so `npm run token` signs what the server accepts.
 * The file appears whole or not at all (written aside, then linked into place), and two
 * processes starting at once end up with the same secret.
 */
export function withEmbeddedSecret(config: Config): Config {
  if (config.jwt.secret || config.jwt.jwksUrl || config.databaseUrl) return config;
  const file = path.join(config.dataDir, 'jwt-secret');
  let secret = readSecret(file);
  if (secret === null) {
    fs.mkdirSync(config.dataDir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
    try {
      fs.linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    secret = readSecret(file);
  }
  if (!secret || secret.length < MIN_LENGTH) {
    throw new ConfigError([`${file} holds no usable secret (fewer than ${MIN_LENGTH} characters): delete it to generate a new one`]);
  }
  return deepFreeze({ ...config, jwt: { ...config.jwt, secret, algorithms: ['HS256'] } });
}
