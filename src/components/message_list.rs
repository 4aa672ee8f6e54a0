//! The message log: bounded, follows new messages only while the user is at the bottom.

use web_sys::Element;
use yew::prelude::*;

use crate::chat::ChatState;
use crate::components::MessageItem;

/// Distance from the bottom (px) still counted as "at the bottom".
const BOTTOM_SLACK_PX: i32 = 24;

/// Props of [`MessageList`].
#[derive(Properties)]
pub struct MessageListProps {
    /// The chat state (messages, scroll intent, unread count).
    pub chat: UseReducerHandle<ChatState>,
    /// The user scrolled; whether the list is now at its bottom.
    pub on_scroll: Callback<bool>,
}

impl PartialEq for MessageListProps {
    fn eq(&self, other: &Self) -> bool {
        // The reducer makes a new state for every change: identity is equality, and comparing
        // 500 messages per render is avoided.
        std::ptr::eq(&*self.chat, &*other.chat) && self.on_scroll == other.on_scroll
    }
}

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
#[function_component(MessageList)]
pub fn message_list(props: &MessageListProps) -> Html {
    let scroller = use_node_ref();
    let chat = &props.chat;

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
        let (on_scroll, at_bottom) = (props.on_scroll.clone(), chat.at_bottom());
        Callback::from(move |e: Event| {
            let el: Element = e.target_unchecked_into();
            let now = is_at_bottom(&el);
            if now != at_bottom {
                on_scroll.emit(now);
            }
        })
    };
    let jump = props.on_scroll.reform(|_: MouseEvent| true);

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
                        { for chat.messages().iter().map(|m| html! { <MessageItem key={m.seq} message={m.clone()} /> }) }
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
