//! Helpers shared by the browser test binaries: the dev stack's addresses (read at compile time),
//! sign-in, test controls, polling, and the lock that runs live tests one at a time.
#![allow(dead_code)] // each test binary uses its own subset

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use mqtt_browser::{
    ClientEvent, ConnectionState, DeliveryStatus, DriverConfig, ProtocolVersion, Reason, Snapshot,
    SubscriptionStatus,
};
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

/// A driver configuration for the stack under test: MQTT 5, a random client id starting with
/// `client_prefix`.
pub fn driver_config(client_prefix: &str) -> DriverConfig {
    let mut config = DriverConfig::new(broker());
    config.token_url = format!("{}/api/mqtt-token", http());
    config.refresh_url = format!("{}/api/mqtt-token/refresh", http());
    config.client_id_prefix = client_prefix.to_owned();
    config.supervisor.session.protocol = ProtocolVersion::V5;
    config
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

/// Everything a driver reported.
#[derive(Clone, Default)]
pub struct Recorder {
    events: Rc<RefCell<Vec<ClientEvent>>>,
    last: Rc<RefCell<Option<Rc<Snapshot>>>>,
}

impl Recorder {
    pub fn subscriber(&self) -> mqtt_browser::Subscriber {
        let me = self.clone();
        Rc::new(move |event: ClientEvent, snapshot: Rc<Snapshot>| {
            me.events.borrow_mut().push(event);
            *me.last.borrow_mut() = Some(snapshot);
        })
    }

    pub fn state(&self) -> Option<ConnectionState> {
        self.last.borrow().as_ref().map(|s| s.status.state.clone())
    }

    pub fn reason(&self) -> Option<Reason> {
        self.last
            .borrow()
            .as_ref()
            .and_then(|s| s.status.reason.clone())
    }

    pub fn connected(&self) -> bool {
        matches!(self.state(), Some(ConnectionState::Connected { .. }))
    }

    pub fn subscription(&self, filter: &str) -> Option<SubscriptionStatus> {
        self.last
            .borrow()
            .as_ref()
            .and_then(|s| s.subscriptions.get(filter).cloned())
    }

    pub fn messages(&self) -> Vec<(Vec<u8>, bool)> {
        self.events
            .borrow()
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Message(m) => Some((m.payload.clone(), m.dup)),
                _ => None,
            })
            .collect()
    }

    pub fn acknowledged(&self) -> usize {
        self.events
            .borrow()
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    ClientEvent::Delivery {
                        status: DeliveryStatus::Acknowledged,
                        ..
                    }
                )
            })
            .count()
    }

    /// Every state the driver went through, with its reason, in order (for the log).
    pub fn transitions(&self) -> Vec<String> {
        self.events
            .borrow()
            .iter()
            .filter_map(|e| match e {
                ClientEvent::State(s) => Some(s.to_string()),
                _ => None,
            })
            .collect()
    }

    /// Make-before-break rotations that completed: a `Rotating` state whose next state is
    /// `Connected` (the takeover link got its CONNACK and the old link was retired), as
    /// opposed to reconnects after the broker closed an expired link (`Backoff`/`FetchingToken`
    /// then `Connecting`).
    pub fn completed_rotations(&self) -> usize {
        let states: Vec<ConnectionState> = self
            .events
            .borrow()
            .iter()
            .filter_map(|e| match e {
                ClientEvent::State(s) => Some(s.state.clone()),
                _ => None,
            })
            .collect();
        states
            .windows(2)
            .filter(|w| {
                matches!(
                    (&w[0], &w[1]),
                    (
                        ConnectionState::Rotating { .. },
                        ConnectionState::Connected { .. }
                    )
                )
            })
            .count()
    }

    pub fn count_states(&self, f: impl Fn(&ConnectionState) -> bool) -> usize {
        self.events
            .borrow()
            .iter()
            .filter(|e| matches!(e, ClientEvent::State(s) if f(&s.state)))
            .count()
    }

    /// How often each payload arrived.
    pub fn received(&self) -> BTreeMap<Vec<u8>, u32> {
        let mut seen = BTreeMap::new();
        for e in self.events.borrow().iter() {
            if let ClientEvent::Message(m) = e {
                *seen.entry(m.payload.clone()).or_default() += 1;
            }
        }
        seen
    }
}
