//! The message log: bounded, follows new messages only while the user is at the bottom.

use std::rc::Rc;

use wasm_bindgen::prelude::*;
use web_sys::{Element, Node};
use yew::prelude::*;
use yew::virtual_dom::{Key, VList};

use crate::chat::{ChatMessage, ChatState};
use crate::components::MessageItem;

#[wasm_bindgen(module = "/src/components/item.js")]
extern "C" {
    /// The `<li>` of [`MessageItem`] for a message without a delivery state, in one call.
    #[wasm_bindgen(js_name = lcMessageItem)]
    #[allow(clippy::too_many_arguments)]
    fn message_node(
        own: bool,
        id: &str,
        author: &str,
        verified: bool,
        name: &str,
        claimed: bool,
        claimed_name: &str,
        time: f64,
        text: &str,
    ) -> Node;
}

/// The `<li>` of [`MessageItem`] for `m` (a message without a delivery state), built in one call
/// by `item.js`. Public for the browser test that holds the two markups equal
/// (`tests/message_markup.rs`).
#[doc(hidden)]
pub fn message_node_for(m: &ChatMessage) -> Node {
    let claimed = m.claimed_name();
    message_node(
        m.own,
        m.id.as_deref().unwrap_or_default(),
        m.author.as_deref().unwrap_or_default(),
        m.verified(),
        m.name(),
        claimed.is_some(),
        claimed.unwrap_or_default(),
        m.timestamp as f64,
        &m.text,
    )
}

/// The live list's items: a message that never changes once listed (no delivery state: everyone
/// else's) is a DOM node built once by [`message_node`] and kept while listed (for as long as the
/// reducer keeps the same `Rc`); an own message, whose delivery mark changes, is a
/// [`MessageItem`]. The markup is the same. A flood lists thousands of messages a second: a
/// component each (its scope, its virtual DOM, ~25 calls into JS) was most of a render.
///
/// The log is in increasing `seq` order (the reducer's render keys), and so is `cache`, built in
/// the log's order: one walk over both finds each kept node, without a hash map.
fn live_items(
    messages: &std::collections::VecDeque<Rc<ChatMessage>>,
    cache: &mut Vec<(Rc<ChatMessage>, Node)>,
) -> Html {
    let mut old = std::mem::take(cache).into_iter().peekable();
    let mut kept = Vec::with_capacity(messages.len());
    let items: Vec<Html> = messages
        .iter()
        .map(|m| {
            if m.delivery.is_some() {
                return html! { <MessageItem key={m.seq} message={m.clone()} /> };
            }
            while old.next_if(|(c, _)| c.seq < m.seq).is_some() {}
            let node = match old.next_if(|(c, _)| Rc::ptr_eq(c, m)) {
                Some((_, node)) => node,
                None => message_node_for(m),
            };
            kept.push((m.clone(), node.clone()));
            VList::with_children(vec![Html::VRef(node)], Some(Key::from(m.seq))).into()
        })
        .collect();
    *cache = kept;
    items.into_iter().collect()
}

/// Distance from the bottom (px) still counted as "at the bottom".
const BOTTOM_SLACK_PX: i32 = 24;

fn is_at_bottom(el: &Element) -> bool {
    el.scroll_height() - el.scroll_top() - el.client_height() <= BOTTOM_SLACK_PX
}

/// The scrolling conversation (a focusable group labelled "Messages"): the earlier messages
/// restored from storage, under an "Earlier messages" heading and outside any live region (so
/// restoring them is never announced), then the log of this visit (`role="log"`, polite live
/// region), and the "new messages" button.
///
/// The log announces additions only (`aria-relevant="additions"`): a new message is read once,
/// when its item is added (items are keyed, so the others are never re-inserted); the delivery
/// mark changing on an own message ("queued" → "delivered") is not read out each time.
///
/// `chat` is the chat state (messages, scroll intent, unread count); `on_scroll` is told, when
/// the user scrolled, whether the list is now at its bottom.
///
/// A hook of the chat's own component, not a component of its own: the chat re-renders the list
/// whenever its state changes anyway, and a component type costs the app its own copy of Yew's
/// component machinery.
#[hook]
pub fn use_message_list(chat: &ChatState, on_scroll: &Callback<bool>) -> Html {
    let scroller = super::use_kept_node_ref();
    let nodes = use_mut_ref(Vec::new);

    // After every render that changed the list: follow the end if the user is there.
    {
        let scroller = scroller.clone();
        let last = chat
            .messages()
            .back()
            .or(chat.earlier().back())
            .map(|m| m.seq);
        use_effect_with((last, chat.at_bottom()), move |(_, at_bottom)| {
            if *at_bottom {
                if let Some(el) = scroller.cast::<Element>() {
                    el.set_scroll_top(el.scroll_height());
                }
            }
        });
    }

    let onscroll = {
        let (on_scroll, at_bottom) = (on_scroll.clone(), chat.at_bottom());
        Callback::from(move |e: Event| {
            let el: Element = e.target_unchecked_into();
            let now = is_at_bottom(&el);
            if now != at_bottom {
                on_scroll.emit(now);
            }
        })
    };
    let jump = on_scroll.reform(|_: MouseEvent| true);

    html! {
        <div class="lc-list-wrap">
            <div ref={scroller} class="lc-list" role="group" aria-label="Messages"
                 tabindex="0" {onscroll}>
                if !chat.earlier().is_empty() {
                    <section class="lc-earlier" aria-labelledby="lc-earlier-title">
                        <h2 id="lc-earlier-title" class="lc-earlier-title">{ "Earlier messages" }</h2>
                        <ol class="lc-messages">
                            { for chat.earlier().iter().map(|m| html! { <MessageItem key={m.seq} message={m.clone()} /> }) }
                        </ol>
                    </section>
                }
                <div class="lc-live" role="log" aria-live="polite" aria-relevant="additions"
                     aria-label="New messages">
                    if chat.is_empty() {
                        <p class="lc-empty">{ "No messages yet. Say hello!" }</p>
                    }
                    <ol class="lc-messages">
                        { live_items(&chat.messages(), &mut nodes.borrow_mut()) }
                    </ol>
                </div>
            </div>
            if chat.skipped() > 0 {
                <p class="lc-skipped">
                    { format!("{} unreadable or oversized message(s) skipped", chat.skipped()) }
                </p>
            }
            if !chat.at_bottom() && chat.unread() > 0 {
                <button type="button" class="lc-button lc-new-messages" onclick={jump}>
                    { format!("{} new message{} ↓", chat.unread(), if chat.unread() == 1 { "" } else { "s" }) }
                </button>
            }
        </div>
    }
}
