//! What a publish is checked against: the server's limits from CONNACK, our own Maximum Packet
//! Size, and the queue limit for commands that must wait.

use mqtt_codec::packet::{Packet, ProtocolVersion, Publish, QoS};
use mqtt_codec::EncodeError;

use crate::event::{CommandError, DropReason, ServerLimits};

use super::{encoded, Session};

/// The server limits a publish is checked against.
#[derive(Debug, Clone, Copy)]
pub(super) struct PublishLimits {
    maximum_packet_size: Option<u32>,
    /// Our own Maximum Packet Size (`None`: no limit).
    own_maximum: Option<u32>,
    maximum_qos: QoS,
    retain_available: bool,
}

impl PublishLimits {
    /// The connected server's limits (from its CONNACK) and our own.
    pub(super) fn server(limits: &ServerLimits, own_maximum: Option<u32>) -> Self {
        Self {
            maximum_packet_size: limits.maximum_packet_size,
            own_maximum,
            maximum_qos: limits.maximum_qos,
            retain_available: limits.retain_available,
        }
    }

    /// No server to ask yet: only our own limit applies.
    pub(super) fn own_only(own_maximum: Option<u32>) -> Self {
        Self {
            maximum_packet_size: None,
            own_maximum,
            maximum_qos: QoS::ExactlyOnce,
            retain_available: true,
        }
    }
}

impl Session {
    /// Our own Maximum Packet Size (`None`: no limit).
    pub(super) fn own_maximum(&self) -> Option<u32> {
        Some(self.config.maximum_packet_size).filter(|&n| n > 0)
    }

    pub(super) fn incoming_limit(&self) -> u32 {
        match self.config.maximum_packet_size {
            0 => u32::MAX,
            n => n,
        }
    }

    pub(super) fn check_queue_room(&self) -> Result<(), CommandError> {
        let limit = self.config.queue_limit;
        if self.queue.len() + self.subs.pending_ops() >= limit {
            return Err(CommandError::QueueFull { limit });
        }
        Ok(())
    }
}

/// Encodes a publish after checking it against the server's limits.
pub(super) fn check_publish(
    publish: &Publish,
    protocol: ProtocolVersion,
    limits: PublishLimits,
) -> Result<Vec<u8>, Unsendable> {
    if publish.qos > limits.maximum_qos {
        return Err(Unsendable::QosNotSupported {
            requested: publish.qos,
            maximum: limits.maximum_qos,
        });
    }
    if publish.retain && !limits.retain_available {
        return Err(Unsendable::RetainNotSupported);
    }
    let packet = Packet::Publish(Box::new(publish.clone()));
    let bytes = encoded(&packet, protocol)?;
    let size = bytes.len();
    // The smaller limit decides, and names itself in the error.
    let server = limits.maximum_packet_size;
    let own = limits.own_maximum;
    match (server, own) {
        (Some(server), own) if own.is_none_or(|own| server <= own) && size > server as usize => {
            return Err(Unsendable::PacketTooLarge {
                size,
                maximum: server,
            });
        }
        (server, Some(own)) if server.is_none_or(|server| own < server) && size > own as usize => {
            return Err(Unsendable::ExceedsOwnLimit { size, maximum: own });
        }
        _ => {}
    }
    Ok(bytes)
}

/// Why a publish cannot go to the connected server: an up-front [`CommandError`] when known at
/// `publish` time, a [`DropReason`] when found at write time.
#[derive(Debug)]
pub(super) enum Unsendable {
    PacketTooLarge { size: usize, maximum: u32 },
    ExceedsOwnLimit { size: usize, maximum: u32 },
    QosNotSupported { requested: QoS, maximum: QoS },
    RetainNotSupported,
    Encode(EncodeError),
}

impl From<EncodeError> for Unsendable {
    fn from(error: EncodeError) -> Self {
        Self::Encode(error)
    }
}

impl From<Unsendable> for DropReason {
    fn from(reason: Unsendable) -> Self {
        match reason {
            Unsendable::PacketTooLarge { size, maximum } => Self::PacketTooLarge { size, maximum },
            Unsendable::ExceedsOwnLimit { size, maximum } => {
                Self::ExceedsOwnLimit { size, maximum }
            }
            Unsendable::QosNotSupported { requested, maximum } => {
                Self::QosNotSupported { requested, maximum }
            }
            Unsendable::RetainNotSupported => Self::RetainNotSupported,
            Unsendable::Encode(error) => Self::Encode(error),
        }
    }
}

impl From<Unsendable> for CommandError {
    fn from(reason: Unsendable) -> Self {
        match reason {
            Unsendable::PacketTooLarge { size, maximum } => Self::PacketTooLarge { size, maximum },
            Unsendable::ExceedsOwnLimit { size, maximum } => {
                Self::ExceedsOwnLimit { size, maximum }
            }
            Unsendable::QosNotSupported { requested, maximum } => {
                Self::QosNotSupported { requested, maximum }
            }
            Unsendable::RetainNotSupported => Self::RetainNotSupported,
            Unsendable::Encode(error) => Self::Encode(error),
        }
    }
}

/// Receive Maximum 0 is not allowed on the wire; it means "no limit" here.
pub(super) fn effective_receive_maximum(configured: u16) -> u16 {
    if configured == 0 {
        u16::MAX
    } else {
        configured
    }
}
