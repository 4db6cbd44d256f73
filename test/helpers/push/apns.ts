import { randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import { decodeProtectedHeader, exportPKCS8, generateKeyPair, jwtVerify } from 'jose';
import { portOf, readBody, Script } from './script.ts';
import { selfSignedCert } from './tls.ts';

export interface ApnsReceived {
  token: string;
  headers: http2.IncomingHttpHeaders;
  payload: any;
  /** The provider token as sent, and what was wrong with the request, if anything. */
  jwt: string;
  problem?: string;
}

export interface FakeApns {
  url: string;
  ca: string;
  keyId: string;
  teamId: string;
  bundleId: string;
  privateKeyPem: string;
  received: ApnsReceived[];
  script: Script;
  /** Ends every open HTTP/2 session, as APNs does when it drops an idle connection. */
  dropSessions(): void;
  close(): Promise<void>;
}

/**
 * An HTTP/2 TLS server speaking the APNs provider API: it checks the ES256 provider token
 * against the .p8 key's public half (kid, iss), the topic, the push type and the path, and
 * answers 200 with an apns-id, or what the script says.
 */
export async function fakeApns(): Promise<FakeApns> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const privateKeyPem = await exportPKCS8(privateKey);
  const keyId = 'ABC123DEFG';
  const teamId = 'TEAM123456';
  const bundleId = 'com.example.parley';
  const { key, cert } = selfSignedCert();
  const received: ApnsReceived[] = [];
  const script = new Script();
  const sessions = new Set<http2.ServerHttp2Session>();

  async function check(path: string, headers: http2.IncomingHttpHeaders, jwt: string): Promise<string | undefined> {
    if (headers[':method'] !== 'POST') return 'MethodNotAllowed';
    if (!/^\/3\/device\/[0-9a-fA-F]+$/.test(path)) return 'BadPath';
    try {
      if (decodeProtectedHeader(jwt).kid !== keyId) return 'InvalidProviderToken';
      const { payload } = await jwtVerify(jwt, publicKey, { algorithms: ['ES256'], issuer: teamId });
      if (typeof payload.iat !== 'number' || Math.abs(Date.now() / 1000 - payload.iat) > 3600) return 'ExpiredProviderToken';
    } catch {
      return 'InvalidProviderToken';
    }
    if (headers['apns-topic'] !== bundleId) return 'BadTopic';
    if (headers['apns-push-type'] !== 'alert') return 'InvalidPushType';
    if (!['5', '10'].includes(String(headers['apns-priority']))) return 'BadPriority';
    return undefined;
  }

  const server = http2.createSecureServer({ key, cert }, async (req, res) => {
    const body = await readBody(req);
    const path = req.headers[':path'] ?? '';
    const auth = String(req.headers.authorization ?? '');
    const jwt = auth.startsWith('bearer ') ? auth.slice(7) : '';
    const problem = await check(path, req.headers, jwt);
    let payload: any = null;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {}
    const entry: ApnsReceived = { token: path.replace('/3/device/', ''), headers: req.headers, payload, jwt };
    if (problem) entry.problem = problem;
    received.push(entry);
    const reply = script.take();
    if (reply) {
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    } else if (problem) {
      res.writeHead(problem === 'InvalidProviderToken' || problem === 'ExpiredProviderToken' ? 403 : 400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ reason: problem }));
    } else {
      res.writeHead(200, { 'apns-id': randomUUID() });
      res.end();
    }
  });
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${portOf(server)}`,
    ca: cert,
    keyId,
    teamId,
    bundleId,
    privateKeyPem,
    received,
    script,
    dropSessions() {
      for (const s of sessions) s.destroy();
    },
    close() {
      for (const s of sessions) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
