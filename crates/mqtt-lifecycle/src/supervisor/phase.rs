//! The internal [`Phase`] (each variant carries the data only it needs) and the forward
//! transitions: fetching a token, connecting, connected, rotating.

use std::time::Duration;

use mqtt_session::LinkId;

use super::token_flight::TokenKind;
use super::Supervisor;
use crate::state::ConnectionState;
use crate::Instant;

/// A rotation is never scheduled sooner than this after a connect, whatever `refreshAt` says,
/// so a token with a tiny or past refresh time cannot make the supervisor rotate in a loop.
pub(super) const MIN_ROTATION_DELAY: Duration = Duration::from_secs(1);

/// Internal phase; [`ConnectionState`] is its public view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Phase {
    Idle,
    /// Waiting for a token. `early` is the link opened to the configured broker at the same
    /// time (None: none configured, or it failed): it waits, unused, for the token, which
    /// hands it to the session if it names no other broker (see `links`).
    Fetching {
        early: Option<LinkId>,
    },
    Connecting {
        link: LinkId,
    },
    Connected {
        link: LinkId,
        since: Instant,
        session_present: bool,
        /// When to renew the token (None: rotation given up for this token).
        rotate_at: Option<Instant>,
        /// Rotations that failed since this connection's last successful connect (the
        /// exponent of the rotation backoff).
        failed_rotations: u32,
    },
    /// Make-before-break: `active` carries the session (None once it closed), `next` is the
    /// link taking over (None while the token is being fetched).
    Rotating {
        active: Option<LinkId>,
        next: Option<LinkId>,
        since: Instant,
        session_present: bool,
        /// Carried over from `Connected`, back to it if this rotation fails too.
        failed_rotations: u32,
    },
    Backoff {
        retry_at: Instant,
    },
    Offline,
    SignedOut,
    AuthFailed,
    Closed,
}

impl Supervisor {
    pub(super) fn public_state(&self) -> ConnectionState {
        match self.phase {
            Phase::Idle => ConnectionState::Idle,
            Phase::Fetching { .. } => ConnectionState::FetchingToken,
            Phase::Connecting { .. } => ConnectionState::Connecting,
            Phase::Connected {
                since,
                session_present,
                ..
            } => ConnectionState::Connected {
                since,
                session_present,
            },
            Phase::Rotating { since, .. } => ConnectionState::Rotating { since },
            Phase::Backoff { retry_at } => ConnectionState::Backoff {
                attempt: self.retry.attempt,
                retry_at,
            },
            Phase::Offline => ConnectionState::Offline,
            Phase::SignedOut => ConnectionState::SignedOut,
            Phase::AuthFailed => ConnectionState::AuthFailed,
            Phase::Closed => ConnectionState::Closed,
        }
    }

    /// A (re)connect: the token request and the link to the configured broker start together
    /// (both actions in one poll); CONNECT goes out once both are there.
    pub(super) fn begin_connect(&mut self, now: Instant) {
        self.fetch_with_early_link(now);
    }

    /// Enters [`Phase::Fetching`] with a fresh-token request (or the one already in flight:
    /// single flight) and an early link to the configured broker, if there is one.
    pub(super) fn fetch_with_early_link(&mut self, now: Instant) {
        self.phase = Phase::Fetching { early: None };
        self.request_token(now, TokenKind::Fetch);
        self.open_early_link(now);
    }

    pub(super) fn on_connected(&mut self, now: Instant, link: LinkId, session_present: bool) {
        // A 3.1.1 fallback taken on a close without CONNACK is confirmed: kept for good.
        self.fallback_unconfirmed = false;
        // A retained Will taken off after a close without CONNACK stays off: that was it.
        self.suspended_will = None;
        let since = match self.phase {
            Phase::Connecting { link: l } if l == link => now,
            Phase::Rotating {
                next: Some(l),
                since,
                ..
            } if l == link => since,
            _ => return,
        };
        let rotate_at = self
            .credentials
            .as_ref()
            .map(|c| c.refresh_at.max(now + MIN_ROTATION_DELAY));
        self.phase = Phase::Connected {
            link,
            since,
            session_present,
            rotate_at,
            failed_rotations: 0,
        };
        self.reason = None;
        self.retry.auth_retry_used = false;
    }

    pub(super) fn start_rotation(&mut self, now: Instant) {
        let Phase::Connected {
            link,
            since,
            session_present,
            failed_rotations,
            ..
        } = self.phase
        else {
            return;
        };
        self.phase = Phase::Rotating {
            active: Some(link),
            next: None,
            since,
            session_present,
            failed_rotations,
        };
        self.request_token(now, TokenKind::Refresh);
    }
}
