//! The words and colour of the status line, derived from the hook's connection state, the room
//! subscription's status and the page clock's reading (for the countdown). Plain functions over
//! the hook's own types, tested natively.

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

/// Whole seconds until a backoff ends, rounded up: `retry_at` and `now_ms` are both read on the
/// page's monotonic clock (`performance.now()`), the one the driver's instants are measured on.
/// `None` when the client is not backing off.
pub fn retry_in_secs(state: &ConnectionState, now_ms: u64) -> Option<u64> {
    match state {
        ConnectionState::Backoff { retry_at, .. } => {
            Some(retry_at.as_millis().saturating_sub(now_ms).div_ceil(1000))
        }
        _ => None,
    }
}

/// Derives the status line from the connection state, the room subscription's status (`None`:
/// not asked yet), the last reason the connection layer gave (already in words) and the page
/// clock (`now_ms`, for the countdown).
pub fn status_view(
    state: &ConnectionState,
    room: Option<&SubscriptionStatus>,
    reason: Option<&str>,
    now_ms: u64,
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
        ConnectionState::FetchingToken => StatusView::new(Tone::Busy, "Signing in…", None, false),
        ConnectionState::Connecting => StatusView::new(Tone::Busy, "Connecting…", None, false),
        ConnectionState::Backoff { .. } => StatusView::new(
            Tone::Busy,
            match retry_in_secs(state, now_ms) {
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

    fn backoff(retry_at_ms: u64) -> ConnectionState {
        ConnectionState::Backoff {
            attempt: 2,
            retry_at: Instant::from_millis(retry_at_ms),
        }
    }

    #[test]
    fn connected_and_granted_says_connected_in_green() {
        let v = status_view(&connected(), GRANTED, None, 0);
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
            status_view(&rotating, GRANTED, None, 0),
            status_view(&connected(), GRANTED, None, 0)
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
        let v = status_view(&connected(), Some(&refused), None, 0);
        assert_eq!(v.text, "You don't have access to this room");
        assert_eq!(v.detail, Some(refusal.to_string()));
        assert_eq!(v.tone, Tone::Bad);
        assert!(!v.can_retry);
    }

    #[test]
    fn backoff_counts_down_and_carries_the_reason() {
        let v = status_view(
            &backoff(10_000),
            PENDING,
            Some("token service unavailable (503)"),
            6_500,
        );
        assert_eq!(v.text, "Reconnecting in 4 s");
        assert_eq!(v.detail.as_deref(), Some("token service unavailable (503)"));
        assert!(v.can_retry);
        assert_eq!(
            status_view(&backoff(10_000), PENDING, None, 10_001).text,
            "Reconnecting…"
        );
    }

    #[test]
    fn the_countdown_rounds_up_to_whole_seconds_on_the_drivers_clock() {
        assert_eq!(retry_in_secs(&backoff(5_000), 1_000), Some(4));
        assert_eq!(retry_in_secs(&backoff(5_000), 1_001), Some(4));
        assert_eq!(retry_in_secs(&backoff(5_000), 4_999), Some(1));
        assert_eq!(retry_in_secs(&backoff(5_000), 5_000), Some(0));
        assert_eq!(retry_in_secs(&backoff(5_000), 9_000), Some(0));
        assert_eq!(retry_in_secs(&connected(), 0), None);
    }

    #[test]
    fn signed_out_and_offline_say_so_and_offer_retry() {
        for (state, text) in [
            (ConnectionState::SignedOut, "Signed out"),
            (ConnectionState::Offline, "Offline"),
        ] {
            let v = status_view(&state, PENDING, None, 0);
            assert_eq!(v.text, text);
            assert!(v.can_retry && v.tone == Tone::Bad);
        }
    }

    #[test]
    fn only_a_live_link_says_connected() {
        for state in [
            ConnectionState::Idle,
            ConnectionState::FetchingToken,
            ConnectionState::Connecting,
            backoff(1_000),
            ConnectionState::Offline,
            ConnectionState::SignedOut,
            ConnectionState::AuthFailed,
            ConnectionState::Closed,
        ] {
            let v = status_view(&state, GRANTED, None, 0);
            assert!(!v.text.contains("Connected"), "{state:?}: {}", v.text);
        }
    }
}
