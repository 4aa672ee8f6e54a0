//! The board: everyone heard from lately.

use yew::prelude::*;

use crate::hook::PresenceHandle;

/// Props of [`MemberList`].
#[derive(Properties, PartialEq)]
pub struct MemberListProps {
    /// The presence hook's handle.
    pub presence: PresenceHandle,
}

/// One row per member: status, name, how long since their last beat.
#[function_component]
pub fn MemberList(props: &MemberListProps) -> Html {
    let board = props.presence.board();
    let me = props.presence.mqtt().user_id();
    if board.is_empty() {
        return html! { <p class="empty">{ "Nobody here yet." }</p> };
    }
    html! {
        <ul class="members">
            { for board.members().map(|member| html! {
                <li key={member.name.clone()}>
                    <span class={classes!("dot", member.status.name())}></span>
                    <span class="name">{ &member.name }</span>
                    if me == Some(member.name.as_str()) { <span>{ "(you)" }</span> }
                    <span>{ member.status.name() }</span>
                    <span class="seen">{ format!("{} s ago", board.seen_secs_ago(member)) }</span>
                </li>
            }) }
        </ul>
    }
}
