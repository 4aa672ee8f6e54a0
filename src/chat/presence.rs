//! Who is in the room: presence entries on MQTT itself (see docs/ARCHITECTURE.md, "Presence").
//!
//! Each running chat (a tab) keeps one **retained** entry on
//! `chat/{room}/presence/{author}/{instance}`; its Will (an empty retained payload) clears it
//! when the connection ends. The broker lets only `{author}` publish there, so that level is the
//! **verified author**; the payload's `name` is only a claimed display name. A user is present
//! while at least one of their instances is. This module is pure: the topics, the payload, and
//! the state ([`Presence`]) with the change each input makes, for the UI to show and announce.

use mqtt_lifecycle::json::{self, Value};

use super::topics::is_valid_author;

/// Largest presence payload accepted or written, in bytes (the embedded broker's retained limit).
pub const MAX_PRESENCE_BYTES: usize = 512;
/// Longest claimed name kept from a presence payload, in characters.
pub const MAX_PRESENCE_NAME_CHARS: usize = 64;
/// The Will Delay Interval (MQTT 5), seconds: a reconnect or a rotation within it never shows
/// the user leaving; a closed tab disappears once it has passed.
pub const PRESENCE_WILL_DELAY_SECS: u32 = 15;

/// The presence topics of one room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresenceTopics {
    prefix: String,
    filter: String,
}

impl PresenceTopics {
    /// The presence topics of `room` (a valid room name).
    pub fn new(room: &str) -> Self {
        let prefix = format!("chat/{room}/presence");
        let filter = format!("{prefix}/+/+");
        Self { prefix, filter }
    }

    /// `chat/{room}/presence/+/+`: every entry of the room.
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// `chat/{room}/presence/{author}/{instance}`, if both can be topic levels.
    pub fn entry_topic(&self, author: &str, instance: &str) -> Option<String> {
        (is_valid_author(author) && is_valid_instance(instance))
            .then(|| format!("{}/{author}/{instance}", self.prefix))
    }

    /// `(verified author, instance)` of an entry topic of this room; `None` for anything else.
    pub fn parse<'t>(&self, topic: &'t str) -> Option<(&'t str, &'t str)> {
        let rest = topic
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix('/')?;
        let (author, instance) = rest.split_once('/')?;
        (is_valid_author(author) && is_valid_instance(instance)).then_some((author, instance))
    }
}

/// An instance level: `[A-Za-z0-9_-]{1,64}` (what the dev stack's ACL accepts).
pub fn is_valid_instance(instance: &str) -> bool {
    (1..=64).contains(&instance.len())
        && instance
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// What an entry says: `{"name": "<claimed display name>", "since": <epoch ms>}`, both optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PresenceEntry {
    /// The display name the user claims (not verified), trimmed, at most
    /// [`MAX_PRESENCE_NAME_CHARS`] characters; `None` when absent or empty.
    pub name: Option<String>,
    /// Since when this instance has been in the room, epoch milliseconds (0 when absent).
    pub since: u64,
}

impl PresenceEntry {
    /// The payload this entry is published as.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        if let Some(name) = &self.name {
            out.push_str("\"name\":");
            json::write_string(&mut out, name);
            out.push(',');
        }
        out.push_str(&format!("\"since\":{}}}", self.since));
        out
    }

    /// Reads a non-empty payload; `None` when it is not an entry (not a JSON object, `name` not a
    /// string, `since` not a whole number, a field given twice, or over the size limit).
    pub fn parse(payload: &[u8]) -> Option<Self> {
        if payload.len() > MAX_PRESENCE_BYTES {
            return None;
        }
        let Value::Object(object) = json::parse(payload).ok()? else {
            return None;
        };
        if object.count("name") > 1 || object.count("since") > 1 {
            return None;
        }
        let name = match object.get("name") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                let name: String = s.trim().chars().take(MAX_PRESENCE_NAME_CHARS).collect();
                (!name.is_empty()).then_some(name)
            }
            Some(_) => return None,
        };
        let since = match object.get("since") {
            None | Some(Value::Null) => 0,
            Some(Value::Number(n)) => n.as_u64()?,
            Some(_) => return None,
        };
        Some(Self { name, since })
    }
}

/// One person in the room (one line of the list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// The verified author (the token's `userId`).
    pub author: String,
    /// The display name claimed by their most recent instance, if any.
    pub name: Option<String>,
    /// Whether this is the signed-in user.
    pub own: bool,
    /// How many of their tabs are in the room.
    pub instances: usize,
}

/// What one input changed, for announcing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PresenceChange {
    /// The author was not present and now is.
    Joined(String),
    /// The author's last instance left.
    Left(String),
    /// Present before and after (another tab, a new name, a republished entry): nothing to say.
    Unchanged,
    /// Not a presence entry of this room, or a malformed payload: ignored.
    Ignored,
}

/// The room's presence: entries per verified author and instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Presence {
    /// By author, in author order; each author's instances in instance order (never empty).
    /// Sorted `Vec`s, not `BTreeMap`s: every B-tree instantiation is its own copy of the B-tree
    /// code in the wasm (BENCHMARKS.md, "Where the app's bytes go"); a lookup stays a binary
    /// search.
    entries: Vec<(String, Vec<(String, PresenceEntry)>)>,
    ignored: u64,
}

/// Where `key` is (or would go) in a `Vec` sorted by its first field.
fn find<V>(list: &[(String, V)], key: &str) -> Result<usize, usize> {
    list.binary_search_by(|(k, _)| k.as_str().cmp(key))
}

impl Presence {
    /// An empty room.
    pub fn new() -> Self {
        Self::default()
    }

    fn instances(&self, author: &str) -> Option<&[(String, PresenceEntry)]> {
        let i = find(&self.entries, author).ok()?;
        Some(&self.entries[i].1)
    }

    /// Applies one message heard on `topic` (an empty payload clears the entry, as the Will and
    /// any deletion of a retained message do). The retain flag does not matter: a retained entry
    /// (the room as it was when we subscribed) and a live one mean the same.
    pub fn apply(
        &mut self,
        topics: &PresenceTopics,
        topic: &str,
        payload: &[u8],
    ) -> PresenceChange {
        let Some((author, instance)) = topics.parse(topic) else {
            self.ignored += 1;
            return PresenceChange::Ignored;
        };
        let found = find(&self.entries, author);
        if payload.is_empty() {
            let Ok(i) = found else {
                return PresenceChange::Unchanged;
            };
            let instances = &mut self.entries[i].1;
            if let Ok(j) = find(instances, instance) {
                instances.remove(j);
            }
            if instances.is_empty() {
                self.entries.remove(i);
                return PresenceChange::Left(author.to_owned());
            }
            return PresenceChange::Unchanged;
        }
        let Some(entry) = PresenceEntry::parse(payload) else {
            self.ignored += 1;
            return PresenceChange::Ignored;
        };
        let (i, was_present) = match found {
            Ok(i) => (i, true),
            Err(i) => {
                self.entries.insert(i, (author.to_owned(), Vec::new()));
                (i, false)
            }
        };
        let instances = &mut self.entries[i].1;
        match find(instances, instance) {
            Ok(j) => instances[j].1 = entry,
            Err(j) => instances.insert(j, (instance.to_owned(), entry)),
        }
        if was_present {
            PresenceChange::Unchanged
        } else {
            PresenceChange::Joined(author.to_owned())
        }
    }

    /// Forgets everyone (e.g. signed out: the next subscription brings the room back).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Whether `author`'s `instance` has an entry (this tab's own, once the broker echoed it).
    pub fn has_instance(&self, author: &str, instance: &str) -> bool {
        self.instances(author)
            .is_some_and(|instances| find(instances, instance).is_ok())
    }

    /// The name `author` is shown by: the latest claimed name, else the author id.
    pub fn shown_name(&self, author: &str) -> String {
        self.instances(author)
            .and_then(latest)
            .and_then(|e| e.name.clone())
            .unwrap_or_else(|| author.to_owned())
    }

    /// How many people are in the room.
    pub fn count(&self) -> usize {
        self.entries.len()
    }

    /// Whether `author` is present.
    pub fn contains(&self, author: &str) -> bool {
        find(&self.entries, author).is_ok()
    }

    /// Messages ignored so far (foreign topics, malformed payloads).
    pub fn ignored(&self) -> u64 {
        self.ignored
    }

    /// Everyone present, the signed-in user (`own`, the token's `userId`) first, then by name
    /// (case-insensitive), then by author id. Each one inserted at its place (a binary search):
    /// no sort routine linked into the wasm for one short list.
    pub fn people(&self, own: Option<&str>) -> Vec<Person> {
        let key = |p: &Person| lowercase(p.name.as_deref().unwrap_or(&p.author));
        let mut people: Vec<(String, Person)> = Vec::with_capacity(self.entries.len());
        for (author, instances) in &self.entries {
            let person = Person {
                author: author.clone(),
                name: latest(instances).and_then(|e| e.name.clone()),
                own: own == Some(author.as_str()),
                instances: instances.len(),
            };
            let k = key(&person);
            // Authors come in order and are unique: after every person that sorts before or
            // equal by (own, name), which is the order `(own desc, name, author)`.
            let at = people
                .partition_point(|(qk, q)| (!q.own, qk.as_str()) <= (!person.own, k.as_str()));
            people.insert(at, (k, person));
        }
        people.into_iter().map(|(_, p)| p).collect()
    }
}

/// `name` lowercased, for sorting: [`str::to_lowercase`] (Unicode's full lowercase mapping, final
/// sigma included). In the browser a name that is not ASCII goes to JavaScript's
/// `String.prototype.toLowerCase`, the same mapping with the browser's own tables: Rust's would
/// add ~12 KB of tables (~3.5 KB brotli) to the wasm for this one sort key.
fn lowercase(name: &str) -> String {
    if name.is_ascii() {
        return name.to_ascii_lowercase();
    }
    #[cfg(target_arch = "wasm32")]
    return js_sys::JsString::from(name).to_lower_case().into();
    #[cfg(not(target_arch = "wasm32"))]
    return name.to_lowercase();
}

/// The latest entry of one author's instances (the last of the most recent, as `max_by_key`).
fn latest(instances: &[(String, PresenceEntry)]) -> Option<&PresenceEntry> {
    instances.iter().map(|(_, e)| e).max_by_key(|e| e.since)
}

/// An input of [`PresenceView`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PresenceAction {
    /// A message on a presence topic (retained or live; empty = the instance left).
    Heard {
        /// Its topic.
        topic: String,
        /// Its payload.
        payload: Vec<u8>,
    },
    /// Who the signed-in user is (the token's `userId`): not announced, listed first.
    Me(Option<String>),
}

/// What the UI shows: the room's presence, who "you" are, and the last change in words for a
/// polite live region (joins and leaves of others only; a republished entry or another tab of
/// someone already here says nothing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresenceView {
    topics: PresenceTopics,
    /// This tab's instance: its own entry is never announced, whatever the order in which the
    /// token's user id and the entry's echo arrive.
    instance: String,
    presence: Presence,
    me: Option<String>,
    announcement: Option<String>,
}

impl PresenceView {
    /// Nobody yet, in the room of `topics`, seen from the tab whose entry is `instance`.
    pub fn new(topics: PresenceTopics, instance: impl Into<String>) -> Self {
        Self {
            topics,
            instance: instance.into(),
            presence: Presence::new(),
            me: None,
            announcement: None,
        }
    }

    /// The presence state.
    pub fn presence(&self) -> &Presence {
        &self.presence
    }

    /// The list, the signed-in user first: the token's user, or (before it is known here) the
    /// author of this tab's own entry.
    pub fn people(&self) -> Vec<Person> {
        let own = self.me.as_deref().or_else(|| {
            self.presence
                .entries
                .iter()
                .find(|(_, instances)| find(instances, &self.instance).is_ok())
                .map(|(author, _)| author.as_str())
        });
        self.presence.people(own)
    }

    /// The last join or leave, in words (with the new count), for a live region.
    pub fn announcement(&self) -> Option<&str> {
        self.announcement.as_deref()
    }

    /// Applies one input.
    pub fn apply(&mut self, action: PresenceAction) {
        match action {
            PresenceAction::Me(me) => self.me = me,
            PresenceAction::Heard { topic, payload } => {
                let parsed = self.topics.parse(&topic);
                let mine = parsed.is_some_and(|(_, i)| i == self.instance);
                let author = parsed.map(|(a, _)| a.to_owned());
                let before = author.as_deref().map(|a| self.presence.shown_name(a));
                let change = self.presence.apply(&self.topics, &topic, &payload);
                let count = self.presence.count();
                let here = match count {
                    1 => "1 person here".to_owned(),
                    n => format!("{n} people here"),
                };
                let own = |a: &str| mine || self.me.as_deref() == Some(a);
                let said = match change {
                    PresenceChange::Joined(a) if !own(&a) => {
                        Some(format!("{} joined. {here}.", self.presence.shown_name(&a)))
                    }
                    PresenceChange::Left(a) if !own(&a) => {
                        Some(format!("{} left. {here}.", before.unwrap_or(a)))
                    }
                    _ => None,
                };
                if said.is_some() {
                    self.announcement = said;
                }
            }
        }
    }
}

impl yew::Reducible for PresenceView {
    type Action = PresenceAction;

    fn reduce(self: std::rc::Rc<Self>, action: PresenceAction) -> std::rc::Rc<Self> {
        let mut next = (*self).clone();
        next.apply(action);
        if next == *self {
            self
        } else {
            std::rc::Rc::new(next)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics() -> PresenceTopics {
        PresenceTopics::new("lobby")
    }

    fn entry(name: &str, since: u64) -> Vec<u8> {
        PresenceEntry {
            name: Some(name.into()),
            since,
        }
        .to_json()
        .into_bytes()
    }

    #[test]
    fn topics_name_the_verified_author_and_the_instance() {
        let t = topics();
        assert_eq!(t.filter(), "chat/lobby/presence/+/+");
        assert_eq!(
            t.entry_topic("alice", "0af3").as_deref(),
            Some("chat/lobby/presence/alice/0af3")
        );
        assert_eq!(t.entry_topic("al/ice", "0af3"), None);
        assert_eq!(t.entry_topic("alice", "a b"), None);
        assert_eq!(
            t.parse("chat/lobby/presence/alice/0af3"),
            Some(("alice", "0af3"))
        );
        for other in [
            "chat/lobby/presence/alice",
            "chat/lobby/presence/alice/0af3/x",
            "chat/lobby/presence//0af3",
            "chat/other/presence/alice/0af3",
            "chat/lobby/messages/alice",
            "chat/lobby/presence/alice/+",
        ] {
            assert_eq!(t.parse(other), None, "{other}");
        }
    }

    #[test]
    fn the_payload_round_trips_and_bad_ones_are_refused() {
        let e = PresenceEntry {
            name: Some("Ada \"the\" Lovelace".into()),
            since: 1_700_000_000_000,
        };
        assert_eq!(PresenceEntry::parse(e.to_json().as_bytes()), Some(e));
        let nameless = PresenceEntry {
            name: None,
            since: 5,
        };
        assert_eq!(nameless.to_json(), "{\"since\":5}");
        assert_eq!(PresenceEntry::parse(b"{}"), Some(PresenceEntry::default()));
        assert_eq!(
            PresenceEntry::parse(b"{\"name\":\"  \"}"),
            Some(PresenceEntry::default())
        );
        for bad in [
            &b"not json"[..],
            b"[1]",
            b"{\"name\":5}",
            b"{\"since\":-1}",
            b"{\"since\":\"x\"}",
            b"{\"name\":\"a\",\"name\":\"b\"}",
        ] {
            assert_eq!(
                PresenceEntry::parse(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let huge = format!("{{\"name\":\"{}\"}}", "x".repeat(MAX_PRESENCE_BYTES));
        assert_eq!(PresenceEntry::parse(huge.as_bytes()), None);
        let long = format!("{{\"name\":\"{}\"}}", "é".repeat(100));
        let name = PresenceEntry::parse(long.as_bytes()).unwrap().name.unwrap();
        assert_eq!(name.chars().count(), MAX_PRESENCE_NAME_CHARS);
    }

    #[test]
    fn a_user_joins_with_their_first_instance_and_leaves_with_their_last() {
        let (t, mut p) = (topics(), Presence::new());
        let a1 = "chat/lobby/presence/alice/tab1";
        let a2 = "chat/lobby/presence/alice/tab2";
        assert_eq!(
            p.apply(&t, a1, &entry("Alice", 1)),
            PresenceChange::Joined("alice".into())
        );
        assert_eq!(
            p.apply(&t, a2, &entry("Alice", 2)),
            PresenceChange::Unchanged
        );
        assert_eq!(p.count(), 1);
        assert_eq!(p.people(None)[0].instances, 2);
        // One tab closes (its Will): still here.
        assert_eq!(p.apply(&t, a1, b""), PresenceChange::Unchanged);
        assert!(p.contains("alice"));
        // The last one: gone.
        assert_eq!(p.apply(&t, a2, b""), PresenceChange::Left("alice".into()));
        assert_eq!(p.count(), 0);
        // A Will for an instance never seen changes nothing.
        assert_eq!(p.apply(&t, a2, b""), PresenceChange::Unchanged);
    }

    #[test]
    fn republishing_an_entry_is_no_flip() {
        let (t, mut p) = (topics(), Presence::new());
        let a = "chat/lobby/presence/alice/tab1";
        assert_eq!(
            p.apply(&t, a, &entry("Alice", 1)),
            PresenceChange::Joined("alice".into())
        );
        // Every Connected republishes (rotation, reconnect): nobody left, nobody joined.
        for _ in 0..10 {
            assert_eq!(
                p.apply(&t, a, &entry("Alice", 1)),
                PresenceChange::Unchanged
            );
        }
        assert_eq!(p.count(), 1);
    }

    #[test]
    fn foreign_topics_and_malformed_payloads_are_ignored_and_counted() {
        let (t, mut p) = (topics(), Presence::new());
        assert_eq!(
            p.apply(&t, "chat/other/presence/bob/x", &entry("Bob", 1)),
            PresenceChange::Ignored
        );
        assert_eq!(
            p.apply(&t, "chat/lobby/presence/bob/x", b"<b>hi</b>"),
            PresenceChange::Ignored
        );
        assert_eq!(p.count(), 0);
        assert_eq!(p.ignored(), 2);
        // A malformed payload does not remove a present user either.
        p.apply(&t, "chat/lobby/presence/bob/x", &entry("Bob", 1));
        assert_eq!(
            p.apply(&t, "chat/lobby/presence/bob/x", b"garbage"),
            PresenceChange::Ignored
        );
        assert!(p.contains("bob"));
    }

    #[test]
    fn the_list_puts_the_own_user_first_then_sorts_by_name() {
        let (t, mut p) = (topics(), Presence::new());
        p.apply(&t, "chat/lobby/presence/zed/1", &entry("zed", 1));
        p.apply(&t, "chat/lobby/presence/bob/1", &entry("Bob", 1));
        p.apply(&t, "chat/lobby/presence/carol/1", b"{}");
        p.apply(&t, "chat/lobby/presence/anna/1", &entry("anna", 1));
        let people = p.people(Some("zed"));
        let order: Vec<&str> = people.iter().map(|p| p.author.as_str()).collect();
        assert_eq!(order, ["zed", "anna", "bob", "carol"]);
        assert!(people[0].own && !people[1].own);
        assert_eq!(people[3].name, None, "no claimed name: shown by author id");
    }

    #[test]
    fn the_name_shown_is_the_latest_instances_claim() {
        let (t, mut p) = (topics(), Presence::new());
        p.apply(&t, "chat/lobby/presence/alice/1", &entry("Old name", 1));
        p.apply(&t, "chat/lobby/presence/alice/2", &entry("New name", 2));
        assert_eq!(p.people(None)[0].name.as_deref(), Some("New name"));
    }

    #[test]
    fn the_view_announces_others_joining_and_leaving_but_not_oneself_or_republishing() {
        let mut v = PresenceView::new(topics(), "me-tab");
        let heard = |topic: &str, payload: Vec<u8>| PresenceAction::Heard {
            topic: topic.into(),
            payload,
        };
        v.apply(PresenceAction::Me(Some("me".into())));
        v.apply(heard("chat/lobby/presence/me/me-tab", entry("Me", 1)));
        assert_eq!(v.announcement(), None, "one's own arrival is not announced");
        v.apply(heard("chat/lobby/presence/bob/1", entry("Bob", 1)));
        assert_eq!(v.announcement(), Some("Bob joined. 2 people here."));
        v.apply(heard("chat/lobby/presence/bob/2", entry("Bob", 2)));
        v.apply(heard("chat/lobby/presence/bob/1", entry("Bob", 1)));
        assert_eq!(v.announcement(), Some("Bob joined. 2 people here."));
        v.apply(heard("chat/lobby/presence/bob/1", Vec::new()));
        v.apply(heard("chat/lobby/presence/bob/2", Vec::new()));
        assert_eq!(v.announcement(), Some("Bob left. 1 person here."));
        let people = v.people();
        assert_eq!(people.len(), 1);
        assert!(people[0].own);
    }

    #[test]
    fn this_tabs_own_entry_is_not_announced_even_before_the_user_id_is_known() {
        let mut v = PresenceView::new(topics(), "tab7");
        v.apply(PresenceAction::Heard {
            topic: "chat/lobby/presence/zz-me/tab7".into(),
            payload: entry("Me", 1),
        });
        v.apply(PresenceAction::Heard {
            topic: "chat/lobby/presence/anna/1".into(),
            payload: entry("Anna", 1),
        });
        assert_eq!(v.announcement(), Some("Anna joined. 2 people here."));
        let people = v.people();
        assert_eq!(
            people[0].author, "zz-me",
            "own first, found by this tab's instance"
        );
        assert!(people[0].own);
    }

    #[test]
    fn clear_forgets_everyone() {
        let (t, mut p) = (topics(), Presence::new());
        p.apply(&t, "chat/lobby/presence/alice/1", &entry("Alice", 1));
        p.clear();
        assert_eq!(p.count(), 0);
    }
}

/// In the browser: the sort key is Rust's lowercase, by JavaScript's tables.
#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests {
    use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

    use super::lowercase;

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    fn the_sort_key_is_rusts_lowercase() {
        for name in [
            "Alice",
            "ÉMILE Zoë",
            "ΟΔΥΣΣΕΥΣ",
            "ΣΑΣ Σ",
            "İstanbul",
            "STRASSE Straße",
            "ǅemal ǈ",
            "ＡＢＣ",
            "Ωmega Ꙋ 𐐀𐐨",
            "日本語 テスト",
            "",
        ] {
            assert_eq!(lowercase(name), name.to_lowercase(), "{name}");
        }
    }
}
