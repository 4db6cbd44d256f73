import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { buildClient } from '../scripts/build-client.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-client-build-'));
after(() => fs.rmSync(out, { recursive: true, force: true }));

/** Static imports of a module (what it needs from outside its own files). */
const importsOf = (code: string) => [...new Set([...code.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]!))].filter((s) => !s.startsWith('./'));

test('parley-client builds into a publishable package: every export there, socket.io-client only in its transport', async () => {
  await buildClient(out);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'client/package.json'), 'utf8'));
  assert.equal(pkg.name, 'parley-client');
  for (const [entry, target] of Object.entries(pkg.exports as Record<string, { types: string; default: string }>)) {
    for (const file of [target.types, target.default]) assert.ok(fs.existsSync(path.join(out, file.replace('./dist/', ''))), `${entry}: ${file}`);
  }
  const files = fs.readdirSync(out).filter((f) => f.endsWith('.js'));
  const read = (f: string) => fs.readFileSync(path.join(out, f), 'utf8');
  const withSocketIo = files.filter((f) => read(f).includes('socket.io-client'));
  assert.deepEqual(withSocketIo.map((f) => f.replace(/-\w+\.js$/, '')), ['transport-socketio']);
  assert.deepEqual(importsOf(read('react.js')).sort(), ['parley-client', 'react']);
  assert.deepEqual(importsOf(read('index.js')), [], 'the core needs nothing outside itself');
  // Nothing of the server, and no schema library, in the browser code.
  for (const f of files) assert.doesNotMatch(read(f), /@sinclair\/typebox|from "fastify"|src\/services/, f);

  const core = await import(pathToFileURL(path.join(out, 'index.js')).href);
  assert.equal(typeof core.createClient, 'function');
  assert.equal(core.PROTOCOL_VERSION, 1);
  const node = await import(pathToFileURL(path.join(out, 'node.js')).href);
  assert.equal(typeof node.fileStorage, 'function');
});
