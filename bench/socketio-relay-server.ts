// The ceiling for Socket.IO: bare Socket.IO rooms with the library's defaults, memory only,
// speaking Parley's event names. No auth, no validation, no persistence: a message gets the
// room's next seq, is broadcast to the room's other sockets (`socket.to(room).emit`, encoded
// once by Socket.IO), and acked. The room comes as the handshake's `auth.token`, where Parley
// takes a JWT, so the bench's Socket.IO clients connect to both alike. What the protocol and
// its clients cost on this machine, for Parley's Socket.IO figures to read against.
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const seqs = new Map<string, number>();
const http = createServer((req, res) => {
  res.writeHead(req.url === '/health' ? 200 : 404).end();
});
const io = new Server(http);

io.on('connection', (socket) => {
  const room = String((socket.handshake.auth as { token?: unknown }).token ?? '');
  void socket.join(room);
  socket.on('message:send', (data: { clientMsgId: string; body: string }, ack?: (a: unknown) => void) => {
    const seq = (seqs.get(room) ?? 0) + 1;
    seqs.set(room, seq);
    const message = { ...data, conversationId: room, id: data.clientMsgId, seq };
    socket.to(room).emit('message:new', { conversationId: room, seq, message });
    ack?.({ ok: true, data: message });
  });
});

http.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
