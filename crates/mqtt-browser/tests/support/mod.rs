//! Helpers shared by the browser test binaries: the dev stack's addresses (read at compile time),
//! sign-in, test controls, polling, and the lock that runs live tests one at a time.
#![allow(dead_code)] // each test binary uses its own subset

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestCredentials, RequestInit, RequestMode, Response};

/// A test run without the stack's address fails loudly rather than passing vacuously.
pub fn http() -> &'static str {
    match option_env!("LIVECHAT_TEST_HTTP") {
        Some(url) => url,
        None => panic!(
            "LIVECHAT_TEST_HTTP must be set when the tests are compiled (scripts/test.sh does)"
        ),
    }
}

pub fn broker() -> String {
    let ws = match option_env!("LIVECHAT_TEST_BROKER_WS") {
        Some(url) => url,
        None => panic!(
            "LIVECHAT_TEST_BROKER_WS must be set when the tests are compiled (scripts/test.sh does)"
        ),
    };
    format!("{ws}/mqtt")
}

pub async fn sleep(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

thread_local! {
    static BUSY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// wasm-bindgen-test runs async tests concurrently, but the stack's controls (token endpoint
/// mode, TTL, broker restart) and the leak counters are global: each test holds this for its
/// whole run. (A panicking test never releases it; the others then fail by timeout.)
pub struct Serial;

impl Serial {
    pub async fn acquire() -> Self {
        while BUSY.with(|b| b.replace(true)) {
            sleep(25).await;
        }
        Serial
    }
}

impl Drop for Serial {
    fn drop(&mut self) {
        BUSY.with(|b| b.set(false));
    }
}

/// Polls `done` every 20 ms for up to `ms`; true if it became true.
pub async fn wait_for(ms: u32, mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..ms / 20 {
        if done() {
            return true;
        }
        sleep(20).await;
    }
    done()
}

pub async fn fetch(method: &str, url: &str, body: Option<&str>, mode: RequestMode) -> u16 {
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::Include);
    init.set_mode(mode);
    if let Some(body) = body {
        let headers = web_sys::Headers::new().unwrap();
        headers.set("Content-Type", "application/json").unwrap();
        init.set_headers(&headers);
        init.set_body(&body.into());
    }
    let request = Request::new_with_str_and_init(url, &init).unwrap();
    let window = web_sys::window().unwrap();
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .unwrap_or_else(|e| panic!("{method} {url} failed: {e:?}"))
        .unchecked_into();
    response.status()
}

/// Signs in as `user`: the stack sets its session cookie (no-cors: only the cookie matters).
pub async fn login(user: &str) {
    let _ = fetch(
        "GET",
        &format!("{}/dev/login?user={user}", http()),
        None,
        RequestMode::NoCors,
    )
    .await;
}

pub async fn control(path: &str, body: &str) {
    let status = fetch(
        "POST",
        &format!("{}/dev/control/{path}", http()),
        Some(body),
        RequestMode::Cors,
    )
    .await;
    assert_eq!(status, 200, "POST /dev/control/{path} {body}");
}

pub async fn token_endpoint(mode: &str) {
    control("token-endpoint", &format!(r#"{{"mode":"{mode}"}}"#)).await;
}
