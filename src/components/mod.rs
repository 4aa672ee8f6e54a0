//! The Yew components, one per file, each named after its file (and the stateless markup of
//! [`LiveChat`]'s status line and dev sign-in, as plain functions, and its message list, as a
//! hook).
//!
//! A class computed at render time is set as the `className` property (`~className={..}`), never
//! as `class={..}`: Yew builds a computed `class` through `Classes`, an `IndexSet`, and that
//! machinery was ~2.8 KB (brotli) of the app. The attribute in the DOM is the same; a literal
//! `class="..."` stays static and costs nothing.

mod composer;
mod dev_sign_in;
mod live_chat;
mod message_item;
mod message_list;
mod presence_list;
mod status_bar;

pub use composer::{Composer, ComposerProps};
pub use dev_sign_in::dev_sign_in;
pub use live_chat::{LiveChat, LiveChatProps};
pub use message_item::{MessageItem, MessageItemProps};
pub use message_list::{message_node_for, use_message_list};
pub use presence_list::{PresenceList, PresenceListProps};
pub use status_bar::status_bar;

use yew::prelude::*;

/// A [`NodeRef`] kept across renders: [`use_node_ref`] without its copy of Yew's state hook (it
/// keeps the ref in a `use_state`, whose machinery per type cost the app more than a
/// `use_mut_ref`).
#[hook]
fn use_kept_node_ref() -> NodeRef {
    use_mut_ref(NodeRef::default).borrow().clone()
}
