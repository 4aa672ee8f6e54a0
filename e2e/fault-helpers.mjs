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
 * `display` runs Chromium headed on that X display (see `openUser`). With `wire`, every MQTT
 * packet of the page's WebSockets is kept in `u.wire` (see `watchMqtt`).
 */
export async function openConfigured(stack, user, pagePath, config = {}, { display = null, extraArgs = [], wire = false } = {}) {
  const u = await openUser(stack, user, null, {
    initScript: () => { window.__livechatBench = { rendered: 0 }; },
    display, extraArgs,
  });
  await u.context.route('**/config.json', async (route) => {
    const res = await route.fetch();
    const body = { ...(await res.json()), ...config };
    await route.fulfill({ response: res, body: JSON.stringify(body), headers: { ...res.headers(), 'content-type': 'application/json' } });
  });
  if (wire) u.wire = watchMqtt(u.page);
  const navigations = [];
  u.page.on('framenavigated', (f) => { if (f === u.page.mainFrame()) navigations.push(f.url()); });
  await u.page.goto(`${stack.base}${pagePath}`, { timeout: 20000 });
  // Navigations after the first load are reloads: a recovery must never need one.
  u.reloads = () => navigations.length - 1;
  return u;
}

/**
 * Reads MQTT 5 packets from a byte stream (WebSocket frames may split or join them): calls
 * `onPacket({ cmd, mid, dup, payload })` for each, `cmd` 'publish', 'puback' or the type number,
 * `mid` the packet id of a QoS > 0 PUBLISH or of a PUBACK.
 */
function mqttReader(onPacket) {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      let len = 0;
      let at = 1;
      for (let shift = 0; ; shift += 7, at++) {
        if (at >= buf.length) return;
        len += (buf[at] & 0x7f) << shift;
        if (!(buf[at] & 0x80)) break;
      }
      const start = at + 1;
      if (buf.length < start + len) return;
      const type = buf[0] >> 4;
      const body = buf.subarray(start, start + len);
      if (type === 3) {
        const qos = (buf[0] >> 1) & 3;
        let i = 2 + body.readUInt16BE(0);
        const mid = qos > 0 ? body.readUInt16BE(i) : undefined;
        if (qos > 0) i += 2;
        let props = 0;
        for (let shift = 0; ; shift += 7) {
          const b = body[i++];
          props += (b & 0x7f) << shift;
          if (!(b & 0x80)) break;
        }
        onPacket({ cmd: 'publish', mid, dup: !!(buf[0] & 8), payload: body.subarray(i + props) });
      } else {
        onPacket({ cmd: type === 4 ? 'puback' : type, mid: type === 4 ? body.readUInt16BE(0) : undefined });
      }
      buf = buf.subarray(start + len);
    }
  };
}

/**
 * Every MQTT 5 packet on `page`'s WebSockets, both ways, read as the test sees the frames
 * (Playwright's frame events): an array that fills with `{ t, dir: 'out'|'in', cmd, mid, id,
 * dup }`, `t` when the test saw it (Date.now()), `id` the chat payload's message id of a PUBLISH.
 */
export function watchMqtt(page) {
  const log = [];
  page.on('websocket', (ws) => {
    for (const [event, dir] of [['framesent', 'out'], ['framereceived', 'in']]) {
      const read = mqttReader((p) => {
        const rec = { t: Date.now(), dir, cmd: p.cmd, mid: p.mid };
        if (p.cmd === 'publish') {
          rec.dup = p.dup;
          try { rec.id = JSON.parse(p.payload.toString()).id; } catch { /* not a chat message */ }
        }
        log.push(rec);
      });
      // A reader error must not escape a Playwright listener (it would end the test process).
      let broken = false;
      ws.on(event, (f) => {
        if (broken || typeof f.payload === 'string') return;
        try { read(f.payload); } catch (e) { broken = true; log.push({ t: Date.now(), dir, cmd: 'unreadable', error: String(e) }); }
      });
    }
  });
  return log;
}

/** The page's protocol counters: PUBLISH packets received, those with DUP set, and own messages published again after a lost link. */
export async function protocolCounts(page) {
  return page.evaluate(() => ({
    publishes: window.__livechatBench?.publishesReceived ?? 0,
    dup: window.__livechatBench?.dupPublishesReceived ?? 0,
    repeated: window.__livechatBench?.repeatedAfterLoss ?? 0,
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
