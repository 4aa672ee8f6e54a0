//! The settings by name, and their values as found before validation.

use std::fmt;

use mqtt_lifecycle::json::{self, Value};

/// One configurable setting; names it in errors and documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Setting {
    /// The broker's WebSocket URL.
    BrokerUrl,
    /// More WebSocket URLs of the same broker cluster (a list).
    BrokerUrls,
    /// Where credentials come from.
    TokenUrl,
    /// Where credentials are refreshed.
    RefreshUrl,
    /// The chat room.
    Room,
    /// MQTT protocol version.
    MqttVersion,
    /// QoS of outgoing messages and the room subscription.
    Qos,
    /// Longest message a user may send.
    MaxMessageLength,
    /// The user's display name.
    UserName,
    /// Per-author topics (verified authors) or the shared topic only.
    TopicMode,
    /// The dev stack's sign-in page, offered on the signed-out screen (never in production).
    DevLogin,
    /// MQTT keep-alive, seconds: how soon a silent broker link is noticed.
    KeepAlive,
    /// How many messages of each room this browser keeps across reloads.
    StoredMessages,
    /// Where the host serves a room's history (optional).
    HistoryUrl,
    /// Whether the browser's tabs share one broker connection.
    ShareTabs,
}

impl Setting {
    /// Every setting, in documentation order.
    pub const ALL: [Setting; 15] = [
        Setting::BrokerUrl,
        Setting::BrokerUrls,
        Setting::TokenUrl,
        Setting::RefreshUrl,
        Setting::Room,
        Setting::MqttVersion,
        Setting::Qos,
        Setting::MaxMessageLength,
        Setting::UserName,
        Setting::TopicMode,
        Setting::DevLogin,
        Setting::KeepAlive,
        Setting::StoredMessages,
        Setting::HistoryUrl,
        Setting::ShareTabs,
    ];

    /// The key in `config.json`.
    pub fn json_key(self) -> &'static str {
        match self {
            Setting::BrokerUrl => "brokerUrl",
            Setting::BrokerUrls => "brokerUrls",
            Setting::TokenUrl => "tokenUrl",
            Setting::RefreshUrl => "refreshUrl",
            Setting::Room => "room",
            Setting::MqttVersion => "mqttVersion",
            Setting::Qos => "qos",
            Setting::MaxMessageLength => "maxMessageLength",
            Setting::UserName => "userName",
            Setting::TopicMode => "topicMode",
            Setting::DevLogin => "devLogin",
            Setting::KeepAlive => "keepAlive",
            Setting::StoredMessages => "storedMessages",
            Setting::HistoryUrl => "historyUrl",
            Setting::ShareTabs => "shareTabs",
        }
    }

    /// The attribute on the mount element.
    pub fn data_attribute(self) -> &'static str {
        match self {
            Setting::BrokerUrl => "data-broker-url",
            Setting::BrokerUrls => "data-broker-urls",
            Setting::TokenUrl => "data-token-url",
            Setting::RefreshUrl => "data-refresh-url",
            Setting::Room => "data-room",
            Setting::MqttVersion => "data-mqtt-version",
            Setting::Qos => "data-qos",
            Setting::MaxMessageLength => "data-max-message-length",
            Setting::UserName => "data-user-name",
            Setting::TopicMode => "data-topic-mode",
            Setting::DevLogin => "data-dev-login",
            Setting::KeepAlive => "data-keep-alive",
            Setting::StoredMessages => "data-stored-messages",
            Setting::HistoryUrl => "data-history-url",
            Setting::ShareTabs => "data-share-tabs",
        }
    }

    /// Other keys accepted in `config.json` for this setting (snake case; the broker URL also
    /// under the names CloudSignal's examples use).
    fn json_aliases(self) -> &'static [&'static str] {
        match self {
            Setting::BrokerUrl => &["broker_url", "brokerWsUrl", "broker_ws_url"],
            Setting::BrokerUrls => &["broker_urls"],
            Setting::TokenUrl => &["token_url"],
            Setting::RefreshUrl => &["refresh_url"],
            Setting::Room | Setting::Qos => &[],
            Setting::MqttVersion => &["mqtt_version"],
            Setting::MaxMessageLength => &["max_message_length"],
            Setting::UserName => &["user_name"],
            Setting::TopicMode => &["topic_mode"],
            Setting::DevLogin => &["dev_login"],
            Setting::KeepAlive => &["keep_alive"],
            Setting::StoredMessages => &["stored_messages"],
            Setting::HistoryUrl => &["history_url"],
            Setting::ShareTabs => &["share_tabs"],
        }
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.json_key(), self.data_attribute())
    }
}

/// Raw values as found, before validation; a setting is absent where a source says nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawConfig {
    /// Indexed by `Setting as usize`: one slot per setting, no map code in the wasm build.
    values: [Option<String>; Setting::ALL.len()],
}

impl RawConfig {
    /// The value for `setting`, if any.
    pub fn get(&self, setting: Setting) -> Option<&str> {
        self.values[setting as usize].as_deref()
    }

    /// Sets `setting` (blank values count as unset).
    pub fn set(&mut self, setting: Setting, value: impl Into<String>) {
        let value = value.into();
        self.values[setting as usize] = (!value.trim().is_empty()).then_some(value);
    }

    /// Reads attributes through `attribute(name)` (the mount element's `getAttribute`).
    pub fn from_attributes(attribute: impl Fn(&str) -> Option<String>) -> Self {
        let mut raw = Self::default();
        for setting in Setting::ALL {
            if let Some(v) = attribute(setting.data_attribute()) {
                raw.set(setting, v);
            }
        }
        raw
    }

    /// Parses `config.json`: an object whose keys are the settings' JSON keys (or their
    /// aliases); strings, numbers (kept as written) and `null` accepted (`brokerUrls` also as an
    /// array of strings, kept space-separated; `shareTabs` also as `true` / `false`), unknown keys ignored, the last of duplicate keys
    /// wins. The error says what is wrong, in words (and at which byte).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let value = json::parse(text.as_bytes()).map_err(|e| e.to_string())?;
        let Value::Object(map) = value else {
            return Err("expected a JSON object".to_owned());
        };
        let mut raw = Self::default();
        for setting in Setting::ALL {
            let keys =
                std::iter::once(setting.json_key()).chain(setting.json_aliases().iter().copied());
            for key in keys {
                match map.get(key) {
                    None | Some(Value::Null) => continue,
                    Some(Value::String(s)) => raw.set(setting, s.clone()),
                    Some(Value::Number(n)) => raw.set(setting, n.to_string()),
                    Some(Value::Bool(b)) if setting == Setting::ShareTabs => {
                        raw.set(setting, b.to_string());
                    }
                    Some(Value::Array(items)) if setting == Setting::BrokerUrls => {
                        let mut urls = Vec::new();
                        for item in items {
                            match item {
                                Value::String(s) => urls.push(s.as_str()),
                                other => {
                                    return Err(format!(
                                        "`{key}` must list strings (URLs), not {other}"
                                    ))
                                }
                            }
                        }
                        raw.set(setting, urls.join(" "));
                    }
                    Some(other) => {
                        return Err(format!("`{key}` must be a string or a number, not {other}"))
                    }
                }
                break;
            }
        }
        Ok(raw)
    }

    /// `self` with every value `over` has replacing it.
    pub fn overlaid_with(mut self, over: &RawConfig) -> Self {
        for (mine, theirs) in self.values.iter_mut().zip(&over.values) {
            if theirs.is_some() {
                mine.clone_from(theirs);
            }
        }
        self
    }
}
