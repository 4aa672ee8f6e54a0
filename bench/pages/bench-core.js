// Injected into every bench page (ours and the reference clients) before any page script runs
// (Playwright `addInitScript`). It holds all the measuring logic, so every client is timed by the
// same code; a client page only registers a thin adapter as `window.__livechatBench`
// (contract: bench/README.md).
(() => {
  'use strict';
  const core = {
    connectedAt: null, // performance.now() when the client said "connected" (adapter or DOM)
    wasmMemory: null, // WebAssembly.Memory of a Trunk app, captured from TrunkApplicationStarted
    errors: [],
  };
  window.__benchCore = core;

  // Trunk's loader dispatches this event with { detail: { wasm } } once the module is instantiated.
  addEventListener('TrunkApplicationStarted', (e) => {
    const wasm = e && e.detail && e.detail.wasm;
    if (wasm && wasm.memory) core.wasmMemory = wasm.memory;
    core.appStartedAt = performance.now();
  });
  addEventListener('error', (e) => core.errors.push(String(e.message || e)));

  core.adapter = () => window.__livechatBench || null;

  // Time to connected: the adapter sets `connectedAt` itself; for a page without an adapter (the
  // chat UI), the first time an element with role="status" contains "Connected" counts.
  core.watchStatus = (pattern) => {
    const re = new RegExp(pattern);
    const check = () => {
      if (core.connectedAt !== null) return true;
      const els = document.querySelectorAll('[role="status"]');
      for (const el of els) {
        if (re.test(el.textContent || '')) {
          core.connectedAt = performance.now();
          return true;
        }
      }
      return false;
    };
    const start = () => {
      if (check()) return;
      const mo = new MutationObserver(() => {
        if (check()) mo.disconnect();
      });
      mo.observe(document.documentElement, { subtree: true, childList: true, characterData: true });
    };
    if (document.documentElement) start();
    else addEventListener('DOMContentLoaded', start);
  };

  core.connectedTime = () => {
    const a = core.adapter();
    if (a && typeof a.connectedAt === 'number') return a.connectedAt;
    return core.connectedAt;
  };

  // When the client code was loaded and running: the adapter's `readyAt` (set first thing in the
  // reference pages' scripts) or Trunk's TrunkApplicationStarted (wasm fetched and instantiated).
  core.readyTime = () => {
    const a = core.adapter();
    if (a && typeof a.readyAt === 'number') return a.readyAt;
    return typeof core.appStartedAt === 'number' ? core.appStartedAt : null;
  };

  core.wasmMemoryBytes = () => {
    const a = core.adapter();
    if (a && typeof a.wasmMemoryBytes === 'function') return a.wasmMemoryBytes();
    return core.wasmMemory ? core.wasmMemory.buffer.byteLength : 0;
  };

  // A 100-byte JSON chat message: {"id":N,"user":"bench","text":"xxx…"} padded to `size` bytes.
  core.payload = (id, size) => {
    const head = `{"id":${id},"user":"bench","text":"`;
    const tail = '"}';
    const fill = Math.max(0, size - head.length - tail.length);
    return head + 'x'.repeat(fill) + tail;
  };

  const dispatch = { handler: null };
  core.installHandler = () => {
    const a = core.adapter();
    if (!a) throw new Error('no window.__livechatBench adapter on this page');
    a.onMessage = (topic, text) => {
      if (dispatch.handler) dispatch.handler(topic, text);
    };
  };

  core.subscribe = async (topic, qos) => {
    core.installHandler();
    await core.adapter().subscribe(topic, qos);
  };

  // Sequential publish -> receive round trips on a topic the page is subscribed to.
  core.roundTrips = async (topic, count, qos, size, perMessageTimeoutMs) => {
    const a = core.adapter();
    const samples = [];
    let waiting = null;
    dispatch.handler = (t, text) => {
      if (t !== topic || !waiting) return;
      const msg = JSON.parse(text);
      if (msg.id === waiting.id) {
        const w = waiting;
        waiting = null;
        w.resolve(performance.now());
      }
    };
    try {
      for (let i = 0; i < count; i++) {
        const text = core.payload(i, size);
        const arrived = new Promise((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`round trip ${i} (qos ${qos}) timed out`)),
            perMessageTimeoutMs,
          );
          waiting = { id: i, resolve: (t) => { clearTimeout(timer); resolve(t); } };
        });
        const t0 = performance.now();
        await a.publish(topic, text, qos);
        const t1 = await arrived;
        samples.push(t1 - t0);
      }
    } finally {
      dispatch.handler = null;
      waiting = null;
    }
    return samples;
  };

  // Flood bookkeeping. A 20 ms ticker runs from arming to the end: it samples counters that are
  // not event driven (the chat UI) and records the longest gap between ticks, i.e. how long the
  // main thread was blocked ("freezing") while the messages came in.
  const startTicker = (f) => {
    let prev = performance.now();
    f.maxTickGapMs = 0;
    const tick = () => {
      const now = performance.now();
      f.maxTickGapMs = Math.max(f.maxTickGapMs, now - prev);
      prev = now;
      if (f.counter) {
        const n = f.counter();
        if (n !== f.received) {
          if (f.first === null && n > 0) f.first = now;
          f.received = n;
          f.last = now;
        }
      }
      if (!f.finished) f.timer = setTimeout(tick, 20);
    };
    f.timer = setTimeout(tick, 20);
  };

  // Arm a receive counter for a flood through the adapter; the harness starts the publisher after.
  core.armFlood = (topic, expected) => {
    const f = { topic, expected, received: 0, first: null, last: null, finished: false };
    core.flood = f;
    dispatch.handler = (t, text) => {
      if (t !== topic) return;
      const now = performance.now();
      if (f.first === null) f.first = now;
      f.received += 1;
      f.last = now;
    };
    startTicker(f);
    return true;
  };

  // The chat UI has no adapter for messages: count what it rendered. Its room topic and a valid
  // chat message template ("{id}" placeholder) come from the hook when it gives them, else from
  // the harness (contract: bench/README.md).
  core.armUiFlood = (expected, defaultTopic, defaultTemplate) => {
    const a = core.adapter() || {};
    const hooked = typeof a.rendered === 'number';
    const count = hooked
      ? () => window.__livechatBench.rendered
      : () => {
          const log = document.querySelector('[role="log"]');
          return log ? log.children.length : 0;
        };
    const base = count();
    const topic = a.roomTopic || defaultTopic;
    const f = { topic, expected, received: 0, first: null, last: null, finished: false, counter: () => count() - base };
    core.flood = f;
    startTicker(f);
    return { topic, template: a.floodPayload || defaultTemplate, counted: hooked ? 'rendered hook' : 'role=log children' };
  };

  // Resolve once all expected messages arrived, nothing arrived for `quietMs`, or the deadline
  // passed; never throws.
  core.awaitFlood = (timeoutMs, quietMs) =>
    new Promise((resolve) => {
      const f = core.flood;
      const deadline = performance.now() + timeoutMs;
      let lastCount = -1;
      let lastChange = performance.now();
      const check = () => {
        const now = performance.now();
        if (f.counter) {
          const n = f.counter();
          if (n !== f.received) { if (f.first === null && n > 0) f.first = now; f.received = n; f.last = now; }
        }
        if (f.received !== lastCount) { lastCount = f.received; lastChange = now; }
        const done = f.received >= f.expected;
        const stalled = now - lastChange > quietMs;
        if (done || stalled || now > deadline) {
          f.finished = true;
          clearTimeout(f.timer);
          dispatch.handler = null;
          resolve({ received: f.received, first: f.first, last: f.last, timedOut: !done, maxTickGapMs: f.maxTickGapMs });
          return;
        }
        setTimeout(check, 50);
      };
      check();
    });
})();
