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

// What the page shows when the chat cannot run: a role="alert" panel with a title, a sentence and
// a focused Reload button, in the mount element (the one the app marked data-livechat-mounted, else
// the one it would mount into, else a new one at the end of the body: the host's page is never
// hidden), whose other content the stylesheet hides. Shown once; plain DOM, no app code.
let failed = false;
function showFailure(title, text) {
  if (failed) return;
  failed = true;
  const el = (tag, cls, content) => {
    const e = document.createElement(tag);
    e.className = cls;
    if (content) e.textContent = content;
    return e;
  };
  let mount = document.querySelector('[data-livechat-mounted]') || document.querySelector('[data-livechat], #livechat');
  if (!mount) mount = document.body.appendChild(el('div', ''));
  const panel = el('section', 'lc-crash');
  panel.setAttribute('role', 'alert');
  const reload = el('button', 'lc-button lc-reload', 'Reload');
  reload.type = 'button';
  reload.onclick = () => location.reload();
  panel.append(el('h2', 'lc-error-title', title), el('p', 'lc-error-message', text), reload);
  mount.classList.add('lc-root', 'lc-crashed');
  mount.append(panel);
  reload.focus();
}

// The crash screen. The release build compiles std with panic=immediate-abort (README, "Release
// build"): a panic is a bare wasm trap, with no message and no Rust hook, and so is any other trap
// of the module. Either ends the JS task it happened in with an uncaught WebAssembly.RuntimeError
// (an `error` event, or `unhandledrejection` from a promise callback) and leaves the app's state
// half-updated, so nothing of the app may run after it: the first one from our module shows the
// failure panel. The error is not marked handled: the console keeps its report. A host page's own
// wasm may fail without taking the chat down: a trap whose stack names another .wasm file is not
// ours (one compiled from bytes names no file, and counts as ours).
const wasmUrl = new URL('livechat_bg.wasm', import.meta.url).href;
function crash(error) {
  if (!(error instanceof WebAssembly.RuntimeError)) return;
  const stack = String(error.stack);
  if (stack.includes('.wasm:wasm-function') && !stack.includes(`${wasmUrl}:wasm-function`)) return;
  showFailure('Something went wrong', 'The chat stopped because of an internal error. Reloading usually fixes it.');
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
// Without early.js (it failed to load) the app makes its own requests.
const early = globalThis.__livechatEarlyStarted ? null : loadEarly().catch(() => {});
const glue = import('./livechat.js');
await early;
let wasm;
try {
  const { default: init } = await glue;
  wasm = await init({ module_or_path: wasmResponse });
} catch (error) {
  // The glue or the wasm did not arrive, did not compile (a wrong MIME type, a browser without
  // WebAssembly, a CSP without 'wasm-unsafe-eval'), or trapped while starting (the crash screen's
  // case): the page says so instead of "Loading chat…" for ever. Rethrown for the console.
  if (error instanceof WebAssembly.RuntimeError) crash(error);
  else showFailure('The chat could not load', 'Its files did not arrive or this browser could not run them. Check the connection and reload.');
  throw error;
}
// The event Trunk's own loader sends once the module runs (detail.wasm = its exports, memory
// included): host pages and the benchmark harness can wait for it.
dispatchEvent(new CustomEvent('TrunkApplicationStarted', { detail: { wasm } }));
