//! What the example reads from the page it runs in.

use crate::room::Room;

/// The room named by `?room=` in the page's URL, else [`Room::DEFAULT`].
pub(crate) fn room() -> Room {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|search| web_sys::UrlSearchParams::new_with_str(&search).ok())
        .and_then(|params| params.get("room"))
        .and_then(|name| Room::parse(&name))
        .unwrap_or_default()
}

/// The page's path and query, to come back to after the dev sign-in.
pub(crate) fn path() -> String {
    web_sys::window()
        .and_then(|w| {
            let location = w.location();
            Some(location.pathname().ok()? + &location.search().ok()?)
        })
        .unwrap_or_else(|| "/".into())
}
