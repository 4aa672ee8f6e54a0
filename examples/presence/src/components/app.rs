//! The page: the room's board, our status, the connection.

use yew::prelude::*;

use super::{ConnectionLine, MemberList, StatusPicker};
use crate::hook::use_presence;
use crate::page;

/// The whole presence page for the room named by `?room=`.
#[function_component]
pub fn App() -> Html {
    let room = use_memo((), |()| page::room());
    let presence = use_presence((*room).clone());
    html! {
        <main>
            <h1>{ format!("Who is in {}", room.name()) }</h1>
            <ConnectionLine presence={presence.clone()} />
            if presence.mqtt().state().is_up() {
                <StatusPicker presence={presence.clone()} />
            }
            <MemberList {presence} />
        </main>
    }
}
