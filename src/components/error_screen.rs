//! A full-panel error: invalid configuration (naming the bad setting) or a fatal problem.

use yew::prelude::*;

/// Props of [`ErrorScreen`].
#[derive(Properties, PartialEq)]
pub struct ErrorScreenProps {
    /// Headline.
    pub title: AttrValue,
    /// What went wrong, in words.
    pub message: AttrValue,
    /// The setting at fault, if any (e.g. "brokerUrl (data-broker-url)").
    #[prop_or_default]
    pub setting: Option<AttrValue>,
    /// Offer a reload button that calls this.
    #[prop_or_default]
    pub on_reload: Option<Callback<()>>,
}

/// The error panel.
#[function_component(ErrorScreen)]
pub fn error_screen(props: &ErrorScreenProps) -> Html {
    html! {
        <section class="lc-error" role="alert">
            <h2 class="lc-error-title">{ &props.title }</h2>
            if let Some(setting) = &props.setting {
                <p class="lc-error-setting">{ "Setting: " }<code>{ setting }</code></p>
            }
            <p class="lc-error-message">{ &props.message }</p>
            if let Some(on_reload) = &props.on_reload {
                <button type="button" class="lc-button" onclick={on_reload.reform(|_: MouseEvent| ())}>
                    { "Reload" }
                </button>
            }
        </section>
    }
}
