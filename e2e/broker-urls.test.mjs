// A configured list of broker URLs (issue 13 item 4: `brokerUrls` / `data-broker-urls`), tried
// in turn after a failed link, shuffled per page so a cluster's load spreads. The dev stack's
// `POST /dev/control/broker-urls` makes `config.json` list URLs as `brokerUrls` and its tokens name
// no broker, so the pages pick from the list themselves (as behind a host whose token endpoint
// does not steer). The list here: a URL nothing listens on (a dead node) and the broker's.
// On both brokers:
// - every page connects, whichever URL its shuffle put first; a page that started on the dead
//   URL went on to the live one (in turn, not another try of the same), and the status said why
//   meanwhile; how many pages started on each URL is printed (the spread);
// - a page that names the list on its mount element (`data-broker-urls`) uses that list;
// - a socket that neither opens nor fails (one the page's CSP blocks: Chromium fires no event)
//   is given up at the connect timeout, the status says the broker did not answer, and it is
//   retried (before the fix the page said "Connecting…" for ever).
// No timing is asserted.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openUser, waitConnected, waitUntil, freePort, send, messageTexts, routeHostPage } from './helpers.mjs';

const PAGES = 8;

// Chromium logs "WebSocket connection to '<url>' failed" for a socket to a dead URL: expected
// here for the dead URLs only; any other console error is the app's and fails the test.
// A URL outside the page's CSP is blocked instead ("Connecting to '<url>' violates ...").
const unexpected = (errors, ...deadUrls) => errors.filter((e) => !deadUrls.some((url) =>
  e.includes(`WebSocket connection to '${url}' failed`) || e.includes(`Connecting to '${url}' violates`)));

// Each page must run its own client (its own shuffle): the tabs of one browser would otherwise
// share one connection (shareTabs, on by default), so the pages are host pages that turn it off,
// under the stack's CSP. The file's brokerUrls apply (config.json beside /app/boot.js).
const hostPage = (attrs) => `<!doctype html><html><head><link rel="stylesheet" href="/app/livechat.css"></head><body>
  <main><h1>Host site</h1><div data-livechat data-room="e2e-urls" data-share-tabs="false" ${attrs}></div></main>
  <script type="module" src="/app/boot.js"></script></body></html>`;

// Runs before the page's scripts: the URL of every WebSocket the page opens, in order.
const RECORDER = () => {
  window.__sockets = [];
  const Real = window.WebSocket;
  window.WebSocket = class extends Real {
    constructor(...args) {
      super(...args);
      window.__sockets.push(this.url);
    }
  };
};

for (const broker of ['embedded', 'mosquitto']) {
  describe(`brokerUrls on ${broker}`, () => {
    let stack;
    let dead;
    let live;
    const opened = [];

    before(async () => {
      stack = await startStack({ BROKER: broker });
      live = (await (await fetch(`${stack.base}/config.json`)).json()).brokerUrl;
      dead = `ws://127.0.0.1:${await freePort()}/mqtt`;
      await stack.control('broker-urls', { urls: [dead, live] });
    });
    after(async () => {
      for (const u of opened) await u.close();
      await stack?.stop();
    });

    test(`${PAGES} pages with a dead and a live URL configured: all connect, each tries the list in turn, the start spreads`, async () => {
      const config = await (await fetch(`${stack.base}/config.json`)).json();
      assert.deepEqual(config.brokerUrls, [dead, live], 'config.json lists the URLs');
      assert.equal(config.brokerUrl, undefined, 'and names no single broker');
      const u = await openUser(stack, `urls-${broker}`, null, {
        initScript: RECORDER,
        extraArgs: ['--disable-features=LocalNetworkAccessChecks'],
      });
      opened.push(u);
      await routeHostPage(u.context, stack, '/urls-page.html', hostPage(''));
      const pages = [u.page];
      for (let i = 1; i < PAGES; i++) pages.push(await u.context.newPage());
      await Promise.all(pages.map((p) => p.goto(`${stack.base}/urls-page.html`, { timeout: 20000 })));
      await Promise.all(pages.map((p) => waitConnected(p, 45000))).catch(async (e) => {
        const seen = await Promise.all(pages.map(async (p) => ({
          status: await p.locator('[role="status"]').innerText().catch(() => '?'),
          sockets: await p.evaluate(() => window.__sockets).catch(() => '?'),
        })));
        throw new Error(`${e.message}; pages: ${JSON.stringify(seen)}`);
      });
      const sockets = await Promise.all(pages.map((p) => p.evaluate(() => window.__sockets)));
      const startedDead = sockets.filter((s) => s[0] === dead).length;
      console.log(`[broker urls] ${broker}: ${PAGES} pages connected; first URL: dead ${startedDead}, live ${PAGES - startedDead}; sockets per page ${JSON.stringify(sockets.map((s) => s.map((url) => (url === dead ? 'dead' : url === live ? 'live' : url))))}`);
      for (const s of sockets) {
        assert.ok(s.length >= 1 && s.every((url) => url === dead || url === live), `only configured URLs: ${JSON.stringify(s)}`);
        assert.equal(s[s.length - 1], live, 'connected on the live URL');
        // In turn: after the dead URL failed, the next socket went to the other URL.
        if (s[0] === dead) assert.equal(s[1], live, `after the dead URL the next in the list: ${JSON.stringify(s)}`);
      }
      // The pages talk to each other over whichever URL they found.
      await send(pages[0], 'hello from page 1');
      for (const p of pages) {
        await waitUntil(async () => (await messageTexts(p)).includes('hello from page 1'), { timeoutMs: 15000, what: 'the message on every page' });
      }
      assert.deepEqual(unexpected(u.errors, dead), []);
    });

    test('a page whose mount element names the list (data-broker-urls) uses that list over the file\'s', async () => {
      const u = await openUser(stack, `urls-attr-${broker}`, null, {
        initScript: RECORDER,
        extraArgs: ['--disable-features=LocalNetworkAccessChecks'],
      });
      opened.push(u);
      // Another dead URL: a socket to the file's dead URL would show the file's list was used.
      const dead2 = `ws://127.0.0.1:${await freePort()}/mqtt`;
      await routeHostPage(u.page, stack, '/urls-host.html', hostPage(`data-broker-urls="${dead2} ${live}"`));
      await u.page.goto(`${stack.base}/urls-host.html`);
      await waitConnected(u.page, 45000);
      const s = await u.page.evaluate(() => window.__sockets);
      console.log(`[broker urls] ${broker}: data-broker-urls page sockets ${JSON.stringify(s.map((url) => (url === dead2 ? 'dead2' : url === live ? 'live' : url)))}`);
      assert.ok(s.every((url) => url === dead2 || url === live), `only the attribute's URLs: ${JSON.stringify(s)}`);
      assert.equal(s[s.length - 1], live);
      assert.deepEqual(unexpected(u.errors, dead2), []);
    });

    test('a socket that never opens or fails (blocked by the page\'s CSP) is given up at the connect timeout, said in words, and retried', async () => {
      const u = await openUser(stack, `urls-blocked-${broker}`, null, {
        initScript: RECORDER,
        extraArgs: ['--disable-features=LocalNetworkAccessChecks'],
      });
      opened.push(u);
      // Not in the page's connect-src: Chromium blocks it and fires neither open nor close.
      const blocked = `ws://127.0.0.1:${await freePort()}/mqtt`;
      const csp = await routeHostPage(u.page, stack, '/urls-blocked.html', `<!doctype html><html><head><link rel="stylesheet" href="/app/livechat.css"></head><body>
          <main><h1>Host site</h1><div data-livechat data-room="e2e-urls" data-broker-urls="${blocked}"></div></main>
          <script type="module" src="/app/boot.js"></script></body></html>`);
      assert.ok(!csp.includes(blocked.replace('/mqtt', '')), 'the URL is outside the CSP');
      const started = Date.now();
      await u.page.goto(`${stack.base}/urls-blocked.html`);
      const said = await waitUntil(async () => {
        const s = await u.page.locator('[role="status"]').innerText();
        return /did not answer/.test(s) ? s : false;
      }, { timeoutMs: 30000, what: 'the status to say the broker did not answer' });
      const saidAfter = Date.now() - started;
      await waitUntil(async () => (await u.page.evaluate(() => window.__sockets)).length >= 2, { timeoutMs: 30000, what: 'a second attempt' });
      console.log(`[broker urls] ${broker}: blocked socket: "${said.replace(/\s+/g, ' ')}" after ${saidAfter} ms; sockets ${(await u.page.evaluate(() => window.__sockets)).length}`);
      assert.ok(u.errors.some((e) => /Content Security Policy/.test(e)), 'the browser blocked it');
    });
  });
}
