// The build works from a sub-path and under the strict Content-Security-Policy, and both embed
// methods (a mount element with data-* attributes plus the script, and an iframe) connect.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openUser, waitConnected, waitUntil, statusText, routeHostPage } from './helpers.mjs';

let stack;
let framable;
const opened = [];
const open = async (...args) => { const u = await openUser(...args); opened.push(u); return u; };

before(async () => {
  stack = await startStack({ CSP: 'strict' });
  // The same policy except that pages of the same origin may frame the app (the strict one says
  // frame-ancestors 'none').
  framable = await startStack(({ wsPort }) => ({
    CSP: "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; "
      + `connect-src 'self' ws://127.0.0.1:${wsPort}; style-src 'self'; img-src 'self' data:; `
      + "base-uri 'none'; frame-ancestors 'self'; form-action 'self'",
  }));
});
after(async () => {
  for (const u of opened) await u.close();
  await stack?.stop();
  await framable?.stop();
});

const cspViolations = (errors) => errors.filter((e) => /Content Security Policy|Refused to/i.test(e));

test('the app served from /app/ under the strict CSP connects', async () => {
  const u = await open(stack, 'subpath', '/app/?room=e2e-hosting');
  const res = await u.page.request.get(`${stack.base}/app/`);
  assert.match(res.headers()['content-security-policy'] || '', /script-src 'self' 'wasm-unsafe-eval'/);
  await waitConnected(u.page);
  assert.deepEqual(cspViolations(u.errors), []);
  assert.deepEqual(u.errors, []);
});

test('a host page embeds the app with a mount element and data-* attributes', async () => {
  // The host page is fulfilled by Playwright (it has no network address), so Chromium's Local
  // Network Access checks would treat it as public and block its socket to 127.0.0.1; a real
  // host page on the same loopback origin is not subject to that.
  const u = await open(stack, 'embedder', null, { extraArgs: ['--disable-features=LocalNetworkAccessChecks'] });
  // A host page on the same origin, under the same strict CSP (served by route, not the stack).
  await routeHostPage(u.page, stack, '/host-page.html', `<!doctype html><html><head><link rel="stylesheet" href="/app/livechat.css"></head><body>
      <h1>Host site</h1>
      <div id="support-chat" data-livechat data-config-url="/app/config.json" data-room="e2e-embed"
           data-user-name="Embedded Erin" data-max-message-length="140"></div>
      <script type="module" src="/app/boot.js"></script></body></html>`);
  await u.page.goto(`${stack.base}/host-page.html`);
  await waitConnected(u.page).catch(async (e) => {
    throw new Error(`${e.message}; page: ${await u.page.locator('body').innerText()}; errors: ${u.errors.join(' | ')}`);
  });
  assert.equal(await u.page.locator('#support-chat [role="status"]').count(), 1);
  assert.equal(await u.page.getByRole('textbox', { name: 'Message' }).getAttribute('maxlength'), '140');
  assert.deepEqual(cspViolations(u.errors), []);
});

test('a host page embeds the app in an iframe', async () => {
  const u = await open(framable, 'framer', null);
  await u.page.route(`${framable.base}/frame-host.html`, (route) => route.fulfill({
    status: 200,
    headers: { 'content-type': 'text/html' },
    body: `<!doctype html><html><body><h1>Host site</h1>
      <iframe title="Live chat" src="/app/?room=e2e-frame" width="400" height="500"></iframe></body></html>`,
  }));
  await u.page.goto(`${framable.base}/frame-host.html`);
  const frame = u.page.frameLocator('iframe[title="Live chat"]');
  await waitUntil(async () => (await frame.locator('[role="status"]').innerText()).trim() === 'Connected',
    { timeoutMs: 30000, what: 'Connected inside the iframe' });
});
