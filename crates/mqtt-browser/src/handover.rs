//! What the page's loader started before the wasm ran, taken over once (issue 15, "connect
//! sooner").
//!
//! A loader (the app's `static/early.js`) may start the configuration request, the token
//! request and the WebSocket open while the wasm downloads and compiles, and leave them in one
//! global, [`HANDOVER_GLOBAL`]:
//!
//! ```text
//! { config: { url, response: Promise<Response> },   // taken with take_handed_over_response
//!   token:  { url, response: Promise<Response> },   // taken by the first Driver's first FetchToken
//!   socket: { url, socket: WebSocket } }            // taken by the first Driver's first OpenLink
//! ```
//!
//! Nothing is trusted for being there: a response is used only if it is a real `Response` from
//! exactly the URL the wasm would have fetched (a `Response` made by a script has no URL), whose
//! body nobody read; a socket only if it is a `WebSocket` to exactly the broker URL the
//! supervisor asks for, still connecting or open. Anything else is dropped and the normal path
//! runs (one request of its own). Only the first driver of the page looks at the global, and it
//! deletes it: every later connect, and every later driver, fetches and opens its own.

use std::cell::Cell;

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, Response, WebSocket, Window};

/// The global the loader leaves its handover in (`window.__livechatHandover`).
pub const HANDOVER_GLOBAL: &str = "__livechatHandover";

thread_local! {
    /// Set once the first driver looked at the handover: no later driver looks again.
    static DRIVER_TOOK: Cell<bool> = const { Cell::new(false) };
}

/// The handover object, if the loader left one (a plain object, not whatever an element with
/// that id or name would make the global).
fn handover(window: &Window) -> Option<Object> {
    let value = Reflect::get(window, &HANDOVER_GLOBAL.into()).ok()?;
    value
        .is_object()
        .then(|| value.unchecked_into::<Object>())
        .filter(|o| Object::get_prototype_of(o) == Object::get_prototype_of(&Object::new()))
}

/// Takes `key`'s entry off the handover: its `url` (a string) and its `field`.
fn take_entry(handover: &Object, key: &str, field: &str) -> Option<(String, JsValue)> {
    let key = JsValue::from_str(key);
    let entry = Reflect::get(handover, &key).ok()?;
    // Taken whatever it holds: nothing looks at it twice.
    let _ = Reflect::delete_property(handover, &key);
    if !entry.is_object() {
        return None;
    }
    let url = Reflect::get(&entry, &"url".into()).ok()?.as_string()?;
    let value = Reflect::get(&entry, &field.into()).ok()?;
    Some((url, value))
}

/// `url` resolved against the page, as `fetch` resolves it (`None` if it cannot be).
pub(crate) fn absolute_url(url: &str) -> Option<String> {
    Request::new_with_str(url).ok().map(|request| request.url())
}

/// The response `promise` resolves to, if it is a real, unread response from exactly `absolute`
/// (no redirect); `None` for a rejection or anything else.
pub(crate) async fn real_response(promise: Promise, absolute: &str) -> Option<Response> {
    let response = JsFuture::from(promise)
        .await
        .ok()?
        .dyn_into::<Response>()
        .ok()?;
    (response.url() == absolute && !response.redirected() && !response.body_used())
        .then_some(response)
}

/// Takes the response the loader fetched for `url` under `key` (the app: `"config"`), once.
///
/// `None` when there is none, or it is not a real, unread response from exactly `url` resolved
/// against the page (a network error included): then fetch it yourself, exactly as without a
/// loader. The entry is removed either way, so a second call (or a script later) finds nothing.
pub async fn take_handed_over_response(key: &str, url: &str) -> Option<Response> {
    let window = web_sys::window()?;
    let (entry_url, value) = take_entry(&handover(&window)?, key, "response")?;
    let absolute = absolute_url(url)?;
    if entry_url != absolute {
        return None;
    }
    real_response(value.dyn_into::<Promise>().ok()?, &absolute).await
}

/// What the first driver took: the token request's promise and the socket, each for the URL the
/// loader used. Dropping it closes a socket nobody adopted.
#[derive(Default)]
pub(crate) struct Handover {
    token: Option<(String, Promise)>,
    socket: Option<(String, WebSocket)>,
}

impl Handover {
    /// The handover, for the first driver of the page only; it deletes the global.
    pub(crate) fn take_for_first_driver(window: &Window) -> Self {
        if DRIVER_TOOK.with(|took| took.replace(true)) {
            return Self::default();
        }
        let Some(handover) = handover(window) else {
            return Self::default();
        };
        let token = take_entry(&handover, "token", "response")
            .and_then(|(url, value)| Some((url, value.dyn_into::<Promise>().ok()?)));
        let socket = take_entry(&handover, "socket", "socket")
            .and_then(|(url, value)| Some((url, value.dyn_into::<WebSocket>().ok()?)));
        let _ = Reflect::delete_property(window, &HANDOVER_GLOBAL.into());
        Self { token, socket }
    }

    /// The loader's token request, if it went to `token_url` (as configured, before resolving).
    /// Taken at the first call, whatever it holds.
    pub(crate) fn token_for(&mut self, token_url: &str) -> Option<Promise> {
        let (url, promise) = self.token.take()?;
        (url == token_url).then_some(promise)
    }

    /// The loader's socket, if it goes to exactly `broker_url` and is still connecting or open.
    /// Taken at the first call; one that does not fit is closed.
    pub(crate) fn socket_for(&mut self, broker_url: &str) -> Option<WebSocket> {
        let (url, socket) = self.socket.take()?;
        let fits = url == broker_url
            && web_sys::Url::new(broker_url).is_ok_and(|u| u.href() == socket.url())
            && matches!(
                socket.ready_state(),
                WebSocket::CONNECTING | WebSocket::OPEN
            );
        if fits {
            Some(socket)
        } else {
            let _ = socket.close();
            None
        }
    }
}

impl Drop for Handover {
    fn drop(&mut self) {
        if let Some((_, socket)) = self.socket.take() {
            // `close` only throws for an invalid code or reason.
            let _ = socket.close();
        }
    }
}
