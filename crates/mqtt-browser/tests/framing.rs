//! The driver in headless Chromium against a broker that frames MQTT packets unlike the real
//! ones: the dev stack's framing control (`POST /dev/control/framing`) makes its broker proxy
//! cut every packet into 1–3-byte WebSocket frames (`split`, like Aedes) or send several packets
//! (and parts of the next) in one frame (`coalesce`, like rumqttd) on new connections.
//!
//! Same setup as `dev_stack.rs` (`LIVECHAT_TEST_HTTP`, `LIVECHAT_TEST_BROKER_WS`, read at compile
//! time; the stack runs with `DEV_CONTROLS=1` and the embedded broker). Each test sets framing
//! back to `off` when it ends; a failing test aborts the instance before that, so each test
//! also starts by setting its own mode.
#![cfg(target_arch = "wasm32")]

use mqtt_browser::{Driver, OutgoingPublish, QoS, SubscriptionStatus};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod support;
use support::*;

async fn framing(mode: &str) {
    control("framing", &format!(r#"{{"mode":"{mode}"}}"#)).await;
}

fn driver(recorder: &Recorder) -> Driver {
    Driver::new(driver_config("framing-"), recorder.subscriber()).expect("driver starts")
}

const TOTAL: u32 = 50;

/// With framing `mode`: connect, subscribe, publish 50 QoS 1 messages, each received once.
async fn fifty_qos1_messages_arrive_exactly_once(mode: &str) {
    let _serial = Serial::acquire().await;
    token_endpoint("ok").await;
    framing(mode).await;
    let user = format!("browser-{mode}");
    login(&user).await;
    // The user's own author topic (the only one the ACL lets it publish on).
    let topic = format!("chat/{user}/messages/{user}");
    let rec = Recorder::default();
    let d = driver(&rec);
    d.declare_subscriptions(&[topic.as_str()], QoS::AtLeastOnce)
        .unwrap();
    let connected = wait_for(15_000, || rec.connected()).await;
    let granted = wait_for(5_000, || {
        rec.subscription(&topic) == Some(SubscriptionStatus::Granted(QoS::AtLeastOnce))
    })
    .await;
    if connected && granted {
        for i in 0..TOTAL {
            d.publish(OutgoingPublish::new(
                topic.as_str(),
                format!("{mode}-{i}").into_bytes(),
                QoS::AtLeastOnce,
            ))
            .unwrap();
        }
    }
    let all_in = wait_for(20_000, || rec.received().len() == TOTAL as usize).await;
    let all_acked = wait_for(5_000, || rec.acknowledged() == TOTAL as usize).await;
    // Let a late duplicate show up before counting.
    sleep(300).await;
    let seen = rec.received();
    let state = rec.state();
    let subscription = rec.subscription(&topic);
    let acked = rec.acknowledged();
    drop(d);
    // Reset before asserting, so a failure leaves the stack's framing off.
    framing("off").await;

    assert!(connected, "{mode}: state {state:?}");
    assert!(granted, "{mode}: subscription {subscription:?}");
    let lost: Vec<u32> = (0..TOTAL)
        .filter(|i| !seen.contains_key(format!("{mode}-{i}").as_bytes()))
        .collect();
    assert!(all_in && lost.is_empty(), "{mode}: lost {lost:?}");
    let twice: Vec<String> = seen
        .iter()
        .filter(|(_, &n)| n > 1)
        .map(|(p, n)| format!("{} x{n}", String::from_utf8_lossy(p)))
        .collect();
    assert!(
        twice.is_empty(),
        "{mode}: received more than once: {twice:?}"
    );
    assert_eq!(seen.len(), TOTAL as usize, "{mode}: unexpected payloads");
    assert!(all_acked, "{mode}: {acked} of {TOTAL} acknowledged");
}

#[wasm_bindgen_test]
async fn split_frames_deliver_fifty_qos1_messages_exactly_once() {
    fifty_qos1_messages_arrive_exactly_once("split").await;
}

#[wasm_bindgen_test]
async fn coalesced_frames_deliver_fifty_qos1_messages_exactly_once() {
    fifty_qos1_messages_arrive_exactly_once("coalesce").await;
}
