import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { WebSocket } from 'ws';
import { CLOSE_CODES } from '../../protocol/events.ts';
import { atTickEnd, type TickKey } from './tick-end.ts';

/** A WebSocket connection whose frames the gateway writes itself, to the TCP socket under it. */
export interface FrameTarget extends TickKey {
  /** The TCP socket under the WebSocket, which takes pre-framed frames (see text-frame.ts). */
  readonly tcp: Duplex | null;
}

/**
 * The one way a frame leaves a `/v1/ws` or GraphQL connection: framed by the caller
 * (text-frame.ts) and handed to the TCP socket whole, corked until the tick ends
 * (tick-end.ts), so a connection's frames of one tick (a batch's acks and events, a
 * mutation's result and its complete) leave in one write. ws itself writes synchronously
 * too (no permessage-deflate, nothing queued in its sender), so its close and ping frames
 * cannot land inside one of these. Whatever is queued counts (ws's bufferedAmount: bytes not
 * yet taken by the kernel, corked ones included); a connection past `maxBufferedBytes`
 * (PARLEY_MAX_BUFFERED_BYTES) is closed 4008 (reconnect and sync) and, since a peer that does
 * not read will not read the close frame either, cut a second later. What one connection can
 * make the server hold is the bound plus one frame.
 */
export function frameWriter<K extends FrameTarget>(maxBufferedBytes: number, log: Logger, socketOf: (target: K) => WebSocket, userIdOf: (target: K) => string | undefined) {
  const uncorkAtTickEnd = atTickEnd<K>(
    (target) => target.tcp?.uncork(),
    (err) => log.error({ err }, 'uncork failed'),
  );
  return (target: K, frame: Buffer): void => {
    const socket = target.tcp;
    const ws = socketOf(target);
    if (ws.readyState !== WebSocket.OPEN || !socket) return;
    if (uncorkAtTickEnd(target)) socket.cork();
    socket.write(frame);
    if (ws.bufferedAmount <= maxBufferedBytes) return;
    log.warn({ userId: userIdOf(target), buffered: ws.bufferedAmount }, 'slow consumer: disconnected');
    ws.close(CLOSE_CODES.slowConsumer, 'slow_consumer');
    setTimeout(() => ws.terminate(), 1000).unref();
  };
}
