// Loads the livechat app from the directory this file is served from: the app's own page, any
// sub-path of a static host, or a CDN origin embedded into another site. An external module (no
// inline script), so it runs under a strict Content-Security-Policy.
// Only the small early-connect module is a static import: this file runs as soon as the two are
// here, and livechat.js (the wasm's glue) is imported below, after the downloads have started.
import { startEarly } from './early.js';

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

// Connect sooner (static/early.js): the default config.json, then the token request and the
// WebSocket open, start now, while the wasm downloads and compiles, and the wasm takes them over.
// The loader's fetch of config.json takes the response of the preload in our index.html (same
// URL, mode cors, credentials same-origin); on host pages, which embed only this file, it starts
// the download itself. Only for the default file: a mount element that names its own file
// (data-config-url) or a page with several (refused by the app) is left to the app's rules; a
// page with none yet (the app adds one, or the page does later) gets the file but no early
// connect, since the attributes that may change the endpoints are not there to read.
{
  const mounts = document.querySelectorAll('[data-livechat], #livechat');
  const named = mounts.length === 1 && mounts[0].getAttribute('data-config-url')?.trim();
  if (mounts.length <= 1 && !named) {
    const attribute = mounts.length === 1 ? (name) => mounts[0].getAttribute(name) : null;
    startEarly(new URL('config.json', globalThis.__livechatAppBase).href, attribute);
  }
}

const { default: init } = await import('./livechat.js');
const wasm = await init({ module_or_path: wasmResponse });
// The event Trunk's own loader sends once the module runs (detail.wasm = its exports, memory
// included): host pages and the benchmark harness can wait for it.
dispatchEvent(new CustomEvent('TrunkApplicationStarted', { detail: { wasm } }));
