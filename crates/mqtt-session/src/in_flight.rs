//! Outgoing QoS 1/2 publishes the server has not finished acknowledging.

use std::collections::VecDeque;

use mqtt_codec::packet::Publish;

use crate::config::LinkId;
use crate::event::PublishId;

/// Where an outgoing QoS 1/2 exchange stands: the acknowledgement it awaits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InFlightState {
    /// QoS 1: PUBLISH written, PUBACK awaited.
    Qos1Sent,
    /// QoS 2: PUBLISH written, PUBREC awaited.
    Qos2Sent,
    /// QoS 2: PUBREC received, PUBREL written, PUBCOMP awaited.
    Released,
}

/// One in-flight publish.
#[derive(Debug, Clone)]
pub(crate) struct InFlight {
    pub(crate) id: PublishId,
    /// The PUBLISH as first written (DUP clear, packet id set). Its payload is dropped once
    /// PUBREC arrives: only PUBREL is ever resent after that.
    pub(crate) publish: Publish,
    pub(crate) state: InFlightState,
    /// The link it was last written on, within the current server session. `None` means the
    /// server session does not know it (a fresh session): the next write is a new PUBLISH, not
    /// a DUP resend.
    pub(crate) written_on: Option<LinkId>,
    packet_id: u16,
}

/// In-flight publishes by packet id, iterable in the order the spec wants them resent:
/// PUBLISHes in their original order, PUBRELs in the order their PUBREC arrived.
#[derive(Debug, Default)]
pub(crate) struct InFlightTable {
    /// In resend order. A queue, not maps by packet id and by sequence number: acknowledgements
    /// mostly arrive in order, so the one looked for is near the front, and the wasm links no
    /// `BTreeMap<u64, u16>` and `HashMap<u16, InFlight>` (issue 15).
    entries: VecDeque<InFlight>,
}

impl InFlightTable {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn insert(
        &mut self,
        id: PublishId,
        publish: Publish,
        state: InFlightState,
        link: LinkId,
    ) {
        let packet_id = publish.packet_id.unwrap_or_default();
        self.entries.push_back(InFlight {
            id,
            publish,
            state,
            written_on: Some(link),
            packet_id,
        });
    }

    fn position(&self, packet_id: u16) -> Option<usize> {
        self.entries.iter().position(|e| e.packet_id == packet_id)
    }

    pub(crate) fn get(&self, packet_id: u16) -> Option<&InFlight> {
        self.entries.iter().find(|e| e.packet_id == packet_id)
    }

    pub(crate) fn get_mut(&mut self, packet_id: u16) -> Option<&mut InFlight> {
        self.entries.iter_mut().find(|e| e.packet_id == packet_id)
    }

    pub(crate) fn remove(&mut self, packet_id: u16) -> Option<InFlight> {
        let i = self.position(packet_id)?;
        self.entries.remove(i)
    }

    /// PUBREC arrived: the entry now waits for PUBCOMP and moves to the back of the resend order.
    pub(crate) fn pubrec_received(&mut self, packet_id: u16) {
        if let Some(mut entry) = self.remove(packet_id) {
            entry.state = InFlightState::Released;
            entry.publish.payload = Vec::new();
            self.entries.push_back(entry);
        }
    }

    /// Packet ids in resend order.
    #[cfg(test)]
    pub(crate) fn ordered_ids(&self) -> Vec<u16> {
        self.entries.iter().map(|e| e.packet_id).collect()
    }

    /// Packet ids of the entries not written on `link`, in resend order: what a pump writes
    /// (none in the steady state, so it looks nothing up).
    pub(crate) fn ids_not_on(&self, link: LinkId) -> Vec<u16> {
        self.entries
            .iter()
            .filter(|e| e.written_on != Some(link))
            .map(|e| e.packet_id)
            .collect()
    }

    /// The server session is new: takes out the entries it had acknowledged with PUBREC (in
    /// resend order) and marks the others as unknown to it (`written_on = None`), in one pass.
    pub(crate) fn fresh_session(&mut self) -> Vec<InFlight> {
        let mut released = Vec::new();
        let mut kept = VecDeque::with_capacity(self.entries.len());
        for mut entry in self.entries.drain(..) {
            if entry.state == InFlightState::Released {
                released.push(entry);
            } else {
                entry.written_on = None;
                kept.push_back(entry);
            }
        }
        self.entries = kept;
        released
    }

    /// How many entries are written on `link` (they count against its Receive Maximum).
    pub(crate) fn count_on(&self, link: LinkId) -> usize {
        self.entries
            .iter()
            .filter(|e| e.written_on == Some(link))
            .count()
    }

    /// Whether some entry still has to be (re)written on `link`.
    pub(crate) fn any_not_on(&self, link: LinkId) -> bool {
        self.entries.iter().any(|e| e.written_on != Some(link))
    }

    /// Takes every entry out, in resend order.
    pub(crate) fn drain(&mut self) -> Vec<InFlight> {
        self.entries.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mqtt_codec::packet::QoS;

    fn publish(packet_id: u16) -> Publish {
        Publish {
            qos: QoS::ExactlyOnce,
            topic: "t".into(),
            packet_id: Some(packet_id),
            ..Publish::default()
        }
    }

    #[test]
    fn pubrec_moves_an_entry_behind_later_publishes_in_resend_order() {
        let mut table = InFlightTable::default();
        for (n, pid) in [5u16, 9, 2].into_iter().enumerate() {
            table.insert(
                PublishId(n as u64),
                publish(pid),
                InFlightState::Qos2Sent,
                LinkId(1),
            );
        }
        assert_eq!(table.ordered_ids(), vec![5, 9, 2]);
        table.pubrec_received(5);
        assert_eq!(table.ordered_ids(), vec![9, 2, 5]);
        assert_eq!(table.get(5).unwrap().state, InFlightState::Released);
        assert!(table.get(5).unwrap().publish.payload.is_empty());
        assert_eq!(table.remove(9).unwrap().id, PublishId(1));
        assert_eq!(table.ordered_ids(), vec![2, 5]);
        assert_eq!(table.count_on(LinkId(1)), 2);
        assert!(!table.any_not_on(LinkId(1)));
        assert!(table.any_not_on(LinkId(2)));
    }
}
