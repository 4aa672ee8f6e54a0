//! The dev stack's sign-in, offered on the signed-out screen when configuration names it.

use yew::prelude::*;

/// Props of [`DevSignIn`].
#[derive(Properties, PartialEq)]
pub struct DevSignInProps {
    /// The sign-in page (`devLogin`, e.g. `/dev/login`).
    pub action: AttrValue,
    /// The page to come back to (`next`).
    pub next: AttrValue,
}

/// A name field and a button: a plain GET form, so the browser goes to
/// `{action}?user=NAME&next={next}` and the dev stack signs in and comes back.
#[function_component(DevSignIn)]
pub fn dev_sign_in(props: &DevSignInProps) -> Html {
    html! {
        <form class="lc-dev-sign-in" method="get" action={props.action.clone()}>
            <label for="lc-dev-user">{ "Dev sign-in as" }</label>
            // The dev stack's rule for user names.
            <input id="lc-dev-user" class="lc-dev-user" name="user" type="text" required=true
                   pattern="[A-Za-z0-9_.\\-]{1,64}" maxlength="64" autocomplete="username"
                   placeholder="alice" title="Letters, digits, '_', '.' or '-' (up to 64)" />
            <input type="hidden" name="next" value={props.next.clone()} />
            <button type="submit" class="lc-button lc-sign-in">{ "Sign in" }</button>
        </form>
    }
}
