import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { prettyLine } from '../src/log.ts';
import { skippedPostgres, throwawayDatabase } from './helpers/backends.ts';
import { SECRET, tokenFor, uid, waitFor } from './helpers/harness.ts';
import { type ServerProcess, startServer } from './helpers/server-process.ts';

const jsonLines = (out: string) =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/**
 * Issue 8 §6, as a new user sees `npm start`: each start-up phase reported as it ends, then
 * where to point a client; one log line per HTTP request; realtime connections logged;
 * JSON lines for collectors, readable lines for a person.
 */
describe('start-up and logs', { skip: skippedPostgres ?? false }, () => {
  let db: { url: string; drop(): Promise<void> };
  let server: ServerProcess | null = null;
  before(async () => {
    db = await throwawayDatabase('parley_startup');
  });
  after(async () => {
    await server?.kill();
    await db.drop();
  });

  test('JSON logs: phases, the URLs, one line per request, realtime connects and disconnects', async () => {
    server = await startServer({ DATABASE_URL: db.url, PARLEY_JWT_SECRET: SECRET, LOG_LEVEL: 'info' });
    const { url } = server;
    for (const [name, where] of [
      ['Web app', `${url}/`],
      ['REST API', `${url}/v1`],
      ['API docs', `${url}/docs`],
      ['Socket.IO', url],
      ['WebSocket', `${url.replace('http', 'ws')}/v1/ws`],
    ] as const) assert.match(server.output(), new RegExp(`^  ${name} +${where.replace(/[.]/g, '\\.')}`, 'm'));
    const phases = jsonLines(server.output()).filter((l) => l.phase);
    assert.deepEqual(phases.map((l) => l.phase), ['storage', 'migrations', 'job queue']);
    assert.match(String(phases[1]!.msg), /applied 001_init\.sql/);
    assert.ok(phases.every((p) => typeof p.ms === 'number'));

    assert.equal((await fetch(`${url}/health?probe=1`)).status, 200);
    const userId = uid('logged');
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws?token=${await tokenFor(userId)}`);
    await new Promise((resolve) => ws.once('message', resolve));
    ws.close();
    await waitFor(() => jsonLines(server!.output()).some((l) => l.msg === 'realtime disconnected' && l.userId === userId), 30_000, 'the disconnect to be logged');
    const lines = jsonLines(server.output());
    const health = lines.filter((l) => String(l.url ?? (l.req as { url?: string } | undefined)?.url ?? '').includes('probe=1'));
    assert.equal(health.length, 1, `one line for one request, got ${JSON.stringify(health)}`);
    assert.deepEqual({ msg: health[0]!.msg, method: health[0]!.method, status: health[0]!.status }, { msg: 'request', method: 'GET', status: 200 });
    assert.equal(typeof health[0]!.ms, 'number');
    const connected = lines.find((l) => l.msg === 'realtime connected' && l.userId === userId);
    assert.equal(connected?.gateway, 'ws');
    await server.kill();
  });

  test('readable logs (PARLEY_LOG_FORMAT=pretty, the default on a terminal); a restart has nothing to migrate', async () => {
    server = await startServer({ DATABASE_URL: db.url, PARLEY_JWT_SECRET: SECRET, LOG_LEVEL: 'info', PARLEY_LOG_FORMAT: 'pretty' });
    assert.match(server.output(), /^\d\d:\d\d:\d\d\.\d{3} INFO {2}migrations: schema up to date in \d+\.\d\d s/m);
    assert.equal(jsonLines(server.output()).length, 0, 'no JSON lines');
    await server.kill();
  });

  test('a pretty line: time, level, message, fields, and the error stack', () => {
    const line = prettyLine(JSON.stringify({ level: 50, time: Date.UTC(2026, 0, 1, 12, 4, 5, 123), msg: 'boom', userId: 'ana', err: { type: 'Error', message: 'x', stack: 'Error: x\n    at here' } }), false);
    assert.equal(line, '12:04:05.123 ERROR boom  userId=ana\nError: x\n    at here\n');
  });
});
