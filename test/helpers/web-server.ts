import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { withEmbeddedSecret, withEmbeddedVapid } from '../../src/secrets.ts';
import type { Store } from '../../src/storage/store.ts';
import { pgliteBackend } from './backends.ts';
import { ensureWebBuilt } from './web-build.ts';

export interface WebServer {
  url: string;
  app: App;
  vapidPublicKey: string;
  /** Signs tokens as the embedding application's backend would. */
  tokenFor(userId: string, name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Parley as `npm start` runs it (embedded, generated secret, loopback: the development
 * sign-in is on), in this process on a port of its own, storage loaded from the PGlite
 * template, serving the built web app. `env` changes the configuration.
 */
export async function startWebServer(env: Record<string, string> = {}): Promise<WebServer> {
  ensureWebBuilt();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-web-'));
  let store: Store | null = null;
  let app: App | null = null;
  try {
    store = await pgliteBackend.openStore();
    const config = withEmbeddedVapid(withEmbeddedSecret(loadConfig({ LOG_LEVEL: 'silent', PARLEY_RATE_LIMIT: 'off', PARLEY_DATA_DIR: dataDir, ...env })));
    app = await buildApp(config, { store });
    const url = await app.http.listen({ port: 0, host: '127.0.0.1' });
    const opened = { app, store };
    return {
      url,
      app,
      vapidPublicKey: config.push.vapid!.publicKey,
      tokenFor: (userId, name) =>
        new SignJWT({ name })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject(userId)
          .setIssuedAt()
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode(config.jwt.secret!)),
      async close() {
        await opened.app.close();
        await opened.store.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await app?.close();
    await store?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}
