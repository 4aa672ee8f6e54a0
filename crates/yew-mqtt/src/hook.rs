//! `use_mqtt`: wiring only. The behaviour lives in the driver and the supervisor.

use std::cell::RefCell;
use std::rc::Rc;

use mqtt_browser::{ClientEvent, ConnectionState, Driver, Snapshot, Status};
use yew::prelude::*;

use crate::handle::{DriverSlot, UseMqttHandle};
use crate::message::{MqttMessage, SetupError};
use crate::options::{ConnectionKey, UseMqttOptions};

/// A driver just started (none without a window) and what it could not do.
type Started = (Option<Driver>, Option<Rc<SetupError>>);

/// Runs an MQTT client for as long as the component is mounted.
///
/// The client starts in the first render (token, then connect), not in the effect after it:
/// Yew runs effects only once the first render's DOM was laid out when that render took more
/// than its 16 ms time slice (it yields to the browser), and the connect path does not need the
/// DOM. The effect then takes that driver over (or, after an option change, makes a new one). It
/// follows option changes (a change of
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

    // The driver's latest snapshot, which its subscriber replaces before asking for a render.
    // `None` while the first render's driver is being made: its events then ask for no render,
    // and the snapshot is taken from the driver once it is made (below).
    let snapshot: Rc<RefCell<Option<Rc<Snapshot>>>> = use_mut_ref(|| None);
    let update = use_force_update();
    let setup_error = use_state_eq(|| None::<Rc<SetupError>>);
    let slot: DriverSlot = use_mut_ref(|| None);
    let key = ConnectionKey::from(&options);
    // Starts a driver for `key` (and declares the subscriptions): what it could not do comes
    // back as the setup error to show.
    let start = {
        let snapshot = snapshot.clone();
        let subscriptions = options.subscriptions.clone();
        let qos = options.default_qos;
        move |key: &ConnectionKey| -> Started {
            let callbacks = callbacks.clone();
            let (snapshot, update) = (snapshot.clone(), update.clone());
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
                _ => {
                    let mut latest = snapshot.borrow_mut();
                    if latest.is_some() {
                        *latest = Some(now);
                        drop(latest);
                        update.force_update();
                    }
                }
            });
            match Driver::new(key.driver_config(), subscriber) {
                Ok(driver) => {
                    let refused = driver.declare_subscriptions(&subscriptions, qos).err();
                    let error = refused.map(|e| Rc::new(SetupError::Subscriptions(e)));
                    (Some(driver), error)
                }
                // Without a window (not a page) there is nothing to run: the state stays Idle.
                Err(error) => (None, Some(Rc::new(SetupError::Start(error)))),
            }
        }
    };
    // The first render's driver, for `key`, until the first effect takes it over.
    // The closure runs in the first render only; it borrows, so later renders clone nothing.
    let first: Rc<RefCell<Option<(ConnectionKey, Started)>>> =
        use_mut_ref(|| Some((key.clone(), (start.clone())(&key))));
    // The first render shows the driver's own state (its events while it was made, such as the
    // subscriptions it was given, asked for no render): not "idle" and then, in a second render
    // at once, the driver's, which kept the main thread busy on the connect path (issue 15).
    let shown = snapshot
        .borrow_mut()
        .get_or_insert_with(|| match first.borrow().as_ref() {
            Some((_, (Some(driver), _))) => driver.snapshot(),
            _ => Rc::new(Snapshot {
                status: Status {
                    state: ConnectionState::Idle,
                    reason: None,
                },
                subscriptions: Default::default(),
                user_id: None,
            }),
        })
        .clone();

    {
        let slot = slot.clone();
        let set_error = setup_error.setter();
        use_effect_with(key, move |key| {
            let (driver, error) = match first.borrow_mut().take() {
                // The first render's, made for these very options.
                Some((made_for, started)) if made_for == *key => started,
                // Options changed before the first effect ran (the first render's is dropped
                // here: DISCONNECT, sockets closed), or a later change: a new driver.
                _ => start(key),
            };
            set_error.set(error);
            *slot.borrow_mut() = driver;
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
        snapshot: shown,
        setup_error: (*setup_error).clone(),
        driver: slot,
        default_qos: options.default_qos,
    }
}
