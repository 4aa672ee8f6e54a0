// Trust (issue 10), on both brokers: a hostile user holding a valid token of her own cannot post
// as someone else, hide or acknowledge someone else's message, post on another author's topic or
// the shared topic, or leave a retained post for late joiners; the CloudSignal quickstart's exact
// wire format works both ways (CHAT_ACL=quickstart) and beside verified authors (CHAT_ACL=mixed).
//
// Alice, Bob (and Carol, a late joiner) are Chromium pages; Mallory and the quickstart client are
// raw MQTT clients (npm `mqtt`, MQTT 5 and 3.1.1) with tokens fetched the way a browser does.
// LIVECHAT_TRUST_BROKERS=embedded (or mosquitto) runs one broker only.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  startStack, openUser, waitUntil, send, sleep, rawClient, tryPublish, messageRecords, statusText,
} from './helpers.mjs';

const BROKERS = (process.env.LIVECHAT_TRUST_BROKERS || 'embedded,mosquitto').split(',').map((b) => b.trim()).filter(Boolean);
const ROOM = 'lobby';
const SHARED = `chat/${ROOM}/messages`;
const authorTopic = (user) => `${SHARED}/${user}`;
const newId = () => randomBytes(16).toString('base64url');
const QUICKSTART_PAYLOAD = '{"user":"user-123","text":"hello from quickstart","timestamp":1764000000000}';

/** "Connected" possibly followed by more words (shared mode may say so in the status). */
async function waitInRoom(page, timeoutMs = 30000) {
  await waitUntil(async () => /^Connected\b/.test((await statusText(page)).trim()),
    { timeoutMs, what: 'status "Connected"' });
}

/** Waits until every `texts` entry is listed at least `min` times in `page`. */
async function waitShown(page, texts, what, { timeoutMs = 20000, where = () => true } = {}) {
  await waitUntil(async () => {
    const recs = (await messageRecords(page)).filter(where);
    return texts.every((t) => recs.some((r) => r.text === t));
  }, { timeoutMs, what });
}

const count = (recs, pred) => recs.filter(pred).length;
const wireText = (m) => { try { return JSON.parse(m.text).text; } catch { return null; } };

/**
 * Opens `user` at the room with every page→broker WebSocket frame passing through a filter:
 * frames containing `filter.dropMarker` (bytes) are held back (never reach the broker) and kept
 * in `filter.dropped`.
 */
async function openFiltered(stack, user, opened) {
  const u = await openUser(stack, user, null);
  opened.push(u);
  const filter = { dropMarker: null, dropped: [], sockets: 0 };
  await u.page.routeWebSocket(/.*/, (ws) => {
    filter.sockets += 1;
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      if (filter.dropMarker && typeof m !== 'string' && Buffer.from(m).includes(filter.dropMarker)) {
        filter.dropped.push(Buffer.from(m));
        return;
      }
      server.send(m);
    });
  });
  await u.page.goto(`${stack.base}/?room=${ROOM}`, { timeout: 20000 });
  return { ...u, filter };
}

/** The JSON payload inside a captured MQTT PUBLISH frame. */
function payloadOfFrame(buf) {
  const s = buf.toString('latin1');
  const i = s.indexOf('{"');
  const j = s.lastIndexOf('}');
  return JSON.parse(buf.subarray(i, j + 1).toString('utf8'));
}

for (const broker of BROKERS) {
  describe(`hostile user on ${broker} (CHAT_ACL=author)`, () => {
    let stack;
    const opened = [];
    const raws = [];
    const raw = async (...args) => { const r = await rawClient(...args); raws.push(r); return r; };
    const open = async (...args) => { const u = await openUser(...args); opened.push(u); return u; };

    before(async () => { stack = await startStack({ BROKER: broker, CHAT_ACL: 'author' }); });
    after(async () => {
      for (const r of raws) await r.end();
      for (const u of opened) await u.close();
      await stack?.stop();
    });

    test('forged names, foreign topics, reused and guessed ids, retained posts: refused or shown with the verified author; counts exact', async () => {
      const alice = await openFiltered(stack, 'alice', opened);
      const bob = await open(stack, 'bob', `/?room=${ROOM}`);
      await Promise.all([waitInRoom(alice.page), waitInRoom(bob.page)]);

      // Mallory reads the whole room from the wire, as any member may.
      const watch = await raw(stack, 'mallory', { version: 5 });
      const grantedAuthors = await watch.subscribe(`${SHARED}/+`);
      const grantedShared = await watch.subscribe(SHARED);
      console.log(`[${broker}] mallory SUBACK: ${SHARED}/+ -> ${grantedAuthors.map((g) => g.qos)}, ${SHARED} -> ${grantedShared.map((g) => g.qos)}`);
      assert.ok(grantedAuthors[0].qos < 0x80, `a member may subscribe ${SHARED}/+ (granted ${grantedAuthors[0].qos})`);

      // What each window must list at the end: { text, author } (author = verified author).
      const expected = [];
      const bobSays = 'hello from bob';
      await send(bob.page, bobSays);
      expected.push({ text: bobSays, author: 'bob' });

      // 1. A forged `user` on her own author topic: shown with the verified author, never as Alice's.
      const m5 = await raw(stack, 'mallory', { version: 5 });
      const m4 = await raw(stack, 'mallory', { version: 4 });
      const forged = [];
      for (const [c, tag] of [[m5, 'MQTT 5'], [m4, 'MQTT 3.1.1']]) {
        const text = `forged name on her own topic (${tag})`;
        const r = await tryPublish(c, authorTopic('mallory'), JSON.stringify({ id: newId(), user: 'alice', text, timestamp: Date.now() }));
        console.log(`[${broker}] mallory ${tag} publish user=alice on ${authorTopic('mallory')}: ${JSON.stringify(r)}`);
        assert.equal(r.outcome, 'ack', `publishing on her own author topic is allowed (${tag})`);
        forged.push(text);
        expected.push({ text, author: 'mallory' });
      }
      for (const u of [alice, bob]) {
        await waitShown(u.page, [bobSays, ...forged], `the forged-name posts in ${u.user}'s window`);
        const recs = await messageRecords(u.page);
        for (const text of forged) {
          const r = recs.filter((x) => x.text === text);
          assert.equal(r.length, 1, `"${text}" once in ${u.user}'s window`);
          assert.equal(r[0].author, 'mallory', `data-author of "${text}" in ${u.user}'s window`);
          assert.equal(r[0].verified, 'true');
          assert.equal(r[0].own, false, `"${text}" is not styled as ${u.user}'s own`);
          assert.match(r[0].authorText || '', /mallory/, '.lc-author shows the verified author');
          assert.match(r[0].claimed || '', /alice/, 'the differing claimed name is shown in .lc-claimed');
        }
      }

      // 2. Another author's topic and the shared topic: refused by the broker, shown nowhere.
      const refusedTexts = [];
      for (const version of [5, 4]) {
        const tag = version === 5 ? 'MQTT 5' : 'MQTT 3.1.1';
        for (const topic of [authorTopic('alice'), SHARED]) {
          const c = await raw(stack, 'mallory', { version });
          const text = `forged post on ${topic} (${tag})`;
          const r = await tryPublish(c, topic, JSON.stringify({ id: newId(), user: 'alice', text, timestamp: Date.now() }));
          console.log(`[${broker}] mallory ${tag} publish on ${topic}: ${JSON.stringify(r)}`);
          if (version === 5) {
            assert.ok(r.outcome === 'refused' || r.outcome === 'closed', `MQTT 5 publish on ${topic} is refused (got ${JSON.stringify(r)})`);
            if (r.outcome === 'refused') assert.ok(r.code >= 0x80, `reason code ${r.code}`);
          }
          refusedTexts.push(text);
          await c.end();
        }
      }
      const sentinel = 'mallory sentinel after the refused posts';
      assert.equal((await tryPublish(m5, authorTopic('mallory'), JSON.stringify({ id: newId(), user: 'mallory', text: sentinel, timestamp: Date.now() }))).outcome, 'ack');
      expected.push({ text: sentinel, author: 'mallory' });
      for (const u of [alice, bob]) await waitShown(u.page, [sentinel], `the sentinel in ${u.user}'s window`);
      await waitUntil(() => watch.received.some((m) => wireText(m) === sentinel), { what: 'the sentinel at the watcher' });
      await sleep(500);
      for (const u of [alice, bob]) {
        const recs = await messageRecords(u.page);
        for (const text of refusedTexts) assert.equal(count(recs, (r) => r.text === text), 0, `"${text}" shown in ${u.user}'s window`);
      }
      const leaked = watch.received.filter((m) => refusedTexts.includes(wireText(m)));
      console.log(`[${broker}] refused posts that reached a subscriber: ${leaked.length} of ${refusedTexts.length}`);
      assert.deepEqual(leaked.map((m) => m.topic), [], 'no refused post was routed by the broker');

      // 3. Ids read from the wire, reused and guessed: nothing of Alice's is hidden.
      const firstText = 'alice first';
      await send(alice.page, firstText);
      const first = await waitUntil(() => watch.received.find((m) => wireText(m) === firstText), { what: "Alice's first message at the watcher" });
      const firstWire = JSON.parse(first.text);
      console.log(`[${broker}] alice's message on the wire: topic ${first.topic}, ${first.text}`);
      assert.equal(first.topic, authorTopic('alice'), 'Alice publishes on her own author topic');
      assert.equal(typeof firstWire.id, 'string');
      assert.match(firstWire.id, /^[A-Za-z0-9_-]{16,}$/, 'the id is base64url of at least 96 bits');
      assert.equal(typeof firstWire.user, 'string');
      assert.ok(Number.isInteger(firstWire.timestamp), 'numeric timestamp');
      expected.push({ text: firstText, author: 'alice' });
      // After: the same id and text, claimed as Alice, on her own topic.
      assert.equal((await tryPublish(m5, authorTopic('mallory'), JSON.stringify({ ...firstWire, user: 'alice', timestamp: Date.now() }))).outcome, 'ack');
      expected.push({ text: firstText, author: 'mallory' });
      // Her own id once more: a duplicate of (mallory, id), dropped.
      const reusedText = 'mallory reuses an id she already used';
      await tryPublish(m5, authorTopic('mallory'), JSON.stringify({ id: firstWire.id, user: 'alice', text: reusedText, timestamp: Date.now() }));
      // Before Alice's next message: a guess at her next id (the old ids were prefix-counter).
      const counter = /^(.*?)(\d+)$/.exec(firstWire.id);
      const guessedId = counter ? `${counter[1]}${Number(counter[2]) + 1}` : `${firstWire.id.slice(0, -1)}A`;
      const guessText = 'mallory posts a guessed next id';
      assert.equal((await tryPublish(m5, authorTopic('mallory'), JSON.stringify({ id: guessedId, user: 'alice', text: guessText, timestamp: Date.now() }))).outcome, 'ack');
      expected.push({ text: guessText, author: 'mallory' });
      for (const u of [alice, bob]) await waitShown(u.page, [guessText], `the guessed-id post in ${u.user}'s window`);

      const secondText = 'alice second';
      await send(alice.page, secondText);
      const second = await waitUntil(() => watch.received.find((m) => wireText(m) === secondText), { what: "Alice's second message at the watcher" });
      const secondWire = JSON.parse(second.text);
      assert.notEqual(secondWire.id, guessedId, 'the next id was not guessable');
      expected.push({ text: secondText, author: 'alice' });
      assert.equal((await tryPublish(m5, authorTopic('mallory'), JSON.stringify({ ...secondWire, user: 'alice', timestamp: Date.now() }))).outcome, 'ack');
      expected.push({ text: secondText, author: 'mallory' });
      for (const u of [alice, bob]) {
        await waitUntil(async () => count(await messageRecords(u.page), (r) => r.text === secondText) >= 2,
          { what: `both "${secondText}" posts in ${u.user}'s window` });
      }
      await waitUntil(async () => (await messageRecords(alice.page)).filter((r) => r.own && r.text === secondText)[0]?.delivery === 'delivered',
        { what: `"${secondText}" delivered (by Alice's own acknowledgement)` });

      // 4. Alice's publish never reaches the broker; Mallory (told the id) posts the same id and
      // text: Alice's copy must not become "delivered", Bob must not see it as Alice's.
      const lostText = 'alice undeliverable';
      alice.filter.dropMarker = Buffer.from(lostText);
      await send(alice.page, lostText);
      await waitUntil(() => alice.filter.dropped.length > 0, { what: "Alice's publish held back" });
      const lostWire = payloadOfFrame(alice.filter.dropped[0]);
      assert.equal((await tryPublish(m5, authorTopic('mallory'), JSON.stringify({ ...lostWire, user: 'alice', timestamp: Date.now() }))).outcome, 'ack');
      expected.push({ text: lostText, author: 'mallory' });
      for (const u of [alice, bob]) {
        await waitShown(u.page, [lostText], `Mallory's copy of "${lostText}" in ${u.user}'s window`, { where: (r) => r.author === 'mallory' });
      }
      await sleep(3000);
      const lostOwn = (await messageRecords(alice.page)).filter((r) => r.own && r.text === lostText);
      console.log(`[${broker}] alice's held-back message: ${JSON.stringify(lostOwn.map((r) => r.delivery))}, frames held back ${alice.filter.dropped.length}`);
      assert.equal(lostOwn.length, 1, 'Alice\'s own copy listed once');
      assert.notEqual(lostOwn[0].delivery, 'delivered', 'not marked delivered by Mallory\'s copy');

      // 5. Retained posts: refused (or stripped); a late joiner gets none.
      const retainedTexts = [];
      for (const version of [5, 4]) {
        const tag = version === 5 ? 'MQTT 5' : 'MQTT 3.1.1';
        const c = await raw(stack, 'mallory', { version });
        const text = `mallory retained post (${tag})`;
        const r = await tryPublish(c, authorTopic('mallory'), JSON.stringify({ id: newId(), user: 'mallory', text, timestamp: Date.now() }), { retain: true });
        console.log(`[${broker}] mallory ${tag} retained publish: ${JSON.stringify(r)}`);
        retainedTexts.push(text);
        await c.end();
      }
      const lurker = await raw(stack, 'lurker', { version: 5 });
      await lurker.subscribe(`${SHARED}/+`);
      await lurker.subscribe(SHARED);
      const carol = await open(stack, 'carol', `/?room=${ROOM}`);
      await waitInRoom(carol.page);
      await sleep(2000);
      const carolRecs = await messageRecords(carol.page);
      console.log(`[${broker}] late joiners: raw subscriber got ${lurker.received.length} messages (${lurker.received.filter((m) => m.retain).length} retained); carol lists ${carolRecs.length}`);
      assert.deepEqual(lurker.received.filter((m) => m.retain).map((m) => m.text), [], 'no retained chat message on the broker');
      assert.deepEqual(carolRecs.map((r) => r.text), [], 'Carol (signed in afterwards) sees nothing from before');

      // Exact counts in each window. A stripped retained post may have been shown live (once).
      const finalRecs = {};
      for (const u of [alice, bob]) {
        const recs = await messageRecords(u.page);
        finalRecs[u.user] = recs;
        const liveRetained = retainedTexts.map((t) => count(recs, (r) => r.text === t));
        for (const n of liveRetained) assert.ok(n <= 1);
        for (const e of expected) {
          const n = count(recs, (r) => r.text === e.text && r.author === e.author && (u.user !== 'alice' || e.author !== 'alice' || r.own));
          assert.equal(n, 1, `"${e.text}" by ${e.author} shown ${n} times in ${u.user}'s window`);
        }
        const extraOwn = u.user === 'alice' ? 1 : 0; // Alice's held-back message
        const total = expected.length + extraOwn + liveRetained.reduce((a, b) => a + b, 0);
        console.log(`[${broker}] ${u.user}'s window: ${recs.length} messages (expected ${total}); own ${count(recs, (r) => r.own)}; by mallory ${count(recs, (r) => r.author === 'mallory')}`);
        assert.equal(recs.length, total, `${u.user}'s window lists exactly ${total} messages: ${JSON.stringify(recs.map((r) => [r.author, r.text]))}`);
        assert.equal(count(recs, (r) => r.text === reusedText), 0, 'a reused (author, id) is a duplicate');
        assert.equal(await u.page.locator('.lc-notice', { hasText: 'not verified' }).count(), 0, 'no shared-mode notice in author mode');
      }
      const aliceOwn = finalRecs.alice.filter((r) => r.own);
      assert.deepEqual(aliceOwn.map((r) => r.author), ['alice', 'alice', 'alice'], 'exactly Alice\'s three messages are her own');
      assert.equal(count(finalRecs.bob, (r) => r.author === 'alice'), 2, 'Bob sees exactly Alice\'s two delivered messages as hers');
      assert.equal(count(finalRecs.bob, (r) => r.own), 1, 'Bob\'s only own message is his');
    });
  });

  describe(`quickstart wire format on ${broker} (CHAT_ACL=quickstart)`, () => {
    let stack;
    const opened = [];
    const raws = [];
    before(async () => { stack = await startStack({ BROKER: broker, CHAT_ACL: 'quickstart' }); });
    after(async () => {
      for (const r of raws) await r.end();
      for (const u of opened) await u.close();
      await stack?.stop();
    });

    test('the quickstart payload is shown unverified, the UI says so, and our message parses for the quickstart', async () => {
      const alice = await openUser(stack, 'alice', `/?room=${ROOM}`);
      opened.push(alice);
      await waitInRoom(alice.page);
      await waitUntil(async () => (await alice.page.locator('.lc-notice').allInnerTexts()).some((t) => /not verified/i.test(t)),
        { timeoutMs: 20000, what: 'the "not verified" notice (shared mode)' });
      console.log(`[${broker}] shared-mode notice: ${JSON.stringify(await alice.page.locator('.lc-notice').allInnerTexts())}; status "${await statusText(alice.page)}"`);

      const qs5 = await rawClient(stack, 'qs-five', { version: 5 });
      const qs4 = await rawClient(stack, 'qs-four', { version: 4 });
      raws.push(qs5, qs4);
      for (const c of [qs5, qs4]) {
        const g = await c.subscribe(SHARED);
        assert.ok(g[0].qos < 0x80, `the quickstart client may subscribe ${SHARED}`);
      }
      const r = await tryPublish(qs5, SHARED, QUICKSTART_PAYLOAD);
      console.log(`[${broker}] quickstart publish: ${JSON.stringify(r)}`);
      assert.equal(r.outcome, 'ack');
      await waitShown(alice.page, ['hello from quickstart'], 'the quickstart message in Alice\'s window');
      const qsRec = (await messageRecords(alice.page)).filter((x) => x.text === 'hello from quickstart');
      console.log(`[${broker}] quickstart message in Alice's window: ${JSON.stringify(qsRec)}`);
      assert.equal(qsRec.length, 1);
      assert.equal(qsRec[0].verified, 'false');
      assert.equal(qsRec[0].author || '', '');
      assert.match(qsRec[0].authorText || '', /user-123/);
      assert.match(qsRec[0].unverifiedBadge || '', /unverified/);
      assert.equal(qsRec[0].own, false);

      const ours = 'hello quickstart, from alice';
      await send(alice.page, ours);
      for (const c of [qs5, qs4]) {
        const got = await waitUntil(() => c.received.find((m) => wireText(m) === ours),
          { what: `Alice's message at the quickstart client (MQTT ${c.version === 5 ? '5' : '3.1.1'})` });
        const parsed = JSON.parse(got.text);
        console.log(`[${broker}] quickstart client (v${c.version}) got on ${got.topic}: ${got.text}`);
        assert.equal(got.topic, SHARED);
        assert.equal(typeof parsed.user, 'string');
        assert.ok(parsed.user.length > 0);
        assert.equal(parsed.text, ours);
        assert.equal(typeof parsed.timestamp, 'number');
        assert.ok(Number.isInteger(parsed.timestamp));
      }
      await sleep(500);
      const recs = await messageRecords(alice.page);
      assert.deepEqual(recs.map((x) => x.text), ['hello from quickstart', ours], 'Alice\'s window lists exactly the two messages');
      assert.equal(count(recs, (x) => x.own), 1);
    });
  });

  describe(`a room shared with quickstart clients on ${broker} (CHAT_ACL=mixed)`, () => {
    let stack;
    const opened = [];
    const raws = [];
    before(async () => { stack = await startStack({ BROKER: broker, CHAT_ACL: 'mixed' }); });
    after(async () => {
      for (const r of raws) await r.end();
      for (const u of opened) await u.close();
      await stack?.stop();
    });

    test('quickstart posts are shown unverified, our members stay verified', async () => {
      const alice = await openUser(stack, 'alice', `/?room=${ROOM}`);
      const bob = await openUser(stack, 'bob', `/?room=${ROOM}`);
      opened.push(alice, bob);
      await Promise.all([waitInRoom(alice.page), waitInRoom(bob.page)]);
      const qs = await rawClient(stack, 'qs-mixed', { version: 5 });
      raws.push(qs);
      const r = await tryPublish(qs, SHARED, QUICKSTART_PAYLOAD);
      console.log(`[${broker}] mixed: quickstart publish on ${SHARED}: ${JSON.stringify(r)}`);
      assert.equal(r.outcome, 'ack');
      const ours = 'verified hello from alice';
      await send(alice.page, ours);
      for (const u of [alice, bob]) {
        await waitShown(u.page, ['hello from quickstart', ours], `both messages in ${u.user}'s window`);
        await sleep(300);
        const recs = await messageRecords(u.page);
        console.log(`[${broker}] mixed: ${u.user}'s window ${JSON.stringify(recs.map((x) => [x.author, x.verified, x.text]))}`);
        assert.equal(recs.length, 2, `${u.user}'s window lists exactly two messages`);
        const q = recs.find((x) => x.text === 'hello from quickstart');
        assert.equal(q.verified, 'false');
        assert.match(q.unverifiedBadge || '', /unverified/);
        assert.match(q.authorText || '', /user-123/);
        const a = recs.find((x) => x.text === ours);
        assert.equal(a.verified, 'true');
        assert.equal(a.author, 'alice');
        assert.equal(a.unverifiedBadge, null);
        assert.equal(a.own, u.user === 'alice');
      }
    });
  });
}
