// The long faults, run once, on the full-matrix broker (FULL_BROKER, see README.md "Tests"):
// the browser offline for 30 s, a 3-minute broker outage with more messages typed than the
// offline queue holds (issue 12 item 2), and the whole dev stack stopped and started again on
// the same STATE_DIR with two users chatting (issue 12 item 5). Figures print as "figures:" lines.
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startStack, waitUntil, send, statusText, sleep, messageRecords, messageTexts } from './helpers.mjs';
import {
  FULL_BROKER, figure, openConfigured, connectedAt, leftConnected, assertExactlyOnce, deliveryOf,
} from './fault-helpers.mjs';

const stacks = [];
const opened = [];
const open = async (stack, user, room) => {
  const u = await openConfigured(stack, user, `/?room=${room}`, { keepAlive: 5 });
  opened.push(u);
  return u;
};
afterEach(async () => {
  for (const u of opened.splice(0)) await u.close();
  for (const s of stacks.splice(0)) await s.stop();
});
after(async () => {
  for (const u of opened) await u.close();
  for (const s of stacks) await s.stop();
});

const stackOf = async (env = {}, ports = {}) => {
  const s = await startStack({ BROKER: FULL_BROKER, STATE_DIR: '', ...env }, ports);
  stacks.push(s);
  return s;
};

test(`browser offline for 30 s (${FULL_BROKER}): "Offline" in words, then connected, queued messages delivered once`, async () => {
  const stack = await stackOf();
  const a = await open(stack, 'offa', 'e2e-offline');
  const b = await open(stack, 'offb', 'e2e-offline');
  await Promise.all([connectedAt(a.page), connectedAt(b.page)]);
  const offAt = Date.now();
  await a.context.setOffline(true);
  const left = await leftConnected(a.page, 15000);
  const said = await waitUntil(async () => {
    const s = (await statusText(a.page)).replace(/\s+/g, ' ');
    return /^Offline\b/.test(s) ? s : false;
  }, { timeoutMs: 15000, what: 'status "Offline"' });
  const saidMs = Date.now() - offAt;
  const typedA = ['typed offline 1 (a)', 'typed offline 2 (a)', 'typed offline 3 (a)'];
  for (const t of typedA) await send(a.page, t);
  const marks = await Promise.all(typedA.map((t) => deliveryOf(a.page, t)));
  const typedB = ['written while a is offline (b)'];
  await send(b.page, typedB[0]);
  const samples = [];
  while (Date.now() - offAt < 30000) {
    samples.push((await statusText(a.page)).trim().split('\n')[0]);
    await sleep(5000);
  }
  await a.context.setOffline(false);
  const onAt = Date.now();
  const backAt = await connectedAt(a.page, 45000);
  const { waitedMs } = await assertExactlyOnce([a.page, b.page], [...typedA, ...typedB], 'messages typed offline');
  for (const t of typedA) {
    await waitUntil(async () => (await deliveryOf(a.page, t)) === 'delivered', { timeoutMs: 20000, what: `"${t}" delivered` });
  }
  figure(`offline 30 s on ${FULL_BROKER}`, {
    offlineMs: onAt - offAt, leftConnectedMs: left.at - offAt, offlineSaidMs: saidMs, status: JSON.stringify(said),
    marksWhileOffline: marks.join('/'), statusSamples: JSON.stringify(samples),
    connectedMsAfterOnline: backAt - onAt, deliveredMsAfter: waitedMs, reloads: a.reloads(),
  });
  // The browser says it is offline: the live link gets OFFLINE_PROBE (3 s) to prove itself.
  assert.ok(saidMs <= 4000, `"Offline" shown ${saidMs} ms after the browser went offline (bound: the 3 s probe + 1 s)`);
  assert.ok(samples.every((s) => s === 'Offline'), `the status said "Offline" all along: ${samples}`);
  assert.deepEqual(marks, typedA.map(() => 'queued'));
  assert.equal(a.reloads(), 0, 'no reload');
});

test(`3-minute broker outage (${FULL_BROKER}) with more typed than the offline queue holds: overflow refused in words at send time, the rest delivered once in order`, async () => {
  const stack = await stackOf();
  const a = await open(stack, 'outa', 'e2e-outage');
  const b = await open(stack, 'outb', 'e2e-outage');
  await Promise.all([connectedAt(a.page), connectedAt(b.page)]);
  const DOWN_MS = 180000;
  await stack.control('broker/kill', { downMs: DOWN_MS });
  const killAt = Date.now();
  await leftConnected(a.page, 10000);
  // The offline queue holds 256 commands (the hook's default): type 280.
  const TYPED = 280;
  const typed = [];
  for (let i = 0; i < TYPED; i++) {
    const text = `outage ${String(i).padStart(3, '0')}`;
    await send(a.page, text);
    typed.push(text);
  }
  const typingMs = Date.now() - killAt;
  // Read while the broker is still down: what the user was told at send time.
  const records = (await messageRecords(a.page)).filter((r) => r.own && r.text?.startsWith('outage '));
  assert.equal(records.length, TYPED, 'every typed message is listed');
  const queued = records.filter((r) => r.delivery === 'queued').map((r) => r.text);
  const refused = records.filter((r) => r.delivery?.startsWith('not delivered'));
  assert.equal(queued.length + refused.length, TYPED, `every message is queued or refused: ${JSON.stringify(records.map((r) => r.delivery).filter((d) => d !== 'queued' && !d?.startsWith('not delivered')))}`);
  assert.ok(refused.length > 0, 'the overflow is refused');
  for (const r of refused) assert.match(r.delivery, /^not delivered: the offline queue is full/, 'refused in words');
  const visibleReason = await a.page.locator('[role="log"] li.lc-own .lc-delivery-why').first().isVisible();
  // The accepted ones are the first ones typed, in order.
  assert.deepEqual(queued, typed.slice(0, queued.length));
  const samples = [];
  while (Date.now() - killAt < DOWN_MS) {
    samples.push((await statusText(a.page)).trim().split('\n')[0]);
    await sleep(Math.min(15000, Math.max(0, DOWN_MS - (Date.now() - killAt))));
  }
  const [backA, backB] = await Promise.all([connectedAt(a.page, 90000), connectedAt(b.page, 90000)]);
  const { waitedMs } = await assertExactlyOnce([b.page], queued, 'the queued messages on the other side', 90000);
  const onB = (await messageTexts(b.page)).filter((t) => t.startsWith('outage '));
  assert.deepEqual(onB, queued, 'delivered once, in the order typed, none of the refused ones');
  await waitUntil(async () => (await deliveryOf(a.page, queued.at(-1))) === 'delivered', { timeoutMs: 30000, what: 'the last queued message delivered' });
  figure(`3-minute outage on ${FULL_BROKER}`, {
    downMs: DOWN_MS, typed: TYPED, typingMs, queued: queued.length, refusedAtSend: refused.length,
    reason: JSON.stringify(refused[0].delivery), reasonVisible: visibleReason,
    statusSamples: JSON.stringify([...new Set(samples)]), samples: samples.length,
    connectedMsAfterBrokerBackA: backA - killAt - DOWN_MS, connectedMsAfterBrokerBackB: backB - killAt - DOWN_MS,
    deliveredOnB: onB.length, deliveredMsAfter: waitedMs, reloads: a.reloads() + b.reloads(),
  });
  assert.ok(samples.every((s) => s !== 'Connected'), `the status never said "Connected" during the outage: ${samples}`);
  assert.ok(visibleReason, 'the reason is visible on the message');
  assert.equal(a.reloads() + b.reloads(), 0, 'no reload');
});

test(`the whole dev stack (${FULL_BROKER}) stopped and started on the same STATE_DIR: both users back to Connected without a reload, a message typed meanwhile delivered once`, async () => {
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'livechat-e2e-state-'));
  try {
    const first = await stackOf({ STATE_DIR: stateDir });
    const a = await open(first, 'rsta', 'e2e-stack-restart');
    const b = await open(first, 'rstb', 'e2e-stack-restart');
    await Promise.all([connectedAt(a.page), connectedAt(b.page)]);
    await send(a.page, 'before the stack restart (a)');
    await send(b.page, 'before the stack restart (b)');
    await assertExactlyOnce([a.page, b.page], ['before the stack restart (a)', 'before the stack restart (b)'], 'the conversation before');
    const stopAt = Date.now();
    await first.stop();
    stacks.splice(stacks.indexOf(first), 1);
    await leftConnected(a.page, 15000);
    const during = ['typed while the stack is down (a)', 'typed while the stack is down (b)'];
    await send(a.page, during[0]);
    await send(b.page, during[1]);
    await sleep(3000);
    const statusDown = (await statusText(a.page)).replace(/\s+/g, ' ');
    const second = await stackOf({ STATE_DIR: stateDir }, { port: first.port, wsPort: first.wsPort });
    const upAt = Date.now();
    const [backA, backB] = await Promise.all([connectedAt(a.page, 60000), connectedAt(b.page, 60000)]);
    const { waitedMs } = await assertExactlyOnce([a.page, b.page], during, 'the messages typed during the outage', 60000);
    figure(`whole-stack restart on ${FULL_BROKER}`, {
      downMs: upAt - stopAt, statusWhileDown: JSON.stringify(statusDown),
      connectedMsAfterUpA: backA - upAt, connectedMsAfterUpB: backB - upAt, deliveredMsAfter: waitedMs,
      reloads: a.reloads() + b.reloads(), secondStack: second.base,
    });
    assert.doesNotMatch(statusDown, /Signed out/, 'a stopped stack is not a sign-out');
    assert.equal(a.reloads() + b.reloads(), 0, 'no reload');
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
});
