// A hidden, then frozen tab in a real browser (issue 12 item 2). Headless Chromium keeps every
// page visible, its timers unthrottled, and ignores a "frozen" lifecycle state, so this file runs
// Chromium headed on a private Xvfb display, where a background tab is what it is in a user's
// browser: hidden, its timers run about once a second, and CDP `Page.setWebLifecycleState` really
// freezes it (no script, timer or socket event runs until it resumes).
//
// Two users in a room on the dev stack's embedded broker, keep-alive 3 s. A's tab goes to the
// background (another tab of its window in front) for longer than 3 × keep-alive + 2 s, with
// Chromium's throttling of a long-hidden tab switched on after seconds instead of 5 minutes: its
// link must stay up, without a flap. Then it is frozen for as long while B writes: the broker stops
// hearing A's PINGREQs and drops it. Then A's tab comes back to the front: A must notice at once
// (the link's close arrives, and the wake checks the link), reconnect without a reload, and show
// what B wrote meanwhile exactly once. Every figure measured is printed as a "figures:" line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, startXvfb, send, sleep, statusText, waitUntil } from './helpers.mjs';
import { FULL_BROKER, figure, openConfigured, connectedAt, assertExactlyOnce } from './fault-helpers.mjs';

/** The keep-alive the pages run with (the site's `keepAlive` setting), seconds. */
const KEEPALIVE = 3;
/** How long A is hidden, and then how long it is frozen: longer than 3 × keep-alive + 2 s. */
const AWAY_MS = 3 * KEEPALIVE * 1000 + 2000;
/**
 * Issue 12: on its return the tab notices within a second. Measured from the test's command to
 * unfreeze (so the CDP round trips and the page's own resume are inside it) to the status line
 * leaving "Connected", as the page recorded it. Asserted without a margin: it measured 4-30 ms
 * on the loaded 2-core box, the broker's close being already there when the page resumes.
 */
const NOTICE_BOUND_MS = 1000;

let xvfb;
let stack;
const opened = [];

before(async () => {
  xvfb = await startXvfb();
  stack = await startStack({ BROKER: FULL_BROKER, STATE_DIR: '' });
});

after(async () => {
  for (const u of opened.splice(0)) await u.close();
  await stack?.stop();
  await xvfb?.stop();
});

/**
 * A tab left in the background for 5 minutes gets Chromium's intensive wake-up throttling (chained
 * timers run once a minute, far too rarely for any keep-alive) unless, as here, it holds an open
 * WebSocket. Its 5-minute grace period is cut to 1 s on A's browser (it then sets in 6-7 s after
 * hiding, as the control tab shows), so that the hidden phase is a tab hidden for long, not just
 * a tab hidden for seconds.
 */
const LONG_HIDDEN = '--enable-features=IntensiveWakeUpThrottling:grace_period_seconds/1';

const open = async (user, headed) => {
  const u = await openConfigured(stack, user, `/?room=e2e-hidden-${FULL_BROKER}`, { keepAlive: KEEPALIVE },
    headed ? { display: xvfb.display, extraArgs: [LONG_HIDDEN] } : {});
  opened.push(u);
  return u;
};

/**
 * The page's own record, on the wall clock the test also reads: status line changes, the page
 * lifecycle events, a 100 ms interval's ticks (how often a timer runs) and when a WebSocket
 * message left (the gaps the broker's keep-alive sees).
 */
function recordPage() {
  const log = window.__hiddenTab = { changes: [], events: [], ticks: [], sends: [] };
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    log.sends.push(Date.now());
    return send.call(this, data);
  };
  const status = document.querySelector('[role="status"]');
  new MutationObserver(() => log.changes.push({ at: Date.now(), text: status.innerText.trim() }))
    .observe(status, { subtree: true, childList: true, characterData: true });
  for (const name of ['visibilitychange', 'freeze', 'resume']) {
    document.addEventListener(name, () => log.events.push({ name, at: Date.now(), visibility: document.visibilityState }));
  }
  setInterval(() => log.ticks.push(Date.now()), 100);
}

const pageLog = (page) => page.evaluate(() => window.__hiddenTab);

/** When the broker (mqtt5, in the stack's log) gave up on a silent client: ms since the epoch. */
const brokerTimeouts = () => [...stack.log().matchAll(/^(\S+Z)\s.*No packet received within/gm)].map((m) => Date.parse(m[1]));
const within = (list, from, to) => list.filter((x) => (x.at ?? x) > from && (x.at ?? x) < to);

test(`hidden tab on ${FULL_BROKER}: stays connected while hidden and throttled; frozen longer than 3 × keep-alive + 2 s, noticed within a second of its return, reconnected, what B wrote shown once`, async () => {
  const a = await open('hida', true);
  const b = await open('hidb', false);
  await Promise.all([connectedAt(a.page), connectedAt(b.page)]);
  await a.page.evaluate(recordPage);

  // Hidden: other tabs of A's window come to the front. The first, a control, runs a chained
  // timer without a WebSocket: it shows the intensive throttling that A's link is spared.
  const hiddenAt = Date.now();
  const control = await a.context.newPage();
  await control.goto(`${stack.base}/config.json`);
  await control.evaluate(() => {
    window.__ticks = [];
    const tick = () => { window.__ticks.push(Date.now()); setTimeout(tick, 100); };
    tick();
  });
  const cover = await a.context.newPage();
  await cover.bringToFront();
  await waitUntil(async () => (await a.page.evaluate(() => document.visibilityState)) === 'hidden',
    { timeoutMs: 5000, what: 'the browser to hide A\'s tab once another tab is in front' });
  const whileHidden = 'written while a was hidden (b)';
  await send(b.page, whileHidden);
  await sleep(AWAY_MS - (Date.now() - hiddenAt));
  const hiddenEnd = Date.now();
  const hidden = await pageLog(a.page);
  const hiddenEvent = hidden.events.find((e) => e.name === 'visibilitychange' && e.visibility === 'hidden');
  assert.ok(hiddenEvent, `visibilitychange to hidden fired in A's page (events: ${JSON.stringify(hidden.events)})`);
  const changesWhileHidden = within(hidden.changes, hiddenAt, hiddenEnd);
  const hiddenTicksPerS = within(hidden.ticks, hiddenEvent.at + 1000, hiddenEnd).length / ((hiddenEnd - hiddenEvent.at - 1000) / 1000);
  const statusHidden = (await statusText(a.page)).trim();
  const controlTicks = await control.evaluate(() => window.__ticks);
  // The longest silence between two of A's messages while hidden (the last one before it counts).
  const sendsHidden = within(hidden.sends, hiddenAt - 2 * KEEPALIVE * 1000, hiddenEnd);
  const maxSendGapMs = Math.max(0, ...sendsHidden.slice(1).map((t, i) => t - sendsHidden[i]));
  // The longest pause of each timer while hidden: about 1 s for A's, throttled once a second;
  // the control's is longer once its grace period is over.
  const longestPause = (ticks) => {
    const t = within(ticks, hiddenEvent.at, hiddenEnd);
    return Math.max(0, ...[...t, hiddenEnd].slice(1).map((x, i) => x - t[i]));
  };
  const pauses = { a: longestPause(hidden.ticks), control: longestPause(controlTicks) };

  // Frozen, still hidden: nothing of the page runs, so its keep-alive stops and the broker drops it.
  const timeoutsBefore = brokerTimeouts().length;
  const cdp = await a.context.newCDPSession(a.page);
  const frozenAt = Date.now();
  await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
  const whileFrozen = 'written while a was frozen (b)';
  await send(b.page, whileFrozen);
  await sleep(AWAY_MS - (Date.now() - frozenAt));

  // Back: unfrozen and in front again.
  const drops = brokerTimeouts().slice(timeoutsBefore);
  const returnedAt = Date.now();
  await cdp.send('Page.setWebLifecycleState', { state: 'active' });
  await a.page.bringToFront();
  const log = await waitUntil(async () => {
    const l = await pageLog(a.page);
    return l.changes.some((c) => c.at >= returnedAt) ? l : false;
  }, { timeoutMs: 10000, intervalMs: 50, what: 'A\'s status to change after the tab returned' });
  const firstChange = log.changes.find((c) => c.at >= returnedAt);
  const noticeMs = firstChange.at - returnedAt;
  const backAt = await connectedAt(a.page, 45000, 'A back to "Connected" after the freeze');
  const freeze = log.events.find((e) => e.name === 'freeze' && e.at >= frozenAt);
  const resume = log.events.find((e) => e.name === 'resume' && e.at >= returnedAt);
  const visible = log.events.find((e) => e.name === 'visibilitychange' && e.visibility === 'visible' && e.at >= returnedAt);
  await assertExactlyOnce([a.page, b.page], [whileHidden, whileFrozen], 'what B wrote while A was hidden and frozen');
  // And A writes again on its new link, no reload.
  const afterReturn = 'written after the return (a)';
  await send(a.page, afterReturn);
  await assertExactlyOnce([a.page, b.page], [afterReturn], 'what A wrote after its return');
  const end = await pageLog(a.page);
  const changesAfterReturn = end.changes.filter((c) => c.at >= returnedAt);

  figure(`hidden tab on ${FULL_BROKER}`, {
    keepAliveS: KEEPALIVE, hiddenMs: hiddenEnd - hiddenAt, hiddenTicksPerS, longestTimerPauseMsHidden: pauses.a, controlLongestTimerPauseMs: pauses.control, statusChangesWhileHidden: changesWhileHidden.length,
    sendsWhileHidden: within(hidden.sends, hiddenAt, hiddenEnd).length, maxSendGapMsWhileHidden: maxSendGapMs, brokerSilenceLimitMs: 1.5 * KEEPALIVE * 1000,
    statusHidden: JSON.stringify(statusHidden),
    frozenMs: returnedAt - frozenAt, brokerDroppedMsAfterFreeze: drops.length ? drops[0] - frozenAt : 'no', ticksWhileFrozen: freeze ? within(log.ticks, freeze.at, resume?.at ?? returnedAt).length : 'n/a',
    resumeMsAfterReturn: resume ? resume.at - returnedAt : 'none', visibleMsAfterReturn: visible ? visible.at - returnedAt : 'none',
    noticedMsAfterReturn: noticeMs, noticedMsAfterResume: resume ? firstChange.at - resume.at : 'n/a',
    firstStatus: JSON.stringify(firstChange.text), connectedMsAfterReturn: backAt - returnedAt,
    statusChangesAfterReturn: changesAfterReturn.length, statusesAfterReturn: JSON.stringify(changesAfterReturn.map((c) => c.text).slice(0, 6)),
    reloads: a.reloads(),
  });
  assert.equal(changesWhileHidden.length, 0, `A's status changed while hidden: ${JSON.stringify(changesWhileHidden)}`);
  assert.equal(statusHidden, 'Connected', 'A stayed connected while hidden');
  // The premise of the hidden phase: a background tab's timers are throttled (a 100 ms interval
  // runs about once a second there, ten times a second in front).
  assert.ok(hiddenTicksPerS < 5, `A's timers were not throttled while hidden (${hiddenTicksPerS.toFixed(1)} runs/s)`);
  // And the long-hidden throttling was on: the control tab's chained timer ran far less often.
  // (It starts 6-7 s after hiding here, whatever the grace period: a pause of over a second
  // more than A's is asked for, not a minute's.)
  assert.ok(pauses.control > pauses.a + 1000, `the control tab was not throttled harder (longest timer pauses: ${JSON.stringify(pauses)} ms)`);
  assert.ok(freeze, `the freeze event fired in A's page (events: ${JSON.stringify(log.events)})`);
  assert.ok(resume, 'the resume event fired in A\'s page');
  assert.equal(within(log.ticks, freeze.at, resume.at).length, 0, 'no timer ran while frozen');
  assert.ok(visible, 'visibilitychange to visible fired on the return');
  assert.equal(drops.length, 1, 'the broker dropped A (keep-alive timeout) while it was frozen, and only A');
  assert.equal(within(log.changes, frozenAt, returnedAt).length, 0, 'nothing ran while frozen');
  assert.notEqual(firstChange.text, 'Connected', 'the first change after the return leaves "Connected"');
  assert.ok(noticeMs <= NOTICE_BOUND_MS, `noticed ${noticeMs} ms after the tab returned (bound ${NOTICE_BOUND_MS} ms)`);
  assert.equal(a.reloads(), 0, 'no reload');
  await cover.close();
  await control.close();
});
