//! The status line: a coloured dot, words saying why when not connected, and a retry action.

use yew::prelude::*;

use crate::chat::StatusView;

/// Props of [`StatusBar`].
#[derive(Properties, PartialEq)]
pub struct StatusBarProps {
    /// What to show.
    pub view: StatusView,
    /// The user asked to retry now.
    pub on_retry: Callback<()>,
}

/// The status line. The words live in a `role="status"` region (announced politely); the retry
/// button sits outside it so it is not re-announced.
#[function_component(StatusBar)]
pub fn status_bar(props: &StatusBarProps) -> Html {
    let view = &props.view;
    let on_retry = props.on_retry.reform(|_: MouseEvent| ());
    html! {
        <div class={classes!("lc-statusbar", format!("lc-tone-{}", view.tone.class()))}>
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
