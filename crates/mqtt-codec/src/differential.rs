//! Differential tests against the oracle (`mqtt5-protocol`, see `oracle.rs`): what one encodes
//! the other decodes to the same packet, both ways and for both versions; on damaged bytes the
//! two never decode the same bytes to different packets, and accept different sets of bytes only
//! where we decided to differ:
//! - CONNACK: we keep any code as received ([`crate::ConnectReason::Other`]); the oracle refuses
//!   codes it does not know, and 3.1.1 codes above 5.
//! - A 5.0 CONNECT with a password and no user name: 5.0 allows it (3.1.2.9), the oracle
//!   refuses it as 3.1.1 does.
//! - We refuse, as the spec requires and the oracle does not: reserved bits or QoS 3 in a 3.1.1
//!   SUBSCRIBE's options byte (MQTT-3.8.3-4; the oracle reads QoS 3 there as QoS 0), AUTH reason
//!   codes other than 0x00/0x18/0x19, and a property id written in more bytes than needed
//!   (MQTT-1.5.5-1).

use proptest::prelude::*;

use crate::error::DecodeError;
use crate::framer::decode;
use crate::packet::{Packet, ProtocolVersion};
use crate::{encode, oracle, strategies};

fn ours(packet: &Packet, version: ProtocolVersion) -> Vec<u8> {
    let mut out = Vec::new();
    encode(packet, version, &mut out).expect("ours encodes");
    out
}

/// Bytes the oracle accepts and we refuse on purpose (see the module docs).
fn we_are_stricter(bytes: &[u8], version: ProtocolVersion, ours: &DecodeError) -> bool {
    let DecodeError::Malformed { detail, .. } = ours else {
        return false;
    };
    let long_property_id = detail
        .strip_prefix("invalid property id 0x")
        .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        .is_some_and(|id| id >= 0x80);
    long_property_id
        || match bytes[0] >> 4 {
            8 => {
                version == ProtocolVersion::V311
                    && (detail.starts_with("reserved subscription option")
                        || detail.starts_with("subscription QoS 3"))
            }
            15 => detail.starts_with("invalid AUTH reason code"),
            _ => false,
        }
}

/// Bytes we accept and the oracle refuses, on purpose (see the module docs).
fn we_are_laxer(bytes: &[u8], version: ProtocolVersion, theirs: &str) -> bool {
    match bytes[0] >> 4 {
        1 => version == ProtocolVersion::V5 && theirs.contains("Password without username"),
        2 => true,
        _ => false,
    }
}

fn version_and_packet() -> impl Strategy<Value = (ProtocolVersion, Packet)> {
    strategies::version().prop_flat_map(|v| (Just(v), strategies::packet(v)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn the_oracle_decodes_what_we_encode_and_we_decode_what_it_encodes(
        (version, packet) in version_and_packet()
    ) {
        let ours = ours(&packet, version);
        let theirs = oracle::encode(&packet, version).expect("the oracle encodes");
        // Property order may differ (the oracle keeps them in a hash map), sizes may not.
        prop_assert_eq!(ours.len(), theirs.len());
        prop_assert_eq!(oracle::decode(&ours, version), Ok(packet.clone()), "ours {:02X?}", ours);
        prop_assert_eq!(decode(&theirs, version), Ok(packet), "theirs {:02X?}", theirs);
    }

    #[test]
    fn on_damaged_bytes_both_decoders_never_disagree_on_what_they_both_accept(
        (version, packet, flips) in version_and_packet().prop_flat_map(|(v, p)| {
            (
                Just(v),
                Just(p),
                proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            )
        })
    ) {
        let mut bytes = ours(&packet, version);
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            // Keep the fixed header, so that the damage lands in a body of the right length.
            if i >= 2 {
                bytes[i] = byte;
            }
        }
        match (decode(&bytes, version), oracle::decode(&bytes, version)) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{:02X?}", bytes),
            (Err(ours), Ok(_)) => prop_assert!(
                we_are_stricter(&bytes, version, &ours),
                "only the oracle accepts {:02X?}: {}", bytes, ours
            ),
            (Ok(_), Err(theirs)) => prop_assert!(
                we_are_laxer(&bytes, version, &theirs),
                "only we accept {:02X?} ({})", bytes, theirs
            ),
            (Err(_), Err(_)) => {}
        }
    }
}

/// The case CI's random seed found: a 3.1.1 SUBSCRIBE whose first options byte reads QoS 3.
/// We refuse it (MQTT-3.8.3-4); the oracle reads it as QoS 0.
#[test]
fn qos_3_in_a_3_1_1_subscribe_is_ours_to_refuse() {
    let bytes = [
        0x82, 0x0E, 0x0D, 0xD6, 0x00, 0x01, 0x5F, 0x03, 0x00, 0x05, 0x5F, 0x2D, 0x75, 0x5F, 0x20,
        0x00,
    ];
    let ours = decode(&bytes, ProtocolVersion::V311).expect_err("QoS 3 is malformed");
    assert!(oracle::decode(&bytes, ProtocolVersion::V311).is_ok());
    assert!(
        we_are_stricter(&bytes, ProtocolVersion::V311, &ours),
        "{ours}"
    );
}

/// Another case a long run found: a 5.0 CONNECT with the password flag and no user name.
#[test]
fn a_5_0_password_without_a_user_name_is_ours_to_accept() {
    let bytes = [
        0x10, 0x0F, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x05, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00,
    ];
    let Packet::Connect(c) = decode(&bytes, ProtocolVersion::V5).expect("5.0 allows it") else {
        panic!("not a CONNECT");
    };
    assert_eq!((c.username, c.password), (None, Some(Vec::new())));
    let theirs = oracle::decode(&bytes, ProtocolVersion::V5).expect_err("the oracle refuses");
    assert!(
        we_are_laxer(&bytes, ProtocolVersion::V5, &theirs),
        "{theirs}"
    );
}

/// The third case: a property id written in two bytes (0x96 0x00 for 0x16, authentication
/// data) inside AUTH. We refuse it there as in every other packet (MQTT-1.5.5-1).
#[test]
fn a_long_property_id_in_auth_is_ours_to_refuse() {
    let bytes = [0xF0, 0x06, 0x00, 0x04, 0x96, 0x00, 0x00, 0x00];
    let ours = decode(&bytes, ProtocolVersion::V5).expect_err("a long property id is malformed");
    assert!(oracle::decode(&bytes, ProtocolVersion::V5).is_ok());
    assert!(
        we_are_stricter(&bytes, ProtocolVersion::V5, &ours),
        "{ours}"
    );
}
