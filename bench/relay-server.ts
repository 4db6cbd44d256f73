// The ceiling: a bare `ws` relay speaking Parley's /v1/ws frames, memory only. No auth, no
// validation, no persistence: a message gets the room's next seq, is encoded once, written to
// the room's other sockets, and acked.
//
// With RELAY_DATABASE_URL it is the floor of a durable design instead (`durable-relay`): each
// message is committed to PostgreSQL before it is delivered or acked, with group commit as
// Parley's batcher does it (one batch in flight; an idle queue waits 1 ms for company), into
// one table with one index. No auth, no validation, no idempotency key, no notification work:
// what any server that acks only after COMMIT pays at least, on the same machine.
import { createServer } from 'node:http';
import pg from 'pg';
import { WebSocket, WebSocketServer } from 'ws';

interface Pending {
  room: string;
  seq: number;
  body: string;
  deliver(): void;
}

const rooms = new Map<string, { seq: number; sockets: Set<WebSocket> }>();
const durable = process.env.RELAY_DATABASE_URL ? await openLog(process.env.RELAY_DATABASE_URL) : null;

async function openLog(url: string) {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  await pool.query('CREATE TABLE IF NOT EXISTS relay_messages (room text NOT NULL, seq bigint NOT NULL, body text NOT NULL, PRIMARY KEY (room, seq))');
  const queue: Pending[] = [];
  /** A batch is scheduled or in flight: sends queue behind it. */
  let running = false;
  async function pump() {
    while (queue.length) {
      const batch = queue.splice(0, 256);
      await pool.query({
        name: 'relay_insert',
        text: 'INSERT INTO relay_messages (room, seq, body) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])',
        values: [batch.map((p) => p.room), batch.map((p) => p.seq), batch.map((p) => p.body)],
      });
      for (const p of batch) p.deliver();
    }
    running = false;
  }
  return (p: Pending) => {
    queue.push(p);
    if (running) return;
    running = true;
    // A failed commit ends the run loudly: the bench then reports the server gone, not a slow one.
    setTimeout(
      () =>
        pump().catch((err) => {
          console.error(err);
          process.exit(1);
        }),
      1,
    );
  };
}

const http = createServer((req, res) => {
  res.writeHead(req.url === '/health' ? 200 : 404).end();
});
const wss = new WebSocketServer({ server: http, path: '/v1/ws', maxPayload: 64 * 1024 });

wss.on('connection', (ws, req) => {
  const name = new URL(req.url ?? '/', 'http://x').searchParams.get('room') ?? '';
  let room = rooms.get(name);
  if (!room) {
    room = { seq: 0, sockets: new Set() };
    rooms.set(name, room);
  }
  const r = room;
  r.sockets.add(ws);
  ws.on('close', () => r.sockets.delete(ws));
  ws.on('message', (raw) => {
    const frame = JSON.parse(raw.toString()) as { type: string; id: number; data: { conversationId: string; clientMsgId: string; body: string } };
    if (frame.type !== 'message:send') return;
    const message = { ...frame.data, id: frame.data.clientMsgId, seq: ++r.seq };
    const deliver = () => {
      const event = JSON.stringify({ type: 'message:new', data: { conversationId: name, seq: message.seq, message } });
      for (const peer of r.sockets) if (peer !== ws && peer.readyState === WebSocket.OPEN) peer.send(event);
      ws.send(JSON.stringify({ type: 'ack', id: frame.id, ok: true, data: message }));
    };
    if (durable) durable({ room: name, seq: message.seq, body: message.body, deliver });
    else deliver();
  });
});

http.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
