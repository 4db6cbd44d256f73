// The ceiling the benchmark compares Parley with: a bare Socket.IO server that relays a
// message to a room and acks, with no auth, no validation and no persistence.
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const http = createServer();
const io = new Server(http, { maxHttpBufferSize: 64 * 1024 });
io.on('connection', (socket) => {
  const room = String(socket.handshake.auth.room);
  void socket.join(room);
  socket.on('message:send', (data: { body: string }, ack?: (a: unknown) => void) => {
    const message = { ...data, seq: 0 };
    socket.to(room).emit('message:new', { conversationId: room, message });
    ack?.({ ok: true, data: message });
  });
});
http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  console.log(`ceiling listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
});
