import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { exportPKCS8, generateKeyPair, jwtVerify } from 'jose';
import type { ServiceAccount } from '../../../src/delivery/channels/fcm.ts';
import { portOf, readBody, Script } from './script.ts';

export interface FcmReceived { message: any; authorization: string }

export interface FakeFcm {
  url: string;
  serviceAccount: ServiceAccount;
  received: FcmReceived[];
  /** Every assertion the token endpoint accepted, decoded. */
  tokenGrants: any[];
  script: Script;
  /** Forget every access token issued so far, as when Google revokes them: the next send gets 401. */
  revokeTokens(): void;
  close(): Promise<void>;
}

const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

/**
 * FCM HTTP v1 on one HTTP server: `/token` is the OAuth2 endpoint (JWT-bearer grant, the
 * RS256 assertion checked against the service account's public key), and
 * `/v1/projects/<id>/messages:send` requires a bearer token it issued.
 */
export async function fakeFcm(): Promise<FakeFcm> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const received: FcmReceived[] = [];
  const tokenGrants: any[] = [];
  const script = new Script();
  let issued = new Set<string>();
  let base = '';
  const projectId = 'parley-test';

  const server = http.createServer(async (req, res) => {
    const body = (await readBody(req)).toString('utf8');
    if (req.method === 'POST' && req.url === '/token') {
      const form = new URLSearchParams(body);
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return json(res, 400, { error: 'unsupported_grant_type' });
      try {
        const { payload } = await jwtVerify(form.get('assertion') ?? '', publicKey, {
          algorithms: ['RS256'],
          issuer: serviceAccount.client_email,
          audience: serviceAccount.token_uri,
          requiredClaims: ['iat', 'exp'],
        });
        if (payload.scope !== 'https://www.googleapis.com/auth/firebase.messaging') return json(res, 400, { error: 'invalid_scope' });
        tokenGrants.push(payload);
      } catch (err) {
        return json(res, 400, { error: 'invalid_grant', error_description: (err as Error).message });
      }
      const token = `ya29.${randomBytes(16).toString('hex')}`;
      issued.add(token);
      return json(res, 200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
    }
    if (req.method === 'POST' && req.url === `/v1/projects/${projectId}/messages:send`) {
      const authorization = req.headers.authorization ?? '';
      if (!issued.has(authorization.replace(/^Bearer /, ''))) {
        return json(res, 401, { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } });
      }
      let message: any = null;
      try {
        message = JSON.parse(body).message;
      } catch {}
      received.push({ message, authorization });
      const reply = script.take();
      if (reply) return json(res, reply.status, reply.body ?? {}, reply.headers);
      if (typeof message?.token !== 'string') return json(res, 400, { error: { code: 400, status: 'INVALID_ARGUMENT', message: 'no token' } });
      return json(res, 200, { name: `projects/${projectId}/messages/${randomBytes(8).toString('hex')}` });
    }
    json(res, 404, { error: { code: 404, status: 'NOT_FOUND', message: 'no such route' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${portOf(server)}`;
  const serviceAccount: ServiceAccount = {
    client_email: `parley@${projectId}.iam.gserviceaccount.com`,
    private_key: await exportPKCS8(privateKey),
    project_id: projectId,
    token_uri: `${base}/token`,
  };
  return {
    url: base,
    serviceAccount,
    received,
    tokenGrants,
    script,
    revokeTokens() {
      issued = new Set();
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** The error body FCM v1 sends, with its FcmError errorCode. */
export const fcmError = (code: number, status: string, errorCode?: string) => ({
  error: {
    code,
    status,
    message: errorCode ?? status,
    details: errorCode ? [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }] : [],
  },
});
