//! The words and colour of the status line, derived from the connection state.
//!
//! The hook's state is mapped onto [`LinkState`] at the edge (the component), so these rules are
//! plain functions tested natively.

/// What the connection is doing, as far as the status line cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Not started yet.
    Idle,
    /// Asking the token endpoint for credentials.
    FetchingToken,
    /// Opening the broker link.
    Connecting,
    /// Connected to the broker.
    Connected,
    /// Connected and swapping to fresh credentials in the background.
    Rotating,
    /// Waiting before the next attempt.
    Backoff {
        /// Which attempt comes next (1-based).
        attempt: u32,
        /// Whole seconds until it, rounded up.
        retry_in_secs: u64,
    },
    /// The browser says it is offline.
    Offline,
    /// The token endpoint says nobody is signed in.
    SignedOut,
    /// The broker refused the credentials.
    AuthFailed,
    /// Stopped for good (unmounted or closed on purpose).
    Closed,
}

/// Whether the room's subscription was granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoomAccess {
    /// Not answered yet.
    Pending,
    /// Granted by the broker.
    Granted,
    /// Refused by the broker, with its reason.
    Refused(String),
}

/// The colour of the status dot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Green: connected and in the room.
    Good,
    /// Amber: working on it.
    Busy,
    /// Red: needs the user (or the site) to do something.
    Bad,
}

impl Tone {
    /// The CSS class modifier for this tone.
    pub fn class(self) -> &'static str {
        match self {
            Tone::Good => "good",
            Tone::Busy => "busy",
            Tone::Bad => "bad",
        }
    }
}

/// What the status line shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusView {
    /// Dot colour.
    pub tone: Tone,
    /// The headline, e.g. "Connected" or "Reconnecting in 4 s".
    pub text: String,
    /// Why, when the headline alone does not say it.
    pub detail: Option<String>,
    /// Whether a "Retry now" action helps.
    pub can_retry: bool,
}

impl StatusView {
    fn new(tone: Tone, text: impl Into<String>, detail: Option<String>, can_retry: bool) -> Self {
        Self {
            tone,
            text: text.into(),
            detail,
            can_retry,
        }
    }
}

/// Derives the status line from the link state, the room's access and the last reason the
/// connection layer gave (already in words).
pub fn status_view(link: &LinkState, room: &RoomAccess, reason: Option<&str>) -> StatusView {
    let reason = reason.filter(|r| !r.trim().is_empty()).map(str::to_owned);
    match link {
        LinkState::Connected | LinkState::Rotating => match room {
            RoomAccess::Refused(why) => StatusView::new(
                Tone::Bad,
                "You don't have access to this room",
                Some(why.clone()).filter(|w| !w.is_empty()),
                false,
            ),
            RoomAccess::Pending => {
                StatusView::new(Tone::Busy, "Connected, joining the room…", None, false)
            }
            RoomAccess::Granted => StatusView::new(Tone::Good, "Connected", None, false),
        },
        LinkState::Idle => StatusView::new(Tone::Busy, "Starting…", None, false),
        LinkState::FetchingToken => StatusView::new(Tone::Busy, "Signing in…", None, false),
        LinkState::Connecting => StatusView::new(Tone::Busy, "Connecting…", None, false),
        LinkState::Backoff { retry_in_secs, .. } => StatusView::new(
            Tone::Busy,
            if *retry_in_secs == 0 {
                "Reconnecting…".to_owned()
            } else {
                format!("Reconnecting in {retry_in_secs} s")
            },
            reason,
            true,
        ),
        LinkState::Offline => StatusView::new(
            Tone::Bad,
            "Offline",
            Some("Waiting for the network to come back.".to_owned()),
            true,
        ),
        LinkState::SignedOut => StatusView::new(
            Tone::Bad,
            "Signed out",
            Some("Sign in on the site, then retry.".to_owned()),
            true,
        ),
        LinkState::AuthFailed => StatusView::new(
            Tone::Bad,
            "The chat server refused the sign-in",
            reason,
            true,
        ),
        LinkState::Closed => StatusView::new(Tone::Bad, "Disconnected", reason, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connected_and_granted_says_connected_in_green() {
        let v = status_view(&LinkState::Connected, &RoomAccess::Granted, None);
        assert_eq!(
            (v.tone, v.text.as_str(), v.can_retry),
            (Tone::Good, "Connected", false)
        );
    }

    #[test]
    fn a_rotation_is_invisible_to_the_user() {
        assert_eq!(
            status_view(&LinkState::Rotating, &RoomAccess::Granted, None),
            status_view(&LinkState::Connected, &RoomAccess::Granted, None)
        );
    }

    #[test]
    fn a_refused_room_is_explained_in_words_without_a_useless_retry() {
        let v = status_view(
            &LinkState::Connected,
            &RoomAccess::Refused("not authorized".into()),
            None,
        );
        assert_eq!(v.text, "You don't have access to this room");
        assert_eq!(v.detail.as_deref(), Some("not authorized"));
        assert_eq!(v.tone, Tone::Bad);
        assert!(!v.can_retry);
    }

    #[test]
    fn backoff_counts_down_and_carries_the_reason() {
        let link = LinkState::Backoff {
            attempt: 2,
            retry_in_secs: 4,
        };
        let v = status_view(
            &link,
            &RoomAccess::Pending,
            Some("token service unavailable (503)"),
        );
        assert_eq!(v.text, "Reconnecting in 4 s");
        assert_eq!(v.detail.as_deref(), Some("token service unavailable (503)"));
        assert!(v.can_retry);
    }

    #[test]
    fn signed_out_and_offline_say_so_and_offer_retry() {
        for (link, text) in [
            (LinkState::SignedOut, "Signed out"),
            (LinkState::Offline, "Offline"),
        ] {
            let v = status_view(&link, &RoomAccess::Pending, None);
            assert_eq!(v.text, text);
            assert!(v.can_retry && v.tone == Tone::Bad);
        }
    }

    #[test]
    fn only_a_live_link_says_connected() {
        for link in [
            LinkState::Idle,
            LinkState::FetchingToken,
            LinkState::Connecting,
            LinkState::Backoff {
                attempt: 1,
                retry_in_secs: 1,
            },
            LinkState::Offline,
            LinkState::SignedOut,
            LinkState::AuthFailed,
            LinkState::Closed,
        ] {
            let v = status_view(&link, &RoomAccess::Granted, None);
            assert!(!v.text.contains("Connected"), "{link:?}: {}", v.text);
        }
    }
}
