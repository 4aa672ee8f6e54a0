//! One line saying how the connection stands, with the way forward when it is down.

use yew::prelude::*;
use yew_mqtt::ConnectionState;

use crate::hook::PresenceHandle;
use crate::page;

/// Props of [`ConnectionLine`].
#[derive(Properties, PartialEq)]
pub struct ConnectionLineProps {
    /// The presence hook's handle.
    pub presence: PresenceHandle,
}

/// The connection state in words (with its reason); a dev sign-in when signed out, a retry
/// button when stopped or waiting.
#[function_component]
pub fn ConnectionLine(props: &ConnectionLineProps) -> Html {
    let mqtt = props.presence.mqtt();
    let state = mqtt.state();
    let class = classes!("connection", state.is_up().then_some("up"));
    let line = match mqtt.user_id() {
        Some(user) if state.is_up() => format!("{} as {user}", mqtt.status()),
        _ => mqtt.status().to_string(),
    };
    let retry = matches!(
        state,
        ConnectionState::SignedOut
            | ConnectionState::AuthFailed
            | ConnectionState::Backoff { .. }
            | ConnectionState::Offline
            | ConnectionState::Closed
    )
    .then(|| {
        let mqtt = mqtt.clone();
        html! { <button onclick={move |_| mqtt.retry_now()}>{ "Retry now" }</button> }
    });
    html! {
        <>
            <p {class}>{ line }{ " " }{ retry }</p>
            if let Some(error) = mqtt.setup_error() {
                <p class="error">{ error.to_string() }</p>
            }
            if *state == ConnectionState::SignedOut {
                // The dev stack's sign-in (DEV_AUTH=1): it sets the session cookie the token
                // endpoint reads, then comes back here. A real site has its own login.
                <form class="sign-in" method="get" action="/dev/login">
                    <input name="user" placeholder="your name" required=true
                        pattern="[A-Za-z0-9_.\\-]{1,64}" aria-label="your name" />
                    <input type="hidden" name="next" value={page::path()} />
                    <button type="submit">{ "Sign in (dev stack)" }</button>
                </form>
            }
        </>
    }
}
