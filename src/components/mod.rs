//! The Yew components, one per file, each named after its file (and the stateless markup of
//! [`LiveChat`]'s status line and dev sign-in, as plain functions).

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
pub use message_list::{message_node_for, MessageList, MessageListProps};
pub use presence_list::{PresenceList, PresenceListProps};
pub use status_bar::status_bar;
