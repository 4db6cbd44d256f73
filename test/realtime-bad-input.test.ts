import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { pgliteBackend } from './helpers/backends.ts';
import { type Harness, harness, send, tokenFor, uid } from './helpers/harness.ts';
import { listen, socketClient } from './helpers/realtime.ts';

/**
 * Bad input over the realtime gateways (the REST side is test/bad-input.test.ts): every
 * malformed frame is refused with a catalogue code and writes nothing.
 */
describe('realtime bad input', () => {
  let h: Harness;
  let url: string;
  let conversationId: string;
  let ownerId: string;

  before(async () => {
    h = await harness(pgliteBackend);
    url = await listen(h);
    ownerId = uid('ana');
    conversationId = await h.group(h.as(ownerId), []);
    await send(h.as(ownerId), conversationId, 'first');
  });
  after(() => h.close());

  const lastSeq = async () => (await h.as(ownerId).get(`/v1/conversations/${conversationId}`)).body.conversation.lastSeq as number;

  /** A raw /v1/ws connection: frames are sent as given (text or bytes) and every reply is kept. */
  async function rawWs() {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws?token=${await tokenFor(ownerId)}`);
    const frames: any[] = [];
    ws.on('message', (m) => frames.push(JSON.parse(m.toString())));
    ws.on('error', () => {});
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    const reply = async (payload: string | Buffer, opts: { binary?: boolean } = {}) => {
      const seen = frames.filter((f) => f.type === 'ack' || f.type === 'error').length;
      ws.send(payload, { binary: opts.binary ?? false });
      for (let i = 0; i < 600 && frames.filter((f) => f.type === 'ack' || f.type === 'error').length === seen; i++) await new Promise((r) => setTimeout(r, 5));
      return frames.filter((f) => f.type === 'ack' || f.type === 'error')[seen];
    };
    return { ws, reply, closed };
  }

  test('plain WebSocket: numbers JSON cannot keep exactly are refused as number_out_of_range', async () => {
    const { ws, reply } = await rawWs();
    const before = await lastSeq();
    const frames = [
      `{"type":"conversation:read","id":1,"data":{"conversationId":"${conversationId}","seq":1e400}}`,
      `{"type":"conversation:read","id":2,"data":{"conversationId":"${conversationId}","seq":9007199254740993}}`,
      `{"type":"message:send","id":3,"data":{"conversationId":"${conversationId}","clientMsgId":"n1","body":"x","attachments":[{"url":"/a","size":1e-400}]}}`,
      `{"type":"heartbeat","id":1e400,"data":{}}`,
      `{"type":"sync","id":5,"data":{"cursors":{"${conversationId}":-9007199254740993}}}`,
    ];
    for (const frame of frames) {
      const answer = await reply(frame);
      assert.equal(answer?.error?.code, 'number_out_of_range', `${frame} -> ${JSON.stringify(answer)}`);
    }
    assert.equal(await lastSeq(), before, 'nothing was written');
    assert.equal(ws.readyState, WebSocket.OPEN);
    ws.close();
  });

  test('Socket.IO: integers beyond 2^53 in a command are refused as number_out_of_range', async () => {
    const client = await socketClient(url, ownerId);
    const before = await lastSeq();
    for (const [command, data] of [
      ['conversation:read', { conversationId, seq: 2 ** 60 }],
      ['message:send', { conversationId, clientMsgId: 'n2', body: 'x', attachments: [{ url: '/a', size: -(2 ** 54) }] }],
      ['sync', { cursors: { [conversationId]: 1e300 } }],
    ] as const) {
      const ack = await client.send(command, data);
      assert.equal(ack.error?.code, 'number_out_of_range', `${command} -> ${JSON.stringify(ack)}`);
    }
    assert.equal(await lastSeq(), before, 'nothing was written');
    await client.close();
  });

  test('plain WebSocket: a text frame that is not UTF-8 fails the connection (1007) and writes nothing', async () => {
    const before = await lastSeq();
    for (const bad of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe9]]) {
      const { reply, closed } = await rawWs();
      const head = Buffer.from(`{"type":"message:send","id":1,"data":{"conversationId":"${conversationId}","clientMsgId":"${uid('u8')}","body":"caf`);
      void reply(Buffer.concat([head, Buffer.from(bad), Buffer.from('"}}')]));
      assert.equal(await closed, 1007, `bytes ${bad.map((b) => b.toString(16)).join(' ')}`);
    }
    // The same bytes as a binary frame: refused, the connection stays.
    const { ws, reply } = await rawWs();
    const answer = await reply(Buffer.from([0x7b, 0xff, 0x7d]), { binary: true });
    assert.equal(answer?.error?.code, 'invalid_json');
    assert.equal(await lastSeq(), before, 'nothing was written');
    ws.close();
  });
});
