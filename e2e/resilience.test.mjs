// The connection survives what real deployments do to it: short-lived tokens rotating while both
// users send, a broker restart, the token endpoint going down and coming back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openUser, waitConnected, waitUntil, send, messageTexts, statusText, sleep } from './helpers.mjs';

const TTL = 8;
let stack;
const opened = [];
const open = async (...args) => { const u = await openUser(...args); opened.push(u); return u; };

before(async () => { stack = await startStack({ TOKEN_TTL_SECS: String(TTL) }); });
after(async () => {
  for (const u of opened) await u.close();
  await stack?.stop();
});

const countOf = (texts, t) => texts.filter((x) => x === t).length;

async function assertExactlyOnce(pages, expected, what) {
  await waitUntil(async () => {
    for (const p of pages) {
      const texts = await messageTexts(p);
      if (!expected.every((t) => countOf(texts, t) >= 1)) return false;
    }
    return true;
  }, { timeoutMs: 45000, what });
  for (const p of pages) {
    const texts = await messageTexts(p);
    for (const t of expected) assert.equal(countOf(texts, t), 1, `"${t}" shown ${countOf(texts, t)} times`);
  }
}

test('token rotation with a short TTL while both send: every message arrives exactly once', async () => {
  const a = await open(stack, 'rota', '/?room=e2e-rotation');
  const b = await open(stack, 'rotb', '/?room=e2e-rotation');
  await Promise.all([waitConnected(a.page), waitConnected(b.page)]);
  const sent = [];
  // Three token lifetimes of continuous sending from both sides.
  const until = Date.now() + TTL * 3 * 1000;
  for (let i = 0; Date.now() < until; i++) {
    for (const [u, name] of [[a, 'a'], [b, 'b']]) {
      const text = `${name}-rotation-${i}`;
      await send(u.page, text);
      sent.push(text);
    }
    await sleep(400);
  }
  await assertExactlyOnce([a.page, b.page], sent, 'every rotation message on both sides');
  await waitConnected(a.page);
  await waitConnected(b.page);
});

test('broker restarted mid-conversation: both back to Connected, messages typed meanwhile delivered', async () => {
  const a = await open(stack, 'resa', '/?room=e2e-restart');
  const b = await open(stack, 'resb', '/?room=e2e-restart');
  await Promise.all([waitConnected(a.page), waitConnected(b.page)]);
  await send(a.page, 'before the restart');
  await stack.control('broker/restart');
  // Typed while the link is down (or coming back): queued, then delivered.
  await send(a.page, 'typed during the restart (a)');
  await send(b.page, 'typed during the restart (b)');
  await Promise.all([waitConnected(a.page, 45000), waitConnected(b.page, 45000)]);
  await assertExactlyOnce([a.page, b.page],
    ['before the restart', 'typed during the restart (a)', 'typed during the restart (b)'],
    'messages typed during the restart');
  await waitUntil(async () => (await a.page.locator('.lc-own', { hasText: 'typed during the restart (a)' })
    .locator('.lc-delivery').innerText()) === 'delivered', { timeoutMs: 20000, what: 'delivered mark' });
});

test('token endpoint down, then back: the status says so and recovers without a reload', async () => {
  await stack.control('token-endpoint', { mode: 'down' });
  try {
    const u = await open(stack, 'downy', '/?room=e2e-down');
    await waitUntil(async () => {
      const s = await statusText(u.page);
      return /Reconnecting/.test(s) && /credentials/.test(s) ? s : false;
    }, { timeoutMs: 30000, what: 'the status to explain the token failure' });
    const navigations = [];
    u.page.on('framenavigated', (f) => { if (f === u.page.mainFrame()) navigations.push(f.url()); });
    await stack.control('token-endpoint', { mode: 'ok' });
    await waitConnected(u.page, 60000);
    assert.deepEqual(navigations, [], 'no reload');
  } finally {
    await stack.control('token-endpoint', { mode: 'ok' });
  }
});
