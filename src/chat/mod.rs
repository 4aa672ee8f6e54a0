//! The chat's UI state: a reducer ([`ChatState`] + [`ChatAction`]) with no browser in it.
//!
//! Incoming payloads are parsed here, duplicates (same client message id) dropped, history kept to
//! a bounded window, and the delivery state of the user's own messages followed from "queued" to
//! "delivered" (or "refused"). Components only render this state and dispatch actions.

mod recent;
mod status;
mod wire;

use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use yew::Reducible;

pub use recent::RecentIds;
pub use status::{status_view, LinkState, RoomAccess, StatusView, Tone};
pub use wire::{PayloadError, WireMessage, MAX_INCOMING_TEXT_CHARS};

/// How the app refers to one of its publishes while following its delivery (the hook's publish id,
/// as a number).
pub type PublishKey = u64;

/// Messages kept (and rendered) at most, oldest dropped first.
pub const DEFAULT_HISTORY_LIMIT: usize = 500;
/// Message ids remembered for dropping duplicates; larger than the history so that a message
/// redelivered after it scrolled out of the window is still recognised.
pub const DEFAULT_DEDUPE_CAPACITY: usize = 4096;

/// Where one of the user's own messages is on its way to the room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted by the client, waiting for a link (sent when the connection is back).
    Queued,
    /// Written to the broker link, no acknowledgement yet.
    Sent,
    /// Acknowledged by the broker (or seen coming back from the room).
    Delivered,
    /// Refused or dropped; the reason in words.
    Refused(String),
}

impl Delivery {
    fn rank(&self) -> u8 {
        match self {
            Delivery::Queued => 0,
            Delivery::Sent => 1,
            Delivery::Delivered | Delivery::Refused(_) => 2,
        }
    }

    /// Whether this state is final.
    pub fn is_final(&self) -> bool {
        self.rank() == 2
    }

    /// A short word for the UI.
    pub fn label(&self) -> &'static str {
        match self {
            Delivery::Queued => "queued",
            Delivery::Sent => "sent",
            Delivery::Delivered => "delivered",
            Delivery::Refused(_) => "not delivered",
        }
    }
}

/// A delivery report from the connection layer, mapped at the edge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryUpdate {
    /// Written to the link.
    Sent,
    /// Acknowledged by the broker.
    Acknowledged,
    /// Refused by the broker, or dropped by the client; the reason in words.
    Failed(String),
}

/// One message in the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatMessage {
    /// Local, strictly increasing number; the list's render key.
    pub seq: u64,
    /// The client message id.
    pub id: String,
    /// Author display name.
    pub user: String,
    /// Plain text.
    pub text: String,
    /// Sender's clock, ms since the Unix epoch.
    pub timestamp: u64,
    /// Whether this user wrote it.
    pub own: bool,
    /// For messages sent from this page: where the message is. `None` for everyone else's.
    pub delivery: Option<Delivery>,
    /// The publish being followed, while its delivery is not final.
    pub publish: Option<PublishKey>,
}

/// Why a draft cannot be sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    /// Nothing but whitespace.
    #[error("type a message first")]
    Empty,
    /// The user's name is not known yet (still signing in).
    #[error("still signing in; try again in a moment")]
    NoUser,
    /// Longer than the configured maximum.
    #[error("the message is {len} characters long; at most {max} are allowed")]
    TooLong {
        /// The draft's length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// Settings the state is created with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatSettings {
    /// This user's display name, written into outgoing messages.
    pub user: String,
    /// Longest message this user may send, in characters.
    pub max_message_chars: usize,
    /// Messages kept at most.
    pub history_limit: usize,
    /// Ids remembered for dropping duplicates.
    pub dedupe_capacity: usize,
}

impl ChatSettings {
    /// Settings with the default bounds.
    pub fn new(user: impl Into<String>, max_message_chars: usize) -> Self {
        Self {
            user: user.into(),
            max_message_chars,
            history_limit: DEFAULT_HISTORY_LIMIT,
            dedupe_capacity: DEFAULT_DEDUPE_CAPACITY,
        }
    }
}

/// Everything the chat shows.
#[derive(Clone, Debug)]
pub struct ChatState {
    settings: ChatSettings,
    messages: VecDeque<Rc<ChatMessage>>,
    seen: RecentIds,
    following: HashMap<PublishKey, String>,
    next_seq: u64,
    skipped: u64,
    received: u64,
    at_bottom: bool,
    unread: usize,
}

/// What can happen to the chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatAction {
    /// Payloads arrived on the room's topic (batched: one render per batch).
    Received(Vec<Rc<[u8]>>),
    /// The user sent `message`; `publish` is what the client answered (its key, or why it refused).
    Sent {
        /// The message as published.
        message: WireMessage,
        /// The publish key to follow, or the refusal in words.
        publish: Result<PublishKey, String>,
    },
    /// A delivery report for one of this page's publishes.
    Delivery(PublishKey, DeliveryUpdate),
    /// The user scrolled; whether the list is now at its bottom.
    Scrolled {
        /// At the bottom (within a few pixels).
        at_bottom: bool,
    },
    /// The connection layer learned who the user is (the token endpoint's user id); used as the
    /// display name when the site configured none.
    Identified(String),
}

impl ChatState {
    /// An empty chat.
    pub fn new(settings: ChatSettings) -> Self {
        Self {
            seen: RecentIds::new(settings.dedupe_capacity),
            settings,
            messages: VecDeque::new(),
            following: HashMap::new(),
            next_seq: 0,
            skipped: 0,
            received: 0,
            at_bottom: true,
            unread: 0,
        }
    }

    /// The messages, oldest first (at most the history limit).
    pub fn messages(&self) -> impl ExactSizeIterator<Item = &Rc<ChatMessage>> + '_ {
        self.messages.iter()
    }

    /// How many messages are kept.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether there are no messages.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Payloads skipped because they were not chat messages.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Messages from the room committed to the log since the start (after dedupe; skipped
    /// payloads and the echoes of this page's own messages are not counted). It keeps counting
    /// past the history limit, so it tells how many messages were shown, not how many are kept.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Whether the list should follow new messages (the user is at the bottom).
    pub fn at_bottom(&self) -> bool {
        self.at_bottom
    }

    /// Messages from others that arrived while the user was scrolled up.
    pub fn unread(&self) -> usize {
        self.unread
    }

    /// The settings.
    pub fn settings(&self) -> &ChatSettings {
        &self.settings
    }

    /// Checks a draft and turns it into the message to publish (text trimmed).
    pub fn compose(
        &self,
        draft: &str,
        id: String,
        now_ms: u64,
    ) -> Result<WireMessage, ComposeError> {
        let text = draft.trim();
        if text.is_empty() {
            return Err(ComposeError::Empty);
        }
        if !self.has_user() {
            return Err(ComposeError::NoUser);
        }
        let len = text.chars().count();
        let max = self.settings.max_message_chars;
        if len > max {
            return Err(ComposeError::TooLong { len, max });
        }
        Ok(WireMessage {
            id,
            user: self.settings.user.clone(),
            text: text.to_owned(),
            timestamp: now_ms,
        })
    }

    fn push(&mut self, message: ChatMessage) {
        self.messages.push_back(Rc::new(message));
        while self.messages.len() > self.settings.history_limit {
            if let Some(old) = self.messages.pop_front() {
                if let Some(key) = old.publish {
                    self.following.remove(&key);
                }
            }
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    fn update_own(&mut self, id: &str, f: impl FnOnce(&mut ChatMessage)) {
        // Own messages are recent, so search from the newest end.
        if let Some(slot) = self.messages.iter_mut().rev().find(|m| m.own && m.id == id) {
            let mut updated = (**slot).clone();
            f(&mut updated);
            if updated != **slot {
                *slot = Rc::new(updated);
            }
        }
    }

    fn advance(&mut self, id: &str, to: Delivery) {
        let mut finished = None;
        self.update_own(id, |m| match &m.delivery {
            Some(current) if current.rank() < to.rank() => {
                if to.is_final() {
                    finished = m.publish.take();
                }
                m.delivery = Some(to);
            }
            _ => {}
        });
        if let Some(key) = finished {
            self.following.remove(&key);
        }
    }

    /// Whether the user's display name is known (drafts cannot be sent before).
    pub fn has_user(&self) -> bool {
        !self.settings.user.is_empty()
    }

    fn receive(&mut self, payload: &[u8]) -> bool {
        let Ok(wire) = WireMessage::parse(payload) else {
            self.skipped += 1;
            return false;
        };
        if !self.seen.insert(&wire.id) {
            // A duplicate; if it is the echo of our own message, the room has it.
            self.advance(&wire.id, Delivery::Delivered);
            return false;
        }
        let own = !self.settings.user.is_empty() && wire.user == self.settings.user;
        let seq = self.next_seq();
        self.received += 1;
        self.push(ChatMessage {
            seq,
            id: wire.id,
            user: wire.user,
            text: wire.text,
            timestamp: wire.timestamp,
            own,
            delivery: None,
            publish: None,
        });
        !own
    }

    fn sent(&mut self, message: WireMessage, publish: Result<PublishKey, String>) {
        if !self.seen.insert(&message.id) {
            return;
        }
        let (delivery, publish) = match publish {
            Ok(key) => {
                self.following.insert(key, message.id.clone());
                (Delivery::Queued, Some(key))
            }
            Err(why) => (Delivery::Refused(why), None),
        };
        let seq = self.next_seq();
        self.push(ChatMessage {
            seq,
            id: message.id,
            user: message.user,
            text: message.text,
            timestamp: message.timestamp,
            own: true,
            delivery: Some(delivery),
            publish,
        });
        // Sending means the user wants to see the conversation's end.
        self.at_bottom = true;
        self.unread = 0;
    }
}

impl Reducible for ChatState {
    type Action = ChatAction;

    fn reduce(self: Rc<Self>, action: ChatAction) -> Rc<Self> {
        let mut state = Rc::try_unwrap(self).unwrap_or_else(|shared| (*shared).clone());
        match action {
            ChatAction::Received(payloads) => {
                let fresh = payloads.iter().filter(|p| state.receive(p)).count();
                if !state.at_bottom {
                    state.unread += fresh;
                }
            }
            ChatAction::Sent { message, publish } => state.sent(message, publish),
            ChatAction::Delivery(key, update) => {
                if let Some(id) = state.following.get(&key).cloned() {
                    let to = match update {
                        DeliveryUpdate::Sent => Delivery::Sent,
                        DeliveryUpdate::Acknowledged => Delivery::Delivered,
                        DeliveryUpdate::Failed(why) => Delivery::Refused(why),
                    };
                    state.advance(&id, to);
                }
            }
            ChatAction::Identified(user) => {
                if state.settings.user.is_empty() && !user.trim().is_empty() {
                    state.settings.user = user.trim().to_owned();
                }
            }
            ChatAction::Scrolled { at_bottom } => {
                state.at_bottom = at_bottom;
                if at_bottom {
                    state.unread = 0;
                }
            }
        }
        Rc::new(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ChatSettings {
        ChatSettings {
            user: "me".into(),
            max_message_chars: 10,
            history_limit: 5,
            dedupe_capacity: 20,
        }
    }

    fn state() -> Rc<ChatState> {
        Rc::new(ChatState::new(settings()))
    }

    fn payload(id: &str, user: &str, text: &str) -> Rc<[u8]> {
        WireMessage {
            id: id.into(),
            user: user.into(),
            text: text.into(),
            timestamp: 1,
        }
        .to_json()
        .into()
    }

    fn received(s: Rc<ChatState>, items: &[(&str, &str)]) -> Rc<ChatState> {
        let batch = items
            .iter()
            .map(|(id, user)| payload(id, user, "hello"))
            .collect();
        s.reduce(ChatAction::Received(batch))
    }

    fn send(s: Rc<ChatState>, id: &str, key: Result<PublishKey, String>) -> Rc<ChatState> {
        let message = s.compose("hi", id.into(), 5).expect("valid draft");
        s.reduce(ChatAction::Sent {
            message,
            publish: key,
        })
    }

    fn delivery_of(s: &ChatState, id: &str) -> Option<Delivery> {
        s.messages()
            .find(|m| m.id == id)
            .and_then(|m| m.delivery.clone())
    }

    #[test]
    fn a_message_seen_twice_is_listed_once() {
        let s = received(state(), &[("a", "ann"), ("a", "ann")]);
        let s = received(s, &[("a", "ann")]);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn received_counts_each_new_room_message_once_past_the_history_limit() {
        let ids: Vec<String> = (0..12).map(|i| format!("m{i}")).collect();
        let mut items: Vec<(&str, &str)> = ids.iter().map(|id| (id.as_str(), "ann")).collect();
        items.push(("m3", "ann")); // a duplicate
        let s = received(state(), &items);
        let s = s.reduce(ChatAction::Received(vec![Rc::from(&b"not json"[..])]));
        // The echo of an own message is a duplicate of what `Sent` listed: not counted.
        let s = send(s, "own-1", Ok(1));
        let s = received(s, &[("own-1", "me")]);
        assert_eq!(s.received(), 12);
        assert_eq!(s.len(), 5);
    }

    #[test]
    fn history_keeps_only_the_newest_messages() {
        let ids: Vec<String> = (0..12).map(|i| format!("m{i}")).collect();
        let items: Vec<(&str, &str)> = ids.iter().map(|id| (id.as_str(), "ann")).collect();
        let s = received(state(), &items);
        let kept: Vec<&str> = s.messages().map(|m| m.id.as_str()).collect();
        assert_eq!(kept, ["m7", "m8", "m9", "m10", "m11"]);
    }

    #[test]
    fn a_duplicate_older_than_the_history_window_is_still_dropped() {
        let ids: Vec<String> = (0..8).map(|i| format!("m{i}")).collect();
        let items: Vec<(&str, &str)> = ids.iter().map(|id| (id.as_str(), "ann")).collect();
        let s = received(state(), &items);
        let s = received(s, &[("m0", "ann")]);
        assert!(s.messages().all(|m| m.id != "m0"));
    }

    #[test]
    fn render_keys_are_unique_and_increasing() {
        let s = received(state(), &[("a", "x"), ("b", "y")]);
        let s = send(s, "c", Ok(1));
        let seqs: Vec<u64> = s.messages().map(|m| m.seq).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    }

    #[test]
    fn bad_payloads_are_skipped_and_counted_without_touching_the_list() {
        let batch: Vec<Rc<[u8]>> = vec![
            Rc::from(&b"garbage"[..]),
            payload("ok", "ann", "fine"),
            Rc::from(&br#"{"user":"x","text":"no id","timestamp":1}"#[..]),
            Rc::from(&br#"{"id":"z","user":"x","text":"","timestamp":1}"#[..]),
        ];
        let s = state().reduce(ChatAction::Received(batch));
        assert_eq!(s.len(), 1);
        assert_eq!(s.skipped(), 3);
    }

    #[test]
    fn an_own_message_goes_from_queued_to_sent_to_delivered() {
        let s = send(state(), "c1", Ok(7));
        assert_eq!(delivery_of(&s, "c1"), Some(Delivery::Queued));
        let s = s.reduce(ChatAction::Delivery(7, DeliveryUpdate::Sent));
        assert_eq!(delivery_of(&s, "c1"), Some(Delivery::Sent));
        let s = s.reduce(ChatAction::Delivery(7, DeliveryUpdate::Acknowledged));
        assert_eq!(delivery_of(&s, "c1"), Some(Delivery::Delivered));
        assert!(s.following.is_empty());
    }

    #[test]
    fn delivery_never_goes_backwards() {
        let s = send(state(), "c1", Ok(7));
        let s = s.reduce(ChatAction::Delivery(7, DeliveryUpdate::Acknowledged));
        let s = s.reduce(ChatAction::Delivery(7, DeliveryUpdate::Sent));
        assert_eq!(delivery_of(&s, "c1"), Some(Delivery::Delivered));
    }

    #[test]
    fn a_refused_publish_shows_the_reason() {
        let s = send(state(), "c1", Ok(3));
        let s = s.reduce(ChatAction::Delivery(
            3,
            DeliveryUpdate::Failed("not authorized".into()),
        ));
        assert_eq!(
            delivery_of(&s, "c1"),
            Some(Delivery::Refused("not authorized".into()))
        );
        let s = send(s, "c2", Err("offline queue is full".into()));
        assert_eq!(
            delivery_of(&s, "c2"),
            Some(Delivery::Refused("offline queue is full".into()))
        );
    }

    #[test]
    fn the_echo_of_an_own_message_marks_it_delivered_and_is_not_listed_again() {
        let s = send(state(), "c1", Ok(3));
        let s = received(s, &[("c1", "me")]);
        assert_eq!(s.len(), 1);
        assert_eq!(delivery_of(&s, "c1"), Some(Delivery::Delivered));
    }

    #[test]
    fn a_report_for_an_unknown_publish_changes_nothing() {
        let s = send(state(), "c1", Ok(3));
        let s = s.reduce(ChatAction::Delivery(99, DeliveryUpdate::Acknowledged));
        assert_eq!(delivery_of(&s, "c1"), Some(Delivery::Queued));
    }

    #[test]
    fn messages_by_this_user_from_another_tab_count_as_own() {
        let s = received(state(), &[("x", "me"), ("y", "ann")]);
        let own: Vec<bool> = s.messages().map(|m| m.own).collect();
        assert_eq!(own, [true, false]);
        assert!(s.messages().all(|m| m.delivery.is_none()));
    }

    #[test]
    fn empty_and_whitespace_drafts_are_refused() {
        let s = state();
        assert_eq!(s.compose("", "a".into(), 0), Err(ComposeError::Empty));
        assert_eq!(s.compose(" \n\t ", "a".into(), 0), Err(ComposeError::Empty));
    }

    #[test]
    fn drafts_over_the_maximum_length_are_refused_counting_characters() {
        let s = state();
        assert_eq!(
            s.compose("elevenchars", "a".into(), 0),
            Err(ComposeError::TooLong { len: 11, max: 10 })
        );
        // Ten characters, more than ten bytes.
        let m = s
            .compose("ééééééééé€", "a".into(), 0)
            .expect("ten characters fit");
        assert_eq!(m.text.chars().count(), 10);
    }

    #[test]
    fn a_draft_is_trimmed_and_signed_with_the_user_name() {
        let m = state().compose("  hi  ", "id1".into(), 42).expect("valid");
        assert_eq!(
            m,
            WireMessage {
                id: "id1".into(),
                user: "me".into(),
                text: "hi".into(),
                timestamp: 42
            }
        );
    }

    #[test]
    fn the_signed_in_identity_names_the_user_unless_the_site_did() {
        let anonymous = Rc::new(ChatState::new(ChatSettings::new("", 10)));
        assert_eq!(
            anonymous.compose("hi", "a".into(), 0),
            Err(ComposeError::NoUser)
        );
        let s = anonymous.reduce(ChatAction::Identified("alice".into()));
        assert_eq!(
            s.compose("hi", "a".into(), 0).map(|m| m.user),
            Ok("alice".into())
        );
        let s = state().reduce(ChatAction::Identified("alice".into()));
        assert_eq!(s.settings().user, "me");
    }

    #[test]
    fn nobody_counts_as_own_before_the_user_is_known() {
        let anonymous = Rc::new(ChatState::new(ChatSettings::new("", 10)));
        let s = received(anonymous, &[("a", "ann")]);
        assert!(s.messages().all(|m| !m.own));
    }

    #[test]
    fn messages_arriving_while_scrolled_up_are_counted_as_unread() {
        let s = state().reduce(ChatAction::Scrolled { at_bottom: false });
        let s = received(s, &[("a", "ann"), ("b", "bob"), ("c", "me")]);
        assert_eq!(s.unread(), 2);
        let s = s.reduce(ChatAction::Scrolled { at_bottom: true });
        assert_eq!(s.unread(), 0);
    }

    #[test]
    fn messages_arriving_at_the_bottom_are_not_unread() {
        let s = received(state(), &[("a", "ann")]);
        assert_eq!(s.unread(), 0);
        assert!(s.at_bottom());
    }

    #[test]
    fn sending_returns_the_view_to_the_bottom() {
        let s = state().reduce(ChatAction::Scrolled { at_bottom: false });
        let s = received(s, &[("a", "ann")]);
        let s = send(s, "c1", Ok(1));
        assert!(s.at_bottom());
        assert_eq!(s.unread(), 0);
    }

    #[test]
    fn followed_publishes_are_forgotten_when_their_message_leaves_the_history() {
        let mut s = state();
        for i in 0..10u64 {
            s = send(s, &format!("c{i}"), Ok(i));
        }
        assert_eq!(s.len(), 5);
        assert_eq!(s.following.len(), 5);
    }
}
