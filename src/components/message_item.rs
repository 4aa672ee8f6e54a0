//! One message: author, time, text (always as text) and, for own messages, its delivery state.
//!
//! The author shown is the one the broker verified (the author topic); a different display name
//! claimed in the payload is shown beside it, marked as a claim, and a message whose author
//! cannot be verified (the shared topic) carries an "unverified" badge.
//!
//! The live list renders this component only for messages with a delivery state (own messages
//! sent from this page); the others, which never change once listed, get the same markup from
//! `item.js` in one call (see [`crate::components::use_message_list`]): a change here goes there too.

use std::rc::Rc;

use wasm_bindgen::prelude::*;
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

#[wasm_bindgen(module = "/src/components/item.js")]
extern "C" {
    /// Epoch milliseconds as local `HH:MM` (empty for an invalid time): `item.js`'s, so the two
    /// markups show the same time, and the wasm needs no `Date` methods of its own.
    #[wasm_bindgen(js_name = lcClockTime)]
    fn clock_time(epoch_ms: f64) -> String;
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
            <span title={title.clone()}
                  ~className={format!("lc-delivery lc-delivery-{}", d.label().replace(' ', "-"))}>
                { d.label() }
                // Why, in words, where everyone sees it (not only in a tooltip): "not
                // delivered: not authorized (0x87)", "not delivered: the offline queue is full".
                if !title.is_empty() { <span class="lc-delivery-why">{ format!(": {title}") }</span> }
            </span>
        }
    });
    let claimed = m.claimed_name().map(|name| {
        html! {
            <span class="lc-claimed" title="Name given by the sender, not verified">
                <span class="lc-visually-hidden">{ "claims to be " }</span>
                { format!("“{name}”") }
            </span>
        }
    });
    let unverified = (!m.verified()).then(|| {
        html! {
            <span class="lc-unverified"
                  title="The broker cannot tell who sent this message: the name is only what the sender claims">
                { "unverified" }
            </span>
        }
    });
    html! {
        <li data-id={m.id.clone().unwrap_or_default()}
            data-author={m.author.as_deref().unwrap_or_default().to_owned()}
            data-verified={if m.verified() { "true" } else { "false" }}
            ~className={if m.own { "lc-msg lc-own" } else { "lc-msg lc-other" }}>
            <div class="lc-meta">
                <span class="lc-author">{ m.name() }</span>
                { for claimed }
                { for unverified }
                <time class="lc-time">{ clock_time(m.timestamp as f64) }</time>
                { for delivery }
            </div>
            <p class="lc-text">{ &m.text }</p>
        </li>
    }
}
