//! The links the supervisor asked for and has not closed, each at a [`LinkStage`], and the
//! driver's link inputs.
//!
//! A (re)connect opens its link to the configured broker while the token request is in flight
//! (the *early link*, held in `Phase::Fetching`); the link is handed to the session (CONNECT)
//! only once it is open and the token is there, and only if the token names no other broker:
//! then the early link is closed unused and a link to that broker opened instead.

use std::time::Duration;

use mqtt_session::{ConnectCredentials, LinkId};

use super::phase::Phase;
use super::{Action, Supervisor};
use crate::state::Reason;
use crate::Instant;

/// How far a link the supervisor holds has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LinkStage {
    /// [`Action::OpenLink`] was polled; the driver has not reported it open yet. The session
    /// does not know it.
    Opening,
    /// The early link is open and the token has not come: nothing has been sent on it and the
    /// session does not know it.
    AwaitingToken,
    /// Open and handed to the session, which sends CONNECT on it and reads its bytes; the
    /// session must hear when it closes.
    HandedToSession,
}

/// Links asked for and not yet closed, and the id of the next one (ids are never reused).
#[derive(Debug)]
pub(super) struct Links {
    /// In id order, with when each was asked for. Two or three links at most: a sorted `Vec`,
    /// not a `BTreeMap` (one B-tree instantiation less in the wasm, issue 15).
    stages: Vec<(LinkId, LinkStage, Instant)>,
    next_id: u32,
}

impl Default for Links {
    fn default() -> Self {
        Links {
            stages: Vec::new(),
            next_id: 1,
        }
    }
}

impl Links {
    /// A new link id, held at [`LinkStage::Opening`] since `now`.
    fn add(&mut self, now: Instant) -> LinkId {
        let link = LinkId(self.next_id);
        self.next_id += 1;
        // Ids only grow: the new one goes last.
        self.stages.push((link, LinkStage::Opening, now));
        link
    }

    fn find(&self, link: LinkId) -> Result<usize, usize> {
        self.stages.binary_search_by(|(l, _, _)| l.0.cmp(&link.0))
    }

    fn stage(&self, link: LinkId) -> Option<LinkStage> {
        self.find(link).ok().map(|i| self.stages[i].1)
    }

    /// Moves a held link to `stage` (nothing if it is not held).
    fn set(&mut self, link: LinkId, stage: LinkStage) {
        if let Ok(i) = self.find(link) {
            self.stages[i].1 = stage;
        }
    }

    /// The links still [`LinkStage::Opening`] asked for `timeout` or longer before `now`.
    fn opening_overdue(&self, now: Instant, timeout: Duration) -> Vec<LinkId> {
        self.stages
            .iter()
            .filter(|(_, stage, since)| *stage == LinkStage::Opening && *since + timeout <= now)
            .map(|(l, _, _)| *l)
            .collect()
    }

    /// When the oldest link still [`LinkStage::Opening`] was asked for.
    pub(super) fn oldest_opening(&self) -> Option<Instant> {
        self.stages
            .iter()
            .filter(|(_, stage, _)| *stage == LinkStage::Opening)
            .map(|(_, _, since)| *since)
            .min()
    }

    /// Forgets `link`, saying at which stage it was (`None`: not held).
    fn remove(&mut self, link: LinkId) -> Option<LinkStage> {
        let i = self.find(link).ok()?;
        Some(self.stages.remove(i).1)
    }

    fn holds(&self, link: LinkId) -> bool {
        self.find(link).is_ok()
    }

    /// Every link held, in id order.
    pub(super) fn ids(&self) -> Vec<LinkId> {
        self.stages.iter().map(|(l, _, _)| *l).collect()
    }
}

impl Supervisor {
    /// The WebSocket asked for by [`Action::OpenLink`] is open.
    pub fn handle_link_opened(&mut self, now: Instant, link: LinkId) {
        self.last_now = now;
        let expected = match self.phase {
            Phase::Connecting { link: l } => l == link,
            Phase::Rotating { next: Some(l), .. } => l == link,
            _ => false,
        };
        let early = matches!(self.phase, Phase::Fetching { early: Some(l) } if l == link);
        match self.links.stage(link) {
            // Open before the token came: it waits; the token's arrival hands it over.
            Some(LinkStage::Opening) if early => self.links.set(link, LinkStage::AwaitingToken),
            Some(LinkStage::Opening) if expected && self.credentials.is_some() => {
                self.hand_over(now, link);
            }
            Some(_) => {
                self.close_link(now, link, true);
                self.link_lost(now, link, Reason::LinkClosed);
            }
            // Already closed by us: the driver has the CloseLink.
            None => {}
        }
        self.pump(now);
    }

    /// Gives up the links the browser has not opened within [`Supervisor::open_timeout`]: a
    /// WebSocket whose handshake never completes and never fails (a black-holed address, a
    /// proxy that holds the upgrade, a socket the page's CSP blocked, which Chromium neither
    /// opens nor closes) would otherwise hold the connect forever. Closed like a failed open.
    pub(super) fn check_open_deadlines(&mut self, now: Instant) {
        for link in self.links.opening_overdue(now, self.open_timeout) {
            self.close_link(now, link, false);
            self.link_lost(now, link, Reason::LinkOpenTimeout);
        }
    }

    /// A link closed (by the server, the network, or failing to open). Links the supervisor
    /// closed itself need not be reported.
    pub fn handle_link_closed(&mut self, now: Instant, link: LinkId) {
        self.last_now = now;
        let Some(stage) = self.links.remove(link) else {
            return;
        };
        // CONNECT went out on it (handed to the session) and the phase is still Connecting:
        // no CONNACK came. `link_lost` decides whether that is the 3.1.1 fallback.
        if stage == LinkStage::HandedToSession
            && matches!(self.phase, Phase::Connecting { link: l } if l == link)
        {
            self.closed_before_connack = Some(link);
        }
        if stage == LinkStage::HandedToSession {
            self.session.handle_link_closed(now, link);
            self.pump(now);
        }
        // No-op if the session already reported it (LinkDown) during the pump above.
        self.link_lost(now, link, Reason::LinkClosed);
        self.closed_before_connack = None;
        self.pump(now);
    }

    /// Bytes arrived on `link` (one WebSocket message; packets may be split or coalesced).
    pub fn handle_link_bytes(&mut self, now: Instant, link: LinkId, bytes: &[u8]) {
        self.last_now = now;
        if self.links.stage(link) == Some(LinkStage::HandedToSession) {
            self.session.handle_bytes(now, link, bytes);
            self.pump(now);
        }
    }

    /// Opens the early link of `Phase::Fetching`: to the configured broker, while the token
    /// request is in flight. Without a configured broker only the token can name one, so the
    /// link waits for it.
    pub(super) fn open_early_link(&mut self, now: Instant) {
        let Phase::Fetching { early: None } = self.phase else {
            return;
        };
        let Some(url) = self.broker_url.clone() else {
            return;
        };
        let link = self.links.add(now);
        self.actions.push_back(Action::OpenLink { link, url });
        self.phase = Phase::Fetching { early: Some(link) };
    }

    /// The credentials are there: records the link being connected to the credentials' own
    /// broker if they name one, else the configured one. That is the early link if it went to
    /// the same URL (handed to the session at once if already open); otherwise the early link
    /// is closed before the credentials could reach it, and the driver is asked for a new one.
    /// With no broker at all, stops for good ([`Reason::NoBrokerUrl`]).
    pub(super) fn open_link(&mut self, now: Instant) {
        let url = self
            .credentials
            .as_ref()
            .and_then(|c| c.broker_url.clone())
            .or_else(|| self.broker_url.clone());
        let Some(url) = url else {
            return self.give_up(Phase::Closed, Reason::NoBrokerUrl);
        };
        if let Phase::Fetching { early: Some(early) } = self.phase {
            // Early links always go to the configured broker.
            if self.broker_url.as_ref() == Some(&url) {
                self.phase = Phase::Connecting { link: early };
                if self.links.stage(early) == Some(LinkStage::AwaitingToken) {
                    self.hand_over(now, early);
                }
                return;
            }
            self.close_link(now, early, true);
        }
        let link = self.links.add(now);
        self.actions.push_back(Action::OpenLink { link, url });
        match &mut self.phase {
            Phase::Rotating { next, .. } => *next = Some(link),
            phase => *phase = Phase::Connecting { link },
        }
    }

    /// Hands the open `link` to the session with the current credentials: CONNECT goes out (a
    /// takeover's once the old link has drained: see `mqtt_session::Session::handle_link_opened`).
    fn hand_over(&mut self, now: Instant, link: LinkId) {
        let Some(credentials) = &self.credentials else {
            return;
        };
        let creds = ConnectCredentials {
            username: credentials.username.clone(),
            password: Some(credentials.password.expose().as_bytes().to_vec()),
        };
        if let Some(template) = &self.will_template {
            let will = super::will_for(template, self.user_id.as_deref());
            self.session.set_will(will);
        }
        self.links.set(link, LinkStage::HandedToSession);
        self.session.handle_link_opened(now, link, creds);
    }

    /// Closes a link we still hold; `tell_session` when the session does not know it is gone
    /// (only a link handed to it is told).
    pub(super) fn close_link(&mut self, now: Instant, link: LinkId, tell_session: bool) {
        if let Some(stage) = self.links.remove(link) {
            self.actions.push_back(Action::CloseLink { link });
            if stage == LinkStage::HandedToSession && tell_session {
                self.session.handle_link_closed(now, link);
            }
        }
    }

    /// Turns the session's transmits into [`Action::Send`]s, dropping those for links no
    /// longer held.
    pub(super) fn pump_transmits(&mut self) {
        while let Some(transmit) = self.session.poll_transmit() {
            if self.links.holds(transmit.link) {
                self.actions.push_back(Action::Send {
                    link: transmit.link,
                    bytes: transmit.bytes,
                });
            }
        }
    }
}
