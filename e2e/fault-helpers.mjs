// Helpers of the fault tests (e2e/faults*.test.mjs): which broker gets the full matrix, a page
// whose site configuration adds settings (a short keep-alive, the shared topic), the stack's
// token request log, the page's protocol counters, exactly-once checks, figures in the output.
import assert from 'node:assert/strict';
import { openUser, statusText, waitUntil, messageTexts, sleep } from './helpers.mjs';

/**
 * The broker that runs every fault test; the other runs the smoke subset (see README.md,
 * "Tests"). The embedded broker is the full one: it is what the dev stack runs by default, and
 * it loses nothing across a kill (its file storage keeps sessions and queued messages), so the
 * zero-loss requirement can hold there. Mosquitto runs the smoke subset, including its own
 * DISCONNECT 0x98 kick and a real `kill -9`.
 */
export const FULL_BROKER = 'embedded';
export const SMOKE_BROKER = 'mosquitto';

/** Prints one line of figures into the test output (TAP diagnostics via stdout). */
export function figure(what, values) {
  const text = Object.entries(values).map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : v}`).join(' ');
  console.log(`figures: ${what}: ${text}`);
}

/**
 * Opens `user` at `pagePath` with the site's config.json extended by `config` (e.g.
 * `{ keepAlive: 3 }`), the way a site sets a `data-*` attribute. The page defines the test hook
 * object (`window.__livechatBench`), through which the app reports its protocol counters.
 * `display` runs Chromium headed on that X display (see `openUser`).
 */
export async function openConfigured(stack, user, pagePath, config = {}, { display = null, extraArgs = [] } = {}) {
  const u = await openUser(stack, user, null, {
    initScript: () => { window.__livechatBench = { rendered: 0 }; },
    display, extraArgs,
  });
  await u.context.route('**/config.json', async (route) => {
    const res = await route.fetch();
    const body = { ...(await res.json()), ...config };
    await route.fulfill({ response: res, body: JSON.stringify(body), headers: { ...res.headers(), 'content-type': 'application/json' } });
  });
  const navigations = [];
  u.page.on('framenavigated', (f) => { if (f === u.page.mainFrame()) navigations.push(f.url()); });
  await u.page.goto(`${stack.base}${pagePath}`, { timeout: 20000 });
  // Navigations after the first load are reloads: a recovery must never need one.
  u.reloads = () => navigations.length - 1;
  return u;
}

/** The page's protocol counters: PUBLISH packets received, and those with DUP set. */
export async function protocolCounts(page) {
  return page.evaluate(() => ({
    publishes: window.__livechatBench?.publishesReceived ?? 0,
    dup: window.__livechatBench?.dupPublishesReceived ?? 0,
  }));
}

/** `GET /dev/control`: token request count and arrival times (ms since the epoch). */
export async function controlState(stack) {
  const res = await fetch(`${stack.base}/dev/control`, { signal: AbortSignal.timeout(10000) });
  if (!res.ok) throw new Error(`/dev/control answered ${res.status}`);
  return res.json();
}

/** Token request arrival times (ms since the epoch) after `since`. */
export async function tokenRequestsSince(stack, since) {
  return (await controlState(stack)).tokenRequestTimes.filter((t) => t >= since);
}

/** Waits until the status says exactly "Connected"; resolves to when (Date.now()). */
export async function connectedAt(page, timeoutMs = 30000, what = 'status "Connected"') {
  await waitUntil(async () => (await statusText(page)).trim() === 'Connected', { timeoutMs, intervalMs: 50, what });
  return Date.now();
}

/** Waits until the status no longer says "Connected"; resolves to `{ at, text }`. */
export async function leftConnected(page, timeoutMs, what = 'the status to leave "Connected"') {
  const text = await waitUntil(async () => {
    const s = (await statusText(page)).trim();
    return s !== 'Connected' && !s.startsWith('Connected,') ? s : false;
  }, { timeoutMs, intervalMs: 50, what });
  return { at: Date.now(), text };
}

const countOf = (texts, t) => texts.filter((x) => x === t).length;

/**
 * Waits until every text of `expected` is listed on every page, then asserts each is listed
 * exactly once. Returns `{ waitedMs }`.
 */
export async function assertExactlyOnce(pages, expected, what, timeoutMs = 60000) {
  const start = Date.now();
  try {
    await waitUntil(async () => {
      for (const p of pages) {
        const texts = await messageTexts(p);
        if (!expected.every((t) => countOf(texts, t) >= 1)) return false;
      }
      return true;
    }, { timeoutMs, what });
  } catch (e) {
    const missing = [];
    for (const [i, p] of pages.entries()) {
      const texts = await messageTexts(p).catch(() => []);
      const gone = expected.filter((t) => countOf(texts, t) === 0);
      if (gone.length) missing.push(`page ${i} lacks ${gone.length}: ${JSON.stringify(gone.slice(0, 12))}`);
    }
    throw new Error(`${e.message}; ${missing.join('; ')}`);
  }
  // A late duplicate would show up right after: look again a moment later.
  await sleep(500);
  for (const p of pages) {
    const texts = await messageTexts(p);
    for (const t of expected) assert.equal(countOf(texts, t), 1, `"${t}" listed ${countOf(texts, t)} times`);
  }
  return { waitedMs: Date.now() - start };
}

/** The delivery mark (`.lc-delivery` text) of the own message whose text is `text`. */
export async function deliveryOf(page, text) {
  const li = page.locator('[role="log"] li.lc-own').filter({ has: page.locator('.lc-text', { hasText: text }) });
  return (await li.locator('.lc-delivery').textContent({ timeout: 5000 }))?.trim();
}
