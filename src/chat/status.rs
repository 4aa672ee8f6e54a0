//! The words and colour of the status line, derived from the hook's connection state, the room
//! subscription's status and the time left before the next attempt (for the countdown). Plain
//! functions over the hook's own types, tested natively.

use std::time::Duration;

use yew_mqtt::{ConnectionState, SubscriptionStatus};

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

/// Whole seconds in `wait`, rounded up (the countdown shows 1 s until the attempt is due).
pub fn whole_seconds_up(wait: Duration) -> u64 {
    u64::try_from(wait.as_millis().div_ceil(1000)).unwrap_or(u64::MAX)
}

/// The status when the client could not start at all (no page to run in, or subscriptions the
/// client refused): said in words, in red, instead of "Starting…" forever.
pub fn setup_failed(error: &str) -> StatusView {
    StatusView::new(
        Tone::Bad,
        "The chat could not start",
        Some(error.to_owned()).filter(|e| !e.trim().is_empty()),
        false,
    )
}

/// Derives the status line from the connection state, the room subscription's status (`None`:
/// not asked yet), the last reason the connection layer gave (already in words) and, while
/// backing off, the time until the next attempt (the hook's `retry_in()`).
pub fn status_view(
    state: &ConnectionState,
    room: Option<&SubscriptionStatus>,
    reason: Option<&str>,
    retry_in: Option<Duration>,
) -> StatusView {
    let reason = reason.filter(|r| !r.trim().is_empty()).map(str::to_owned);
    match state {
        ConnectionState::Connected { .. } | ConnectionState::Rotating { .. } => match room {
            Some(SubscriptionStatus::Refused(why)) => StatusView::new(
                Tone::Bad,
                "You don't have access to this room",
                Some(why.to_string()).filter(|w| !w.is_empty()),
                false,
            ),
            None | Some(SubscriptionStatus::Pending) => {
                StatusView::new(Tone::Busy, "Connected, joining the room…", None, false)
            }
            Some(SubscriptionStatus::Granted(_)) => {
                StatusView::new(Tone::Good, "Connected", None, false)
            }
        },
        ConnectionState::Idle => StatusView::new(Tone::Busy, "Starting…", None, false),
        // While trying again, what went wrong last stays in words: a token endpoint that hangs
        // keeps the page in "Signing in…" for its whole timeout, and the reason would otherwise
        // show only during the second of backoff between two attempts.
        ConnectionState::FetchingToken => StatusView::new(Tone::Busy, "Signing in…", reason, false),
        ConnectionState::Connecting => StatusView::new(Tone::Busy, "Connecting…", reason, false),
        ConnectionState::Backoff { .. } => StatusView::new(
            Tone::Busy,
            match retry_in.map(whole_seconds_up) {
                None | Some(0) => "Reconnecting…".to_owned(),
                Some(secs) => format!("Reconnecting in {secs} s"),
            },
            reason,
            true,
        ),
        ConnectionState::Offline => StatusView::new(
            Tone::Bad,
            "Offline",
            Some("Waiting for the network to come back.".to_owned()),
            true,
        ),
        ConnectionState::SignedOut => StatusView::new(
            Tone::Bad,
            "Signed out",
            Some("Sign in on the site, then retry.".to_owned()),
            true,
        ),
        ConnectionState::AuthFailed => StatusView::new(
            Tone::Bad,
            "The chat server refused the sign-in",
            reason,
            true,
        ),
        ConnectionState::Closed => StatusView::new(Tone::Bad, "Disconnected", reason, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_that_could_not_start_says_so_in_red() {
        let v = setup_failed("the MQTT client could not start: no window");
        assert_eq!(v.tone, Tone::Bad);
        assert_eq!(v.text, "The chat could not start");
        assert_eq!(
            v.detail.as_deref(),
            Some("the MQTT client could not start: no window")
        );
    }
    use mqtt_lifecycle::{Instant, Refusal, RefusalReason};
    use yew_mqtt::QoS;

    const GRANTED: Option<&SubscriptionStatus> =
        Some(&SubscriptionStatus::Granted(QoS::AtLeastOnce));
    const PENDING: Option<&SubscriptionStatus> = Some(&SubscriptionStatus::Pending);

    fn connected() -> ConnectionState {
        ConnectionState::Connected {
            since: Instant::from_millis(0),
            session_present: false,
        }
    }

    fn backoff() -> ConnectionState {
        ConnectionState::Backoff {
            attempt: 2,
            retry_at: Instant::from_millis(10_000),
        }
    }

    #[test]
    fn connected_and_granted_says_connected_in_green() {
        let v = status_view(&connected(), GRANTED, None, None);
        assert_eq!(
            (v.tone, v.text.as_str(), v.can_retry),
            (Tone::Good, "Connected", false)
        );
    }

    #[test]
    fn a_rotation_is_invisible_to_the_user() {
        let rotating = ConnectionState::Rotating {
            since: Instant::from_millis(0),
        };
        assert_eq!(
            status_view(&rotating, GRANTED, None, None),
            status_view(&connected(), GRANTED, None, None)
        );
    }

    #[test]
    fn a_refused_room_is_explained_in_words_without_a_useless_retry() {
        let refusal = Refusal {
            reason: RefusalReason::Subscribe(mqtt_codec::SubscribeReason::NotAuthorized),
            code: 0x87,
            reason_string: None,
        };
        let refused = SubscriptionStatus::Refused(refusal.clone());
        let v = status_view(&connected(), Some(&refused), None, None);
        assert_eq!(v.text, "You don't have access to this room");
        assert_eq!(v.detail, Some(refusal.to_string()));
        assert_eq!(v.tone, Tone::Bad);
        assert!(!v.can_retry);
    }

    #[test]
    fn backoff_counts_down_and_carries_the_reason() {
        let v = status_view(
            &backoff(),
            PENDING,
            Some("token service unavailable (503)"),
            Some(Duration::from_millis(3_500)),
        );
        assert_eq!(v.text, "Reconnecting in 4 s");
        assert_eq!(v.detail.as_deref(), Some("token service unavailable (503)"));
        assert!(v.can_retry);
        let due = status_view(&backoff(), PENDING, None, Some(Duration::ZERO));
        assert_eq!(due.text, "Reconnecting…");
    }

    #[test]
    fn the_countdown_rounds_up_to_whole_seconds() {
        let secs = |ms| whole_seconds_up(Duration::from_millis(ms));
        assert_eq!((secs(4_000), secs(3_999), secs(1), secs(0)), (4, 4, 1, 0));
    }

    #[test]
    fn signed_out_and_offline_say_so_and_offer_retry() {
        for (state, text) in [
            (ConnectionState::SignedOut, "Signed out"),
            (ConnectionState::Offline, "Offline"),
        ] {
            let v = status_view(&state, PENDING, None, None);
            assert_eq!(v.text, text);
            assert!(v.can_retry && v.tone == Tone::Bad);
        }
    }

    #[test]
    fn a_retry_in_progress_still_says_what_went_wrong_last() {
        let why = "could not get credentials: token endpoint did not answer within 15 s";
        for (state, text) in [
            (ConnectionState::FetchingToken, "Signing in…"),
            (ConnectionState::Connecting, "Connecting…"),
        ] {
            let first = status_view(&state, PENDING, None, None);
            assert_eq!((first.text.as_str(), first.detail), (text, None));
            let again = status_view(&state, PENDING, Some(why), None);
            assert_eq!(again.text, text);
            assert_eq!(again.detail.as_deref(), Some(why));
            assert!(!again.can_retry, "an attempt is already under way");
        }
    }

    #[test]
    fn only_a_live_link_says_connected() {
        for state in [
            ConnectionState::Idle,
            ConnectionState::FetchingToken,
            ConnectionState::Connecting,
            backoff(),
            ConnectionState::Offline,
            ConnectionState::SignedOut,
            ConnectionState::AuthFailed,
            ConnectionState::Closed,
        ] {
            let v = status_view(&state, GRANTED, None, None);
            assert!(!v.text.contains("Connected"), "{state:?}: {}", v.text);
        }
    }
}
