// The chat's storage across reloads (src/room/history.rs binds it): one string value per key, in
// IndexedDB (database "livechat", object store "kv"), else in localStorage when IndexedDB cannot
// be opened (some private modes), else nowhere. A handful of plain functions instead of web-sys's
// Idb* bindings: the wasm only sees five imports (see docs/ARCHITECTURE.md, "History and outbox").
// Every function answers a Promise and never throws; a failed write rejects with the error's name
// ("QuotaExceededError", ...), which the caller reports once.

let backend = null;
let kindNow = null;
let db = null;
const LS_PREFIX = 'livechat\u001f';

function openIdb() {
  return new Promise((resolve) => {
    let req;
    try {
      req = indexedDB.open('livechat', 1);
    } catch {
      resolve(null);
      return;
    }
    req.onupgradeneeded = () => req.result.createObjectStore('kv');
    req.onsuccess = () => {
      // A database of this name without our store (made by something else): not ours to use.
      if (req.result.objectStoreNames.contains('kv')) resolve(req.result);
      else { req.result.close(); resolve(null); }
    };
    req.onerror = () => resolve(null);
    req.onblocked = () => resolve(null);
  });
}

function localOk() {
  try {
    const k = `${LS_PREFIX}probe`;
    localStorage.setItem(k, '1');
    localStorage.removeItem(k);
    return true;
  } catch {
    return false;
  }
}

// Which storage is used: "indexeddb", "localstorage" or "none" (decided once per page).
export function lcStoreOpen() {
  if (!backend) {
    backend = openIdb().then((opened) => {
      db = opened;
      if (db) {
        // Another tab upgrading the database (a newer app) asks us to let go.
        db.onversionchange = () => db.close();
        kindNow = 'indexeddb';
      } else {
        kindNow = localOk() ? 'localstorage' : 'none';
      }
      return kindNow;
    });
  }
  return backend;
}

function tx(mode, work) {
  return new Promise((resolve, reject) => {
    let t;
    try {
      t = db.transaction('kv', mode);
    } catch (e) {
      reject(e?.name || String(e));
      return;
    }
    let result;
    try {
      work(t.objectStore('kv'), (r) => { result = r; });
    } catch (e) {
      try { t.abort(); } catch { /* already finished */ }
      reject(e?.name || String(e));
      return;
    }
    // Nothing more comes: commit now rather than when the requests' events have run, so a write
    // issued while the page is being left is not aborted with it.
    t.commit?.();
    t.oncomplete = () => resolve(result);
    t.onabort = () => reject(t.error?.name || 'AbortError');
    t.onerror = () => {};
  });
}

// The value under `key`, or undefined.
export async function lcStoreGet(key) {
  const kind = await lcStoreOpen();
  if (kind === 'indexeddb') {
    return tx('readonly', (s, done) => { const r = s.get(key); r.onsuccess = () => done(r.result); });
  }
  if (kind === 'localstorage') return localStorage.getItem(LS_PREFIX + key) ?? undefined;
  return undefined;
}

// Stores `value` under `key`; rejects with the error's name (e.g. "QuotaExceededError"). Once the
// storage is open the write is issued before this returns (it may be the page's last moment).
export function lcStorePut(key, value) {
  const bench = globalThis.__livechatBench;
  if (bench && typeof bench === 'object') bench.storeWrites = (bench.storeWrites || 0) + 1;
  const put = (kind) => {
    if (kind === 'indexeddb') return tx('readwrite', (s) => { s.put(value, key); });
    if (kind === 'localstorage') {
      try {
        localStorage.setItem(LS_PREFIX + key, value);
      } catch (e) {
        return Promise.reject(e?.name || String(e));
      }
    }
    return Promise.resolve();
  };
  return kindNow ? put(kindNow) : lcStoreOpen().then(put);
}

// Deletes `key` and every key that starts with `key` followed by U+001F (a user's rooms).
export async function lcStoreDelete(key) {
  const kind = await lcStoreOpen();
  const prefix = `${key}\u001f`;
  if (kind === 'indexeddb') {
    return tx('readwrite', (s) => {
      s.delete(key);
      s.delete(IDBKeyRange.bound(prefix, `${prefix}\uffff`));
    });
  }
  if (kind === 'localstorage') {
    const doomed = [];
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (k === LS_PREFIX + key || k?.startsWith(LS_PREFIX + prefix)) doomed.push(k);
    }
    for (const k of doomed) localStorage.removeItem(k);
  }
  return undefined;
}

// Calls `f` when the page is hidden or left (pagehide, visibilitychange to hidden): the last
// moment to save. Returns a function that removes the listeners.
export function lcOnHide(f) {
  const onVisibility = () => { if (document.visibilityState === 'hidden') f(); };
  addEventListener('pagehide', f);
  document.addEventListener('visibilitychange', onVisibility);
  return () => {
    removeEventListener('pagehide', f);
    document.removeEventListener('visibilitychange', onVisibility);
  };
}

// The text of a GET of `url` with the page's cookies (the host's room history, `historyUrl`);
// rejects with the status or the error's name.
export function lcFetchText(url) {
  return fetch(url, { credentials: 'include', headers: { Accept: 'application/json' } })
    .then((r) => (r.ok ? r.text() : Promise.reject(`HTTP ${r.status}`)), (e) => Promise.reject(e?.name || String(e)));
}
