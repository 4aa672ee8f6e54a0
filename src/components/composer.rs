//! The message input and its Send button.

use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

/// Props of [`Composer`].
#[derive(Properties, PartialEq)]
pub struct ComposerProps {
    /// Longest message, in characters.
    pub max_chars: usize,
    /// Sends a draft; answers `Err(why)` when it was not sent (the draft is then kept).
    pub on_send: Callback<String, Result<(), String>>,
    /// Why sending is impossible right now (e.g. the room refused us); disables the input.
    #[prop_or_default]
    pub blocked: Option<AttrValue>,
}

/// The input ("Message") and the "Send" button. Enter sends, Shift+Enter starts a new line.
#[function_component(Composer)]
pub fn composer(props: &ComposerProps) -> Html {
    let draft = use_state(String::new);
    let error = use_state(|| None::<String>);
    let input = use_node_ref();

    let send = {
        let (draft, error, input, on_send) = (
            draft.clone(),
            error.clone(),
            input.clone(),
            props.on_send.clone(),
        );
        Callback::from(move |()| {
            // Read the element, not the state: the last keystroke may not have re-rendered yet.
            let text = input
                .cast::<HtmlTextAreaElement>()
                .map(|el| el.value())
                .unwrap_or_else(|| (*draft).clone());
            match on_send.emit(text) {
                Ok(()) => {
                    draft.set(String::new());
                    error.set(None);
                    if let Some(el) = input.cast::<HtmlTextAreaElement>() {
                        el.set_value("");
                        let _ = el.focus();
                    }
                }
                Err(why) => error.set(Some(why)),
            }
        })
    };
    let oninput = {
        let (draft, error) = (draft.clone(), error.clone());
        Callback::from(move |e: InputEvent| {
            let el: HtmlTextAreaElement = e.target_unchecked_into();
            draft.set(el.value());
            if error.is_some() {
                error.set(None);
            }
        })
    };
    let onkeydown = {
        let send = send.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" && !e.shift_key() && !e.is_composing() {
                e.prevent_default();
                send.emit(());
            }
        })
    };
    let onsubmit = {
        let send = send.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            send.emit(());
        })
    };

    let used = draft.chars().count();
    let near_limit = used * 10 >= props.max_chars * 8;
    let disabled = props.blocked.is_some();
    let hint = props
        .blocked
        .clone()
        .map(|b| b.to_string())
        .or_else(|| (*error).clone());
    html! {
        <form class="lc-composer" {onsubmit}>
            <textarea
                ref={input}
                class="lc-input"
                aria-label="Message"
                placeholder="Write a message…"
                rows="1"
                maxlength={props.max_chars.to_string()}
                value={(*draft).clone()}
                {oninput}
                {onkeydown}
                {disabled}
                aria-describedby="lc-composer-hint"
            />
            <button type="submit" class="lc-button lc-send" {disabled}>{ "Send" }</button>
            <div id="lc-composer-hint" class="lc-composer-hint" aria-live="polite">
                if let Some(hint) = hint {
                    <span class="lc-hint-error">{ hint }</span>
                }
                if near_limit {
                    <span class="lc-counter">{ format!("{used}/{}", props.max_chars) }</span>
                }
            </div>
        </form>
    }
}
