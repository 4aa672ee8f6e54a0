//! The driver's typed errors. JavaScript exceptions are converted here, at the edge: nothing past
//! this module carries a `JsValue`.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

// A thrown value that is not an `Error`, as text: `String(value)`, or its type when even that
// throws (an object without `toString`). Not `format!("{value:?}")`: wasm-bindgen's debug
// formatter is a 57-line function in the glue (`debugString`) and Rust's `Debug` machinery in
// the wasm, for a message that only says what was thrown (issue 15, size).
#[wasm_bindgen(inline_js = r#"
export function thrown_text(v) { try { return String(v); } catch { return typeof v; } }
"#)]
extern "C" {
    fn thrown_text(value: &JsValue) -> String;
}

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
                message: value.as_string().unwrap_or_else(|| thrown_text(value)),
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
