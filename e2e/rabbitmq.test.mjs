// The app against a real 3-node RabbitMQ 3.10 cluster (BROKER=rabbitmq), in Chromium: users on
// different nodes chat both ways; one node SIGKILLed while both send: its user is back (a fresh
// token names a live node), what that user sent arrives (QoS 1, resent from the client's queue),
// what carol sent, including what was in flight to dave at the kill, reaches him (the mirrored
// queue keeps his session; RabbitMQ resends what he had not acknowledged: docs/deployment.md),
// nothing shown twice;
// token expiry kicks on every node and everybody comes back.
//
// The cluster starts once for this file (~25-45 s) and is stopped at the end. The app speaks
// MQTT 5 first: RabbitMQ closes the socket without a CONNACK and the client falls back to 3.1.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { devStackBin, distDir, freePort, sleep, waitUntil, openUser, waitConnected, send, messageTexts } from './helpers.mjs';

let stack;
const opened = [];

/** The dev stack with BROKER=rabbitmq on free ports; resolves once the cluster is formed. */
async function startCluster() {
  const port = await freePort();
  const logs = [];
  const child = spawn(devStackBin(), ['--dist', distDir()], {
    env: {
      ...process.env,
      PORT: String(port),
      BROKER_WS_PORT: '0',
      BROKER: 'rabbitmq',
      DEV_CONTROLS: '1',
      DEV_AUTH: '1',
      STATE_DIR: '',
      TOKEN_RATE_LIMIT: '600',
      RUST_LOG: process.env.RUST_LOG || 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk) => { logs.push(chunk.toString()); if (logs.length > 400) logs.splice(0, logs.length - 400); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  child.once('exit', (code, signal) => { exited = { code, signal }; });
  const base = `http://127.0.0.1:${port}`;
  const s = {
    base,
    log: () => logs.join(''),
    async post(route, body = {}, timeoutMs = 15000) {
      const res = await fetch(`${base}/dev/control/${route}`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs),
      });
      if (!res.ok) throw new Error(`/dev/control/${route} answered ${res.status}: ${await res.text()}`);
      return res.json();
    },
    async nodes() {
      const res = await fetch(`${base}/dev/control/broker/nodes`, { signal: AbortSignal.timeout(5000) });
      return (await res.json()).nodes;
    },
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      // The nodes take ~7 s to stop; the stack's watchdog kills them if the stack is killed.
      const done = await Promise.race([
        new Promise((r) => child.once('exit', () => r(true))),
        sleep(40000).then(() => false),
      ]);
      if (!done) child.kill('SIGKILL');
    },
  };
  const started = Date.now();
  try {
    await waitUntil(async () => {
      if (exited) throw new Error(`dev stack exited early (${JSON.stringify(exited)})`);
      const res = await fetch(`${base}/config.json`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
      return res?.ok;
    }, { timeoutMs: 240000, intervalMs: 500, what: 'the RabbitMQ cluster and the dev stack' });
  } catch (e) {
    await s.stop();
    throw new Error(`${e.message}\n--- dev stack log ---\n${s.log()}`);
  }
  console.log(`# RabbitMQ cluster formed and the stack up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return s;
}

/** A signed-in user whose page records the WebSocket URLs it opens and their closes. */
async function open(user, room) {
  const u = await openUser(stack, user, null);
  opened.push(u);
  u.sockets = [];
  u.page.on('websocket', (ws) => {
    const entry = { url: ws.url(), closed: false };
    u.sockets.push(entry);
    ws.on('close', () => { entry.closed = true; });
  });
  await u.page.goto(`${stack.base}/?room=${room}`, { timeout: 20000 });
  return u;
}

/** The node URL of the user's live socket. */
const liveUrl = (u) => u.sockets.filter((s) => !s.closed).map((s) => s.url).pop();

const count = (texts, t) => texts.filter((x) => x === t).length;

before(async () => { stack = await startCluster(); });
after(async () => {
  for (const u of opened) await u.close();
  await stack?.stop();
});

test('users on different nodes chat both ways', async () => {
  const alice = await open('alice', 'rmq-both');
  const bob = await open('bob', 'rmq-both');
  await Promise.all([waitConnected(alice.page, 60000), waitConnected(bob.page, 60000)]);
  assert.notEqual(liveUrl(alice), liveUrl(bob), 'the tokens put them on different nodes');
  await send(alice.page, 'from alice');
  await waitUntil(async () => (await messageTexts(bob.page)).includes('from alice'), { what: 'alice → bob' });
  await send(bob.page, 'from bob');
  await waitUntil(async () => (await messageTexts(alice.page)).includes('from bob'), { what: 'bob → alice' });
  assert.equal(count(await messageTexts(alice.page), 'from bob'), 1);
  assert.equal(count(await messageTexts(bob.page), 'from alice'), 1);
});

test('a node SIGKILLed while both send: its user is back and what it sent arrives', async () => {
  const carol = await open('carol', 'rmq-kill');
  const dave = await open('dave', 'rmq-kill');
  await Promise.all([waitConnected(carol.page, 60000), waitConnected(dave.page, 60000)]);
  const nodes = await stack.nodes();
  const daveNode = nodes.findIndex((n) => n.wsUrl === liveUrl(dave)) + 1;
  assert.ok(daveNode > 0, `dave's node among ${JSON.stringify(nodes)}`);
  assert.notEqual(liveUrl(carol), liveUrl(dave));

  const N = 30;
  const sent = { carol: [], dave: [] };
  const sender = async (u, name) => {
    for (let i = 0; i < N; i++) {
      const text = `${name}-${i}`;
      await send(u.page, text);
      sent[name].push(text);
      await sleep(150);
    }
  };
  // Dave's status line, each change with its wall-clock time: the failover gap is measured from
  // the kill to "Connected" again, not to the end of the typing.
  await dave.page.evaluate(() => {
    const el = document.querySelector('[role="status"]');
    window.__statusLog = [[Date.now(), el.textContent]];
    new MutationObserver(() => window.__statusLog.push([Date.now(), el.textContent]))
      .observe(el, { subtree: true, childList: true, characterData: true });
  });
  const flows = [sender(carol, 'carol'), sender(dave, 'dave')];
  await sleep(1500);
  const killedAt = Date.now();
  await stack.post(`broker/nodes/${daveNode}/kill`);
  await Promise.all(flows);
  await waitConnected(dave.page, 60000);
  const backMs = Date.now() - killedAt;
  assert.notEqual(liveUrl(dave), nodes[daveNode - 1].wsUrl, 'dave is on another node');

  // Everything dave sent reaches carol (unacknowledged QoS 1 publishes are resent).
  await waitUntil(async () => {
    const texts = await messageTexts(carol.page);
    return sent.dave.every((t) => texts.includes(t));
  }, { timeoutMs: 30000, what: 'all of dave\'s messages at carol' });
  // What carol sent reaches dave, also what was in flight to him at the kill.
  await waitUntil(async () => {
    const texts = await messageTexts(dave.page);
    return sent.carol.every((t) => texts.includes(t));
  }, { timeoutMs: 30000, what: 'all of carol\'s messages at dave' }).catch(() => {});
  await sleep(1000);
  const atDave = await messageTexts(dave.page);
  const atCarol = await messageTexts(carol.page);
  const lostAtDave = sent.carol.filter((t) => !atDave.includes(t));
  const dupAtDave = sent.carol.filter((t) => count(atDave, t) > 1).length;
  const dupAtCarol = sent.dave.filter((t) => count(atCarol, t) > 1).length;
  const statusLog = await dave.page.evaluate(() => window.__statusLog);
  const isConnected = (t) => t.trim() === 'Connected';
  const left = statusLog.find(([at, t]) => at >= killedAt && !isConnected(t));
  const back = left && statusLog.find(([at, t]) => at >= left[0] && isConnected(t));
  console.log(`# node ${daveNode} killed: dave's status left "Connected" ${left ? left[0] - killedAt : '?'} ms after the kill, "Connected" again ${back ? back[0] - killedAt : '?'} ms after it (failover gap); statuses ${JSON.stringify(statusLog.filter(([at]) => at >= killedAt).map(([at, t]) => [at - killedAt, t.trim().slice(0, 60)]))}`);
  assert.ok(left && back, 'dave saw the loss and came back');
  console.log(`# node ${daveNode} killed: dave back in ${backMs} ms; carol→dave lost ${lostAtDave.length} ${JSON.stringify(lostAtDave)}, duplicates shown: ${dupAtDave} at dave, ${dupAtCarol} at carol`);
  try {
    assert.deepEqual(lostAtDave, [], 'no QoS 1 message lost across the node kill');
    assert.equal(dupAtDave + dupAtCarol, 0, 'nothing shown twice');
  } finally {
    // Back for the next test, whatever happened here.
    await stack.post(`broker/nodes/${daveNode}/start`, {}, 120000);
  }
});

test('token expiry kicks on every node and everybody comes back', async () => {
  const erin = await open('erin', 'rmq-expiry');
  const frank = await open('frank', 'rmq-expiry');
  await Promise.all([waitConnected(erin.page, 60000), waitConnected(frank.page, 60000)]);
  const before = [liveUrl(erin), liveUrl(frank)];
  const live = [erin, frank].map((u) => u.sockets.filter((s) => !s.closed));
  const { expired } = await stack.post('tokens/expire', {});
  assert.ok(expired >= 2, `expired ${expired}`);
  await waitUntil(async () => live.every((socks) => socks.every((s) => s.closed)),
    { timeoutMs: 10000, what: 'both live sockets closed by the kick' });
  await Promise.all([waitConnected(erin.page, 60000), waitConnected(frank.page, 60000)]);
  console.log(`# kicked on ${before.join(', ')}; back on ${liveUrl(erin)}, ${liveUrl(frank)}`);
  await send(erin.page, 'after the kick');
  await waitUntil(async () => (await messageTexts(frank.page)).includes('after the kick'), { what: 'erin → frank after the kick' });
});
