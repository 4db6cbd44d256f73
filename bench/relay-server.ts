// The ceiling: a bare `ws` relay speaking Parley's /v1/ws frames, memory only. No auth, no
// validation, no persistence: a message gets the room's next seq, is encoded once, written to
// the room's other sockets, and acked.
import { createServer } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';

const rooms = new Map<string, { seq: number; sockets: Set<WebSocket> }>();
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
    const event = JSON.stringify({ type: 'message:new', data: { conversationId: name, seq: message.seq, message } });
    for (const peer of r.sockets) if (peer !== ws && peer.readyState === WebSocket.OPEN) peer.send(event);
    ws.send(JSON.stringify({ type: 'ack', id: frame.id, ok: true, data: message }));
  });
});

http.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
