// BENCH_TIMELINE=1 only (bench/run.mjs injects it after bench-core.js): records when the page's
// start-up steps happen, in ms since navigation start (performance.now()), for attribution. It
// wraps WebSocket and WebAssembly's instantiate functions, so timed runs do not load it.
(() => {
  'use strict';
  const t = { events: [] };
  const at = (what, extra) => t.events.push({ what, ms: Math.round(performance.now() * 10) / 10, ...extra });
  const NativeWS = window.WebSocket;
  let n = 0;
  window.WebSocket = function (url, protocols) {
    const id = ++n;
    at(`ws${id} new`);
    const ws = new NativeWS(url, protocols);
    ws.addEventListener('open', () => at(`ws${id} open`));
    ws.addEventListener('close', (e) => at(`ws${id} close`, { code: e.code }));
    let sends = 0;
    let recvs = 0;
    const send = ws.send.bind(ws);
    ws.send = (d) => {
      if (sends++ < 2) at(`ws${id} send#${sends}`, { bytes: d.byteLength ?? d.length });
      return send(d);
    };
    ws.addEventListener('message', (e) => {
      if (recvs++ < 2) at(`ws${id} recv#${recvs}`, { bytes: e.data.byteLength ?? e.data.length });
    });
    return ws;
  };
  window.WebSocket.prototype = NativeWS.prototype;
  Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
  for (const fn of ['instantiateStreaming', 'instantiate', 'compileStreaming', 'compile']) {
    const orig = WebAssembly[fn];
    if (!orig) continue;
    WebAssembly[fn] = function (...a) {
      at(`wasm ${fn} start`);
      const p = orig.apply(this, a);
      p.then(() => at(`wasm ${fn} done`), () => at(`wasm ${fn} failed`));
      return p;
    };
  }
  const nativeFetch = window.fetch;
  window.fetch = function (input, init) {
    const url = String(input && input.url ? input.url : input).replace(/^https?:\/\/[^/]+/, '');
    at(`fetch() ${url}`);
    return nativeFetch.call(this, input, init);
  };
  if (navigator.locks && navigator.locks.query) {
    const q = navigator.locks.query.bind(navigator.locks);
    navigator.locks.query = () => {
      at('locks.query()');
      const p = q();
      p.then(() => at('locks.query done'));
      return p;
    };
  }
  if (navigator.locks && navigator.locks.request) {
    const rq = navigator.locks.request.bind(navigator.locks);
    navigator.locks.request = (name, opts, cb) => {
      at('locks.request()');
      const f = typeof opts === 'function' ? opts : cb;
      const wrapped = (lock) => { at(lock ? 'locks.request granted' : 'locks.request not granted'); return f(lock); };
      return typeof opts === 'function' ? rq(name, wrapped) : rq(name, opts, wrapped);
    };
  }
  const define = Object.defineProperty;
  Object.defineProperty = function (o, name, d) {
    if (o === globalThis && typeof name === 'string' && name.startsWith('__livechat')) at(`define ${name}`);
    return define.call(this, o, name, d);
  };
  addEventListener('TrunkApplicationStarted', () => at('TrunkApplicationStarted'));
  document.addEventListener('readystatechange', () => at(`readyState ${document.readyState}`));
  // The first element inside the app's mount (Yew's first render).
  const mo = new MutationObserver(() => {
    const root = document.querySelector('#livechat');
    if (root && root.firstElementChild) {
      at('first render');
      mo.disconnect();
    }
  });
  addEventListener('DOMContentLoaded', () => mo.observe(document.body, { subtree: true, childList: true }));
  window.__benchTimeline = t;
  const core = window.__benchCore;
  core.timeline = () => {
    const r = (x) => Math.round(x * 10) / 10;
    const nav = performance.getEntriesByType('navigation')[0];
    const out = [...t.events];
    if (nav) {
      out.push({ what: 'html responseEnd', ms: r(nav.responseEnd) });
      out.push({ what: 'DOMContentLoaded', ms: r(nav.domContentLoadedEventStart) });
    }
    for (const e of performance.getEntriesByType('resource')) {
      const name = e.name.replace(/^https?:\/\/[^/]+/, '').replace(/\?.*$/, '');
      out.push({ what: `fetch ${name} start`, ms: r(e.startTime) });
      if (e.requestStart) out.push({ what: `fetch ${name} sent`, ms: r(e.requestStart) });
      if (e.responseStart) out.push({ what: `fetch ${name} first byte`, ms: r(e.responseStart) });
      out.push({ what: `fetch ${name} end`, ms: r(e.responseEnd) });
    }
    for (const e of performance.getEntriesByType('mark')) out.push({ what: `mark ${e.name}`, ms: r(e.startTime) });
    out.push({ what: 'connected (bench)', ms: core.connectedTime() });
    out.push({ what: 'code ready (bench)', ms: core.readyTime() });
    return out.sort((a, b) => a.ms - b.ms);
  };
})();
