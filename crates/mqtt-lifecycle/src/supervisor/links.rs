//! The links the supervisor asked for and has not closed, each at a [`LinkStage`], and the
//! driver's link inputs.

use std::collections::BTreeMap;

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
    /// Open and handed to the session, which sends CONNECT on it and reads its bytes; the
    /// session must hear when it closes.
    HandedToSession,
}

/// Links asked for and not yet closed, and the id of the next one (ids are never reused).
#[derive(Debug)]
pub(super) struct Links {
    stages: BTreeMap<LinkId, LinkStage>,
    next_id: u32,
}

impl Default for Links {
    fn default() -> Self {
        Links {
            stages: BTreeMap::new(),
            next_id: 1,
        }
    }
}

impl Links {
    /// A new link id, held at [`LinkStage::Opening`].
    fn add(&mut self) -> LinkId {
        let link = LinkId(self.next_id);
        self.next_id += 1;
        self.stages.insert(link, LinkStage::Opening);
        link
    }

    fn stage(&self, link: LinkId) -> Option<LinkStage> {
        self.stages.get(&link).copied()
    }

    fn hand_to_session(&mut self, link: LinkId) {
        self.stages.insert(link, LinkStage::HandedToSession);
    }

    /// Forgets `link`, saying at which stage it was (`None`: not held).
    fn remove(&mut self, link: LinkId) -> Option<LinkStage> {
        self.stages.remove(&link)
    }

    fn holds(&self, link: LinkId) -> bool {
        self.stages.contains_key(&link)
    }

    /// Every link held, in id order.
    pub(super) fn ids(&self) -> Vec<LinkId> {
        self.stages.keys().copied().collect()
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
        match (self.links.stage(link), &self.credentials) {
            (Some(LinkStage::Opening), Some(credentials)) if expected => {
                let creds = ConnectCredentials {
                    username: credentials.username.clone(),
                    password: Some(credentials.password.expose().as_bytes().to_vec()),
                };
                self.links.hand_to_session(link);
                self.session.handle_link_opened(now, link, creds);
            }
            (Some(_), _) => {
                self.close_link(now, link, true);
                self.link_lost(now, link, Reason::LinkClosed);
            }
            // Already closed by us: the driver has the CloseLink.
            (None, _) => {}
        }
        self.pump(now);
    }

    /// A link closed (by the server, the network, or failing to open). Links the supervisor
    /// closed itself need not be reported.
    pub fn handle_link_closed(&mut self, now: Instant, link: LinkId) {
        self.last_now = now;
        let Some(stage) = self.links.remove(link) else {
            return;
        };
        if stage == LinkStage::HandedToSession {
            self.session.handle_link_closed(now, link);
            self.pump(now);
        }
        // No-op if the session already reported it (LinkDown) during the pump above.
        self.link_lost(now, link, Reason::LinkClosed);
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

    /// Asks the driver for a new link and records it as the one being connected: to the
    /// credentials' own broker if they name one, else the configured one. With neither, stops
    /// for good ([`Reason::NoBrokerUrl`]).
    pub(super) fn open_link(&mut self) {
        let url = self
            .credentials
            .as_ref()
            .and_then(|c| c.broker_url.clone())
            .or_else(|| self.broker_url.clone());
        let Some(url) = url else {
            return self.give_up(Phase::Closed, Reason::NoBrokerUrl);
        };
        let link = self.links.add();
        self.actions.push_back(Action::OpenLink { link, url });
        match &mut self.phase {
            Phase::Rotating { next, .. } => *next = Some(link),
            phase => *phase = Phase::Connecting { link },
        }
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
