import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { pgliteBackend } from './helpers/backends.ts';
import { type Harness, harness, tokenFor, uid, waitFor } from './helpers/harness.ts';
import { listen, type RtClient, socketClient, wsClient } from './helpers/realtime.ts';

/**
 * Invariant 7: nothing a client sends crashes the process or stalls the others. Every
 * hostile case runs while a control client keeps sending and receiving; after each case
 * the control client must still get its ack and its echo, and no promise went unhandled.
 */
describe('liveness under hostile input', () => {
  let h: Harness;
  let url: string;
  let control: RtClient;
  let conversationId: string;
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    h = await harness(pgliteBackend, { PARLEY_RATE_LIMIT: '30/10s' });
    url = await listen(h);
    const ana = h.as(uid('control'));
    conversationId = await h.group(ana, []);
    control = await socketClient(url, ana.userId);
  });
  after(async () => {
    await control.close();
    await h.close();
    process.off('unhandledRejection', onUnhandled);
  });

  /** The control client's commands are answered and its events arrive (sent with the API key, which no limit slows). */
  async function controlStillWorks() {
    assert.equal((await control.send('heartbeat')).ok, true);
    const sent = await h.admin(control.userId).post(`/v1/conversations/${conversationId}/messages`, { clientMsgId: randomUUID(), body: 'still here' });
    assert.equal(sent.status, 201);
    await control.next('message:new', (d) => d.message.id === sent.body.message.id);
    assert.deepEqual(unhandled, []);
  }

  const raw = async () => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws?token=${await tokenFor(uid('hostile'))}`);
    const frames: any[] = [];
    ws.on('message', (m) => frames.push(JSON.parse(m.toString())));
    ws.on('error', () => {});
    await new Promise((resolve) => ws.once('open', resolve));
    const answers = () => frames.filter((f) => f.type === 'ack' || f.type === 'error');
    const reply = async (payload: string | Buffer) => {
      const before = answers().length;
      ws.send(payload);
      await waitFor(() => answers().length > before, 30_000, 'an answer to the frame');
      return answers().at(-1);
    };
    return { ws, reply };
  };

  test('plain WebSocket: malformed frames get a clear error and the connection stays', async () => {
    const { ws, reply } = await raw();
    const cases: [string | Buffer, string][] = [
      ['not json', 'invalid_json'],
      [Buffer.from([1, 2, 3]), 'invalid_json'],
      ['[1,2]', 'validation_failed'],
      ['42', 'validation_failed'],
      ['{"id":1}', 'unknown_command'],
      ['{"type":"no:such","id":1}', 'unknown_command'],
      [`${'{"a":'.repeat(1000)}1${'}'.repeat(1000)}`, 'json_too_deep'],
      ['{"type":"heartbeat","id":1,"data":{"__proto__":{"x":1}}}', 'forbidden_key'],
      [`{"type":"message:send","id":1,"data":{"conversationId":"${conversationId}","clientMsgId":"a","body":"\\u0000"}}`, 'invalid_text'],
      [`{"type":"message:send","id":1,"data":{"conversationId":"${conversationId}","clientMsgId":"a","body":"\\ud800"}}`, 'invalid_text'],
      [`{"type":"message:send","id":1,"data":{"conversationId":"${conversationId}","clientMsgId":"a","body":"x"}}`, 'not_found'],
      ['{"type":"sync","id":1,"data":{"cursors":{"x":"y"}}}', 'validation_failed'],
      [`{"type":"message:send","id":1,"data":{"conversationId":"${conversationId}","clientMsgId":"a","body":"${'x'.repeat(10_001)}"}}`, 'validation_failed'],
    ];
    for (const [payload, code] of cases) {
      const frame = await reply(payload);
      assert.equal(frame?.error?.code, code, `${String(payload).slice(0, 60)} -> ${JSON.stringify(frame)}`);
      await controlStillWorks();
    }
    assert.equal(ws.readyState, WebSocket.OPEN);
    ws.close();
  });

  test('Socket.IO: hostile payloads are refused by ack, raw garbage drops only that client', async () => {
    const hostile = await socketClient(url, uid('hostile'));
    for (const [data, code] of [
      [null, 'validation_failed'],
      ['text', 'validation_failed'],
      [JSON.parse('{"__proto__":{"polluted":true}}'), 'forbidden_key'],
      [JSON.parse(`${'{"a":'.repeat(100)}1${'}'.repeat(100)}`), 'json_too_deep'],
      [{ conversationId, clientMsgId: 'a', body: 'a\u0000b' }, 'invalid_text'],
    ] as const) {
      const ack = await hostile.send('message:send', data);
      assert.equal(ack.error?.code, code);
      await controlStillWorks();
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((await hostile.send('no:such:event')).error?.code, 'unknown_command');
    await hostile.close();
    // Raw engine.io/socket.io packets: garbage, an event before CONNECT, a non-string event name.
    for (const packet of ['garbage', '42["message:send",{}]', '40{"token":1}', '42[1,{}]', '4', `42["x","${'y'.repeat(70_000)}"]`]) {
      const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
      ws.on('error', () => {});
      await new Promise((resolve) => ws.once('open', resolve));
      ws.send(packet);
      await controlStillWorks();
      ws.terminate();
    }
  });

  test('commands before auth go nowhere: no session exists without a valid token', async () => {
    const socket = io(url, { auth: {}, transports: ['websocket'], reconnection: false, forceNew: true });
    socket.emit('message:send', { conversationId, clientMsgId: 'x', body: 'sneaky' });
    await new Promise((resolve) => socket.once('connect_error', resolve));
    socket.close();
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws`);
    ws.on('error', () => {});
    ws.on('open', () => ws.send(JSON.stringify({ type: 'message:send', id: 1, data: { conversationId, clientMsgId: 'y', body: 'sneaky' } })));
    const code = await new Promise<number>((resolve) => ws.once('close', resolve));
    assert.equal(code, 4501);
    await controlStillWorks();
    const history = (await h.as(control.userId).get(`/v1/conversations/${conversationId}/messages?limit=200`)).body.messages;
    assert.equal(history.some((m: { body: string }) => m.body === 'sneaky'), false);
  });

  test('a flood is answered rate_limited, then closed; others are unaffected', async () => {
    const flooder = await wsClient(url, uid('flood'));
    // The group is made by someone else: REST writes share the flooder's budget.
    const conv = await h.group(h.as(uid('owner')), [flooder.userId]);
    // Writes beyond the per-user limit (30/10s) are refused with retryAfter.
    const acks = await Promise.all(Array.from({ length: 40 }, () => flooder.send('message:send', { conversationId: conv, clientMsgId: randomUUID(), body: 'spam' })));
    const limited = acks.filter((a) => a.error?.code === 'rate_limited');
    assert.equal(acks.filter((a) => a.ok).length, 30);
    assert.equal(limited.length, 10);
    assert.ok(limited.every((a) => (a.error as { retryAfter?: number }).retryAfter! > 0));
    await controlStillWorks();
    // Frames far beyond the per-connection budget end in a close the client may retry later.
    const closed = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the flooder was not closed within 60 s')), 60_000);
      flooder.ws.once('close', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    for (let i = 0; i < 1000; i++) flooder.ws.send('{"type":"heartbeat","id":0,"data":{}}');
    assert.equal(await closed, 4029);
    await controlStillWorks();
  });
});
