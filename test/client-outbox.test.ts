import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileStorage } from '../client/src/node.ts';
import { tokenFor, uid, waitFor } from './helpers/harness.ts';
import { type SdkRig, sdkRig } from './helpers/sdk-rig.ts';
import { synced } from './helpers/sdk.ts';
import { http } from './helpers/server-process.ts';

/** The outbox across a kill -9 of a real Parley process, and a restart of the client itself. */
describe('client outbox across a server kill', () => {
  let rig: SdkRig;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-sdk-'));
  before(async () => {
    rig = await sdkRig();
  });
  after(async () => {
    await rig?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('kill -9 with 20 sends in the outbox: after the restart each message exists once, in send order', async () => {
    const aId = uid('a');
    const file = path.join(tmp, `${aId}.json`);
    const token = await tokenFor(aId);
    const options = { url: rig.proxy.url, token, backoff: { baseMs: 50, capMs: 500 } };
    const a = rig.clients.make({ ...options, storage: fileStorage(file) });
    await synced(a);
    const conv = await a.createConversation({ kind: 'group', members: [uid('peer')], title: 'outbox' });
    // Ten go out, and the server dies under them: some acked, one perhaps stored but not
    // acked, the rest still waiting. Ten more are sent while it is down.
    for (let i = 0; i < 10; i++) a.send(conv.id, `s${i}`);
    await waitFor(() => a.outbox.get().some((e) => e.status === 'sent'), 10_000, 'first acks');
    await rig.server.kill();
    rig.proxy.block();
    for (let i = 10; i < 20; i++) assert.equal(a.send(conv.id, `s${i}`).status, 'pending');
    await waitFor(() => !a.outbox.get().some((e) => e.status === 'sending'), 15_000, 'in-flight send given up');
    const unsent = a.outbox.get().filter((e) => e.status !== 'sent').map((e) => e.body);
    assert.ok(unsent.length >= 10);
    // The app stops too (a reload, a crash): a new client picks the outbox up from the file.
    await a.close();
    const again = rig.clients.make({ ...options, storage: fileStorage(file) });
    await waitFor(() => again.outbox.get().length === unsent.length, 10_000, 'outbox reloaded');
    assert.deepEqual(
      again.outbox.get().map((e) => [e.body, e.status]),
      unsent.map((b) => [b, 'pending']),
    );

    await rig.restart();
    rig.proxy.unblock();
    await waitFor(() => again.outbox.get().every((e) => e.status === 'sent'), 20_000, 'outbox drained');
    const history = await http(`${rig.server.url}/v1/conversations/${conv.id}/messages?limit=100`, 'GET', token);
    const stored: { body: string; seq: number }[] = history.body.messages;
    assert.deepEqual(
      stored.map((m) => m.body),
      Array.from({ length: 20 }, (_, i) => `s${i}`),
      'each once, in send order',
    );
    assert.deepEqual(
      again.outbox.get().map((e) => e.seq),
      stored.slice(20 - unsent.length).map((m) => m.seq),
    );
  });
});
