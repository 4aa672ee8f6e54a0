#!/usr/bin/env node
// Side-by-side benchmark: our client vs MQTT.js 5, Paho JS 1.1 and mqtt5-wasm (Rust/wasm, crates.io)
// in the same headless Chromium,
// against the same local Mosquitto (WebSocket), clients alternating round-robin. See bench/README.md.
//
// Everything runs on 127.0.0.1; every wait is bounded; every process started here is killed on
// exit, on error and on SIGINT/SIGTERM.

import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const mqtt = require('mqtt');

// ---------------------------------------------------------------------------------------------
// Configuration (env; documented in bench/README.md)
const env = process.env;
const int = (name, dflt) => (env[name] !== undefined ? Number.parseInt(env[name], 10) : dflt);
const cfg = {
  runs: int('BENCH_RUNS', 5),
  rttCount: int('BENCH_RTT_MESSAGES', 1000),
  floodCount: int('BENCH_FLOOD_MESSAGES', 50000),
  size: int('BENCH_MESSAGE_BYTES', 100),
  mqttVersion: int('BENCH_MQTT_VERSION', 4), // reference clients: 4 = MQTT 3.1.1, 5 = MQTT 5 (MQTT.js only)
  clients: (env.BENCH_CLIENTS || 'ws-floor,mqttjs,paho,paho-ours,mqtt5-wasm,ours-bare,ours-ui').split(',').map((s) => s.trim()).filter(Boolean),
  write: process.argv.includes('--write') || env.BENCH_WRITE === '1',
  profile: env.BENCH_PROFILE === '1',
  chromium: env.CHROMIUM || '/usr/bin/chromium',
  mosquitto: env.MOSQUITTO || '/usr/sbin/mosquitto',
  totalTimeoutMs: int('BENCH_TOTAL_TIMEOUT_SECS', 1800) * 1000,
  connectTimeoutMs: int('BENCH_CONNECT_TIMEOUT_SECS', 20) * 1000,
  floodTimeoutMs: int('BENCH_FLOOD_TIMEOUT_SECS', 120) * 1000,
  // Our side.
  dist: path.resolve(repo, env.LIVECHAT_DIST || 'dist'),
  devStack: env.LIVECHAT_DEV_STACK || '', // path of the built dev-stack binary; '' = look in target dirs
  baseUrl: env.LIVECHAT_BASE_URL || '', // an already running dev stack; '' = start our own
  // The bare-client page: a separate small Trunk build (see README), merged under /bench-bare/ of
  // the directory the dev stack serves, so it is same-origin with the token endpoint.
  bareDist: path.resolve(repo, env.LIVECHAT_BARE_DIST || 'bench/bare/dist'),
  barePath: env.LIVECHAT_BARE_PATH || '/bench-bare/index.html',
  uiPath: env.LIVECHAT_UI_PATH || '/?room={tag}',
  statusPattern: env.LIVECHAT_STATUS_PATTERN || '\\bConnected\\b',
  benchUser: env.LIVECHAT_BENCH_USER || 'bench',
  uiTopic: env.LIVECHAT_UI_TOPIC || 'chat/{room}/messages',
  // The mqtt5-wasm peer: wasm-bindgen output of bench/mqtt5-wasm/build.sh (mqtt5_wasm.js + _bg.wasm).
  mqtt5WasmPkg: path.resolve(repo, env.BENCH_MQTT5_WASM_PKG || 'bench/mqtt5-wasm/pkg'),
};

// The shared chat topic (allowed beside the per-author ones by CHAT_ACL=mixed): what the bare page
// (bench/bare/src/lib.rs, TOPIC_TEMPLATE) and Paho on our broker run the round trips and flood on.
const BARE_TOPIC_TEMPLATE = 'chat/{name}/messages';
// Clients that need the dev stack (its broker and tokens): ours, and Paho run on that broker.
const onDevStack = (c) => c.startsWith('ours') || c === 'paho-ours';

const log = (...a) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

// ---------------------------------------------------------------------------------------------
// Cleanup: every child process and server registers here.
const cleanups = [];
let cleaning = false;
let cleanedUp = null;
// One cleanup, however many callers (a signal arriving while the run ends normally): each awaits
// the same promise, so nobody exits while a child is still being stopped.
function cleanup() {
  if (cleanedUp) return cleanedUp;
  cleaning = true;
  cleanedUp = (async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (e) {
        log('cleanup error:', e.message);
      }
    }
  })();
  return cleanedUp;
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    log(`got ${sig}, cleaning up`);
    await cleanup();
    process.exit(130);
  });
}
const globalTimer = setTimeout(async () => {
  log(`total timeout of ${cfg.totalTimeoutMs / 1000}s reached, aborting`);
  await cleanup();
  process.exit(124);
}, cfg.totalTimeoutMs);
globalTimer.unref();

function spawnChild(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  const out = [];
  const keep = (d) => {
    out.push(d.toString());
    if (out.length > 200) out.shift();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.output = () => out.join('');
  cleanups.push(
    () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const t = setTimeout(() => {
          try { child.kill('SIGKILL'); } catch { /* gone */ }
          resolve();
        }, 3000);
        child.once('exit', () => { clearTimeout(t); resolve(); });
        try { child.kill('SIGTERM'); } catch { resolve(); }
      }),
  );
  return child;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const sock = net.connect({ host: '127.0.0.1', port }, () => { sock.destroy(); resolve(true); });
      sock.once('error', () => resolve(false));
      sock.setTimeout(500, () => { sock.destroy(); resolve(false); });
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${what} did not open 127.0.0.1:${port} within ${timeoutMs} ms`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Mosquitto for the reference clients: anonymous, loopback only, WebSocket + TCP (flood publisher).
async function startMosquitto(tmp) {
  const wsPort = await freePort();
  const tcpPort = await freePort();
  const conf = path.join(tmp, 'mosquitto.conf');
  fs.writeFileSync(
    conf,
    [
      'per_listener_settings false',
      'allow_anonymous true',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      // No queue cap: a slow page must never be thinned by the broker during the flood.
      'max_queued_messages 0',
      'set_tcp_nodelay true',
      `listener ${tcpPort} 127.0.0.1`,
      'socket_domain ipv4',
      `listener ${wsPort} 127.0.0.1`,
      'protocol websockets',
      'socket_domain ipv4',
      '',
    ].join('\n'),
  );
  const child = spawnChild(cfg.mosquitto, ['-c', conf]);
  child.once('exit', (code) => { if (!cleaning) log(`mosquitto exited (${code}):\n${child.output()}`); });
  await waitForPort(tcpPort, 10000, 'mosquitto (tcp)');
  await waitForPort(wsPort, 10000, 'mosquitto (websocket)');
  log(`mosquitto ${cfg.mosquitto} on ws://127.0.0.1:${wsPort} and mqtt://127.0.0.1:${tcpPort}`);
  return { wsUrl: `ws://127.0.0.1:${wsPort}/mqtt`, tcpUrl: `mqtt://127.0.0.1:${tcpPort}` };
}

// ---------------------------------------------------------------------------------------------
// Static server for the reference pages and libraries.
const LIBS = {
  mqttjs: { file: 'node_modules/mqtt/dist/mqtt.min.js', url: '/lib/mqtt.min.js', label: 'mqtt/dist/mqtt.min.js' },
  paho: { file: 'node_modules/paho-mqtt/paho-mqtt-min.js', url: '/lib/paho-mqtt-min.js', label: 'paho-mqtt/paho-mqtt-min.js' },
};

async function startPageServer() {
  const routes = new Map([
    ['/mqttjs.html', path.join(here, 'pages/mqttjs.html')],
    ['/paho.html', path.join(here, 'pages/paho.html')],
    ['/ws-floor.html', path.join(here, 'pages/ws-floor.html')],
    ['/mqtt5-wasm.html', path.join(here, 'pages/mqtt5-wasm.html')],
    ['/mqtt5-wasm/mqtt5_wasm.js', path.join(cfg.mqtt5WasmPkg, 'mqtt5_wasm.js')],
    ['/mqtt5-wasm/mqtt5_wasm_bg.wasm', path.join(cfg.mqtt5WasmPkg, 'mqtt5_wasm_bg.wasm')],
    [LIBS.mqttjs.url, path.join(here, LIBS.mqttjs.file)],
    [LIBS.paho.url, path.join(here, LIBS.paho.file)],
  ]);
  const server = createServer((req, res) => {
    const file = routes.get(new URL(req.url, 'http://x').pathname);
    if (!file || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    // application/wasm lets the wasm loader compile while it streams (as a real server would).
    const type = file.endsWith('.html') ? 'text/html; charset=utf-8'
      : file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript; charset=utf-8';
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(fs.readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((r) => server.close(() => r())));
  const base = `http://127.0.0.1:${server.address().port}`;
  log(`bench pages on ${base}`);
  return base;
}

// ---------------------------------------------------------------------------------------------
// Our side: the dev stack (token backend + Mosquitto with dynamic security) serving dist/.
function findDevStack() {
  if (cfg.devStack) return cfg.devStack;
  const candidates = [];
  if (env.CARGO_TARGET_DIR) candidates.push(path.join(env.CARGO_TARGET_DIR, 'release/dev-stack'));
  candidates.push(path.join(repo, 'target/release/dev-stack'));
  candidates.push(path.join(os.homedir(), '.cache/livechat/target/release/dev-stack')); // scripts/common.sh
  for (const dir of safeReaddir('/work/target')) candidates.push(path.join('/work/target', dir, 'release/dev-stack'));
  return candidates.find((c) => fs.existsSync(c)) || '';
}
function safeReaddir(d) {
  try { return fs.readdirSync(d); } catch { return []; }
}

async function startDevStack(tmp) {
  if (cfg.baseUrl) return { base: cfg.baseUrl.replace(/\/$/, '') };
  if (env.BENCH_OURS_BUILD_ERROR) throw new Error(env.BENCH_OURS_BUILD_ERROR);
  const bin = findDevStack();
  if (!bin) throw new Error('no dev-stack binary (build it: cargo build -p dev-stack --release, or set LIVECHAT_DEV_STACK)');
  if (!fs.existsSync(path.join(cfg.dist, 'index.html'))) throw new Error(`no built app at ${cfg.dist} (trunk build --release)`);
  // Serve dist/ plus, when built, the bare-client page under /bench-bare/.
  let serveDir = cfg.dist;
  if (fs.existsSync(path.join(cfg.bareDist, 'index.html'))) {
    serveDir = path.join(tmp, 'www');
    fs.cpSync(cfg.dist, serveDir, { recursive: true });
    fs.cpSync(cfg.bareDist, path.join(serveDir, 'bench-bare'), { recursive: true });
  }
  const port = await freePort();
  const wsPort = await freePort();
  const child = spawnChild(bin, ['--dist', serveDir], {
    cwd: repo,
    env: {
      ...env,
      PORT: String(port),
      BROKER_WS_PORT: String(wsPort),
      BROKER: 'mosquitto',
      DIST_DIR: serveDir,
      // No DEV_CONTROLS: with it the dev stack puts its fault proxy (a relay in the stack's
      // process) in front of Mosquitto, a hop the reference clients do not pay. Sign-in only.
      DEV_AUTH: '1',
      // The bench measures transport, not identity: the bare page and the flood publisher use the
      // shared topic, which `mixed` allows beside the per-author topics (docs/token-contract.md).
      CHAT_ACL: 'mixed',
      TOKEN_TTL_SECS: '3600',
      TOKEN_RATE_LIMIT: '100000',
      // Like the reference broker: no per-client queue cap, so a slow page is measured as slow
      // rather than thinned by the broker (the dev stack's Mosquitto also sets TCP_NODELAY).
      MOSQUITTO_MAX_QUEUED: '0',
    },
  });
  child.once('exit', (code) => { if (!cleaning) log(`dev-stack exited (${code}):\n${child.output()}`); });
  await waitForPort(port, 60000, 'dev-stack (http)');
  await waitForPort(wsPort, 30000, 'dev-stack (broker websocket)');
  log(`dev stack ${bin} on http://127.0.0.1:${port}, broker ws ${wsPort}`);
  return { base: `http://127.0.0.1:${port}`, child };
}

// ---------------------------------------------------------------------------------------------
// Transfer size: gzip -9 and brotli q11 of each file, summed.
function compressedSizes(files) {
  let raw = 0, gzip = 0, br = 0;
  const detail = [];
  for (const f of files) {
    const buf = fs.readFileSync(f);
    const g = zlib.gzipSync(buf, { level: 9 }).length;
    const b = zlib.brotliCompressSync(buf, {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: buf.length },
    }).length;
    raw += buf.length; gzip += g; br += b;
    detail.push({ file: f, raw: buf.length, gzip: g, brotli: b });
  }
  return { raw, gzip, brotli: br, files: detail };
}

function walk(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

// mqtt5-wasm's build: "<files>" present, plus the versions build.sh recorded in pkg/BUILD.
const MQTT5_WASM_FILES = ['mqtt5_wasm.js', 'mqtt5_wasm_bg.wasm'];
const shortPath = (p) => (p.startsWith(repo + path.sep) ? path.relative(repo, p) : p);
function mqtt5WasmBuilt() {
  return MQTT5_WASM_FILES.every((f) => fs.existsSync(path.join(cfg.mqtt5WasmPkg, f)));
}
function mqtt5WasmBuildInfo() {
  try { return fs.readFileSync(path.join(cfg.mqtt5WasmPkg, 'BUILD'), 'utf8').trim(); } catch { return 'unknown build'; }
}

function sizesFor(client) {
  if (client === 'paho-ours') return sizesFor('paho');
  if (LIBS[client]) return { what: LIBS[client].label, ...compressedSizes([path.join(here, LIBS[client].file)]) };
  if (client === 'mqtt5-wasm') {
    if (!mqtt5WasmBuilt() || env.BENCH_MQTT5_WASM_BUILD_ERROR) return null;
    return { what: `${shortPath(cfg.mqtt5WasmPkg)}/ (${MQTT5_WASM_FILES.join(', ')}; ${mqtt5WasmBuildInfo()})`,
      ...compressedSizes(MQTT5_WASM_FILES.map((f) => path.join(cfg.mqtt5WasmPkg, f))) };
  }
  const dir = client === 'ours-ui' ? cfg.dist : client === 'ours-bare' ? cfg.bareDist : null;
  if (!dir || !fs.existsSync(dir) || (client === 'ours-ui' && env.BENCH_APP_BUILD_FAILED)) return null;
  const files = walk(dir).filter((f) => /\.(wasm|js|css|html)$/.test(f));
  if (!files.length) return null;
  const label = client === 'ours-ui' ? 'whole app' : 'bare-client page';
  return { what: `${label} ${path.relative(repo, dir)}/ (${files.map((f) => path.basename(f)).join(', ')})`, ...compressedSizes(files) };
}

// ---------------------------------------------------------------------------------------------
// Flood publisher: node `mqtt` over TCP (reference broker) or WebSocket with a token (dev stack).
function payloadBuf(id, size) {
  const head = `{"id":${id},"user":"bench","text":"`;
  const tail = '"}';
  return Buffer.from(head + 'x'.repeat(Math.max(0, size - head.length - tail.length)) + tail);
}

async function publishFlood({ url, username, password, topic, count, size, template }) {
  const client = mqtt.connect(url, {
    clientId: `bench-flood-${process.pid}-${Date.now()}`,
    username, password, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10000,
  });
  try {
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('flood publisher: connect timeout')), 10000);
      client.once('connect', () => { clearTimeout(t); resolve(); });
      client.once('error', (e) => { clearTimeout(t); reject(e); });
    });
    const t0 = performance.now();
    // Publish in slices so the socket buffer stays bounded; QoS 0, as fast as the socket drains.
    const slice = 500;
    for (let i = 0; i < count; i += slice) {
      const n = Math.min(slice, count - i);
      await new Promise((resolve, reject) => {
        let left = n;
        for (let k = 0; k < n; k++) {
          const body = template ? Buffer.from(template.replaceAll('{id}', String(i + k))) : payloadBuf(i + k, size);
          client.publish(topic, body, { qos: 0 }, (err) => {
            if (err) reject(err);
            else if (--left === 0) resolve();
          });
        }
      });
    }
    return { publishMs: performance.now() - t0 };
  } finally {
    await new Promise((r) => client.end(false, {}, () => r()));
  }
}

// A chat message as issue 5 describes it ({ user, text, timestamp } plus a client message id),
// padded to about `size` bytes; "{id}" is replaced per message. The UI may override it.
function uiTemplate(size) {
  // The app's wire format (src/chat/wire.rs): timestamp in epoch milliseconds.
  const head = '{"id":"bench-{id}","user":"bench-flood","timestamp":1767225600000,"text":"';
  const tail = '"}';
  return head + 'x'.repeat(Math.max(1, size - head.length - tail.length - 2)) + tail;
}

// ---------------------------------------------------------------------------------------------
// Stats
const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const pct = (xs, p) => {
  const v = [...xs].sort((a, b) => a - b);
  if (!v.length) return null;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))];
};

// ---------------------------------------------------------------------------------------------
// One run of one client in a fresh page.
async function heap(cdp) {
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize, totalSize } = await cdp.send('Runtime.getHeapUsage');
  return { used: usedSize, total: totalSize };
}

// BENCH_HEAP_SAMPLING=1: the sampling heap profile from navigation to idle (what is still alive),
// written to bench/results/heap-sampling-<client>-<run>.json (bench/heap-sampling.mjs lists it).
async function heapSampling(cdp, name) {
  const { profile } = await cdp.send('HeapProfiler.getSamplingProfile');
  await cdp.send('HeapProfiler.stopSampling');
  fs.mkdirSync(path.join(here, 'results'), { recursive: true });
  fs.writeFileSync(path.join(here, 'results', `heap-sampling-${name}.json`), JSON.stringify(profile));
}

// BENCH_HEAP_SNAPSHOT=1: a V8 heap snapshot at idle (after the idle heap was measured), written
// to bench/results/heap-<client>-<run>.heapsnapshot (bench/heap-summary.mjs compares them).
async function heapSnapshot(cdp, name) {
  const chunks = [];
  const onChunk = (e) => chunks.push(e.chunk);
  cdp.on('HeapProfiler.addHeapSnapshotChunk', onChunk);
  await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false, captureNumericValue: false });
  cdp.off('HeapProfiler.addHeapSnapshotChunk', onChunk);
  fs.mkdirSync(path.join(here, 'results'), { recursive: true });
  fs.writeFileSync(path.join(here, 'results', `heap-${name}.heapsnapshot`), chunks.join(''));
}

// BENCH_PROFILE=1: a V8 CPU profile (CDP Profiler, 100 µs sampling) from the flood's first
// publish to its last arrival. Self time is summed per function; the summary (busy vs idle, GC,
// wasm / JS / browser, the top functions) goes into the run and bench/results/profile-*.json.
// The profiler slows the page: profiled runs are for attribution, not for the table. Wasm
// functions have names only in a build that keeps the name section (see bench/README.md).
async function startProfile(cdp) {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
}

async function stopProfile(cdp, name) {
  const { profile } = await cdp.send('Profiler.stop');
  if (env.BENCH_PROFILE_RAW) fs.writeFileSync(path.join(env.BENCH_PROFILE_RAW, `raw-${name}.cpuprofile`), JSON.stringify(profile));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const cats = { idle: 0, gc: 0, program: 0, wasm: 0, js: 0 };
  let total = 0;
  (profile.samples || []).forEach((id, i) => {
    const ms = ((profile.timeDeltas && profile.timeDeltas[i + 1]) || 0) / 1000;
    const { functionName, url } = byId.get(id).callFrame;
    total += ms;
    const cat = functionName === '(idle)' ? 'idle' : functionName === '(garbage collector)' ? 'gc'
      : functionName === '(program)' || functionName === '(root)' ? 'program'
        : /\.wasm$/.test(url) || url.startsWith('wasm://') || /^(wasm-function|\$)/.test(functionName) ? 'wasm' : 'js';
    cats[cat] += ms;
    const key = `${cat}\t${functionName || '(anonymous)'}\t${url.split('/').pop()}`;
    self.set(key, (self.get(key) || 0) + ms);
  });
  const top = [...self.entries()].filter(([k]) => !k.startsWith('idle')).sort((a, b) => b[1] - a[1]).slice(0, 40)
    .map(([k, ms]) => { const [cat, fn, file] = k.split('\t'); return { cat, fn, file, ms: Math.round(ms * 10) / 10 }; });
  const summary = { totalMs: Math.round(total), categoriesMs: Object.fromEntries(Object.entries(cats).map(([k, v]) => [k, Math.round(v)])), top };
  fs.mkdirSync(path.join(here, 'results'), { recursive: true });
  fs.writeFileSync(path.join(here, 'results', `profile-${name}.json`), JSON.stringify(summary, null, 2));
  log(`profile ${name}: ${JSON.stringify(summary.categoriesMs)}; top: ${top.slice(0, 8).map((t) => `${t.fn} ${t.ms}`).join(', ')}`);
  return summary;
}

// BENCH_STARTUP_PROFILE=1 (with BENCH_TIMELINE=1): the samples of a CPU profile taken from before
// navigation to connected, mapped to page time (performance.now() read right after the profiler
// stopped = the profile's end, within a few ms) and classified like stopProfile does; returned as
// samples [page ms, kind, function, file] for windows between timeline events.
async function stopStartupProfile(cdp, page) {
  const { profile } = await cdp.send('Profiler.stop');
  const pageNow = await page.evaluate(() => performance.now());
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  let ts = profile.startTime;
  const out = [];
  (profile.samples || []).forEach((id, i) => {
    ts += (profile.timeDeltas && profile.timeDeltas[i]) || 0;
    const dt = ((profile.timeDeltas && profile.timeDeltas[i + 1]) || 0) / 1000;
    const { functionName, url } = byId.get(id).callFrame;
    const kind = functionName === '(idle)' ? 'idle' : functionName === '(garbage collector)' ? 'gc'
      : functionName === '(program)' || functionName === '(root)' ? 'program'
        : /\.wasm$/.test(url) || url.startsWith('wasm://') || /^(wasm-function|\$)/.test(functionName) ? 'wasm' : 'js';
    const at = pageNow - (profile.endTime - ts) / 1000;
    if (at >= 0) out.push([Math.round(at * 10) / 10, Math.round(dt * 100) / 100, kind, functionName || '(anonymous)', url.split('/').pop()]);
  });
  return out;
}

// Waits until the page says it is connected, asking through CDP in the page's own world: not
// Playwright's waitForFunction, whose first poll compiles Playwright's injected script on the
// page's main thread (15–20 ms in a trace), in the middle of the connect path of a page whose
// load event came before it connected.
async function waitConnectedCdp(cdp, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  const expression = '!!(window.__benchCore && window.__benchCore.connectedTime() !== null)';
  for (;;) {
    const { result } = await cdp.send('Runtime.evaluate', { expression, returnByValue: true });
    if (result && result.value === true) return;
    if (Date.now() > deadline) throw new Error(`not connected within ${timeoutMs} ms`);
    await sleep(20);
  }
}

async function measureOnce(browser, client, env2, runIndex) {
  // A fresh context per measurement: empty HTTP cache, no state carried between clients.
  const context = await browser.newContext();
  await context.addInitScript({ path: path.join(here, 'pages/bench-core.js') });
  if (env.BENCH_TIMELINE === '1') await context.addInitScript({ path: path.join(here, 'pages/timeline.js') });
  if (env.BENCH_BURSTS === '1') await context.addInitScript({ path: path.join(here, 'pages/bursts.js') });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  // No CDP Network domain here: with it enabled Chromium reports every WebSocket frame to the
  // harness, which slows the page's receive path several-fold.
  const cdp = await context.newCDPSession(page);
  const r = { client, run: runIndex };
  // Also a valid room name ([A-Za-z0-9_-]{1,64}) for our side.
  const tag = `${client}-${runIndex}-${Date.now().toString(36)}`.replace(/[^A-Za-z0-9_-]/g, '_');
  try {
    const isUi = client === 'ours-ui';
    if (client === 'paho-ours') env2 = { ...env2, creds: await env2.publisherCreds(`bench-paho-${tag}`.slice(0, 64)) };
    const url = urlFor(client, env2, tag);
    if (env2.login) await env2.login(context, tag);
    if (isUi) {
      await page.addInitScript({ content: `window.__benchCore && window.__benchCore.watchStatus(${JSON.stringify(cfg.statusPattern)});` });
      // The app's benchmark hook is inert unless the page defines this object (no host page
      // does); with it, the app keeps `rendered` = room messages committed to its log.
      await page.addInitScript({ content: 'window.__livechatBench = { rendered: 0 };' });
    }
    // BENCH_STARTUP_PROFILE=1: a CPU profile from before navigation to connected (attribution only).
    if (env.BENCH_STARTUP_PROFILE === '1') await startProfile(cdp);
    // BENCH_HEAP_SAMPLING=1: V8's sampling heap profiler from before navigation to idle, so a
    // large allocation (e.g. a cache V8 grows) comes with the JS stack that made it (attribution only).
    if (env.BENCH_HEAP_SAMPLING === '1') {
      await cdp.send('HeapProfiler.enable');
      await cdp.send('HeapProfiler.startSampling', { samplingInterval: 1024 });
    }
    // BENCH_TRACE=1: a Chromium trace from before navigation to connected (attribution only;
    // bench/trace-summary.mjs reads it).
    const tracePath = env.BENCH_TRACE === '1' ? path.join(here, 'results', `trace-${client}-${runIndex}.json`) : null;
    if (tracePath) {
      await browser.startTracing(page, {
        path: tracePath,
        categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink.user_timing', 'loading', 'toplevel', 'v8', 'v8.wasm', 'blink', 'netlog', 'navigation'],
      });
    }
    await page.goto(url, { waitUntil: 'load', timeout: cfg.connectTimeoutMs });
    await waitConnectedCdp(cdp, cfg.connectTimeoutMs);
    if (tracePath) await browser.stopTracing();
    if (env.BENCH_STARTUP_PROFILE === '1') r.startupProfile = await stopStartupProfile(cdp, page);
    r.connectMs = await page.evaluate(() => window.__benchCore.connectedTime());
    r.readyMs = await page.evaluate(() => window.__benchCore.readyTime());
    const hasAdapter = await page.evaluate(() => !!(window.__livechatBench && window.__livechatBench.subscribe));
    // Topics: the adapter may give a template its token allows (`topicTemplate`, "{name}" is
    // replaced by "<run tag>-rtt" / "<run tag>-flood"); the reference pages use bench/{name}.
    const template = await page.evaluate(() => (window.__livechatBench && window.__livechatBench.topicTemplate) || 'bench/{name}');
    const rttTopic = template.replaceAll('{name}', `${tag}-rtt`);
    const floodTopic = template.replaceAll('{name}', `${tag}-flood`);

    if (hasAdapter) {
      await page.evaluate(([t]) => window.__benchCore.subscribe(t, 1), [rttTopic]);
      await page.evaluate(([t]) => window.__benchCore.subscribe(t, 0), [floodTopic]);
    }
    await sleep(300);
    r.idle = { heap: await heap(cdp), wasm: await page.evaluate(() => window.__benchCore.wasmMemoryBytes()) };
    if (env.BENCH_HEAP_SNAPSHOT === '1') await heapSnapshot(cdp, `${client}-${runIndex}`);
    if (env.BENCH_HEAP_SAMPLING === '1') await heapSampling(cdp, `${client}-${runIndex}`);
    if (env.BENCH_TIMELINE === '1') r.timeline = await page.evaluate(() => window.__benchCore.timeline());

    if (hasAdapter) {
      for (const qos of [0, 1]) {
        const samples = await page.evaluate(
          ([t, n, q, s]) => window.__benchCore.roundTrips(t, n, q, s, 10000),
          [rttTopic, cfg.rttCount, qos, cfg.size],
        );
        r[`rttQos${qos}`] = { p50: pct(samples, 50), p99: pct(samples, 99), mean: samples.reduce((a, b) => a + b, 0) / samples.length, n: samples.length };
      }
    }

    // Flood: arm the receiver, then publish from node.
    let floodSpec = null;
    if (hasAdapter) {
      await page.evaluate(([t, n]) => window.__benchCore.armFlood(t, n), [floodTopic, cfg.floodCount]);
      floodSpec = { topic: floodTopic, template: null };
    } else if (isUi) {
      const room = new URL(url).searchParams.get('room') || 'bench';
      floodSpec = await page.evaluate(([n, t, tpl]) => window.__benchCore.armUiFlood(n, t, tpl),
        [cfg.floodCount, cfg.uiTopic.replaceAll('{room}', room), uiTemplate(cfg.size)]);
      if (floodSpec.counted !== 'rendered hook') {
        r.note = 'counted [role=log] children: no window.__livechatBench.rendered hook, so a bounded list under-counts';
      }
    }
    if (floodSpec) {
      const creds = env2.publisherCreds ? await env2.publisherCreds() : {};
      if (cfg.profile) await startProfile(cdp);
      if (env.BENCH_BURSTS === '1') await page.evaluate(() => window.__benchBursts.reset());
      let m0 = null;
      if (env.BENCH_METRICS === '1') { await cdp.send('Performance.enable'); m0 = (await cdp.send('Performance.getMetrics')).metrics; }
      const pub = await publishFlood({ url: env2.publishUrl, ...creds, topic: floodSpec.topic, count: cfg.floodCount, size: cfg.size, template: floodSpec.template });
      const f = await page.evaluate(([to]) => window.__benchCore.awaitFlood(to, 15000), [cfg.floodTimeoutMs]);
      if (cfg.profile) r.profile = await stopProfile(cdp, `${client}-${runIndex}`);
      if (m0) {
        const m1 = (await cdp.send('Performance.getMetrics')).metrics;
        const a = Object.fromEntries(m0.map((x) => [x.name, x.value]));
        const d = {};
        for (const x of m1) if (/Duration|Count$/.test(x.name)) d[x.name] = Math.round((x.value - a[x.name]) * (/Duration/.test(x.name) ? 1000 : 1));
        log(`metrics ${client}-${runIndex}: ${JSON.stringify(d)}`);
      }
      const span = f.last !== null && f.first !== null ? f.last - f.first : null;
      r.flood = {
        expected: cfg.floodCount,
        received: f.received,
        allArrived: f.received === cfg.floodCount,
        spanMs: span,
        msgsPerSec: span && f.received > 1 ? ((f.received - 1) / span) * 1000 : null,
        publishMs: pub.publishMs,
        maxTickGapMs: f.maxTickGapMs,
      };
      if (env.BENCH_BURSTS === '1') {
        r.flood.bursts = await page.evaluate(() => window.__benchBursts.read());
        log(`bursts ${client}-${runIndex}: ${JSON.stringify(r.flood.bursts)}, longest stall ${Math.round(f.maxTickGapMs)} ms`);
      }
      await sleep(300);
      r.afterFlood = { heap: await heap(cdp), wasm: await page.evaluate(() => window.__benchCore.wasmMemoryBytes()) };
    }
  } catch (e) {
    r.error = String(e && e.message ? e.message : e).split('\n')[0];
  } finally {
    r.consoleErrors = consoleErrors.slice(0, 5);
    await cdp.detach().catch(() => {});
    await context.close().catch(() => {});
  }
  return r;
}

function urlFor(client, env2, tag) {
  const q = `ws=${encodeURIComponent(env2.wsUrl || '')}&id=${encodeURIComponent('bench-' + tag)}&v=${cfg.mqttVersion}`;
  switch (client) {
    case 'mqttjs': return `${env2.pages}/mqttjs.html?${q}`;
    case 'paho': return `${env2.pages}/paho.html?${q}`;
    case 'paho-ours': return `${env2.pages}/paho.html?${q}&u=${encodeURIComponent(env2.creds.username)}`
      + `&p=${encodeURIComponent(env2.creds.password)}&tt=${encodeURIComponent(BARE_TOPIC_TEMPLATE)}`;
    case 'ws-floor': return `${env2.pages}/ws-floor.html?${q}`;
    case 'mqtt5-wasm': return `${env2.pages}/mqtt5-wasm.html?${q}`;
    case 'ours-bare': return `${env2.base}${cfg.barePath.replaceAll('{tag}', tag)}`;
    case 'ours-ui': return `${env2.base}${cfg.uiPath.replaceAll('{tag}', tag)}`;
    default: throw new Error(`unknown client ${client}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Report
const CLIENT_LABEL = { 'ws-floor': 'raw WebSocket floor (calibration)', mqttjs: 'MQTT.js', paho: 'Paho JS', 'paho-ours': 'Paho JS on our broker', 'mqtt5-wasm': 'mqtt5-wasm', 'ours-bare': 'ours (bare client)', 'ours-ui': 'ours (chat UI)' };
const kb = (b) => (b === null || b === undefined ? '—' : (b / 1024).toFixed(1));
const fmt = (x, d = 1) => (x === null || x === undefined ? '—' : Number(x).toFixed(d));
const ratio = (a, b) => (a === null || b === null || a === undefined || b === undefined || b === 0 ? '—' : (a / b).toFixed(2));

function summarize(results, clients) {
  const s = {};
  for (const c of clients) {
    const rs = results.filter((r) => r.client === c && !r.error);
    const get = (fn) => median(rs.map((r) => { try { return fn(r); } catch { return null; } }));
    s[c] = {
      okRuns: rs.length,
      failedRuns: results.filter((r) => r.client === c && r.error).length,
      connectMs: get((r) => r.connectMs),
      readyMs: get((r) => r.readyMs),
      rtt0p50: get((r) => r.rttQos0.p50), rtt0p99: get((r) => r.rttQos0.p99),
      rtt1p50: get((r) => r.rttQos1.p50), rtt1p99: get((r) => r.rttQos1.p99),
      floodRate: get((r) => r.flood.msgsPerSec),
      floodGap: get((r) => r.flood.maxTickGapMs),
      floodAllArrivedRuns: rs.filter((r) => r.flood && r.flood.allArrived).length,
      floodRuns: rs.filter((r) => r.flood).length,
      notes: [...new Set(rs.map((r) => r.note).filter(Boolean))],
      heapIdle: get((r) => r.idle.heap.used), wasmIdle: get((r) => r.idle.wasm),
      heapFlood: get((r) => r.afterFlood.heap.used), wasmFlood: get((r) => r.afterFlood.wasm),
    };
  }
  return s;
}

function markdown({ meta, sizes, results, summary, clients }) {
  const L = [];
  const present = clients.filter((c) => summary[c] && (summary[c].okRuns || summary[c].failedRuns));
  L.push('## Side by side', '');
  L.push(`Run ${meta.date} with \`${meta.command}\`: ${meta.runs} runs per client, round-robin (${meta.order}).`);
  L.push(`Machine: ${meta.nproc} cores, ${meta.cpu}, ${meta.mem}; ${meta.chromium} (headless, playwright-core ${meta.playwright}); `
    + `Mosquitto ${meta.mosquitto}; MQTT.js ${meta.mqttjs}, paho-mqtt ${meta.paho}; ${meta.mqtt5wasm}; Node ${meta.node}. `
    + `Reference clients speak MQTT ${meta.mqttVersion === 5 ? '5' : '3.1.1'} over ws://127.0.0.1. `
    + 'Paho JS on our broker is the same Paho page on the dev stack\'s Mosquitto (dynamic security, a token as the password, the shared chat topic, the same flood publisher as ours): '
    + 'what separates it from Paho JS is the broker set-up, not the client. '
    + `Load average (1/5/15 min) at start ${meta.loadStart}, at end ${meta.loadEnd} (the box is shared: read the numbers with that in mind).`);
  L.push('Medians of the runs; round trips are p50/p99 over each run\'s ' + meta.rttCount + ' sequential '
    + meta.size + '-byte JSON messages; flood = ' + meta.floodCount + ' × ' + meta.size + '-byte QoS 0 messages from a Node '
    + '`mqtt` publisher (over TCP to the reference broker; over WebSocket with its own token to the dev stack\'s), rate = (received − 1) / (last − first arrival). Heap = V8 used heap after two forced GCs '
    + '(CDP `Runtime.getHeapUsage`); wasm = `WebAssembly.Memory` size; longest stall = the longest gap between the '
    + 'page\'s 20 ms timer ticks during the flood (main thread blocked); code ready = when the client\'s code was loaded '
    + 'and running (reference pages: first line of the page script after the library; mqtt5-wasm: its `init()` resolved (wasm fetched and instantiated); ours: the bare page\'s first line of its wasm start; the app\'s `TrunkApplicationStarted` from boot.js), '
    + 'so connect − code ready is the handshake (plus, for ours, the token fetch).', '');

  L.push('### Transfer size (what the page loads for MQTT; gzip -9 / brotli q11, KiB)', '');
  L.push('| client | what | raw | gzip | brotli |', '|---|---|---:|---:|---:|');
  for (const c of clients) {
    const z = sizes[c];
    if (z) L.push(`| ${CLIENT_LABEL[c]} | ${z.what} | ${kb(z.raw)} | ${kb(z.gzip)} | ${kb(z.brotli)} |`);
    else if (c.startsWith('ours') || c === 'mqtt5-wasm') L.push(`| ${CLIENT_LABEL[c]} | not measured (not built) | — | — | — |`);
    else L.push(`| ${CLIENT_LABEL[c]} | a 60-line inline script, not counted | — | — | — |`);
  }
  L.push('');

  L.push('### Medians', '');
  L.push('| client | ok runs | connect ms (code ready) | RTT QoS0 p50 / p99 ms | RTT QoS1 p50 / p99 ms | flood msg/s | all arrived | longest stall ms | heap idle KiB | wasm idle KiB | heap after flood KiB | wasm after flood KiB |');
  L.push('|---|---:|---:|---|---|---:|---|---:|---:|---:|---:|---:|');
  for (const c of present) {
    const m = summary[c];
    L.push(`| ${CLIENT_LABEL[c]} | ${m.okRuns}/${m.okRuns + m.failedRuns} | ${fmt(m.connectMs)} (${fmt(m.readyMs)}) | ${fmt(m.rtt0p50, 2)} / ${fmt(m.rtt0p99, 2)} | `
      + `${fmt(m.rtt1p50, 2)} / ${fmt(m.rtt1p99, 2)} | ${fmt(m.floodRate, 0)} | ${m.floodRuns ? `${m.floodAllArrivedRuns}/${m.floodRuns}` : '—'} | ${fmt(m.floodGap, 0)} | `
      + `${kb(m.heapIdle)} | ${kb(m.wasmIdle)} | ${kb(m.heapFlood)} | ${kb(m.wasmFlood)} |`);
  }
  L.push('');

  const ours = present.filter((c) => c.startsWith('ours'));
  const pairs = [];
  for (const o of ours) for (const p of ['mqttjs', 'paho', 'paho-ours', 'mqtt5-wasm']) if (present.includes(p)) pairs.push([o, p]);
  if (present.includes('mqttjs') && present.includes('paho')) pairs.push(['mqttjs', 'paho']);
  if (present.includes('paho-ours') && present.includes('paho')) pairs.push(['paho-ours', 'paho']);
  for (const p of ['mqttjs', 'paho']) if (present.includes('mqtt5-wasm') && present.includes(p)) pairs.push(['mqtt5-wasm', p]);
  if (pairs.length) {
    L.push('### Ratios (first ÷ second; < 1 means the first is smaller / faster, except throughput where > 1 is better)', '');
    L.push('| pair | brotli size | connect | RTT0 p50 | RTT0 p99 | RTT1 p50 | RTT1 p99 | flood msg/s | heap idle | heap after flood |');
    L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const [a, b] of pairs) {
      const A = summary[a], B = summary[b];
      L.push(`| ${CLIENT_LABEL[a]} ÷ ${CLIENT_LABEL[b]} | ${ratio(sizes[a] && sizes[a].brotli, sizes[b] && sizes[b].brotli)} | ${ratio(A.connectMs, B.connectMs)} | `
        + `${ratio(A.rtt0p50, B.rtt0p50)} | ${ratio(A.rtt0p99, B.rtt0p99)} | ${ratio(A.rtt1p50, B.rtt1p50)} | ${ratio(A.rtt1p99, B.rtt1p99)} | `
        + `${ratio(A.floodRate, B.floodRate)} | ${ratio(A.heapIdle, B.heapIdle)} | ${ratio(A.heapFlood, B.heapFlood)} |`);
    }
    L.push('');
  }

  if (present.includes('ws-floor') && summary['ws-floor'].floodRate) {
    const floor = summary['ws-floor'];
    const parts = present.filter((c) => c !== 'ws-floor' && summary[c].floodRate)
      .map((c) => `${CLIENT_LABEL[c]} ${Math.round((summary[c].floodRate / floor.floodRate) * 100)} %`);
    L.push(`Calibration: a page that speaks MQTT by hand over a bare WebSocket (no library, one packet per frame) `
      + `receives ${fmt(floor.floodRate, 0)} msg/s with a longest stall of ${fmt(floor.floodGap, 0)} ms; relative to that floor: ${parts.join(', ') || '—'}. `
      + 'A client near 100 % is held back by the browser + broker path on this machine, not by its own code.', '');
  }
  L.push('### Targets (issue 6)', '');
  L.push('| target | result |', '|---|---|');
  for (const row of targets(sizes, summary, present)) L.push(`| ${row[0]} | ${row[1]} |`);
  L.push('');
  L.push('### Targets (issue 15)', '');
  L.push('Ratios are of medians of this run. Sizes in KB = 1,000 bytes, as the issue states them.', '');
  L.push('| metric | target (stretch) | measured | | against Paho on our broker |', '|---|---|---|---|---|');
  for (const row of targets15(sizes, summary, present)) L.push(`| ${row.join(' | ')} |`);
  L.push('');

  L.push('### Raw runs', '');
  L.push('| run | client | connect ms | RTT0 p50 / p99 | RTT1 p50 / p99 | flood recv | flood msg/s | stall ms | heap idle KiB | wasm idle KiB | heap flood KiB | error / note |');
  L.push('|---:|---|---:|---|---|---:|---:|---:|---:|---:|---:|---|');
  for (const r of results) {
    L.push(`| ${r.run} | ${CLIENT_LABEL[r.client]} | ${fmt(r.connectMs)} | ${r.rttQos0 ? `${fmt(r.rttQos0.p50, 2)} / ${fmt(r.rttQos0.p99, 2)}` : '—'} | `
      + `${r.rttQos1 ? `${fmt(r.rttQos1.p50, 2)} / ${fmt(r.rttQos1.p99, 2)}` : '—'} | ${r.flood ? r.flood.received : '—'} | ${r.flood ? fmt(r.flood.msgsPerSec, 0) : '—'} | ${r.flood ? fmt(r.flood.maxTickGapMs, 0) : '—'} | `
      + `${r.idle ? kb(r.idle.heap.used) : '—'} | ${r.idle ? kb(r.idle.wasm) : '—'} | ${r.afterFlood ? kb(r.afterFlood.heap.used) : '—'} | ${(r.error || r.note || '').replaceAll('|', '/')} |`);
  }
  L.push('');
  return L.join('\n');
}

// Issue 15's table: each row [metric, target (stretch), measured (ratio), verdict].
function targets15(sizes, s, present) {
  const have = (c) => present.includes(c) && s[c] && s[c].okRuns > 0;
  const ui = s['ours-ui'], bare = s['ours-bare'], mj = s.mqttjs, pa = s.paho, po = s['paho-ours'];
  const KB = (b) => (b / 1000).toFixed(1);
  const r = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : '—');
  const verdict = (ok, stretch) => (ok === null ? 'not measured' : stretch ? '**stretch met**' : ok ? '**met**' : 'missed');
  const rows = [];
  const size = (label, got, target, stretch) => rows.push([label, `≤ ${target} KB (≤ ${stretch} KB)`,
    got ? `${KB(got.brotli)} KB` : '—', verdict(got ? got.brotli <= target * 1000 : null, got && got.brotli <= stretch * 1000)]);
  size('whole app (wasm + js + css + html), brotli', sizes.app, 120, 90);
  size('bare client page, brotli', sizes.bare, 60, 45);
  for (const [label, c] of [['time to connected, app (token fetch included)', 'ours-ui'], ['time to connected, bare client', 'ours-bare']]) {
    const ok = have(c) && have('paho') ? s[c].connectMs <= pa.connectMs : null;
    rows.push([label, '≤ Paho\'s (≤ 0.8 × Paho\'s)', have(c) && have('paho') ? `${fmt(s[c].connectMs)} vs ${fmt(pa.connectMs)} ms (${r(s[c].connectMs, pa.connectMs)})` : '—',
      verdict(ok, ok && s[c].connectMs <= 0.8 * pa.connectMs)]);
  }
  rows.push(['bare client flood throughput', '≥ 1.1 × Paho\'s', have('ours-bare') && have('paho') ? `${fmt(bare.floodRate, 0)} vs ${fmt(pa.floodRate, 0)} msg/s (${r(bare.floodRate, pa.floodRate)})` : '—',
    verdict(have('ours-bare') && have('paho') ? bare.floodRate >= 1.1 * pa.floodRate : null)]);
  const uiAll = have('ours-ui') ? ui.floodAllArrivedRuns === ui.floodRuns && ui.floodRuns > 0 : null;
  rows.push([`chat UI flood throughput, all ${cfg.floodCount.toLocaleString('en')} rendered`, '≥ Paho\'s bare', have('ours-ui') && have('paho') ? `${fmt(ui.floodRate, 0)} vs ${fmt(pa.floodRate, 0)} msg/s (${r(ui.floodRate, pa.floodRate)}), ${ui.floodAllArrivedRuns}/${ui.floodRuns} runs complete` : '—',
    verdict(have('ours-ui') && have('paho') ? uiAll && ui.floodRate >= pa.floodRate : null)]);
  const stallOk = have('ours-ui') && have('paho') ? ui.floodGap <= pa.floodGap : null;
  rows.push(['longest main-thread stall during the UI flood', '≤ Paho\'s bare (≤ 100 ms)', have('ours-ui') && have('paho') ? `${fmt(ui.floodGap, 0)} vs ${fmt(pa.floodGap, 0)} ms` : '—',
    verdict(stallOk, stallOk && ui.floodGap <= 100)]);
  rows.push(['QoS 1 round trip p99 (bare client)', '≤ MQTT.js\'s', have('ours-bare') && have('mqttjs') ? `${fmt(bare.rtt1p99, 2)} vs ${fmt(mj.rtt1p99, 2)} ms` : '—',
    verdict(have('ours-bare') && have('mqttjs') ? bare.rtt1p99 <= mj.rtt1p99 : null)]);
  for (const [label, c] of [['JS heap idle, app', 'ours-ui'], ['JS heap idle, bare client', 'ours-bare']]) {
    rows.push([label, '≤ Paho\'s', have(c) && have('paho') ? `${kb(s[c].heapIdle)} vs ${kb(pa.heapIdle)} KiB (${r(s[c].heapIdle, pa.heapIdle)})` : '—',
      verdict(have(c) && have('paho') ? s[c].heapIdle <= pa.heapIdle : null)]);
  }
  rows.push([`wasm memory after the ${cfg.floodCount / 1000}k flood, app`, '≤ 2 MB', have('ours-ui') ? `${kb(ui.wasmFlood)} KiB` : '—',
    verdict(have('ours-ui') ? ui.wasmFlood <= 2 * 1000 * 1000 : null)]);
  // The same comparisons against Paho on the dev stack's broker (same broker set-up as ours).
  const onOurs = (c, key, unit, d) => (have(c) && have('paho-ours')
    ? `${fmt(s[c][key], d)} vs ${fmt(s['paho-ours'][key], d)} ${unit} (${r(s[c][key], s['paho-ours'][key])})` : '—');
  const heapOnOurs = (c) => (have(c) && have('paho-ours') ? `${kb(s[c].heapIdle)} vs ${kb(po.heapIdle)} KiB (${r(s[c].heapIdle, po.heapIdle)})` : '—');
  const extra = ['—', '—', onOurs('ours-ui', 'connectMs', 'ms', 1), onOurs('ours-bare', 'connectMs', 'ms', 1),
    onOurs('ours-bare', 'floodRate', 'msg/s', 0), onOurs('ours-ui', 'floodRate', 'msg/s', 0), onOurs('ours-ui', 'floodGap', 'ms', 0),
    onOurs('ours-bare', 'rtt1p99', 'ms', 2), heapOnOurs('ours-ui'), heapOnOurs('ours-bare'), '—'];
  return rows.map((row, i) => [...row, extra[i] || '—']);
}

function targets(sizes, s, present) {
  const NM = 'not yet measured';
  const ui = s['ours-ui'], bare = s['ours-bare'], mj = s.mqttjs, pa = s.paho;
  const have = (c) => present.includes(c) && s[c] && s[c].okRuns > 0;
  const ourApp = sizes.app;
  const ourConnect = have('ours-ui') ? ui.connectMs : have('ours-bare') ? bare.connectMs : null;
  const ourRtt = have('ours-bare') ? bare : null;
  const verdict = (ok) => (ok ? 'met' : 'missed');
  const rows = [];
  rows.push(['Whole app brotli ≤ MQTT.js library alone',
    ourApp && sizes.mqttjs ? `${verdict(ourApp.brotli <= sizes.mqttjs.brotli)}: ${kb(ourApp.brotli)} vs ${kb(sizes.mqttjs.brotli)} KiB` : sizes.mqttjs ? `${NM} (MQTT.js alone: ${kb(sizes.mqttjs.brotli)} KiB brotli)` : NM]);
  rows.push(['Time to connected ≤ Paho\'s',
    ourConnect !== null && have('paho') ? `${verdict(ourConnect <= pa.connectMs)}: ${fmt(ourConnect)} vs ${fmt(pa.connectMs)} ms` : have('paho') ? `${NM} (Paho: ${fmt(pa.connectMs)} ms)` : NM]);
  for (const q of [0, 1]) {
    rows.push([`Round trip QoS ${q} p50 ≤ Paho's`,
      ourRtt && have('paho') ? `${verdict(ourRtt[`rtt${q}p50`] <= pa[`rtt${q}p50`])}: ${fmt(ourRtt[`rtt${q}p50`], 2)} vs ${fmt(pa[`rtt${q}p50`], 2)} ms` : have('paho') ? `${NM} (Paho: ${fmt(pa[`rtt${q}p50`], 2)} ms)` : NM]);
    rows.push([`Round trip QoS ${q} p99 ≤ MQTT.js's`,
      ourRtt && have('mqttjs') ? `${verdict(ourRtt[`rtt${q}p99`] <= mj[`rtt${q}p99`])}: ${fmt(ourRtt[`rtt${q}p99`], 2)} vs ${fmt(mj[`rtt${q}p99`], 2)} ms` : have('mqttjs') ? `${NM} (MQTT.js: ${fmt(mj[`rtt${q}p99`], 2)} ms)` : NM]);
  }
  rows.push(['Bare client throughput ≥ Paho\'s',
    have('ours-bare') && have('paho') ? `${verdict(bare.floodRate >= pa.floodRate)}: ${fmt(bare.floodRate, 0)} vs ${fmt(pa.floodRate, 0)} msg/s` : have('paho') ? `${NM} (Paho: ${fmt(pa.floodRate, 0)} msg/s)` : NM]);
  rows.push(['Chat UI keeps up with the flood (all arrive)',
    have('ours-ui') ? `${verdict(ui.floodAllArrivedRuns === ui.floodRuns && ui.floodRuns > 0)}: ${ui.floodAllArrivedRuns}/${ui.floodRuns} runs complete, ${fmt(ui.floodRate, 0)} msg/s, longest stall ${fmt(ui.floodGap, 0)} ms${ui.notes.length ? ` (${ui.notes.join('; ')})` : ''}` : NM]);
  const mems = ['ours-bare', 'ours-ui'].filter(have);
  rows.push(['JS heap ≤ Paho\'s (idle)',
    mems.length && have('paho')
      ? mems.map((c) => `${CLIENT_LABEL[c]} ${verdict(s[c].heapIdle <= pa.heapIdle)}: ${kb(s[c].heapIdle)} vs ${kb(pa.heapIdle)} KiB`).join('; ')
      : have('paho') ? `${NM} (Paho: ${kb(pa.heapIdle)} KiB)` : NM]);
  rows.push(['JS heap + wasm memory ≤ 3 MB idle',
    mems.length
      ? mems.map((c) => `${CLIENT_LABEL[c]} ${verdict(s[c].heapIdle + s[c].wasmIdle <= 3 * 1024 * 1024)}: ${kb(s[c].heapIdle)} + ${kb(s[c].wasmIdle)} KiB`).join('; ')
      : NM]);
  return rows;
}

function writeBenchmarks(md) {
  const file = path.join(repo, 'BENCHMARKS.md');
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  const start = text.search(/^## Side by side\s*$/m);
  if (start === -1) {
    text = text.replace(/\s*$/, '\n\n') + md.trimEnd() + '\n';
  } else {
    const rest = text.slice(start + 1);
    const next = rest.search(/^## /m);
    const end = next === -1 ? text.length : start + 1 + next;
    text = text.slice(0, start) + md.trimEnd() + '\n' + (next === -1 ? '' : '\n' + text.slice(end));
  }
  fs.writeFileSync(file, text);
  log(`wrote the "## Side by side" section of ${file}`);
}

// ---------------------------------------------------------------------------------------------
function machineMeta() {
  const sh = (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10000 });
    return ((r.stdout || '') + (r.stderr || '')).trim() || 'unknown';
  };
  const pkgVersion = (p) => { try { return JSON.parse(fs.readFileSync(path.join(here, 'node_modules', p, 'package.json'), 'utf8')).version; } catch { return 'unknown'; } };
  const mosq = sh(cfg.mosquitto, ['-h']).split('\n')[0].replace(/^mosquitto version /, '');
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    nproc: os.cpus().length,
    cpu: (os.cpus()[0] && os.cpus()[0].model || 'unknown').trim(),
    mem: `${Math.round(os.totalmem() / 2 ** 30)} GiB RAM`,
    chromium: sh(cfg.chromium, ['--version']).split('\n').find((l) => /^Chromium /.test(l)) || 'unknown',
    mosquitto: mosq,
    mqttjs: pkgVersion('mqtt'),
    paho: pkgVersion('paho-mqtt'),
    playwright: pkgVersion('playwright-core'),
    mqtt5wasm: mqtt5WasmBuilt() ? mqtt5WasmBuildInfo() : 'mqtt5-wasm not built',
    node: process.version,
    loadStart: os.loadavg().map((x) => x.toFixed(1)).join(' '),
  };
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'livechat-bench-'));
  cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const meta = { ...machineMeta(), runs: cfg.runs, rttCount: cfg.rttCount, floodCount: cfg.floodCount, size: cfg.size, mqttVersion: cfg.mqttVersion,
    command: 'bench/run.sh' + (cfg.write ? ' --write' : '') };
  log(`machine: ${meta.nproc} × ${meta.cpu}, ${meta.chromium}`);

  let clients = [...cfg.clients];
  const env2 = {};
  const skipped = {};
  if (clients.some((c) => !c.startsWith('ours'))) {
    // (Paho on our broker needs only the page server; the reference broker is started anyway.)
    const m = await startMosquitto(tmp);
    env2.wsUrl = m.wsUrl;
    env2.publishUrl = m.tcpUrl;
    env2.pages = await startPageServer();
  }
  const refEnv = { ...env2 };
  if (clients.includes('mqtt5-wasm') && (env.BENCH_MQTT5_WASM_BUILD_ERROR || !mqtt5WasmBuilt())) {
    skipped['mqtt5-wasm'] = env.BENCH_MQTT5_WASM_BUILD_ERROR
      || `not built: no ${MQTT5_WASM_FILES.join(' / ')} in ${shortPath(cfg.mqtt5WasmPkg)}/ (bench/mqtt5-wasm/build.sh)`;
    log(`mqtt5-wasm is skipped: ${skipped['mqtt5-wasm']}`);
    clients = clients.filter((c) => c !== 'mqtt5-wasm');
  }
  let oursEnv = null;
  if (clients.some(onDevStack)) {
    try {
      const ds = await startDevStack(tmp);
      oursEnv = await oursEnvironment(ds.base);
      if (clients.includes('ours-bare')) {
        const bareBuilt = fs.existsSync(path.join(cfg.bareDist, 'index.html')) || !!env.LIVECHAT_BARE_PATH;
        if (!bareBuilt) {
          skipped['ours-bare'] = `no bare-client page at ${cfg.barePath} (build it into ${path.relative(repo, cfg.bareDist)}/, see bench/README.md)`;
          clients = clients.filter((c) => c !== 'ours-bare');
        }
      }
    } catch (e) {
      log(`our client is skipped: ${e.message}`);
      for (const c of clients.filter(onDevStack)) skipped[c] = e.message;
      clients = clients.filter((c) => !onDevStack(c));
    }
  }

  const sizes = {};
  for (const c of [...clients, ...Object.keys(skipped)]) sizes[c] = sizesFor(c);
  sizes.app = sizesFor('ours-ui'); // the whole app, for the size target, whichever of ours ran
  sizes.bare = sizesFor('ours-bare'); // the bare-client page, for issue 15's size row
  for (const c of Object.keys(LIBS)) sizes[c] = sizes[c] || sizesFor(c); // the peers' sizes for the targets

  const browser = await chromium.launch({
    executablePath: cfg.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  cleanups.push(() => browser.close());

  const results = [];
  meta.order = clients.join(' → ') + ', rotated by one each run';
  for (let run = 1; run <= cfg.runs; run++) {
    const k = (run - 1) % clients.length;
    const order = [...clients.slice(k), ...clients.slice(0, k)];
    for (const c of order) {
      // Paho on our broker: the reference page, the dev stack's broker URL, tokens and publisher.
      const e = c.startsWith('ours') ? oursEnv
        : c === 'paho-ours' ? { ...oursEnv, pages: refEnv.pages, wsUrl: oursEnv.publishUrl } : refEnv;
      const r = await measureOnce(browser, c, e, run);
      results.push(r);
      log(`run ${run} ${c}: connect ${fmt(r.connectMs)} ms, rtt0 ${r.rttQos0 ? fmt(r.rttQos0.p50, 2) : '—'}/${r.rttQos0 ? fmt(r.rttQos0.p99, 2) : '—'}, `
        + `rtt1 ${r.rttQos1 ? fmt(r.rttQos1.p50, 2) : '—'}/${r.rttQos1 ? fmt(r.rttQos1.p99, 2) : '—'}, flood ${r.flood ? `${r.flood.received} @ ${fmt(r.flood.msgsPerSec, 0)}/s` : '—'}, `
        + `heap ${r.idle ? kb(r.idle.heap.used) : '—'}→${r.afterFlood ? kb(r.afterFlood.heap.used) : '—'} KiB${r.error ? ` ERROR ${r.error}` : ''}`);
    }
  }

  meta.loadEnd = os.loadavg().map((x) => x.toFixed(1)).join(' ');
  const allClients = [...clients, ...Object.keys(skipped)];
  const summary = summarize(results, allClients);
  let md = markdown({ meta, sizes, results, summary, clients: allClients });
  if (Object.keys(skipped).length) {
    md += '\nNot run: ' + Object.entries(skipped).map(([c, why]) => `${CLIENT_LABEL[c]} (${why})`).join('; ') + '.\n';
  }
  const outDir = path.join(here, 'results');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'latest.json'), JSON.stringify({ meta, sizes, summary, results, skipped }, null, 2));
  fs.writeFileSync(path.join(outDir, 'latest.md'), md);
  console.log(md);
  if (cfg.write) writeBenchmarks(md);
  const failed = results.filter((r) => r.error).length;
  return failed;
}

// Our side's environment: the dev stack serves the pages (signed in through its /dev/login), the
// token backend gives the flood publisher its credentials, and the page's adapter (or the UI hook)
// names the topics. Token contract: issue 3 / docs (POST /api/mqtt-token with the session cookie
// -> { accessToken, username, ... }).
async function oursEnvironment(base) {
  const cfgRes = await fetch(`${base}/config.json`, { signal: AbortSignal.timeout(5000) });
  if (!cfgRes.ok) throw new Error(`${base}/config.json answered ${cfgRes.status}`);
  const appCfg = await cfgRes.json();
  const brokerUrl = appCfg.brokerUrl || appCfg.broker_url || appCfg.broker;
  if (!brokerUrl) throw new Error(`${base}/config.json names no broker URL (brokerUrl)`);
  const tokenUrl = new URL(appCfg.tokenUrl || appCfg.token_url || '/api/mqtt-token', base).toString();
  return {
    base,
    publishUrl: brokerUrl,
    login: async (context, tag) => {
      const user = `${cfg.benchUser}-${tag}`.slice(0, 64);
      const res = await context.request.get(`${base}/dev/login?user=${encodeURIComponent(user)}`, { maxRedirects: 0, timeout: 5000 });
      if (res.status() >= 400) throw new Error(`/dev/login answered ${res.status()}`);
    },
    publisherCreds: async (user = 'bench-flood') => {
      const login = await fetch(`${base}/dev/login?user=${encodeURIComponent(user)}`, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
      const cookie = (login.headers.getSetCookie ? login.headers.getSetCookie() : [login.headers.get('set-cookie') || ''])
        .map((c) => c.split(';')[0]).filter(Boolean).join('; ');
      if (!cookie) throw new Error(`/dev/login set no session cookie (status ${login.status})`);
      const res = await fetch(tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie },
        body: JSON.stringify({ userEmail: `${user}@example.invalid` }),
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) throw new Error(`token backend answered ${res.status}`);
      const t = await res.json();
      return { username: t.username, password: t.accessToken };
    },
  };
}

let code = 0;
try {
  const failed = await main();
  if (failed) {
    log(`${failed} run(s) failed`);
    code = 1;
  }
} catch (e) {
  log('fatal:', e && e.stack ? e.stack : e);
  code = 2;
} finally {
  await cleanup();
  clearTimeout(globalTimer);
}
process.exit(code);
