//! PINGRESP (MQTT 5 §3.13, 3.1.1 §3.13): two bytes, no body.

use crate::strings::Reader;

/// The whole packet.
pub(crate) const BYTES: [u8; 2] = [0xD0, 0x00];

/// A PINGRESP has no body.
pub(crate) fn read(r: &Reader<'_>) -> Result<(), String> {
    super::empty(r)
}
