//! The crash screen: a panic anywhere shows a friendly error with a reload action.
//!
//! After a panic the Yew runtime is gone (the release build aborts), so the hook cannot render
//! through Yew: it logs the panic to the console, then builds the error panel with plain DOM calls
//! inside the mount element and marks the element so the stylesheet hides the dead app.

use std::sync::atomic::{AtomicBool, Ordering};

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element};

/// The attribute the app sets on its mount element; the hook finds the element by it (a panic
/// hook must be `Send + Sync`, so it cannot hold the element itself).
pub const MOUNTED_ATTRIBUTE: &str = "data-livechat-mounted";

static SHOWN: AtomicBool = AtomicBool::new(false);

/// Installs the panic hook (console logging, then the crash screen).
pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        // Only the first panic draws; a panic while drawing must not recurse.
        if !SHOWN.swap(true, Ordering::SeqCst) {
            let _ = show_crash_screen();
        }
    }));
}

/// A new `<tag class="class">` of `doc`, holding `text` if any.
pub(crate) fn element(
    doc: &Document,
    tag: &str,
    class: &str,
    text: Option<&str>,
) -> Result<Element, JsValue> {
    let el = doc.create_element(tag)?;
    // setAttribute and a text node, as Yew renders: each other DOM method would be one more
    // import of the app.
    el.set_attribute("class", class)?;
    if let Some(text) = text {
        el.append_child(&doc.create_text_node(text))?;
    }
    Ok(el)
}

fn show_crash_screen() -> Result<(), JsValue> {
    let window = web_sys::window().ok_or("no window")?;
    let doc = window.document().ok_or("no document")?;
    let mount = match doc.query_selector(&format!("[{MOUNTED_ATTRIBUTE}]"))? {
        Some(el) => el,
        None => doc.body().ok_or("no body")?.into(),
    };
    let panel = element(&doc, "section", "lc-crash", None)?;
    panel.set_attribute("role", "alert")?;
    let title = element(&doc, "h2", "lc-error-title", Some("Something went wrong"))?;
    panel.append_child(&title)?;
    let text = element(
        &doc,
        "p",
        "lc-error-message",
        Some("The chat stopped because of an internal error. Reloading usually fixes it."),
    )?;
    panel.append_child(&text)?;
    let button = element(&doc, "button", "lc-button lc-reload", Some("Reload"))?;
    button.set_attribute("type", "button")?;
    // Runs at most once (the crash screen is drawn once), and is freed after it runs.
    let reload = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = window.location().reload();
    });
    button.add_event_listener_with_callback("click", reload.unchecked_ref())?;
    panel.append_child(&button)?;
    mount.class_list().add_1("lc-crashed")?;
    mount.append_child(&panel)?;
    // A `<button>` made just above: an HtmlElement.
    let _ = button.unchecked_ref::<web_sys::HtmlElement>().focus();
    Ok(())
}
