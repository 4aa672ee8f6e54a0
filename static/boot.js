// Loads the livechat app from the directory this file is served from: the app's own page, any
// sub-path of a static host, or a CDN origin embedded into another site. An external module (no
// inline script), so it runs under a strict Content-Security-Policy.
import init from './livechat.js';

// The app's own folder: its default config.json is read from here, never relative to the host
// page (a page-relative file could be anything the host site lets its users upload). Read-only,
// so nothing on the page can point it elsewhere after this line.
Object.defineProperty(globalThis, '__livechatAppBase', {
  value: new URL('./', import.meta.url).href,
  writable: false,
  configurable: false,
});

// Host pages embed only this file, so the configuration preload in our index.html is not
// there: start the default config.json download now, while the wasm downloads and compiles,
// and the app's fetch (src/boot.rs: same URL, mode cors, credentials same-origin) takes the
// response from the preload. Only for the default file: a mount element that names its own
// file (data-config-url) or a page with several mount elements (refused by the app) is left to
// the app's rules.
{
  const mounts = document.querySelectorAll('[data-livechat], #livechat');
  const named = mounts.length === 1 && mounts[0].getAttribute('data-config-url')?.trim();
  const href = new URL('config.json', globalThis.__livechatAppBase).href;
  const preloaded = [...document.querySelectorAll('link[rel="preload"]')].some((l) => l.href === href);
  if (mounts.length <= 1 && !named && !preloaded) {
    const link = document.createElement('link');
    link.rel = 'preload';
    link.as = 'fetch';
    link.crossOrigin = 'anonymous';
    link.href = href;
    document.head.append(link);
  }
}

const wasm = await init({ module_or_path: new URL('livechat_bg.wasm', import.meta.url) });
// The event Trunk's own loader sends once the module runs (detail.wasm = its exports, memory
// included): host pages and the benchmark harness can wait for it.
dispatchEvent(new CustomEvent('TrunkApplicationStarted', { detail: { wasm } }));
