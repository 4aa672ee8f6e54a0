//! One message: author, time, text (always as text) and, for own messages, its delivery state.

use std::rc::Rc;

use yew::prelude::*;

use crate::chat::{ChatMessage, Delivery};

/// Props of [`MessageItem`].
#[derive(Properties)]
pub struct MessageItemProps {
    /// The message.
    pub message: Rc<ChatMessage>,
}

impl PartialEq for MessageItemProps {
    fn eq(&self, other: &Self) -> bool {
        // The reducer replaces a message's `Rc` whenever it changes, so identity is equality and
        // an unchanged message costs no re-render.
        Rc::ptr_eq(&self.message, &other.message)
    }
}

/// Formats epoch milliseconds as local `HH:MM`.
fn clock_time(epoch_ms: u64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(epoch_ms as f64));
    let (h, m) = (date.get_hours(), date.get_minutes());
    if date.get_time().is_nan() {
        String::new()
    } else {
        format!("{h:02}:{m:02}")
    }
}

/// One message in the list. Text is rendered as a Yew text node, never parsed as HTML.
#[function_component(MessageItem)]
pub fn message_item(props: &MessageItemProps) -> Html {
    let m = &props.message;
    let delivery = m.delivery.as_ref().map(|d| {
        let title = match d {
            Delivery::Refused(why) => why.clone(),
            _ => String::new(),
        };
        html! {
            <span class={classes!("lc-delivery", format!("lc-delivery-{}", d.label().replace(' ', "-")))}
                  title={title.clone()}>
                { d.label() }
                if !title.is_empty() { <span class="lc-visually-hidden">{ format!(": {title}") }</span> }
            </span>
        }
    });
    html! {
        <li class={classes!("lc-msg", if m.own { "lc-own" } else { "lc-other" })} data-id={m.id.clone()}>
            <div class="lc-meta">
                <span class="lc-author">{ &m.user }</span>
                <time class="lc-time">{ clock_time(m.timestamp) }</time>
                { for delivery }
            </div>
            <p class="lc-text">{ &m.text }</p>
        </li>
    }
}
