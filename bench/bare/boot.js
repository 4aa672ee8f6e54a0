// Loads the bare-client bench page's wasm from the directory this file is served from. An
// external module (no inline script), so it runs under a strict Content-Security-Policy. Built
// like the app's static/boot.js: the wasm download starts at once; the page's classic early.js
// (static/early.js, in index.html) has started /config.json, the token request and the WebSocket
// open, which the wasm takes over.
const wasmResponse = fetch(new URL('livechat-bench-bare_bg.wasm', import.meta.url));

// The wasm reads the loader's handover once: if early.js is still on its way (it is not, as a blocking script), wait for it.
if (!globalThis.__livechatEarlyStarted) {
  const tag = [...document.scripts].find((s) => s.src === new URL('early.js', import.meta.url).href);
  if (tag) {
    await new Promise((done) => {
      tag.addEventListener('load', done, { once: true });
      tag.addEventListener('error', done, { once: true });
    });
  }
}

const { default: init } = await import('./livechat-bench-bare.js');
await init({ module_or_path: wasmResponse });
