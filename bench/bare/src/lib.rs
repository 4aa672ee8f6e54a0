//! The bare-client bench page: our MQTT client (`mqtt-browser`'s [`Driver`]) with no UI, behind
//! the adapter the bench harness drives (contract: `bench/README.md`, "Bare client page").
//!
//! [`start`] installs `window.__livechatBench` at once (`readyAt`, `connectedAt: null`,
//! `topicTemplate`, `onMessage: null`), reads `/config.json` with the app's rules (the
//! `livechat-config` crate), builds the driver from the driver's defaults as the `use_mqtt` hook
//! does (token fetch and WebSocket open; like the app, its loader `boot.js` starts the config
//! and token requests and the WebSocket open before the wasm runs, and the driver takes them
//! over) and adds `subscribe`, `publish` and
//! `wasmMemoryBytes`. `connectedAt` is set at the first `Connected` state. Each received
//! message goes straight from the driver's event to `onMessage(topic, text)`: the topic's JS
//! string is reused while it does not change, the payload is decoded once into a JS string, and
//! nothing else is allocated on that path by this crate.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use livechat_config::Config;
use mqtt_browser::{ClientEvent, ConnectionState, DriverConfig, JsError, QoS};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Where the settings come from: the dev stack's `/config.json`, the file the app reads (the
/// page itself is served under `/bench-bare/`, so the path is absolute).
pub const CONFIG_URL: &str = "/config.json";
/// The adapter's global name.
pub const GLOBAL_NAME: &str = "__livechatBench";
/// Topics the dev stack's tokens may use; the harness fills `{name}`.
pub const TOPIC_TEMPLATE: &str = "chat/{name}/messages";
/// Client id prefix; the driver adds a random suffix per page.
pub const CLIENT_ID_PREFIX: &str = "livechat-bench-";

/// The QoS for the harness's number (0, 1 or 2), read as configuration reads it.
pub fn qos_from_number(n: f64) -> Option<QoS> {
    // The numbers whose `f64` Display is "0", "1" or "2" (not -0, which is "-0"), compared
    // bit for bit instead of formatted: `n.to_string()` linked about 6 KB of float formatting.
    let text = [(0.0f64, "0"), (1.0, "1"), (2.0, "2")]
        .into_iter()
        .find(|(q, _)| q.to_bits() == n.to_bits())?
        .1;
    livechat_config::qos_from_number(text)
}

/// The driver configuration for `config`: the driver's defaults (those of the app's hook)
/// with the configured endpoints, broker and version.
pub fn driver_config(config: &Config) -> DriverConfig {
    let mut driver = DriverConfig::new(config.broker_url.clone());
    driver.token_url.clone_from(&config.token_url);
    driver.refresh_url.clone_from(&config.refresh_url);
    driver.client_id_prefix = CLIENT_ID_PREFIX.to_owned();
    driver.supervisor.session.protocol = config.protocol;
    driver
}

/// What the driver's subscriber shares with the adapter's functions.
struct Page {
    /// `window.__livechatBench`.
    bench: Object,
    /// The property key `"onMessage"`, made once.
    on_message_key: JsValue,
    /// The last topic seen and its JS string, so a flood on one topic decodes it once.
    last_topic: RefCell<(String, JsValue)>,
    /// `subscribe` promises waiting for their SUBACK, in call order: (filter, resolve, reject).
    /// A `Vec`, not a map: a handful at most, and no B-tree code in the wasm (issue 15).
    pending: RefCell<Vec<(String, Function, Function)>>,
    connected: Cell<bool>,
    performance: Option<web_sys::Performance>,
}

impl Page {
    fn now(&self) -> f64 {
        self.performance
            .as_ref()
            .map_or_else(js_sys::Date::now, |p| p.now())
    }

    fn set(&self, key: &str, value: &JsValue) {
        // Setting a property on a plain object cannot fail.
        let _ = Reflect::set(&self.bench, &JsValue::from_str(key), value);
    }

    /// The per-message path: `onMessage(topic, text)` if the harness installed one.
    fn message(&self, topic: &str, payload: &[u8]) {
        let Ok(handler) = Reflect::get(&self.bench, &self.on_message_key) else {
            return;
        };
        let Some(handler) = handler.dyn_ref::<Function>() else {
            return;
        };
        {
            let mut last = self.last_topic.borrow_mut();
            if last.0 != topic {
                *last = (topic.to_owned(), JsValue::from_str(topic));
            }
        }
        let text = match std::str::from_utf8(payload) {
            Ok(text) => JsValue::from_str(text),
            // As TextDecoder does: invalid sequences become U+FFFD.
            Err(_) => JsValue::from_str(&String::from_utf8_lossy(payload)),
        };
        // The driver never re-enters its subscriber, so this borrow is the only one.
        let last = self.last_topic.borrow();
        if let Err(error) = handler.call2(&JsValue::UNDEFINED, &last.1, &text) {
            web_sys::console::error_2(&"bench bare client: onMessage threw".into(), &error);
        }
    }

    fn event(&self, event: &ClientEvent) {
        match event {
            ClientEvent::Message(message) => self.message(&message.topic, &message.payload),
            ClientEvent::State(status) => {
                if matches!(status.state, ConnectionState::Connected { .. })
                    && !self.connected.replace(true)
                {
                    self.set("connectedAt", &JsValue::from_f64(self.now()));
                }
                web_sys::console::log_1(&format!("bench bare client: {status}").into());
            }
            ClientEvent::Subscription { filter, result } => {
                let mut waiters = Vec::new();
                {
                    let mut pending = self.pending.borrow_mut();
                    while let Some(i) = pending.iter().position(|(f, _, _)| f == filter) {
                        waiters.push(pending.remove(i));
                    }
                }
                for (_, resolve, reject) in waiters {
                    let _ = match result {
                        Ok(qos) => resolve.call1(&JsValue::UNDEFINED, &(*qos as u8).into()),
                        Err(refusal) => reject.call1(
                            &JsValue::UNDEFINED,
                            &js_sys::Error::new(&format!(
                                "the broker refused the subscription to {filter}: {refusal}"
                            )),
                        ),
                    };
                }
            }
            _ => {}
        }
    }
}

fn rejected(message: String) -> Promise {
    Promise::reject(&js_sys::Error::new(&message))
}

/// Installs `window.__livechatBench` and starts the client (config, token, connect) in the
/// background. A failure is logged to the console and left in `__livechatBench.error`.
pub fn start() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let page = Rc::new(Page {
        bench: Object::new(),
        on_message_key: JsValue::from_str("onMessage"),
        last_topic: RefCell::new((String::new(), JsValue::from_str(""))),
        pending: RefCell::new(Vec::new()),
        connected: Cell::new(false),
        performance: window.performance(),
    });
    page.set("readyAt", &JsValue::from_f64(page.now()));
    page.set("connectedAt", &JsValue::NULL);
    page.set("topicTemplate", &JsValue::from_str(TOPIC_TEMPLATE));
    page.set("onMessage", &JsValue::NULL);
    let _ = Reflect::set(&window, &JsValue::from_str(GLOBAL_NAME), &page.bench);
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(error) = run(&window, &page).await {
            let message = format!("bench bare client: {error}");
            web_sys::console::error_1(&message.as_str().into());
            page.set("error", &JsValue::from_str(&message));
        }
    });
}

async fn fetch_config(window: &web_sys::Window) -> Result<Config, String> {
    let fail = |reason: String| format!("{CONFIG_URL} could not be used: {reason}");
    // Taken from the loader (bench/bare/boot.js, static/early.js) when it fetched it already.
    let response = match mqtt_browser::take_handed_over_response("config", CONFIG_URL).await {
        Some(response) => response,
        None => JsFuture::from(window.fetch_with_str(CONFIG_URL))
            .await
            .map_err(|e| fail(JsError::from(e).to_string()))?
            .unchecked_into(),
    };
    if !response.ok() {
        return Err(fail(format!("HTTP {}", response.status())));
    }
    let text = JsFuture::from(
        response
            .text()
            .map_err(|e| fail(JsError::from(e).to_string()))?,
    )
    .await
    .map_err(|e| fail(JsError::from(e).to_string()))?
    .as_string()
    .unwrap_or_default();
    Config::from_json(&text).map_err(fail)
}

async fn run(window: &web_sys::Window, page: &Rc<Page>) -> Result<(), String> {
    let config = fetch_config(window).await?;
    let subscriber = {
        let page = page.clone();
        Rc::new(move |event: ClientEvent, _: Rc<mqtt_browser::Snapshot>| page.event(&event))
    };
    let driver = mqtt_browser::Driver::new(driver_config(&config), subscriber)
        .map_err(|e| format!("the driver did not start: {e}"))?;
    // The page never ends the session: the driver lives as long as the adapter's functions.
    let driver = Rc::new(driver);

    let subscribe = {
        let (page, driver) = (page.clone(), driver.clone());
        Closure::<dyn Fn(JsValue, JsValue) -> Promise>::new(move |topic: JsValue, qos: JsValue| {
            let Some(topic) = topic.as_string() else {
                return rejected("subscribe: the topic must be a string".to_owned());
            };
            let Some(qos) = qos.as_f64().and_then(qos_from_number) else {
                return rejected("subscribe: qos must be 0, 1 or 2".to_owned());
            };
            let mut parts = None;
            let promise = Promise::new(&mut |resolve, reject| parts = Some((resolve, reject)));
            let Some((resolve, reject)) = parts else {
                return rejected("subscribe: no promise".to_owned());
            };
            page.pending
                .borrow_mut()
                .push((topic.clone(), resolve, reject.clone()));
            if let Err(error) = driver.subscribe(&topic, qos) {
                let mut pending = page.pending.borrow_mut();
                if let Some(i) = pending.iter().rposition(|(f, _, _)| *f == topic) {
                    pending.remove(i);
                }
                drop(pending);
                let _ = reject.call1(
                    &JsValue::UNDEFINED,
                    &js_sys::Error::new(&format!("cannot subscribe to {topic}: {error}")),
                );
            }
            promise
        })
    };
    let publish = {
        let driver = driver.clone();
        Closure::<dyn Fn(JsValue, JsValue, JsValue) -> Result<(), JsValue>>::new(
            move |topic: JsValue, text: JsValue, qos: JsValue| {
                let fail = |m: String| JsValue::from(js_sys::Error::new(&m));
                let topic = topic
                    .as_string()
                    .ok_or_else(|| fail("publish: the topic must be a string".to_owned()))?;
                let text = text
                    .as_string()
                    .ok_or_else(|| fail("publish: the text must be a string".to_owned()))?;
                let qos = qos
                    .as_f64()
                    .and_then(qos_from_number)
                    .ok_or_else(|| fail("publish: qos must be 0, 1 or 2".to_owned()))?;
                driver
                    .publish(mqtt_browser::OutgoingPublish::new(
                        topic,
                        text.into_bytes(),
                        qos,
                    ))
                    .map(drop)
                    .map_err(|e| fail(format!("publish refused: {e}")))
            },
        )
    };
    let wasm_memory_bytes = Closure::<dyn Fn() -> f64>::new(|| {
        wasm_bindgen::memory()
            .unchecked_into::<js_sys::WebAssembly::Memory>()
            .buffer()
            .unchecked_into::<js_sys::ArrayBuffer>()
            .byte_length()
            .into()
    });
    page.set("subscribe", &subscribe.into_js_value());
    page.set("publish", &publish.into_js_value());
    page.set("wasmMemoryBytes", &wasm_memory_bytes.into_js_value());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mqtt_browser::ProtocolVersion;
    use std::time::Duration;

    #[test]
    fn the_harness_qos_numbers_map_both_ways() {
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            assert_eq!(qos_from_number(f64::from(qos as u8)), Some(qos));
        }
        assert_eq!(qos_from_number(3.0), None);
        assert_eq!(qos_from_number(0.5), None);
        assert_eq!(qos_from_number(f64::NAN), None);
        assert_eq!(qos_from_number(-0.0), None, "its Display is \"-0\"");
        assert_eq!(qos_from_number(1.0 + f64::EPSILON), None);
    }

    #[test]
    fn the_dev_stacks_file_is_read_with_the_apps_rules() {
        let config = Config::from_json(
            r#"{"brokerUrl":"ws://127.0.0.1:9001/mqtt","tokenUrl":"/api/mqtt-token",
                "refreshUrl":"/api/mqtt-token/refresh","devLogin":"/dev/login"}"#,
        )
        .unwrap();
        assert_eq!(driver_config(&config).token_url, "/api/mqtt-token");
        let plain_ws = Config::from_json(r#"{"brokerUrl":"ws://broker.example/mqtt"}"#);
        assert!(plain_ws.unwrap_err().contains("brokerUrl"));
    }

    #[test]
    fn the_driver_is_configured_like_the_apps_hook() {
        let config = Config::from_json(
            r#"{"brokerUrl":"ws://127.0.0.1:9/mqtt","tokenUrl":"/tok","mqttVersion":"3.1.1"}"#,
        )
        .unwrap();
        let driver = driver_config(&config);
        assert_eq!(driver.token_url, "/tok");
        assert_eq!(driver.refresh_url, "/tok/refresh");
        assert_eq!(driver.supervisor.broker_url, "ws://127.0.0.1:9/mqtt");
        let session = &driver.supervisor.session;
        assert_eq!(session.protocol, ProtocolVersion::V311);
        assert_eq!(driver.client_id_prefix, "livechat-bench-");
        assert_eq!(session.client_id, "", "made by the driver from the prefix");
        assert_eq!(session.keep_alive, Duration::from_secs(30));
        assert_eq!(session.queue_limit, 256);
    }
}
