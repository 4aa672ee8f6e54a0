//! Keeping the room's history and outbox across reloads: the browser side of
//! [`crate::chat::history`] (see docs/ARCHITECTURE.md, "History and outbox across reloads").
//!
//! Storage is IndexedDB through a small JS module (`store.js`), localStorage where IndexedDB
//! cannot be opened, else nothing (each said once on the console). Records are keyed by the
//! verified user (the token's `userId`) and the room. What is read is merged into the chat by
//! [`ChatAction::Restored`]; the outbox in it is published again first, with the same ids.
//! Writes: at once when the outbox changes (a message typed, acknowledged or refused), else at
//! most once per [`SAVE_DELAY_MS`], and when the page is hidden or left; one write at a time, a
//! failed one (quota) said once, the chat going on without storage.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, Ordering};

use gloo_timers::callback::Timeout;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use yew::prelude::*;
use yew_mqtt::{ConnectionState, QoS, UseMqttHandle};

use crate::chat::history::{record_key, user_scope, USER_MARKER_KEY};
use crate::chat::{host_history, ChatAction, ChatState, RoomTopics, Stored, WireMessage};

/// The longest a received message waits to be saved (ms); a flood is saved once per window.
pub const SAVE_DELAY_MS: u32 = 1_000;

#[wasm_bindgen(module = "/src/room/store.js")]
extern "C" {
    #[wasm_bindgen(js_name = lcStoreOpen)]
    fn store_open() -> js_sys::Promise;
    #[wasm_bindgen(js_name = lcStoreGet)]
    fn store_get(key: &str) -> js_sys::Promise;
    #[wasm_bindgen(js_name = lcStorePut)]
    fn store_put(key: &str, value: &str) -> js_sys::Promise;
    #[wasm_bindgen(js_name = lcStoreDelete)]
    fn store_delete(key: &str) -> js_sys::Promise;
    #[wasm_bindgen(js_name = lcFetchText)]
    fn fetch_text(url: &str) -> js_sys::Promise;
    #[wasm_bindgen(js_name = lcOnHide)]
    fn on_hide(f: &Closure<dyn FnMut()>) -> js_sys::Function;
}

fn warn(text: &str) {
    web_sys::console::warn_1(&text.into());
}

/// Opens the storage once per page; `false` when there is none. Says which fallback is used.
async fn open() -> bool {
    let kind = JsFuture::from(store_open())
        .await
        .ok()
        .and_then(|k| k.as_string())
        .unwrap_or_default();
    static SAID: AtomicBool = AtomicBool::new(false);
    let first = !SAID.swap(true, Ordering::Relaxed);
    match kind.as_str() {
        "indexeddb" => true,
        "localstorage" => {
            if first {
                warn("livechat: IndexedDB is not available here (a private window?); the room's history and unsent messages are kept in localStorage instead");
            }
            true
        }
        _ => {
            if first {
                warn("livechat: no storage is available here; the room's history and unsent messages are not kept across reloads");
            }
            false
        }
    }
}

async fn get(key: &str) -> Option<String> {
    JsFuture::from(store_get(key)).await.ok()?.as_string()
}

/// Deletes every record of `user` (all rooms) and, when it names them, the user marker.
async fn wipe_user(user: &str) {
    let _ = JsFuture::from(store_delete(&user_scope(user))).await;
    if get(USER_MARKER_KEY).await.as_deref() == Some(user) {
        let _ = JsFuture::from(store_delete(USER_MARKER_KEY)).await;
    }
}

/// The writer of one (user, room) record.
struct Writer {
    key: String,
    /// Shares the reducer's log, which changes in place: always the latest messages.
    chat: ChatState,
    max_messages: usize,
    timer: Option<Timeout>,
    writing: bool,
    again: bool,
    failed: bool,
    /// The page-hidden listener and the function that removes it.
    hide: (Closure<dyn FnMut()>, js_sys::Function),
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.hide.1.call0(&JsValue::NULL);
    }
}

/// Writes the record now, or right after the write in flight unless `leaving` (the page is
/// being hidden or left: no later; IndexedDB applies the two writes in order anyway).
fn save_now(cell: &Rc<RefCell<Option<Writer>>>, leaving: bool) {
    let (key, written) = {
        let mut slot = cell.borrow_mut();
        let Some(w) = slot.as_mut() else { return };
        w.timer = None;
        if w.writing && !leaving {
            w.again = true;
            return;
        }
        w.writing = true;
        let json = w.chat.snapshot(w.max_messages).to_json();
        // Issued now, not in the task below: this may be the page's last moment (pagehide).
        (w.key.clone(), store_put(&w.key, &json))
    };
    let weak = Rc::downgrade(cell);
    spawn_local(async move {
        let result = JsFuture::from(written).await;
        let Some(cell) = weak.upgrade() else { return };
        let again = {
            let mut slot = cell.borrow_mut();
            let Some(w) = slot.as_mut().filter(|w| w.key == key) else {
                return;
            };
            w.writing = false;
            if let Err(e) = result {
                if !std::mem::replace(&mut w.failed, true) {
                    let why = e.as_string().unwrap_or_default();
                    warn(&["livechat: saving the room's history failed (", &why, "); the chat goes on, but what is not saved yet may be lost on a reload"].concat());
                }
            }
            std::mem::take(&mut w.again)
        };
        if again {
            save_now(&cell, false);
        }
    });
}

/// Saves within [`SAVE_DELAY_MS`] (a pending save is not pushed back: a flood still saves).
fn save_soon(cell: &Rc<RefCell<Option<Writer>>>) {
    let mut slot = cell.borrow_mut();
    let Some(w) = slot.as_mut() else { return };
    if w.timer.is_none() {
        let weak: Weak<_> = Rc::downgrade(cell);
        w.timer = Some(Timeout::new(SAVE_DELAY_MS, move || {
            if let Some(cell) = weak.upgrade() {
                save_now(&cell, false);
            }
        }));
    }
}

/// What the history hook needs from the room.
pub struct HistoryWiring {
    /// The room's name (part of the record's key).
    pub room: String,
    /// The room's topics (outbox messages are sent again on their author's topic).
    pub topics: Rc<RoomTopics>,
    /// Messages kept per room (`storedMessages`); 0 keeps nothing.
    pub max_messages: usize,
    /// QoS of the room's publishes.
    pub qos: QoS,
    /// The verified user (the token's `userId`).
    pub me: Option<String>,
    /// The host's room history (`historyUrl`), merged after this browser's.
    pub history_url: Option<String>,
}

/// Restores the room's record once the user is known, sends its outbox again, saves changes,
/// and deletes the user's records on sign-out or when another user signs in in this browser.
///
/// The caller runs the returned effect after every render (it checks what changed itself): part
/// of the room's one effect, as each effect is a copy of Yew's effect hook.
#[hook]
pub fn use_history(
    wiring: HistoryWiring,
    chat: UseReducerHandle<ChatState>,
    mqtt: UseMqttHandle,
) -> HistoryEffect {
    let signed_out = matches!(mqtt.state(), ConnectionState::SignedOut);
    HistoryEffect {
        seen: (
            wiring.me.clone(),
            signed_out,
            chat.changes(),
            chat.outbox_changes(),
        ),
        wiring,
        chat,
        mqtt,
        writer: use_mut_ref(|| None::<Writer>),
        track: use_mut_ref(Track::default),
    }
}

/// What [`use_history`] does after a render.
pub struct HistoryEffect {
    wiring: HistoryWiring,
    chat: UseReducerHandle<ChatState>,
    mqtt: UseMqttHandle,
    writer: Rc<RefCell<Option<Writer>>>,
    track: Rc<RefCell<Track>>,
    /// The user, whether signed out, and the chat's change counts (all and the outbox's).
    seen: Seen,
}

/// See [`Track::seen`].
type Seen = (Option<String>, bool, u64, u64);

impl HistoryEffect {
    /// Runs the parts whose dependencies changed since the last run: the user first, then
    /// saving, the rest within SAVE_DELAY_MS, the outbox at once (which also ends the wait).
    pub fn run(self) {
        let seen = self.seen.clone();
        let before = self.track.borrow_mut().seen.replace(seen.clone());
        let (me, signed_out, changes, outbox) = seen;
        let writer = self.writer.clone();
        if before
            .as_ref()
            .is_none_or(|b| (&b.0, b.1) != (&me, signed_out))
        {
            self.identified();
        }
        if before.as_ref().is_none_or(|b| b.2 != changes) {
            save_soon(&writer);
        }
        if before.as_ref().is_none_or(|b| b.3 != outbox) && writer.borrow().is_some() {
            save_now(&writer, false);
        }
    }

    /// Who is signed in decides what is read, and what is wiped.
    fn identified(self) {
        let HistoryEffect {
            wiring:
                HistoryWiring {
                    room,
                    topics,
                    max_messages,
                    qos,
                    history_url,
                    ..
                },
            chat,
            mqtt,
            writer,
            track,
            seen: (me, signed_out, ..),
        } = self;
        let enabled = max_messages > 0;
        let run = {
            let mut track = track.borrow_mut();
            track.generation += 1;
            track.generation
        };
        let current = move || track.borrow().generation == run;
        // A new user (or none) ends the old writer: nothing more is saved under its key.
        let key = me.as_deref().map(|me| record_key(me, &room));
        if writer.borrow().as_ref().map(|w| &w.key) != key.as_ref() {
            *writer.borrow_mut() = None;
        }
        if me.is_none() && !signed_out {
            return;
        }
        spawn_local(async move {
            if !open().await {
                return;
            }
            let marker = get(USER_MARKER_KEY).await;
            let Some(me) = me else {
                // Signed out (the token endpoint answered 401/403): the last user's records go.
                if let Some(last) = marker {
                    wipe_user(&last).await;
                }
                chat.dispatch(ChatAction::Forget);
                return;
            };
            // Another user signed in in this browser: the previous one's records go.
            if let Some(last) = marker.as_deref().filter(|last| *last != me) {
                wipe_user(last).await;
            }
            if !enabled {
                // The site keeps nothing: not even what an earlier configuration kept.
                let _ = JsFuture::from(store_delete(&record_key(&me, &room))).await;
                return;
            }
            if marker.as_deref() != Some(me.as_str()) {
                let _ = JsFuture::from(store_put(USER_MARKER_KEY, &me)).await;
            }
            let key = record_key(&me, &room);
            let text = get(&key).await;
            if !current() || writer.borrow().is_some() {
                return;
            }
            let stored = match text.map(|text| Stored::from_json(&text)) {
                None => Stored::default(),
                Some(Ok(stored)) => stored,
                Some(Err(why)) => {
                    warn(
                        &[
                            "livechat: the saved history of this room could not be read (",
                            &why,
                            "); starting without it",
                        ]
                        .concat(),
                    );
                    Stored::default()
                }
            };
            // Sent again before anything is saved, so the outbox is never lost in between.
            let resent = chat
                .to_resend(&stored)
                .into_iter()
                .filter_map(|m| {
                    let id = m.id.clone()?;
                    let topic = match m.author.as_deref() {
                        Some(author) => topics.author_topic(author)?,
                        None => topics.shared().to_owned(),
                    };
                    let wire = WireMessage {
                        id: Some(id.clone()),
                        user: m.user.clone(),
                        text: m.text.clone(),
                        timestamp: m.timestamp,
                    };
                    let publish = mqtt
                        .publish(&topic, wire.to_json(), qos)
                        .map_err(|e| e.to_string());
                    Some((id, publish))
                })
                .collect();
            chat.dispatch(ChatAction::Restored { stored, resent });
            let weak = Rc::downgrade(&writer);
            let on_hidden = Closure::<dyn FnMut()>::new(move || {
                if let Some(cell) = weak.upgrade() {
                    save_now(&cell, true);
                }
            });
            let remove = on_hide(&on_hidden);
            *writer.borrow_mut() = Some(Writer {
                key,
                chat: (*chat).clone(),
                max_messages,
                timer: None,
                writing: false,
                again: false,
                failed: false,
                hide: (on_hidden, remove),
            });
            save_now(&writer, false);
            // Then the host's history, when the site has one: merged by key and time.
            if let Some(url) = history_url {
                let sep = if url.contains('?') { '&' } else { '?' };
                let url = format!("{url}{sep}room={room}");
                let answer = JsFuture::from(fetch_text(&url)).await;
                let read = match answer {
                    Ok(text) => host_history(&text.as_string().unwrap_or_default()),
                    Err(e) => Err(e.as_string().unwrap_or_default()),
                };
                match read {
                    Ok(stored) if current() => chat.dispatch(ChatAction::HostHistory(stored)),
                    Ok(_) => {}
                    Err(why) => warn(
                        &[
                            "livechat: the room's history from ",
                            &url,
                            " could not be read (",
                            &why,
                            "); showing what this browser kept",
                        ]
                        .concat(),
                    ),
                }
            }
        });
    }
}

/// What the history hook remembers across renders besides the writer.
#[derive(Default)]
struct Track {
    /// Which run of the identity part is current: an older one still reading must not restore
    /// or save after a sign-out (or another user) that came in the meantime.
    generation: u64,
    /// The user, whether signed out, and the chat's change counts (all and the outbox's) when
    /// the effect last ran (`None` before the first render's).
    seen: Option<Seen>,
}
