//! The driver in headless Chromium against the real dev stack (token backend + broker).
//!
//! `scripts/test.sh` starts the stack with `DEV_CONTROLS=1` and exports its addresses, which are
//! read at compile time: `LIVECHAT_TEST_HTTP` (e.g. `http://127.0.0.1:18080`) and
//! `LIVECHAT_TEST_BROKER_WS` (e.g. `ws://127.0.0.1:18083`). The test page is served on another
//! port of 127.0.0.1 (same site, so the dev login cookie is sent), and the stack's
//! `CORS_ORIGINS` lists it. Tests run one at a time; each resets the token endpoint first.
#![cfg(target_arch = "wasm32")]

use std::collections::BTreeMap;

use mqtt_browser::{
    debug_counts, ConnectionState, Driver, OutgoingPublish, QoS, Reason, SubscriptionStatus,
};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod support;
use support::*;

fn driver(recorder: &Recorder) -> Driver {
    Driver::new(driver_config("test-"), recorder.subscriber()).expect("driver starts")
}

#[wasm_bindgen_test]
async fn a_driver_connects_and_receives_its_own_qos1_message() {
    let _serial = Serial::acquire().await;
    token_endpoint("ok").await;
    login("browser-pubsub").await;
    let rec = Recorder::default();
    let d = driver(&rec);
    // The signed-in user's own author topic (the only one the ACL lets it publish on).
    let topic = "chat/browser-pubsub/messages/browser-pubsub";
    d.declare_subscriptions(&[topic], QoS::AtLeastOnce).unwrap();
    assert!(
        wait_for(15_000, || rec.connected()).await,
        "state {:?}",
        rec.state()
    );
    assert!(
        wait_for(5_000, || rec.subscription(topic)
            == Some(SubscriptionStatus::Granted(QoS::AtLeastOnce)))
        .await,
        "subscription {:?}",
        rec.subscription(topic)
    );
    d.publish(OutgoingPublish::new(
        topic,
        b"hello".to_vec(),
        QoS::AtLeastOnce,
    ))
    .unwrap();
    assert!(wait_for(5_000, || rec.messages().iter().any(|(p, _)| p == b"hello")).await);
    assert!(wait_for(5_000, || rec.acknowledged() == 1).await);
}

#[wasm_bindgen_test]
async fn the_forbidden_admin_room_is_refused_with_its_reason() {
    let _serial = Serial::acquire().await;
    token_endpoint("ok").await;
    login("browser-refused").await;
    let rec = Recorder::default();
    let d = driver(&rec);
    let topic = "chat/admin/messages";
    d.subscribe(topic, QoS::AtLeastOnce).unwrap();
    assert!(
        wait_for(15_000, || matches!(
            rec.subscription(topic),
            Some(SubscriptionStatus::Refused(_))
        ))
        .await,
        "subscription {:?}",
        rec.subscription(topic)
    );
    let Some(SubscriptionStatus::Refused(refusal)) = rec.subscription(topic) else {
        unreachable!()
    };
    assert_eq!(refusal.code, 0x87, "{refusal:?}");
    assert!(refusal.describe().contains("not authorized"), "{refusal:?}");
    assert!(
        rec.connected(),
        "a refused subscription leaves the connection up"
    );
}

#[wasm_bindgen_test]
async fn rotation_with_a_short_ttl_loses_and_duplicates_nothing() {
    let _serial = Serial::acquire().await;
    token_endpoint("ok").await;
    control("token-ttl", r#"{"secs":3}"#).await;
    login("browser-rotation").await;
    // The signed-in user's own author topic (the only one the ACL lets it publish on).
    let topic = "chat/browser-rotation/messages/browser-rotation";
    let sub = Recorder::default();
    let subscriber = driver(&sub);
    subscriber
        .declare_subscriptions(&[topic], QoS::AtLeastOnce)
        .unwrap();
    let pub_rec = Recorder::default();
    let publisher = driver(&pub_rec);
    assert!(wait_for(15_000, || sub.connected() && pub_rec.connected()).await);
    assert!(
        wait_for(5_000, || matches!(
            sub.subscription(topic),
            Some(SubscriptionStatus::Granted(_))
        ))
        .await
    );

    // ~8 s of traffic, a message every 8 ms: tokens live 3 s, so several rotations of both
    // clients, each with publishes in flight when it starts. A takeover that did not let the old
    // link drain lost PUBACKs with it, and the resends reached the subscriber as new messages
    // (DUP clear): 4 runs of 10 failed the duplicate check below before the drain.
    let total = 1000u32;
    for i in 0..total {
        publisher
            .publish(OutgoingPublish::new(
                topic,
                i.to_string().into_bytes(),
                QoS::AtLeastOnce,
            ))
            .unwrap();
        sleep(8).await;
    }
    let all_in = wait_for(20_000, || {
        let got: std::collections::BTreeSet<Vec<u8>> =
            sub.messages().into_iter().map(|(p, _)| p).collect();
        got.len() == total as usize
    })
    .await;
    let ttl = option_env!("LIVECHAT_TEST_TOKEN_TTL_SECS").unwrap_or("20");
    control("token-ttl", &format!(r#"{{"secs":{ttl}}}"#)).await;

    let mut seen: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
    let mut unflagged_duplicates = 0;
    for (payload, dup) in sub.messages() {
        let count = seen.entry(payload).or_default();
        *count += 1;
        if *count > 1 && !dup {
            unflagged_duplicates += 1;
        }
    }
    let lost: Vec<u32> = (0..total)
        .filter(|i| !seen.contains_key(i.to_string().as_bytes()))
        .collect();
    let redelivered: u32 = seen.values().map(|c| c - 1).sum();
    let connected = |s: &ConnectionState| matches!(s, ConnectionState::Connected { .. });
    let connecting = |s: &ConnectionState| matches!(s, ConnectionState::Connecting);
    let rotations = sub.completed_rotations() + pub_rec.completed_rotations();
    // Every renewal ends in a (re-)entered Connected, whether by make-before-break rotation or
    // by reconnecting after the broker closed an expired link.
    let renewals = sub.count_states(connected) + pub_rec.count_states(connected) - 2;
    let reconnects = sub.count_states(connecting) + pub_rec.count_states(connecting) - 2;
    console_log!(
        "rotation: {renewals} renewals, {rotations} make-before-break rotations, \
         {reconnects} reconnects, {redelivered} DUP redeliveries"
    );
    console_log!("subscriber states: {:#?}", sub.transitions());
    console_log!("publisher states: {:#?}", pub_rec.transitions());
    assert!(all_in && lost.is_empty(), "lost {lost:?}");
    assert_eq!(
        unflagged_duplicates, 0,
        "a message was shown twice without DUP"
    );
    assert!(
        renewals >= 2,
        "the short TTL must have renewed the credentials"
    );
    assert!(
        rotations >= 1,
        "no make-before-break rotation completed ({renewals} renewals, {reconnects} reconnects)"
    );
    assert!(wait_for(5_000, || pub_rec.acknowledged() == total as usize).await);
    drop((subscriber, publisher));
}

#[wasm_bindgen_test]
async fn after_a_broker_restart_the_client_is_connected_again_and_subscribed() {
    let _serial = Serial::acquire().await;
    token_endpoint("ok").await;
    login("browser-restart").await;
    // The signed-in user's own author topic (the only one the ACL lets it publish on).
    let topic = "chat/browser-restart/messages/browser-restart";
    let rec = Recorder::default();
    let d = driver(&rec);
    d.declare_subscriptions(&[topic], QoS::AtLeastOnce).unwrap();
    assert!(wait_for(15_000, || rec.connected()).await);
    let connects_before = rec.count_states(|s| matches!(s, ConnectionState::Connected { .. }));
    control("broker/restart", r#"{"downMs":500}"#).await;
    assert!(
        wait_for(30_000, || rec.connected()
            && rec.count_states(|s| matches!(
                s,
                ConnectionState::Connected { .. }
            )) > connects_before)
        .await,
        "state {:?} reason {:?}",
        rec.state(),
        rec.reason()
    );
    d.publish(OutgoingPublish::new(
        topic,
        b"after".to_vec(),
        QoS::AtLeastOnce,
    ))
    .unwrap();
    assert!(
        wait_for(10_000, || rec.messages().iter().any(|(p, _)| p == b"after")).await,
        "the subscription was restored after the restart"
    );
}

#[wasm_bindgen_test]
async fn token_endpoint_failures_map_to_signed_out_and_backoff() {
    let _serial = Serial::acquire().await;
    login("browser-token").await;

    token_endpoint("401").await;
    let rec = Recorder::default();
    let d = driver(&rec);
    assert!(
        wait_for(10_000, || rec.state() == Some(ConnectionState::SignedOut)).await,
        "401: {:?}",
        rec.state()
    );
    assert!(matches!(
        rec.reason(),
        Some(Reason::SignedOut { status: 401 })
    ));
    drop(d);

    token_endpoint("429").await;
    let rec = Recorder::default();
    let d = driver(&rec);
    assert!(
        wait_for(10_000, || matches!(
            rec.state(),
            Some(ConnectionState::Backoff { .. })
        ))
        .await,
        "429: {:?}",
        rec.state()
    );
    assert!(
        matches!(rec.reason(), Some(Reason::RateLimited { .. })),
        "{:?}",
        rec.reason()
    );
    drop(d);

    token_endpoint("500").await;
    let rec = Recorder::default();
    let d = driver(&rec);
    assert!(
        wait_for(10_000, || matches!(
            rec.state(),
            Some(ConnectionState::Backoff { .. })
        ))
        .await,
        "500: {:?}",
        rec.state()
    );
    assert!(
        matches!(rec.reason(), Some(Reason::Token(_))),
        "{:?}",
        rec.reason()
    );

    // Back to normal: an explicit retry connects.
    token_endpoint("ok").await;
    d.retry_now();
    assert!(
        wait_for(15_000, || rec.connected()).await,
        "{:?}",
        rec.state()
    );
}

#[wasm_bindgen_test]
async fn creating_and_dropping_a_driver_100_times_leaves_nothing_behind() {
    let _serial = Serial::acquire().await;
    token_endpoint("ok").await;
    login("browser-leak").await;
    // Compared with the counts before, not zero: a failed earlier test cannot unwind (wasm
    // panics abort), so its driver would still be counted.
    let before = debug_counts();
    for round in 0..100u32 {
        let rec = Recorder::default();
        let d = driver(&rec);
        // Drop at different points: while fetching, while connecting, and once connected.
        match round % 10 {
            0 => assert!(wait_for(15_000, || rec.connected()).await),
            n => sleep(n * 7).await,
        }
        drop(d);
    }
    let after = debug_counts();
    assert_eq!(after, before, "left behind");
}
