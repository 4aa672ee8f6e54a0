//! Our own status: one button per choice.

use yew::prelude::*;

use crate::board::Availability;
use crate::hook::PresenceHandle;

/// Props of [`StatusPicker`].
#[derive(Properties, PartialEq)]
pub struct StatusPickerProps {
    /// The presence hook's handle.
    pub presence: PresenceHandle,
}

/// Available / busy / away; the current one is pressed.
#[function_component]
pub fn StatusPicker(props: &StatusPickerProps) -> Html {
    let current = props.presence.status();
    html! {
        <div class="picker" role="group" aria-label="your status">
            { "You are " }
            { for Availability::ALL.into_iter().map(|status| {
                let presence = props.presence.clone();
                let pressed = (status == current).to_string();
                html! {
                    <button aria-pressed={pressed} onclick={move |_| presence.set_status(status)}>
                        <span class={classes!("dot", status.name())}></span>{ " " }{ status.name() }
                    </button>
                }
            }) }
        </div>
    }
}
