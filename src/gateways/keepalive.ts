import type { WebSocket, WebSocketServer } from 'ws';

/**
 * Pings a WebSocket server's clients every `intervalMs`; a client that has not answered
 * the previous ping is gone (or stuck behind a full buffer) and is terminated, which
 * closes its session. `track` each new socket, with what a pong also means (presence).
 */
export function keepAlive(wss: WebSocketServer, intervalMs: number) {
  const answered = new WeakSet<WebSocket>();
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
  return {
    track(ws: WebSocket, onPong: () => void): void {
      answered.add(ws);
      ws.on('pong', () => {
        answered.add(ws);
        onPong();
      });
    },
    stop: () => clearInterval(timer),
  };
}
