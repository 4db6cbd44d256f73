import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { CLOSE_CODES, PROTOCOL_VERSION } from '../protocol/connection.ts';
import { pgliteBackend } from './helpers/backends.ts';
import { type Harness, harness, tokenFor, uid } from './helpers/harness.ts';
import { listen } from './helpers/realtime.ts';

/** Connects over Socket.IO with `auth`; resolves with the first event name and its data. */
function socketOutcome(url: string, auth: Record<string, unknown>) {
  const socket = io(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
  return new Promise<{ ready?: unknown; code?: string; message?: string }>((resolve) => {
    socket.once('ready', (data) => resolve({ ready: data }));
    socket.once('connect_error', (err: Error & { data?: { code: string } }) => resolve({ code: err.data?.code as string, message: err.message }));
  }).finally(() => socket.close());
}

/** Opens a plain WebSocket; resolves with `ready` or the close code and reason. */
function wsOutcome(url: string, query: string) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws?${query}`);
  return new Promise<{ ready?: unknown; code?: number; reason?: string }>((resolve) => {
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString());
      if (frame.type === 'ready') resolve({ ready: frame.data });
    });
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  }).finally(() => ws.terminate());
}

describe('realtime protocol version', () => {
  let h: Harness;
  let url: string;
  let token: string;
  before(async () => {
    h = await harness(pgliteBackend);
    url = await listen(h);
    token = await tokenFor(uid());
  });
  after(() => h.close());

  test('socket.io: no version or the current one connects; another is refused with protocol_unsupported', async () => {
    assert.ok((await socketOutcome(url, { token })).ready, 'no version: the current one');
    assert.ok((await socketOutcome(url, { token, v: PROTOCOL_VERSION })).ready);
    for (const v of [PROTOCOL_VERSION + 1, 0, 'one', -1]) {
      const refused = await socketOutcome(url, { token, v });
      assert.equal(refused.code, 'protocol_unsupported', `v=${v}`);
      assert.match(refused.message ?? '', new RegExp(`version ${PROTOCOL_VERSION}`));
    }
    // Checked before the token: an old client learns it must update, not that its token is bad.
    assert.equal((await socketOutcome(url, { v: 99 })).code, 'protocol_unsupported');
  });

  test('plain WebSocket: ?v= absent or current connects; another closes with the terminal 4505', async () => {
    const t = encodeURIComponent(token);
    assert.ok((await wsOutcome(url, `token=${t}`)).ready);
    assert.ok((await wsOutcome(url, `token=${t}&v=${PROTOCOL_VERSION}`)).ready);
    for (const v of [String(PROTOCOL_VERSION + 1), 'x', '1.0']) {
      const closed = await wsOutcome(url, `token=${t}&v=${v}`);
      assert.deepEqual(closed, { code: CLOSE_CODES.protocolUnsupported, reason: 'protocol_unsupported' }, `v=${v}`);
    }
    assert.ok(CLOSE_CODES.protocolUnsupported >= 4500 && CLOSE_CODES.protocolUnsupported <= 4999, 'in the do-not-reconnect range');
    assert.equal((await wsOutcome(url, 'v=2')).code, CLOSE_CODES.protocolUnsupported);
  });
});
