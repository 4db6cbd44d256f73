import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Connection, createHub } from '../src/realtime/hub.ts';

test('gateways register with the hub by name: a third one plugs in, each gets only its own connections, once per event', () => {
  const hub = createHub();
  const got: Record<string, string[][]> = { socketio: [], ws: [], carrier: [] };
  for (const name of Object.keys(got)) hub.register(name, (connections) => got[name]!.push(connections.map((c) => c.id)));
  const conns: Connection[] = [
    { id: 's1', userId: 'ana', gateway: 'socketio' },
    { id: 'w1', userId: 'ana', gateway: 'ws' },
    { id: 'c1', userId: 'ana', gateway: 'carrier' },
    { id: 'c2', userId: 'bob', gateway: 'carrier' },
    { id: 'c3', userId: 'eve', gateway: 'carrier' },
  ];
  for (const c of conns) hub.add(c);
  let observed = 0;
  hub.observe((n) => {
    observed += n;
  });
  hub.emitTo(['ana', 'bob'], 'notification:updated', { unreadCount: 0 }, (c) => c.id === 'w1');
  assert.deepEqual(got, { socketio: [['s1']], ws: [], carrier: [['c1', 'c2']] });
  assert.equal(observed, 3);
  assert.equal(hub.size, 5);
  assert.throws(() => hub.register('carrier', () => {}), /registered already/);
});

test('an unregistered gateway receives nothing more', () => {
  const hub = createHub();
  const got: string[] = [];
  const unregister = hub.register('carrier', (connections) => got.push(...connections.map((c) => c.id)));
  hub.add({ id: 'c1', userId: 'ana', gateway: 'carrier' });
  hub.emitTo(['ana'], 'notification:updated', { unreadCount: 0 });
  unregister();
  hub.emitTo(['ana'], 'notification:updated', { unreadCount: 0 });
  assert.deepEqual(got, ['c1']);
});
