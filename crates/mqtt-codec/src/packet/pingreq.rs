//! PINGREQ (MQTT 5 §3.12, 3.1.1 §3.12): two bytes, no body.

use crate::strings::Reader;

/// The whole packet.
pub(crate) const BYTES: [u8; 2] = [0xC0, 0x00];

/// A PINGREQ has no body.
pub(crate) fn read(r: &Reader<'_>) -> Result<(), String> {
    super::empty(r)
}
