// 5,000 incoming messages: the page stays responsive and the DOM stays bounded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openUser, waitConnected, waitUntil, send, messageTexts } from './helpers.mjs';

const COUNT = 5000;
const HISTORY_LIMIT = 500;
let stack;
const opened = [];

before(async () => { stack = await startStack(); });
after(async () => {
  for (const u of opened) await u.close();
  await stack?.stop();
});

test('5,000 incoming messages keep the page responsive and the DOM bounded', async () => {
  // The benchmark hook (bench/README.md): the app counts what it committed to the log.
  const reader = await openUser(stack, 'reader', '/?room=e2e-flood', {
    initScript: () => { window.__livechatBench = { rendered: 0 }; },
  });
  opened.push(reader);
  await waitConnected(reader.page);
  // The publisher is a third context on the app's origin (for its token), with no app running.
  const bot = await openUser(stack, 'bot', '/config.json');
  opened.push(bot);
  const { brokerUrl } = await (await fetch(`${stack.base}/config.json`)).json();
  const { publishFromPage } = await import('./helpers.mjs');
  await publishFromPage(bot.page, { brokerUrl, room: 'e2e-flood', count: COUNT });

  const last = `flood message ${COUNT - 1}`;
  await waitUntil(async () => (await messageTexts(reader.page)).includes(last),
    { timeoutMs: 60000, what: 'the last flood message' });
  // Every flood message committed exactly once, though the DOM keeps only the newest.
  await waitUntil(async () => (await reader.page.evaluate(() => window.__livechatBench.rendered)) === COUNT,
    { timeoutMs: 10000, what: `window.__livechatBench.rendered === ${COUNT}` });
  const items = await reader.page.locator('[role="log"] .lc-msg').count();
  assert.ok(items <= HISTORY_LIMIT, `${items} messages in the DOM`);
  assert.ok(items >= HISTORY_LIMIT - 1, `the newest ${HISTORY_LIMIT} are kept (${items})`);
  const nodes = await reader.page.evaluate(() => document.getElementsByTagName('*').length);
  assert.ok(nodes < HISTORY_LIMIT * 12, `${nodes} DOM nodes`);

  // The history is saved on a schedule, not per message (src/room/history.rs): a handful of
  // writes for the whole flood.
  const writes = await reader.page.evaluate(() => window.__livechatBench.storeWrites ?? 0);
  console.log(`figures: flood of ${COUNT}: storage writes=${writes}`);
  assert.ok(writes >= 1, 'the history was saved');
  assert.ok(writes <= COUNT / 50, `${writes} storage writes for ${COUNT} messages`);

  // Still responsive: the user can type and send, and sees it at once.
  await send(reader.page, 'still here after the flood');
  await waitUntil(async () => (await messageTexts(reader.page)).includes('still here after the flood'),
    { timeoutMs: 10000, what: 'the reader\'s own message after the flood' });
  assert.equal(await reader.page.evaluate(() => window.__livechatBench.rendered), COUNT,
    'the own message is not counted as a received one');
  assert.deepEqual(reader.errors, []);
});
