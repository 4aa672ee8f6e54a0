//! The message input and its Send button.

use std::rc::Rc;

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

/// The draft and why the last send failed: one state, so the composer costs one copy of Yew's
/// state hook, and each change applies to the latest state.
#[derive(Default)]
struct Draft {
    text: String,
    error: Option<String>,
}

enum DraftAction {
    /// The user typed: the new text; a send error goes.
    Typed(String),
    /// Sent: the input empties.
    Sent,
    /// Not sent, and why; the text stays.
    Refused(String),
}

impl Reducible for Draft {
    type Action = DraftAction;

    fn reduce(self: Rc<Self>, action: DraftAction) -> Rc<Self> {
        Rc::new(match action {
            DraftAction::Typed(text) => Draft { text, error: None },
            DraftAction::Sent => Draft::default(),
            DraftAction::Refused(why) => Draft {
                text: self.text.clone(),
                error: Some(why),
            },
        })
    }
}

/// The input ("Message") and the "Send" button. Enter sends, Shift+Enter starts a new line.
#[function_component(Composer)]
pub fn composer(props: &ComposerProps) -> Html {
    let draft = use_reducer(Draft::default);
    let input = super::use_kept_node_ref();

    let send = {
        let (draft, input, on_send) = (draft.clone(), input.clone(), props.on_send.clone());
        Callback::from(move |()| {
            // Read the element, not the state: the last keystroke may not have re-rendered yet.
            let text = input
                .cast::<HtmlTextAreaElement>()
                .map(|el| el.value())
                .unwrap_or_else(|| draft.text.clone());
            match on_send.emit(text) {
                Ok(()) => {
                    draft.dispatch(DraftAction::Sent);
                    if let Some(el) = input.cast::<HtmlTextAreaElement>() {
                        el.set_value("");
                        let _ = el.focus();
                    }
                }
                Err(why) => draft.dispatch(DraftAction::Refused(why)),
            }
        })
    };
    let oninput = {
        let draft = draft.dispatcher();
        Callback::from(move |e: InputEvent| {
            let el: HtmlTextAreaElement = e.target_unchecked_into();
            draft.dispatch(DraftAction::Typed(el.value()));
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

    let used = draft.text.chars().count();
    let near_limit = used * 10 >= props.max_chars * 8;
    let disabled = props.blocked.is_some();
    let hint = props
        .blocked
        .clone()
        .map(|b| b.to_string())
        .or_else(|| draft.error.clone());
    html! {
        <form class="lc-composer" {onsubmit}>
            <textarea
                ref={input}
                class="lc-input"
                aria-label="Message"
                placeholder="Write a message…"
                rows="1"
                maxlength={props.max_chars.to_string()}
                value={draft.text.clone()}
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

#[cfg(test)]
mod tests {
    use super::*;

    fn reduce(d: Draft, a: DraftAction) -> Draft {
        Rc::into_inner(Rc::new(d).reduce(a)).expect("a new state")
    }

    #[test]
    fn typing_clears_the_error_sending_empties_a_refusal_keeps_the_text() {
        let d = reduce(Draft::default(), DraftAction::Typed("hi".into()));
        assert_eq!((d.text.as_str(), d.error.as_deref()), ("hi", None));
        let d = reduce(d, DraftAction::Refused("offline".into()));
        assert_eq!(
            (d.text.as_str(), d.error.as_deref()),
            ("hi", Some("offline"))
        );
        let d = reduce(d, DraftAction::Typed("hi!".into()));
        assert_eq!((d.text.as_str(), d.error.as_deref()), ("hi!", None));
        let d = reduce(d, DraftAction::Sent);
        assert_eq!((d.text.as_str(), d.error.as_deref()), ("", None));
    }
}
