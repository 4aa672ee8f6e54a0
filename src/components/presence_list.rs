//! Who is in the room: a labelled list (the signed-in user first, marked "you") with a count,
//! and joins and leaves of others said once, politely.

use yew::prelude::*;

use crate::chat::presence::PresenceView;

/// Props of [`PresenceList`].
#[derive(Properties, PartialEq)]
pub struct PresenceListProps {
    /// The room's presence.
    pub view: UseReducerHandle<PresenceView>,
}

/// The presence bar. The list itself is not a live region (a list re-rendered is not read
/// again); a visually hidden polite live line (`aria-live="polite"`, atomic) says the last
/// change ("Bob joined. 3 people here."). Not `role="status"`: the status line is the chat's one
/// status.
#[function_component(PresenceList)]
pub fn presence_list(props: &PresenceListProps) -> Html {
    let people = props.view.people();
    let count = people.len();
    html! {
        <section class="lc-presence" aria-labelledby="lc-presence-title">
            <h2 id="lc-presence-title" class="lc-presence-title">
                { "Here now" }
                <span class="lc-presence-count">{ format!(" ({count})") }</span>
            </h2>
            <ul class="lc-presence-list" aria-labelledby="lc-presence-title">
                { for people.iter().map(|p| {
                    let name = p.name.clone().unwrap_or_else(|| p.author.clone());
                    html! {
                        <li key={p.author.clone()} data-author={p.author.clone()}
                            ~className={if p.own { "lc-person lc-person-own" } else { "lc-person" }}>
                            { name }
                            if p.name.as_deref().is_some_and(|n| n != p.author) {
                                <span class="lc-person-id">{ format!(" ({})", p.author) }</span>
                            }
                            if p.own { <span class="lc-person-you">{ " (you)" }</span> }
                        </li>
                    }
                }) }
            </ul>
            <p class="lc-visually-hidden lc-presence-said" aria-live="polite" aria-atomic="true">
                { props.view.announcement().unwrap_or_default() }
            </p>
        </section>
    }
}
