// History and outbox across reloads (issue 14 item 2), on the embedded broker and Mosquitto
// (LIVECHAT_TEST_BROKER=NAME runs one of them): the room's last
// messages come back after a reload, marked as earlier, once, and are not announced; a message
// typed while the broker link is cut survives a reload and reaches the room exactly once, with
// its id; signing out (and another user signing in in the same browser) deletes the records.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openUser, waitConnected, waitUntil, send, messageTexts, statusText, rawClient, sleep, devLogin } from './helpers.mjs';
import { audit, assertNoSeriousViolations, recordLiveRegions, takeAnnouncements } from './a11y.mjs';
import { figure } from './fault-helpers.mjs';

// Both brokers in one run; LIVECHAT_TEST_BROKER narrows it to one.
const BROKERS = process.env.LIVECHAT_TEST_BROKER ? [process.env.LIVECHAT_TEST_BROKER] : ['embedded', 'mosquitto'];

/** Every listed text, earlier and live, in order. */
const allTexts = (page) => page.locator('.lc-list .lc-text').allInnerTexts();
/** The texts under "Earlier messages". */
const earlierTexts = (page) => page.locator('.lc-earlier .lc-text').allInnerTexts();
const countOf = (texts, t) => texts.filter((x) => x === t).length;

/** Everything the app keeps in IndexedDB ({} when it has no database yet), read in the page. */
function stored(page) {
  return page.evaluate(async () => {
    const dbs = await indexedDB.databases();
    if (!dbs.some((d) => d.name === 'livechat')) return {};
    return new Promise((resolve, reject) => {
      const req = indexedDB.open('livechat');
      req.onerror = () => reject(req.error);
      req.onsuccess = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains('kv')) { db.close(); resolve({}); return; }
        const out = {};
        const t = db.transaction('kv', 'readonly');
        const cursor = t.objectStore('kv').openCursor();
        cursor.onsuccess = () => { const c = cursor.result; if (c) { out[c.key] = c.value; c.continue(); } };
        t.oncomplete = () => { db.close(); resolve(out); };
        t.onerror = () => reject(t.error);
      };
    });
  });
}
const recordKey = (user, room) => `room\u001f${user}\u001f${room}`;
const keysOf = async (page, user) => Object.keys(await stored(page)).filter((k) => k.startsWith(`room\u001f${user}\u001f`));

/** The delivery mark of the (one) listed own message with `text`, earlier or live. */
const deliveryOf = (page, text) => page.locator('.lc-list li.lc-own')
  .filter({ has: page.locator('.lc-text', { hasText: text }) }).locator('.lc-delivery').innerText({ timeout: 5000 });

/** Whether any listed earlier message sits inside a live region (the a11y recorder's rule). */
const earlierInLiveRegion = (page) => page.locator('.lc-earlier li').evaluateAll((lis) => lis.some((li) => {
  const implicit = { log: 'polite', status: 'polite', alert: 'assertive' };
  for (let el = li; el; el = el.parentElement) {
    const live = el.getAttribute('aria-live') || implicit[el.getAttribute('role')];
    if (live) return live !== 'off';
  }
  return false;
}));

function suite(BROKER) {
  let stack;
  const opened = [];
  const open = async (...args) => { const u = await openUser(...args); opened.push(u); return u; };

  before(async () => { stack = await startStack({ BROKER }); });
  after(async () => {
    await stack?.control('faults', { mode: 'off' }).catch(() => {});
    for (const u of opened) await u.close();
    await stack?.stop();
  });

  test(`[${BROKER}] the room's history comes back after a reload: marked earlier, once, not announced`, async () => {
    const room = `e2e-hist-${BROKER}`;
    const ann = await open(stack, 'hist-ann', `/?room=${room}`);
    const bob = await open(stack, 'hist-bob', `/?room=${room}`);
    await Promise.all([waitConnected(ann.page), waitConnected(bob.page)]);
    const said = ['first from Ann', 'then Bob', 'and Ann again'];
    await send(ann.page, said[0]);
    await waitUntil(async () => (await messageTexts(bob.page)).includes(said[0]), { what: 'message 1 at Bob' });
    await send(bob.page, said[1]);
    await waitUntil(async () => (await messageTexts(ann.page)).includes(said[1]), { what: 'message 2 at Ann' });
    await send(ann.page, said[2]);
    await waitUntil(async () => (await messageTexts(bob.page)).includes(said[2]), { what: 'message 3 at Bob' });
    await waitUntil(async () => (await deliveryOf(bob.page, said[1])) === 'delivered', { what: 'Bob\'s message delivered' });

    // Reloaded at once: what the 1 s save schedule has not written yet is saved when the page is left.
    await bob.page.reload();
    await waitConnected(bob.page);
    await waitUntil(async () => (await earlierTexts(bob.page)).length === said.length,
      { what: 'three earlier messages after the reload' });
    assert.deepEqual(await earlierTexts(bob.page), said, 'in order, under "Earlier messages"');
    assert.equal(await bob.page.getByRole('heading', { name: 'Earlier messages' }).count(), 1);
    assert.deepEqual(await messageTexts(bob.page), [], 'none of them in the live log');
    assert.equal(await earlierInLiveRegion(bob.page), false, 'restored messages are in no live region');
    // Bob's own restored message is still his, and delivered.
    assert.equal(await deliveryOf(bob.page, said[1]), 'delivered');

    // A new message is announced once, politely, without the restored ones.
    await recordLiveRegions(bob.page);
    await send(ann.page, 'after the reload');
    await waitUntil(async () => (await messageTexts(bob.page)).includes('after the reload'), { what: 'the new message at Bob' });
    await bob.page.waitForTimeout(500);
    const heard = await takeAnnouncements(bob.page);
    assert.deepEqual(heard.map((h) => h.politeness), ['polite'], JSON.stringify(heard));
    assert.match(heard[0].text, /after the reload/);
    assert.doesNotMatch(heard[0].text, /first from Ann|then Bob|Ann again/);
    const texts = await allTexts(bob.page);
    for (const t of [...said, 'after the reload']) assert.equal(countOf(texts, t), 1, `"${t}" listed ${countOf(texts, t)} times`);

    // Ann reloads too: her own messages come back as hers; nothing doubles at either side.
    await ann.page.reload();
    await waitConnected(ann.page);
    await waitUntil(async () => (await earlierTexts(ann.page)).length === 4, { what: 'Ann\'s four earlier messages' });
    assert.equal(await ann.page.locator('.lc-earlier li.lc-own').count(), 3);
    assertNoSeriousViolations('earlier messages', await audit(bob.page));
    assert.deepEqual(bob.errors, []);
    assert.deepEqual(ann.errors, []);
  });

  test(`[${BROKER}] a message typed while the link is cut survives a reload and reaches the room exactly once`, async () => {
    const room = `e2e-outbox-${BROKER}`;
    const carol = await open(stack, 'box-carol', `/?room=${room}`);
    const dave = await open(stack, 'box-dave', `/?room=${room}`);
    await Promise.all([waitConnected(carol.page), waitConnected(dave.page)]);
    // A raw subscriber counts the copies the broker delivers, with their ids.
    const wire = await rawClient(stack, 'box-watch');
    await wire.subscribe(`chat/${room}/messages/+`);
    await send(carol.page, 'before the cut');
    await waitUntil(async () => (await messageTexts(dave.page)).includes('before the cut'), { what: 'the first message at Dave' });

    const text = 'typed while the link was cut';
    await stack.control('faults', { mode: 'blackhole', scope: `user:${carol.user}` });
    try {
      await send(carol.page, text);
      await waitUntil(async () => ['queued', 'sent'].includes(await deliveryOf(carol.page, text)), { what: 'the message waiting at Carol' });
      const id = await carol.page.locator('.lc-list li.lc-own', { hasText: text }).getAttribute('data-id');
      assert.match(id, /^[0-9a-f]{32}$/);

      // The tab is reloaded while the message waits; the link is still cut.
      await carol.page.reload();
      await waitUntil(async () => (await earlierTexts(carol.page)).includes(text), { what: 'the unsent message back at Carol' });
      assert.equal(await deliveryOf(carol.page, text), 'queued', 'shown as queued until the broker has it');
      assert.equal(await carol.page.locator('.lc-list li.lc-own', { hasText: text }).getAttribute('data-id'), id, 'same id');
      assertNoSeriousViolations('outbox after a reload', await audit(carol.page));

      // Healed: it is sent, once.
      await stack.control('faults', { mode: 'off' });
      await waitConnected(carol.page, 60000);
      await waitUntil(async () => (await messageTexts(dave.page)).includes(text), { timeoutMs: 30000, what: 'the message at Dave' });
      await waitUntil(async () => (await deliveryOf(carol.page, text)) === 'delivered', { what: '"delivered" at Carol' });
      await sleep(1000); // a late second copy would show by now
      for (const [who, page] of [['Dave', dave.page], ['Carol', carol.page]]) {
        const texts = await allTexts(page);
        assert.equal(countOf(texts, text), 1, `listed ${countOf(texts, text)} times at ${who}`);
      }
      const copies = wire.received.filter((m) => m.text.includes(text));
      figure(`[${BROKER}] outbox across a reload`, { wireCopies: copies.length });
      assert.ok(copies.length >= 1);
      for (const c of copies) assert.equal(JSON.parse(c.text).id, id, 'every copy carries the same id');

      // Acknowledged: a second reload shows it as an earlier, delivered message, and sends nothing.
      await carol.page.reload();
      await waitConnected(carol.page);
      await waitUntil(async () => (await earlierTexts(carol.page)).includes(text), { what: 'the message in Carol\'s history' });
      assert.equal(await deliveryOf(carol.page, text), 'delivered');
      await sleep(1000);
      assert.equal(wire.received.filter((m) => m.text.includes(text)).length, copies.length, 'not sent again');
      assert.equal(countOf(await allTexts(dave.page), text), 1);
    } finally {
      await stack.control('faults', { mode: 'off' }).catch(() => {});
      await wire.end();
    }
    assert.deepEqual(dave.errors, []);
  });

  test(`[${BROKER}] signing out deletes the user's stored history and outbox`, async () => {
    const room = `e2e-signout-${BROKER}`;
    const erin = await open(stack, 'out-erin', `/?room=${room}`);
    await waitConnected(erin.page);
    await send(erin.page, 'erin was here');
    await waitUntil(async () => (await deliveryOf(erin.page, 'erin was here')) === 'delivered', { what: 'delivered' });
    await waitUntil(async () => (await stored(erin.page))[recordKey('out-erin', room)]?.includes('erin was here'),
      { what: 'Erin\'s record saved' });
    assert.equal((await stored(erin.page)).user, 'out-erin', 'the user marker names Erin');

    await erin.page.evaluate(() => fetch('/dev/logout', { credentials: 'include', redirect: 'manual' }));
    await waitUntil(async () => /Signed out/.test(await statusText(erin.page)), { timeoutMs: 30000, what: 'status "Signed out"' });
    await waitUntil(async () => Object.keys(await stored(erin.page)).length === 0, { what: 'the records deleted' });

    // Back after a reload: signed out, nothing restored.
    await erin.page.reload();
    await waitUntil(async () => /Signed out/.test(await statusText(erin.page)), { what: 'still signed out' });
    await sleep(500);
    assert.deepEqual(await earlierTexts(erin.page), []);
    assert.deepEqual(await stored(erin.page), {});
  });

  test(`[${BROKER}] another user signing in in the same browser removes the previous user's records`, async () => {
    const room = `e2e-switch-${BROKER}`;
    const frank = await open(stack, 'sw-frank', `/?room=${room}`);
    await waitConnected(frank.page);
    await send(frank.page, 'frank\'s words');
    await waitUntil(async () => (await keysOf(frank.page, 'sw-frank')).length === 1
      && (await stored(frank.page))[recordKey('sw-frank', room)].includes('frank\'s words'), { what: 'Frank\'s record saved' });

    // The same browser profile signs in as Gina (the dev sign-in replaces the session cookie).
    await frank.page.goto(`${stack.base}/dev/login?user=sw-gina&next=${encodeURIComponent(`/?room=${room}`)}`);
    await waitConnected(frank.page);
    await waitUntil(async () => (await keysOf(frank.page, 'sw-frank')).length === 0, { what: 'Frank\'s records deleted' });
    assert.equal((await stored(frank.page)).user, 'sw-gina');
    await sleep(1000);
    // Nothing of Frank's browser record: what Gina may see of the room comes from the host's
    // history (historyUrl, embedded broker), as for anyone in the room, and none of it as hers.
    const host = (await (await fetch(`${stack.base}/config.json`)).json()).historyUrl;
    assert.deepEqual(await earlierTexts(frank.page), host ? ['frank\'s words'] : []);
    assert.equal(await frank.page.locator('.lc-earlier li.lc-own').count(), 0);
  });

  /** Console warnings of `u`'s page from now on. */
  function warnings(u) {
    const out = [];
    u.page.on('console', (m) => { if (m.type() === 'warning') out.push(m.text()); });
    return out;
  }

  test(`[${BROKER}] without IndexedDB the history is kept in localStorage, and the console says so once`, async () => {
    const room = `e2e-local-${BROKER}`;
    const u = await open(stack, 'ls-hana', null, {
      // As in a private mode where IndexedDB cannot be opened.
      initScript: () => { Object.defineProperty(window, 'indexedDB', { value: undefined, configurable: true }); },
    });
    const said = warnings(u);
    await u.page.goto(`${stack.base}/?room=${room}`);
    await waitConnected(u.page);
    await send(u.page, 'kept in localStorage');
    await waitUntil(async () => (await deliveryOf(u.page, 'kept in localStorage')) === 'delivered', { what: 'delivered' });
    const keys = await u.page.evaluate(() => Object.keys(localStorage));
    assert.ok(keys.includes(`livechat\u001f${recordKey("ls-hana", room)}`), JSON.stringify(keys));
    await u.page.reload();
    await waitUntil(async () => (await earlierTexts(u.page)).includes('kept in localStorage'), { what: 'the message back after the reload' });
    const about = said.filter((w) => /localStorage/.test(w));
    assert.equal(about.length, 2, `said once per page load: ${JSON.stringify(said)}`);
    assert.deepEqual(u.errors, []);
  });

  test(`[${BROKER}] a storage quota error leaves the chat working and is said once`, async () => {
    const room = `e2e-quota-${BROKER}`;
    const u = await open(stack, 'q-ivan', null, {
      initScript: () => {
        IDBObjectStore.prototype.put = function put() { throw new DOMException('storage is full', 'QuotaExceededError'); };
      },
    });
    const said = warnings(u);
    const peer = await open(stack, 'q-jo', `/?room=${room}`);
    await u.page.goto(`${stack.base}/?room=${room}`);
    await Promise.all([waitConnected(u.page), waitConnected(peer.page)]);
    for (const t of ['one despite the quota', 'two despite the quota', 'three despite the quota']) {
      await send(u.page, t);
      await waitUntil(async () => (await messageTexts(peer.page)).includes(t), { what: `"${t}" at the peer` });
      await waitUntil(async () => (await deliveryOf(u.page, t)) === 'delivered', { what: `"${t}" delivered` });
    }
    await send(peer.page, 'and an answer');
    await waitUntil(async () => (await messageTexts(u.page)).includes('and an answer'), { what: 'the answer' });
    const quota = said.filter((w) => /QuotaExceededError/.test(w));
    assert.equal(quota.length, 1, `said once: ${JSON.stringify(said)}`);
    assert.deepEqual(u.errors, []);
  });

  test(`[${BROKER}] the host's room history (historyUrl) shows a newcomer what was said, merged once with what the browser kept`,
    { skip: BROKER !== 'embedded' && 'the dev stack keeps room history for the embedded broker only' }, async () => {
      const room = `e2e-host-${BROKER}`;
      const config = await (await fetch(`${stack.base}/config.json`)).json();
      assert.equal(config.historyUrl, '/api/history');
      // The endpoint answers signed-in users who may read the room, nobody else.
      assert.equal((await fetch(`${stack.base}/api/history?room=${room}`)).status, 401);
      const cookie = await devLogin(stack, 'host-nobody');
      assert.equal((await fetch(`${stack.base}/api/history?room=admin`, { headers: { cookie } })).status, 403);
      assert.equal((await fetch(`${stack.base}/api/history?room=no%20spaces`, { headers: { cookie } })).status, 400);

      const kim = await open(stack, 'host-kim', `/?room=${room}`);
      const leo = await open(stack, 'host-leo', `/?room=${room}`);
      await Promise.all([waitConnected(kim.page), waitConnected(leo.page)]);
      await send(kim.page, 'said before Mia came');
      await waitUntil(async () => (await messageTexts(leo.page)).includes('said before Mia came'), { what: 'Kim\'s message at Leo' });
      await send(leo.page, 'and Leo too');
      await waitUntil(async () => (await messageTexts(kim.page)).includes('and Leo too'), { what: 'Leo\'s message at Kim' });

      // Mia's browser never saw the room: what she sees first comes from the host.
      const mia = await open(stack, 'host-mia', `/?room=${room}`);
      await waitConnected(mia.page);
      await waitUntil(async () => (await earlierTexts(mia.page)).length === 2, { what: 'the host\'s two messages at Mia' });
      assert.deepEqual(await earlierTexts(mia.page), ['said before Mia came', 'and Leo too']);
      const authors = await mia.page.locator('.lc-earlier li').evaluateAll((lis) => lis.map((li) => [li.dataset.author, li.dataset.verified]));
      assert.deepEqual(authors, [['host-kim', 'true'], ['host-leo', 'true']]);

      // Kim reloads: her browser's copy and the host's are the same messages, listed once.
      await kim.page.reload();
      await waitConnected(kim.page);
      await waitUntil(async () => (await earlierTexts(kim.page)).length >= 2, { what: 'Kim\'s earlier messages' });
      await sleep(1000); // the host's answer comes after the browser's own record
      const texts = await allTexts(kim.page);
      for (const t of ['said before Mia came', 'and Leo too']) assert.equal(countOf(texts, t), 1, `"${t}" listed ${countOf(texts, t)} times`);
      assert.deepEqual(mia.errors, []);
    });

  test(`[${BROKER}] a message the host's history already holds when its live copy arrives is listed live, once, and announced`,
    { skip: BROKER !== 'embedded' && 'the dev stack keeps room history for the embedded broker only' }, async () => {
      // The race CI hit under load: Ben's history request reached the host after Ann's message
      // did, and its answer reached the page before the live copy, which was then dropped as a
      // duplicate. Here it is forced: Ben's request is held, his broker link stalled.
      const room = `e2e-race-${BROKER}`;
      const ann = await open(stack, 'race-ann', `/?room=${room}`);
      const ben = await open(stack, 'race-ben', null);
      let release;
      const held = new Promise((r) => { release = r; });
      let asked = false;
      await ben.page.route((url) => url.pathname === '/api/history', async (route) => {
        asked = true;
        await held;
        await route.continue();
      });
      await ben.page.goto(`${stack.base}/?room=${room}`);
      await Promise.all([waitConnected(ann.page), waitConnected(ben.page)]);
      await waitUntil(async () => asked, { what: 'Ben\'s history request' });

      await stack.control('faults', { mode: 'stall', scope: `user:${ben.user}` });
      try {
        await send(ann.page, 'raced the history');
        await waitUntil(async () => (await deliveryOf(ann.page, 'raced the history')) === 'delivered', { what: 'Ann\'s message delivered' });
        const cookie = await devLogin(stack, 'race-ann');
        await waitUntil(async () => {
          const { messages } = await (await fetch(`${stack.base}/api/history?room=${room}`, { headers: { cookie } })).json();
          return messages.some((m) => m.text === 'raced the history');
        }, { what: 'the message in the host\'s history' });
        release();
        await waitUntil(async () => (await earlierTexts(ben.page)).includes('raced the history'),
          { what: 'the host\'s copy at Ben, before the live one' });
      } finally {
        release();
      }
      await recordLiveRegions(ben.page);
      await stack.control('faults', { mode: 'off' });
      await waitUntil(async () => (await messageTexts(ben.page)).includes('raced the history'), { what: 'the live copy at Ben' });
      assert.deepEqual(await earlierTexts(ben.page), [], 'moved out of the earlier messages');
      assert.equal(countOf(await allTexts(ben.page), 'raced the history'), 1);
      await ben.page.waitForTimeout(500);
      const heard = await takeAnnouncements(ben.page);
      assert.deepEqual(heard.map((h) => h.politeness), ['polite'], JSON.stringify(heard));
      assert.match(heard[0].text, /raced the history/);
      assert.deepEqual(ben.errors, []);
    });
}

for (const broker of BROKERS) describe(`history and outbox on ${broker}`, () => suite(broker));
