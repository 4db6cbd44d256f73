import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { killChild, ownChild, ownDir } from './children.ts';
import { freePort } from './redis.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const NGINX = process.env.PARLEY_TEST_NGINX || '/usr/sbin/nginx';

/**
 * The real nginx with deploy/nginx/parley.conf, as shipped except for what a test must
 * change: the upstream's instances, and a loopback port to listen on. Its own prefix, pid,
 * logs and temp directories in a temporary directory; stopped by the test.
 */
export async function startNginx(instances: string[]): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = ownDir(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-nginx-')));
  fs.chmodSync(dir, 0o755); // workers (another user when the master is root) write temp files here
  const port = await freePort();
  const shipped = fs.readFileSync(path.join(ROOT, 'deploy/nginx/parley.conf'), 'utf8');
  const servers = instances.map((u) => `    server ${new URL(u).host} max_fails=1 fail_timeout=5s;`).join('\n');
  const conf = shipped
    .replace(/^(\s*server 127\.0\.0\.1:\d+ .*\n)+/m, `${servers}\n`)
    .replace(/^\s*listen 80;$/m, `    listen 127.0.0.1:${port};`);
  if (!conf.includes(servers) || !conf.includes(`listen 127.0.0.1:${port}`)) throw new Error('deploy/nginx/parley.conf no longer has the upstream and listen lines this test replaces');
  fs.writeFileSync(path.join(dir, 'parley.conf'), conf);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`).join('\n');
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
${temp}
  include ${dir}/parley.conf;
}
`,
  );
  const child = ownChild(spawn(NGINX, ['-p', dir, '-c', `${dir}/nginx.conf`, '-e', `${dir}/error.log`], { stdio: 'ignore' }));
  const deadline = Date.now() + 15_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      const log = fs.existsSync(`${dir}/error.log`) ? fs.readFileSync(`${dir}/error.log`, 'utf8') : '';
      throw new Error(`nginx did not start: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      // SIGTERM: fast shutdown (SIGQUIT would wait for open WebSockets to end).
      await killChild(child, 'SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
