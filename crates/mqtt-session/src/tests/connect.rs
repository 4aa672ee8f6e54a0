//! CONNECT / CONNACK, refusals and the protocol switch.

use mqtt_codec::packet::{Packet, ProtocolVersion, QoS};

use super::*;
use crate::{ConnectReason, LinkDownReason};

#[test]
fn mqtt5_connect_announces_our_limits_and_a_clean_start() {
    let mut h = Harness::v5();
    let connect = h.open(1);
    assert_eq!(connect.protocol, ProtocolVersion::V5);
    assert_eq!(connect.client_id, "test-client");
    assert!(
        !connect.clean_start,
        "a persistent session is asked for with Clean Start 0 from the first CONNECT"
    );
    assert_eq!(connect.keep_alive, 30);
    assert_eq!(connect.username.as_deref(), Some("alice"));
    assert_eq!(connect.password.as_deref(), Some(&b"token-1"[..]));
    assert_eq!(connect.session_expiry_interval, Some(600));
    assert_eq!(connect.receive_maximum, Some(64));
    assert_eq!(connect.maximum_packet_size, Some(65_536));
    assert_eq!(connect.topic_alias_maximum, Some(16));
    assert!(!h.session.is_connected());
    assert_eq!(h.session.connecting_link(), Some(LinkId(1)));
}

#[test]
fn mqtt5_without_session_expiry_starts_clean() {
    let mut h = Harness::new(crate::SessionConfig {
        session_expiry: 0,
        ..config(ProtocolVersion::V5)
    });
    let connect = h.open(1);
    assert!(connect.clean_start);
    assert_eq!(connect.session_expiry_interval, None);
}

#[test]
fn mqtt5_connack_connects_and_reports_the_server_limits() {
    let mut h = Harness::v5();
    h.open(1);
    h.reply(
        1,
        connack_with(|a| {
            a.receive_maximum = Some(10);
            a.maximum_packet_size = Some(4096);
            a.maximum_qos = Some(QoS::AtLeastOnce);
            a.retain_available = Some(false);
            a.server_keep_alive = Some(20);
            a.assigned_client_identifier = Some("assigned-7".into());
        }),
    );
    let events = h.events();
    let [Event::Connected {
        link,
        session_present,
        limits,
    }] = events.as_slice()
    else {
        panic!("expected Connected, got {events:?}");
    };
    assert_eq!(*link, LinkId(1));
    assert!(!session_present);
    assert_eq!(limits.receive_maximum, 10);
    assert_eq!(limits.maximum_packet_size, Some(4096));
    assert_eq!(limits.maximum_qos, QoS::AtLeastOnce);
    assert!(!limits.retain_available);
    assert_eq!(limits.keep_alive, Duration::from_secs(20));
    assert!(h.session.is_connected());
    assert_eq!(h.session.active_link(), Some(LinkId(1)));
    assert_eq!(h.session.client_id(), "assigned-7");
}

#[test]
fn mqtt311_connect_uses_a_persistent_session_and_no_v5_properties() {
    let mut h = Harness::v311();
    let connect = h.open(1);
    assert_eq!(connect.protocol, ProtocolVersion::V311);
    assert!(
        !connect.clean_start,
        "3.1.1 sessions persist from the first CONNECT"
    );
    assert_eq!(connect.session_expiry_interval, None);
    assert_eq!(connect.receive_maximum, None);
    h.reply(1, connack(false));
    let events = h.events();
    assert!(matches!(
        events.as_slice(),
        [Event::Connected { link: LinkId(1), session_present: false, limits }]
            if limits.receive_maximum == u16::MAX && limits.maximum_packet_size.is_none()
    ));
}

#[test]
fn reconnecting_asks_to_resume_the_session() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.close(1);
    let connect = h.open(2);
    assert!(!connect.clean_start);
    assert_eq!(connect.session_expiry_interval, Some(600));
}

#[test]
fn a_session_configured_to_resume_asks_for_it_on_its_first_connect() {
    let mut h = Harness::new(SessionConfig {
        resume: true,
        ..config(ProtocolVersion::V5)
    });
    let connect = h.open(1);
    assert!(
        !connect.clean_start,
        "Clean Start 0: take over what the server holds"
    );
    assert_eq!(connect.session_expiry_interval, Some(600));
    // Even a session that is not to outlive its link asks to resume what the server holds.
    let mut short = Harness::new(SessionConfig {
        resume: true,
        session_expiry: 0,
        ..config(ProtocolVersion::V5)
    });
    assert!(!short.open(1).clean_start);
    let mut fresh = Harness::new(SessionConfig {
        session_expiry: 0,
        ..config(ProtocolVersion::V5)
    });
    assert!(
        fresh.open(1).clean_start,
        "without it, such a session starts anew"
    );
}

#[test]
fn connack_refusals_are_typed_alike_for_both_versions() {
    let cases = [
        (
            ProtocolVersion::V5,
            0x86,
            ConnectReason::BadUserNameOrPassword,
        ),
        (ProtocolVersion::V5, 0x87, ConnectReason::NotAuthorized),
        (
            ProtocolVersion::V311,
            4,
            ConnectReason::BadUserNameOrPassword,
        ),
        (ProtocolVersion::V311, 5, ConnectReason::NotAuthorized),
    ];
    for (version, code, expected) in cases {
        let mut h = Harness::new(config(version));
        h.open(1);
        h.reply(
            1,
            connack_with(|a| {
                a.code = code;
                if version == ProtocolVersion::V5 {
                    a.reason_string = Some("token expired".into());
                }
            }),
        );
        let events = h.events();
        match events.as_slice() {
            [Event::ConnectRefused {
                link: LinkId(1),
                reason,
                reason_string,
            }] => {
                assert_eq!(*reason, expected, "{version:?} code {code}");
                assert_eq!(reason_string.is_some(), version == ProtocolVersion::V5);
            }
            other => panic!("{version:?} {code}: {other:?}"),
        }
        assert!(!h.session.is_connected());
        assert_eq!(h.session.connecting_link(), None);
        assert_eq!(
            h.session.poll_timeout(),
            None,
            "a refused link leaves no deadline"
        );
    }
}

#[test]
fn connack_must_arrive_within_the_connect_timeout() {
    let mut h = Harness::v5();
    h.open(1);
    h.advance(9_999);
    assert!(h.events().is_empty());
    h.advance(1);
    assert_eq!(
        link_downs(&h.events()),
        vec![(LinkId(1), LinkDownReason::ConnectTimeout)]
    );
    assert_eq!(h.session.connecting_link(), None);
    // A late CONNACK on the abandoned link changes nothing.
    h.reply(1, connack(false));
    assert!(h.events().is_empty());
    assert!(!h.session.is_connected());
}

#[test]
fn set_protocol_switches_the_version_of_the_next_connect() {
    let mut h = Harness::v5();
    h.open(1);
    h.reply(1, connack_with(|a| a.code = 1)); // a 3.1.1-only broker refuses v5
    let events = h.events();
    assert!(matches!(
        events.as_slice(),
        [Event::ConnectRefused {
            reason: ConnectReason::UnsupportedProtocolVersion,
            ..
        }]
    ));
    h.session.set_protocol(ProtocolVersion::V311);
    let connect = h.open(2);
    assert_eq!(connect.protocol, ProtocolVersion::V311);
    h.reply(2, connack(false));
    assert!(h.session.is_connected());
}

#[test]
fn disconnect_sends_a_normal_disconnect_and_ends_the_session() {
    let mut h = Harness::v5();
    h.connect(1, false);
    let id = h.publish("chat/a", b"unacked", QoS::AtLeastOnce);
    h.sent(1);
    h.events();
    h.session.disconnect(h.now);
    h.drain();
    let sent = h.sent(1);
    match sent.as_slice() {
        [Packet::Disconnect(d)] => {
            assert_eq!(d.reason, 0);
            assert_eq!(
                d.session_expiry_interval,
                Some(0),
                "the server may drop the session"
            );
        }
        other => panic!("expected DISCONNECT, got {other:?}"),
    }
    let events = h.events();
    assert_eq!(
        link_downs(&events),
        vec![(LinkId(1), LinkDownReason::ClientDisconnect)]
    );
    assert_eq!(
        Harness::deliveries(&events, id),
        vec![DeliveryStatus::Dropped(crate::DropReason::SessionEnded)]
    );
    assert!(!h.session.is_connected());
    assert_eq!(h.session.poll_timeout(), None);
    // The next link starts a new session.
    assert!(h.open(2).clean_start);
}
