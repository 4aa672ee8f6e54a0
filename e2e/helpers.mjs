// Shared helpers for the end-to-end tests: start a dev stack on free ports, open signed-in
// Chromium contexts, publish from a bot, raw MQTT clients (npm `mqtt`) holding their own valid
// tokens, message records as the DOM lists them, bounded waits. Every wait has a deadline.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import mqtt from 'mqtt';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The dev-stack binary: DEV_STACK_BIN, LIVECHAT_DEV_STACK_BIN, or the cargo target dir's build. */
export function devStackBin() {
  const explicit = process.env.DEV_STACK_BIN || process.env.LIVECHAT_DEV_STACK_BIN;
  if (explicit) return explicit;
  const target = process.env.CARGO_TARGET_DIR || path.join(repo, 'target');
  for (const profile of ['release', 'debug']) {
    const bin = path.join(target, profile, 'dev-stack');
    if (existsSync(bin)) return bin;
  }
  throw new Error(`no dev-stack binary: set DEV_STACK_BIN or build it (cargo build -p dev-stack --release)`);
}

/** The trunk build output: LIVECHAT_DIST or DIST_DIR, else <repo>/dist. */
export function distDir() {
  const dir = process.env.LIVECHAT_DIST || process.env.DIST_DIR || path.join(repo, 'dist');
  if (!existsSync(path.join(dir, 'index.html'))) throw new Error(`${dir}/index.html missing: run trunk build --release`);
  return dir;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value; throws with `what` after `timeoutMs`. */
export async function waitUntil(fn, { timeoutMs = 20000, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
    await sleep(intervalMs);
  }
}

/**
 * Starts a dev stack on free ports serving the trunk build. `env` adds or overrides variables
 * (TOKEN_TTL_SECS, CSP, ...), or is a function of the chosen `{ port, wsPort }` returning them.
 * The second argument may fix the ports. Resolves once /config.json answers; the result's
 * `port`/`wsPort` are the ports it chose.
 */
export async function startStack(env = {}, { port = null, wsPort = null } = {}) {
  // `port`/`wsPort` given: start on those (a restart of a stack on the same addresses).
  port = port || await freePort();
  // Two asks for a free port can answer the same one (the first was closed again): the broker's
  // port must differ from the HTTP one (CI at 3aca9e3 got 43835 twice and the stack could not start).
  if (!wsPort) {
    do wsPort = await freePort();
    while (wsPort === port);
  }
  if (typeof env === 'function') env = env({ port, wsPort });
  const logs = [];
  const child = spawn(devStackBin(), ['--dist', distDir()], {
    env: {
      ...process.env,
      PORT: String(port),
      BROKER_WS_PORT: String(wsPort),
      BROKER: process.env.LIVECHAT_TEST_BROKER || 'embedded',
      DIST_DIR: distDir(),
      DEV_CONTROLS: '1',
      // /dev/login|logout|session exist only when enabled (issue 10); the tests sign in through them.
      DEV_AUTH: '1',
      TOKEN_RATE_LIMIT: '600',
      // Sign-ins and the embedded broker's sessions in memory / a temporary directory, not in
      // the user's ~/.cache state dir (a test that restarts a stack passes its own STATE_DIR).
      STATE_DIR: '',
      RUST_LOG: process.env.RUST_LOG || 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk) => {
    logs.push(chunk.toString());
    if (logs.length > 400) logs.splice(0, logs.length - 400);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  child.once('exit', (code, signal) => { exited = { code, signal }; });
  const base = `http://127.0.0.1:${port}`;
  const stack = {
    base, port, wsPort,
    brokerWs: `ws://127.0.0.1:${wsPort}`,
    log: () => logs.join(''),
    async control(route, body = {}) {
      const res = await fetch(`${base}/dev/control/${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(15000),
      });
      if (!res.ok) throw new Error(`/dev/control/${route} answered ${res.status}: ${await res.text()}`);
      return res.json().catch(() => ({}));
    },
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const done = await Promise.race([
        new Promise((r) => child.once('exit', () => r(true))),
        sleep(5000).then(() => false),
      ]);
      if (!done) child.kill('SIGKILL');
    },
  };
  try {
    await waitUntil(async () => {
      if (exited) throw new Error(`dev stack exited early (${JSON.stringify(exited)}):\n${stack.log()}`);
      const res = await fetch(`${base}/config.json`, { signal: AbortSignal.timeout(2000) });
      return res.ok;
    }, { timeoutMs: 30000, intervalMs: 200, what: `the dev stack at ${base}` });
  } catch (e) {
    await stack.stop();
    throw new Error(`${e.message}\n--- dev stack log ---\n${stack.log()}`);
  }
  return stack;
}

const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * A fresh Chromium profile signed in as `user` (through /dev/login), with one page opened at
 * `pagePath` (relative to the stack). Console errors and page errors are collected.
 *
 * `display` (an X display such as `:5`, from `startXvfb`) runs Chromium headed there, behaving
 * as in a user's hands (see `launchHeaded`): headless Chromium keeps every page visible,
 * unthrottled and never frozen.
 */
export async function openUser(stack, user, pagePath = '/', { viewport = { width: 480, height: 640 }, extraArgs = [], initScript = null, display = null } = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'livechat-e2e-'));
  const headed = display ? await launchHeaded(dir, display, viewport, extraArgs) : null;
  const context = headed ? headed.context : await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [...LAUNCH_ARGS, ...extraArgs],
    viewport,
  });
  context.setDefaultTimeout(15000);
  const res = await context.request.get(`${stack.base}/dev/login?user=${encodeURIComponent(user)}`, { maxRedirects: 0, timeout: 10000 });
  if (res.status() >= 400) throw new Error(`/dev/login answered ${res.status()}`);
  if (initScript) await context.addInitScript(initScript);
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  if (pagePath !== null) await page.goto(`${stack.base}${pagePath}`, { timeout: 20000 });
  return {
    user, context, page, errors,
    async close() {
      await context.close().catch(() => {});
      await headed?.stop();
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    },
  };
}

/**
 * Starts a private Xvfb X server for a headed Chromium. Xvfb picks a free display number itself
 * (`-displayfd`, race-free between parallel runs through its lock files) and reports it once it
 * accepts connections. Resolves to `{ display: ':N', stop() }`; `stop()` must always be called.
 */
export async function startXvfb() {
  const child = spawn('Xvfb', ['-displayfd', '1', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err = (err + d).slice(-2000); });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    if (!await Promise.race([exited.then(() => true), sleep(3000).then(() => false)])) child.kill('SIGKILL');
  };
  try {
    const display = await withTimeout(new Promise((resolve, reject) => {
      child.once('error', (e) => reject(new Error(`cannot start Xvfb (${e.message}): apt-get install xvfb (scripts/setup.sh does)`)));
      child.once('exit', (code, signal) => reject(new Error(`Xvfb exited (${code ?? signal}): ${err.trim()}`)));
      child.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/^(\d+)\n/);
        if (m) resolve(`:${m[1]}`);
      });
    }), 15000, 'Xvfb to report its display');
    return { display, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * Starts Chromium headed on the X `display` with the profile `dir` and connects Playwright to it.
 * A tab there behaves as in a user's browser: in the background it is hidden
 * (`visibilitychange`), its timers run about once a second, and CDP `Page.setWebLifecycleState`
 * really freezes it. Playwright's own launch prevents all three (its default switches stop
 * background throttling, and the focus emulation it turns on for every page counts as a capture
 * that keeps the page visible), so Chromium is started here and Playwright attaches over CDP
 * without its page defaults (`noDefaults`, no viewport emulation: the window has `viewport`'s
 * size). Resolves to `{ context, stop() }`, the profile's default context.
 */
async function launchHeaded(dir, display, viewport, extraArgs) {
  const child = spawn(process.env.CHROMIUM || '/usr/bin/chromium', [...LAUNCH_ARGS, '--ozone-platform=x11',
    `--window-size=${viewport.width},${viewport.height}`, '--password-store=basic', `--user-data-dir=${dir}`,
    '--remote-debugging-port=0', ...extraArgs, 'about:blank'], {
    env: { ...process.env, DISPLAY: display }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => { err = (err + d).slice(-4000); });
  const exited = new Promise((r) => child.once('exit', () => r(true)));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    if (!await Promise.race([exited, sleep(5000).then(() => false)])) child.kill('SIGKILL');
  };
  try {
    // Chromium writes the port it chose (and the browser target's path) into the profile.
    const [port, wsPath] = await waitUntil(async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`chromium exited: ${err.trim()}`);
      const lines = (await readFile(path.join(dir, 'DevToolsActivePort'), 'utf8')).split('\n');
      return lines.length >= 2 && lines[1] ? lines : false;
    }, { timeoutMs: 20000, intervalMs: 100, what: `headed chromium on ${display}` });
    const browser = await chromium.connectOverCDP(`ws://127.0.0.1:${port.trim()}${wsPath.trim()}`, { noDefaults: true, timeout: 20000 });
    return {
      context: browser.contexts()[0],
      async stop() {
        await browser.close().catch(() => {});
        await stop();
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The status line's text. */
export const statusText = (page) => page.locator('[role="status"]').innerText({ timeout: 5000 });

/** Waits until the status says exactly "Connected" (in the room). */
export async function waitConnected(page, timeoutMs = 30000) {
  await waitUntil(async () => (await statusText(page)).trim() === 'Connected',
    { timeoutMs, what: 'status "Connected"' });
}

/** Types `text` into the composer and presses Enter. */
export async function send(page, text) {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}

/** Texts of the listed messages, oldest first. */
export const messageTexts = (page) => page.locator('[role="log"] .lc-text').allInnerTexts();

/**
 * Publishes `count` chat messages into `room` from the page of a signed-in user, on that user's
 * author topic `chat/{room}/messages/{userId}`, with a minimal MQTT 3.1.1 client written inline
 * (QoS 0, CONNECT/PUBLISH/DISCONNECT only): the flood source.
 */
export async function publishFromPage(page, { brokerUrl, room, count, user = 'bot', prefix = 'flood' }) {
  return page.evaluate(async ({ brokerUrl, room, count, user, prefix }) => {
    const res = await fetch('/api/mqtt-token', {
      method: 'POST', credentials: 'include',
      headers: { 'content-type': 'application/json' }, body: '{}',
    });
    if (!res.ok) throw new Error(`token endpoint answered ${res.status}`);
    const token = await res.json();
    const enc = new TextEncoder();
    const str = (s) => { const b = enc.encode(s); return [b.length >> 8, b.length & 255, ...b]; };
    const len = (n) => { const out = []; do { let d = n % 128; n = Math.floor(n / 128); if (n > 0) d |= 128; out.push(d); } while (n > 0); return out; };
    const packet = (type, body) => new Uint8Array([type, ...len(body.length), ...body]);
    const ws = new WebSocket(brokerUrl, 'mqtt');
    ws.binaryType = 'arraybuffer';
    await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = () => fail(new Error('publisher socket failed')); setTimeout(() => fail(new Error('publisher open timeout')), 10000); });
    const connack = new Promise((ok, fail) => {
      ws.onmessage = (e) => { const b = new Uint8Array(e.data); if (b[0] === 0x20 && b[3] === 0) ok(); else fail(new Error(`CONNACK ${b[3]}`)); };
      setTimeout(() => fail(new Error('no CONNACK')), 10000);
    });
    const clientId = `${prefix}-${Math.random().toString(36).slice(2)}`;
    ws.send(packet(0x10, [...str('MQTT'), 4, 0xC2, 0, 60, ...str(clientId), ...str(token.username), ...str(token.accessToken)]));
    await connack;
    // The publisher's own author topic (the broker's ACL allows no other since issue 10).
    const topic = str(`chat/${room}/messages/${token.userId}`);
    for (let i = 0; i < count; i++) {
      const payload = enc.encode(JSON.stringify({ id: `${prefix}-${i}`, user, text: `${prefix} message ${i}`, timestamp: Date.now() }));
      ws.send(packet(0x30, [...topic, ...payload]));
      // Keep the socket's buffer bounded.
      while (ws.bufferedAmount > 256 * 1024) await new Promise((r) => setTimeout(r, 5));
    }
    while (ws.bufferedAmount > 0) await new Promise((r) => setTimeout(r, 5));
    ws.send(new Uint8Array([0xE0, 0]));
    ws.close();
    return count;
  }, { brokerUrl, room, count, user, prefix });
}

/**
 * Serves `body` as the HTML page at `stack.base + path` in `target` (a page or a context), under
 * the stack's own Content-Security-Policy, as a host site on the stack's origin would. The page
 * is fulfilled by Playwright: launch the browser with
 * `--disable-features=LocalNetworkAccessChecks`, or Chromium treats it as public and blocks its
 * sockets to 127.0.0.1. Returns the policy.
 */
export async function routeHostPage(target, stack, path, body) {
  const csp = (await target.request.get(`${stack.base}/`)).headers()['content-security-policy'];
  await target.route(`${stack.base}${path}`, (route) => route.fulfill({
    status: 200,
    headers: { 'content-type': 'text/html', 'content-security-policy': csp },
    body,
  }));
  return csp;
}

/** Signs `user` in through /dev/login from node; resolves to the session cookie (`name=value`). */
export async function devLogin(stack, user) {
  const res = await fetch(`${stack.base}/dev/login?user=${encodeURIComponent(user)}`,
    { redirect: 'manual', signal: AbortSignal.timeout(10000) });
  if (res.status >= 400) throw new Error(`/dev/login answered ${res.status}: ${await res.text()}`);
  const cookie = (res.headers.getSetCookie?.() || [res.headers.get('set-cookie') || ''])
    .map((c) => c.split(';')[0].trim()).find((c) => c.includes('=') && !c.endsWith('='));
  if (!cookie) throw new Error(`/dev/login set no session cookie (status ${res.status})`);
  return cookie;
}

/** A credential for the signed-in session `cookie`, the way the browser gets one (POST /api/mqtt-token). */
export async function fetchToken(stack, cookie) {
  const res = await fetch(`${stack.base}/api/mqtt-token`, {
    method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: '{}',
    signal: AbortSignal.timeout(10000),
  });
  if (!res.ok) throw new Error(`/api/mqtt-token answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** The broker URL a client should use: the token response's `brokerUrl`, else /config.json's. */
export async function brokerUrlFor(stack, token) {
  const named = token?.brokerUrl || token?.broker_url;
  if (named) return named;
  const res = await fetch(`${stack.base}/config.json`, { signal: AbortSignal.timeout(5000) });
  return (await res.json()).brokerUrl;
}

/**
 * A raw MQTT client (npm `mqtt`) signed in as `user` with its own valid token: a hostile user
 * or a quickstart-style client. `version` 5 or 4 (= 3.1.1). No automatic reconnect. Resolves to
 * `{ client, token, user, received, closed, closedAt, disconnectPacket, waitClosed(ms), end() }`;
 * `received` collects `{ topic, text, retain, at }` of every message after subscribe().
 */
export async function rawClient(stack, user, { version = 5, cookie = null, token = null, clientId = null, properties } = {}) {
  cookie = cookie || (token ? null : await devLogin(stack, user));
  token = token || await fetchToken(stack, cookie);
  const url = await brokerUrlFor(stack, token);
  const client = await mqtt.connectAsync(url, {
    protocolVersion: version,
    username: token.username,
    password: token.accessToken,
    clientId: clientId || `raw-${user}-v${version}-${Math.random().toString(36).slice(2, 10)}`,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 10000,
    keepalive: 30,
    ...(properties ? { properties } : {}),
  }, false);
  const raw = {
    client, token, user, cookie, version, url,
    received: [],
    closed: false,
    closedAt: null,
    disconnectPacket: null,
    async subscribe(filter, opts = { qos: 1 }) {
      // Resolves to [{ topic, qos }] with qos >= 0x80 when the broker refused the filter.
      return withTimeout(client.subscribeAsync(filter, opts), 10000, `SUBACK for ${filter}`).catch((e) => {
        if (Array.isArray(e?.packet?.granted)) return e.packet.granted.map((qos) => ({ topic: filter, qos }));
        throw e;
      });
    },
    /** Resolves true once the connection is closed, false after `ms`. */
    waitClosed(ms) {
      if (raw.closed) return Promise.resolve(true);
      return Promise.race([closedOnce, sleep(ms).then(() => false)]);
    },
    async end() { await client.endAsync(true).catch(() => {}); },
  };
  client.on('message', (topic, payload, packet) => {
    raw.received.push({ topic, text: payload.toString('utf8'), bytes: payload.length, retain: !!packet.retain, at: Date.now() });
  });
  client.on('disconnect', (packet) => { raw.disconnectPacket = packet; });
  let markClosed;
  const closedOnce = new Promise((r) => { markClosed = r; });
  client.on('close', () => { if (!raw.closed) { raw.closed = true; raw.closedAt = Date.now(); markClosed(true); } });
  client.on('error', () => {});
  return raw;
}

/** Rejects with "timed out" after `ms`. */
export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms); }),
  ]);
}

/**
 * Publishes from a raw client and classifies what the broker did within `ms`:
 * `{ outcome: 'ack' }` (QoS 1 PUBACK success, or QoS 0 written), `{ outcome: 'refused', code }`
 * (v5 PUBACK reason code >= 0x80), `{ outcome: 'closed', code }` (the broker disconnected the
 * client; v5 DISCONNECT reason code if one came), or `{ outcome: 'no-ack' }`.
 */
export async function tryPublish(raw, topic, payload, { qos = 1, retain = false, ms = 5000 } = {}) {
  const { client } = raw;
  if (raw.closed) return { outcome: 'closed', code: raw.disconnectPacket?.reasonCode ?? null };
  const closed = raw.waitClosed(ms).then((c) => (c ? 'closed' : 'no-ack'));
  const published = client.publishAsync(topic, payload, { qos, retain })
    .then(() => 'ack', (e) => ({ code: e?.code ?? null, message: String(e?.message || e) }));
  const first = await Promise.race([published, closed]);
  if (first === 'ack') {
    // A broker may acknowledge (3.1.1 has no way to refuse) and then close: give it a moment.
    if (await raw.waitClosed(300)) return { outcome: 'closed', code: raw.disconnectPacket?.reasonCode ?? null, acked: true };
    return { outcome: 'ack' };
  }
  if (first === 'closed' || first === 'no-ack') {
    return first === 'closed' ? { outcome: 'closed', code: raw.disconnectPacket?.reasonCode ?? null } : { outcome: 'no-ack' };
  }
  if (raw.closed) return { outcome: 'closed', code: raw.disconnectPacket?.reasonCode ?? first.code };
  return { outcome: 'refused', code: first.code, message: first.message };
}

/** The listed messages as `{ id, author, verified, own, other, text, authorText, claimed, unverifiedBadge, delivery }`. */
export async function messageRecords(page) {
  return page.locator('[role="log"] li.lc-msg').evaluateAll((lis) => lis.map((li) => ({
    id: li.getAttribute('data-id'),
    author: li.getAttribute('data-author'),
    verified: li.getAttribute('data-verified'),
    own: li.classList.contains('lc-own'),
    other: li.classList.contains('lc-other'),
    text: li.querySelector('.lc-text')?.textContent ?? null,
    authorText: li.querySelector('.lc-author')?.textContent?.trim() ?? null,
    claimed: li.querySelector('.lc-claimed')?.textContent?.trim() ?? null,
    unverifiedBadge: li.querySelector('.lc-unverified')?.textContent?.trim() ?? null,
    delivery: li.querySelector('.lc-delivery')?.textContent?.trim() ?? null,
  })));
}

/** A local TCP listener that counts connections and bytes (a broker the site did not choose). */
/**
 * A WebSocket server on 127.0.0.1 that completes the `mqtt` subprotocol handshake and counts what
 * a client sends after it (MQTT bytes: a CONNECT would carry the credentials). It never answers.
 */
export async function countingWsBroker() {
  const { WebSocketServer } = await import('ws');
  const stats = { connections: 0, frames: 0, bytes: 0 };
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false) });
  wss.on('connection', (ws) => {
    stats.connections += 1;
    ws.on('message', (data) => { stats.frames += 1; stats.bytes += data.length; });
    ws.on('error', () => {});
  });
  await new Promise((resolve, reject) => { wss.once('error', reject); wss.once('listening', resolve); });
  const { port } = wss.address();
  return {
    port, stats,
    url: `ws://127.0.0.1:${port}/mqtt`,
    close: () => new Promise((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }),
  };
}

export async function countingListener() {
  const sockets = new Set();
  const stats = { connections: 0, bytes: 0, firstBytes: '' };
  const server = net.createServer((socket) => {
    stats.connections += 1;
    sockets.add(socket);
    socket.on('data', (d) => {
      stats.bytes += d.length;
      if (stats.firstBytes.length < 2000) stats.firstBytes += d.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
  const { port } = server.address();
  return {
    port, stats,
    url: `ws://127.0.0.1:${port}/mqtt`,
    close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}
