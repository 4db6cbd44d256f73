import { createDecipheriv, createECDH, hkdfSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import { importJWK, jwtVerify } from 'jose';
import { portOf, readBody, Script } from './script.ts';

/** What a browser holds for one subscription: the keys it gave the server, and the private half. */
export interface BrowserSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
  ecdh: ReturnType<typeof createECDH>;
  authSecret: Buffer;
}

export interface WebPushReceived {
  id: string;
  headers: http.IncomingHttpHeaders;
  /** The decrypted payload, parsed; null when it could not be decrypted. */
  payload: any;
  vapid?: { sub: unknown; aud: unknown; exp: unknown; publicKey: string };
  problem?: string;
}

export interface FakePushService {
  url: string;
  received: WebPushReceived[];
  script: Script;
  /** A new subscription on this service, as PushManager.subscribe() would make. */
  subscribe(): BrowserSubscription;
  close(): Promise<void>;
}

const hkdf = (ikm: Buffer, salt: Buffer, info: Buffer, length: number) => Buffer.from(hkdfSync('sha256', ikm, salt, info, length));

/** RFC 8291 + RFC 8188 (aes128gcm) decryption, as the browser does it. */
export function decryptAes128gcm(body: Buffer, ecdh: ReturnType<typeof createECDH>, authSecret: Buffer): Buffer {
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20]!;
  const asPublic = body.subarray(21, 21 + idlen);
  const uaPublic = ecdh.getPublicKey();
  const ecdhSecret = ecdh.computeSecret(asPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = hkdf(ecdhSecret, authSecret, keyInfo, 32);
  const cek = hkdf(ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16);
  const nonce = hkdf(ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12);
  const records = body.subarray(21 + idlen);
  const out: Buffer[] = [];
  for (let seq = 0, at = 0; at < records.length; seq++, at += rs) {
    const record = records.subarray(at, Math.min(at + rs, records.length));
    const iv = Buffer.from(nonce);
    iv.writeUInt32BE((iv.readUInt32BE(8) ^ seq) >>> 0, 8);
    const decipher = createDecipheriv('aes-128-gcm', cek, iv);
    decipher.setAuthTag(record.subarray(record.length - 16));
    const plain = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
    // Strip the padding: zeros, then the delimiter (2 on the last record, 1 before).
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end--;
    if (plain[end] !== 1 && plain[end] !== 2) throw new Error('bad padding delimiter');
    out.push(plain.subarray(0, end));
  }
  return Buffer.concat(out);
}

/**
 * A push service on plain HTTP (so the channel needs allowInsecure): it checks the VAPID
 * `Authorization: vapid t=<jwt>, k=<key>` header (the JWT verified with k, its aud this
 * origin), the TTL and Content-Encoding headers, and decrypts the body with the
 * subscription's private key and auth secret. 201 on success, or what the script says.
 */
export async function fakePushService(expectedVapidKey?: string): Promise<FakePushService> {
  const subs = new Map<string, BrowserSubscription>();
  const received: WebPushReceived[] = [];
  const script = new Script();
  let origin = '';

  async function vapid(header: string): Promise<WebPushReceived['vapid']> {
    const m = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header);
    if (!m) throw new Error('no vapid authorization');
    const raw = Buffer.from(m[2]!, 'base64url');
    if (raw.length !== 65 || raw[0] !== 4) throw new Error('k is not an uncompressed P-256 point');
    if (expectedVapidKey && m[2] !== expectedVapidKey) throw new Error('unexpected VAPID key');
    const key = await importJWK({ kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') }, 'ES256');
    const { payload } = await jwtVerify(m[1]!, key, { algorithms: ['ES256'], audience: origin, requiredClaims: ['exp', 'sub'] });
    if ((payload.exp as number) > Date.now() / 1000 + 24 * 3600 + 60) throw new Error('exp more than 24 hours ahead');
    return { sub: payload.sub, aud: payload.aud, exp: payload.exp, publicKey: m[2]! };
  }

  const server = http.createServer(async (req, res) => {
    const body = await readBody(req);
    const id = (req.url ?? '').replace('/push/', '');
    const entry: WebPushReceived = { id, headers: req.headers, payload: null };
    const problems: string[] = [];
    try {
      entry.vapid = await vapid(String(req.headers.authorization ?? ''));
    } catch (err) {
      problems.push(`vapid: ${(err as Error).message}`);
    }
    if (!/^\d+$/.test(String(req.headers.ttl ?? ''))) problems.push('no TTL');
    if (req.headers['content-encoding'] !== 'aes128gcm') problems.push('not aes128gcm');
    const sub = subs.get(id);
    if (sub) {
      try {
        entry.payload = JSON.parse(decryptAes128gcm(body, sub.ecdh, sub.authSecret).toString('utf8'));
      } catch (err) {
        problems.push(`decrypt: ${(err as Error).message}`);
      }
    }
    if (problems.length) entry.problem = problems.join('; ');
    received.push(entry);
    const reply = script.take();
    if (reply) {
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    } else if (!sub) {
      res.writeHead(410).end();
    } else if (entry.problem) {
      res.writeHead(entry.problem.startsWith('vapid') ? 403 : 400).end(entry.problem);
    } else {
      res.writeHead(201, { location: `${origin}/message/${randomBytes(8).toString('hex')}` }).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${portOf(server)}`;
  return {
    url: origin,
    received,
    script,
    subscribe() {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const authSecret = randomBytes(16);
      const id = randomBytes(8).toString('hex');
      const sub: BrowserSubscription = {
        endpoint: `${origin}/push/${id}`,
        keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: authSecret.toString('base64url') },
        ecdh,
        authSecret,
      };
      subs.set(id, sub);
      return sub;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
