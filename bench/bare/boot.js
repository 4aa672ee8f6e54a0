// Loads the bare-client bench page's wasm from the directory this file is served from. An
// external module (no inline script), so it runs under a strict Content-Security-Policy.
import init from './livechat-bench-bare.js';
import { startEarly } from './early.js';

// As the app's loader does (static/early.js): /config.json, then the token request and the
// WebSocket open, start while the wasm downloads and compiles; the wasm takes them over. This
// page has no mount element, so no attributes: the file alone, as the page reads it.
startEarly(new URL('/config.json', location.href).href, () => null);

await init({ module_or_path: new URL('livechat-bench-bare_bg.wasm', import.meta.url) });
