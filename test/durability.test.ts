import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { PG_URL, skippedPostgres } from './helpers/backends.ts';
import { SECRET, tokenFor, uid, VAPID, waitFor } from './helpers/harness.ts';
import { fakePushService } from './helpers/push/webpush.ts';
import { http, killAllServers, type ServerProcess, startServer, tokenFromScript } from './helpers/server-process.ts';

/**
 * Invariant 1: a send is acknowledged only after COMMIT, so whatever a client saw
 * acknowledged survives `kill -9` of the server the instant the answers arrive.
 */
async function killRightAfterAcks(server: ServerProcess, token: string, owner: string) {
  const conv = await http(`${server.url}/v1/conversations`, 'POST', token, { kind: 'group', members: [uid('peer')], title: 'durable' });
  assert.equal(conv.status, 201, JSON.stringify(conv.body));
  const id = conv.body.conversation.id;
  const acked: { id: string; seq: number; body: string }[] = [];
  const sends = Array.from({ length: 25 }, (_, i) =>
    http(`${server.url}/v1/conversations/${id}/messages`, 'POST', token, { clientMsgId: `k${i}`, body: `durable ${i}` }).then((r) => {
      if (r.status === 201) acked.push(r.body.message);
      return r;
    }),
  );
  // Kill the moment the last acknowledgement arrives: no graceful shutdown, no flush.
  await Promise.all(sends);
  await server.kill();
  assert.equal(acked.length, 25);
  assert.ok(acked.every((m) => m.body.startsWith('durable')));
  return { id, acked, owner };
}

describe('durability', () => {
  const dirs: string[] = [];
  after(async () => {
    await killAllServers();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  test('embedded: first start creates the schema and a secret; acked messages survive SIGKILL and restart', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-durable-'));
    dirs.push(dataDir);
    const env = { PARLEY_DATA_DIR: dataDir };
    const first = await startServer(env);
    await waitFor(() => /npm run token/.test(first.output()), 30_000, 'the token hint');
    assert.ok(fs.existsSync(path.join(dataDir, 'jwt-secret')));
    const owner = uid('owner');
    const token = tokenFromScript(env, owner);
    const { id, acked } = await killRightAfterAcks(first, token, owner);

    const second = await startServer(env);
    try {
      const history = await http(`${second.url}/v1/conversations/${id}/messages?limit=200`, 'GET', token);
      assert.equal(history.status, 200);
      const stored = new Map<string, { seq: number; body: string }>(history.body.messages.map((m: { id: string }) => [m.id, m]));
      for (const m of acked) {
        const s = stored.get(m.id);
        assert.ok(s, `acked message ${m.seq} lost`);
        assert.deepEqual([s.seq, s.body], [m.seq, m.body]);
      }
      // The same clientMsgId after the restart is still a retry, not a new message.
      const retry = await http(`${second.url}/v1/conversations/${id}/messages`, 'POST', token, { clientMsgId: 'k0', body: 'again' });
      assert.equal(retry.status, 200);
    } finally {
      await second.kill();
    }
  });

  test('embedded: a push not yet sent when the server is killed goes out after the restart', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-durable-push-'));
    dirs.push(dataDir);
    const service = await fakePushService(VAPID.publicKey);
    const env = {
      PARLEY_DATA_DIR: dataDir,
      PARLEY_VAPID_PUBLIC_KEY: VAPID.publicKey,
      PARLEY_VAPID_PRIVATE_KEY: VAPID.privateKey,
      PARLEY_PUSH_ALLOW_INSECURE: '1',
      // Long enough that the kill comes first: the work is in the outbox or a queued job then.
      PARLEY_PUSH_COALESCE_MS: '3000',
      PARLEY_JOB_POLL_SECONDS: '1',
    };
    try {
      const first = await startServer(env);
      const [ana, bob] = [uid('ana'), uid('bob')];
      const [anaToken, bobToken] = [tokenFromScript(env, ana), tokenFromScript(env, bob)];
      const sub = service.subscribe();
      assert.equal((await http(`${first.url}/v1/me/devices`, 'POST', bobToken, { platform: 'webpush', subscription: { endpoint: sub.endpoint, keys: sub.keys } })).status, 201);
      const conv = await http(`${first.url}/v1/conversations`, 'POST', anaToken, { kind: 'direct', members: [bob] });
      const sent = await http(`${first.url}/v1/conversations/${conv.body.conversation.id}/messages`, 'POST', anaToken, { clientMsgId: 'p1', body: 'still there?' });
      assert.equal(sent.status, 201);
      await first.kill();
      assert.equal(service.received.length, 0, 'killed before the push was due');

      const second = await startServer(env);
      try {
        await waitFor(() => service.received.length > 0, 20_000, 'the push after the restart');
        assert.equal(service.received[0]!.problem, undefined);
        assert.equal(service.received[0]!.payload.body, 'still there?');
      } finally {
        await second.kill();
      }
    } finally {
      await service.close();
    }
  });

  test('postgres: acked messages survive SIGKILL of the server', { skip: skippedPostgres ?? false }, async () => {
    const dbName = `parley_durable_${process.pid}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
    await admin.query(`CREATE DATABASE ${dbName}`);
    const url = new URL(PG_URL);
    url.pathname = `/${dbName}`;
    const env = { DATABASE_URL: url.toString(), PARLEY_JWT_SECRET: SECRET };
    try {
      const owner = uid('owner');
      const token = await tokenFor(owner);
      const { id, acked } = await killRightAfterAcks(await startServer(env), token, owner);
      const second = await startServer(env);
      try {
        const history = await http(`${second.url}/v1/conversations/${id}/messages?limit=200`, 'GET', token);
        assert.deepEqual(
          history.body.messages.map((m: { id: string }) => m.id).sort(),
          acked.map((m) => m.id).sort(),
        );
      } finally {
        await second.kill();
      }
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    }
  });
});
