//! Deadlines: a takeover's held CONNECT out within 2 s, CONNACK within `connect_timeout`, PINGREQ
//! when the link is quiet, a link declared dead when the PINGRESP does not come.

use core::time::Duration;

use mqtt_codec::packet::Packet;

use crate::event::LinkDownReason;
use crate::time::Instant;

use super::Session;

/// How long before the keep-alive runs out a PINGREQ is due. A tab in the background runs its
/// timers about once a second (Chromium, measured by `e2e/hidden-tab.test.mjs`), so a ping due
/// exactly at the keep-alive left up to a second after it: past the interval the client must keep
/// (MQTT 3.1.1 § 3.1.2.10, 5.0 § 3.1.2.10) and close to the broker's 1.5 × keep-alive limit.
const PING_LEAD: Duration = Duration::from_secs(1);

/// When a quiet link pings: [`PING_LEAD`] before the keep-alive `interval` runs out, but never
/// before half of it (a keep-alive under 2 s pings at its half).
fn ping_after(interval: Duration) -> Duration {
    interval.saturating_sub(PING_LEAD).max(interval / 2)
}

/// The active link's keep-alive, measured from the last packet each way.
#[derive(Debug, Clone, Copy)]
pub(super) enum KeepAlive {
    /// Keep-alive 0: no PINGREQ, no deadline.
    Off,
    On {
        interval: Duration,
        last_sent: Instant,
        last_received: Instant,
        ping: Ping,
    },
}

/// Whether a PINGREQ awaits its answer.
#[derive(Debug, Clone, Copy)]
pub(super) enum Ping {
    Idle,
    /// PINGREQ written; any packet received before `due` (`sent_at + interval / 2`, or sooner
    /// for a probe) proves the link alive.
    Awaiting {
        due: Instant,
    },
}

impl KeepAlive {
    /// The keep-alive of a link whose CONNACK arrived at `received`, our last packet (the
    /// CONNECT) having gone out at `sent`; `Off` for a zero `interval`.
    pub(super) fn start(interval: Duration, sent: Instant, received: Instant) -> Self {
        if interval.is_zero() {
            Self::Off
        } else {
            Self::On {
                interval,
                last_sent: sent,
                last_received: received,
                ping: Ping::Idle,
            }
        }
    }

    pub(super) fn deadline(&self) -> Option<Instant> {
        match *self {
            KeepAlive::Off => None,
            KeepAlive::On {
                ping: Ping::Awaiting { due },
                ..
            } => Some(due),
            // Ping when either direction has been quiet for (almost) the interval: quiet
            // sending is what the spec requires, quiet receiving catches a half-open link while
            // we keep sending QoS 0 messages into it.
            KeepAlive::On {
                interval,
                last_sent,
                last_received,
                ping: Ping::Idle,
            } => Some(last_sent.min(last_received) + ping_after(interval)),
        }
    }

    pub(super) fn sent(&mut self, now: Instant) {
        if let KeepAlive::On { last_sent, .. } = self {
            *last_sent = (*last_sent).max(now);
        }
    }

    pub(super) fn received(&mut self, now: Instant) {
        if let KeepAlive::On {
            last_received,
            ping,
            ..
        } = self
        {
            *last_received = (*last_received).max(now);
            *ping = Ping::Idle;
        }
    }
}

impl Session {
    /// Time passed: sends a takeover's held CONNECT once it has waited 2 s, checks the CONNACK
    /// deadline, sends PINGREQ when due and declares a silent link dead. Call it when
    /// [`Session::poll_timeout`] is reached (calling it early is harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tick(now);
        if let Some(pending) = self.pending() {
            if now >= pending.deadline(self.config.connect_timeout) {
                if pending.held_connect.is_some() {
                    self.send_held_connect(true);
                } else {
                    let link = pending.id;
                    self.fail_link(link, LinkDownReason::ConnectTimeout, None);
                }
            }
        }
        if let Some(active) = self.active() {
            let (link, keep_alive) = (active.id, active.keep_alive);
            match keep_alive {
                KeepAlive::On {
                    ping: Ping::Awaiting { due },
                    ..
                } if now >= due => {
                    // No DISCONNECT: nothing comes through this link any more.
                    self.fail_link(link, LinkDownReason::KeepAliveTimeout, None);
                }
                KeepAlive::On {
                    interval,
                    ping: Ping::Idle,
                    ..
                } if keep_alive.deadline().is_some_and(|due| now >= due) => {
                    self.write_control(link, &Packet::PingReq);
                    if let Some(KeepAlive::On { ping, .. }) =
                        self.active_mut().map(|a| &mut a.keep_alive)
                    {
                        *ping = Ping::Awaiting {
                            due: now + interval / 2,
                        };
                    }
                }
                _ => {}
            }
        }
        self.pump();
    }

    /// Asks the active link to prove itself alive within `within` (say the browser just
    /// reported that the network is gone): a PINGREQ goes out now unless one is already
    /// awaiting its answer, and if nothing at all arrives by then the link is declared dead
    /// ([`LinkDownReason::KeepAliveTimeout`]) instead of up to 1.5 × the keep-alive later. A
    /// link that answers carries on untouched. Never lengthens a deadline already running;
    /// nothing happens without an active link or with keep-alive off. Returns whether a
    /// probe is running.
    pub fn probe_link(&mut self, now: Instant, within: Duration) -> bool {
        self.tick(now);
        let Some(active) = self.active() else {
            return false;
        };
        let (link, keep_alive) = (active.id, active.keep_alive);
        let KeepAlive::On { ping, .. } = keep_alive else {
            return false;
        };
        let due = now + within;
        let write = match ping {
            Ping::Awaiting { due: running } if running <= due => return true,
            Ping::Awaiting { .. } => false,
            Ping::Idle => true,
        };
        if write {
            self.write_control(link, &Packet::PingReq);
        }
        if let Some(KeepAlive::On { ping, .. }) = self.active_mut().map(|a| &mut a.keep_alive) {
            *ping = Ping::Awaiting { due };
        }
        self.pump();
        true
    }

    /// Keep-alive in whole seconds as announced in CONNECT (a sub-second value rounds up to 1).
    pub(super) fn keep_alive_secs(&self) -> u16 {
        let keep_alive = self.config.keep_alive;
        if keep_alive.is_zero() {
            0
        } else {
            u16::try_from(keep_alive.as_secs())
                .unwrap_or(u16::MAX)
                .max(1)
        }
    }
}
