//! The status line: a coloured dot, words saying why when not connected, and a retry action.

use yew::prelude::*;

use crate::chat::StatusView;

/// The status line. The words live in a `role="status"` region (announced politely); the retry
/// button (calling `on_retry`) sits outside it so it is not re-announced.
///
/// Markup of the chat's own component, not a component of its own: it has no state, and a
/// component type costs the app its own copy of Yew's component machinery.
pub fn status_bar(view: &StatusView, on_retry: &Callback<()>) -> Html {
    let on_retry = on_retry.reform(|_: MouseEvent| ());
    html! {
        <div ~className={format!("lc-statusbar lc-tone-{}", view.tone.class())}>
            <span class="lc-dot" aria-hidden="true"></span>
            <div class="lc-status" role="status">
                <span class="lc-status-text">{ &view.text }</span>
                if let Some(detail) = &view.detail {
                    <span class="lc-status-detail">{ detail }</span>
                }
            </div>
            if view.can_retry {
                <button type="button" class="lc-button lc-retry" onclick={on_retry}>{ "Retry now" }</button>
            }
        </div>
    }
}
