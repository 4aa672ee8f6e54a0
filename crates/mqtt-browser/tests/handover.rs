//! The driver takes over what a page's loader started (`window.__livechatHandover`, see the
//! crate's `handover` module), in headless Chromium against the dev stack.
//!
//! Same setup as `dev_stack.rs` (`LIVECHAT_TEST_HTTP`, `LIVECHAT_TEST_BROKER_WS`, read at compile
//! time). One test, because only the first driver of a page looks at the handover: it plays the
//! loader (a token request exactly as the driver makes it, and a WebSocket to the broker that
//! is already open, so its `open` event went by before the driver existed), checks that the
//! first driver connects on them without a request or socket of its own, and that a second
//! driver ignores a handover planted later. No timing is asserted.
#![cfg(target_arch = "wasm32")]

use js_sys::{Object, Promise, Reflect};
use mqtt_browser::{debug_counts, Driver, HANDOVER_GLOBAL};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{
    BinaryType, Headers, Request, RequestCredentials, RequestInit, RequestMode, Response, WebSocket,
};

wasm_bindgen_test_configure!(run_in_browser);

mod support;
use support::*;

/// Token requests the stack has answered since it started (`GET /dev/control`).
async fn token_requests() -> f64 {
    let init = RequestInit::new();
    init.set_mode(RequestMode::Cors);
    let request =
        Request::new_with_str_and_init(&format!("{}/dev/control", http()), &init).expect("request");
    let window = web_sys::window().unwrap();
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .expect("GET /dev/control")
        .unchecked_into();
    let json = JsFuture::from(response.json().unwrap()).await.unwrap();
    Reflect::get(&json, &"tokenRequests".into())
        .unwrap()
        .as_f64()
        .expect("tokenRequests")
}

/// What the app's loader (`static/early.js`) sends: the driver's own token request.
fn loader_token_request(url: &str) -> Promise {
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_credentials(RequestCredentials::Include);
    let headers = Headers::new().unwrap();
    headers.set("Content-Type", "application/json").unwrap();
    headers.set("Accept", "application/json").unwrap();
    init.set_headers(&headers);
    init.set_body(&"{}".into());
    let window = web_sys::window().unwrap();
    window.fetch_with_str_and_init(url, &init)
}

/// A WebSocket to `url` as the loader opens it, once its handshake is done.
async fn open_socket(url: &str) -> WebSocket {
    let socket = WebSocket::new_with_str(url, "mqtt").expect("socket");
    socket.set_binary_type(BinaryType::Arraybuffer);
    assert!(
        wait_for(10_000, || socket.ready_state() == WebSocket::OPEN).await,
        "the loader's socket did not open"
    );
    socket
}

fn entry(url: &str, field: &str, value: &JsValue) -> Object {
    let entry = Object::new();
    Reflect::set(&entry, &"url".into(), &url.into()).unwrap();
    Reflect::set(&entry, &field.into(), value).unwrap();
    entry
}

/// Leaves `{ token: { url, response }, socket: { url, socket } }` where the loader does.
fn plant(token_url: &str, token: &Promise, broker_url: &str, socket: &WebSocket) {
    let handover = Object::new();
    Reflect::set(
        &handover,
        &"token".into(),
        &entry(token_url, "response", token),
    )
    .unwrap();
    Reflect::set(
        &handover,
        &"socket".into(),
        &entry(broker_url, "socket", socket),
    )
    .unwrap();
    let window = web_sys::window().unwrap();
    Reflect::set(&window, &HANDOVER_GLOBAL.into(), &handover).unwrap();
}

fn planted() -> bool {
    Reflect::has(&web_sys::window().unwrap(), &HANDOVER_GLOBAL.into()).unwrap()
}

#[wasm_bindgen_test]
async fn the_first_driver_connects_on_the_loaders_token_and_open_socket_and_a_later_one_ignores_a_handover(
) {
    let _serial = Serial::acquire().await;
    token_endpoint("ok").await;
    login("browser-handover").await;
    let config = driver_config("handover-");
    let (token_url, broker_url) = (
        config.token_url.clone(),
        config.supervisor.broker_url.clone(),
    );

    // The loader: the token request in flight, the socket already open.
    let before = token_requests().await;
    let socket = open_socket(&broker_url).await;
    plant(
        &token_url,
        &loader_token_request(&token_url),
        &broker_url,
        &socket,
    );
    let sockets_before = debug_counts().sockets;

    let rec = Recorder::default();
    let first = Driver::new(config, rec.subscriber()).expect("driver starts");
    assert!(!planted(), "the first driver deleted the handover");
    assert!(
        socket.onmessage().is_some(),
        "the loader's socket carries the driver's handlers"
    );
    assert_eq!(
        debug_counts().sockets,
        sockets_before + 1,
        "no socket of its own"
    );
    assert!(
        wait_for(15_000, || rec.connected()).await,
        "state {:?}",
        rec.state()
    );
    assert_eq!(first.open_links(), 1);
    assert_eq!(
        token_requests().await - before,
        1.0,
        "one token request: the loader's"
    );
    drop(first);
    assert_eq!(
        socket.ready_state(),
        WebSocket::CLOSING,
        "dropping the driver closed the adopted socket"
    );

    // Planted after the first driver: a later driver never looks, makes its own request and
    // socket, and leaves the planted socket alone.
    let later_socket = open_socket(&broker_url).await;
    plant(
        &token_url,
        &Promise::resolve(&JsValue::from(
            Response::new_with_opt_str(Some("{}")).unwrap(),
        )),
        &broker_url,
        &later_socket,
    );
    let before = token_requests().await;
    let rec = Recorder::default();
    let second = Driver::new(driver_config("handover-"), rec.subscriber()).expect("driver starts");
    assert!(
        wait_for(15_000, || rec.connected()).await,
        "state {:?}",
        rec.state()
    );
    assert!(planted(), "the second driver did not look at the handover");
    assert!(
        later_socket.onmessage().is_none(),
        "the planted socket was not adopted"
    );
    assert_eq!(
        token_requests().await - before,
        1.0,
        "its own token request"
    );
    drop(second);
    later_socket.close().unwrap();
    Reflect::delete_property(&web_sys::window().unwrap(), &HANDOVER_GLOBAL.into()).unwrap();
    assert!(
        wait_for(5_000, || debug_counts().is_zero()).await,
        "{:?}",
        debug_counts()
    );
}
