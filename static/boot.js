// Loads the livechat app from the directory this file is served from: the app's own page, any
// sub-path of a static host, or a CDN origin embedded into another site. An external module (no
// inline script), so it runs under a strict Content-Security-Policy. No static import: this file
// runs as soon as it is here; early.js and livechat.js (the wasm's glue) are imported below, after
// the wasm download has started.

// The app's own folder: its default config.json is read from here, never relative to the host
// page (a page-relative file could be anything the host site lets its users upload). Read-only,
// so nothing on the page can point it elsewhere after this line.
Object.defineProperty(globalThis, '__livechatAppBase', {
  value: new URL('./', import.meta.url).href,
  writable: false,
  configurable: false,
});

// The wasm download starts now: on our page it takes the response of Trunk's preload (same URL
// and mode), on a host page it no longer waits for livechat.js to arrive first. init() below
// compiles it as it streams in (instantiateStreaming; the server must send application/wasm).
const wasmResponse = fetch(new URL('livechat_bg.wasm', import.meta.url));

// Our early.js as a classic <script> of this page that has not run yet: its load (or error)
// event; else the module import.
function loadEarly() {
  const url = new URL('early.js', import.meta.url).href;
  const tag = [...document.scripts].find((s) => s.src === url);
  if (!tag) return import('./early.js');
  return new Promise((done) => {
    tag.addEventListener('load', done, { once: true });
    tag.addEventListener('error', done, { once: true });
  });
}

// Connect sooner (static/early.js): the default config.json, then the token request and the
// WebSocket open, start while the wasm downloads and compiles, and the wasm takes them over. Our
// index.html runs early.js as a classic script in <head> (sooner than this module); a host page
// that embeds only this file gets it imported here (it then reads __livechatAppBase). It runs once
// per page, and has run before the wasm starts (the app reads its handover): if the <head> script
// is still on its way, this waits for it.
const early = globalThis.__livechatEarlyStarted ? null : loadEarly();
const glue = import('./livechat.js');
await early;
const { default: init } = await glue;
const wasm = await init({ module_or_path: wasmResponse });
// The event Trunk's own loader sends once the module runs (detail.wasm = its exports, memory
// included): host pages and the benchmark harness can wait for it.
dispatchEvent(new CustomEvent('TrunkApplicationStarted', { detail: { wasm } }));
