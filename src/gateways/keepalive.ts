import type { Server, WebSocket } from 'ws';

/**
 * Pings a WebSocket server's clients every `intervalMs`; a client that has not answered
 * the previous ping is gone (or stuck behind a full buffer) and is terminated, which
 * closes its session. `track` each new socket; `onPong` is told of each answer (presence).
 * One pong listener serves every socket: an idle connection holds no function of its own.
 */
export function keepAlive<S extends typeof WebSocket>(wss: Server<S>, intervalMs: number, onPong: (ws: InstanceType<S>) => void) {
  type T = InstanceType<S>;
  const answered = new WeakSet<T>();
  const timer = setInterval(() => {
    for (const ws of wss.clients) {
      if (!answered.has(ws)) {
        ws.terminate();
        continue;
      }
      answered.delete(ws);
      ws.ping();
    }
  }, intervalMs);
  timer.unref();
  function pong(this: WebSocket) {
    const ws = this as T; // the server's own sockets: `track` is given nothing else
    answered.add(ws);
    onPong(ws);
  }
  return {
    track(ws: T): void {
      answered.add(ws);
      ws.on('pong', pong);
    },
    stop: () => clearInterval(timer),
  };
}
