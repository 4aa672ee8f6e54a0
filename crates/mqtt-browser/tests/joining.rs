//! The driver in headless Chromium against the dev stack, counting `WebSocket.send` calls
//! ([`debug_traffic`]): what one task produces for a link leaves as one WebSocket message.
//!
//! Same setup as `dev_stack.rs` (`LIVECHAT_TEST_HTTP`, `LIVECHAT_TEST_BROKER_WS`, read at compile
//! time). Each test waits until its driver is connected and idle (nothing more to send until it
//! acts), so every send counted afterwards is one the test caused. No timing is asserted.
#![cfg(target_arch = "wasm32")]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use mqtt_browser::{
    debug_traffic, ClientEvent, Driver, OutgoingPublish, QoS, Snapshot, Subscriber,
    SubscriptionStatus,
};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod support;
use support::*;

/// Three QoS 1 publishes made one after another in one task: before, three `WebSocket.send`
/// calls; now one message holding the three PUBLISH packets. The topic is not subscribed, so
/// the broker answers with PUBACKs only and the driver sends nothing more.
#[wasm_bindgen_test]
async fn three_publishes_made_in_one_task_leave_in_one_websocket_message() {
    let _serial = Serial::acquire().await;
    token_endpoint("ok").await;
    login("browser-join").await;
    // The user's own author topic (the only one the ACL lets it publish on).
    let topic = "chat/browser-join/messages/browser-join";
    let rec = Recorder::default();
    let d = Driver::new(driver_config("join-"), rec.subscriber()).expect("driver starts");
    assert!(
        wait_for(15_000, || rec.connected()).await,
        "state {:?}",
        rec.state()
    );
    // Connected and nothing asked for: the driver has nothing to send until it is told to.
    sleep(100).await;
    let before = debug_traffic();
    for i in 0..3 {
        d.publish(OutgoingPublish::new(
            topic,
            format!("join-{i}").into_bytes(),
            QoS::AtLeastOnce,
        ))
        .unwrap();
    }
    assert_eq!(
        debug_traffic(),
        before,
        "nothing leaves while the task runs: the flush is a microtask"
    );
    assert!(wait_for(5_000, || rec.acknowledged() == 3).await);
    sleep(100).await;
    let after = debug_traffic();
    assert_eq!(
        after.ws_sends - before.ws_sends,
        1,
        "{before:?} -> {after:?}"
    );
    assert!(
        after.ws_bytes_sent - before.ws_bytes_sent >= 3 * "join-0".len() as u64 + 3 * 2,
        "the three payloads and packet ids went in it: {before:?} -> {after:?}"
    );
    drop(d);
}

const ROUND_TRIPS: u32 = 5;

/// The bench's round trip, in the shape of its page: each message that arrives resolves a
/// promise, and the next QoS 1 publish is made in that promise's reaction (a microtask after
/// the message's task, before the driver's flush). The PUBACK of message k and the PUBLISH of
/// message k + 1 then leave as one WebSocket message:
///
/// - publish 0 (from the test): 1 send;
/// - messages 0..N-1 arrive, each answered by PUBACK + the next PUBLISH: N - 1 sends;
/// - message N-1 arrives: its PUBACK alone, 1 send.
///
/// N + 1 sends for N round trips; one send per packet (before this driver) made it 2N.
#[wasm_bindgen_test]
async fn a_puback_and_the_publish_made_in_the_promise_reaction_to_its_message_leave_together() {
    let _serial = Serial::acquire().await;
    token_endpoint("ok").await;
    login("browser-rtt").await;
    let topic = "chat/browser-rtt/messages/browser-rtt";
    let rec = Recorder::default();
    let slot: Rc<RefCell<Option<Driver>>> = Rc::default();
    let next = Rc::new(Cell::new(1u32));
    let armed = Rc::new(Cell::new(false));

    // `publish(next)` as the bench page's `await arrived` continuation runs it.
    let publish_next = {
        let (slot, next) = (slot.clone(), next.clone());
        Rc::new(Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
            let i = next.get();
            next.set(i + 1);
            if let Some(d) = slot.borrow().as_ref() {
                d.publish(OutgoingPublish::new(
                    topic,
                    format!("rtt-{i}").into_bytes(),
                    QoS::AtLeastOnce,
                ))
                .unwrap();
            }
        }))
    };
    let subscriber: Subscriber = {
        let (record, next, armed) = (rec.subscriber(), next.clone(), armed.clone());
        let reaction = publish_next.clone();
        Rc::new(move |event: ClientEvent, snapshot: Rc<Snapshot>| {
            let message = matches!(event, ClientEvent::Message(_));
            record(event, snapshot);
            if message && armed.get() && next.get() < ROUND_TRIPS {
                // Queued now, inside the driver's delivery: it runs before the flush.
                let _ = js_sys::Promise::resolve(&JsValue::UNDEFINED).then(&reaction);
            }
        })
    };
    *slot.borrow_mut() =
        Some(Driver::new(driver_config("rtt-"), subscriber).expect("driver starts"));
    slot.borrow()
        .as_ref()
        .unwrap()
        .declare_subscriptions(&[topic], QoS::AtLeastOnce)
        .unwrap();
    assert!(
        wait_for(15_000, || rec.subscription(topic)
            == Some(SubscriptionStatus::Granted(QoS::AtLeastOnce)))
        .await,
        "state {:?}, subscription {:?}",
        rec.state(),
        rec.subscription(topic)
    );
    sleep(100).await;

    armed.set(true);
    let before = debug_traffic();
    slot.borrow()
        .as_ref()
        .unwrap()
        .publish(OutgoingPublish::new(
            topic,
            b"rtt-0".to_vec(),
            QoS::AtLeastOnce,
        ))
        .unwrap();
    let all = ROUND_TRIPS as usize;
    assert!(
        wait_for(10_000, || rec.messages().len() == all
            && rec.acknowledged() == all)
        .await,
        "{} messages, {} acknowledged",
        rec.messages().len(),
        rec.acknowledged()
    );
    // The last PUBACK leaves in the microtask after the last message's task.
    sleep(100).await;
    let after = debug_traffic();
    let payloads: Vec<Vec<u8>> = rec.messages().into_iter().map(|(p, _)| p).collect();
    let expected: Vec<Vec<u8>> = (0..ROUND_TRIPS)
        .map(|i| format!("rtt-{i}").into_bytes())
        .collect();
    assert_eq!(payloads, expected, "each once, in order");
    assert_eq!(
        after.ws_sends - before.ws_sends,
        u64::from(ROUND_TRIPS) + 1,
        "{before:?} -> {after:?}"
    );
    // The slot held the driver, whose subscriber holds the reaction, which holds the slot:
    // emptying it breaks the cycle.
    let driver = slot.borrow_mut().take();
    drop(driver);
}
