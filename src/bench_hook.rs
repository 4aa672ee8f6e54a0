//! The benchmark hook: inert unless the page defines `window.__livechatBench`.
//!
//! The side-by-side benchmark (`bench/`, see `bench/README.md`) defines that object before the
//! app loads and reads `rendered` to know how many flooded messages the chat has shown. A host
//! page never defines it, so in production this is one property lookup per render that changed
//! the count, and nothing is written.

use wasm_bindgen::JsValue;

const HOOK: &str = "__livechatBench";

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
