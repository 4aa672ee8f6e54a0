// Loads the presence example's wasm from the directory this file is served from. An external
// module (no inline script), so it runs under a strict Content-Security-Policy.
import init from './livechat-example-presence.js';

await init({ module_or_path: new URL('livechat-example-presence_bg.wasm', import.meta.url) });
