//! `use_mqtt`: wiring only. The behaviour lives in the driver and the supervisor.

use std::rc::Rc;

use mqtt_browser::{ClientEvent, ConnectionState, Driver, Snapshot, Status};
use yew::prelude::*;

use crate::handle::{DriverSlot, UseMqttHandle};
use crate::message::{MqttMessage, SetupError};
use crate::options::{ConnectionKey, UseMqttOptions};

/// Runs an MQTT client for as long as the component is mounted.
///
/// The client starts on mount (token, then connect), follows option changes (a change of
/// endpoint, broker, protocol, keep-alive or queue bound reconnects with a new client; a change
/// of subscriptions subscribes/unsubscribes the difference) and releases everything on unmount.
/// What it could not do (start without a window, declare an invalid filter) is reported by
/// [`UseMqttHandle::setup_error`].
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
    let setup_error = use_state_eq(|| None::<Rc<SetupError>>);
    let slot: DriverSlot = use_mut_ref(|| None);

    {
        let slot = slot.clone();
        let set_snapshot = snapshot.setter();
        let set_error = setup_error.setter();
        let subscriptions = options.subscriptions.clone();
        let qos = options.default_qos;
        use_effect_with(ConnectionKey::from(&options), move |key| {
            // Events arrive by value and the snapshot as the driver's shared `Rc`: a message is
            // moved into `MqttMessage`, and nothing is copied per event.
            let subscriber = Rc::new(move |event: ClientEvent, now: Rc<Snapshot>| match event {
                ClientEvent::Message(message) => {
                    let on_message = callbacks.borrow().0.clone();
                    on_message.emit(MqttMessage::from(message));
                }
                ClientEvent::Delivery { id, status } => {
                    let on_delivery = callbacks.borrow().1.clone();
                    on_delivery.emit((id, status));
                }
                ClientEvent::MessageDropped(dropped) => {
                    let on_dropped = callbacks.borrow().2.clone();
                    on_dropped.emit(dropped);
                }
                _ => set_snapshot.set(now),
            });
            match Driver::new(key.driver_config(), subscriber) {
                Ok(driver) => {
                    let refused = driver.declare_subscriptions(&subscriptions, qos).err();
                    set_error.set(refused.map(|e| Rc::new(SetupError::Subscriptions(e))));
                    *slot.borrow_mut() = Some(driver);
                }
                // Without a window (not a page) there is nothing to run: the state stays Idle.
                Err(error) => set_error.set(Some(Rc::new(SetupError::Start(error)))),
            }
            move || {
                let driver = slot.borrow_mut().take();
                drop(driver); // DISCONNECT, close sockets, clear the timer, remove listeners
            }
        });
    }
    {
        let slot = slot.clone();
        let set_error = setup_error.setter();
        let qos = options.default_qos;
        use_effect_with(options.subscriptions.clone(), move |filters| {
            if let Some(driver) = slot.borrow().as_ref() {
                let refused = driver.declare_subscriptions(filters, qos).err();
                set_error.set(refused.map(|e| Rc::new(SetupError::Subscriptions(e))));
            }
        });
    }

    UseMqttHandle {
        snapshot: (*snapshot).clone(),
        setup_error: (*setup_error).clone(),
        driver: slot,
        default_qos: options.default_qos,
    }
}
