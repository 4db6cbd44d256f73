import assert from 'node:assert/strict';
import { embeddedServer } from './embedded-server.ts';
import { tokenFor, uid } from './harness.ts';
import { sdkClients } from './sdk.ts';
import { http } from './server-process.ts';
import { tcpProxy } from './tcp-proxy.ts';

/**
 * A real Parley process (embedded mode) for SDK tests, reached through a TCP proxy so the
 * server can be killed and restarted behind one URL and the network cut at will; SDK
 * clients point at `proxy.url`, test-side REST calls go straight to the server.
 */
export async function sdkRig(env: Record<string, string> = {}) {
  const server = await embeddedServer(env);
  const proxy = await tcpProxy(server.port);
  const clients = sdkClients();
  return {
    server,
    proxy,
    clients,
    /** A group of `owner` with `members`, made over REST; its id. */
    async group(owner: string, members: string[]): Promise<string> {
      const res = await http(`${server.url}/v1/conversations`, 'POST', await tokenFor(owner), { kind: 'group', members, title: 'sdk' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.conversation.id;
    },
    /** A message from `userId` over REST. */
    async post(userId: string, conversationId: string, body: string) {
      const res = await http(`${server.url}/v1/conversations/${conversationId}/messages`, 'POST', await tokenFor(userId), { clientMsgId: uid('k'), body });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.message;
    },
    /** SIGKILL, then a new process on the same data directory, behind the same proxy. */
    async restart() {
      proxy.setTarget(await server.restart());
    },
    async close() {
      await clients.closeAll();
      await proxy.close();
      await server.close();
    },
  };
}

export type SdkRig = Awaited<ReturnType<typeof sdkRig>>;
