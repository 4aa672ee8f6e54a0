//! The configuration error panel in a real browser: the markup the `ErrorScreen` component drew
//! before it became plain DOM calls (`boot::show_config_error`), byte for byte.
#![cfg(target_arch = "wasm32")]

use livechat::boot::show_config_error;
use livechat_config::{ConfigError, Setting};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn panel_for(error: &ConfigError) -> String {
    let window = web_sys::window().expect("a window");
    let doc = window.document().expect("a document");
    let mount = doc.create_element("div").expect("a div");
    show_config_error(&window, &mount, error).expect("the panel is drawn");
    mount.inner_html()
}

#[wasm_bindgen_test]
fn an_invalid_setting_is_named() {
    let error = ConfigError::Invalid {
        setting: Setting::Room,
        value: "a/b".into(),
        reason: "not a topic level".into(),
    };
    assert_eq!(
        panel_for(&error),
        format!(
            "<section class=\"lc-error\" role=\"alert\">\
             <h2 class=\"lc-error-title\">The chat is not configured correctly</h2>\
             <p class=\"lc-error-setting\">Setting: <code>{}</code></p>\
             <p class=\"lc-error-message\">{}</p></section>",
            Setting::Room,
            error
        )
    );
}

#[wasm_bindgen_test]
fn an_error_without_a_setting_has_no_setting_line() {
    let error = ConfigError::AmbiguousMount(2);
    assert_eq!(
        panel_for(&error),
        format!(
            "<section class=\"lc-error\" role=\"alert\">\
             <h2 class=\"lc-error-title\">The chat is not configured correctly</h2>\
             <p class=\"lc-error-message\">{error}</p></section>"
        )
    );
}
