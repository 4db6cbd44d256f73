import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import webpush from 'web-push';
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
/** Embedded mode with no VAPID keys: a pair is generated into the data dir once, like the JWT secret. */
export function withEmbeddedVapid(config: Config): Config {
  if (config.push.vapid || config.databaseUrl) return config;
  const file = path.join(config.dataDir, 'vapid.json');
  let keys = readSecret(file);
  if (keys === null) {
    const { publicKey, privateKey } = webpush.generateVAPIDKeys();
    writeOnce(file, JSON.stringify({ publicKey, privateKey }));
    keys = readSecret(file);
  }
  const { publicKey, privateKey } = JSON.parse(keys ?? '{}') as { publicKey?: string; privateKey?: string };
  if (!publicKey || !privateKey) throw new ConfigError([`${file} holds no VAPID keys: delete it to generate new ones`]);
  return deepFreeze({ ...config, push: { ...config.push, vapid: { publicKey, privateKey, subject: 'mailto:parley@localhost' } } });
}

/** Writes a new file whole or not at all (aside, then linked into place); a racing twin wins. */
function writeOnce(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${content}\n`, { mode: 0o600 });
  try {
    fs.linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

export function withEmbeddedSecret(config: Config): Config {
  if (config.jwt.secret || config.jwt.jwksUrl || config.databaseUrl) return config;
  const file = path.join(config.dataDir, 'jwt-secret');
  let secret = readSecret(file);
  if (secret === null) {
    writeOnce(file, randomBytes(32).toString('base64url'));
    secret = readSecret(file);
  }
  if (!secret || secret.length < MIN_LENGTH) {
    throw new ConfigError([`${file} holds no usable secret (fewer than ${MIN_LENGTH} characters): delete it to generate a new one`]);
  }
  return deepFreeze({ ...config, jwt: { ...config.jwt, secret, algorithms: ['HS256'] } });
}
