//! The chat panel: status line, notices, message log and composer, over [`use_chat_room`].

use std::rc::Rc;

use livechat_config::Config;
use yew::prelude::*;

use crate::components::{dev_sign_in, status_bar, use_message_list, Composer, PresenceList};
use crate::room::use_chat_room;

/// Props of [`LiveChat`].
#[derive(Properties, PartialEq)]
pub struct LiveChatProps {
    /// The validated runtime configuration.
    pub config: Rc<Config>,
}

/// The whole chat for one room.
#[function_component(LiveChat)]
pub fn live_chat(props: &LiveChatProps) -> Html {
    let room = use_chat_room(props.config.clone());
    let list = use_message_list(room.chat(), &room.on_scroll());
    html! {
        <div class="lc-chat">
            { status_bar(room.status(), &room.on_retry()) }
            if let Some(sign_in) = room.dev_sign_in() {
                { dev_sign_in(sign_in) }
            }
            if let Some(presence) = room.presence() {
                <PresenceList view={presence.clone()} />
            }
            if let Some(notice) = room.notice() {
                <p class="lc-notice" role="note">{ notice }</p>
            }
            { list }
            <Composer max_chars={room.max_message_length()} on_send={room.on_send()}
                      blocked={room.blocked().cloned()} />
        </div>
    }
}
