// BENCH_BURSTS=1 only (bench/run.mjs injects it after bench-core.js): how the browser hands a
// flood's WebSocket messages to the page, for attributing the longest stall. Every WebSocket the
// page creates gets one extra `message` listener that counts; the first message of a burst posts
// a task through a MessageChannel, and the burst ends when that task runs. So a burst is the
// messages dispatched back to back before any other task of the page could run, and its length
// in ms is how long the main thread was held: the browser's dispatch plus the client's own
// handling of those messages. The harness resets it before the flood and reads it after
// (`__benchBursts`): the longest burst by time, with its message count, and the totals. It wraps
// WebSocket, so timed runs do not load it.
(() => {
  'use strict';
  const fresh = () => ({ bursts: 0, messages: 0, longestMs: 0, longestCount: 0, mostCount: 0, over100Ms: 0, longestTimerMs: 0 });
  const b = fresh();
  let start = 0;
  let count = 0;
  let pending = false;
  const channel = new MessageChannel();
  channel.port1.onmessage = () => {
    const ms = performance.now() - start;
    pending = false;
    b.bursts += 1;
    if (ms > b.longestMs) { b.longestMs = ms; b.longestCount = count; }
    b.mostCount = Math.max(b.mostCount, count);
    if (ms > 100) b.over100Ms += 1;
    count = 0;
  };
  const onMessage = () => {
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
      try {
        return fn.apply(this, args);
      } finally {
        b.longestTimerMs = Math.max(b.longestTimerMs, performance.now() - t0);
      }
    }, ms);
  };
  window.__benchBursts = {
    reset() { Object.assign(b, fresh()); },
    read() { return { ...b, longestMs: Math.round(b.longestMs * 10) / 10, longestTimerMs: Math.round(b.longestTimerMs * 10) / 10 }; },
  };
})();
