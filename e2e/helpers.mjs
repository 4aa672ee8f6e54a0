// Shared helpers for the end-to-end tests: start a dev stack on free ports, open signed-in
// Chromium contexts, publish from a bot, bounded waits. Every wait has a deadline.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

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
 * Resolves once /config.json answers.
 */
export async function startStack(env = {}) {
  const [port, wsPort] = [await freePort(), await freePort()];
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
      TOKEN_RATE_LIMIT: '600',
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
    base,
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
 */
export async function openUser(stack, user, pagePath = '/', { viewport = { width: 480, height: 640 }, extraArgs = [], initScript = null } = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'livechat-e2e-'));
  const context = await chromium.launchPersistentContext(dir, {
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
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    },
  };
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
 * Publishes `count` chat messages into `room` from the page of a signed-in user, with a minimal
 * MQTT 3.1.1 client written inline (QoS 0, CONNECT/PUBLISH/DISCONNECT only): the flood source.
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
    const topic = str(`chat/${room}/messages`);
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
