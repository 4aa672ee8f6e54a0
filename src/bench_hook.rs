//! The benchmark hook: inert unless the page defines `window.__livechatBench`.
//!
//! The side-by-side benchmark (`bench/`, see `bench/README.md`) defines that object before the
//! app loads and reads `rendered` to know how many flooded messages the chat has shown. A host
//! page never defines it, so in production this is one property lookup per render that changed
//! the count (and one per batch of received messages, below), and nothing is written.
//!
//! The fault tests (`e2e/faults*.test.mjs`) also read `publishesReceived` and
//! `dupPublishesReceived`: the PUBLISH packets the MQTT session received and those with the DUP
//! flag (a broker's redelivery), counted before the chat's duplicate detection hides them, and
//! `repeatedAfterLoss`: own messages published again after a lost link.

use wasm_bindgen::JsValue;

const HOOK: &str = "__livechatBench";

/// The hook object, when the page defined one.
fn hook() -> Option<JsValue> {
    let window = web_sys::window()?;
    let hook = js_sys::Reflect::get(&window, &JsValue::from_str(HOOK)).ok()?;
    hook.is_object().then_some(hook)
}

/// Sets `publishesReceived` and `dupPublishesReceived` on the hook object, if there is one,
/// from the MQTT driver's totals for this page. Called once per batch of room messages
/// ([`crate::room::BatchedInbox`]), so the totals are current within its window.
pub fn report_received() {
    let Some(hook) = hook() else {
        return;
    };
    let traffic = mqtt_browser::debug_traffic();
    for (key, value) in [
        ("publishesReceived", traffic.publishes_received),
        ("dupPublishesReceived", traffic.dup_publishes_received),
    ] {
        let _ = js_sys::Reflect::set(
            &hook,
            &JsValue::from_str(key),
            &JsValue::from_f64(value as f64),
        );
    }
}

/// Sets `window.__livechatBench.rendered = count` when the benchmark hook object exists.
pub fn report_rendered(count: u64) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Ok(hook) = js_sys::Reflect::get(&window, &JsValue::from_str(HOOK)) else {
        return;
    };
    if hook.is_object() {
        // A failure here (a frozen object) only affects the benchmark's count.
        let _ = js_sys::Reflect::set(
            &hook,
            &JsValue::from_str("rendered"),
            &JsValue::from_f64(count as f64),
        );
    }
}

/// Adds `count` to `repeatedAfterLoss` on the hook object, if there is one: own messages
/// published again after a lost link ([`crate::chat::acked`]); the fault tests print it.
pub fn report_repeated(count: usize) {
    let Some(hook) = hook() else {
        return;
    };
    let key = JsValue::from_str("repeatedAfterLoss");
    let before = js_sys::Reflect::get(&hook, &key)
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0);
    let _ = js_sys::Reflect::set(&hook, &key, &JsValue::from_f64(before + count as f64));
}
