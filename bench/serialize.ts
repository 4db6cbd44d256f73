// node --import tsx bench/serialize.ts: CPU time to serialize Parley's largest REST answers
// with their response schemas (fast-json-stringify, as Fastify compiles them) and with
// JSON.stringify, on realistic pages. CPU time per call, so load on the machine distorts it
// little; the figures decided which serializer the REST gateway uses (see
// src/gateways/http/openapi.ts).
import fjs from 'fast-json-stringify';
import { Bodies, WIRE_SCHEMAS } from '../protocol/responses.ts';

const ITERATIONS = 3000;
const at = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
const id = (i: number) => `6f1c1d9e-5b8a-4c36-9d43-${String(i).padStart(12, '0')}`;

const message = (i: number) => ({
  id: id(i),
  conversationId: id(0),
  seq: i,
  senderId: `user-${i % 7}`,
  clientMsgId: id(100_000 + i),
  body: `Message number ${i}: a line of chat of ordinary length, with an emoji 🎉 and some punctuation.`,
  attachments: i % 5 === 0 ? [{ url: 'https://cdn.example/a.png', name: 'a.png', size: 1024, mimeType: 'image/png' }] : [],
  replyTo: i % 9 === 0 && i > 0 ? id(i - 1) : null,
  replyCount: 0,
  mentions: i % 4 === 0 ? ['user-1'] : [],
  reactions: i % 3 === 0 ? [{ emoji: '👍', count: 2, userIds: ['user-1', 'user-2'] }] : [],
  createdAt: at(i),
  editedAt: i % 10 === 0 ? at(i + 5) : null,
  deletedAt: null,
  ...(i % 7 === 0 ? { status: 'read' } : {}),
});
const member = (i: number) => ({ userId: `user-${i}`, name: `User ${i}`, picture: null, role: i === 0 ? 'owner' : 'member', joinedAt: at(i), readSeq: i, deliveredSeq: i });
const conversation = (i: number) => ({
  id: id(i),
  kind: 'group',
  title: `Group ${i}`,
  metadata: { team: 'blue', priority: i },
  members: Array.from({ length: 8 }, (_, m) => member(m)),
  memberCount: 8,
  lastMessage: message(i),
  lastSeq: 100 + i,
  createdAt: at(i),
  updatedAt: at(i),
  lastActivityAt: at(i + 1),
  unreadCount: i % 4,
  role: 'member',
  archived: false,
  mutedUntil: null,
});

const payloads = {
  'GET /v1/conversations (30)': [Bodies.conversationPage, { conversations: Array.from({ length: 30 }, (_, i) => conversation(i)), nextCursor: null }],
  'GET /v1/conversations/:id/messages (50)': [Bodies.messagePage, { messages: Array.from({ length: 50 }, (_, i) => message(i)), hasMore: true }],
  'GET /v1/sync (200 changes)': [
    Bodies.sync,
    {
      changes: Array.from({ length: 200 }, (_, i) => ({ type: 'message:new', conversationId: id(0), seq: i, data: { conversationId: id(0), seq: i, message: message(i) } })),
      hasMore: false,
      reset: [],
      removed: [],
    },
  ],
} as const;

const external = Object.fromEntries(WIRE_SCHEMAS.map((s) => [s.$id!, s]));
const cpuMicros = (fn: () => void) => {
  for (let i = 0; i < 200; i++) fn(); // warm-up
  const start = process.cpuUsage();
  for (let i = 0; i < ITERATIONS; i++) fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / ITERATIONS;
};

console.log(`serialize: CPU µs per call (${ITERATIONS} calls each)`);
for (const [name, [schema, payload]] of Object.entries(payloads)) {
  const schemaSerializer = fjs(schema as never, { schema: external as never });
  const bytes = JSON.stringify(payload).length;
  const plain = cpuMicros(() => JSON.stringify(payload));
  const compiled = cpuMicros(() => schemaSerializer(payload));
  console.log(`  ${name}: ${bytes} bytes; JSON.stringify ${plain.toFixed(1)} µs, fast-json-stringify ${compiled.toFixed(1)} µs (${(compiled / plain).toFixed(2)}x)`);
}
