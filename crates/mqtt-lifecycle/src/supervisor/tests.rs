//! Supervisor behaviour against a scripted fake broker (real MQTT bytes) and token endpoint,
//! on a fake clock. See `crate::testkit`.

use std::collections::BTreeMap;
use std::time::Duration;

use mqtt_codec::{ConnectReason, ProtocolVersion};
use mqtt_session::{DeliveryStatus, LinkId};

use crate::backoff::BackoffPolicy;
use crate::testkit::{Harness, Reply, TokenRequest};
use crate::{ClientEvent, ConnectionState, Reason, TokenError, OFFLINE_PROBE};

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);

fn is_connected(h: &Harness) -> bool {
    matches!(h.state(), ConnectionState::Connected { .. })
}

fn connected(seed: u64) -> Harness {
    let mut h = Harness::new(seed);
    h.start();
    assert!(is_connected(&h), "{:?}", h.sup.status());
    h
}

fn backoff(h: &Harness) -> (u32, u64) {
    match h.state() {
        ConnectionState::Backoff { attempt, retry_at } => (attempt, retry_at.as_millis()),
        other => panic!("expected Backoff, got {other:?} ({:?})", h.reason()),
    }
}

fn acknowledged(h: &Harness) -> BTreeMap<u64, usize> {
    let mut acks = BTreeMap::new();
    for event in &h.events {
        if let ClientEvent::Delivery {
            id,
            status: DeliveryStatus::Acknowledged,
        } = event
        {
            *acks.entry(id.0).or_insert(0) += 1;
        }
    }
    acks
}

#[test]
fn a_fresh_start_fetches_a_token_opens_a_link_and_connects() {
    let mut h = Harness::new(1);
    assert_eq!(h.state(), ConnectionState::Idle);
    h.start();
    assert_eq!(
        h.states()[..2],
        [ConnectionState::FetchingToken, ConnectionState::Connecting]
    );
    assert!(is_connected(&h));
    assert_eq!(h.sup.status().reason, None);
    assert_eq!(h.token_log.len(), 1);
    assert!(matches!(h.token_log[0].1, TokenRequest::Fetch(_)));
    assert_eq!(h.broker.connects.len(), 1);
    let connect = &h.broker.connects[0];
    assert_eq!(connect.username.as_deref(), Some("alice"));
    assert_eq!(connect.password.as_deref(), Some(&b"pw1"[..]));
    assert_eq!(connect.protocol, ProtocolVersion::V5);

    // Messages flow both ways through the session.
    h.subscribe("chat/#");
    h.inject("chat/lobby", b"hello");
    let id = h.publish("chat/lobby", "hi back");
    assert_eq!(h.messages(), ["hello", "hi back"]);
    assert_eq!(acknowledged(&h).get(&id.0), Some(&1));
    assert!(h.events.iter().any(|e| matches!(
        e,
        ClientEvent::Subscription { filter, result: Ok(_) } if filter == "chat/#"
    )));
}

#[test]
fn commands_before_the_first_connect_are_queued_and_sent_once_connected() {
    let mut h = Harness::new(2);
    h.subscribe("chat/#");
    let id = h.publish("chat/lobby", "early");
    assert!(h.broker.received.is_empty());
    h.start();
    assert_eq!(h.messages(), ["early"]);
    assert_eq!(acknowledged(&h).get(&id.0), Some(&1));
}

#[test]
fn a_401_from_the_token_endpoint_means_signed_out_and_no_more_fetches() {
    let mut h = Harness::new(3);
    h.replies.push_back(Reply::Status(401, None));
    h.start();
    assert_eq!(h.state(), ConnectionState::SignedOut);
    assert_eq!(h.reason(), Some(Reason::SignedOut { status: 401 }));
    // The link opened beside the token request is closed unused: nothing sent without a token.
    assert_eq!(h.opened.len(), 1);
    assert!(h.sent_links.is_empty());
    assert!(h.open_links.is_empty());
    h.advance(30 * MINUTE);
    let now = h.now();
    h.sup.handle_online(now);
    h.drive();
    assert_eq!(h.token_requests(), 1);
    assert_eq!(h.state(), ConnectionState::SignedOut);

    // An explicit action tries again.
    h.sup.retry_now(now);
    h.drive();
    assert_eq!(h.token_requests(), 2);
    assert!(is_connected(&h));
}

#[test]
fn signed_out_asks_again_once_when_the_tab_wakes_and_never_on_a_timer() {
    let mut h = Harness::new(3);
    h.replies.push_back(Reply::Status(401, None));
    h.replies.push_back(Reply::Status(401, None));
    h.start();
    assert_eq!(h.state(), ConnectionState::SignedOut);
    // Visible again, still signed out: one more request, then quiet.
    let now = h.now();
    h.sup.handle_wake(now);
    h.drive();
    assert_eq!(h.token_requests(), 2);
    assert_eq!(h.state(), ConnectionState::SignedOut);
    h.advance(30 * MINUTE);
    assert_eq!(h.token_requests(), 2);
    // Signed in on another tab meanwhile: the next wake connects without "Retry now".
    let now = h.now();
    h.sup.handle_wake(now);
    h.drive();
    assert_eq!(h.token_requests(), 3);
    assert!(is_connected(&h));
}

#[test]
fn a_403_is_signed_out_too() {
    let mut h = Harness::new(4);
    h.replies.push_back(Reply::Status(403, None));
    h.start();
    assert_eq!(h.state(), ConnectionState::SignedOut);
    assert_eq!(h.reason(), Some(Reason::SignedOut { status: 403 }));
}

#[test]
fn a_429_waits_for_retry_after_before_asking_again() {
    let mut h = Harness::new(5);
    h.replies.push_back(Reply::Status(429, Some("20")));
    h.start();
    let started = h.now_ms;
    let (attempt, retry_at) = backoff(&h);
    assert_eq!(attempt, 1);
    assert_eq!(retry_at, started + 20_000);
    assert_eq!(
        h.reason(),
        Some(Reason::RateLimited {
            retry_after: Some(20 * SECOND)
        })
    );
    h.advance(19 * SECOND);
    assert_eq!(h.token_requests(), 1);
    h.advance(2 * SECOND);
    assert_eq!(h.token_requests(), 2);
    assert_eq!(h.token_log[1].0, started + 20_000);
    assert!(is_connected(&h));
}

#[test]
fn server_errors_and_garbage_back_off_with_growing_bounded_delays() {
    let policy = BackoffPolicy::default();
    for seed in [6, 7, 8] {
        let mut h = Harness::new(seed);
        let failures = [
            Reply::Status(500, None),
            Reply::Body("<html>gateway</html>"),
            Reply::Status(502, None),
            Reply::Network,
            Reply::Body(r#"{"accessToken":"x"}"#),
            Reply::Status(503, None),
            Reply::Status(500, None),
            Reply::Status(500, None),
            Reply::Status(500, None),
        ];
        h.replies.extend(failures.iter().cloned());
        h.start();
        for (i, _) in failures.iter().enumerate() {
            let (attempt, retry_at) = backoff(&h);
            assert_eq!(attempt as usize, i + 1);
            let failed_at = h.token_log.last().unwrap().0;
            let delay = Duration::from_millis(retry_at - failed_at);
            assert!(
                delay <= policy.ceiling(i as u32),
                "seed {seed} attempt {i}: {delay:?}"
            );
            let before = h.token_requests();
            h.advance_until(policy.cap + SECOND, |h| h.token_requests() > before);
            assert_eq!(h.token_log.last().unwrap().0, retry_at, "retried on time");
        }
        assert!(is_connected(&h));
        // Every attempt opened its link beside the token request; each failed one was closed
        // unused.
        assert_eq!(h.opened.len(), failures.len() + 1);
        assert_eq!(h.broker.connects.len(), 1, "no CONNECT without a token");
        assert_eq!(h.sent_links.len(), 1);
        assert_eq!(h.open_links.len(), 1);
    }
}

#[test]
fn failures_are_reported_with_their_reason() {
    let mut h = Harness::new(9);
    h.replies.push_back(Reply::Body(r#"{"accessToken":"x"}"#));
    h.start();
    let reason = h.reason().expect("a reason");
    assert!(matches!(
        reason,
        Reason::Token(TokenError::MissingField { field }) if field.starts_with("expiresAt")
    ));
    assert!(reason.to_string().contains("expiresAt"), "{reason}");
}

#[test]
fn a_broker_drop_fetches_a_new_token_before_reconnecting() {
    let mut h = connected(10);
    h.subscribe("chat/#");
    let first = h.opened[0].1;
    h.advance(MINUTE);
    h.broker.close(first);
    h.drive();
    let (attempt, retry_at) = backoff(&h);
    assert_eq!(attempt, 1);
    // The link had been stable: the first retry comes within one base delay.
    assert!(retry_at - h.now_ms <= 500);
    h.advance(SECOND);
    assert!(is_connected(&h));
    assert_eq!(h.token_requests(), 2);
    let (fetched_at, _) = h.token_log[1];
    let (opened_at, second) = h.opened[1];
    assert!(fetched_at <= opened_at);
    assert_ne!(first, second);
    // The new link uses the new token and resumes the session.
    let reconnect = &h.broker.connects[1];
    assert_eq!(reconnect.password.as_deref(), Some(&b"pw2"[..]));
    assert!(!reconnect.clean_start);
    h.inject("chat/lobby", b"after");
    assert_eq!(h.messages(), ["after"]);
}

#[test]
fn the_broker_closing_the_link_at_token_expiry_leads_to_a_silent_reconnect() {
    let mut h = connected(11);
    h.ttl = Duration::from_secs(120);
    // Make rotation impossible so the broker's expiry is what ends the link.
    h.replies.extend([
        Reply::Status(500, None),
        Reply::Status(500, None),
        Reply::Status(500, None),
        Reply::Status(500, None),
        Reply::Status(500, None),
        Reply::Status(500, None),
    ]);
    // The first token lived an hour; reconnect with a short-lived one.
    let first = h.opened[0].1;
    h.broker.close(first);
    h.drive();
    h.replies.clear();
    h.advance(SECOND);
    assert!(is_connected(&h));
    let links_before = h.opened.len();
    h.replies
        .extend(std::iter::repeat_n(Reply::Status(500, None), 20));
    h.advance(Duration::from_secs(121));
    h.replies.clear();
    h.advance(MINUTE);
    assert!(is_connected(&h), "{:?}", h.sup.status());
    assert!(h.opened.len() > links_before);
}

#[test]
fn rotation_at_refresh_at_loses_and_duplicates_nothing_and_closes_the_old_link() {
    let mut h = connected(12);
    h.subscribe("chat/#");
    let old = h.opened[0].1;
    h.inject("chat/a", b"m1");
    let p1 = h.publish("out/a", "p1");

    // refreshAt defaults to 90 % of the hour.
    h.advance(Duration::from_secs(3239));
    assert!(is_connected(&h));
    h.auto_answer = false;
    h.advance(2 * SECOND);
    assert!(matches!(h.state(), ConnectionState::Rotating { .. }));
    assert!(matches!(&h.pending_tokens[..], [TokenRequest::Refresh(_, id)] if id == "tok1"));

    // The link stays usable while the token is renewed.
    h.inject("chat/a", b"m2");
    let p2 = h.publish("out/a", "p2");
    // Bytes on the old link from here on are in flight when the broker drops it.
    h.held.insert(old);
    h.inject("chat/a", b"m3");
    let p3 = h.publish("out/a", "p3");

    h.answer();
    // p3 never gets its PUBACK on the old link: the new link's CONNECT waits for it (the
    // broker drops the old connection on seeing the CONNECT) for 2 s, then goes anyway.
    assert!(matches!(h.state(), ConnectionState::Rotating { .. }));
    h.advance(2 * SECOND);
    let new = h.opened.last().unwrap().1;
    assert_ne!(new, old);
    assert!(is_connected(&h), "{:?}", h.sup.status());
    assert!(!h.open_links.contains(&old));
    assert_eq!(h.open_links.iter().copied().collect::<Vec<_>>(), [new]);
    assert_eq!(h.broker.connected_links(), [new]);
    let takeover = h.broker.connects.last().unwrap();
    assert!(!takeover.clean_start);
    assert_eq!(takeover.password.as_deref(), Some(&b"pw2"[..]));

    h.inject("chat/a", b"m4");
    // Every message reaches the application exactly once, m3 (lost with the old socket)
    // through the broker's redelivery on the new link.
    let mut messages = h.messages();
    messages.sort();
    assert_eq!(messages, ["m1", "m2", "m3", "m4"]);
    // Every publish is acknowledged exactly once. p3's PUBACK died with the old socket, so the
    // session resent it: the broker may see it twice (QoS 1 is at least once), the copy with
    // DUP set. Other subscribers drop such copies by an application message id.
    let acks = acknowledged(&h);
    for id in [p1, p2, p3] {
        assert_eq!(acks.get(&id.0), Some(&1), "{id:?}");
    }
    for payload in ["p1", "p2", "p3"] {
        let copies: Vec<bool> = h
            .broker
            .received
            .iter()
            .filter(|p| p.payload == payload.as_bytes())
            .map(|p| p.dup)
            .collect();
        assert!(!copies.is_empty(), "{payload} never reached the broker");
        assert!(copies[1..].iter().all(|&dup| dup), "{payload}: {copies:?}");
    }
    // The state went Rotating -> Connected, never through a disconnected state.
    let states = h.states();
    let rotating = states
        .iter()
        .position(|s| matches!(s, ConnectionState::Rotating { .. }))
        .unwrap();
    assert!(states[rotating + 1..]
        .iter()
        .all(|s| matches!(s, ConnectionState::Connected { .. })));
    assert_eq!(h.token_requests(), 2);
}

#[test]
fn the_old_link_closing_before_the_takeover_connack_keeps_the_state_rotating() {
    let mut h = connected(32);
    h.subscribe("chat/#");
    let old = h.opened[0].1;
    h.auto_answer = false;
    h.advance(Duration::from_secs(3241));
    // The CONNACK on the new link is still on its way when the broker drops the old socket.
    let new = LinkId(old.0 + 1);
    h.held.insert(new);
    h.answer();
    assert_eq!(h.opened.last().unwrap().1, new);
    h.broker.close(old);
    h.drive();
    assert!(
        matches!(h.state(), ConnectionState::Rotating { .. }),
        "{:?} {:?}",
        h.states(),
        h.events
    );
    assert_eq!(h.token_requests(), 2);
    h.held.clear();
    h.drive();
    assert!(is_connected(&h), "{:?}", h.sup.status());
    assert_eq!(h.open_links.iter().copied().collect::<Vec<_>>(), [new]);
    h.inject("chat/a", b"after");
    assert_eq!(h.messages(), ["after"]);
    let states = h.states();
    let rotating = states
        .iter()
        .position(|s| matches!(s, ConnectionState::Rotating { .. }))
        .unwrap();
    assert!(
        states[rotating + 1..]
            .iter()
            .all(|s| matches!(s, ConnectionState::Connected { .. })),
        "{states:?}"
    );
}

#[test]
fn a_refused_takeover_after_the_old_link_died_fetches_a_fresh_token_and_reconnects() {
    let mut h = connected(33);
    let old = h.opened[0].1;
    h.auto_answer = false;
    h.advance(Duration::from_secs(3241));
    h.replies.push_back(Reply::RevokedToken);
    // The refusal on the new link is still on its way when the old link dies.
    let new = LinkId(old.0 + 1);
    h.held.insert(new);
    h.lose_held_on_close = false;
    h.answer();
    assert_eq!(h.opened.last().unwrap().1, new);
    h.broker.close(old);
    h.drive();
    h.auto_answer = true;
    h.held.clear();
    h.drive();
    assert!(is_connected(&h), "{:?}", h.sup.status());
    assert_eq!(h.token_requests(), 3);
    assert!(matches!(h.token_log[2].1, TokenRequest::Fetch(_)));
    assert!(h.events.iter().any(|e| matches!(
        e,
        ClientEvent::State(s) if s.state == ConnectionState::FetchingToken
            && matches!(s.reason, Some(Reason::ConnectRefused { .. }))
    )));
}

#[test]
fn rotation_schedules_the_next_one_from_the_new_token() {
    let mut h = connected(13);
    h.advance(Duration::from_secs(3241));
    assert!(is_connected(&h));
    assert_eq!(h.opened.len(), 2);
    h.advance(Duration::from_secs(3238));
    assert_eq!(h.opened.len(), 2);
    h.advance(Duration::from_secs(2));
    assert_eq!(h.opened.len(), 3);
    assert!(is_connected(&h));
}

#[test]
fn a_failed_refresh_falls_back_to_a_fresh_token() {
    let mut h = connected(14);
    h.replies.push_back(Reply::Status(500, None));
    h.advance(Duration::from_secs(3241));
    let kinds: Vec<&str> = h
        .token_log
        .iter()
        .map(|(_, r)| match r {
            TokenRequest::Fetch(_) => "fetch",
            TokenRequest::Refresh(..) => "refresh",
        })
        .collect();
    assert_eq!(kinds, ["fetch", "refresh", "fetch"]);
    assert!(is_connected(&h));
    assert_eq!(h.opened.len(), 2);
    assert_eq!(h.open_links.len(), 1);
}

#[test]
fn a_failed_rotation_keeps_the_link_and_retries_later() {
    let mut h = connected(15);
    h.replies
        .extend([Reply::Status(500, None), Reply::Status(500, None)]);
    h.advance_until(2 * 3600 * SECOND, |h| {
        matches!(h.reason(), Some(Reason::Rotation(_)))
    });
    assert!(is_connected(&h), "{:?}", h.sup.status());
    assert_eq!(h.opened.len(), 1);
    h.advance(MINUTE);
    assert_eq!(h.opened.len(), 2);
    assert!(is_connected(&h));
    assert_eq!(h.reason(), None);
}

#[test]
fn bad_credentials_get_one_fresh_token_then_auth_failed() {
    let mut h = Harness::new(16);
    h.replies.extend([Reply::RevokedToken, Reply::RevokedToken]);
    h.start();
    assert_eq!(h.state(), ConnectionState::AuthFailed);
    assert_eq!(h.token_requests(), 2);
    assert_eq!(h.opened.len(), 2);
    assert!(h.open_links.is_empty());
    let reason = h.reason().unwrap();
    assert!(matches!(
        reason,
        Reason::ConnectRefused {
            reason: ConnectReason::BadUserNameOrPassword,
            ..
        }
    ));
    assert!(reason.to_string().contains("bad user name or password"));
    h.advance(10 * MINUTE);
    assert_eq!(h.token_requests(), 2);

    let now = h.now();
    h.sup.retry_now(now);
    h.drive();
    assert!(is_connected(&h));
}

#[test]
fn bad_credentials_once_then_a_good_token_connects() {
    let mut h = Harness::new(17);
    h.replies.push_back(Reply::RevokedToken);
    h.start();
    assert!(is_connected(&h));
    assert_eq!(h.token_requests(), 2);
}

#[test]
fn a_broker_without_mqtt5_gets_mqtt311_at_once_with_the_same_token() {
    let mut h = Harness::new(18);
    h.broker.v311_only = true;
    h.start();
    assert!(is_connected(&h), "{:?}", h.sup.status());
    let versions: Vec<ProtocolVersion> = h.broker.connects.iter().map(|c| c.protocol).collect();
    assert_eq!(versions, [ProtocolVersion::V5, ProtocolVersion::V311]);
    assert_eq!(h.token_requests(), 1);
    assert_eq!(h.sup.protocol(), ProtocolVersion::V311);
    h.subscribe("chat/#");
    h.inject("chat/x", b"over 3.1.1");
    assert_eq!(h.messages(), ["over 3.1.1"]);
}

#[test]
fn a_broker_closing_on_an_mqtt5_connect_without_connack_gets_mqtt311_for_good() {
    // RabbitMQ 3.10: no CONNACK to an MQTT 5 CONNECT, the socket just closes.
    let mut h = Harness::new(41);
    h.broker.v5_silent_close = true;
    h.start();
    assert!(is_connected(&h), "{:?}", h.sup.status());
    let versions: Vec<ProtocolVersion> = h.broker.connects.iter().map(|c| c.protocol).collect();
    assert_eq!(versions, [ProtocolVersion::V5, ProtocolVersion::V311]);
    assert_eq!(h.token_requests(), 1, "the same token, no backoff");
    assert_eq!(h.sup.protocol(), ProtocolVersion::V311);
    h.subscribe("chat/#");
    h.inject("chat/x", b"over 3.1.1");
    assert_eq!(h.messages(), ["over 3.1.1"]);
    // Remembered: the reconnect after a drop speaks 3.1.1 at once.
    h.advance(MINUTE);
    let link = h.broker.connected_links()[0];
    h.broker.close(link);
    h.drive();
    assert!(!is_connected(&h));
    h.advance_until(Duration::from_secs(120), is_connected);
    assert!(is_connected(&h));
    let versions: Vec<ProtocolVersion> = h.broker.connects.iter().map(|c| c.protocol).collect();
    assert_eq!(
        versions,
        [
            ProtocolVersion::V5,
            ProtocolVersion::V311,
            ProtocolVersion::V311
        ]
    );
}

#[test]
fn a_close_without_connack_on_mqtt311_too_is_not_a_protocol_problem() {
    // A link fault (or a dying broker) that closes every link right after CONNECT: one 3.1.1
    // try, then back to MQTT 5 with the normal backoff.
    let mut h = Harness::new(43);
    h.broker.close_before_connack = true;
    h.start();
    let versions: Vec<ProtocolVersion> = h.broker.connects.iter().map(|c| c.protocol).collect();
    assert_eq!(versions, [ProtocolVersion::V5, ProtocolVersion::V311]);
    assert_eq!(h.sup.protocol(), ProtocolVersion::V5);
    let (attempt, _) = backoff(&h);
    assert_eq!(attempt, 1);
    // Once the fault is gone the next attempt connects over MQTT 5.
    h.broker.close_before_connack = false;
    h.advance_until(Duration::from_secs(120), is_connected);
    assert!(is_connected(&h));
    assert_eq!(
        h.broker.connects.last().unwrap().protocol,
        ProtocolVersion::V5
    );
}

#[test]
fn a_link_that_closes_after_connack_is_a_drop_not_a_protocol_fallback() {
    let mut h = connected(42);
    h.advance(MINUTE);
    let link = h.broker.connected_links()[0];
    h.broker.close(link);
    h.drive();
    assert!(!is_connected(&h));
    h.advance_until(Duration::from_secs(120), is_connected);
    assert!(is_connected(&h));
    assert_eq!(h.sup.protocol(), ProtocolVersion::V5);
    assert!(h
        .broker
        .connects
        .iter()
        .all(|c| c.protocol == ProtocolVersion::V5));
}

const NODES: [&str; 3] = [
    "ws://n1.test/mqtt",
    "ws://n2.test/mqtt",
    "ws://n3.test/mqtt",
];

#[test]
fn a_list_of_brokers_is_shuffled_per_client_and_the_next_one_is_tried_after_a_failure() {
    let mut firsts = std::collections::BTreeSet::new();
    for seed in 0..12 {
        let mut h = Harness::with_broker_urls(seed, NODES[0], &NODES[1..]);
        h.fail_opens = 2;
        h.start();
        h.advance_until(MINUTE, is_connected);
        assert!(is_connected(&h));
        // Two failures, three different nodes in turn, each within the backoff.
        let urls = &h.opened_urls;
        assert_eq!(urls.len(), 3, "{urls:?}");
        let distinct: std::collections::BTreeSet<&String> = urls.iter().collect();
        assert_eq!(distinct.len(), 3, "{urls:?}");
        firsts.insert(urls[0].clone());
    }
    assert_eq!(firsts.len(), 3, "clients start on different nodes");
}

#[test]
fn an_early_link_that_fails_before_the_token_arrives_moves_on_to_the_next_broker() {
    // In a browser a refused socket fails within a millisecond, long before the token answers:
    // the link opened with the token request is lost while still fetching.
    for seed in 0..8 {
        let mut h = Harness::with_broker_urls(seed, NODES[0], &NODES[1..]);
        h.auto_answer = false;
        h.fail_opens = 1;
        h.start();
        h.drive();
        assert_eq!(h.opened_urls.len(), 1, "the early link");
        h.answer();
        h.auto_answer = true;
        h.advance_until(MINUTE, is_connected);
        assert!(
            is_connected(&h),
            "seed {seed}: {:?} {:?}",
            h.states(),
            h.opened_urls
        );
        let urls = &h.opened_urls;
        assert_ne!(
            urls[1], urls[0],
            "seed {seed}: the next link goes to the next URL: {urls:?}"
        );
    }
}

#[test]
fn a_link_that_never_opens_is_given_up_after_the_connect_timeout() {
    // One broker: the hung socket is closed at the connect timeout, the reason said, and the
    // retry after the backoff connects.
    let mut h = Harness::new(3);
    h.hang_opens = 1;
    h.start();
    let first = h.opened[0];
    assert!(!is_connected(&h));
    h.advance(Duration::from_secs(9));
    assert!(
        matches!(h.state(), ConnectionState::Connecting),
        "{:?}",
        h.states()
    );
    h.advance(Duration::from_secs(1));
    assert_eq!(h.reason(), Some(Reason::LinkOpenTimeout));
    assert!(
        h.closed_by_client.contains(&first.1),
        "the hung socket is closed"
    );
    h.advance_until(MINUTE, is_connected);
    assert!(is_connected(&h));
    // A list: the next URL, once the hung one timed out.
    let mut h = Harness::with_broker_urls(5, NODES[0], &NODES[1..]);
    h.hang_opens = 1;
    h.start();
    h.advance_until(MINUTE, is_connected);
    assert!(is_connected(&h));
    assert_ne!(h.opened_urls[0], *h.opened_urls.last().unwrap());
}

#[test]
fn a_lost_link_reconnects_to_the_next_broker_of_the_list() {
    let mut h = Harness::with_broker_urls(7, NODES[0], &NODES[1..]);
    h.start();
    assert!(is_connected(&h));
    let first = h.opened_urls[0].clone();
    h.advance(MINUTE);
    let link = h.broker.connected_links()[0];
    h.broker.close(link);
    h.drive();
    h.advance_until(MINUTE, is_connected);
    assert!(is_connected(&h));
    assert_ne!(h.opened_urls.last().unwrap(), &first);
}

#[test]
fn the_tokens_broker_url_wins_over_the_list() {
    let mut h = Harness::with_broker_urls(8, NODES[0], &NODES[1..]);
    h.token_broker_url = Some("ws://localhost:9001/mqtt".into());
    h.start();
    assert!(is_connected(&h));
    assert_eq!(h.opened_urls.last().unwrap(), "ws://localhost:9001/mqtt");
}

#[test]
fn one_broker_url_draws_nothing_from_the_jitter_sequence() {
    // The backoff delays of a single-URL client are what they were before lists existed.
    let mut a = Harness::new(99);
    let mut b = Harness::with_broker_urls(
        99,
        "ws://127.0.0.1:8083/mqtt",
        &["ws://127.0.0.1:8083/mqtt"],
    );
    for h in [&mut a, &mut b] {
        h.replies.extend([crate::testkit::Reply::Network]);
        h.start();
    }
    assert_eq!(backoff(&a), backoff(&b));
}

#[test]
fn the_online_event_skips_the_backoff_wait() {
    let mut h = Harness::new(19);
    h.replies.extend([Reply::Network, Reply::Network]);
    h.start();
    let (_, first_retry_at) = backoff(&h);
    assert!(first_retry_at > h.now_ms, "this seed draws a real wait");
    h.sup.handle_online(h.now());
    h.drive();
    assert_eq!(
        h.token_log[1].0, h.now_ms,
        "tried at once, not at {first_retry_at}"
    );
    // The second failure backs off again (a longer ceiling); online again tries at once.
    let (attempt, _) = backoff(&h);
    assert_eq!(attempt, 2);
    h.sup.handle_online(h.now());
    h.drive();
    assert!(is_connected(&h));
    assert_eq!(h.token_requests(), 3);
    assert_eq!(h.token_log[2].0, h.now_ms);
}

#[test]
fn offline_stops_attempts_until_the_browser_is_back() {
    let mut h = Harness::new(20);
    h.replies.push_back(Reply::Network);
    h.start();
    backoff(&h);
    let now = h.now();
    h.sup.handle_offline(now);
    h.drive();
    assert_eq!(h.state(), ConnectionState::Offline);
    h.advance(10 * MINUTE);
    assert_eq!(h.token_requests(), 1);
    let now = h.now();
    h.sup.handle_online(now);
    h.drive();
    assert!(is_connected(&h));
    assert_eq!(h.token_requests(), 2);
}

#[test]
fn a_drop_while_offline_waits_for_online_without_burning_attempts() {
    let mut h = connected(21);
    let now = h.now();
    h.sup.handle_offline(now);
    h.drive();
    assert!(is_connected(&h), "a live link is left alone");
    let link = h.opened[0].1;
    h.broker.close(link);
    h.drive();
    assert_eq!(h.state(), ConnectionState::Offline);
    h.advance(10 * MINUTE);
    assert_eq!(h.token_requests(), 1);
    let now = h.now();
    h.sup.handle_online(now);
    h.drive();
    assert!(is_connected(&h));
}

#[test]
fn offline_makes_a_silent_live_link_prove_itself_within_the_probe_window() {
    let mut h = connected(23);
    let link = h.opened[0].1;
    // The network is gone: nothing from the broker reaches the page any more.
    h.held.insert(link);
    let now = h.now();
    h.sup.handle_offline(now);
    h.drive();
    assert!(is_connected(&h), "not dropped on the event alone");
    h.advance(OFFLINE_PROBE - Duration::from_millis(1));
    assert!(is_connected(&h));
    h.advance(Duration::from_millis(1));
    assert_eq!(
        h.state(),
        ConnectionState::Offline,
        "declared dead after the probe window"
    );
}

#[test]
fn offline_leaves_a_link_that_answers_the_probe_alone() {
    let mut h = connected(24);
    let now = h.now();
    h.sup.handle_offline(now);
    h.drive();
    h.advance(OFFLINE_PROBE * 4);
    assert!(is_connected(&h), "a live link survives an offline event");
}

#[test]
fn a_wake_after_a_long_sleep_triggers_the_overdue_refresh_at_once() {
    let mut h = connected(22);
    // The machine sleeps: no timer fires for 55 minutes, then one fires very late.
    h.now_ms += 55 * 60 * 1000;
    let now = h.now();
    h.sup.handle_timeout(now);
    h.drive();
    assert!(matches!(h.token_log[1].1, TokenRequest::Refresh(..)));
    assert_eq!(h.token_log[1].0, h.now_ms);
    assert!(is_connected(&h));
    assert_eq!(h.opened.len(), 2);
}

#[test]
fn a_wake_after_the_token_expired_replaces_the_link_at_once() {
    let mut h = connected(23);
    let old = h.opened[0].1;
    // Asleep past expiry; the socket has not noticed the broker closed it.
    h.now_ms += 2 * 3600 * 1000;
    let now = h.now();
    h.sup.handle_wake(now);
    h.drive();
    assert!(h.closed_by_client.contains(&old));
    assert!(is_connected(&h), "{:?}", h.sup.status());
    assert_eq!(h.token_log[1].0, h.now_ms);
    assert!(matches!(h.token_log[1].1, TokenRequest::Fetch(_)));
}

#[test]
fn token_requests_are_single_flight() {
    let mut h = Harness::new(24);
    h.auto_answer = false;
    h.start();
    let now = h.now();
    h.sup.start(now);
    h.sup.handle_online(now);
    h.sup.handle_wake(now);
    h.sup.retry_now(now);
    h.drive();
    assert_eq!(h.pending_tokens.len(), 1);
    h.answer();
    assert!(is_connected(&h));

    // A drop while the refresh is out: the reconnect shares that request.
    h.advance(Duration::from_secs(3241));
    assert_eq!(h.pending_tokens.len(), 1);
    let link = h.opened[0].1;
    h.broker.close(link);
    h.drive();
    assert_eq!(h.state(), ConnectionState::FetchingToken);
    assert_eq!(h.pending_tokens.len(), 1);
    assert_eq!(h.token_requests(), 2);
    h.answer();
    assert!(is_connected(&h));
    assert_eq!(h.token_requests(), 2);
}

#[test]
fn an_unanswered_token_request_times_out_and_its_late_answer_is_ignored() {
    let mut h = Harness::new(25);
    h.auto_answer = false;
    h.start();
    h.advance(15 * SECOND);
    assert!(matches!(
        h.reason(),
        Some(Reason::Token(TokenError::Timeout(_)))
    ));
    backoff(&h);
    let first = h.pending_tokens[0].id();
    assert!(!h.sup.awaits_token(first));
    // The late answer to the first request changes nothing (the link opened beside that
    // request was closed unused when it timed out).
    h.answer();
    assert_eq!(h.opened.len(), 1);
    assert!(h.open_links.is_empty());
    assert!(h.sent_links.is_empty());
    h.advance_until(MINUTE, |h| !h.pending_tokens.is_empty());
    h.answer();
    assert!(is_connected(&h));
}

#[test]
fn a_link_that_fails_to_open_backs_off_and_retries_with_a_new_token() {
    let mut h = Harness::new(26);
    h.fail_opens = 2;
    h.start();
    assert_eq!(backoff(&h).0, 1);
    assert_eq!(h.reason(), Some(Reason::LinkClosed));
    h.advance_until(MINUTE, is_connected);
    assert_eq!(h.opened.len(), 3);
    assert_eq!(h.token_requests(), 3);
}

#[test]
fn the_attempt_count_resets_only_after_a_stable_link() {
    let mut h = connected(27);
    // Dropped right after connecting, three times: attempts accumulate.
    for expected in 1..=3 {
        let link = *h.open_links.iter().next().unwrap();
        h.broker.close(link);
        h.drive();
        assert_eq!(backoff(&h).0, expected);
        h.advance_until(MINUTE, is_connected);
    }
    // Stable for 10 s: the next drop starts over.
    h.advance(11 * SECOND);
    let link = *h.open_links.iter().next().unwrap();
    h.broker.close(link);
    h.drive();
    assert_eq!(backoff(&h).0, 1);
}

#[test]
fn stop_disconnects_gracefully_and_ignores_late_answers() {
    let mut h = connected(28);
    let link = h.opened[0].1;
    let now = h.now();
    h.sup.stop(now);
    h.drive();
    assert_eq!(h.state(), ConnectionState::Closed);
    assert_eq!(h.reason(), Some(Reason::Stopped));
    assert!(h.closed_by_client.contains(&link));
    assert!(h.broker.connected_links().is_empty());
    assert_eq!(h.sup.poll_timeout(), None);
    h.advance(2 * 3600 * SECOND);
    assert_eq!(h.token_requests(), 1);

    // Started again, it connects again.
    h.start();
    assert!(is_connected(&h));
}

#[test]
fn stop_while_fetching_ignores_the_answer() {
    let mut h = Harness::new(29);
    h.auto_answer = false;
    h.start();
    let now = h.now();
    h.sup.stop(now);
    h.answer();
    assert_eq!(h.state(), ConnectionState::Closed);
    // Only the link opened beside the token request, closed by `stop` with nothing sent.
    assert_eq!(h.opened.len(), 1);
    assert!(h.open_links.is_empty());
    assert!(h.sent_links.is_empty());
}

#[test]
fn every_state_change_is_reported_once_with_its_reason() {
    let mut h = Harness::new(30);
    h.replies.push_back(Reply::Status(500, None));
    h.start();
    h.advance_until(MINUTE, is_connected);
    let states: Vec<ConnectionState> = h.states();
    for pair in states.windows(2) {
        assert_ne!(pair[0], pair[1]);
    }
    let shown: Vec<String> = h
        .events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::State(s) => Some(s.to_string()),
            _ => None,
        })
        .collect();
    assert!(shown.iter().any(|s| s.contains("HTTP 500")), "{shown:?}");
}

#[test]
fn links_are_never_reused() {
    let mut h = connected(31);
    for _ in 0..3 {
        let link = *h.open_links.iter().next().unwrap();
        h.broker.close(link);
        h.drive();
        h.advance_until(MINUTE, is_connected);
    }
    let mut ids: Vec<LinkId> = h.opened.iter().map(|(_, l)| *l).collect();
    let count = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), count);
}

/// Random inputs in random order never make the supervisor send on a closed link (checked by
/// the harness) and never wedge it: once the world is healthy again, one explicit retry
/// brings it back to Connected.
#[test]
fn random_input_sequences_never_wedge_the_supervisor() {
    use crate::backoff::Rng;
    let replies = [
        Reply::Token,
        Reply::RevokedToken,
        Reply::Status(401, None),
        Reply::Status(429, Some("3")),
        Reply::Status(500, None),
        Reply::Body("garbage"),
        Reply::Network,
    ];
    for seed in 0..150 {
        let mut rng = Rng::new(seed);
        let mut h = Harness::new(seed);
        h.auto_answer = rng.below_inclusive(1) == 0;
        h.subscribe("chat/#");
        h.start();
        for step in 0..60 {
            let pick = |rng: &mut Rng, n: usize| rng.below_inclusive(n as u64 - 1) as usize;
            match pick(&mut rng, 14) {
                0 => h.advance(Duration::from_millis(rng.below_inclusive(120_000))),
                1 => h.advance(Duration::from_secs(rng.below_inclusive(4_000))),
                2 | 3 if !h.pending_tokens.is_empty() => {
                    let reply = replies[pick(&mut rng, replies.len())].clone();
                    h.replies.push_front(reply);
                    h.answer();
                }
                4 => {
                    if let Some(&link) = h.open_links.iter().next() {
                        h.broker.close(link);
                        h.drive();
                    }
                }
                5 => h.sup.handle_online(h.now()),
                6 => h.sup.handle_offline(h.now()),
                7 => {
                    h.now_ms += rng.below_inclusive(8_000_000);
                    let now = h.now();
                    h.sup.handle_timeout(now);
                }
                8 => h.sup.retry_now(h.now()),
                9 => h.sup.stop(h.now()),
                10 => h.sup.start(h.now()),
                11 => {
                    if let Some(&link) = h.open_links.iter().last() {
                        h.held.insert(link);
                    } else {
                        h.held.insert(LinkId(h.opened.len() as u32 + 1));
                    }
                    h.lose_held_on_close = rng.below_inclusive(1) == 0;
                }
                12 => h.held.clear(),
                _ => {
                    h.inject("chat/r", format!("m{seed}-{step}").as_bytes());
                    let _ = h.publish("out/r", "x");
                }
            }
            h.drive();
        }
        // The world heals.
        h.auto_answer = true;
        h.replies.clear();
        while !h.pending_tokens.is_empty() {
            h.answer();
        }
        h.held.clear();
        h.fail_opens = 0;
        h.drive();
        let now = h.now();
        h.sup.handle_online(now);
        h.sup.retry_now(now);
        h.drive();
        h.advance(2 * MINUTE);
        assert!(
            is_connected(&h),
            "seed {seed}: {:?}, states {:?}",
            h.sup.status(),
            h.states()
        );
        h.inject("chat/r", b"final");
        assert_eq!(
            h.messages().last().map(String::as_str),
            Some("final"),
            "seed {seed}"
        );
    }
}

#[test]
fn the_tokens_user_id_names_the_signed_in_user_until_a_sign_out() {
    let mut h = Harness::new(41);
    assert_eq!(h.sup.user_id(), None);
    h.start();
    assert_eq!(h.sup.user_id(), Some("u1"));

    // A broken link and a failed reconnect keep the identity: it is the same user.
    h.replies.push_back(Reply::Network);
    let link = h.broker.connected_links()[0];
    h.broker.close(link);
    h.drive();
    assert!(!is_connected(&h));
    assert_eq!(h.sup.user_id(), Some("u1"));

    // The token endpoint saying "signed out" forgets it.
    h.replies.push_back(Reply::Status(401, None));
    h.advance_until(10 * MINUTE, |h| h.state() == ConnectionState::SignedOut);
    assert_eq!(h.state(), ConnectionState::SignedOut);
    assert_eq!(h.sup.user_id(), None);
}

#[test]
fn without_a_user_id_the_mqtt_user_name_before_the_at_names_the_user() {
    let mut h = Harness::new(42);
    h.broker.accept("pw", 3_600_000);
    h.replies.push_back(Reply::Body(
        r#"{"mqtt_credentials":{"username":"bob@org_1","password":"pw"},"expires_in":3600}"#,
    ));
    h.start();
    assert!(is_connected(&h), "{:?}", h.sup.status());
    assert_eq!(h.token_requests(), 1);
    assert_eq!(h.sup.user_id(), Some("bob"));
}

// ----- Which broker ---------------------------------------------------------------------------

#[test]
fn the_token_responses_broker_url_wins_over_the_configured_one_rotation_included() {
    let mut h = Harness::new(1);
    h.token_broker_url = Some("ws://localhost:9001/mqtt".into());
    h.start();
    assert!(is_connected(&h), "{:?}", h.sup.status());
    // The configured broker's link, opened beside the token request, is closed unused.
    assert_eq!(
        h.opened_urls,
        ["ws://127.0.0.1:8083/mqtt", "ws://localhost:9001/mqtt"]
    );
    assert_eq!(
        h.sent_links.iter().copied().collect::<Vec<_>>(),
        [h.opened[1].1]
    );

    // The next credentials name another broker: the rotation's link goes there.
    h.token_broker_url = Some("wss://other.example/mqtt".into());
    h.advance_until(2 * h.ttl, |h| h.opened_urls.len() >= 3);
    assert_eq!(h.opened_urls[2], "wss://other.example/mqtt");

    // Credentials without a broker fall back to the configured one.
    h.token_broker_url = None;
    h.advance_until(2 * h.ttl, |h| h.opened_urls.len() >= 4);
    assert_eq!(h.opened_urls[3], "ws://127.0.0.1:8083/mqtt");
}

#[test]
fn without_a_configured_broker_the_token_must_name_one() {
    let mut h = Harness::with_broker_url(1, "");
    h.token_broker_url = Some("wss://broker.example/mqtt".into());
    h.start();
    assert!(is_connected(&h), "{:?}", h.sup.status());
    assert_eq!(h.opened_urls, vec!["wss://broker.example/mqtt".to_owned()]);
}

#[test]
fn with_no_broker_anywhere_the_supervisor_stops_for_good_with_a_typed_reason() {
    let mut h = Harness::with_broker_url(1, "  ");
    h.start();
    assert_eq!(h.state(), ConnectionState::Closed);
    assert_eq!(h.reason(), Some(Reason::NoBrokerUrl));
    assert!(h.opened_urls.is_empty());
    assert!(h
        .sup
        .status()
        .to_string()
        .contains("no broker to connect to"));
    // No retry loop.
    let requests = h.token_requests();
    h.advance(10 * MINUTE);
    assert_eq!(h.token_requests(), requests);
    assert_eq!(h.state(), ConnectionState::Closed);
    // An explicit retry asks again, and a token naming a broker connects.
    h.token_broker_url = Some("ws://127.0.0.1:8083/mqtt".into());
    let now = h.now();
    h.sup.retry_now(now);
    h.drive();
    assert!(is_connected(&h), "{:?}", h.sup.status());
}

#[test]
fn a_token_naming_an_unacceptable_broker_is_a_token_failure_and_nothing_is_sent() {
    let mut h = Harness::new(1);
    h.replies.push_back(Reply::Body(
        r#"{"accessToken":"pw","expires_in":3600,"brokerUrl":"ws://evil.example/mqtt"}"#,
    ));
    h.start();
    // Only the configured broker's link, opened beside the token request and closed unused.
    assert_eq!(h.opened_urls, ["ws://127.0.0.1:8083/mqtt"]);
    assert!(h.sent_links.is_empty());
    assert!(h.open_links.is_empty());
    assert!(
        matches!(
            h.reason(),
            Some(Reason::Token(TokenError::BadBrokerUrl { .. }))
        ),
        "{:?}",
        h.reason()
    );
    backoff(&h);
}

#[test]
fn no_debug_output_of_the_supervisor_its_actions_or_credentials_shows_the_password() {
    const SECRET: &str = "sup3r-s3cret-token";
    let action = crate::Action::RefreshToken {
        request: crate::RequestId(1),
        token_id: "t1".into(),
        password: crate::Secret::new(SECRET),
    };
    assert!(!format!("{action:?} {action:#?}").contains(SECRET));

    // A supervisor holding credentials (its link not opened yet).
    let session = mqtt_session::SessionConfig::default();
    let mut sup = crate::Supervisor::new(crate::SupervisorConfig::new("wss://b.example/", session));
    let now = mqtt_session::Instant::from_millis(0);
    sup.start(now);
    let Some(crate::Action::FetchToken { request }) = sup.poll_action() else {
        panic!("expected a token request");
    };
    let body = format!(r#"{{"accessToken":"{SECRET}","expires_in":3600,"tokenId":"t1"}}"#);
    let response = crate::HttpResponse {
        status: 200,
        body,
        ..crate::HttpResponse::default()
    };
    sup.handle_token(now, request, crate::TokenResult::Response(response.clone()));
    let shown = format!("{sup:?} {sup:#?} {response:?}");
    assert!(shown.contains("Secret(***)"), "holds credentials: {shown}");
    assert!(!shown.contains(SECRET), "{shown}");
}

// ----- Token and link in parallel ---------------------------------------------------------

const CONFIGURED: &str = "ws://127.0.0.1:8083/mqtt";

/// A supervisor configured with [`CONFIGURED`], driven by hand.
fn by_hand() -> crate::Supervisor {
    let session = mqtt_session::SessionConfig {
        client_id: "by-hand".into(),
        ..mqtt_session::SessionConfig::default()
    };
    crate::Supervisor::new(crate::SupervisorConfig::new(CONFIGURED, session))
}

fn actions(sup: &mut crate::Supervisor) -> Vec<crate::Action> {
    std::iter::from_fn(|| sup.poll_action()).collect()
}

fn token(password: &str, broker: Option<&str>) -> crate::TokenResult {
    let broker = broker
        .map(|url| format!(r#","brokerUrl":"{url}""#))
        .unwrap_or_default();
    crate::TokenResult::Response(crate::HttpResponse {
        status: 200,
        body: format!(r#"{{"accessToken":"{password}","expires_in":3600{broker}}}"#),
        ..crate::HttpResponse::default()
    })
}

/// The one CONNECT among `actions`: its link and whether it carries `password`.
fn connect_in(actions: &[crate::Action], password: &str) -> Option<(LinkId, bool)> {
    actions.iter().find_map(|a| match a {
        crate::Action::Send { link, bytes } if bytes[0] == 0x10 => Some((
            *link,
            bytes
                .windows(password.len())
                .any(|w| w == password.as_bytes()),
        )),
        _ => None,
    })
}

#[test]
fn a_connect_asks_for_the_token_and_opens_the_link_in_the_same_poll() {
    let t0 = mqtt_session::Instant::from_millis(0);
    let t1 = mqtt_session::Instant::from_millis(30);
    let t2 = mqtt_session::Instant::from_millis(180);

    // The socket opens first: it waits for the token, and CONNECT leaves with the token.
    let mut sup = by_hand();
    sup.start(t0);
    let polled = actions(&mut sup);
    let [crate::Action::FetchToken { request }, crate::Action::OpenLink { link, url }] =
        &polled[..]
    else {
        panic!("token request and link together: {polled:?}");
    };
    assert_eq!(url, CONFIGURED);
    assert_eq!(sup.state(), ConnectionState::FetchingToken);
    sup.handle_link_opened(t1, *link);
    assert_eq!(actions(&mut sup), [], "nothing is sent before the token");
    sup.handle_token(t2, *request, token("pw-a", None));
    let polled = actions(&mut sup);
    assert_eq!(
        connect_in(&polled, "pw-a"),
        Some((*link, true)),
        "{polled:?}"
    );
    assert_eq!(polled.len(), 1, "{polled:?}");
    assert_eq!(sup.state(), ConnectionState::Connecting);

    // The token comes first: CONNECT leaves the moment the socket opens.
    let mut sup = by_hand();
    sup.start(t0);
    let polled = actions(&mut sup);
    let [crate::Action::FetchToken { request }, crate::Action::OpenLink { link, .. }] = &polled[..]
    else {
        panic!("token request and link together: {polled:?}");
    };
    sup.handle_token(t1, *request, token("pw-b", None));
    assert_eq!(actions(&mut sup), []);
    assert_eq!(sup.state(), ConnectionState::Connecting);
    sup.handle_link_opened(t2, *link);
    let polled = actions(&mut sup);
    assert_eq!(
        connect_in(&polled, "pw-b"),
        Some((*link, true)),
        "{polled:?}"
    );
}

#[test]
fn a_token_naming_another_broker_closes_the_early_link_before_anything_is_sent_on_it() {
    const OTHER: &str = "wss://other.example/mqtt";
    let t0 = mqtt_session::Instant::from_millis(0);
    let t1 = mqtt_session::Instant::from_millis(30);
    // Early link already open, or still opening, when the token comes.
    for open_first in [true, false] {
        let mut sup = by_hand();
        sup.start(t0);
        let polled = actions(&mut sup);
        let [crate::Action::FetchToken { request }, crate::Action::OpenLink { link: early, .. }] =
            polled[..]
        else {
            panic!("{polled:?}");
        };
        if open_first {
            sup.handle_link_opened(t0, early);
            assert_eq!(actions(&mut sup), []);
        }
        sup.handle_token(t1, request, token("pw-other", Some(OTHER)));
        let polled = actions(&mut sup);
        let [crate::Action::CloseLink { link: closed }, crate::Action::OpenLink {
            link: right,
            ref url,
        }] = polled[..]
        else {
            panic!("{polled:?}");
        };
        assert_eq!((closed, url.as_str()), (early, OTHER));
        // A late report about the early link changes nothing.
        sup.handle_link_opened(t1, early);
        sup.handle_link_closed(t1, early);
        assert_eq!(actions(&mut sup), []);
        assert_eq!(sup.state(), ConnectionState::Connecting);
        sup.handle_link_opened(t1, right);
        let polled = actions(&mut sup);
        assert_eq!(
            connect_in(&polled, "pw-other"),
            Some((right, true)),
            "{polled:?}"
        );
    }

    // The same through the harness: one CONNECT, on the token's broker only.
    let mut h = Harness::new(51);
    h.token_broker_url = Some(OTHER.into());
    h.start();
    assert!(is_connected(&h), "{:?}", h.sup.status());
    assert_eq!(h.opened_urls, [CONFIGURED, OTHER]);
    let (early, right) = (h.opened[0].1, h.opened[1].1);
    assert_eq!(h.closed_by_client, [early]);
    assert_eq!(h.sent_links.iter().copied().collect::<Vec<_>>(), [right]);
    assert_eq!(h.broker.connects.len(), 1);
}

#[test]
fn a_token_naming_the_configured_broker_uses_the_early_link() {
    let mut h = Harness::new(52);
    h.token_broker_url = Some(CONFIGURED.into());
    h.start();
    assert!(is_connected(&h), "{:?}", h.sup.status());
    assert_eq!(h.opened.len(), 1);
    assert!(h.closed_by_client.is_empty());
}

#[test]
fn an_early_link_that_fails_is_not_a_failed_attempt_of_its_own() {
    // The early link fails, then so does the link opened once the token is there: one attempt.
    let mut h = Harness::new(53);
    h.auto_answer = false;
    h.fail_opens = 2;
    h.start();
    assert_eq!(h.state(), ConnectionState::FetchingToken);
    assert_eq!(h.opened.len(), 1);
    h.answer();
    assert_eq!(h.opened.len(), 2);
    assert_eq!(backoff(&h).0, 1);
    assert_eq!(h.reason(), Some(Reason::LinkClosed));

    // The early link fails and the token fails too: one attempt, counted for the token.
    let mut h = Harness::new(54);
    h.auto_answer = false;
    h.fail_opens = 1;
    h.start();
    h.replies.push_back(Reply::Status(500, None));
    h.answer();
    assert_eq!(h.opened.len(), 1);
    assert_eq!(backoff(&h).0, 1);
    assert!(
        matches!(h.reason(), Some(Reason::Token(_))),
        "{:?}",
        h.reason()
    );

    // The early link fails and the token is fine: a new link connects, no attempt counted.
    let mut h = Harness::new(55);
    h.auto_answer = false;
    h.fail_opens = 1;
    h.start();
    h.answer();
    assert!(is_connected(&h), "{:?}", h.sup.status());
    assert_eq!(h.opened.len(), 2);
    assert!(!h
        .states()
        .iter()
        .any(|s| matches!(s, ConnectionState::Backoff { .. })));
}

#[test]
fn a_reconnect_after_a_drop_also_asks_for_the_token_and_opens_the_link_together() {
    let mut h = connected(56);
    h.auto_answer = false;
    h.advance(MINUTE);
    let first = h.opened[0].1;
    h.broker.close(first);
    h.drive();
    h.advance_until(MINUTE, |h| !h.pending_tokens.is_empty());
    let (asked_at, _) = *h.token_log.last().unwrap();
    let (opened_at, early) = *h.opened.last().unwrap();
    assert_eq!(asked_at, opened_at);
    assert_ne!(early, first);
    assert!(h.open_links.contains(&early));
    assert!(
        !h.sent_links.contains(&early),
        "nothing sent before the token"
    );
    h.answer();
    assert!(is_connected(&h));
    assert_eq!(h.broker.connected_links(), [early]);
}

// ----- The Will -------------------------------------------------------------------------------

fn with_will(seed: u64, topic: &str) -> Harness {
    let mut h = Harness::new(seed);
    let session = mqtt_session::SessionConfig {
        client_id: "livechat-test".into(),
        will: Some(mqtt_session::LastWill {
            topic: topic.into(),
            retain: true,
            qos: mqtt_session::QoS::AtLeastOnce,
            delay_interval: Some(15),
            ..mqtt_session::LastWill::default()
        }),
        ..mqtt_session::SessionConfig::default()
    };
    let mut config = crate::SupervisorConfig::new("ws://127.0.0.1:8083/mqtt", session);
    config.seed = seed;
    h.sup = crate::Supervisor::new(config);
    h
}

fn will_topics(h: &Harness) -> Vec<Option<String>> {
    h.broker
        .connects
        .iter()
        .map(|c| c.will.as_ref().map(|w| w.topic.clone()))
        .collect()
}

#[test]
fn a_will_naming_the_user_carries_the_tokens_user_id_in_every_connect_rotation_included() {
    let mut h = with_will(61, "chat/r/presence/{userId}/tab1");
    h.start();
    assert!(is_connected(&h), "{:?}", h.sup.status());
    // Past refreshAt (90 % of the hour): a make-before-break rotation, a second CONNECT.
    h.advance(Duration::from_secs(3300));
    assert!(is_connected(&h), "{:?}", h.sup.status());
    let topics = will_topics(&h);
    assert!(topics.len() >= 2, "a rotation happened: {topics:?}");
    for t in &topics {
        assert_eq!(t.as_deref(), Some("chat/r/presence/u1/tab1"));
    }
    let will = h.broker.connects[1].will.clone().expect("a will");
    assert!(will.retain);
    assert_eq!(will.delay_interval, Some(15));
}

#[test]
fn a_will_naming_the_user_is_left_out_when_the_user_cannot_be_a_topic_level() {
    let mut h = with_will(62, "chat/r/presence/{userId}/tab1");
    h.broker.accept("pw", 3_600_000);
    h.replies.push_back(Reply::Body(
        r#"{"mqtt_credentials":{"username":"a/b@org_1","password":"pw"},"expires_in":3600}"#,
    ));
    h.start();
    assert!(is_connected(&h), "{:?}", h.sup.status());
    assert_eq!(will_topics(&h), vec![None]);
}

#[test]
fn a_will_without_the_placeholder_is_sent_as_configured() {
    let mut h = with_will(63, "status/fixed");
    h.start();
    assert_eq!(will_topics(&h), vec![Some("status/fixed".to_owned())]);
}

#[test]
fn a_mqtt311_broker_closing_on_a_retained_will_gets_a_connect_without_one() {
    // Mosquitto without retain, over 3.1.1: no CONNACK to a CONNECT with a retained Will, the
    // socket just closes. Reached here through the v5 -> 3.1.1 fallback.
    let mut h = with_will(65, "chat/r/presence/{userId}/tab1");
    h.broker.v311_only = true;
    h.broker.no_retain = true;
    h.start();
    assert!(is_connected(&h), "{:?}", h.sup.status());
    let versions: Vec<ProtocolVersion> = h.broker.connects.iter().map(|c| c.protocol).collect();
    assert_eq!(
        versions,
        [
            ProtocolVersion::V5,
            ProtocolVersion::V311,
            ProtocolVersion::V311
        ]
    );
    assert_eq!(
        will_topics(&h),
        vec![
            Some("chat/r/presence/u1/tab1".to_owned()),
            Some("chat/r/presence/u1/tab1".to_owned()),
            None
        ]
    );
    assert_eq!(h.token_requests(), 1, "the same token, no backoff");
    // Confirmed by the CONNACK: a reconnect goes without the Will at once.
    let link = h.broker.connected_links()[0];
    h.broker.close(link);
    h.drive();
    h.advance_until(Duration::from_secs(120), is_connected);
    assert!(is_connected(&h), "{:?}", h.sup.status());
    let topics = will_topics(&h);
    assert_eq!(topics.len(), 4, "one reconnect: {topics:?}");
    assert_eq!(topics[3], None);
}

#[test]
fn a_close_without_connack_on_mqtt311_with_a_will_and_without_it_keeps_the_will() {
    // A link fault closing every CONNECT: the attempt without the Will fails too, so the Will
    // was not why; it is back for the next attempt.
    let mut h = with_will(66, "chat/r/presence/{userId}/tab1");
    h.broker.close_before_connack = true;
    h.start();
    h.broker.close_before_connack = false;
    h.advance_until(Duration::from_secs(120), is_connected);
    assert!(is_connected(&h), "{:?}", h.sup.status());
    assert_eq!(
        will_topics(&h).last().cloned().flatten().as_deref(),
        Some("chat/r/presence/u1/tab1"),
        "{:?}",
        will_topics(&h)
    );
}

#[test]
fn a_broker_refusing_a_retained_will_gets_a_connect_without_one() {
    let mut h = with_will(64, "chat/r/presence/{userId}/tab1");
    h.broker.no_retain = true;
    h.start();
    assert!(is_connected(&h), "{:?}", h.sup.status());
    assert_eq!(
        will_topics(&h),
        vec![Some("chat/r/presence/u1/tab1".to_owned()), None]
    );
    // And it stays without: a reconnect does not try again.
    let link = h.broker.connected_links()[0];
    h.broker.close(link);
    h.drive();
    h.advance(Duration::from_secs(60));
    assert!(is_connected(&h), "{:?}", h.sup.status());
    let topics = will_topics(&h);
    assert!(topics.len() >= 3, "reconnected: {topics:?}");
    assert!(topics[2..].iter().all(Option::is_none));
}

#[test]
fn fill_user_is_str_replace() {
    for topic in [
        "",
        "{userId}",
        "presence/{userId}",
        "a/{userId}/b/{userId}",
        "{userId}{userId}",
        "{user{userId}Id}",
        "é/{userId}/ü",
        "no placeholder",
        "{userid}",
    ] {
        for user in ["", "u1", "{userId}", "ß"] {
            assert_eq!(
                super::fill_user(topic, user),
                topic.replace(super::USER_ID_PLACEHOLDER, user),
                "{topic:?} {user:?}"
            );
        }
    }
}
