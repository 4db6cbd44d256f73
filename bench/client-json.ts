// npm run bench:json: what parsing a client's JSON frame costs (parseClientJson, every
// gateway's parser: depth, exact numbers, forbidden keys, storable strings), in ns per frame,
// for send frames with a BENCH_BODY_BYTES (100) body: plain, with escapes (\n, \"), and with
// \u escapes (the careful path). In this process, no server: a part of the send path whole
// runs cannot resolve. Takes BENCH_SERVER_DIR like the others, so two checkouts compare.
import path from 'node:path';
import { knobs } from './knobs.ts';

const ROUNDS = 7;
const PER_ROUND = 200_000;
const { parseClientJson } = (await import(path.join(knobs.serverDir, 'src/gateways/json.ts'))) as { parseClientJson(text: string): unknown };

const frame = (i: number, body: string) =>
  JSON.stringify({ type: 'message:send', id: i, data: { conversationId: '0192b1c2-7e4f-7a3b-9c1d-2e3f4a5b6c7d', clientMsgId: `b-${i}`, body: `${i}|${body}`.padEnd(knobs.bodyBytes, 'x') } });
const kinds: [string, (i: number) => string][] = [
  ['plain', (i) => frame(i, 'hello')],
  ['with \\n and \\" escapes', (i) => frame(i, 'line\none "quoted"')],
  ['with \\u escapes', (i) => frame(i, 'caf\u00e9 \u{1f600}').replace('é', '\\u00e9')],
];

console.log(`client JSON: send frames with a ${knobs.bodyBytes}-byte body, ${ROUNDS} rounds of ${PER_ROUND}; server ${knobs.serverDir}`);
for (const [name, make] of kinds) {
  const frames = Array.from({ length: 1000 }, (_, i) => make(i));
  const ns: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = process.hrtime.bigint();
    for (let k = 0; k < PER_ROUND; k++) parseClientJson(frames[k % frames.length]!);
    ns.push(Number(process.hrtime.bigint() - t) / PER_ROUND);
  }
  const sorted = ns.slice(2).sort((a, b) => a - b); // the first rounds warm the JIT
  console.log(`${name} (${frames[0]!.length} chars): median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ns per frame (${sorted.map((n) => n.toFixed(0)).join(', ')})`);
}
