//! The driver's typed errors. JavaScript exceptions are converted here, at the edge: nothing past
//! this module carries a `JsValue`.

use wasm_bindgen::{JsCast, JsValue};

/// A JavaScript exception turned into plain data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {message}")]
pub struct JsError {
    /// The exception's `name` (`TypeError`, `SyntaxError`, `AbortError`...), or `Error` when the
    /// thrown value was not an `Error` object.
    pub name: String,
    /// The exception's `message`, or the thrown value rendered as a string.
    pub message: String,
}

impl JsError {
    /// Converts any thrown value.
    pub fn from_js(value: &JsValue) -> Self {
        match value.dyn_ref::<js_sys::Error>() {
            Some(error) => Self {
                name: String::from(error.name()),
                message: String::from(error.message()),
            },
            None => Self {
                name: "Error".to_owned(),
                message: value.as_string().unwrap_or_else(|| format!("{value:?}")),
            },
        }
    }

    /// True for the `AbortError` a fetch rejects with once its controller is aborted.
    pub fn is_abort(&self) -> bool {
        self.name == "AbortError"
    }
}

impl From<JsValue> for JsError {
    fn from(value: JsValue) -> Self {
        Self::from_js(&value)
    }
}

/// Everything that can fail in the browser shell.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrowserError {
    /// No `window` (the driver runs only on a page's main thread).
    #[error("no window: the driver needs a page's main thread")]
    NoWindow,
    /// The `WebSocket` constructor threw (bad URL, blocked port...).
    #[error("cannot open a WebSocket to {url}: {source}")]
    OpenSocket {
        /// The URL that was refused.
        url: String,
        /// Why.
        source: JsError,
    },
    /// `WebSocket.send` threw (the socket is not open).
    #[error("cannot send on the WebSocket: {0}")]
    Send(JsError),
    /// `setTimeout` threw.
    #[error("cannot arm the timer: {0}")]
    Timer(JsError),
    /// Building or sending a `fetch` request failed before any response.
    #[error("request to {url} failed: {source}")]
    Fetch {
        /// The URL requested.
        url: String,
        /// Why (a `TypeError` for network errors and CORS refusals).
        source: JsError,
    },
    /// A listener could not be added.
    #[error("cannot listen for {event}: {source}")]
    Listen {
        /// The event type.
        event: &'static str,
        /// Why.
        source: JsError,
    },
}
