import type { Duplex } from 'node:stream';

/**
 * Corks a socket until the current tick's work is done, then uncorks every socket corked
 * in it. A batch of sends commits together, and its acks and events reach a member in one
 * tick: corked, they leave in one writev per socket instead of a write syscall each (under
 * load a batch holds many sends of one conversation, so a member gets several). Nothing
 * waits for a timer: the flush is the tick's own end, before any I/O is polled.
 */
export function tickCorker() {
  const corked = new Set<Duplex>();
  const uncorkAll = () => {
    for (const socket of corked) socket.uncork();
    corked.clear();
  };
  return (socket: Duplex) => {
    if (corked.has(socket)) return;
    if (corked.size === 0) process.nextTick(uncorkAll);
    corked.add(socket);
    socket.cork();
  };
}
