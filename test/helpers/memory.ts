import { setImmediate as tick } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/**
 * Bytes this process holds after full collections: the JS heap plus memory outside it
 * (Buffers, ArrayBuffers). Unlike RSS, load and allocator slack do not move it, so a test
 * of "the server holds at most N bytes for a hostile client" can assert a tight bound.
 * Two collections a turn apart: the first lets finalizers free what the second reclaims.
 */
export async function heldBytes(): Promise<number> {
  gc();
  await tick();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

export const MB = 1024 * 1024;
