// Connect sooner (issue 15): the first connect's requests start here, while the wasm downloads
// and compiles, and are handed over to it. Used by the app (index.html loads it as a classic
// script in <head>; boot.js imports it when a host page did not) and the bench's bare page.
//
// It fetches the configuration file, and once it is there and the page is parsed reads the token
// endpoint and the broker from it (the mount element's data-* settings overlay the file, as in the
// app) and starts the token request and the WebSocket open. What it started waits in one global,
// read once by the wasm (docs/ARCHITECTURE.md, "Connect sooner: the loader's handover"):
//   __livechatHandover = {
//     config: { url, response },   // the file: taken by the app (src/boot.rs) or the bare page
//     token:  { url, response },   // the token request: taken by the driver's first FetchToken
//     socket: { url, socket },     // the WebSocket: taken by the driver's first OpenLink
//   }
// `config.response` resolves only after `token` and `socket` are in place (or known not to come),
// so whoever awaits it and then starts the driver finds them. The wasm uses nothing it cannot
// check: each response must be a real one from exactly the URL it would fetch itself, the socket
// a WebSocket to exactly its broker URL; anything else is ignored and the wasm does its own
// request. When tabs share one connection and no tab leads yet, it also asks for the group's Web
// Lock and leaves the request in a second global for the tab group to take (`lockEarly` below).
// The rules here are a strict subset of the app's (livechat-config): what they do not
// cover (an absolute token URL, a URL with non-ASCII characters, several mount elements, a
// mount that names its own file) is simply not started early.
//
// Why a classic script: a module script runs only once the page is parsed and its imports are
// loaded; a classic script runs as soon as it arrives, so the configuration request, and after it
// the token request and the WebSocket open, start tens of ms sooner (BENCHMARKS.md). Not `async`:
// an async script was fetched at low priority and ran 20-60 ms after it arrived; a
// parser-blocking one first in <head> is fetched at once and runs on arrival.
// It is written to run either way (no import/export, strict mode): as a classic script it finds
// its folder from its own URL; imported as a module by boot.js, from `__livechatAppBase`. It
// runs once per page, whichever comes first.
//
// <script src="early.js" data-config-url="/config.json" data-no-mount></script> (the bare
// page only): fetch that file (relative to the page) instead of config.json beside early.js, and
// start from the file alone, with no mount element and no tab group (the bare client shares no
// connection between tabs: no lock query, no lock request).
(() => {
'use strict';

const HANDOVER = '__livechatHandover';
const STARTED = '__livechatEarlyStarted';
// What nobody took after this long is closed and forgotten: a handed-over token is never older
// than this when the driver reads it (its deadlines are measured from when it is read).
const KEEP_MS = 10000;

// A same-origin path: '/' then no second '/' or '\', printable ASCII only.
const isPath = (url) => /^\/(?![/\\])[\x21-\x7e]*$/.test(url) && !url.includes('\\');

function isLoopback(host) {
  if (host === 'localhost' || host.endsWith('.localhost') || host === '[::1]') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return !!m && m.slice(1).every((n) => Number(n) <= 255 && (n === '0' || n[0] !== '0'));
}

// wss://, or ws:// to this machine; no user-info; printable ASCII only (livechat-config's
// validate_broker_url, narrowed).
function isBrokerUrl(url) {
  if (!/^[\x21-\x7e]+$/.test(url) || url.includes('\\')) return false;
  const m = /^(wss?):\/\/([^/?#]*)/i.exec(url);
  if (!m || m[2].includes('@')) return false;
  const authority = m[2].toLowerCase();
  const host = authority.startsWith('[') ? authority.slice(0, authority.indexOf(']') + 1) : authority.split(':')[0];
  if (!host) return false;
  return m[1].toLowerCase() === 'wss' || isLoopback(host);
}

// One setting as the app reads it: the attribute (non-blank) over the file's keys (the first
// present, non-null one; blank counts as unset). Only strings are used here: anything else is
// `undefined` (not started early), whatever the app then makes of it.
function setting(file, attribute, attr, keys) {
  const a = attribute(attr);
  if (a != null && a.trim()) return a.trim();
  for (const key of keys) {
    const v = file[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') return undefined;
    return v.trim() || null;
  }
  return null;
}

// Tabs sharing one connection (the app's `shareTabs`, on unless `false`): the same group name as
// mqtt-browser's tabs::group_name. A tab that finds the group's lock held follows the tab that
// holds it and asks for no token and opens no socket of its own, so nothing is started for it.
const TABS_PROTOCOL = 'livechat-tabs/2';

function sharesTabs(file, attribute) {
  const a = attribute('data-share-tabs');
  let v = a != null && a.trim() ? a.trim() : null;
  for (const key of ['shareTabs', 'share_tabs']) {
    if (v !== null) break;
    if (file[key] !== undefined && file[key] !== null) v = String(file[key]).trim() || null;
  }
  return !(v === 'false' || v === 'off' || v === '0');
}

// The locks held on this origin, asked for as soon as the loader runs (with the configuration
// request, not after it: the answer comes from the browser process and was on the connect path,
// 2–85 ms, when asked only once the file was there); null when there is nothing to ask.
function heldLocks() {
  try {
    if (typeof BroadcastChannel !== 'function' || !navigator.locks?.query) return null;
    return navigator.locks.query().then(({ held }) => held, () => []);
  } catch {
    return null;
  }
}

// The group's lock and channel name (mqtt-browser's tabs::group_name); null if it cannot be made.
function groupName(tokenUrl, brokerUrl) {
  try {
    return TABS_PROTOCOL + '|' + new URL(tokenUrl, document.baseURI).href + '|' + (brokerUrl || '');
  } catch {
    return null;
  }
}

async function groupLeads(name, held) {
  try {
    return (await held).some((lock) => lock.name === name);
  } catch {
    return false;
  }
}

// The group's Web Lock, asked for here as soon as the lock query found nobody leading, and handed
// to the tab group (mqtt-browser's tabs glue, `tabs_open`) when the wasm joins the group: the
// grant then comes while the wasm downloads and compiles, not after the app's first render (one
// round trip to the browser process, 9–22 ms, that was on the connect path). The request is
// queued like the tab group's own: if another tab got the lock first, this one waits for it as a
// follower would. One global, taken once by `tabs_open` (which checks the name):
//   __livechatEarlyLock = { name, abort: AbortController, release: null | () => void,
//                           onGrant: null | () => void, closed: false }
// Not taken within KEEP_MS (an app that never joins a group of that name): withdrawn or released,
// so other tabs are not left following a tab that never leads.
const EARLY_LOCK = '__livechatEarlyLock';

function lockEarly(name) {
  if (typeof navigator.locks.request !== 'function') return;
  const lock = { name, abort: new AbortController(), release: null, onGrant: null, closed: false };
  try {
    Object.defineProperty(globalThis, EARLY_LOCK, { value: lock, configurable: true });
  } catch {
    return;
  }
  navigator.locks.request(name, { signal: lock.abort.signal }, () => lock.closed ? null : new Promise((resolve) => {
    lock.release = resolve;
    if (lock.onGrant) lock.onGrant();
  })).catch(() => {});
  setTimeout(() => {
    if (globalThis[EARLY_LOCK] !== lock) return; // taken by the tab group
    delete globalThis[EARLY_LOCK];
    lock.closed = true;
    lock.abort.abort();
    if (lock.release) lock.release();
  }, KEEP_MS);
}

async function startConnect(handover, text, attribute, held) {
  let file;
  try {
    file = JSON.parse(text);
  } catch {
    return;
  }
  if (!file || typeof file !== 'object' || Array.isArray(file)) return;
  // Unset: the default; not a string (undefined): not started early.
  const configured = setting(file, attribute, 'data-token-url', ['tokenUrl', 'token_url']);
  const tokenUrl = configured === null ? '/api/mqtt-token' : configured;
  const brokerUrl = setting(file, attribute, 'data-broker-url', ['brokerUrl', 'broker_url', 'brokerWsUrl', 'broker_ws_url']);
  if (held && typeof tokenUrl === 'string' && sharesTabs(file, attribute)) {
    const name = groupName(tokenUrl, typeof brokerUrl === 'string' ? brokerUrl : '');
    if (name !== null) {
      if (await groupLeads(name, held)) return;
      lockEarly(name);
    }
  }
  // The socket first: its handshake (Mosquitto serves new WebSocket connections only between
  // waits of up to 100 ms) is the longer of the two.
  if (typeof brokerUrl === 'string' && isBrokerUrl(brokerUrl)) {
    let socket = null;
    try {
      socket = new WebSocket(brokerUrl, 'mqtt');
    } catch {
      // The driver opens its own.
    }
    if (socket) {
      socket.binaryType = 'arraybuffer';
      // A broker speaks only after CONNECT: a socket that hears anything first is not adopted.
      socket.onmessage = () => socket.close();
      handover.socket = { url: brokerUrl, socket };
    }
  }
  if (typeof tokenUrl === 'string' && isPath(tokenUrl)) {
    // Exactly the driver's request (mqtt-browser's TokenFetch::start).
    const response = fetch(tokenUrl, {
      method: 'POST',
      credentials: 'include',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: '{}',
    });
    response.catch(() => {}); // a failure is the driver's to see, not an unhandled rejection
    // The body is read (a clone's) as soon as it arrives, so it is in memory when the driver
    // reads the response: unread, it waited in the network pipe until then, and reading it took
    // several tasks on the connect path (a trace: the token body's ResourceFinish came with the
    // driver's read, 10-15 ms before CONNECT). The response itself stays unread, as the driver
    // requires.
    response.then((r) => r.clone().arrayBuffer()).catch(() => {});
    handover.token = { url: tokenUrl, response };
  }
  setTimeout(() => {
    handover.socket?.socket.close();
    delete handover.token;
    delete handover.socket;
    if (globalThis[HANDOVER] === handover) delete globalThis[HANDOVER];
  }, KEEP_MS);
}

// Resolves once the page is parsed (the mount element, if the markup has one, is there).
const parsed = () =>
  document.readyState !== 'loading'
    ? Promise.resolve()
    : new Promise((resolve) => document.addEventListener('readystatechange', resolve, { once: true }));

// The mount element's attribute reader, decided once the page is parsed: `null` = start nothing
// but the file (several mounts, or one that names its own file, are the app's to sort out; a page
// with none yet gets the file only, since the attributes that may change the endpoints are not
// there to read).
function mountAttributes() {
  const mounts = document.querySelectorAll('[data-livechat], #livechat');
  if (mounts.length !== 1 || mounts[0].getAttribute('data-config-url')?.trim()) return null;
  return (name) => mounts[0].getAttribute(name);
}

/**
 * Starts the configuration request for `configUrl` (absolute) and, once it answered and the page
 * is parsed, the token request and the WebSocket open; `attributes()` then gives the reader of
 * the mount element's attributes, or null for "start nothing more".
 */
function startEarly(configUrl, attributes, shares = true) {
  const handover = {};
  // Own, read-only and not enumerable: an element with this id or name (markup injected into the
  // page) cannot stand in for it, and only a script can take it away (the wasm does, once). If a
  // script took the name first (so it cannot be defined), nothing starts early: the wasm then
  // checks whatever that script left there like anything else, and makes its own requests.
  try {
    Object.defineProperty(globalThis, HANDOVER, { value: handover, configurable: true });
  } catch {
    return;
  }
  const response = fetch(configUrl);
  const held = shares ? heldLocks() : null;
  const ready = response.then(async (r) => {
    // A missing file counts as empty, as in the app: the attributes may be enough.
    const text = r.ok ? await r.clone().text() : r.status === 404 ? '{}' : null;
    await parsed();
    const attribute = attributes();
    if (text !== null && attribute) await startConnect(handover, text, attribute, held);
    return r;
  });
  ready.catch(() => {});
  handover.config = { url: configUrl, response: ready };
}

// Once per page: the classic <script> and boot.js's import may both run this file.
if (Object.prototype.hasOwnProperty.call(globalThis, STARTED)) return;
try {
  Object.defineProperty(globalThis, STARTED, { value: true });
} catch {
  return;
}
const script = document.currentScript;
if (script && script.src) {
  const own = script.getAttribute('data-config-url');
  const configUrl = new URL(own || 'config.json', own ? location.href : script.src).href;
  const noMount = script.hasAttribute('data-no-mount');
  startEarly(configUrl, noMount ? () => () => null : mountAttributes, !noMount);
} else if (typeof globalThis.__livechatAppBase === 'string') {
  // Imported by boot.js (a host page that embeds only boot.js): the app's own folder.
  startEarly(new URL('config.json', globalThis.__livechatAppBase).href, mountAttributes);
}
})();
