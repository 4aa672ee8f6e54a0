// Loads the bare-client bench page's wasm from the directory this file is served from. An
// external module (no inline script), so it runs under a strict Content-Security-Policy. Built
// like the app's static/boot.js: only early.js is a static import, the wasm download starts at
// once, and the glue (livechat-bench-bare.js) is imported once the early requests are started.
import { startEarly } from './early.js';

const wasmResponse = fetch(new URL('livechat-bench-bare_bg.wasm', import.meta.url));

// As the app's loader does (static/early.js): /config.json, then the token request and the
// WebSocket open, start while the wasm downloads and compiles; the wasm takes them over. This
// page has no mount element, so no attributes: the file alone, as the page reads it.
startEarly(new URL('/config.json', location.href).href, () => null);

const { default: init } = await import('./livechat-bench-bare.js');
await init({ module_or_path: wasmResponse });
