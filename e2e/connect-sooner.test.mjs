// Connect sooner (issue 15): the loader (static/early.js) starts config.json, the token request
// and the WebSocket open while the wasm downloads, and the first connect takes them over
// (mqtt-browser's handover module). These tests count who made each token request and each
// WebSocket (the loader or the wasm, from the caller's stack) and prove:
// - first load: exactly one token request and one WebSocket before "Connected", both the
//   loader's (the app's page runs it as a classic <head> script; a host page embedding only
//   boot.js gets it imported by boot.js) (so the driver used them instead of making its own); the handover global is gone;
//   the tab group's Web Lock is the loader's request too (adopted, not asked for again);
//   a reconnect (the broker link cut by the dev stack's fault control) makes its own;
// - the token endpoint answering 500 to the loader's request: that answer is the first token
//   response (the error in words, no second request at once), and the retry connects;
// - the token endpoint dropping the loader's request (a network error): the driver makes its own
//   request once at once (the normal path), then backs off and connects once the endpoint is back;
// - a handover planted by another script (a made-up token, a socket to another URL claiming to be
//   the broker's, a configuration naming another broker) is not used: the app fetches its own
//   configuration and token and opens its own socket, and the planted socket is sent nothing.
// No timing is asserted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openUser, waitConnected, waitUntil, statusText, sleep, countingWsBroker, routeHostPage } from './helpers.mjs';

let stack;
let rogue;
const opened = [];

before(async () => {
  // Sessions in memory, as scripts/test.sh's stack.
  stack = await startStack({ STATE_DIR: '' });
  rogue = await countingWsBroker();
});
after(async () => {
  for (const u of opened) await u.close();
  await rogue?.close();
  await stack?.stop();
});

// Runs before the page's scripts: records each token request and each WebSocket with whether the
// loader module (early.js) made it, judged by the caller's stack, and (token requests) whether the
// status already showed a token failure then; and the URL of every socket that sent anything.
const RECORDER = () => {
  const log = (window.__connectLog = { tokens: [], sockets: [], sends: [], locks: [] });
  const byLoader = () => /\/early\.js/.test(new Error().stack || '');
  // Web Lock requests (the tab group's lock): who asked.
  if (window.LockManager) {
    const realRequest = LockManager.prototype.request;
    LockManager.prototype.request = function (...args) {
      log.locks.push({ name: String(args[0]).split('|')[0], loader: byLoader() });
      return realRequest.apply(this, args);
    };
  }
  const realFetch = window.fetch;
  window.fetch = function (input, init) {
    const url = new URL(typeof input === 'string' ? input : input.url, location.href);
    if (url.pathname === '/api/mqtt-token') {
      // What the status said when the request was made: a retry comes after a failure was shown.
      const status = document.querySelector('[role="status"]')?.textContent || '';
      log.tokens.push({ loader: byLoader(), afterError: /credentials/.test(status) });
    }
    return realFetch.call(this, input, init);
  };
  const RealWebSocket = window.WebSocket;
  window.WebSocket = class extends RealWebSocket {
    constructor(...args) {
      super(...args);
      log.sockets.push({ url: this.url, loader: byLoader() });
    }
  };
  const realSend = RealWebSocket.prototype.send;
  RealWebSocket.prototype.send = function (data) {
    if (!log.sends.includes(this.url)) log.sends.push(this.url);
    return realSend.call(this, data);
  };
};

const connectLog = (page) => page.evaluate(() => window.__connectLog);

async function open(user, path, initScript = RECORDER, extraArgs = []) {
  const u = await openUser(stack, user, path, { initScript, extraArgs });
  opened.push(u);
  return u;
}

test('first load: one token request and one WebSocket before Connected, both the loader\'s; a reconnect makes its own', async () => {
  const u = await open('early-first', '/?room=e2e-early');
  await waitConnected(u.page);
  const first = await connectLog(u.page);
  console.log(`[connect sooner] first load: ${JSON.stringify(first)}`);
  assert.deepEqual(first.tokens, [{ loader: true, afterError: false }], 'exactly one token request, made by the loader');
  assert.equal(first.sockets.length, 1, 'exactly one WebSocket');
  assert.equal(first.sockets[0].loader, true, 'the WebSocket the loader opened');
  assert.equal(await u.page.evaluate(() => '__livechatHandover' in window), false, 'the handover global is gone');
  // The tab group's Web Lock: the loader asked for it, the tab group adopted that request.
  assert.deepEqual(first.locks, [{ name: 'livechat-tabs/2', loader: true }], 'one lock request, the loader\'s');
  assert.equal(await u.page.evaluate(() => '__livechatEarlyLock' in window), false, 'the early lock global is taken');
  assert.deepEqual(u.errors, []);

  // The broker link is cut (both sockets closed, no close frame); new connections work again
  // after a moment.
  await stack.control('faults', { mode: 'drop', scope: 'all', healAfterMs: 300 });
  await waitUntil(async () => (await connectLog(u.page)).sockets.length > 1, { timeoutMs: 45000, what: 'a new WebSocket after the link was cut' });
  await waitConnected(u.page, 45000);
  const later = await connectLog(u.page);
  console.log(`[connect sooner] after the link was cut: ${JSON.stringify(later)}`);
  assert.equal(later.tokens.filter((t) => t.loader).length, 1, 'the loader made no further token request');
  assert.equal(later.sockets.filter((s) => s.loader).length, 1, 'the loader opened no further WebSocket');
  assert.equal(later.locks.length, 1, 'still the leader: no further lock request');
  assert.ok(later.sockets.slice(1).every((s) => !s.loader), 'the reconnect opened its own WebSocket');
});

test('a host page that embeds only boot.js: boot.js imports the loader, which starts the token request and the socket', async () => {
  // As in hosting.test.mjs: the host page is fulfilled by Playwright, so Local Network Access
  // checks must not treat it as public.
  const u = await open('early-host', null, RECORDER, ['--disable-features=LocalNetworkAccessChecks']);
  await routeHostPage(u.page, stack, '/host-early.html', `<!doctype html><html><head><link rel="stylesheet" href="/app/livechat.css"></head><body>
      <main><h1>Host site</h1><div data-livechat data-room="e2e-early-host"></div></main>
      <script type="module" src="/app/boot.js"></script></body></html>`);
  await u.page.goto(`${stack.base}/host-early.html`);
  await waitConnected(u.page);
  const log = await connectLog(u.page);
  console.log(`[connect sooner] host page, boot.js only: ${JSON.stringify(log)}`);
  assert.deepEqual(log.tokens, [{ loader: true, afterError: false }], 'one token request, the loader\'s');
  assert.equal(log.sockets.length, 1, 'one WebSocket');
  assert.equal(log.sockets[0].loader, true, 'the loader\'s WebSocket');
  assert.deepEqual(log.locks, [{ name: 'livechat-tabs/2', loader: true }], 'one lock request, the loader\'s');
  assert.deepEqual(u.errors, []);
});

test('the loader\'s token request answered 500: the error in words, no second request at once, then connected after the retry', async () => {
  await stack.control('token-endpoint', { mode: '500' });
  let u;
  try {
    u = await open('early-500', '/?room=e2e-early');
    const shown = await waitUntil(async () => {
      const s = await statusText(u.page);
      return /credentials/.test(s) && /500/.test(s) ? s : false;
    }, { timeoutMs: 30000, what: 'the status to explain the token failure' });
    const log = await connectLog(u.page);
    console.log(`[connect sooner] 500: "${shown}"; ${JSON.stringify(log)}`);
    assert.deepEqual(log.tokens[0], { loader: true, afterError: false }, 'the loader\'s request');
    // The loader's answer was the token response: the next request is the back-off's retry, made
    // after the failure was shown (the driver's own), not a second request at once.
    assert.ok(log.tokens.slice(1).every((t) => !t.loader && t.afterError), JSON.stringify(log.tokens));
  } finally {
    await stack.control('token-endpoint', { mode: 'ok' });
  }
  await waitConnected(u.page, 45000);
  const log = await connectLog(u.page);
  assert.ok(log.tokens.length >= 2 && log.tokens.slice(1).every((t) => !t.loader), `the retry was the driver's own: ${JSON.stringify(log.tokens)}`);
});

test('the loader\'s token request fails (network error): the driver asks once itself at once, then connects once the endpoint is back', async () => {
  await stack.control('token-endpoint', { mode: 'down' });
  let u;
  try {
    u = await open('early-down', '/?room=e2e-early');
    const shown = await waitUntil(async () => {
      const s = await statusText(u.page);
      return /credentials/.test(s) ? s : false;
    }, { timeoutMs: 30000, what: 'the status to explain the token failure' });
    const log = await connectLog(u.page);
    console.log(`[connect sooner] down: "${shown}"; ${JSON.stringify(log)}`);
    assert.deepEqual(log.tokens.slice(0, 2), [{ loader: true, afterError: false }, { loader: false, afterError: false }],
      'the loader\'s request, then at once the driver\'s own (the normal path)');
    // Then only the back-off's retries (1 s, 2 s, ...), the driver's own, after the failure showed.
    assert.ok(log.tokens.slice(2).every((t) => !t.loader && t.afterError), JSON.stringify(log.tokens));
  } finally {
    await stack.control('token-endpoint', { mode: 'ok' });
  }
  await waitConnected(u.page, 45000);
});

test('a handover planted by another script is not used: own config, own token, own socket', async () => {
  const config = await (await fetch(`${stack.base}/config.json`)).json();
  // Defined before the loader, not configurable: the loader cannot define its own (so it starts
  // nothing) and the app finds this one. Every entry claims the URL the app would use; the socket
  // goes to another URL on the broker's origin (one the page's CSP allows).
  const planted = ({ rogueUrl, brokerUrl, configUrl }) => {
    const made = (body) => Promise.resolve(new Response(body, { headers: { 'content-type': 'application/json' } }));
    const handover = {
      config: { url: configUrl, response: made(JSON.stringify({ brokerUrl: rogueUrl })) },
      token: { url: '/api/mqtt-token', response: made(JSON.stringify({ accessToken: 'made-up', username: 'mallory@x', expiresIn: 3600, brokerUrl: rogueUrl })) },
      socket: { url: brokerUrl, socket: new WebSocket(`${brokerUrl}?planted`, 'mqtt') },
    };
    Object.defineProperty(window, '__livechatHandover', { get: () => handover, configurable: false });
  };
  // Signed in, not navigated yet (closing the page instead would end the session cookie).
  const u = await open('early-planted', null, null);
  const { page } = u;
  await page.addInitScript(RECORDER);
  await page.addInitScript(planted, { rogueUrl: rogue.url, brokerUrl: config.brokerUrl, configUrl: `${stack.base}/config.json` });
  await page.goto(`${stack.base}/?room=e2e-early`, { timeout: 20000 });
  await waitConnected(page).catch(async (e) => {
    throw new Error(`${e.message}; status "${await statusText(page).catch(() => '?')}"; errors ${JSON.stringify(u.errors)}; ${JSON.stringify(await connectLog(page))}`);
  });
  await sleep(1000);
  const log = await connectLog(page);
  console.log(`[connect sooner] planted: ${JSON.stringify(log)}; planted broker ${JSON.stringify(rogue.stats)}`);
  assert.deepEqual(log.tokens, [{ loader: false, afterError: false }], 'one token request, the app\'s own');
  assert.deepEqual(log.sends, [config.brokerUrl], 'MQTT bytes went only to the configured broker, on the app\'s own socket');
  assert.equal(log.sockets.filter((s) => s.url === config.brokerUrl).length, 1, JSON.stringify(log.sockets));
  assert.equal(rogue.stats.connections, 0, 'the broker the planted configuration and token name was never contacted');
  assert.deepEqual(log.locks, [{ name: 'livechat-tabs/2', loader: false }], 'the loader started nothing: the tab group asked for its own lock');
});
