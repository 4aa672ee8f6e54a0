//! Outgoing QoS 1/2 publishes the server has not finished acknowledging.

use std::collections::{BTreeMap, HashMap};

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
    seq: u64,
}

/// In-flight publishes by packet id, iterable in the order the spec wants them resent:
/// PUBLISHes in their original order, PUBRELs in the order their PUBREC arrived.
#[derive(Debug, Default)]
pub(crate) struct InFlightTable {
    next_seq: u64,
    order: BTreeMap<u64, u16>,
    entries: HashMap<u16, InFlight>,
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
        let seq = self.bump();
        self.order.insert(seq, packet_id);
        self.entries.insert(
            packet_id,
            InFlight {
                id,
                publish,
                state,
                written_on: Some(link),
                seq,
            },
        );
    }

    pub(crate) fn get(&self, packet_id: u16) -> Option<&InFlight> {
        self.entries.get(&packet_id)
    }

    pub(crate) fn get_mut(&mut self, packet_id: u16) -> Option<&mut InFlight> {
        self.entries.get_mut(&packet_id)
    }

    pub(crate) fn remove(&mut self, packet_id: u16) -> Option<InFlight> {
        let entry = self.entries.remove(&packet_id)?;
        self.order.remove(&entry.seq);
        Some(entry)
    }

    /// PUBREC arrived: the entry now waits for PUBCOMP and moves to the back of the resend order.
    pub(crate) fn pubrec_received(&mut self, packet_id: u16) {
        let seq = self.bump();
        if let Some(entry) = self.entries.get_mut(&packet_id) {
            self.order.remove(&entry.seq);
            entry.seq = seq;
            entry.state = InFlightState::Released;
            entry.publish.payload = Vec::new();
            self.order.insert(seq, packet_id);
        }
    }

    /// Packet ids in resend order.
    pub(crate) fn ordered_ids(&self) -> Vec<u16> {
        self.order.values().copied().collect()
    }

    /// How many entries are written on `link` (they count against its Receive Maximum).
    pub(crate) fn count_on(&self, link: LinkId) -> usize {
        self.entries
            .values()
            .filter(|e| e.written_on == Some(link))
            .count()
    }

    /// Whether some entry still has to be (re)written on `link`.
    pub(crate) fn any_not_on(&self, link: LinkId) -> bool {
        self.entries.values().any(|e| e.written_on != Some(link))
    }

    /// Takes every entry out, in resend order.
    pub(crate) fn drain(&mut self) -> Vec<InFlight> {
        let ids = self.ordered_ids();
        ids.into_iter().filter_map(|id| self.remove(id)).collect()
    }

    fn bump(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
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
