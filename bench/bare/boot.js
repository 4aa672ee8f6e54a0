// Loads the bare-client bench page's wasm from the directory this file is served from. An
// external module (no inline script), so it runs under a strict Content-Security-Policy.
import init from './livechat-bench-bare.js';

await init({ module_or_path: new URL('livechat-bench-bare_bg.wasm', import.meta.url) });
