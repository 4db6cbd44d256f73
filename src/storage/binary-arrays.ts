/**
 * One-dimensional arrays of uuid, text and timestamptz in PostgreSQL's binary format (what
 * array_recv reads), for the array parameters of named statements, on both engines. Sent as
 * text, each array was parsed by array_in, and each element by its type's input function: a
 * timestamp's by the date parser, a uuid's from hex. That was 3.4% of the send backend's CPU
 * under load (`perf`, `postgres:ws` at 2,222 msg/s); in binary the server copies the bytes.
 *
 * An array this cannot write exactly (an element not a string, a uuid not in its canonical
 * form, a timestamp not as Date.toISOString() writes one or too far from 2000 to count its
 * microseconds in a double) answers null: the caller sends that one as text, so the server
 * reads it, or refuses it, as before.
 */

const UUID = 2950;
const TEXT = 25;
const TIMESTAMPTZ = 1184;
/** Array type -> its element type, for the array types written in binary. */
const ELEMENT_OF: Record<number, number> = { 2951: UUID, 1009: TEXT, 1185: TIMESTAMPTZ };

/** PostgreSQL's epoch (2000-01-01 UTC) in days since JavaScript's. */
const PG_EPOCH_DAYS = 10_957;
const TWO_32 = 2 ** 32;
/** A UTF-16 unit past ASCII (surrogates included). */
const NOT_ASCII = /[\u0080-\uffff]/;

/** A hex digit's value by its char code (-1: not one). */
const HEX = new Int8Array(128).fill(-1);
for (let d = 0; d < 16; d++) HEX['0123456789abcdef'.charCodeAt(d)] = HEX['0123456789ABCDEF'.charCodeAt(d)] = d;
/** Where a canonical uuid's hex digits start, in pairs: 8-4-4-4-12 with hyphens between. */
const UUID_PAIRS = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/** Writes a canonical uuid's 16 bytes at `at`; false when `v` is not one (written or not). */
function writeUuid(v: string, out: Buffer | null, at: number): boolean {
  if (v.length !== 36 || v.charCodeAt(8) !== 45 || v.charCodeAt(13) !== 45 || v.charCodeAt(18) !== 45 || v.charCodeAt(23) !== 45) return false;
  for (let k = 0; k < 16; k++) {
    const i = UUID_PAIRS[k]!;
    const high = HEX[v.charCodeAt(i)] ?? -1;
    const low = HEX[v.charCodeAt(i + 1)] ?? -1;
    if (high < 0 || low < 0) return false;
    if (out) out[at + k] = (high << 4) | low;
  }
  return true;
}

/** Days since 1970-01-01 of a date in the proleptic Gregorian calendar (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  return era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468;
}
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const digits = (v: string, from: number, n: number): number => {
  let x = 0;
  for (let i = from; i < from + n; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    x = x * 10 + c;
  }
  return x;
};

/**
 * Microseconds since PostgreSQL's epoch of a timestamp written as Date.toISOString() writes
 * one (`2026-12-04T05:00:00.000Z`), or null for any other text, an impossible date (which
 * the text path hands to the server to refuse) or one too far from 2000 to count exactly.
 */
function isoMicros(v: string): number | null {
  if (v.length !== 24 || v[4] !== '-' || v[7] !== '-' || v[10] !== 'T' || v[13] !== ':' || v[16] !== ':' || v[19] !== '.' || v[23] !== 'Z') return null;
  const y = digits(v, 0, 4);
  const mo = digits(v, 5, 2);
  const d = digits(v, 8, 2);
  const h = digits(v, 11, 2);
  const mi = digits(v, 14, 2);
  const s = digits(v, 17, 2);
  const ms = digits(v, 20, 3);
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 || ms < 0) return null;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > DAYS_IN_MONTH[mo - 1]! + (mo === 2 && leap ? 1 : 0)) return null;
  const us = (((daysFromCivil(y, mo, d) - PG_EPOCH_DAYS) * 86_400 + h * 3600 + mi * 60 + s) * 1000 + ms) * 1000;
  // Exact in a double below 2^53: within about 285 years of 2000.
  return Math.abs(us) <= Number.MAX_SAFE_INTEGER ? us : null;
}

/** The byte length of each element as written (-1 for NULL), or null when one cannot be written. */
function elementSizes(element: number, values: readonly unknown[]): number[] | null {
  const sizes = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      sizes[i] = -1;
      continue;
    }
    if (typeof v !== 'string') return null;
    if (element === TEXT) sizes[i] = NOT_ASCII.test(v) ? Buffer.byteLength(v) : v.length;
    else if (element === UUID) {
      if (!writeUuid(v, null, 0)) return null;
      sizes[i] = 16;
    } else {
      if (isoMicros(v) === null) return null;
      sizes[i] = 8;
    }
  }
  return sizes;
}

/**
 * The array in binary, or null when `arrayType` is not one of these or an element cannot be
 * written exactly. Layout: dimensions (1, or 0 when empty), has-nulls flag, element type,
 * then the dimension's length and lower bound (1), then each element as its length (-1:
 * NULL) and its bytes.
 */
export function binaryArray(arrayType: number | undefined, values: readonly unknown[]): Buffer | null {
  const element = arrayType === undefined ? undefined : ELEMENT_OF[arrayType];
  if (element === undefined) return null;
  const sizes = elementSizes(element, values);
  if (!sizes) return null;
  // An empty array has no dimensions, as array_send writes it.
  const header = values.length ? 20 : 12;
  let total = header;
  let nulls = 0;
  for (const s of sizes) {
    total += 4 + Math.max(s, 0);
    if (s < 0) nulls = 1;
  }
  const out = Buffer.allocUnsafe(total);
  out.writeInt32BE(values.length ? 1 : 0, 0);
  out.writeInt32BE(nulls, 4);
  out.writeUInt32BE(element, 8);
  if (values.length) {
    out.writeInt32BE(values.length, 12);
    out.writeInt32BE(1, 16);
  }
  let at = header;
  for (let i = 0; i < values.length; i++) {
    const size = sizes[i]!;
    out.writeInt32BE(size, at);
    at += 4;
    if (size < 0) continue;
    const v = values[i] as string;
    if (element === TEXT) {
      // Short ASCII byte by byte (its length is its size: a call into Buffer costs more);
      // anything else by Buffer.
      if (size === v.length && size <= 16) for (let k = 0; k < size; k++) out[at + k] = v.charCodeAt(k);
      else out.write(v, at, size, size === v.length ? 'latin1' : 'utf8');
    } else if (element === UUID) writeUuid(v, out, at);
    else {
      // A signed 64-bit integer, as two halves.
      const us = isoMicros(v)!;
      const high = Math.floor(us / TWO_32);
      out.writeInt32BE(high, at);
      out.writeUInt32BE(us - high * TWO_32, at + 4);
    }
    at += size;
  }
  return out;
}
