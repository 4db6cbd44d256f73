import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, newContext, screenshot, signedIn } from './helpers/web-browser.ts';
import { startWebServer, type WebServer } from './helpers/web-server.ts';

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(() => browser.close());

describe('where the development sign-in is on (embedded, generated secret, loopback)', () => {
  let server: WebServer;
  before(async () => {
    server = await startWebServer();
  });
  after(() => server.close());

  test('the page says it is a development sign-in, and signing in keeps across a reload', async () => {
    const context = await newContext(browser, { baseURL: server.url });
    const page = await context.newPage();
    await page.goto('/');
    await page.getByRole('heading', { name: 'Development sign-in' }).waitFor();
    assert.match(await page.getByRole('note').innerText(), /This is a development sign-in/);
    await screenshot(page, 'sign-in-desktop');
    await context.close();

    const ana = await signedIn(browser, server.url, 'ana', 'Ana Lima');
    await ana.page.reload();
    await ana.page.getByRole('navigation', { name: 'Conversations' }).waitFor();
    assert.deepEqual(ana.errors, []);
    await ana.context.close();
  });

  test('a token in the URL fragment signs in and leaves the address bar at once', async () => {
    const token = await server.tokenFor('bea', 'Bea');
    const context = await newContext(browser, { baseURL: server.url });
    const page = await context.newPage();
    await page.goto(`/preferences#token=${token}`);
    await page.getByRole('navigation', { name: 'Conversations' }).waitFor();
    assert.equal(new URL(page.url()).hash, '');
    assert.equal(new URL(page.url()).pathname, '/preferences');
    await context.close();
  });
});

describe('where it is off', () => {
  let server: WebServer;
  let parent: http.Server;
  let parentOrigin: string;
  before(async () => {
    // The embedding application: a page on another origin that frames Parley and hands it a token.
    let frameUrl = '';
    parent = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><title>Host app</title><iframe id="parley" title="Messages" src="${frameUrl}" width="800" height="600"></iframe>`);
    });
    parent.listen(0, '127.0.0.1');
    await once(parent, 'listening');
    parentOrigin = `http://127.0.0.1:${(parent.address() as AddressInfo).port}`;
    server = await startWebServer({ PARLEY_DEV_LOGIN: '0', PARLEY_EMBED_ORIGINS: parentOrigin });
    frameUrl = `${server.url}/`;
  });
  after(async () => {
    await server.close();
    parent.closeAllConnections();
    parent.close();
  });

  test('no form, a plain word on how to get in, and no endpoint (404)', async () => {
    const context = await newContext(browser, { baseURL: server.url });
    const page = await context.newPage();
    await page.goto('/');
    await page.getByText('You are not signed in.').waitFor();
    assert.equal(await page.getByLabel('User id').count(), 0);
    const res = await page.request.post('/v1/dev/login', { data: { userId: 'ana' } });
    assert.equal(res.status(), 404);
    assert.equal((await res.json()).error.code, 'route_not_found');
    await context.close();
  });

  test('an allowed parent window hands a token over by postMessage when the app asks', async () => {
    const token = await server.tokenFor('cai', 'Cai');
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(parentOrigin);
    // Runs in the host page (no DOM types in the server's compiler settings: hence `any`).
    await page.evaluate(
      ({ token, origin }) => {
        const doc = (globalThis as any).document;
        (globalThis as any).addEventListener('message', (e: any) => {
          const frame = doc.getElementById('parley').contentWindow;
          if (e.origin === origin && e.source === frame && e.data?.type === 'parley:token-request') frame.postMessage({ type: 'parley:token', token }, origin);
        });
        // The frame asked before this listener existed: load it again.
        doc.getElementById('parley').src += '';
      },
      { token, origin: server.url },
    );
    const frame = page.frameLocator('#parley');
    await frame.getByRole('navigation', { name: 'Conversations' }).waitFor();
    assert.match(await frame.getByRole('heading', { level: 1 }).first().innerText(), /Cai/);
    await context.close();
  });
});
