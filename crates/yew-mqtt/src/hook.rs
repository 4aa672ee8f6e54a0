//! `use_mqtt`: wiring only. The behaviour lives in the driver and the supervisor.

use std::rc::Rc;

use mqtt_browser::mqtt_lifecycle::{ClientEvent, ConnectionState, Status};
use mqtt_browser::{clock, Driver, Snapshot};
use yew::prelude::*;

use crate::handle::{DriverSlot, UseMqttHandle};
use crate::message::MqttMessage;
use crate::options::{ConnectionKey, UseMqttOptions};

/// Runs an MQTT client for as long as the component is mounted.
///
/// The client starts on mount (token, then connect), follows option changes (a change of
/// endpoint, broker, protocol, keep-alive or queue bound reconnects with a new client; a change
/// of subscriptions subscribes/unsubscribes the difference) and releases everything on unmount.
#[hook]
pub fn use_mqtt(options: UseMqttOptions) -> UseMqttHandle {
    // The latest callbacks, read by the driver's subscriber at each event.
    let callbacks = use_mut_ref(|| {
        (
            options.on_message.clone(),
            options.on_delivery.clone(),
            options.on_dropped.clone(),
        )
    });
    *callbacks.borrow_mut() = (
        options.on_message.clone(),
        options.on_delivery.clone(),
        options.on_dropped.clone(),
    );

    let snapshot = use_state(|| {
        Rc::new(Snapshot {
            status: Status {
                state: ConnectionState::Idle,
                reason: None,
            },
            subscriptions: Default::default(),
            user_id: None,
        })
    });
    let slot: DriverSlot = use_mut_ref(|| None);

    {
        let slot = slot.clone();
        let set_snapshot = snapshot.setter();
        let subscriptions = options.subscriptions.clone();
        let qos = options.default_qos;
        use_effect_with(ConnectionKey::from(&options), move |key| {
            let subscriber = Rc::new(move |event: &ClientEvent, now: &Snapshot| match event {
                ClientEvent::Message(message) => {
                    let on_message = callbacks.borrow().0.clone();
                    on_message.emit(MqttMessage::from(message.clone()));
                }
                ClientEvent::Delivery { id, status } => {
                    let on_delivery = callbacks.borrow().1.clone();
                    on_delivery.emit((*id, status.clone()));
                }
                ClientEvent::MessageDropped(dropped) => {
                    let on_dropped = callbacks.borrow().2.clone();
                    on_dropped.emit(dropped.clone());
                }
                _ => set_snapshot.set(Rc::new(now.clone())),
            });
            let client_id = clock::random_client_id(&key.client_id_prefix);
            // Without a window (not a page) there is nothing to run: the state stays Idle.
            if let Ok(driver) = Driver::new(key.driver_config(client_id), subscriber) {
                // Refused only for an invalid filter; its status then never leaves Pending.
                let _ = driver.declare_subscriptions(&subscriptions, qos);
                *slot.borrow_mut() = Some(driver);
            }
            move || {
                let driver = slot.borrow_mut().take();
                drop(driver); // DISCONNECT, close sockets, clear the timer, remove listeners
            }
        });
    }
    {
        let slot = slot.clone();
        let qos = options.default_qos;
        use_effect_with(options.subscriptions.clone(), move |filters| {
            if let Some(driver) = slot.borrow().as_ref() {
                let _ = driver.declare_subscriptions(filters, qos);
            }
        });
    }

    UseMqttHandle {
        snapshot: (*snapshot).clone(),
        driver: slot,
        default_qos: options.default_qos,
    }
}
