// Fan-out on the RabbitMQ cluster (BENCHMARKS.md, "RabbitMQ cluster"): 50 MQTT 3.1.1 subscribers spread
// over the 3 nodes by their tokens, one publisher, MSGS messages (default 400) at QOS (default 1)
// with up to 20 unacknowledged; prints deliveries per second. Not a test (no .test.mjs):
//   LIVECHAT_DEV_STACK_BIN=... [RABBITMQ_QUEUES=classic] [QOS=0] node e2e/rabbitmq-fanout.mjs
import { spawn } from 'node:child_process';
import mqtt from 'mqtt';
import { devStackBin, distDir, freePort, sleep, waitUntil } from './helpers.mjs';
const port = await freePort();
const child = spawn(devStackBin(), ['--dist', distDir()], { env: { ...process.env, PORT: String(port), BROKER_WS_PORT: '0', BROKER: 'rabbitmq', DEV_CONTROLS: '1', DEV_AUTH: '1', STATE_DIR: '', TOKEN_RATE_LIMIT: '0' }, stdio: ['ignore', 'ignore', 'ignore'] });
const base = `http://127.0.0.1:${port}`;
await waitUntil(async () => (await fetch(`${base}/config.json`).catch(() => null))?.ok, { timeoutMs: 240000, intervalMs: 500 });
async function tok(user) {
  const r = await fetch(`${base}/dev/login?user=${user}`, { redirect: 'manual' });
  const c = r.headers.get('set-cookie').split(';')[0];
  return (await fetch(`${base}/api/mqtt-token`, { method: 'POST', headers: { cookie: c } })).json();
}
const conn = (t, id) => new Promise((res, rej) => { const c = mqtt.connect(t.brokerUrl, { protocolVersion: 4, username: t.username, password: t.accessToken, clientId: id, clean: true, reconnectPeriod: 0 }); c.on('connect', () => res(c)); c.on('error', rej); });
const SUBS = 50, MSGS = Number(process.env.MSGS || 400), QOS = Number(process.env.QOS || 1);
const subs = []; const perNode = {};
let received = 0;
for (let i = 0; i < SUBS; i++) {
  const t = await tok(`sub${i}`);
  perNode[t.brokerUrl] = (perNode[t.brokerUrl] || 0) + 1;
  const c = await conn(t, `fan-sub-${i}`);
  await c.subscribeAsync('chat/fan/messages/+', { qos: QOS });
  c.on('message', () => { received++; });
  subs.push(c);
}
const pt = await tok('pub');
const p = await conn(pt, 'fan-pub');
console.log('subscribers per node', JSON.stringify(perNode), 'publisher on', pt.brokerUrl);
const t0 = Date.now();
const inflight = [];
for (let i = 0; i < MSGS; i++) {
  inflight.push(p.publishAsync('chat/fan/messages/pub', `m${i}`, { qos: QOS }));
  if (inflight.length >= 20) await Promise.all(inflight.splice(0));
}
await Promise.all(inflight);
const pubMs = Date.now() - t0;
await waitUntil(() => received >= SUBS * MSGS, { timeoutMs: 120000, intervalMs: 50, what: 'all deliveries' }).catch(() => {});
const ms = Date.now() - t0;
console.log(`fan-out QoS ${QOS}: ${MSGS} msgs x ${SUBS} subs = ${received}/${SUBS * MSGS} deliveries in ${ms} ms (${Math.round(received / (ms / 1000))} deliveries/s; publishing took ${pubMs} ms, ${Math.round(MSGS / (pubMs / 1000))} msg/s acked)`);
for (const c of [...subs, p]) c.end(true);
child.kill('SIGTERM');
await sleep(9000);
process.exit(0);
