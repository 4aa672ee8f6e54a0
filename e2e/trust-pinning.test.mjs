// Trust (issue 10): credentials go only to a broker the site chose on purpose. Host pages (served
// by Playwright route on the stack's origin, with no CSP, so that only the app itself can keep
// the credentials away) name a "rogue broker" — a local TCP listener counting its connections:
// - two [data-livechat] elements, one naming the rogue broker: an error, 0 connections;
// - the mount element names a broker (a real WebSocket server counting what it is sent), the token
//   response names the stack's: the token's broker wins and the named one is sent no MQTT byte,
//   so no credentials (the client may open the configured broker's socket while the token request
//   is in flight, and closes it unused when the token names another broker);
// - a page-relative config.json (beside the host page, not beside the app) names the rogue
//   broker: it is never read, 0 connections;
// - token URLs that are not URLs of a site (`/\host`, `data:`) are refused by name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openUser, waitUntil, sleep, statusText, countingListener, countingWsBroker } from './helpers.mjs';

let stack;
let rogue;
const opened = [];
// The host pages are fulfilled by Playwright (no network address), so Chromium's Local Network
// Access checks would block their sockets to 127.0.0.1 (see hosting.test.mjs).
const LNA = { extraArgs: ['--disable-features=LocalNetworkAccessChecks'] };

before(async () => {
  stack = await startStack({ BROKER: process.env.LIVECHAT_TEST_BROKER || 'embedded' });
  rogue = await countingListener();
});
after(async () => {
  for (const u of opened) await u.close();
  await rogue?.close();
  await stack?.stop();
});

/** Opens a signed-in page at `pagePath` on the stack's origin whose HTML is `body`. */
async function hostPage(user, pagePath, body, { routes = {} } = {}) {
  const u = await openUser(stack, user, null, LNA);
  opened.push(u);
  const sockets = [];
  const requests = [];
  u.page.on('websocket', (ws) => sockets.push(ws.url()));
  u.page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  await u.page.route(`${stack.base}${pagePath}`, (route) => route.fulfill({
    status: 200, headers: { 'content-type': 'text/html' },
    body: `<!doctype html><html><head><link rel="stylesheet" href="/app/livechat.css"></head><body>
      <h1>Host site</h1>${body}<script type="module" src="/app/boot.js"></script></body></html>`,
  }));
  for (const [pattern, handler] of Object.entries(routes)) await u.page.route(pattern, handler);
  await u.page.goto(`${stack.base}${pagePath}`, { timeout: 20000 });
  return { ...u, sockets, requests };
}

const alertText = async (page) => (await page.getByRole('alert').allInnerTexts()).join(' | ');

test('two [data-livechat] elements, one naming another broker: an error, and no connection to that broker', async () => {
  const before = rogue.stats.connections;
  const u = await hostPage('pin-two', '/two-mounts.html', `
    <div id="injected" data-livechat data-broker-url="${rogue.url}" data-config-url="none" data-room="pinning"></div>
    <div id="support-chat" data-livechat data-config-url="/app/config.json" data-room="pinning"></div>`);
  const shown = await waitUntil(async () => (await alertText(u.page)) || false, { timeoutMs: 20000, what: 'an error screen' })
    .catch(async (e) => { throw new Error(`${e.message}; page: ${await u.page.locator('body').innerText()}`); });
  await sleep(3000);
  const tokenCalls = u.requests.filter((p) => p.startsWith('/api/mqtt-token')).length;
  console.log(`[pinning] two mount elements: error "${shown}"; rogue broker connections ${rogue.stats.connections - before}, bytes ${rogue.stats.bytes}; token requests ${tokenCalls}; page WebSockets ${JSON.stringify(u.sockets)}`);
  assert.equal(rogue.stats.connections - before, 0, 'no connection to the broker named by the injected element');
  assert.deepEqual(u.sockets, [], 'no broker connection at all');
});

test('the mount element names another broker, the token response names the stack\'s: the token wins', async () => {
  const named = await countingWsBroker();
  try {
    const config = await (await fetch(`${stack.base}/config.json`)).json(); // the stack's broker, as its token response names it
    const u = await hostPage('pin-token', '/token-wins.html', `
      <div id="support-chat" data-livechat data-config-url="none" data-broker-url="${named.url}" data-room="pinning"></div>`);
    await waitUntil(async () => /^Connected\b/.test((await statusText(u.page)).trim()), { timeoutMs: 30000, what: 'Connected through the token\'s broker' })
      .catch(async (e) => { throw new Error(`${e.message}; page: ${await u.page.locator('body').innerText()}; sockets ${JSON.stringify(u.sockets)}; named broker ${JSON.stringify(named.stats)}`); });
    await sleep(1000);
    const toStack = u.sockets.filter((s) => s === config.brokerUrl).length;
    console.log(`[pinning] token's broker wins: page WebSockets ${JSON.stringify(u.sockets)} (stack broker ${config.brokerUrl}); named broker: ${named.stats.connections} early socket(s), ${named.stats.frames} MQTT frames, ${named.stats.bytes} bytes`);
    assert.equal(named.stats.frames, 0, 'no MQTT byte (so no CONNECT, no credentials) to the broker the mount element named');
    assert.equal(toStack, 1, `one connection to ${config.brokerUrl}`);
    assert.ok(u.sockets.every((s) => s === config.brokerUrl || s === named.url), 'no other broker');
  } finally {
    await named.close();
  }
});

test('a page-relative config.json naming another broker is not read; the app\'s own config.json is', async () => {
  const before = rogue.stats.connections;
  const u = await hostPage('pin-relative', '/elsewhere/host.html', `
    <div id="support-chat" data-livechat data-room="pinning"></div>`, {
    routes: {
      [`${stack.base}/elsewhere/config.json`]: (route) => route.fulfill({ json: { brokerUrl: rogue.url } }),
      // Without a broker named by the token response, configuration decides.
      [`${stack.base}/api/mqtt-token**`]: async (route) => {
        const res = await route.fetch();
        if (!res.ok()) return route.fulfill({ response: res });
        const { brokerUrl, broker_url: snake, ...rest } = await res.json();
        return route.fulfill({ response: res, json: rest });
      },
    },
  });
  await waitUntil(async () => /^Connected\b/.test((await statusText(u.page)).trim()), { timeoutMs: 30000, what: 'Connected with the app\'s own config.json' })
    .catch(async (e) => { throw new Error(`${e.message}; page: ${await u.page.locator('body').innerText()}; sockets ${JSON.stringify(u.sockets)}; rogue connections ${rogue.stats.connections - before}; requests ${JSON.stringify(u.requests)}`); });
  await sleep(1000);
  const configs = u.requests.filter((p) => p.endsWith('config.json'));
  console.log(`[pinning] config.json requests ${JSON.stringify(configs)}; page WebSockets ${JSON.stringify(u.sockets)}; rogue broker connections ${rogue.stats.connections - before}`);
  assert.equal(rogue.stats.connections - before, 0);
  assert.ok(!configs.includes('/elsewhere/config.json'), 'the host page\'s own config.json is not read');
});

for (const [label, tokenUrl] of [['/\\host', '/\\evil.example/api/mqtt-token'], ['data:', 'data:application/json,{"accessToken":"x"}']]) {
  test(`a token URL like ${label} is refused by name`, async () => {
    const u = await hostPage(`pin-url-${label === 'data:' ? 'data' : 'slash'}`, `/bad-token-url-${label === 'data:' ? 'data' : 'slash'}.html`, `
      <div id="support-chat" data-livechat data-config-url="/app/config.json" data-token-url='${tokenUrl}' data-room="pinning"></div>`);
    const shown = await waitUntil(async () => (await alertText(u.page)) || false, { timeoutMs: 20000, what: 'an error screen' })
      .catch(async (e) => { throw new Error(`${e.message}; page: ${await u.page.locator('body').innerText()}`); });
    console.log(`[pinning] token URL ${tokenUrl}: "${shown}"`);
    assert.match(shown, /tokenUrl|data-token-url/);
    assert.deepEqual(u.sockets, []);
  });
}
