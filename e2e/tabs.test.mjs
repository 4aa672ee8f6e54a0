// One connection for all tabs of a browser (issue 14 item 3), on both brokers: five tabs of one
// signed-in user in one browser context hold one broker connection and made one token request;
// messages go from and to every tab; then the leading tab is closed, and the next leader is
// crashed (CDP Page.crash), while messages flow both ways: another tab takes over with one
// token request and one connection, every tab takes what is typed, nothing shows twice, and
// nothing is lost across the handover: every message of bob's and of the tabs, sent before,
// during and after it, reaches every remaining tab and bob. The handover's gap is printed as a
// `figures:` line (measured, not asserted). Also: a browser without Web Locks runs one
// connection per tab.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openUser, waitConnected, waitUntil, rawClient, messageTexts, send, statusText, sleep } from './helpers.mjs';

const BROKERS = (process.env.LIVECHAT_TABS_BROKERS || 'embedded,mosquitto').split(',');
const TABS = 5;
const stacks = [];
const opened = [];
after(async () => {
  for (const u of opened) await u.close();
  for (const s of stacks) await s.stop();
});

/** Server-side count of token requests (every user), from the dev stack's control endpoint. */
async function tokenRequests(stack) {
  const res = await fetch(`${stack.base}/dev/control`, { signal: AbortSignal.timeout(5000) });
  return (await res.json()).tokenRequests;
}

/** A page of `context` at `url` whose WebSockets and token requests are recorded in `log`. */
async function openTab(context, url, log, name) {
  const page = await context.newPage();
  const tab = { page, name, sockets: [], errors: [], closed: false };
  page.on('websocket', (ws) => {
    const entry = { url: ws.url(), tab: name, openedAt: Date.now(), closedAt: null };
    tab.sockets.push(entry);
    log.sockets.push(entry);
    ws.on('close', () => { entry.closedAt = Date.now(); });
  });
  page.on('request', (r) => { if (new URL(r.url()).pathname.startsWith('/api/mqtt-token')) log.tokens.push({ at: Date.now(), tab: name, path: new URL(r.url()).pathname }); });
  page.on('pageerror', (e) => tab.errors.push(String(e)));
  await page.goto(url, { timeout: 20000 });
  return tab;
}

const liveSockets = (tab) => tab.sockets.filter((s) => s.closedAt === null).length;
/** Sends `text` from `tab` and checks the app took it (the composer empties; a refused draft stays). */
async function say(tab, text) {
  await send(tab.page, text);
  const box = tab.page.getByRole('textbox', { name: 'Message' });
  await waitUntil(async () => (await box.inputValue()) === '', { timeoutMs: 5000, what: `${tab.name} accepts "${text}"` });
}

/** How often each text is listed in `page`. */
async function counts(page) {
  const m = new Map();
  for (const t of await messageTexts(page)) m.set(t, (m.get(t) || 0) + 1);
  return m;
}

/**
 * Waits until every text in `texts` is listed in every tab of `tabs` (at most `timeoutMs`), then
 * checks that none is listed twice. Returns the texts still missing per tab (`strict`: throws
 * instead).
 */
async function checkEachOnce(tabs, texts, what, { strict = true, timeoutMs = 30000 } = {}) {
  const lost = {};
  for (const tab of tabs) {
    let missing = [];
    await waitUntil(async () => {
      const c = await counts(tab.page);
      missing = texts.filter((t) => !(c.get(t) >= 1));
      return missing.length === 0;
    }, { timeoutMs, what: `${what}: all ${texts.length} messages in ${tab.name}` }).catch((e) => {
      if (strict) throw new Error(`${e.message}; missing: ${JSON.stringify(missing)}`);
    });
    if (missing.length) lost[tab.name] = missing;
    // Anything shown twice would show by now (the duplicate follows its original at once).
    await sleep(300);
    const c = await counts(tab.page);
    const twice = texts.filter((t) => c.get(t) > 1);
    assert.deepEqual(twice, [], `${what}: shown more than once in ${tab.name}`);
  }
  return lost;
}

for (const broker of BROKERS) {
  test(`${broker}: five tabs share one connection and one token; a closed and a crashed leader hand over, nothing lost`, { timeout: 240000 }, async () => {
    const stack = await startStack({ BROKER: broker, TOKEN_TTL_SECS: '3600' });
    stacks.push(stack);
    const room = `tabs-${broker}`;
    const url = `${stack.base}/?room=${room}`;
    // Bob, elsewhere: a raw MQTT client that writes into the room and reads it.
    const bob = await rawClient(stack, 'bob');
    await bob.subscribe(`chat/${room}/messages/+`, { qos: 1 });
    let bobSeq = 0;
    const bobSays = async (text) => {
      const payload = JSON.stringify({ id: `bob-${broker}-${bobSeq++}`, user: 'bob', text, timestamp: Date.now() });
      await bob.client.publishAsync(`chat/${room}/messages/bob`, payload, { qos: 1 });
    };
    const bobHeard = () => {
      const byId = new Map();
      for (const r of bob.received) {
        try { const m = JSON.parse(r.text); byId.set(m.id, m.text); } catch { /* not a chat message */ }
      }
      return new Set(byId.values());
    };

    // Alice: one browser (one context, one cookie jar), five tabs.
    const alice = await openUser(stack, 'alice', null);
    opened.push(alice);
    const log = { sockets: [], tokens: [] };
    const before = await tokenRequests(stack);
    const tabs = [await openTab(alice.context, url, log, 'tab1')];
    await waitConnected(tabs[0].page);
    for (let i = 2; i <= TABS; i++) tabs.push(await openTab(alice.context, url, log, `tab${i}`));
    for (const t of tabs) await waitConnected(t.page);
    await sleep(1000); // anything a tab would open or ask for late shows by now
    const afterOpen = await tokenRequests(stack);
    const live = () => log.sockets.filter((s) => s.closedAt === null);
    console.log(`figures: ${broker}: ${TABS} tabs: ${live().length} broker connection(s) open, ${log.sockets.length} WebSocket(s) opened in all (by ${[...new Set(log.sockets.map((s) => s.tab))]}), ${log.tokens.length} token request(s) from the tabs, ${afterOpen - before} at the token endpoint`);
    // One connection at a time, all opened by the leading tab (a refused first CONNECT, as a
    // broker without retained Wills gives, is made again on a new socket).
    assert.equal(live().length, 1, 'one broker connection for five tabs');
    assert.deepEqual([...new Set(log.sockets.map((s) => s.tab))], ['tab1'], 'opened by the leading tab only');
    assert.equal(afterOpen - before, 1, 'one token request for five tabs');
    assert.equal(log.tokens.length, 1);

    // Messages from and to every tab.
    for (const t of tabs) await say(t, `from ${t.name} (${broker})`);
    await bobSays(`bob to all (${broker})`);
    const first = [...tabs.map((t) => `from ${t.name} (${broker})`), `bob to all (${broker})`];
    await checkEachOnce(tabs, first, 'before any handover');
    await waitUntil(() => tabs.every((t) => bobHeard().has(`from ${t.name} (${broker})`)), { what: 'bob hears every tab' });

    // Two handovers: the leader's tab closed, then the next leader crashed.
    for (const how of ['close', 'crash']) {
      const alive = tabs.filter((t) => !t.closed);
      const leader = alive.find((t) => liveSockets(t) > 0);
      assert.ok(leader, 'one tab holds the socket');
      assert.equal(alive.filter((t) => liveSockets(t) > 0).length, 1, 'only one');
      const rest = alive.filter((t) => t !== leader);
      const tokensBefore = await tokenRequests(stack);
      const socketsBefore = log.sockets.length;

      // Messages flow both ways around the handover: bob every 100 ms, each remaining tab
      // twice (once as the leader goes, once right after).
      const texts = [];
      let flowing = true;
      const bobFlow = (async () => {
        for (let n = 0; flowing && n < 60; n++) {
          const text = `bob ${how} ${n} (${broker})`;
          texts.push(text);
          await bobSays(text);
          await sleep(100);
        }
      })();
      await sleep(150);
      // And a burst as fast as the broker takes them, across the moment the leader goes: a
      // message the leader receives just before it goes is the one most easily lost (until
      // 2026-11-30 a closing leader could acknowledge one to the broker while its post to the
      // other tabs was dropped with the page: docs/ARCHITECTURE.md, "A message is acknowledged only
      // once the other tabs have it").
      const burstUntil = Date.now() + 450;
      const bobBurst = (async () => {
        for (let n = 0; n < 200 && Date.now() < burstUntil; n++) {
          const text = `bob ${how} burst ${n} (${broker})`;
          texts.push(text);
          await bobSays(text);
        }
      })();
      await sleep(150);
      const t0 = Date.now();
      if (how === 'close') {
        await leader.page.close({ runBeforeUnload: false });
      } else {
        const cdp = await leader.page.context().newCDPSession(leader.page);
        cdp.send('Page.crash').catch(() => {}); // never answers: the renderer is gone
      }
      leader.closed = true;
      const mine = [];
      for (const t of rest) {
        const text = `${t.name} during ${how} (${broker})`;
        mine.push(text);
        await say(t, text);
      }
      // The gap: until a remaining tab holds a new socket and every tab says Connected again.
      await waitUntil(() => log.sockets.length > socketsBefore, { timeoutMs: 30000, intervalMs: 10, what: 'a new leader\'s socket' });
      const socketAt = Date.now();
      for (const t of rest) await waitConnected(t.page, 30000);
      const connectedAt = Date.now();
      for (const t of rest) {
        const text = `${t.name} after ${how} (${broker})`;
        mine.push(text);
        await say(t, text);
      }
      await sleep(1000);
      flowing = false;
      await bobFlow;
      await bobBurst;

      // Nothing is lost and nothing shows twice. (Until 2026-11-29 about one run in ten lost
      // one of bob's messages in one tab on the embedded broker; the likely cause, a copy from
      // the host's history hiding the live one, is fixed: docs/ARCHITECTURE.md.)
      let bobMisses = [];
      await waitUntil(() => {
        bobMisses = mine.filter((t) => !bobHeard().has(t));
        return bobMisses.length === 0;
      }, { timeoutMs: 20000, what: `bob hears every tab's messages across the ${how}` })
        .catch(async (e) => {
          const shown = [];
          for (const t of rest) {
            const items = await t.page.locator('[role="log"] li').allInnerTexts().catch(() => []);
            shown.push(`${t.name}: ${JSON.stringify(items.filter((i) => bobMisses.some((m) => i.includes(m))))}`);
          }
          const why = `${e.message}; bob misses ${JSON.stringify(bobMisses)}; the tabs show ${shown.join('; ')}`;
          console.log(`figures: ${broker}: leader ${how}: ${why}`);
        });
      const lost = await checkEachOnce(rest, [...texts, ...mine], `${how} of the leader`, { strict: false, timeoutMs: 20000 });
      const lostTexts = new Set(Object.values(lost).flat());
      const wireDup = bob.received.length - new Set(bob.received.map((r) => r.text)).size;
      const tokensAfter = await tokenRequests(stack);
      const newSockets = log.sockets.length - socketsBefore;
      console.log(`figures: ${broker}: leader ${how}: new leader's socket after ${socketAt - t0} ms, every tab connected after ${connectedAt - t0} ms; ${texts.length} messages from bob and ${mine.length} from the tabs, ${lostTexts.size} lost in the tabs (${JSON.stringify(lost)}) and ${bobMisses.length} at bob, none shown twice; ${tokensAfter - tokensBefore} token request(s), ${newSockets} socket(s) opened by the new leader; bob received ${wireDup} duplicate publish(es) on the wire so far (dropped by id)`);
      assert.deepEqual(bobMisses, [], `bob hears every tab's messages across the ${how}`);
      assert.deepEqual(lost, {}, `every tab lists every message across the ${how}`);
      assert.equal(tokensAfter - tokensBefore, 1, 'one token request for the handover');
      const openers = new Set(log.sockets.slice(socketsBefore).map((s) => s.tab));
      assert.equal(openers.size, 1, 'only the new leader opens sockets');
      assert.equal(rest.filter((t) => liveSockets(t) > 0).length, 1, 'one tab holds the connection');
      assert.equal(rest.reduce((n, t) => n + liveSockets(t), 0), 1, 'one connection');
      for (const t of rest) assert.deepEqual(t.errors, [], `no page errors in ${t.name}`);
    }
  });
}

test('without Web Locks each tab runs its own connection (the fallback)', { timeout: 120000 }, async () => {
  const stack = stacks[0] || await startStack({ BROKER: 'embedded' });
  if (!stacks.includes(stack)) stacks.push(stack);
  const u = await openUser(stack, 'carol', null, {
    initScript: () => { Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined, configurable: true }); },
  });
  opened.push(u);
  const log = { sockets: [], tokens: [] };
  const url = `${stack.base}/?room=tabs-fallback`;
  const a = await openTab(u.context, url, log, 'a');
  const b = await openTab(u.context, url, log, 'b');
  await Promise.all([waitConnected(a.page), waitConnected(b.page)]);
  await send(a.page, 'fallback from a');
  await waitUntil(async () => (await messageTexts(b.page)).includes('fallback from a'), { what: 'b reads a' });
  console.log(`figures: fallback (no navigator.locks): 2 tabs, ${log.sockets.length} WebSockets, ${log.tokens.length} token requests`);
  assert.equal(liveSockets(a) + liveSockets(b), 2, 'one connection per tab');
  assert.equal(log.tokens.length, 2);
  assert.match(await statusText(b.page), /Connected/);
});

test('embedded: with short tokens only the leading tab asks for them, once per refresh period', { timeout: 120000 }, async () => {
  const TTL = 6;
  const stack = await startStack({ BROKER: 'embedded', TOKEN_TTL_SECS: String(TTL) });
  stacks.push(stack);
  const u = await openUser(stack, 'dora', null);
  opened.push(u);
  const log = { sockets: [], tokens: [] };
  const url = `${stack.base}/?room=tabs-refresh`;
  const tabs = [await openTab(u.context, url, log, 'tab1')];
  await waitConnected(tabs[0].page);
  for (let i = 2; i <= TABS; i++) tabs.push(await openTab(u.context, url, log, `tab${i}`));
  for (const t of tabs) await waitConnected(t.page);
  const start = log.tokens.length;
  const t0 = Date.now();
  await sleep(4 * TTL * 1000);
  const asked = log.tokens.slice(start);
  const seconds = (Date.now() - t0) / 1000;
  const periods = seconds / (0.9 * TTL);
  console.log(`figures: embedded: ${TABS} tabs, token TTL ${TTL} s (refresh at 90 %): ${asked.length} token requests in ${seconds.toFixed(1)} s (${periods.toFixed(1)} refresh periods), from ${JSON.stringify([...new Set(asked.map((a) => a.tab))])}; ${log.sockets.filter((s) => s.closedAt === null).length} connection(s) open at the end`);
  assert.deepEqual([...new Set(asked.map((a) => a.tab))], ['tab1'], 'only the leading tab asks');
  assert.ok(asked.length >= 1, 'the leader refreshed');
  for (const t of tabs) assert.match(await statusText(t.page), /Connected/);
});
