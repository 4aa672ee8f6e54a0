//! Encoding and decoding: the dispatch from a [`Packet`] to its file in [`crate::packet`], and
//! from a fixed header's type nibble to the packet's reader.

use crate::error::{DecodeError, EncodeError};
use crate::packet::{
    pingreq, pingresp, Auth, ConnAck, Connect, Disconnect, Packet, ProtocolVersion, Publish,
    QosHandshake, QosHandshakeKind, SubAck, Subscribe, UnsubAck, Unsubscribe,
};
use crate::strings::Reader;

/// Packet name for a fixed-header type nibble, for errors.
pub(crate) fn type_name(nibble: u8) -> &'static str {
    match nibble {
        1 => "CONNECT",
        2 => "CONNACK",
        3 => "PUBLISH",
        4 => "PUBACK",
        5 => "PUBREC",
        6 => "PUBREL",
        7 => "PUBCOMP",
        8 => "SUBSCRIBE",
        9 => "SUBACK",
        10 => "UNSUBSCRIBE",
        11 => "UNSUBACK",
        12 => "PINGREQ",
        13 => "PINGRESP",
        14 => "DISCONNECT",
        15 => "AUTH",
        _ => "reserved packet type",
    }
}

/// Encodes `packet` for a link speaking `version`, appending the bytes to `out`.
///
/// Under MQTT 3.1.1 the v5-only fields (properties, reason codes of acks and DISCONNECT,
/// subscription options other than QoS) are not written: leave them at their defaults. AUTH does
/// not exist in 3.1.1 and is refused. On error nothing is appended to `out`.
///
/// Every packet type can be encoded (the server-side ones too), so tests can build any byte
/// stream from our types.
///
/// # Errors
/// [`EncodeError`] names the field the packet cannot carry.
pub fn encode(
    packet: &Packet,
    version: ProtocolVersion,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    encode_as::<false>(packet, version, out)
}

/// [`encode`] for a client: the packets only a server sends (CONNACK, SUBACK, UNSUBACK,
/// PINGRESP) and AUTH (a client that never sends an Authentication Method has no use for it)
/// are refused with [`EncodeError::Rejected`], so a client's build does not link their writers.
///
/// # Errors
/// As [`encode`], and [`EncodeError::Rejected`] for the packets above.
pub fn encode_client(
    packet: &Packet,
    version: ProtocolVersion,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    encode_as::<true>(packet, version, out)
}

fn encode_as<const CLIENT: bool>(
    packet: &Packet,
    version: ProtocolVersion,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let v5 = version == ProtocolVersion::V5;
    if CLIENT {
        let packet_type = match packet {
            Packet::ConnAck(_) => "CONNACK",
            Packet::SubAck(_) => "SUBACK",
            Packet::UnsubAck(_) => "UNSUBACK",
            Packet::PingResp => "PINGRESP",
            Packet::Auth(_) => "AUTH",
            _ => "",
        };
        if !packet_type.is_empty() {
            return Err(EncodeError::Rejected {
                packet_type,
                detail: "not sent by this client".into(),
            });
        }
    }
    match packet {
        Packet::Connect(c) => c.write(version, out),
        Packet::ConnAck(c) => c.write(version, out),
        Packet::Publish(p) => p.write(version, out),
        Packet::PubAck(a) => a.write(QosHandshakeKind::PubAck, version, out),
        Packet::PubRec(a) => a.write(QosHandshakeKind::PubRec, version, out),
        Packet::PubRel(a) => a.write(QosHandshakeKind::PubRel, version, out),
        Packet::PubComp(a) => a.write(QosHandshakeKind::PubComp, version, out),
        Packet::Subscribe(s) => s.write(version, out),
        Packet::SubAck(s) => s.write(version, out),
        Packet::Unsubscribe(u) => u.write(version, out),
        Packet::UnsubAck(u) => u.write(version, out),
        Packet::PingReq => {
            out.extend_from_slice(&pingreq::BYTES);
            Ok(())
        }
        Packet::PingResp => {
            out.extend_from_slice(&pingresp::BYTES);
            Ok(())
        }
        Packet::Disconnect(d) => d.write(version, out),
        Packet::Auth(_) if !v5 => Err(EncodeError::NotInVersion {
            packet_type: "AUTH",
            version,
        }),
        Packet::Auth(a) => a.write(out),
    }
}

/// A body decoder: [`decode_body`] or [`decode_client_body`], chosen by the framer.
pub(crate) type DecodeBody = fn(u8, &[u8], ProtocolVersion) -> Result<Packet, DecodeError>;

/// Decodes one packet from its first byte and its complete body (the bytes after the
/// remaining-length field). Called by the framer once the whole packet is buffered; the body is
/// borrowed, so a PUBLISH payload is copied once, into the packet.
pub(crate) fn decode_body(
    first_byte: u8,
    body: &[u8],
    version: ProtocolVersion,
) -> Result<Packet, DecodeError> {
    decode_body_as::<false>(first_byte, body, version)
}

/// [`decode_body`] for a client's link ([`crate::Framer::client`]): CONNECT, SUBSCRIBE and
/// UNSUBSCRIBE, which only a client sends, and AUTH, which a client that never sends an
/// Authentication Method refuses, are not parsed. Once their fixed-header flags are
/// checked they come out as that packet with default fields and the body ignored, for the
/// caller to refuse as a protocol error; so a client's build does not link their readers.
pub(crate) fn decode_client_body(
    first_byte: u8,
    body: &[u8],
    version: ProtocolVersion,
) -> Result<Packet, DecodeError> {
    decode_body_as::<true>(first_byte, body, version)
}

fn decode_body_as<const CLIENT: bool>(
    first_byte: u8,
    body: &[u8],
    version: ProtocolVersion,
) -> Result<Packet, DecodeError> {
    let nibble = first_byte >> 4;
    let flags = first_byte & 0x0F;
    let name = type_name(nibble);
    let v5 = version == ProtocolVersion::V5;
    if nibble == 0 || (nibble == 15 && !v5) {
        return Err(DecodeError::UnexpectedPacketType(nibble));
    }
    let flags_ok = match nibble {
        3 => true, // PUBLISH: DUP, QoS and RETAIN are checked by its reader
        6 | 8 | 10 => flags == 0x02,
        _ => flags == 0,
    };
    if !flags_ok {
        return Err(DecodeError::InvalidFlags {
            packet_type: name,
            flags,
        });
    }
    if CLIENT {
        match nibble {
            1 => return Ok(Packet::Connect(Box::new(Connect::empty(version)))),
            8 => {
                return Ok(Packet::Subscribe(Subscribe {
                    packet_id: 0,
                    filters: Vec::new(),
                    subscription_identifier: None,
                    user_properties: Vec::new(),
                }))
            }
            10 => {
                return Ok(Packet::Unsubscribe(Unsubscribe {
                    packet_id: 0,
                    filters: Vec::new(),
                    user_properties: Vec::new(),
                }))
            }
            // A client that never sends an Authentication Method refuses any AUTH.
            15 => return Ok(Packet::Auth(Auth::default())),
            _ => {}
        }
    }
    let mut r = Reader::new(body);
    let read = |r: &mut Reader<'_>| -> Result<Packet, String> {
        Ok(match nibble {
            1 => Packet::Connect(Box::new(Connect::read(r)?)),
            2 => Packet::ConnAck(Box::new(ConnAck::read(r, version)?)),
            3 => Packet::Publish(Box::new(Publish::read(flags, r, version)?)),
            4 => Packet::PubAck(QosHandshake::read(QosHandshakeKind::PubAck, r, version)?),
            5 => Packet::PubRec(QosHandshake::read(QosHandshakeKind::PubRec, r, version)?),
            6 => Packet::PubRel(QosHandshake::read(QosHandshakeKind::PubRel, r, version)?),
            7 => Packet::PubComp(QosHandshake::read(QosHandshakeKind::PubComp, r, version)?),
            8 => Packet::Subscribe(Subscribe::read(r, version)?),
            9 => Packet::SubAck(SubAck::read(r, version)?),
            10 => Packet::Unsubscribe(Unsubscribe::read(r, version)?),
            11 => Packet::UnsubAck(UnsubAck::read(r, version)?),
            12 => {
                pingreq::read(r)?;
                Packet::PingReq
            }
            13 => {
                pingresp::read(r)?;
                Packet::PingResp
            }
            14 => Packet::Disconnect(Disconnect::read(r, version)?),
            _ => Packet::Auth(Auth::read(r)?),
        })
    };
    let malformed = |detail: String| DecodeError::Malformed {
        packet_type: name,
        detail,
    };
    let packet = read(&mut r).map_err(malformed)?;
    if !r.is_empty() {
        return Err(malformed(format!("{} trailing bytes", r.remaining())));
    }
    Ok(packet)
}

#[cfg(test)]
mod tests {
    //! Byte vectors written by hand from the MQTT 3.1.1 and 5.0 specs (chapter 3 of each).

    use super::*;
    use crate::framer::decode;
    use crate::packet::{LastWill, QoS, RetainHandling, SubscribeFilter};
    use crate::reason::{ConnectReason, DisconnectReason, PubAckReason, SubscribeReason};
    use crate::strategies;
    use proptest::prelude::*;
    use ProtocolVersion::{V311, V5};

    fn enc(packet: &Packet, version: ProtocolVersion) -> Vec<u8> {
        let mut out = Vec::new();
        encode(packet, version, &mut out).expect("encodes");
        out
    }

    /// Checks both directions: `packet` encodes to `bytes` and `bytes` decode to `packet`.
    fn both_ways(packet: &Packet, version: ProtocolVersion, bytes: &[u8]) {
        assert_eq!(enc(packet, version), bytes, "encoding {packet:?}");
        assert_eq!(
            decode(bytes, version).as_ref(),
            Ok(packet),
            "decoding {bytes:02X?}"
        );
    }

    fn connect(version: ProtocolVersion) -> Connect {
        Connect {
            client_id: "a".into(),
            clean_start: true,
            keep_alive: 60,
            ..Connect::empty(version)
        }
    }

    fn publish(qos: QoS, packet_id: Option<u16>) -> Publish {
        Publish {
            qos,
            packet_id,
            topic: "a/b".into(),
            payload: b"hi".to_vec(),
            ..Publish::default()
        }
    }

    fn ack(packet_id: u16, reason: u8) -> QosHandshake {
        QosHandshake {
            packet_id,
            reason,
            ..QosHandshake::default()
        }
    }

    #[test]
    fn a_311_puback_with_a_trailing_reason_code_is_read_as_that_reason() {
        // The embedded mqtt5 broker (0.49) refuses a retained 3.1.1 publish with this.
        let refused = [0x40, 0x03, 0x00, 0x07, 0x97];
        assert_eq!(decode(&refused, V311), Ok(Packet::PubAck(ack(7, 0x97))));
        assert_eq!(
            decode(&[0x40, 0x02, 0x00, 0x07], V311),
            Ok(Packet::PubAck(ack(7, 0)))
        );
        assert!(decode(&[0x40, 0x01, 0x00], V311).is_err());
    }

    #[test]
    fn connect_311_with_client_id_a_and_keep_alive_60_matches_the_spec_layout() {
        let bytes = [
            0x10, 0x0D, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x01,
            b'a',
        ];
        both_ways(&Packet::Connect(Box::new(connect(V311))), V311, &bytes);
    }

    #[test]
    fn connect_5_without_properties_has_an_empty_property_length() {
        let bytes = [
            0x10, 0x0E, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, 0x00, 0x00,
            0x01, b'a',
        ];
        both_ways(&Packet::Connect(Box::new(connect(V5))), V5, &bytes);
    }

    #[test]
    fn connect_5_carries_session_expiry_interval() {
        let c = Connect {
            session_expiry_interval: Some(600),
            ..connect(V5)
        };
        let bytes = [
            0x10, 0x13, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, 0x05, 0x11,
            0x00, 0x00, 0x02, 0x58, 0x00, 0x01, b'a',
        ];
        both_ways(&Packet::Connect(Box::new(c)), V5, &bytes);
    }

    fn will() -> LastWill {
        LastWill {
            topic: "w".into(),
            payload: b"bye".to_vec(),
            qos: QoS::AtLeastOnce,
            retain: true,
            ..LastWill::default()
        }
    }

    #[test]
    fn connect_311_with_will_and_credentials_sets_every_flag() {
        let c = Connect {
            username: Some("u".into()),
            password: Some(b"p".to_vec()),
            will: Some(will()),
            ..connect(V311)
        };
        let bytes = [
            0x10, 0x1B, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0xEE, 0x00, 0x3C, // header
            0x00, 0x01, b'a', // client id
            0x00, 0x01, b'w', 0x00, 0x03, b'b', b'y', b'e', // will
            0x00, 0x01, b'u', 0x00, 0x01, b'p', // credentials
        ];
        both_ways(&Packet::Connect(Box::new(c)), V311, &bytes);
    }

    #[test]
    fn connect_5_writes_will_properties_before_the_will_topic() {
        let c = Connect {
            username: Some("u".into()),
            password: Some(b"p".to_vec()),
            will: Some(LastWill {
                delay_interval: Some(5),
                ..will()
            }),
            ..connect(V5)
        };
        let bytes = [
            0x10, 0x22, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0xEE, 0x00, 0x3C,
            0x00, // header
            0x00, 0x01, b'a', // client id
            0x05, 0x18, 0x00, 0x00, 0x00, 0x05, // will properties: delay 5 s
            0x00, 0x01, b'w', 0x00, 0x03, b'b', b'y', b'e', // will
            0x00, 0x01, b'u', 0x00, 0x01, b'p', // credentials
        ];
        both_ways(&Packet::Connect(Box::new(c)), V5, &bytes);
    }

    #[test]
    fn connect_5_round_trips_every_property() {
        let c = Connect {
            username: Some("user".into()),
            password: Some(vec![0, 1, 2]),
            will: Some(LastWill {
                delay_interval: Some(5),
                payload_format_utf8: Some(true),
                message_expiry_interval: Some(60),
                content_type: Some("application/json".into()),
                response_topic: Some("r".into()),
                correlation_data: Some(vec![9]),
                user_properties: vec![("k".into(), "v".into()), ("k".into(), "w".into())],
                ..will()
            }),
            session_expiry_interval: Some(600),
            receive_maximum: Some(64),
            maximum_packet_size: Some(262_144),
            topic_alias_maximum: Some(16),
            request_response_information: Some(false),
            request_problem_information: Some(true),
            authentication_method: Some("token".into()),
            authentication_data: Some(b"secret".to_vec()),
            user_properties: vec![("app".into(), "livechat".into())],
            ..connect(V5)
        };
        let packet = Packet::Connect(Box::new(c));
        assert_eq!(decode(&enc(&packet, V5), V5), Ok(packet));
    }

    #[test]
    fn connack_311_return_codes_map_to_typed_outcomes() {
        let cases = [
            (0x00, ConnectReason::Success),
            (0x01, ConnectReason::UnsupportedProtocolVersion),
            (0x02, ConnectReason::ClientIdentifierNotValid),
            (0x03, ConnectReason::ServerUnavailable),
            (0x04, ConnectReason::BadUserNameOrPassword),
            (0x05, ConnectReason::NotAuthorized),
        ];
        for (code, reason) in cases {
            let bytes = [0x20, 0x02, 0x01, code];
            let expected = ConnAck {
                session_present: true,
                code,
                ..ConnAck::default()
            };
            both_ways(&Packet::ConnAck(Box::new(expected.clone())), V311, &bytes);
            assert_eq!(expected.reason(V311), reason);
        }
    }

    #[test]
    fn connack_5_surfaces_every_property_it_carries() {
        let bytes = [
            0x20, 0x1B, 0x00, 0x00, 0x18, // flags, success, 24 bytes of properties
            0x21, 0x00, 0x0A, // receive maximum 10
            0x24, 0x01, // maximum QoS 1
            0x22, 0x00, 0x10, // topic alias maximum 16
            0x12, 0x00, 0x03, b'a', b'b', b'c', // assigned client identifier
            0x13, 0x00, 0x1E, // server keep alive 30
            0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // user property
        ];
        let expected = ConnAck {
            receive_maximum: Some(10),
            maximum_qos: Some(QoS::AtLeastOnce),
            topic_alias_maximum: Some(16),
            assigned_client_identifier: Some("abc".into()),
            server_keep_alive: Some(30),
            user_properties: vec![("k".into(), "v".into())],
            ..ConnAck::default()
        };
        assert_eq!(decode(&bytes, V5), Ok(Packet::ConnAck(Box::new(expected))));
    }

    #[test]
    fn connack_5_refusal_0x86_carries_its_reason_string() {
        let bytes = [
            0x20, 0x09, 0x00, 0x86, 0x06, 0x1F, 0x00, 0x03, b'b', b'a', b'd',
        ];
        let expected = ConnAck {
            code: 0x86,
            reason_string: Some("bad".into()),
            ..ConnAck::default()
        };
        both_ways(&Packet::ConnAck(Box::new(expected.clone())), V5, &bytes);
        assert_eq!(expected.reason(V5), ConnectReason::BadUserNameOrPassword);
    }

    #[test]
    fn connack_5_not_authorized_without_properties() {
        let expected = ConnAck {
            code: 0x87,
            ..ConnAck::default()
        };
        both_ways(
            &Packet::ConnAck(Box::new(expected.clone())),
            V5,
            &[0x20, 0x03, 0x00, 0x87, 0x00],
        );
        assert_eq!(expected.reason(V5), ConnectReason::NotAuthorized);
    }

    #[test]
    fn a_311_connack_on_a_v5_link_reads_as_unsupported_protocol_version() {
        let Ok(Packet::ConnAck(connack)) = decode(&[0x20, 0x02, 0x00, 0x01], V5) else {
            panic!("a 2-byte CONNACK must decode on a v5 link");
        };
        assert_eq!(
            connack.reason(V5),
            ConnectReason::UnsupportedProtocolVersion
        );
    }

    #[test]
    fn connack_with_reserved_flags_or_extra_311_bytes_is_malformed() {
        assert!(matches!(
            decode(&[0x20, 0x02, 0x02, 0x00], V311),
            Err(DecodeError::Malformed {
                packet_type: "CONNACK",
                ..
            })
        ));
        assert!(matches!(
            decode(&[0x20, 0x03, 0x00, 0x00, 0x00], V311),
            Err(DecodeError::Malformed {
                packet_type: "CONNACK",
                ..
            })
        ));
        assert!(matches!(
            decode(&[0x20, 0x01, 0x00], V5),
            Err(DecodeError::Malformed {
                packet_type: "CONNACK",
                ..
            })
        ));
    }

    #[test]
    fn publish_311_qos0_has_no_packet_id() {
        let bytes = [0x30, 0x07, 0x00, 0x03, b'a', b'/', b'b', b'h', b'i'];
        both_ways(
            &Packet::Publish(Box::new(publish(QoS::AtMostOnce, None))),
            V311,
            &bytes,
        );
    }

    #[test]
    fn publish_311_qos1_with_dup_and_retain_sets_the_header_flags() {
        let p = Publish {
            dup: true,
            retain: true,
            ..publish(QoS::AtLeastOnce, Some(10))
        };
        let bytes = [
            0x3B, 0x09, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x0A, b'h', b'i',
        ];
        both_ways(&Packet::Publish(Box::new(p)), V311, &bytes);
    }

    #[test]
    fn publish_5_qos0_has_an_empty_property_length() {
        let bytes = [0x30, 0x08, 0x00, 0x03, b'a', b'/', b'b', 0x00, b'h', b'i'];
        both_ways(
            &Packet::Publish(Box::new(publish(QoS::AtMostOnce, None))),
            V5,
            &bytes,
        );
    }

    #[test]
    fn publish_5_qos2_carries_a_topic_alias() {
        let p = Publish {
            topic_alias: Some(5),
            ..publish(QoS::ExactlyOnce, Some(10))
        };
        let bytes = [
            0x34, 0x0D, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x0A, 0x03, 0x23, 0x00, 0x05, b'h',
            b'i',
        ];
        both_ways(&Packet::Publish(Box::new(p)), V5, &bytes);
    }

    #[test]
    fn publish_5_with_several_subscription_identifiers_keeps_them_all() {
        let bytes = [
            0x30, 0x0B, 0x00, 0x03, b'a', b'/', b'b', // QoS 0: no packet id
            0x05, 0x0B, 0x01, 0x0B, 0x80, 0x01, // subscription identifiers 1 and 128
        ];
        let expected = Publish {
            subscription_identifiers: vec![1, 128],
            payload: vec![],
            ..publish(QoS::AtMostOnce, None)
        };
        assert_eq!(decode(&bytes, V5), Ok(Packet::Publish(Box::new(expected))));
    }

    #[test]
    fn publish_with_qos_3_is_malformed() {
        let bytes = [0x36, 0x07, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x01];
        assert!(matches!(
            decode(&bytes, V311),
            Err(DecodeError::Malformed {
                packet_type: "PUBLISH",
                ..
            })
        ));
    }

    #[test]
    fn the_four_acks_are_two_bytes_in_311() {
        both_ways(&Packet::PubAck(ack(10, 0)), V311, &[0x40, 0x02, 0x00, 0x0A]);
        both_ways(&Packet::PubRec(ack(10, 0)), V311, &[0x50, 0x02, 0x00, 0x0A]);
        both_ways(&Packet::PubRel(ack(10, 0)), V311, &[0x62, 0x02, 0x00, 0x0A]);
        both_ways(
            &Packet::PubComp(ack(10, 0)),
            V311,
            &[0x70, 0x02, 0x00, 0x0A],
        );
    }

    #[test]
    fn successful_acks_use_the_short_form_in_5() {
        both_ways(&Packet::PubAck(ack(10, 0)), V5, &[0x40, 0x02, 0x00, 0x0A]);
        both_ways(&Packet::PubRec(ack(10, 0)), V5, &[0x50, 0x02, 0x00, 0x0A]);
        both_ways(&Packet::PubRel(ack(10, 0)), V5, &[0x62, 0x02, 0x00, 0x0A]);
        both_ways(&Packet::PubComp(ack(10, 0)), V5, &[0x70, 0x02, 0x00, 0x0A]);
    }

    #[test]
    fn puback_5_not_authorized_decodes_with_or_without_property_length() {
        for bytes in [
            &[0x40, 0x03, 0x00, 0x0A, 0x87][..],
            &[0x40, 0x04, 0x00, 0x0A, 0x87, 0x00][..],
        ] {
            let Ok(Packet::PubAck(a)) = decode(bytes, V5) else {
                panic!("{bytes:02X?} must decode");
            };
            assert_eq!(a, ack(10, 0x87));
            assert_eq!(a.puback_reason(V5), PubAckReason::NotAuthorized);
        }
        assert_eq!(
            enc(&Packet::PubAck(ack(10, 0x87)), V5),
            [0x40, 0x04, 0x00, 0x0A, 0x87, 0x00]
        );
    }

    #[test]
    fn pubrel_5_packet_identifier_not_found_and_reason_string() {
        let a = QosHandshake {
            reason_string: Some("gone".into()),
            ..ack(10, 0x92)
        };
        let bytes = [
            0x62, 0x0B, 0x00, 0x0A, 0x92, 0x07, 0x1F, 0x00, 0x04, b'g', b'o', b'n', b'e',
        ];
        both_ways(&Packet::PubRel(a), V5, &bytes);
    }

    #[test]
    fn a_codec_refusal_keeps_the_codec_s_reason_in_the_detail() {
        let detail = |bytes: &[u8]| match decode(bytes, V5) {
            Err(DecodeError::Malformed { detail, .. }) => detail,
            other => panic!("expected a malformed packet, got {other:?}"),
        };
        assert_eq!(
            detail(&[0x90, 0x03, 0x00, 0x01, 0x00]),
            "SUBACK packet must contain at least one reason code"
        );
        assert_eq!(
            detail(&[0x20, 0x04, 0x00, 0x00, 0x01, 0x7F]),
            "invalid property id 0x7F"
        );
    }

    #[test]
    fn bytes_after_an_ack_s_properties_are_malformed() {
        assert!(matches!(
            decode(&[0x40, 0x05, 0x00, 0x0A, 0x87, 0x00, 0xFF], V5),
            Err(DecodeError::Malformed {
                packet_type: "PUBACK",
                ..
            })
        ));
    }

    fn sub_filter(filter: &str, qos: QoS) -> SubscribeFilter {
        SubscribeFilter {
            filter: filter.into(),
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: RetainHandling::SendAtSubscribe,
        }
    }

    #[test]
    fn subscribe_311_has_flags_2_and_a_qos_byte_per_filter() {
        let s = Subscribe {
            packet_id: 1,
            filters: vec![sub_filter("a/#", QoS::AtLeastOnce)],
            subscription_identifier: None,
            user_properties: vec![],
        };
        let bytes = [0x82, 0x08, 0x00, 0x01, 0x00, 0x03, b'a', b'/', b'#', 0x01];
        both_ways(&Packet::Subscribe(s), V311, &bytes);
    }

    #[test]
    fn subscribe_5_packs_no_local_retain_as_published_and_retain_handling() {
        let s = Subscribe {
            packet_id: 1,
            filters: vec![SubscribeFilter {
                no_local: true,
                retain_as_published: true,
                retain_handling: RetainHandling::DoNotSend,
                ..sub_filter("a/#", QoS::AtLeastOnce)
            }],
            subscription_identifier: None,
            user_properties: vec![],
        };
        let bytes = [
            0x82, 0x09, 0x00, 0x01, 0x00, 0x00, 0x03, b'a', b'/', b'#', 0x2D,
        ];
        both_ways(&Packet::Subscribe(s), V5, &bytes);
    }

    #[test]
    fn subscribe_5_carries_a_subscription_identifier() {
        let s = Subscribe {
            packet_id: 2,
            filters: vec![sub_filter("x", QoS::AtMostOnce)],
            subscription_identifier: Some(200),
            user_properties: vec![],
        };
        let bytes = [
            0x82, 0x0A, 0x00, 0x02, 0x03, 0x0B, 0xC8, 0x01, 0x00, 0x01, b'x', 0x00,
        ];
        both_ways(&Packet::Subscribe(s), V5, &bytes);
    }

    #[test]
    fn suback_311_0x80_is_a_refusal() {
        let s = SubAck {
            packet_id: 1,
            codes: vec![0x00, 0x80],
            ..SubAck::default()
        };
        both_ways(
            &Packet::SubAck(s.clone()),
            V311,
            &[0x90, 0x04, 0x00, 0x01, 0x00, 0x80],
        );
        let reasons: Vec<_> = s.reasons(V311).collect();
        assert_eq!(
            reasons,
            [SubscribeReason::GrantedQoS0, SubscribeReason::Refused]
        );
    }

    #[test]
    fn suback_5_0x87_is_not_authorized() {
        let s = SubAck {
            packet_id: 1,
            codes: vec![0x01, 0x87],
            ..SubAck::default()
        };
        both_ways(
            &Packet::SubAck(s.clone()),
            V5,
            &[0x90, 0x05, 0x00, 0x01, 0x00, 0x01, 0x87],
        );
        let reasons: Vec<_> = s.reasons(V5).collect();
        assert_eq!(
            reasons,
            [SubscribeReason::GrantedQoS1, SubscribeReason::NotAuthorized]
        );
    }

    #[test]
    fn suback_with_wrong_flags_is_refused() {
        assert_eq!(
            decode(&[0x92, 0x03, 0x00, 0x01, 0x00], V311),
            Err(DecodeError::InvalidFlags {
                packet_type: "SUBACK",
                flags: 2
            })
        );
    }

    #[test]
    fn unsubscribe_in_both_versions() {
        let u = Unsubscribe {
            packet_id: 2,
            filters: vec!["a/#".into()],
            user_properties: vec![],
        };
        both_ways(
            &Packet::Unsubscribe(u.clone()),
            V311,
            &[0xA2, 0x07, 0x00, 0x02, 0x00, 0x03, b'a', b'/', b'#'],
        );
        both_ways(
            &Packet::Unsubscribe(u),
            V5,
            &[0xA2, 0x08, 0x00, 0x02, 0x00, 0x00, 0x03, b'a', b'/', b'#'],
        );
    }

    #[test]
    fn unsuback_311_has_no_codes_and_5_has_one_per_filter() {
        let u311 = UnsubAck {
            packet_id: 2,
            ..UnsubAck::default()
        };
        both_ways(&Packet::UnsubAck(u311), V311, &[0xB0, 0x02, 0x00, 0x02]);
        let u5 = UnsubAck {
            packet_id: 2,
            codes: vec![0x00, 0x11],
            ..UnsubAck::default()
        };
        both_ways(
            &Packet::UnsubAck(u5),
            V5,
            &[0xB0, 0x05, 0x00, 0x02, 0x00, 0x00, 0x11],
        );
    }

    #[test]
    fn pingreq_and_pingresp_are_two_bytes_in_both_versions() {
        for version in [V311, V5] {
            both_ways(&Packet::PingReq, version, &[0xC0, 0x00]);
            both_ways(&Packet::PingResp, version, &[0xD0, 0x00]);
        }
    }

    #[test]
    fn pingresp_with_a_body_is_malformed() {
        assert!(matches!(
            decode(&[0xD0, 0x01, 0x00], V311),
            Err(DecodeError::Malformed {
                packet_type: "PINGRESP",
                ..
            })
        ));
    }

    #[test]
    fn normal_disconnect_is_two_bytes_in_both_versions() {
        for version in [V311, V5] {
            both_ways(
                &Packet::Disconnect(Disconnect::default()),
                version,
                &[0xE0, 0x00],
            );
        }
    }

    #[test]
    fn disconnect_5_session_taken_over_decodes_in_its_short_and_long_forms() {
        let d = Disconnect {
            reason: 0x8E,
            ..Disconnect::default()
        };
        both_ways(&Packet::Disconnect(d.clone()), V5, &[0xE0, 0x01, 0x8E]);
        assert_eq!(
            decode(&[0xE0, 0x02, 0x8E, 0x00], V5),
            Ok(Packet::Disconnect(d.clone()))
        );
        assert_eq!(d.typed_reason(V5), DisconnectReason::SessionTakenOver);
    }

    #[test]
    fn disconnect_5_carries_server_reference() {
        let d = Disconnect {
            reason: 0x9C,
            server_reference: Some("b2".into()),
            ..Disconnect::default()
        };
        both_ways(
            &Packet::Disconnect(d),
            V5,
            &[0xE0, 0x07, 0x9C, 0x05, 0x1C, 0x00, 0x02, b'b', b'2'],
        );
    }

    #[test]
    fn auth_5_success_is_two_bytes_and_continue_names_its_method() {
        both_ways(&Packet::Auth(Auth::default()), V5, &[0xF0, 0x00]);
        let a = Auth {
            reason: 0x18,
            authentication_method: Some("SCRAM".into()),
            ..Auth::default()
        };
        both_ways(
            &Packet::Auth(a),
            V5,
            &[
                0xF0, 0x0A, 0x18, 0x08, 0x15, 0x00, 0x05, b'S', b'C', b'R', b'A', b'M',
            ],
        );
    }

    #[test]
    fn auth_does_not_exist_in_311() {
        let mut out = vec![1];
        assert_eq!(
            encode(&Packet::Auth(Auth::default()), V311, &mut out),
            Err(EncodeError::NotInVersion {
                packet_type: "AUTH",
                version: V311
            })
        );
        assert_eq!(out, [1], "nothing appended on error");
        assert_eq!(
            decode(&[0xF0, 0x00], V311),
            Err(DecodeError::UnexpectedPacketType(15))
        );
    }

    #[test]
    fn reserved_packet_type_0_is_refused() {
        assert_eq!(
            decode(&[0x00, 0x00], V5),
            Err(DecodeError::UnexpectedPacketType(0))
        );
    }

    #[test]
    fn encode_refuses_what_the_packet_cannot_carry() {
        let mut out = Vec::new();
        let no_id = Packet::Publish(Box::new(publish(QoS::AtLeastOnce, None)));
        assert_eq!(
            encode(&no_id, V5, &mut out),
            Err(EncodeError::PacketIdMismatch {
                qos: QoS::AtLeastOnce,
                packet_id: None
            })
        );
        let qos0_with_id = Packet::Publish(Box::new(publish(QoS::AtMostOnce, Some(1))));
        assert!(matches!(
            encode(&qos0_with_id, V5, &mut out),
            Err(EncodeError::PacketIdMismatch { .. })
        ));
        assert_eq!(
            encode(&Packet::PubAck(ack(0, 0)), V5, &mut out),
            Err(EncodeError::ZeroPacketId {
                packet_type: "PUBACK"
            })
        );
        assert_eq!(
            encode(&Packet::PubAck(ack(1, 0x8E)), V5, &mut out),
            Err(EncodeError::InvalidReasonCode {
                packet_type: "PUBACK",
                code: 0x8E
            })
        );
        let password_only = Connect {
            password: Some(b"p".to_vec()),
            ..connect(V311)
        };
        assert_eq!(
            encode(&Packet::Connect(Box::new(password_only)), V311, &mut out),
            Err(EncodeError::PasswordWithoutUsername)
        );
        assert_eq!(
            encode(&Packet::Connect(Box::new(connect(V5))), V311, &mut out),
            Err(EncodeError::VersionMismatch {
                packet: V5,
                link: V311
            })
        );
        let empty = Subscribe {
            packet_id: 1,
            filters: vec![],
            subscription_identifier: None,
            user_properties: vec![],
        };
        assert_eq!(
            encode(&Packet::Subscribe(empty), V5, &mut out),
            Err(EncodeError::Empty {
                packet_type: "SUBSCRIBE"
            })
        );
        let nul_topic = Publish {
            topic: "a\0b".into(),
            ..publish(QoS::AtMostOnce, None)
        };
        assert!(matches!(
            encode(&Packet::Publish(Box::new(nul_topic)), V5, &mut out),
            Err(EncodeError::Rejected {
                packet_type: "PUBLISH",
                ..
            })
        ));
        assert!(out.is_empty(), "nothing appended on error");
    }

    proptest! {
        #[test]
        fn any_valid_packet_survives_encode_then_decode(
            (version, packet) in strategies::version()
                .prop_flat_map(|v| (Just(v), strategies::packet(v)))
        ) {
            let mut bytes = Vec::new();
            encode(&packet, version, &mut bytes).unwrap();
            prop_assert_eq!(decode(&bytes, version), Ok(packet));
        }

        #[test]
        fn encode_client_writes_what_encode_does_and_refuses_the_server_s_packets(
            (version, packet) in strategies::version()
                .prop_flat_map(|v| (Just(v), strategies::packet(v)))
        ) {
            let mut full = Vec::new();
            encode(&packet, version, &mut full).unwrap();
            let mut client = Vec::new();
            let result = encode_client(&packet, version, &mut client);
            if matches!(
                packet,
                Packet::ConnAck(_)
                    | Packet::SubAck(_)
                    | Packet::UnsubAck(_)
                    | Packet::PingResp
                    | Packet::Auth(_)
            ) {
                let rejected = matches!(result, Err(EncodeError::Rejected { .. }));
                prop_assert!(rejected, "{:?}", result);
                prop_assert!(client.is_empty());
            } else {
                prop_assert_eq!(result, Ok(()));
                prop_assert_eq!(client, full);
            }
        }
    }
}
