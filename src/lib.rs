//! The live chat app: the chat reducer, the room hook and the Yew components.
//!
//! The binary (`main.rs`) installs the panic logger ([`panic`]; the crash screen itself is the
//! loader's, `static/boot.js`), reads the configuration ([`boot`], rules in
//! the `livechat-config` crate) and mounts [`components::LiveChat`] (or shows
//! [`boot::show_config_error`] when the configuration is invalid). [`room::use_chat_room`] wires
//! the chat to the MQTT hook; the components are markup over its handle. Everything with rules
//! in it (the reducer, the status words, the room's topic route, configuration) is plain Rust
//! tested natively.

pub mod bench_hook;
pub mod boot;
pub mod chat;
pub mod components;
pub mod panic;
pub mod room;

use std::rc::Rc;

use components::LiveChatProps;
use livechat_config::{Config, ConfigError};

/// Starts the app: panic logging, configuration, then the chat (or the configuration error).
pub fn start() {
    panic::install();
    let Some(window) = web_sys::window() else {
        return;
    };
    let mount = match boot::mount_element(&window) {
        Ok(mount) => mount,
        Err(e) => {
            web_sys::console::error_2(&"livechat: no mount element".into(), &e);
            return;
        }
    };
    wasm_bindgen_futures::spawn_local(async move {
        let config = boot::load_config(&window, &mount).await;
        show(&window, mount, config);
    });
}

/// Mounts the chat, or shows why the configuration is invalid. Out of line and not async: in the
/// start future's state machine the same code cost the app more.
#[inline(never)]
fn show(window: &web_sys::Window, mount: web_sys::Element, config: Result<Config, ConfigError>) {
    boot::clear(&mount);
    match config {
        Ok(config) => {
            yew::Renderer::<components::LiveChat>::with_root_and_props(
                mount,
                LiveChatProps {
                    config: Rc::new(config),
                },
            )
            .render();
        }
        Err(error) => {
            web_sys::console::error_1(&format!("livechat: {error}").into());
            let _ = boot::show_config_error(window, &mount, &error);
        }
    }
}
