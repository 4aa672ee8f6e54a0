//! The dev stack's sign-in, offered on the signed-out screen when configuration names it.

use yew::prelude::*;

use crate::room::DevSignIn;

/// A name field and a button: a plain GET form, so the browser goes to
/// `{action}?user=NAME&next={next}` and the dev stack signs in and comes back.
///
/// Markup of the chat's own component, not a component of its own: it has no state, and a
/// component type costs the app its own copy of Yew's component machinery.
pub fn dev_sign_in(sign_in: &DevSignIn) -> Html {
    html! {
        <form class="lc-dev-sign-in" method="get" action={sign_in.action.clone()}>
            <label for="lc-dev-user">{ "Dev sign-in as" }</label>
            // The dev stack's rule for user names.
            <input id="lc-dev-user" class="lc-dev-user" name="user" type="text" required=true
                   pattern="[A-Za-z0-9_.\\-]{1,64}" maxlength="64" autocomplete="username"
                   placeholder="alice" title="Letters, digits, '_', '.' or '-' (up to 64)" />
            <input type="hidden" name="next" value={sign_in.next.clone()} />
            <button type="submit" class="lc-button lc-sign-in">{ "Sign in" }</button>
        </form>
    }
}
