//! The live chat's runtime configuration: one build serves every site and room.
//!
//! Settings come from, in rising precedence: built-in defaults, `config.json` beside the app (or
//! the file a `data-config-url` attribute names), `data-*` attributes on the mount element, and
//! finally `?room=` in the page URL for the room alone. This crate parses and validates them into
//! a [`Config`] holding the MQTT hook's own types ([`ProtocolVersion`], [`QoS`]); it has no
//! browser in it, so the rules are tested natively. The browser side (finding the mount element,
//! fetching the file) belongs to the programs that use it: the chat app and the bench page.
//!
//! ```
//! use livechat_config::{Config, QoS, RawConfig};
//!
//! let file = RawConfig::from_json(r#"{ "brokerUrl": "wss://chat.example.com/mqtt", "qos": 0 }"#)?;
//! let attribute = |name: &str| (name == "data-room").then(|| "support".to_owned());
//! let config = Config::load(file, attribute, "?room=sales")?;
//! assert_eq!((config.room.as_str(), config.qos), ("sales", QoS::AtMostOnce));
//! assert_eq!(config.refresh_url, "/api/mqtt-token/refresh");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod setting;
mod url;

#[cfg(test)]
mod tests;

pub use mqtt_codec::{ProtocolVersion, QoS};
pub use setting::{RawConfig, Setting};
pub use url::{is_loopback_host, room_from_query};

use mqtt_lifecycle::json::Quoted;
use mqtt_lifecycle::net::parse_u64;
use url::{validate_broker_url, validate_http_url};

/// A whole number setting (surrounding space allowed) that fits `T`.
fn whole<T: TryFrom<u64>>(v: &str) -> Option<T> {
    parse_u64(v.trim()).and_then(|n| T::try_from(n).ok())
}

/// Default token endpoint (same origin as the page).
pub const DEFAULT_TOKEN_URL: &str = "/api/mqtt-token";
/// What the default refresh endpoint adds to the token URL.
pub const REFRESH_SUFFIX: &str = "/refresh";
/// Default room.
pub const DEFAULT_ROOM: &str = "lobby";
/// Default MQTT version (falls back to 3.1.1 when the broker refuses it).
pub const DEFAULT_PROTOCOL: ProtocolVersion = ProtocolVersion::V5;
/// Default QoS of outgoing messages and the room subscription.
pub const DEFAULT_QOS: QoS = QoS::AtLeastOnce;
/// Default maximum message length, in characters.
pub const DEFAULT_MAX_MESSAGE_LENGTH: usize = 500;
/// The largest maximum message length a site may configure.
pub const MAX_MAX_MESSAGE_LENGTH: usize = 10_000;
/// The longest display name, in characters.
pub const MAX_USER_NAME_CHARS: usize = 64;

/// The refresh endpoint that goes with `token_url` when none is configured.
pub fn default_refresh_url(token_url: &str) -> String {
    format!("{}{REFRESH_SUFFIX}", token_url.trim_end_matches('/'))
}

/// How the chat uses the broker's topics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TopicMode {
    /// Publish on the own author topic; read author topics (verified) and the shared topic
    /// (unverified). The default.
    #[default]
    PerAuthor,
    /// Publish and read only on the shared topic: nobody's author can be verified. Used when the
    /// site says so, when the broker refuses the author topics (an ACL written for the
    /// quickstart), or when the token's user id cannot be a topic level.
    Shared,
}

/// Why the configuration cannot be used; always names the setting or the file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A setting has a value that cannot be used.
    #[error("the setting {setting} is invalid ({}): {reason}", Quoted(.value))]
    Invalid {
        /// Which setting.
        setting: Setting,
        /// The value given.
        value: String,
        /// What is wrong with it, in words.
        reason: String,
    },
    /// The page holds several mount elements, so which one the site meant (and so which broker
    /// and token endpoint to trust) is unknown; the chat refuses to guess.
    #[error(
        "the page has {0} chat mount elements ([data-livechat] or #livechat); there must be exactly one"
    )]
    AmbiguousMount(usize),
    /// The configuration file could not be read.
    #[error("the configuration file {url} could not be used: {reason}")]
    File {
        /// The file's URL.
        url: String,
        /// Why.
        reason: String,
    },
}

impl ConfigError {
    /// The setting at fault, if one is.
    pub fn setting(&self) -> Option<Setting> {
        match self {
            ConfigError::Invalid { setting: s, .. } => Some(*s),
            ConfigError::File { .. } | ConfigError::AmbiguousMount(_) => None,
        }
    }

    fn invalid(setting: Setting, value: &str, reason: impl Into<String>) -> Self {
        ConfigError::Invalid {
            setting,
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Validated configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Token endpoint URL (a path, or an absolute `https://` URL).
    pub token_url: String,
    /// Refresh endpoint URL.
    pub refresh_url: String,
    /// Broker WebSocket URL; empty when the site configured none, and then the token response
    /// must name the broker (its `brokerUrl` wins over this one anyway).
    pub broker_url: String,
    /// More WebSocket URLs of the same broker cluster (`brokerUrls`: a JSON array, or a list
    /// separated by spaces or commas in `data-broker-urls`), each validated like `broker_url`.
    /// With `broker_url` they form one list the client shuffles once and tries in turn after
    /// each failed or lost link (`mqtt_lifecycle::SupervisorConfig::broker_urls`); a token
    /// response's `brokerUrl` still wins. Behind one load-balanced URL this stays empty.
    pub broker_urls: Vec<String>,
    /// Room name, `[A-Za-z0-9_-]{1,64}`.
    pub room: String,
    /// MQTT version to try first.
    pub protocol: ProtocolVersion,
    /// QoS of outgoing messages and the room subscription.
    pub qos: QoS,
    /// Longest message, in characters.
    pub max_message_length: usize,
    /// Display name, if the site gives one (else the token's user id is used).
    pub user_name: Option<String>,
    /// How the room's topics are used: per-author (verified authors, the default) or shared.
    pub topic_mode: TopicMode,
    /// The dev stack's sign-in page (`/dev/login`), when configuration offers one: the signed-out
    /// screen then has a name field that goes there. Validated like the token URL.
    pub dev_login: Option<String>,
    /// MQTT keep-alive in seconds ([`MIN_KEEP_ALIVE_SECS`] to [`MAX_KEEP_ALIVE_SECS`]): a link
    /// that stays silent is declared dead within 1.5 × this.
    pub keep_alive_secs: u16,
    /// Messages of each room this browser keeps across reloads (IndexedDB), per signed-in user;
    /// 0 keeps nothing (neither history nor unsent messages). At most [`MAX_STORED_MESSAGES`].
    pub stored_messages: usize,
    /// Where the host serves a room's history (`GET {historyUrl}?room={room}`, cookies
    /// included), merged by id with what this browser kept; validated like the token URL.
    /// `None`: the browser's own history only.
    pub history_url: Option<String>,
    /// Whether the browser's tabs of this origin share one broker connection (one token
    /// lifecycle, one leader tab elected with a Web Lock; see `mqtt_browser::DriverConfig`).
    /// Default `true`; `false` gives each tab its own connection. A browser without Web Locks
    /// or `BroadcastChannel` runs one connection per tab either way.
    pub share_tabs: bool,
}

/// Default number of messages kept per room across reloads.
pub const DEFAULT_STORED_MESSAGES: usize = 200;
/// The most messages per room a site may have kept across reloads (the chat lists 500).
pub const MAX_STORED_MESSAGES: usize = 500;

/// Default MQTT keep-alive, seconds.
pub const DEFAULT_KEEP_ALIVE_SECS: u16 = 30;
/// Shortest keep-alive a site may configure, seconds.
pub const MIN_KEEP_ALIVE_SECS: u16 = 2;
/// Longest keep-alive a site may configure, seconds.
pub const MAX_KEEP_ALIVE_SECS: u16 = 3600;

impl Default for Config {
    /// Every default: no broker (the token response names it), `/api/mqtt-token`, room `lobby`.
    fn default() -> Self {
        Config {
            token_url: DEFAULT_TOKEN_URL.to_owned(),
            refresh_url: default_refresh_url(DEFAULT_TOKEN_URL),
            broker_url: String::new(),
            broker_urls: Vec::new(),
            room: DEFAULT_ROOM.to_owned(),
            protocol: DEFAULT_PROTOCOL,
            qos: DEFAULT_QOS,
            max_message_length: DEFAULT_MAX_MESSAGE_LENGTH,
            user_name: None,
            topic_mode: TopicMode::PerAuthor,
            dev_login: None,
            keep_alive_secs: DEFAULT_KEEP_ALIVE_SECS,
            stored_messages: DEFAULT_STORED_MESSAGES,
            history_url: None,
            share_tabs: true,
        }
    }
}

impl Config {
    /// The whole configuration from its sources: the file's values (`RawConfig::default()` when
    /// there is none), the mount element's attributes read through `attribute(name)`, and the
    /// page URL's query string (`location.search`) for `?room=`.
    pub fn load(
        file: RawConfig,
        attribute: impl Fn(&str) -> Option<String>,
        search: &str,
    ) -> Result<Self, ConfigError> {
        let raw = file.overlaid_with(&RawConfig::from_attributes(attribute));
        Config::resolve(&raw, room_from_query(search).as_deref())
    }

    /// The configuration a `config.json` text gives alone (no attributes, no `?room=`).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let raw = RawConfig::from_json(text)?;
        Config::resolve(&raw, None).map_err(|e| e.to_string())
    }

    /// Validates `raw`, with `room_override` (from `?room=`) winning over any configured room.
    pub fn resolve(raw: &RawConfig, room_override: Option<&str>) -> Result<Self, ConfigError> {
        let defaults = Config::default();
        let broker_url = match raw.get(Setting::BrokerUrl) {
            Some(url) => validate_broker_url(url.trim())?,
            None => defaults.broker_url,
        };
        let mut broker_urls = Vec::new();
        if let Some(list) = raw.get(Setting::BrokerUrls) {
            for url in list
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|u| !u.is_empty())
            {
                let url = validate_broker_url(url).map_err(|e| match e {
                    ConfigError::Invalid { value, reason, .. } => ConfigError::Invalid {
                        setting: Setting::BrokerUrls,
                        value,
                        reason,
                    },
                    other => other,
                })?;
                broker_urls.push(url);
            }
        }
        let token_url = raw
            .get(Setting::TokenUrl)
            .map_or(defaults.token_url, |url| url.trim().to_owned());
        validate_http_url(Setting::TokenUrl, &token_url)?;
        let refresh_url = match raw.get(Setting::RefreshUrl) {
            Some(url) => url.trim().to_owned(),
            None => default_refresh_url(&token_url),
        };
        validate_http_url(Setting::RefreshUrl, &refresh_url)?;
        let room = room_override
            .filter(|r| !r.is_empty())
            .or(raw.get(Setting::Room))
            .map_or(defaults.room, str::to_owned);
        if !is_valid_room(&room) {
            return Err(ConfigError::invalid(
                Setting::Room,
                &room,
                "must be 1 to 64 letters, digits, '_' or '-'",
            ));
        }
        let protocol = match raw.get(Setting::MqttVersion).map(str::trim) {
            None => defaults.protocol,
            Some("5" | "5.0") => ProtocolVersion::V5,
            Some("3.1.1" | "311" | "4") => ProtocolVersion::V311,
            Some(other) => {
                return Err(ConfigError::invalid(
                    Setting::MqttVersion,
                    other,
                    "must be 5 or 3.1.1",
                ))
            }
        };
        let qos = match raw.get(Setting::Qos).map(str::trim) {
            None => defaults.qos,
            Some(number) => qos_from_number(number)
                .ok_or_else(|| ConfigError::invalid(Setting::Qos, number, "must be 0, 1 or 2"))?,
        };
        let max_message_length = match raw.get(Setting::MaxMessageLength) {
            None => defaults.max_message_length,
            Some(v) => match whole::<usize>(v) {
                Some(n) if (1..=MAX_MAX_MESSAGE_LENGTH).contains(&n) => n,
                _ => {
                    return Err(ConfigError::invalid(
                        Setting::MaxMessageLength,
                        v,
                        format!("must be a whole number from 1 to {MAX_MAX_MESSAGE_LENGTH}"),
                    ))
                }
            },
        };
        let user_name = match raw.get(Setting::UserName).map(str::trim) {
            None => defaults.user_name,
            Some(name)
                if name.chars().count() <= MAX_USER_NAME_CHARS
                    && !name.chars().any(char::is_control) =>
            {
                Some(name.to_owned())
            }
            Some(name) => {
                return Err(ConfigError::invalid(
                    Setting::UserName,
                    name,
                    format!(
                    "must be at most {MAX_USER_NAME_CHARS} characters, without control characters"
                ),
                ))
            }
        };
        let topic_mode = match raw.get(Setting::TopicMode).map(str::trim) {
            None => defaults.topic_mode,
            Some("per-author") => TopicMode::PerAuthor,
            Some("shared") => TopicMode::Shared,
            Some(other) => {
                return Err(ConfigError::invalid(
                    Setting::TopicMode,
                    other,
                    "must be per-author or shared",
                ))
            }
        };
        let dev_login = match raw.get(Setting::DevLogin).map(str::trim) {
            None => defaults.dev_login,
            Some(url) => {
                validate_http_url(Setting::DevLogin, url)?;
                Some(url.to_owned())
            }
        };
        let keep_alive_secs = match raw.get(Setting::KeepAlive) {
            None => defaults.keep_alive_secs,
            Some(v) => match whole::<u16>(v) {
                Some(n) if (MIN_KEEP_ALIVE_SECS..=MAX_KEEP_ALIVE_SECS).contains(&n) => n,
                _ => {
                    return Err(ConfigError::invalid(
                        Setting::KeepAlive,
                        v,
                        format!(
                            "must be a whole number of seconds from {MIN_KEEP_ALIVE_SECS} to {MAX_KEEP_ALIVE_SECS}"
                        ),
                    ))
                }
            },
        };
        let stored_messages = match raw.get(Setting::StoredMessages) {
            None => defaults.stored_messages,
            Some(v) => match whole::<usize>(v) {
                Some(n) if n <= MAX_STORED_MESSAGES => n,
                _ => {
                    return Err(ConfigError::invalid(
                        Setting::StoredMessages,
                        v,
                        format!(
                            "must be a whole number of messages from 0 (keep nothing) to {MAX_STORED_MESSAGES}"
                        ),
                    ))
                }
            },
        };
        let history_url = match raw.get(Setting::HistoryUrl).map(str::trim) {
            None => defaults.history_url,
            Some(url) => {
                validate_http_url(Setting::HistoryUrl, url)?;
                Some(url.to_owned())
            }
        };
        let share_tabs = match raw.get(Setting::ShareTabs).map(str::trim) {
            None => defaults.share_tabs,
            Some("true" | "on" | "1") => true,
            Some("false" | "off" | "0") => false,
            Some(other) => {
                return Err(ConfigError::invalid(
                    Setting::ShareTabs,
                    other,
                    "must be true or false",
                ))
            }
        };
        Ok(Config {
            token_url,
            refresh_url,
            broker_url,
            broker_urls,
            room,
            protocol,
            qos,
            max_message_length,
            user_name,
            topic_mode,
            dev_login,
            keep_alive_secs,
            stored_messages,
            history_url,
            share_tabs,
        })
    }
}

/// The QoS for its number as written in configuration or by a harness (`"0"`, `"1"`, `"2"`).
pub fn qos_from_number(number: &str) -> Option<QoS> {
    match number.trim() {
        "0" => Some(QoS::AtMostOnce),
        "1" => Some(QoS::AtLeastOnce),
        "2" => Some(QoS::ExactlyOnce),
        _ => None,
    }
}

/// Whether `room` is a valid room name: `[A-Za-z0-9_-]{1,64}`.
pub fn is_valid_room(room: &str) -> bool {
    (1..=64).contains(&room.len())
        && room
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
