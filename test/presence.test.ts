import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { pgliteBackend } from './helpers/backends.ts';
import { type Harness, harness, tokenFor, uid, waitFor } from './helpers/harness.ts';
import { listen, type RtClient, socketClient, wsClient } from './helpers/realtime.ts';

describe('presence', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    // Pings every 200 ms keep live connections fresh; the sweeper (every 2 s, a quarter of the
    // bound) drops silent ones and clears expired custom statuses. A bound of 1 s is one a
    // loaded machine can stretch: a main thread held up that long (CI runs files in parallel)
    // runs the sweeper's timer before it reads the pongs waiting in its sockets, and drops a
    // live user (the likely cause of a CI failure here: a status update never came).
    h = await harness(pgliteBackend, { PARLEY_PRESENCE_STALE_MS: '8000', PARLEY_PING_INTERVAL_MS: '200' });
    url = await listen(h);
  });
  after(() => h.close());

  test('online while any device is; offline with last seen when the last one goes; only to people sharing a conversation', async () => {
    const ana = h.as(uid('ana'));
    const bob = h.as(uid('bob'));
    const stranger = await wsClient(url, uid('stranger'));
    await h.group(ana, [bob.userId]);
    const bobRt = await socketClient(url, bob.userId);
    const phone = await wsClient(url, ana.userId);
    assert.equal((await bobRt.next('presence:update', (p) => p.userId === ana.userId)).status, 'online');
    const laptop = await socketClient(url, ana.userId);
    await phone.close();
    // Still online through the laptop: no offline update, and REST agrees.
    let [p] = (await bob.get(`/v1/presence?userIds=${ana.userId}`)).body.presence;
    assert.equal(p.status, 'online');
    await laptop.close();
    const offline = await bobRt.next('presence:update', (x) => x.userId === ana.userId && x.status === 'offline');
    assert.ok(offline.lastSeenAt);
    [p] = (await bob.get(`/v1/presence?userIds=${ana.userId}`)).body.presence;
    assert.equal(p.status, 'offline');
    // Someone sharing no conversation sees neither the updates nor the REST answer.
    assert.equal(stranger.events.some((e) => e.event === 'presence:update' && e.data.userId === ana.userId), false);
    const strangerClient = h.as(stranger.userId);
    assert.deepEqual((await strangerClient.get(`/v1/presence?userIds=${ana.userId}`)).body.presence, []);
    await Promise.all([bobRt.close(), stranger.close()]);
  });

  test('a chosen status and a custom status that clears itself', async () => {
    const ana = h.as(uid('ana'));
    const bob = h.as(uid('bob'));
    await h.group(ana, [bob.userId]);
    const anaRt = await wsClient(url, ana.userId);
    const bobRt = await wsClient(url, bob.userId);
    try {
      // Far enough ahead that a busy machine still sets it before it passes.
      const expiresAt = new Date(Date.now() + 5000).toISOString();
      const ack = await anaRt.send('presence:set', { status: 'dnd', customStatus: { text: 'In a meeting', emoji: '📅', expiresAt } });
      assert.equal(ack.data.status, 'dnd');
      const seen = await bobRt.next('presence:update', (p) => p.userId === ana.userId && p.customStatus?.text === 'In a meeting');
      assert.equal(seen.status, 'dnd');
      // The sweeper clears it after expiresAt and tells the audience.
      await bobRt.next('presence:update', (p) => p.userId === ana.userId && p.customStatus === null && p.status === 'dnd');
      const rest = await ana.put('/v1/me/status', { status: 'away' });
      assert.equal(rest.body.presence.status, 'away');
      const got = await bobRt.send('presence:get', { userIds: [ana.userId, bob.userId] });
      assert.deepEqual(got.data.presence.map((x: { status: string }) => x.status).sort(), ['away', 'online']);
      assert.equal((await anaRt.send('presence:set', { customStatus: { text: 'x', expiresAt: '2001-01-01T00:00:00Z' } })).error?.code, 'validation_failed');
      assert.equal((await anaRt.send('presence:set', { status: 'offline' })).error?.code, 'validation_failed');
    } finally {
      await Promise.all([anaRt.close(), bobRt.close()]);
    }
  });
});

describe('presence kept by heartbeats', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    // The sweeper runs every 500 ms (a quarter of the bound) and drops a connection silent for
    // 2 s; pings every 200 ms answered by each client (ws's pong, engine.io's) are what keep
    // a connection fresh.
    h = await harness(pgliteBackend, { PARLEY_PRESENCE_STALE_MS: '2000', PARLEY_PING_INTERVAL_MS: '200' });
    url = await listen(h);
  });
  after(() => h.close());

  /**
   * Registers a connection for `ghost` that never heartbeats, once the connections under test
   * are open, and waits for the sweeper to drop it: a sweep that passed the ghost's time passed
   * theirs too, so a connection whose heartbeats stopped reaching presence would have been
   * dropped by then. The sweeper publishes the users it drops in the order presence first saw
   * them, so their offline updates reach the watcher before the ghost's.
   */
  async function sweptPast(watcherRt: RtClient, ghost: string) {
    await h.app.services.presence.connected({ userId: ghost }, `ghost-${ghost}`);
    await watcherRt.next('presence:update', (p) => p.userId === ghost && p.status === 'offline');
    return watcherRt.events.filter((e) => e.event === 'presence:update' && e.data.status === 'offline').map((e) => e.data.userId);
  }

  test('an idle connection stays online past the stale bound on either gateway, and goes offline when it closes', async () => {
    const watcher = h.as(uid('watcher'));
    const [ana, cy, ghost] = [uid('ana'), uid('cy'), uid('ghost')];
    await h.group(watcher, [ana, cy, ghost]);
    const watcherRt = await wsClient(url, watcher.userId);
    const anaRt = await socketClient(url, ana);
    const cyRt = await wsClient(url, cy);
    try {
      assert.deepEqual(await sweptPast(watcherRt, ghost), [ghost], 'a heartbeating connection was swept as silent');
      const { body } = await watcher.get(`/v1/presence?userIds=${ana},${cy}`);
      assert.deepEqual(body.presence.map((p: { status: string }) => p.status), ['online', 'online']);
      await anaRt.close();
      await watcherRt.next('presence:update', (p) => p.userId === ana && p.status === 'offline');
    } finally {
      await Promise.all([watcherRt.close(), anaRt.close(), cyRt.close()]);
    }
  });

  test('a client that opens the main namespace twice on one Socket.IO connection keeps the first online by heartbeats after the second leaves', async () => {
    const watcher = h.as(uid('watcher'));
    const [dup, ghost] = [uid('dup'), uid('ghost')];
    await h.group(watcher, [dup, ghost]);
    const watcherRt = await wsClient(url, watcher.userId);
    // Socket.IO's protocol by hand: engine.io's open, then CONNECT twice at once (both are
    // taken while the first is still being authenticated), pings answered; then the socket
    // Socket.IO holds for "/" (the later one) leaves, and the other stays.
    const raw = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    const packets: string[] = [];
    raw.on('message', (m) => {
      const p = String(m);
      if (p === '2') raw.send('3');
      else packets.push(p);
    });
    try {
      await new Promise((resolve, reject) => raw.once('open', resolve).once('error', reject));
      const connect = JSON.stringify({ token: await tokenFor(dup) });
      raw.send(`40${connect}`);
      raw.send(`40${connect}`);
      await waitFor(() => packets.filter((p) => p.startsWith('40{"sid"')).length === 2, 10_000, 'both CONNECTs answered');
      raw.send('41');
      assert.deepEqual(await sweptPast(watcherRt, ghost), [ghost], "the first socket's session lost its heartbeats");
      raw.terminate();
      await watcherRt.next('presence:update', (p) => p.userId === dup && p.status === 'offline');
    } finally {
      raw.terminate();
      await watcherRt.close();
    }
  });
});

describe('presence in large groups', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await harness(pgliteBackend, { PARLEY_PRESENCE_GROUP_LIMIT: '3' });
    url = await listen(h);
  });
  after(() => h.close());

  test('changes are pushed to small conversations only; members of larger groups ask', async () => {
    const ana = h.as(uid('ana'));
    const [bob, cy, dee, eve] = [uid('bob'), uid('cy'), uid('dee'), uid('eve')];
    await h.group(ana, [bob, cy, dee]); // 4 members: over the limit
    await h.group(ana, [eve]); // 2 members
    const deeRt = await wsClient(url, dee);
    const eveRt = await socketClient(url, eve);
    const anaRt = await wsClient(url, ana.userId);
    try {
      assert.equal((await eveRt.next('presence:update', (p) => p.userId === ana.userId)).status, 'online');
      // An ack comes after anything written to the same connection before it.
      const asked = await deeRt.send('presence:get', { userIds: [ana.userId] });
      assert.deepEqual(asked.data.presence.map((p: { status: string }) => p.status), ['online']);
      assert.equal(deeRt.events.some((e) => e.event === 'presence:update' && e.data.userId === ana.userId), false);
    } finally {
      await Promise.all([deeRt.close(), eveRt.close(), anaRt.close()]);
    }
  });
});
