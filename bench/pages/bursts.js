// BENCH_BURSTS=1 only (bench/run.mjs injects it after bench-core.js): how the browser hands a
// flood's WebSocket messages to the page, for attributing the longest stall. Every WebSocket the
// page creates gets one extra `message` listener that counts; the first message of a burst posts
// a task through a MessageChannel, and the burst ends when that task runs. So a burst is the
// messages dispatched before a posted task could run, and its length in ms is how long the main
// thread was held: the browser's dispatch plus the client's own handling of those messages, plus
// the page's timers and rendering updates that Chromium ran ahead of the posted task (both
// counted separately). The harness resets it before the flood and reads it after
// (`__benchBursts`): the longest burst by time, with its message count, and the totals. It wraps
// WebSocket, so timed runs do not load it. It also times the page's own message handlers, the page
// timers and rendering updates that run inside a burst, the longest gap of its own 20 ms ticker
// (the stall, broken down) and the long animation frames of the flood (bench/README.md).
(() => {
  'use strict';
  const fresh = () => ({ bursts: 0, messages: 0, longestMs: 0, longestCount: 0, mostCount: 0, over100Ms: 0, longestTimerMs: 0, handlerMs: 0, longestBurstHandlerMs: 0, timersInBursts: 0, timerMsInBursts: 0, longestBurstTimerMs: 0, framesInBursts: 0, frameMsInBursts: 0, longestBurstFrames: 0, longestBurstFrameMs: 0, stall: { ms: 0 } });
  const b = fresh();
  let start = 0;
  let count = 0;
  let pending = false;
  // Rendering updates (style, layout, paint) the browser runs between two messages of a burst:
  // a requestAnimationFrame callback while a burst is pending marks one, and the time from it
  // to the burst's next message (or its end) is what the update took (rAF callbacks included).
  let frameAt = 0;
  let burstFrames = 0;
  let burstFrameMs = 0;
  let burstHandlerMs = 0;
  // A timer callback of the page that runs while a burst is pending (its task, the microtasks
  // after it and anything else up to the burst's next message).
  let timerAt = 0;
  let burstTimers = 0;
  let burstTimerMs = 0;
  const closeTimer = (now) => {
    if (timerAt) { burstTimerMs += now - timerAt; timerAt = 0; }
  };
  const closeFrame = (now) => {
    if (frameAt) { burstFrameMs += now - frameAt; frameAt = 0; }
  };
  const onFrame = () => {
    if (pending) { burstFrames += 1; frameAt = performance.now(); }
    requestAnimationFrame(onFrame);
  };
  requestAnimationFrame(onFrame);
  // The longest stall, broken down: a 20 ms ticker of its own (like bench-core's) and, per gap
  // between its ticks, the page's message handlers, the WebSocket messages, and the rendering
  // updates (from a requestAnimationFrame callback to the next message or tick) in it.
  const gap = { messages: 0, handlerMs: 0, frames: 0, frameMs: 0, frameAt: 0 };
  const gapFrameClose = (now) => { if (gap.frameAt) { gap.frameMs += now - gap.frameAt; gap.frameAt = 0; } };
  let tickPrev = performance.now();
  const tickNative = window.setTimeout;
  const tick = () => {
    const now = performance.now();
    gapFrameClose(now);
    const ms = now - tickPrev;
    if (ms > b.stall.ms) b.stall = { ms: Math.round(ms), messages: gap.messages, handlerMs: Math.round(gap.handlerMs), frames: gap.frames, frameMs: Math.round(gap.frameMs) };
    tickPrev = now;
    Object.assign(gap, { messages: 0, handlerMs: 0, frames: 0, frameMs: 0, frameAt: 0 });
    tickNative(tick, 20);
  };
  tickNative(tick, 20);
  const onGapFrame = () => { gap.frames += 1; gap.frameAt = performance.now(); requestAnimationFrame(onGapFrame); };
  requestAnimationFrame(onGapFrame);
  const channel = new MessageChannel();
  channel.port1.onmessage = () => {
    const now = performance.now();
    const ms = now - start;
    closeFrame(now);
    closeTimer(now);
    pending = false;
    b.timersInBursts += burstTimers;
    b.timerMsInBursts += burstTimerMs;
    b.framesInBursts += burstFrames;
    b.frameMsInBursts += burstFrameMs;
    b.handlerMs += burstHandlerMs;
    b.bursts += 1;
    if (ms > b.longestMs) { b.longestMs = ms; b.longestCount = count; b.longestBurstFrames = burstFrames; b.longestBurstFrameMs = burstFrameMs; b.longestBurstHandlerMs = burstHandlerMs; b.longestBurstTimerMs = burstTimerMs; }
    burstTimers = 0;
    burstTimerMs = 0;
    burstHandlerMs = 0;
    burstFrames = 0;
    burstFrameMs = 0;
    b.mostCount = Math.max(b.mostCount, count);
    if (ms > 100) b.over100Ms += 1;
    count = 0;
  };
  const onMessage = () => {
    gap.messages += 1;
    if (gap.frameAt) gapFrameClose(performance.now());
    if (frameAt || timerAt) { const now = performance.now(); closeFrame(now); closeTimer(now); }
    if (!pending) {
      pending = true;
      start = performance.now();
      channel.port2.postMessage(0);
    }
    count += 1;
    b.messages += 1;
  };
  const NativeWS = window.WebSocket;
  window.WebSocket = function (url, protocols) {
    const ws = protocols === undefined ? new NativeWS(url) : new NativeWS(url, protocols);
    ws.addEventListener('message', onMessage);
    // The page's own message handlers, timed (their sum per burst: the client's handling).
    const add = ws.addEventListener.bind(ws);
    ws.addEventListener = (type, fn, opts) => {
      if (type !== 'message' || typeof fn !== 'function') return add(type, fn, opts);
      return add(type, function (e) {
        const t0 = performance.now();
        try { return fn.call(this, e); } finally { const d = performance.now() - t0; burstHandlerMs += d; gap.handlerMs += d; }
      }, opts);
    };
    let onmessage = null;
    ws.addEventListener('message', (e) => (typeof onmessage === 'function' ? onmessage.call(ws, e) : undefined));
    Object.defineProperty(ws, 'onmessage', { get: () => onmessage, set: (fn) => { onmessage = fn; } });
    return ws;
  };
  window.WebSocket.prototype = NativeWS.prototype;
  Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
  // The page's own timer callbacks (the chat UI renders a batch from one), timed the same way.
  const nativeSetTimeout = window.setTimeout;
  window.setTimeout = function (fn, ms, ...args) {
    if (typeof fn !== 'function') return nativeSetTimeout(fn, ms, ...args);
    return nativeSetTimeout(function () {
      const t0 = performance.now();
      if (pending) { closeFrame(t0); closeTimer(t0); burstTimers += 1; timerAt = t0; }
      try {
        return fn.apply(this, args);
      } finally {
        b.longestTimerMs = Math.max(b.longestTimerMs, performance.now() - t0);
      }
    }, ms);
  };
  // Long animation frames (LoAF) over the flood: for each, the tasks' time, the rendering
  // update's (rAF callbacks, then style and layout) and the scripts in it by invoker.
  let loafs = [];
  try {
    new PerformanceObserver((list) => { for (const e of list.getEntries()) loafs.push(e); })
      .observe({ type: 'long-animation-frame', buffered: false });
  } catch (_) { /* not supported */ }
  const loafSummary = () => {
    const sum = { frames: loafs.length, ms: 0, styleLayoutMs: 0, renderMs: 0, scriptsMs: 0, invokers: {} };
    for (const e of loafs) {
      const end = e.startTime + e.duration;
      sum.ms += e.duration;
      if (e.styleAndLayoutStart) sum.styleLayoutMs += end - e.styleAndLayoutStart;
      if (e.renderStart) sum.renderMs += (e.styleAndLayoutStart || end) - e.renderStart;
      for (const sc of e.scripts) {
        const k = sc.invokerType + ':' + sc.invoker;
        sum.scriptsMs += sc.duration;
        sum.invokers[k] = Math.round((sum.invokers[k] || 0) + sc.duration);
      }
    }
    for (const k of ['ms', 'styleLayoutMs', 'renderMs', 'scriptsMs']) sum[k] = Math.round(sum[k]);
    sum.top = loafs.slice().sort((a, b) => b.duration - a.duration).slice(0, 4).map((e) => ({
      ms: Math.round(e.duration),
      beforeRender: Math.round((e.renderStart || e.startTime + e.duration) - e.startTime),
      styleLayout: e.styleAndLayoutStart ? Math.round(e.startTime + e.duration - e.styleAndLayoutStart) : 0,
      scripts: e.scripts.length,
      scriptMs: Math.round(e.scripts.reduce((a, sc) => a + sc.duration, 0)),
    }));
    return sum;
  };
  window.__benchBursts = {
    reset() { Object.assign(b, fresh()); tickPrev = performance.now(); loafs = []; },
    read() { return { ...b, loaf: loafSummary(), longestMs: Math.round(b.longestMs * 10) / 10, longestTimerMs: Math.round(b.longestTimerMs * 10) / 10, frameMsInBursts: Math.round(b.frameMsInBursts), longestBurstFrameMs: Math.round(b.longestBurstFrameMs * 10) / 10, handlerMs: Math.round(b.handlerMs), timerMsInBursts: Math.round(b.timerMsInBursts), longestBurstTimerMs: Math.round(b.longestBurstTimerMs * 10) / 10, longestBurstHandlerMs: Math.round(b.longestBurstHandlerMs * 10) / 10 }; },
  };
})();
