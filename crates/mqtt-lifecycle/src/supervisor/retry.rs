//! What a failure leads to: a connect refused or a link lost moves to a backoff wait (or
//! `Offline`), a failed rotation keeps the working link and tries again later, and some
//! failures give up until [`Supervisor::retry_now`].

use std::time::Duration;

use mqtt_codec::packet::ProtocolVersion;
use mqtt_codec::reason::ConnectReason;
use mqtt_session::LinkId;

use super::phase::{Phase, MIN_ROTATION_DELAY};
use super::token_flight::TokenKind;
use super::Supervisor;
use crate::state::Reason;
use crate::Instant;

/// Failure bookkeeping that spans phases: it lives from a connect attempt through fetching,
/// connecting and backoff waits until a link stays up (or the user retries).
#[derive(Debug, Default)]
pub(super) struct Retry {
    /// Failed connect attempts since the last stable link: the backoff exponent, shown as
    /// [`ConnectionState::Backoff`](crate::ConnectionState::Backoff)'s `attempt`.
    pub(super) attempt: u32,
    /// A bad-credentials refusal already led to one fresh token; the next one gives up.
    /// Cleared by a successful connect, `start` and `retry_now`.
    pub(super) auth_retry_used: bool,
}

impl Supervisor {
    pub(super) fn on_refused(
        &mut self,
        now: Instant,
        link: LinkId,
        reason: ConnectReason,
        reason_string: Option<String>,
    ) {
        let (current, rotating_with_active) = match self.phase {
            Phase::Connecting { link: l } => (l == link, false),
            Phase::Rotating {
                next: Some(l),
                active,
                ..
            } => (l == link, active.is_some()),
            _ => (false, false),
        };
        if !current {
            return;
        }
        let why = Reason::ConnectRefused {
            reason,
            reason_string,
        };
        match reason {
            ConnectReason::UnsupportedProtocolVersion if self.protocol == ProtocolVersion::V5 => {
                // Taken at most once: nothing sets the protocol back to v5.
                self.protocol = ProtocolVersion::V311;
                self.session.set_protocol(ProtocolVersion::V311);
                self.reason = Some(Reason::ProtocolFallback);
                self.open_link(now);
            }
            ConnectReason::RetainNotSupported if self.session.will().is_some_and(|w| w.retain) => {
                // A broker without retained messages refuses a retained Will: connect without
                // one (for the supervisor's life) rather than not at all.
                self.will_template = None;
                self.session.set_will(None);
                self.reason = Some(why);
                self.open_link(now);
            }
            ConnectReason::BadUserNameOrPassword | ConnectReason::NotAuthorized
                if !self.retry.auth_retry_used =>
            {
                // The token may have been revoked or rotated between fetch and CONNECT: one
                // fresh token, right away.
                self.retry.auth_retry_used = true;
                self.reason = Some(why);
                self.credentials = None;
                if let Phase::Rotating {
                    next,
                    active: Some(_),
                    ..
                } = &mut self.phase
                {
                    *next = None;
                    self.request_token(now, TokenKind::Fetch);
                } else {
                    self.fetch_with_early_link(now);
                }
            }
            ConnectReason::BadUserNameOrPassword
            | ConnectReason::NotAuthorized
            | ConnectReason::Banned
            | ConnectReason::BadAuthenticationMethod
            | ConnectReason::ClientIdentifierNotValid => {
                if rotating_with_active {
                    // Keep the working link until the broker ends it; reconnecting then goes
                    // through the normal path (one fresh token, then AuthFailed).
                    self.rotation_failed(now, why, None, false);
                } else {
                    self.give_up(Phase::AuthFailed, why);
                }
            }
            _ => {
                if rotating_with_active {
                    self.rotation_failed(now, why, None, true);
                } else {
                    self.next_broker();
                    self.schedule_retry(now, why, None);
                }
            }
        }
    }

    /// Puts back a Will taken off after a close without CONNACK: the attempt without it
    /// failed too, so the Will was not why.
    fn restore_suspended_will(&mut self) {
        if let Some((template, session_will)) = self.suspended_will.take() {
            self.will_template = template;
            self.session.set_will(session_will);
        }
    }

    /// The next configured broker URL, in turn, after a link to the current one failed or
    /// was lost (no-op with a single URL).
    fn next_broker(&mut self) {
        if self.brokers.len() > 1 {
            self.broker_index = (self.broker_index + 1) % self.brokers.len();
            self.broker_url = Some(self.brokers[self.broker_index].clone());
        }
    }

    /// `link` is gone (closed, dead, or failed to open). Moves on if it mattered.
    pub(super) fn link_lost(&mut self, now: Instant, link: LinkId, why: Reason) {
        match self.phase {
            // Not an attempt of its own: the token's arrival opens a new link, and only that
            // one's failure counts.
            Phase::Fetching { early: Some(l) } if l == link => {
                // The link the token's arrival opens goes to the next URL of the list: a
                // refused socket fails long before the token answers.
                self.next_broker();
                self.phase = Phase::Fetching { early: None };
            }
            // Closed by the server after our MQTT 5 CONNECT, no CONNACK: a broker that drops
            // v5 CONNECTs (RabbitMQ 3.10). Fall back to 3.1.1 at once with the same token,
            // once for the supervisor's life, as for a CONNACK "unsupported protocol version".
            Phase::Connecting { link: l }
                if l == link
                    && self.closed_before_connack == Some(link)
                    && self.protocol == ProtocolVersion::V5 =>
            {
                self.closed_before_connack = None;
                self.fallback_unconfirmed = true;
                self.protocol = ProtocolVersion::V311;
                self.session.set_protocol(ProtocolVersion::V311);
                self.reason = Some(Reason::ProtocolFallback);
                self.open_link(now);
            }
            // Closed after a 3.1.1 CONNECT carrying a retained Will, no CONNACK: how Mosquitto
            // without retain refuses that Will over 3.1.1 (over MQTT 5 it says 0x9A). Once, at
            // once: the same CONNECT without the Will.
            Phase::Connecting { link: l }
                if l == link
                    && self.closed_before_connack == Some(link)
                    && self.protocol == ProtocolVersion::V311
                    && self.suspended_will.is_none()
                    && self.session.will().is_some_and(|w| w.retain) =>
            {
                self.closed_before_connack = None;
                let session_will = self.session.will().cloned();
                self.suspended_will = Some((self.will_template.take(), session_will));
                self.session.set_will(None);
                self.reason = Some(why);
                self.open_link(now);
            }
            // The 3.1.1 attempt was closed the same way: not the protocol after all. Back to
            // MQTT 5 and the normal backoff.
            Phase::Connecting { link: l }
                if l == link
                    && self.closed_before_connack == Some(link)
                    && self.fallback_unconfirmed =>
            {
                self.restore_suspended_will();
                self.fallback_unconfirmed = false;
                self.protocol = ProtocolVersion::V5;
                self.session.set_protocol(ProtocolVersion::V5);
                self.schedule_retry(now, why, None);
            }
            Phase::Connecting { link: l } if l == link => {
                self.restore_suspended_will();
                self.next_broker();
                self.schedule_retry(now, why, None);
            }
            Phase::Connected { link: l, since, .. } if l == link => {
                self.reset_if_stable(now, since);
                self.next_broker();
                self.schedule_retry(now, why, None);
            }
            Phase::Rotating {
                active: Some(l),
                next,
                since,
                ..
            } if l == link => {
                self.reset_if_stable(now, since);
                match next {
                    // The takeover link is already on its way: expected during a rotation
                    // (Mosquitto closes the old socket as soon as the new CONNECT arrives).
                    Some(_) => {
                        if let Phase::Rotating { active, .. } = &mut self.phase {
                            *active = None;
                        }
                    }
                    // Still waiting for the token: the request in flight now serves a
                    // reconnect.
                    None => {
                        self.fetch_with_early_link(now);
                        self.reason = Some(why);
                    }
                }
            }
            Phase::Rotating {
                active,
                next: Some(l),
                ..
            } if l == link => {
                if active.is_some() {
                    self.rotation_failed(now, why, None, true);
                } else {
                    self.schedule_retry(now, why, None);
                }
            }
            _ => {}
        }
    }

    pub(super) fn reset_if_stable(&mut self, now: Instant, since: Instant) {
        if now.saturating_duration_since(since) >= self.backoff.stable_after {
            self.retry.attempt = 0;
        }
    }

    /// A connect attempt failed: wait (backoff or `explicit`), or go `Offline`.
    pub(super) fn schedule_retry(&mut self, now: Instant, why: Reason, explicit: Option<Duration>) {
        // The token failed while the early link waited for it: that link goes unused.
        if let Phase::Fetching { early: Some(link) } = self.phase {
            self.close_link(now, link, true);
        }
        self.credentials = None;
        self.reason = Some(why);
        if !self.online {
            self.phase = Phase::Offline;
            return;
        }
        let delay =
            explicit.unwrap_or_else(|| self.backoff.delay(self.retry.attempt, &mut self.rng));
        self.retry.attempt = self.retry.attempt.saturating_add(1);
        self.phase = Phase::Backoff {
            retry_at: now + delay,
        };
    }

    /// A rotation failed but the current link is up: keep it, and retry the rotation later
    /// (`retry`) or not at all for this token.
    pub(super) fn rotation_failed(
        &mut self,
        now: Instant,
        why: Reason,
        explicit: Option<Duration>,
        retry: bool,
    ) {
        let Phase::Rotating {
            active: Some(link),
            since,
            session_present,
            failed_rotations,
            ..
        } = self.phase
        else {
            return;
        };
        let delay = explicit.unwrap_or_else(|| {
            self.backoff
                .delay(failed_rotations, &mut self.rng)
                .max(MIN_ROTATION_DELAY)
        });
        self.phase = Phase::Connected {
            link,
            since,
            session_present,
            rotate_at: retry.then_some(now + delay),
            failed_rotations: failed_rotations.saturating_add(1),
        };
        self.reason = Some(Reason::Rotation(Box::new(why)));
    }

    /// Stops for good (until `retry_now`): closes every link, forgets the token.
    pub(super) fn give_up(&mut self, phase: Phase, why: Reason) {
        let now = self.last_now;
        if self.session.is_connected() {
            self.session.disconnect(now);
            self.pump_transmits();
        }
        let open: Vec<LinkId> = self.links.ids();
        self.phase = phase;
        for link in open {
            self.close_link(now, link, true);
        }
        self.reason = Some(why);
        self.credentials = None;
        self.tokens.abandon();
    }
}
