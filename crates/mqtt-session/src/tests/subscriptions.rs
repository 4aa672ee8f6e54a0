//! The desired subscription set: offline changes, per-filter results, refusals.

use mqtt_codec::packet::{Packet, ProtocolVersion, QoS, Subscribe};

use super::*;
use crate::{CommandError, Refusal, RefusalReason, SubscribeReason, SubscriptionStatus};

fn subscribes(packets: &[Packet]) -> Vec<Subscribe> {
    packets
        .iter()
        .filter_map(|p| match p {
            Packet::Subscribe(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

fn filters(subscribe: &Subscribe) -> Vec<&str> {
    subscribe
        .filters
        .iter()
        .map(|f| f.filter.as_str())
        .collect()
}

#[test]
fn subscriptions_made_offline_are_sent_once_connected() {
    let mut h = Harness::v5();
    h.subscribe("rooms/1", QoS::AtLeastOnce);
    h.subscribe("rooms/2", QoS::AtMostOnce);
    assert_eq!(
        h.session.subscription("rooms/1"),
        Some(SubscriptionStatus::Pending)
    );
    let sent = subscribes(&h.connect(1, false));
    assert_eq!(sent.len(), 1, "one SUBSCRIBE for the whole set");
    assert_eq!(filters(&sent[0]), vec!["rooms/1", "rooms/2"]);
    h.events();
    h.reply(1, suback(sent[0].packet_id, &[1, 0]));
    let events = h.events();
    assert_eq!(
        events,
        vec![
            Event::Subscription {
                filter: "rooms/1".into(),
                result: Ok(QoS::AtLeastOnce)
            },
            Event::Subscription {
                filter: "rooms/2".into(),
                result: Ok(QoS::AtMostOnce)
            },
        ]
    );
    assert_eq!(
        h.session.subscription("rooms/1"),
        Some(SubscriptionStatus::Granted(QoS::AtLeastOnce))
    );
}

#[test]
fn subscribing_while_connected_sends_at_once_and_repeating_it_is_a_no_op() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.subscribe("rooms/1", QoS::AtLeastOnce);
    let sent = subscribes(&h.sent(1));
    assert_eq!(sent.len(), 1);
    h.subscribe("rooms/1", QoS::AtLeastOnce);
    assert!(
        h.sent(1).is_empty(),
        "same options while in flight: nothing new"
    );
    h.reply(1, suback(sent[0].packet_id, &[1]));
    h.subscribe("rooms/1", QoS::AtLeastOnce);
    assert!(
        h.sent(1).is_empty(),
        "same options once granted: nothing new"
    );
    h.subscribe("rooms/1", QoS::ExactlyOnce);
    assert_eq!(
        subscribes(&h.sent(1)).len(),
        1,
        "new options subscribe again"
    );
}

#[test]
fn suback_refusals_0x80_and_0x87_are_typed_refusals() {
    for (version, code, reason) in [
        (ProtocolVersion::V311, 0x80, SubscribeReason::Refused),
        (ProtocolVersion::V5, 0x80, SubscribeReason::Refused),
        (ProtocolVersion::V5, 0x87, SubscribeReason::NotAuthorized),
    ] {
        let mut h = Harness::new(config(version));
        h.connect(1, false);
        h.events();
        h.subscribe("rooms/secret", QoS::AtLeastOnce);
        let packet_id = subscribes(&h.sent(1))[0].packet_id;
        h.reply(1, suback(packet_id, &[code]));
        let refusal = Refusal {
            reason: RefusalReason::Subscribe(reason),
            code,
            reason_string: None,
        };
        assert_eq!(
            h.events(),
            vec![Event::Subscription {
                filter: "rooms/secret".into(),
                result: Err(refusal.clone())
            }],
            "{version:?} {code:#x}"
        );
        assert_eq!(
            h.session.subscription("rooms/secret"),
            Some(SubscriptionStatus::Refused(refusal))
        );
        assert!(h.session.is_connected(), "a refusal does not end the link");
    }
}

#[test]
fn unsubscribe_sends_unsubscribe_and_reports_each_filter() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.subscribe("rooms/1", QoS::AtLeastOnce);
    let packet_id = subscribes(&h.sent(1))[0].packet_id;
    h.reply(1, suback(packet_id, &[1]));
    h.events();
    h.unsubscribe("rooms/1");
    let sent = h.sent(1);
    let [Packet::Unsubscribe(unsubscribe)] = sent.as_slice() else {
        panic!("expected UNSUBSCRIBE, got {sent:?}");
    };
    assert_eq!(unsubscribe.filters, vec!["rooms/1".to_owned()]);
    assert_eq!(h.session.subscription("rooms/1"), None);
    h.reply(1, unsuback(unsubscribe.packet_id, &[0]));
    assert_eq!(
        h.events(),
        vec![Event::Unsubscribed {
            filter: "rooms/1".into(),
            result: Ok(())
        }]
    );
}

#[test]
fn mqtt311_unsuback_without_codes_is_success() {
    let mut h = Harness::v311();
    h.connect(1, false);
    h.unsubscribe("rooms/1");
    let sent = h.sent(1);
    let [Packet::Unsubscribe(unsubscribe)] = sent.as_slice() else {
        panic!("{sent:?}")
    };
    h.events();
    h.reply(1, unsuback(unsubscribe.packet_id, &[]));
    assert_eq!(
        h.events(),
        vec![Event::Unsubscribed {
            filter: "rooms/1".into(),
            result: Ok(())
        }]
    );
}

#[test]
fn invalid_filters_are_refused() {
    let mut h = Harness::v5();
    assert!(matches!(
        h.session
            .subscribe(subscription("rooms/#/x", QoS::AtMostOnce)),
        Err(CommandError::InvalidFilter { .. })
    ));
    assert!(matches!(
        h.session.unsubscribe(""),
        Err(CommandError::InvalidFilter { .. })
    ));
}

fn unsubscribes(packets: &[Packet]) -> Vec<Vec<String>> {
    packets
        .iter()
        .filter_map(|p| match p {
            Packet::Unsubscribe(u) => Some(u.filters.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn declaring_a_set_subscribes_the_new_filters_and_unsubscribes_the_unlisted_ones() {
    let mut h = Harness::v5();
    h.connect(1, false);
    let a = subscription("rooms/a", QoS::AtLeastOnce);
    let b = subscription("rooms/b", QoS::AtLeastOnce);
    let c = subscription("rooms/c", QoS::AtLeastOnce);
    h.session
        .declare_subscriptions(&[a.clone(), b.clone(), a.clone()])
        .unwrap();
    h.drain();
    let sent = subscribes(&h.sent(1));
    assert_eq!(sent.len(), 1);
    assert_eq!(filters(&sent[0]), vec!["rooms/a", "rooms/b"]);
    h.reply(1, suback(sent[0].packet_id, &[1, 0x87]));
    h.session
        .declare_subscriptions(&[b.clone(), a.clone()])
        .unwrap();
    h.drain();
    assert!(
        h.sent(1).is_empty(),
        "the same set again, a refused filter included: nothing new"
    );
    h.session.declare_subscriptions(&[b, c]).unwrap();
    h.drain();
    let sent = h.sent(1);
    assert_eq!(unsubscribes(&sent), vec![vec!["rooms/a".to_owned()]]);
    assert_eq!(filters(&subscribes(&sent)[0]), vec!["rooms/c"]);
    let statuses: Vec<(String, SubscriptionStatus)> = h
        .session
        .subscriptions()
        .map(|(f, s)| (f.to_owned(), s))
        .collect();
    assert_eq!(statuses.len(), 2);
    assert!(matches!(statuses[0].1, SubscriptionStatus::Refused(_)));
    assert_eq!(statuses[1].1, SubscriptionStatus::Pending);
}

#[test]
fn declaring_an_invalid_filter_changes_nothing() {
    let mut h = Harness::v5();
    h.session
        .declare_subscriptions(&[subscription("rooms/a", QoS::AtLeastOnce)])
        .unwrap();
    let error = h
        .session
        .declare_subscriptions(&[subscription("rooms/#/bad", QoS::AtLeastOnce)])
        .unwrap_err();
    assert!(
        matches!(error, CommandError::InvalidFilter { .. }),
        "{error:?}"
    );
    assert_eq!(
        h.session.subscription("rooms/a"),
        Some(SubscriptionStatus::Pending)
    );
}
