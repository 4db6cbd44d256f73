import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { backends, skippedPostgres } from './helpers/backends.ts';
import { type Harness, harness, tokenFor, uid } from './helpers/harness.ts';
import { gateways, listen } from './helpers/realtime.ts';

/**
 * Per-sender order (issue 9): sends that one connection writes back to back, without waiting
 * for acks, take seqs in the order they were written, over every gateway and on both stores,
 * while other connections send into the same conversation at the same time.
 */
const N = 60;
/** Requests pipelined per HTTP connection: as many as the server lets wait (connection-bounds.ts). */
const PIPELINED = 16;

if (skippedPostgres) test('send order on postgres', { skip: skippedPostgres }, () => {});

/** Seqs in send order must only go up. */
const inversions = (seqs: number[]) => seqs.filter((s, i) => i > 0 && s <= seqs[i - 1]!).length;

/** Writes `count` POSTs to one TCP connection in a single write, and reads the answers (HTTP/1.1 answers in order). */
async function pipelinedPosts(url: string, path: string, token: string, bodies: unknown[]): Promise<{ status: number; body: any }[]> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const requests = bodies.map((b) => {
    const json = JSON.stringify(b);
    return `POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`;
  });
  socket.write(requests.join(''));
  let buffer = Buffer.alloc(0);
  const answers: { status: number; body: any }[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${answers.length} answers`)), 30_000);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString();
        const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        answers.push({ status: Number(head.split(' ')[1]), body: JSON.parse(buffer.subarray(end + 4, end + 4 + length).toString()) });
        buffer = buffer.subarray(end + 4 + length);
        if (answers.length === bodies.length) {
          clearTimeout(timer);
          resolve();
        }
      }
    });
  });
  socket.destroy();
  return answers;
}

for (const backend of backends) {
  describe(`send order on ${backend.name}`, () => {
    let h: Harness;
    let url: string;
    before(async () => {
      h = await harness(backend);
      url = await listen(h);
    });
    after(() => h.close());

    for (const gw of gateways) {
      test(`${gw.name}: ${N} sends written back to back take seqs in the order written, with two other senders interleaving`, async () => {
        const users = [uid('a'), uid('b'), uid('c')];
        const id = await h.group(h.as(users[0]!), users.slice(1));
        const clients = await Promise.all(users.map((u) => gw.connect(url, u)));
        try {
          const acks = await Promise.all(
            clients.map((c, k) => Promise.all(Array.from({ length: N }, (_, i) => c.send('message:send', { conversationId: id, clientMsgId: `${k}-${i}`, body: `${k}:${i}` })))),
          );
          for (const [k, list] of acks.entries()) {
            assert.ok(list.every((a) => a.ok), JSON.stringify(list.find((a) => !a.ok)));
            assert.equal(inversions(list.map((a) => a.data.seq)), 0, `sender ${k}: ${list.map((a) => a.data.seq).join(',')}`);
          }
          assert.deepEqual(acks.flat().map((a) => a.data.seq).sort((a, b) => a - b), Array.from({ length: 3 * N }, (_, i) => i + 1));
        } finally {
          await Promise.all(clients.map((c) => c.close()));
        }
      });
    }

    test(`REST: ${PIPELINED} sends pipelined on one connection take seqs in the order written, on two connections at once`, async () => {
      const ana = h.as(uid('ana'));
      const bob = uid('bob');
      const id = await h.group(ana, [bob]);
      const path = `/v1/conversations/${id}/messages`;
      const batch = async (user: string) =>
        pipelinedPosts(url, path, await tokenFor(user), Array.from({ length: PIPELINED }, (_, i) => ({ clientMsgId: `${user}-${i}`, body: `${i}` })));
      const [mine, theirs] = await Promise.all([batch(ana.userId), batch(bob)]);
      for (const answers of [mine, theirs]) {
        assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([201]));
        const seqs = answers.map((a) => a.body.message.seq);
        assert.equal(inversions(seqs), 0, seqs.join(','));
      }
    });
  });
}
