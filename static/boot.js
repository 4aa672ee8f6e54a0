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

// The crash screen. The release build compiles std with panic=immediate-abort (README, "Release
// build"): a panic is a bare wasm trap, with no message and no Rust hook, and so is any other trap
// of the module. Either ends the JS task it happened in with an uncaught WebAssembly.RuntimeError
// (an `error` event, or `unhandledrejection` from a promise callback) and leaves the app's state
// half-updated, so nothing of the app may run after it. The first one from our module draws a
// friendly panel with a Reload action in the mount element (the app marks it with
// data-livechat-mounted; before that, the body) and the stylesheet hides the dead app. The error
// is not marked handled: the console keeps its report. A host page's own wasm may fail without
// taking the chat down: a trap whose stack names another .wasm file is not ours (one compiled from
// bytes names no file, and counts as ours).
const wasmUrl = new URL('livechat_bg.wasm', import.meta.url).href;
let crashed = false;
function crash(error) {
  const stack = String(error?.stack);
  if (crashed || !(error instanceof WebAssembly.RuntimeError)) return;
  if (stack.includes('.wasm:wasm-function') && !stack.includes(`${wasmUrl}:wasm-function`)) return;
  crashed = true;
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    e.className = cls;
    if (text) e.textContent = text;
    return e;
  };
  const mount = document.querySelector('[data-livechat-mounted]') || document.body;
  const panel = el('section', 'lc-crash');
  panel.setAttribute('role', 'alert');
  const reload = el('button', 'lc-button lc-reload', 'Reload');
  reload.type = 'button';
  reload.onclick = () => location.reload();
  panel.append(
    el('h2', 'lc-error-title', 'Something went wrong'),
    el('p', 'lc-error-message', 'The chat stopped because of an internal error. Reloading usually fixes it.'),
    reload,
  );
  mount.classList.add('lc-crashed');
  mount.append(panel);
  reload.focus();
}
addEventListener('error', (event) => crash(event.error));
addEventListener('unhandledrejection', (event) => crash(event.reason));

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
