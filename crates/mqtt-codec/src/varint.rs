//! MQTT's Variable Byte Integer: 7 bits per byte, least significant first, at most 4 bytes
//! (MQTT 5 §1.5.5, 3.1.1 §2.2.3). The remaining length, property lengths and a few property
//! values use it.

use crate::error::DecodeError;

/// The largest value 4 bytes can carry (268 435 455).
pub(crate) const MAX: u32 = 0x0FFF_FFFF;

/// How many bytes `value` takes (`value` ≤ [`MAX`]).
pub(crate) fn len(value: u32) -> usize {
    match value {
        0..=0x7F => 1,
        0x80..=0x3FFF => 2,
        0x4000..=0x1F_FFFF => 3,
        _ => 4,
    }
}

/// Appends `value` (≤ [`MAX`]) to `out`.
pub(crate) fn write(mut value: u32, out: &mut Vec<u8>) {
    loop {
        let byte = (value & 0x7F) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Reads a variable byte integer at the start of `bytes`: `Ok(None)` while it is incomplete,
/// else the value and how many bytes it took. A continuation bit on the 4th byte is an error.
pub(crate) fn parse(bytes: &[u8]) -> Result<Option<(u32, usize)>, DecodeError> {
    let mut value = 0u32;
    for (i, &b) in bytes.iter().take(4).enumerate() {
        value |= u32::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
        if i == 3 {
            return Err(DecodeError::InvalidRemainingLength { fourth_byte: b });
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_s_boundaries_take_one_to_four_bytes() {
        // MQTT 5 §1.5.5, table 1-1.
        let cases: [(u32, &[u8]); 8] = [
            (0, &[0x00]),
            (127, &[0x7F]),
            (128, &[0x80, 0x01]),
            (16_383, &[0xFF, 0x7F]),
            (16_384, &[0x80, 0x80, 0x01]),
            (2_097_151, &[0xFF, 0xFF, 0x7F]),
            (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
            (MAX, &[0xFF, 0xFF, 0xFF, 0x7F]),
        ];
        for (value, bytes) in cases {
            let mut out = Vec::new();
            write(value, &mut out);
            assert_eq!(out, bytes, "{value}");
            assert_eq!(len(value), bytes.len());
            assert_eq!(parse(bytes), Ok(Some((value, bytes.len()))));
            assert_eq!(parse(&bytes[..bytes.len() - 1]), Ok(None));
        }
        assert!(parse(&[0xFF, 0xFF, 0xFF, 0xFF]).is_err());
    }
}
