import { startStack, rawClient, sleep, devLogin, fetchToken, brokerUrlFor } from './helpers.mjs';
import mqtt from 'mqtt';
const stack = await startStack({ BROKER: process.argv[2] || 'mosquitto' });
try {
  const room = 'e2e-exp-will';
  const w = await rawClient(stack, 'exp-watch');
  console.log('sub', JSON.stringify(await w.subscribe(`chat/${room}/presence/+/+`)));
  const cookie = await devLogin(stack, 'exp-dies');
  const token = await fetchToken(stack, cookie);
  const url = await brokerUrlFor(stack, token);
  const topic = `chat/${room}/presence/exp-dies/abcdef0123456789`;
  const mode = process.argv[3] || 'destroy';
  const c = await mqtt.connectAsync(url, { protocolVersion: 5, username: token.username, password: token.accessToken, clientId: 'exp-dies-1', clean: false, reconnectPeriod: 0, keepalive: 4,
    properties: { sessionExpiryInterval: 600 },
    will: { topic, payload: Buffer.alloc(0), qos: 1, retain: true, properties: { willDelayInterval: 3 } } }, false);
  await c.publishAsync(topic, JSON.stringify({ name: 'x', since: 1 }), { qos: 1, retain: true });
  await sleep(500);
  const t0 = Date.now();
  if (mode === 'destroy') c.stream.destroy();
  else { await stack.control('faults', { mode: 'blackhole', scope: 'user:exp-dies' }); c.stream.pause(); c.options.keepalive = 0; clearInterval(c.pingTimer); c.pingTimer?.clear?.(); c._destroyKeepaliveManager?.(); }
  for (let i = 0; i < 40; i++) { await sleep(500); const got = w.received.filter((r) => r.topic === topic); if (got.some((r) => r.bytes === 0)) { console.log(mode, 'will arrived after', Date.now() - t0, 'ms'); break; } }
  console.log('received', JSON.stringify(w.received.map((r) => [r.topic, r.bytes, r.retain])));
  console.log((await stack.logs?.()) ?? '');
} finally { await stack.control('faults', { mode: 'off' }).catch(() => {}); await stack.stop(); process.exit(0); }
