/**
 * A random UUID (v4) for `clientMsgId`. crypto.randomUUID exists only in secure contexts
 * (https, localhost), so a page served over plain http on a LAN address builds one from
 * getRandomValues, which every browser and Node 20 have.
 */
export function uuid(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string; getRandomValues(a: Uint8Array): Uint8Array } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  const b = c ? c.getRandomValues(new Uint8Array(16)) : Uint8Array.from({ length: 16 }, () => Math.floor(Math.random() * 256));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
