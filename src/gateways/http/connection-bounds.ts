import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** Requests one connection may have parsed and not yet answered (browsers never pipeline). */
const MAX_PIPELINED = 16;

interface ConnectionState {
  /** Requests parsed on this connection whose responses have not finished. */
  open: number;
  /** Settles when the last admitted request's response is done: the next one waits for it. */
  turn: Promise<void>;
}

/**
 * What one HTTP connection can make the server hold is bounded, whatever the client does.
 * Node parses every pipelined request of a chunk before any response is written, so a
 * client that sends many requests and never reads would have them all answered at once,
 * every response queued in memory. Here a connection's requests run one after another:
 * the next starts once the previous response is finished and the socket has drained, so
 * at most one response waits unsent. A connection with more than MAX_PIPELINED requests
 * waiting is closed; one that never reads is closed by the idle timeout.
 */
export function boundHttpConnections(app: FastifyInstance): void {
  const states = new WeakMap<Socket, ConnectionState>();
  app.addHook('onRequest', (req, reply, done) => {
    const socket = req.raw.socket;
    let state = states.get(socket);
    if (!state) {
      state = { open: 0, turn: Promise.resolve() };
      states.set(socket, state);
    }
    if (state.open >= MAX_PIPELINED) {
      if (!socket.destroyed) req.log.warn({ waiting: state.open }, 'pipelining client that does not read: connection closed');
      socket.destroy();
      return;
    }
    const s = state;
    s.open++;
    const previous = s.turn;
    s.turn = new Promise<void>((resolve) =>
      reply.raw.once('close', () => {
        s.open--;
        resolve();
      }),
    );
    // The first request of a connection (nearly all of them) goes straight through.
    if (s.open === 1 && !socket.writableNeedDrain) return done();
    void previous.then(async () => {
      while (socket.writableNeedDrain && !socket.destroyed) await new Promise((resolve) => socket.once('drain', resolve).once('close', resolve));
      if (!socket.destroyed) done();
    });
  });
}
