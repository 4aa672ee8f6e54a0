//! `use_mqtt` in headless Chromium against the real dev stack (see `scripts/test.sh`; the stack's
//! addresses are read at compile time from `LIVECHAT_TEST_HTTP` and `LIVECHAT_TEST_BROKER_WS`).
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen_test::*;
use yew::prelude::*;
use yew_mqtt::{
    debug_counts, use_mqtt, ConnectionState, MqttMessage, SubscriptionStatus, UseMqttHandle,
    UseMqttOptions,
};

// The browser-test helpers of the driver crate (stack addresses, sign-in, polling, the serial
// lock), compiled into this binary too.
#[path = "../../mqtt-browser/tests/support/mod.rs"]
mod support;
use support::{broker, http, login, sleep, wait_for, Serial};

wasm_bindgen_test_configure!(run_in_browser);

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
struct Chat {
    id: u32,
    text: String,
}

/// What the test reads from inside the component.
#[derive(Default)]
struct Probe {
    handle: Option<UseMqttHandle>,
    received: Vec<Chat>,
    /// Which generation of the `on_message` closure saw each message.
    seen_by: Vec<u32>,
}

#[derive(Properties, Clone)]
struct ClientProps {
    probe: Rc<RefCell<Probe>>,
    topic: String,
    /// Bumped by the test to re-render with a new `on_message` closure.
    generation: u32,
}

impl PartialEq for ClientProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.probe, &other.probe)
            && self.topic == other.topic
            && self.generation == other.generation
    }
}

#[function_component]
fn Client(props: &ClientProps) -> Html {
    let on_message = {
        let probe = props.probe.clone();
        let generation = props.generation;
        Callback::from(move |m: MqttMessage| {
            let mut probe = probe.borrow_mut();
            if let Ok(chat) = m.json::<Chat>() {
                probe.received.push(chat);
                probe.seen_by.push(generation);
            }
        })
    };
    let mqtt = use_mqtt(UseMqttOptions {
        token_url: format!("{}/api/mqtt-token", http()),
        refresh_url: format!("{}/api/mqtt-token/refresh", http()),
        broker_url: broker(),
        client_id_prefix: "hook-test-".into(),
        subscriptions: vec![props.topic.clone()],
        on_message,
        ..Default::default()
    });
    props.probe.borrow_mut().handle = Some(mqtt.clone());
    html! { <p>{ mqtt.status().to_string() }</p> }
}

fn mount(probe: &Rc<RefCell<Probe>>, topic: &str, generation: u32) -> yew::AppHandle<Client> {
    let document = web_sys::window().unwrap().document().unwrap();
    let root = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    yew::Renderer::<Client>::with_root_and_props(
        root,
        ClientProps {
            probe: probe.clone(),
            topic: topic.into(),
            generation,
        },
    )
    .render()
}

fn handle(probe: &Rc<RefCell<Probe>>) -> Option<UseMqttHandle> {
    probe.borrow().handle.clone()
}

fn connected(probe: &Rc<RefCell<Probe>>) -> bool {
    handle(probe).is_some_and(|h| matches!(h.state(), ConnectionState::Connected { .. }))
}

#[wasm_bindgen_test]
async fn the_hook_connects_subscribes_and_round_trips_json_to_the_latest_callback() {
    let _serial = Serial::acquire().await;
    login("hook-roundtrip").await;
    // The signed-in user's own author topic (the only one the ACL lets it publish on).
    let topic = "chat/hook-roundtrip/messages/hook-roundtrip";
    let probe = Rc::new(RefCell::new(Probe::default()));
    let mut app = mount(&probe, topic, 1);
    assert!(
        wait_for(15_000, || connected(&probe)).await,
        "{:?}",
        handle(&probe).map(|h| h.status().clone())
    );
    // The dev stack's token names the signed-in user (`userId`).
    assert_eq!(
        handle(&probe).and_then(|h| h.user_id().map(str::to_owned)),
        Some("hook-roundtrip".to_owned())
    );
    assert!(
        wait_for(5_000, || handle(&probe).is_some_and(|h| matches!(
            h.subscriptions().get(topic),
            Some(SubscriptionStatus::Granted(_))
        )))
        .await
    );
    let first = Chat {
        id: 1,
        text: "hello".into(),
    };
    handle(&probe).unwrap().publish_json(topic, &first).unwrap();
    assert!(wait_for(5_000, || probe.borrow().received.contains(&first)).await);

    // A re-render with a new closure: the next message must reach the new one.
    app.update(ClientProps {
        probe: probe.clone(),
        topic: topic.into(),
        generation: 2,
    });
    sleep(20).await;
    let second = Chat {
        id: 2,
        text: "again".into(),
    };
    handle(&probe)
        .unwrap()
        .publish_json(topic, &second)
        .unwrap();
    assert!(wait_for(5_000, || probe.borrow().received.contains(&second)).await);
    assert_eq!(probe.borrow().seen_by, vec![1, 2]);
    app.destroy();
}

#[wasm_bindgen_test]
async fn mounting_and_unmounting_the_hook_100_times_leaves_nothing_behind() {
    let _serial = Serial::acquire().await;
    login("hook-leak").await;
    let before = debug_counts();
    // The signed-in user's own author topic (the only one the ACL lets it publish on).
    let topic = "chat/hook-leak/messages/hook-leak";
    for round in 0..100u32 {
        let probe = Rc::new(RefCell::new(Probe::default()));
        let app = mount(&probe, topic, 0);
        match round % 10 {
            0 => assert!(wait_for(15_000, || connected(&probe)).await),
            n => sleep(n * 5).await,
        }
        app.destroy();
        sleep(20).await;
    }
    sleep(50).await;
    assert_eq!(debug_counts(), before, "left behind");
}
