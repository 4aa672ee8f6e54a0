//! Token requests over `fetch`: POST JSON with the page's cookies, abortable by dropping.
//!
//! The shell reads only what the supervisor's token parser needs (status, `Date`, `Retry-After`,
//! body text and when the answer arrived); interpreting it is the supervisor's job.

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, Headers, Request, RequestCredentials, RequestInit, Response, Window,
};

use crate::counters::{Counted, Kind};
use crate::error::{BrowserError, JsError};
use crate::handover::real_response;

/// An HTTP answer as plain data. Its `Debug` shows the body's length only: a token response's
/// body holds the MQTT password.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpReply {
    /// HTTP status.
    pub status: u16,
    /// The `Date` header, verbatim: the server's clock, for skew-free scheduling.
    pub date: Option<String>,
    /// The `Retry-After` header, verbatim (seconds or an HTTP date).
    pub retry_after: Option<String>,
    /// The body as text.
    pub body: String,
}

impl std::fmt::Debug for HttpReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpReply")
            .field("status", &self.status)
            .field("date", &self.date)
            .field("retry_after", &self.retry_after)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

/// One request in flight. Dropping it aborts the request and guarantees `on_done` is not called.
pub struct TokenFetch {
    controller: AbortController,
    cancelled: Rc<Cell<bool>>,
    _counted: Counted,
}

impl TokenFetch {
    /// Starts `POST url` with a JSON `body` (`{}` when `None`) and `credentials: include`, so
    /// the backend sees the site's session cookie. `on_done` runs once, with the reply or the
    /// error, unless the fetch is dropped first.
    pub fn start(
        window: &Window,
        url: &str,
        body: Option<&str>,
        on_done: impl FnOnce(Result<HttpReply, BrowserError>) + 'static,
    ) -> Result<Self, BrowserError> {
        Self::run(window, url, body, None, on_done)
    }

    /// Takes over the token request the page's loader started (`handed`, its `fetch` promise;
    /// see the `handover` module) as if this fetch had made it: its reply goes to `on_done`.
    /// When `handed` does not resolve to a real, unread response from exactly `url` (a network
    /// error included), the request is made here instead, once, exactly as [`TokenFetch::start`]
    /// makes it.
    pub fn adopt(
        window: &Window,
        url: &str,
        handed: js_sys::Promise,
        on_done: impl FnOnce(Result<HttpReply, BrowserError>) + 'static,
    ) -> Result<Self, BrowserError> {
        Self::run(window, url, None, Some(handed), on_done)
    }

    fn run(
        window: &Window,
        url: &str,
        body: Option<&str>,
        handed: Option<js_sys::Promise>,
        on_done: impl FnOnce(Result<HttpReply, BrowserError>) + 'static,
    ) -> Result<Self, BrowserError> {
        let edge = |e| BrowserError::Fetch {
            url: url.to_owned(),
            source: JsError::from(e),
        };
        let controller = AbortController::new().map_err(edge)?;
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_credentials(RequestCredentials::Include);
        init.set_signal(Some(&controller.signal()));
        let headers = Headers::new().map_err(edge)?;
        headers
            .set("Content-Type", "application/json")
            .map_err(edge)?;
        headers.set("Accept", "application/json").map_err(edge)?;
        init.set_headers(&headers);
        init.set_body(&body.unwrap_or("{}").into());
        let request = Request::new_with_str_and_init(url, &init).map_err(edge)?;
        let (window, url) = (window.clone(), url.to_owned());

        let cancelled = Rc::new(Cell::new(false));
        let seen = cancelled.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let handed = match handed {
                Some(promise) => real_response(promise, &request.url()).await,
                None => None,
            };
            let result = match handed {
                Some(response) => reply_from(response).await,
                // Dropped while the handed-over request was checked: nothing to do.
                None if seen.get() => return,
                None => match JsFuture::from(window.fetch_with_request(&request)).await {
                    Ok(response) => reply_from(response.unchecked_into()).await,
                    Err(error) => Err(JsError::from(error)),
                },
            };
            // After an abort the promise rejects with AbortError: the owner is gone, stay quiet.
            if !seen.get() {
                on_done(result.map_err(|source| BrowserError::Fetch { url, source }));
            }
        });
        Ok(Self {
            controller,
            cancelled,
            _counted: Counted::new(Kind::Fetch),
        })
    }
}

// The body as text through its stream: chunks the page holds come in microtasks, where `text()`
// waits for a browser task, at start-up behind the app's first render, its layout and effects
// (the handed-over token was read 16-35 ms after the socket opened and CONNECT waited: ARCHITECTURE
// "Connect sooner"). UTF-8, BOM dropped, as `text()` decodes.
#[wasm_bindgen(inline_js = r#"
export async function body_text(r) {
  const reader = r.body?.getReader(), utf8 = new TextDecoder();
  let text = '';
  for (let c; reader && !(c = await reader.read()).done;) text += utf8.decode(c.value, { stream: true });
  return text + utf8.decode();
}
"#)]
extern "C" {
    fn body_text(response: &Response) -> js_sys::Promise;
}

/// `response`'s body as text (UTF-8, as `Response.text()` decodes it), read through its stream:
/// a body the page already holds (one the loader fetched while the wasm loaded) is read in
/// microtasks, without waiting for a browser task behind whatever else is queued.
pub async fn response_text(response: &Response) -> Result<String, JsError> {
    Ok(JsFuture::from(body_text(response))
        .await?
        .as_string()
        .unwrap_or_default())
}

async fn reply_from(response: Response) -> Result<HttpReply, JsError> {
    let headers = response.headers();
    let header = |name: &str| headers.get(name).ok().flatten();
    let status = response.status();
    let date = header("Date");
    let retry_after = header("Retry-After");
    let body = response_text(&response).await?;
    Ok(HttpReply {
        status,
        date,
        retry_after,
        body,
    })
}

impl Drop for TokenFetch {
    fn drop(&mut self) {
        self.cancelled.set(true);
        self.controller.abort();
    }
}
