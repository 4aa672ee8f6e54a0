//! The browser side of tab sharing: one Web Lock and one `BroadcastChannel`, in a few lines of
//! JavaScript bound with `inline_js` (web-sys has `LockManager` only behind its unstable-API
//! flag, and these lines are smaller than the bindings would be). When the page's loader
//! (`static/early.js`) already asked for the group's lock, the tab adopts that request (granted
//! or still waiting) instead of asking again: the grant then came while the wasm loaded.

use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function tabs_supported() {
  return typeof BroadcastChannel === 'function' && typeof navigator === 'object'
    && !!navigator.locks && typeof navigator.locks.request === 'function';
}
// The loader's request for the group's lock (static/early.js, `lockEarly`), taken once: if it
// is for `name`, this tab adopts it instead of asking again; one for another name is let go.
function take_early_lock(name) {
  const lock = globalThis.__livechatEarlyLock;
  if (lock === undefined) return null;
  delete globalThis.__livechatEarlyLock;
  if (!lock || typeof lock !== 'object' || !(lock.abort instanceof AbortController)) return null;
  if (lock.name === name && !lock.closed) return lock;
  lock.closed = true;
  lock.abort.abort();
  if (typeof lock.release === 'function') lock.release();
  return null;
}
export function tabs_open(name, leave, onMessage, onLeader, onMark) {
  const h = { channel: new BroadcastChannel(name), abort: null, release: null, closed: false, early: null, echo: null, onMark, timers: new Map() };
  h.channel.onmessage = (e) => { if (e.data instanceof Uint8Array) onMessage(e.data); };
  // Leading: a second listener on the channel hears the batches this tab posts (a channel never
  // hears its own posts), so a batch heard means it and everything posted before it went to
  // every tab. 15 is `wire::BATCH_TAG`; only the header (`BATCH_HEADER_MAX`, 21 bytes) is read.
  const lead = (release) => {
    h.release = release;
    h.echo = new BroadcastChannel(name);
    h.echo.onmessage = (e) => {
      const d = e.data;
      if (!(d instanceof Uint8Array) || d[0] !== 15) return;
      const head = d.subarray(0, 21), key = String.fromCharCode.apply(null, head);
      clearTimeout(h.timers.get(key));
      h.timers.delete(key);
      onMark(head);
    };
    onLeader();
  };
  // The lock is held until `release` (or the page goes away): whoever waits gets it then.
  const early = take_early_lock(name);
  if (early) {
    h.abort = early.abort;
    h.early = early;
    // Granted already: the tab leads when it calls `tabs_lead` once this call has returned (not
    // in a microtask, which ran only after the app's whole first render), unless closed.
    if (typeof early.release === 'function') h.granted = () => lead(early.release);
    else early.onGrant = () => lead(early.release);
  } else {
    h.abort = new AbortController();
    navigator.locks.request(name, { signal: h.abort.signal }, () => h.closed ? null : new Promise(lead)).catch(() => {});
  }
  // A closing page says it leaves (a crashed one cannot: its filters stay subscribed).
  const bye = leave.slice(); // a copy: the argument is a view of the wasm memory
  h.hide = () => h.channel.postMessage(bye);
  addEventListener('pagehide', h.hide);
  return h;
}
export function tabs_lead(h) {
  const lead = h.granted;
  h.granted = null;
  if (lead && !h.closed) lead();
}
export function tabs_post(h, bytes) {
  h.channel.postMessage(bytes.slice());
}
// Posts a batch; should its echo not come within a second (it comes within a millisecond or
// two), it is taken as heard: held sends must not wait for ever. A batch is known by its header's
// bytes as characters (`fromCharCode`, not `join()`: turning numbers into decimal strings grows
// V8's number-to-string cache to its full 64 KiB, measured in the idle heap).
export function tabs_mark(h, bytes) {
  const batch = bytes.slice(), head = batch.slice(0, 21), key = String.fromCharCode.apply(null, head);
  h.channel.postMessage(batch);
  h.timers.set(key, setTimeout(() => { h.timers.delete(key); if (!h.closed) h.onMark(head); }, 1000));
}
export function tabs_close(h) {
  h.closed = true;
  if (h.early) h.early.closed = true;
  removeEventListener('pagehide', h.hide);
  h.channel.onmessage = null;
  h.channel.close();
  if (h.echo) { h.echo.onmessage = null; h.echo.close(); }
  h.timers.forEach(clearTimeout);
  h.abort.abort();
  const release = h.release || (h.early && h.early.release);
  if (typeof release === 'function') release();
}
"#)]
extern "C" {
    fn tabs_supported() -> bool;
    fn tabs_open(
        name: &str,
        leave: &[u8],
        on_message: &Closure<dyn FnMut(Uint8Array)>,
        on_leader: &Closure<dyn FnMut()>,
        on_mark: &Closure<dyn FnMut(Uint8Array)>,
    ) -> JsValue;
    fn tabs_lead(handle: &JsValue);
    fn tabs_post(handle: &JsValue, bytes: &[u8]);
    fn tabs_mark(handle: &JsValue, bytes: &[u8]);
    fn tabs_close(handle: &JsValue);
}

/// Whether the page has Web Locks and `BroadcastChannel`.
pub fn supported() -> bool {
    tabs_supported()
}

/// The lock request (held once granted) and the channel. Dropping it closes the channel and
/// releases the lock, or withdraws the request.
pub struct Glue {
    handle: JsValue,
    _on_message: Closure<dyn FnMut(Uint8Array)>,
    _on_leader: Closure<dyn FnMut()>,
    _on_mark: Closure<dyn FnMut(Uint8Array)>,
}

impl Glue {
    /// Opens the channel `name` and asks for the lock `name`: `on_message` gets every message
    /// of other tabs on the channel, `on_leader` runs once the lock is granted, `on_mark` gets
    /// the header of each batch this tab posted with [`Glue::mark`] once the channel carried it
    /// (or a second after, should it not). `leave` is posted when the page is hidden for good (`pagehide`).
    pub fn open(
        name: &str,
        leave: &[u8],
        on_message: impl FnMut(Vec<u8>) + 'static,
        on_leader: impl FnMut() + 'static,
        on_mark: impl FnMut(Vec<u8>) + 'static,
    ) -> Self {
        let (mut on_message, mut on_mark) = (on_message, on_mark);
        let on_message: Closure<dyn FnMut(Uint8Array)> =
            Closure::new(move |bytes: Uint8Array| on_message(bytes.to_vec()));
        let on_leader: Closure<dyn FnMut()> = Closure::new(on_leader);
        let on_mark: Closure<dyn FnMut(Uint8Array)> =
            Closure::new(move |bytes: Uint8Array| on_mark(bytes.to_vec()));
        let handle = tabs_open(name, leave, &on_message, &on_leader, &on_mark);
        Self {
            handle,
            _on_message: on_message,
            _on_leader: on_leader,
            _on_mark: on_mark,
        }
    }

    /// The handle for [`lead_if_granted`], which must be called with no borrow of the tab held.
    pub fn handle(&self) -> JsValue {
        self.handle.clone()
    }

    /// Posts `bytes` to the other tabs (copied; the channel's structured clone takes the copy).
    pub fn post(&self, bytes: &[u8]) {
        tabs_post(&self.handle, bytes);
    }

    /// Posts a batch (a leader only): its header comes back to `on_mark` once the channel
    /// carried it.
    pub fn mark(&self, bytes: &[u8]) {
        tabs_mark(&self.handle, bytes);
    }
}

impl Drop for Glue {
    fn drop(&mut self) {
        tabs_close(&self.handle);
    }
}

/// Leads now (`on_leader` runs before this returns) if the loader's lock request that the glue
/// of `handle` adopted was granted already; otherwise nothing (the grant, when it comes, leads).
pub fn lead_if_granted(handle: &JsValue) {
    tabs_lead(handle);
}
