//! `use_presence`: the board, kept live over [`use_mqtt`]. Wiring only; the rules are in the
//! [`Board`] reducer.

use gloo_timers::callback::Interval;
use yew::prelude::*;
use yew_mqtt::{use_mqtt, MqttMessage, QoS, UseMqttHandle, UseMqttOptions};

use crate::board::{Availability, Beat, Board, BoardAction, HEARTBEAT_MS};
use crate::room::Room;

/// What [`use_presence`] returns: the board, our status and the MQTT client under them.
#[derive(Clone, PartialEq)]
pub struct PresenceHandle {
    board: UseReducerHandle<Board>,
    status: UseStateHandle<Availability>,
    mqtt: UseMqttHandle,
}

impl PresenceHandle {
    /// Who is here.
    pub fn board(&self) -> &Board {
        &self.board
    }

    /// Our own status.
    pub fn status(&self) -> Availability {
        *self.status
    }

    /// Changes our status; everyone sees it with the next render's beat.
    pub fn set_status(&self, status: Availability) {
        self.status.set(status);
    }

    /// The connection (its state, the signed-in user, `retry_now`).
    pub fn mqtt(&self) -> &UseMqttHandle {
        &self.mqtt
    }
}

/// Joins `room`'s presence board for as long as the component is mounted.
#[hook]
pub fn use_presence(room: Room) -> PresenceHandle {
    let board = use_reducer(Board::default);
    let status = use_state(Availability::default);
    // Who we are, for the reducer to tell our own hello from a newcomer's; known from the
    // first token on.
    let me = use_mut_ref(|| None::<String>);

    let on_message = {
        let board = board.dispatcher();
        let room = room.clone();
        let me = me.clone();
        Callback::from(move |message: MqttMessage| {
            // Anything else on these topics (a chat message, say) is not ours to show.
            let (Some(author), Ok(beat)) = (room.author(&message.topic), message.json::<Beat>())
            else {
                return;
            };
            board.dispatch(BoardAction::Heard {
                author: author.to_owned(),
                beat,
                me: me.borrow().clone(),
                at_ms: js_sys::Date::now(),
            });
        })
    };
    let mqtt = use_mqtt(UseMqttOptions {
        // The token endpoint (default `/api/mqtt-token`) names the broker in its response.
        client_id_prefix: "presence-".into(),
        // A lost heartbeat is replaced by the next one: no acknowledgements needed.
        default_qos: QoS::AtMostOnce,
        subscriptions: vec![room.filter()],
        on_message,
        ..UseMqttOptions::default()
    });
    let user = mqtt.user_id().map(str::to_owned);
    me.borrow_mut().clone_from(&user);
    let up = mqtt.state().is_up();

    {
        let board = board.dispatcher();
        use_effect_with((), move |()| {
            let ticks = Interval::new(HEARTBEAT_MS, move || {
                board.dispatch(BoardAction::Tick {
                    now_ms: js_sys::Date::now(),
                });
            });
            move || drop(ticks)
        });
    }
    {
        // Each time we come up (first connect, after a reconnect, as another user): hello.
        let (mqtt, room, status) = (mqtt.clone(), room.clone(), *status);
        use_effect_with((up, user.clone()), move |(up, user)| {
            if let (true, Some(user)) = (*up, user) {
                publish(
                    &mqtt,
                    &room,
                    user,
                    Beat {
                        status,
                        hello: true,
                    },
                );
            }
        });
    }
    {
        // When a beat is owed or our status changed: a beat.
        let (mqtt, room) = (mqtt.clone(), room.clone());
        use_effect_with((board.beats_due(), *status), move |(_, status)| {
            if let (true, Some(user)) = (up, user) {
                let status = *status;
                publish(
                    &mqtt,
                    &room,
                    &user,
                    Beat {
                        status,
                        hello: false,
                    },
                );
            }
        });
    }

    PresenceHandle {
        board,
        status,
        mqtt,
    }
}

fn publish(mqtt: &UseMqttHandle, room: &Room, user: &str, beat: Beat) {
    // At the default QoS (0 here). Refused only while the client is not running or its queue
    // is full: the next beat repairs a missed one.
    let _ = mqtt.publish_json(&room.topic_of(user), &beat);
}
