// FCM for BENCH_OFFLINE_DEVICES=1: the tests' local server speaking FCM HTTP v1 (OAuth2 token
// endpoint and messages:send), and the server environment pointing Parley's FCM channel at
// it, so the offline members' pushes are sent and their push position moves, as in production.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fakeFcm } from '../test/helpers/push/fcm.ts';

export async function benchFcm() {
  const fcm = await fakeFcm();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-fcm-'));
  const file = path.join(dir, 'service-account.json');
  fs.writeFileSync(file, JSON.stringify(fcm.serviceAccount));
  return {
    env: { PARLEY_FCM_SERVICE_ACCOUNT_FILE: file, PARLEY_FCM_ENDPOINT: fcm.url },
    token: (user: string) => `bench-${user}`,
    /** Pushes received so far whose message has `text` in it (read once each, as they come). */
    counter(text: string) {
      let read = 0;
      let matched = 0;
      return () => {
        for (; read < fcm.received.length; read++) if (JSON.stringify(fcm.received[read]!.message).includes(text)) matched++;
        return matched;
      };
    },
    /** FCM HTTP v1 takes one message a request. */
    requests: () => fcm.received.length,
    async close() {
      await fcm.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
