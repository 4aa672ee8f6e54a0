// Accessible by audit (issue 14 item 4): an axe-core audit (WCAG 2.1 A/AA + best practice) of the
// standalone page and of the embed, signed out and in a live conversation, must find no serious or
// critical violation; every control works from the keyboard alone; a new message is announced
// once, politely, and the rest of the log is not announced again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openUser, waitConnected, waitUntil, send, messageTexts, statusText, routeHostPage } from './helpers.mjs';
import { audit, assertNoSeriousViolations, recordLiveRegions, takeAnnouncements } from './a11y.mjs';

let stack;
const opened = [];
const open = async (...args) => { const u = await openUser(...args); opened.push(u); return u; };

before(async () => { stack = await startStack({ CSP: 'strict' }); });
after(async () => {
  for (const u of opened) await u.close();
  await stack?.stop();
});

/** Both users connected in `room`, each with one own message delivered and one from the other. */
async function conversation(a, b, room) {
  await Promise.all([waitConnected(a.page), waitConnected(b.page)]);
  await send(a.page, `Hello from ${a.user} in ${room}`);
  await send(b.page, `Hi ${a.user}, ${b.user} here`);
  for (const u of [a, b]) {
    await waitUntil(async () => (await messageTexts(u.page)).length >= 2, { what: `both messages at ${u.user}` });
    await waitUntil(async () => (await u.page.locator('.lc-own .lc-delivery').allInnerTexts()).every((t) => t === 'delivered'),
      { what: `"delivered" at ${u.user}` });
  }
}

test('axe: the standalone page, signed out and in a conversation, has no serious or critical violation', async () => {
  const signedOut = await open(stack, 'axe-out', null);
  await signedOut.context.clearCookies();
  await signedOut.page.goto(`${stack.base}/?room=e2e-axe`);
  await waitUntil(async () => /Signed out/.test(await statusText(signedOut.page)), { what: 'status "Signed out"' });
  assertNoSeriousViolations('standalone page, signed out', await audit(signedOut.page));

  const a = await open(stack, 'axe-ann', '/?room=e2e-axe');
  const b = await open(stack, 'axe-bo', '/?room=e2e-axe');
  await conversation(a, b, 'e2e-axe');
  assertNoSeriousViolations('standalone page, in a conversation', await audit(a.page));
  assert.deepEqual(a.errors, []);
});

test('axe: the app embedded in a host page (mount element + boot.js) has no serious or critical violation', async () => {
  // See hosting.test.mjs: the host page is fulfilled by Playwright, on the stack's origin.
  const extraArgs = ['--disable-features=LocalNetworkAccessChecks'];
  const a = await open(stack, 'axe-host-a', null, { extraArgs });
  const b = await open(stack, 'axe-host-b', null, { extraArgs });
  for (const u of [a, b]) {
    await routeHostPage(u.page, stack, '/host-page.html', `<!doctype html><html lang="en"><head><title>Host site</title>
        <link rel="stylesheet" href="/app/livechat.css"></head><body>
        <header><p>Host site</p></header>
        <main><h1>Support</h1><p>Ask us anything.</p>
          <div id="support-chat" data-livechat data-config-url="/app/config.json" data-room="e2e-axe-embed"></div>
        </main>
        <script type="module" src="/app/boot.js"></script></body></html>`);
    await u.page.goto(`${stack.base}/host-page.html`);
  }
  await conversation(a, b, 'e2e-axe-embed');
  // The whole host page (the host's own markup is plain and accessible), and the widget alone.
  assertNoSeriousViolations('embed: host page', await audit(a.page));
  assertNoSeriousViolations('embed: the widget', await audit(a.page, { include: ['#support-chat'] }));

  // The widget is a labelled region of its own, so it is inside a landmark wherever it is put.
  assert.equal(await a.page.getByRole('region', { name: 'Live chat' }).count(), 1);
});

/** What has focus: tag, role, accessible-name-ish text. */
const focused = (page) => page.evaluate(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return 'body';
  const label = el.getAttribute('aria-label') || (el.labels && el.labels[0]?.textContent)
    || (el.tagName === 'BUTTON' ? el.textContent : '') || el.getAttribute('role') || '';
  return `${el.tagName.toLowerCase()}:${label.trim()}`;
});

/** Presses Tab (at most `max` times) until the focused element is `target`; returns the path. */
async function tabTo(page, target, max = 15) {
  const path = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const now = await focused(page);
    path.push(now);
    if (now === target) return path;
  }
  throw new Error(`Tab never reached ${target}; focus went: ${path.join(' → ')}`);
}

test('keyboard only: retry, sign in, send and retry again, all with Tab, typing and Enter/Space', async () => {
  const u = await open(stack, 'kbd', null);
  await u.context.clearCookies();
  const tokenRequests = [];
  u.page.on('request', (r) => { if (new URL(r.url()).pathname === '/api/mqtt-token') tokenRequests.push(r.url()); });
  await u.page.goto(`${stack.base}/?room=e2e-kbd`);
  await waitUntil(async () => /Signed out/.test(await statusText(u.page)), { what: 'status "Signed out"' });

  // Retry while signed out: the token endpoint is asked again (and answers 401: still signed out).
  const asked = tokenRequests.length;
  await tabTo(u.page, 'button:Retry now');
  await u.page.keyboard.press('Enter');
  await waitUntil(() => tokenRequests.length > asked, { what: 'a token request after Retry (Enter)' });
  await waitUntil(async () => /Signed out/.test(await statusText(u.page)), { what: 'still "Signed out"' });

  // Sign in: the name field, typed; the Sign in button, pressed with Space.
  await tabTo(u.page, 'input:Dev sign-in as');
  await u.page.keyboard.type('kbd');
  await tabTo(u.page, 'button:Sign in');
  await u.page.keyboard.press('Space');
  await waitConnected(u.page);

  // Send: typed in the message box, Enter sends; then Tab to Send and press Enter.
  await u.page.keyboard.press('Tab');
  await tabTo(u.page, 'textarea:Message');
  await u.page.keyboard.type('typed with the keyboard, sent with Enter');
  await u.page.keyboard.press('Enter');
  await u.page.keyboard.type('sent with the Send button');
  await tabTo(u.page, 'button:Send');
  await u.page.keyboard.press('Enter');
  await waitUntil(async () => {
    const texts = await messageTexts(u.page);
    return texts.includes('typed with the keyboard, sent with Enter') && texts.includes('sent with the Send button');
  }, { what: 'both keyboard messages in the log' });

  // The log itself is reachable (it scrolls), between the status line and the composer.
  const path = await tabTo(u.page, 'div:Messages');
  assert.ok(path.length >= 1);

  // Retry in back-off: the token endpoint goes down, the chat reconnects after the link drops;
  // Retry now (Enter) asks again once the endpoint is back.
  await stack.control('token-endpoint', { mode: 'down' });
  try {
    await stack.control('faults', { mode: 'reset', scope: 'all', healAfterMs: 500 });
    await waitUntil(async () => /Reconnecting/.test(await statusText(u.page)), { timeoutMs: 30000, what: 'status "Reconnecting"' });
    // Reach the button while the endpoint is still down (it stays offered), then press it.
    await tabTo(u.page, 'button:Retry now');
    await stack.control('token-endpoint', { mode: 'ok' });
    const before = tokenRequests.length;
    await u.page.keyboard.press('Enter');
    await waitUntil(() => tokenRequests.length > before, { what: 'a token request after Retry in back-off' });
    await waitConnected(u.page);
  } finally {
    await stack.control('token-endpoint', { mode: 'ok' });
    await stack.control('faults', { mode: 'off' });
  }
  assert.deepEqual(u.errors.filter((e) => !/401|Failed to load resource|WebSocket/.test(e)), []);
});

test('a new message is announced once, politely; the log is not announced again', async () => {
  const a = await open(stack, 'ann-a', '/?room=e2e-announce');
  const b = await open(stack, 'ann-b', '/?room=e2e-announce');
  await conversation(a, b, 'e2e-announce');

  // The live regions: the log is polite, not atomic, announces additions only.
  const regions = await a.page.evaluate(() => [...document.querySelectorAll('[aria-live], [role="log"], [role="status"], [role="alert"]')]
    .map((el) => ({ role: el.getAttribute('role'), live: el.getAttribute('aria-live'), atomic: el.getAttribute('aria-atomic'), relevant: el.getAttribute('aria-relevant') })));
  const log = regions.find((r) => r.role === 'log');
  assert.ok(log, `a role="log" region: ${JSON.stringify(regions)}`);
  assert.equal(log.live, 'polite');
  assert.notEqual(log.atomic, 'true', 'the log must not be atomic (that re-reads it whole)');

  await recordLiveRegions(a.page);
  await send(b.page, 'one new message for Ann');
  await waitUntil(async () => (await messageTexts(a.page)).includes('one new message for Ann'), { what: 'the message at Ann' });
  // Let any follow-up rendering (scrolling, delivery marks on the sender's side) settle.
  await a.page.waitForTimeout(1000);
  const heard = await takeAnnouncements(a.page);
  assert.deepEqual(heard.map((h) => h.politeness), ['polite'], `one polite announcement, got ${JSON.stringify(heard)}`);
  assert.match(heard[0].text, /one new message for Ann/);
  assert.doesNotMatch(heard[0].text, /Hello from|here/, 'earlier messages are not read again');

  // The sender hears their own message once too, and its delivery mark is not announced on top.
  await recordLiveRegions(b.page);
  await send(b.page, 'a second one');
  await waitUntil(async () => (await b.page.locator('.lc-own', { hasText: 'a second one' }).locator('.lc-delivery').innerText()) === 'delivered',
    { what: 'delivered at Bo' });
  await b.page.waitForTimeout(500);
  const own = await takeAnnouncements(b.page);
  assert.equal(own.length, 1, `one announcement at the sender, got ${JSON.stringify(own)}`);
  assert.match(own[0].text, /a second one/);
});
