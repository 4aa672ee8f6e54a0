//! Runtime configuration: one build serves every site and room.
//!
//! Settings come from, in rising precedence: built-in defaults, `config.json` beside `index.html`
//! (or the file a `data-config-url` attribute names), `data-*` attributes on the mount element, and
//! finally `?room=` in the page URL for the room alone. Parsing and validation here are pure; the
//! browser side (reading attributes, fetching the file) lives in `boot.rs`.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::Value;

use crate::chat::TopicMode;

/// Default token endpoint (same origin as the page).
pub const DEFAULT_TOKEN_URL: &str = "/api/mqtt-token";
/// Default room.
pub const DEFAULT_ROOM: &str = "lobby";
/// Default maximum message length, in characters.
pub const DEFAULT_MAX_MESSAGE_LENGTH: usize = 500;
/// The largest maximum message length a site may configure.
pub const MAX_MAX_MESSAGE_LENGTH: usize = 10_000;

/// One configurable setting; names it in errors and documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    /// Where credentials come from.
    TokenUrl,
    /// Where credentials are refreshed.
    RefreshUrl,
    /// The broker's WebSocket URL.
    BrokerUrl,
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
}

impl Setting {
    /// Every setting, in documentation order.
    pub const ALL: [Setting; 9] = [
        Setting::BrokerUrl,
        Setting::TokenUrl,
        Setting::RefreshUrl,
        Setting::Room,
        Setting::MqttVersion,
        Setting::Qos,
        Setting::MaxMessageLength,
        Setting::UserName,
        Setting::TopicMode,
    ];

    /// The key in `config.json`.
    pub fn json_key(self) -> &'static str {
        match self {
            Setting::TokenUrl => "tokenUrl",
            Setting::RefreshUrl => "refreshUrl",
            Setting::BrokerUrl => "brokerUrl",
            Setting::Room => "room",
            Setting::MqttVersion => "mqttVersion",
            Setting::Qos => "qos",
            Setting::MaxMessageLength => "maxMessageLength",
            Setting::UserName => "userName",
            Setting::TopicMode => "topicMode",
        }
    }

    /// The attribute on the mount element.
    pub fn data_attribute(self) -> &'static str {
        match self {
            Setting::TokenUrl => "data-token-url",
            Setting::RefreshUrl => "data-refresh-url",
            Setting::BrokerUrl => "data-broker-url",
            Setting::Room => "data-room",
            Setting::MqttVersion => "data-mqtt-version",
            Setting::Qos => "data-qos",
            Setting::MaxMessageLength => "data-max-message-length",
            Setting::UserName => "data-user-name",
            Setting::TopicMode => "data-topic-mode",
        }
    }

    /// Other keys accepted in `config.json` for this setting (snake case).
    fn json_aliases(self) -> &'static [&'static str] {
        match self {
            Setting::TokenUrl => &["token_url"],
            Setting::RefreshUrl => &["refresh_url"],
            Setting::BrokerUrl => &["broker_url", "brokerWsUrl", "broker_ws_url"],
            Setting::Room => &[],
            Setting::MqttVersion => &["mqtt_version"],
            Setting::Qos => &[],
            Setting::MaxMessageLength => &["max_message_length"],
            Setting::UserName => &["user_name"],
            Setting::TopicMode => &["topic_mode"],
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.json_key(), self.data_attribute())
    }
}

/// Why the configuration cannot be used; always names the setting.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required setting has no value anywhere.
    #[error("the setting {0} is missing: set it in config.json or on the mount element")]
    Missing(Setting),
    /// A setting has a value that cannot be used.
    #[error("the setting {setting} is invalid ({value:?}): {reason}")]
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
            ConfigError::Missing(s) | ConfigError::Invalid { setting: s, .. } => Some(*s),
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

/// MQTT protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MqttVersion {
    /// MQTT 5 (falls back to 3.1.1 if the broker refuses it).
    V5,
    /// MQTT 3.1.1.
    V311,
}

/// Quality of service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Qos {
    /// At most once.
    AtMostOnce,
    /// At least once (duplicates are dropped by message id).
    AtLeastOnce,
    /// Exactly once.
    ExactlyOnce,
}

/// Raw values as found, before validation; `None` where a source says nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawConfig {
    values: [Option<String>; 9],
}

impl RawConfig {
    /// The value for `setting`, if any.
    pub fn get(&self, setting: Setting) -> Option<&str> {
        self.values[setting.index()].as_deref()
    }

    /// Sets `setting` (blank values count as unset).
    pub fn set(&mut self, setting: Setting, value: impl Into<String>) {
        let value = value.into();
        self.values[setting.index()] = if value.trim().is_empty() {
            None
        } else {
            Some(value)
        };
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

    /// Parses `config.json`: an object whose keys are the settings' JSON keys; strings, numbers
    /// and `null` accepted, unknown keys ignored.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
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

/// Validated configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Token endpoint URL (absolute, or relative to the page).
    pub token_url: String,
    /// Refresh endpoint URL.
    pub refresh_url: String,
    /// Broker WebSocket URL; empty when the site configured none, and then the token response
    /// must name the broker (its `brokerUrl` wins over this one anyway).
    pub broker_url: String,
    /// Room name.
    pub room: String,
    /// MQTT version.
    pub mqtt_version: MqttVersion,
    /// QoS.
    pub qos: Qos,
    /// Longest message, in characters.
    pub max_message_length: usize,
    /// Display name, if the site gives one (else the token endpoint's user name is used).
    pub user_name: Option<String>,
    /// How the room's topics are used: per-author (verified authors, the default) or shared.
    pub topic_mode: TopicMode,
}

impl Config {
    /// Validates `raw`, with `room_override` (from `?room=`) winning over any configured room.
    pub fn resolve(raw: &RawConfig, room_override: Option<&str>) -> Result<Self, ConfigError> {
        let broker_url = match raw.get(Setting::BrokerUrl) {
            Some(url) => validate_broker_url(url.trim())?,
            None => String::new(),
        };
        let token_url = raw
            .get(Setting::TokenUrl)
            .unwrap_or(DEFAULT_TOKEN_URL)
            .trim();
        validate_http_url(Setting::TokenUrl, token_url)?;
        let refresh_url = match raw.get(Setting::RefreshUrl) {
            Some(url) => url.trim().to_owned(),
            None => format!("{}/refresh", token_url.trim_end_matches('/')),
        };
        validate_http_url(Setting::RefreshUrl, &refresh_url)?;
        let room = room_override
            .filter(|r| !r.is_empty())
            .or(raw.get(Setting::Room))
            .unwrap_or(DEFAULT_ROOM);
        validate_room(room)?;
        let mqtt_version = match raw.get(Setting::MqttVersion).map(str::trim) {
            None | Some("5" | "5.0") => MqttVersion::V5,
            Some("3.1.1" | "311" | "4") => MqttVersion::V311,
            Some(other) => {
                return Err(ConfigError::invalid(
                    Setting::MqttVersion,
                    other,
                    "must be 5 or 3.1.1",
                ))
            }
        };
        let qos = match raw.get(Setting::Qos).map(str::trim) {
            Some("0") => Qos::AtMostOnce,
            None | Some("1") => Qos::AtLeastOnce,
            Some("2") => Qos::ExactlyOnce,
            Some(other) => {
                return Err(ConfigError::invalid(
                    Setting::Qos,
                    other,
                    "must be 0, 1 or 2",
                ))
            }
        };
        let max_message_length = match raw.get(Setting::MaxMessageLength) {
            None => DEFAULT_MAX_MESSAGE_LENGTH,
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if (1..=MAX_MAX_MESSAGE_LENGTH).contains(&n) => n,
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
            None => None,
            Some(name) if name.chars().count() <= 64 && !name.chars().any(char::is_control) => {
                Some(name.to_owned())
            }
            Some(name) => {
                return Err(ConfigError::invalid(
                    Setting::UserName,
                    name,
                    "must be at most 64 characters, without control characters",
                ))
            }
        };
        let topic_mode = match raw.get(Setting::TopicMode).map(str::trim) {
            None | Some("per-author") => TopicMode::PerAuthor,
            Some("shared") => TopicMode::Shared,
            Some(other) => {
                return Err(ConfigError::invalid(
                    Setting::TopicMode,
                    other,
                    "must be per-author or shared",
                ))
            }
        };
        Ok(Config {
            token_url: token_url.to_owned(),
            refresh_url,
            broker_url,
            room: room.to_owned(),
            mqtt_version,
            qos,
            max_message_length,
            user_name,
            topic_mode,
        })
    }
}

/// Whether `room` is a valid room name: `[A-Za-z0-9_-]{1,64}`.
pub fn is_valid_room(room: &str) -> bool {
    (1..=64).contains(&room.len())
        && room
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn validate_room(room: &str) -> Result<(), ConfigError> {
    if is_valid_room(room) {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            Setting::Room,
            room,
            "must be 1 to 64 letters, digits, '_' or '-'",
        ))
    }
}

/// The scheme and host of an absolute URL (`scheme://[userinfo@]host[:port]/...`), lowercased.
fn scheme_and_host(url: &str) -> Option<(String, String, bool)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let has_userinfo = authority.contains('@');
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        format!("[{}]", v6.split(']').next()?)
    } else {
        host_port.split(':').next().unwrap_or("").to_owned()
    };
    Some((
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase(),
        has_userinfo,
    ))
}

/// Whether `host` (as written in a URL) is this machine: 127.0.0.0/8, `localhost` or `[::1]`.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse::<Ipv6Addr>().is_ok_and(|a| a.is_loopback());
    }
    host.parse::<Ipv4Addr>().is_ok_and(|a| a.is_loopback())
}

fn validate_broker_url(url: &str) -> Result<String, ConfigError> {
    let bad = |reason: &str| ConfigError::invalid(Setting::BrokerUrl, url, reason);
    let (scheme, host, userinfo) =
        scheme_and_host(url).ok_or_else(|| bad("must be an absolute wss:// URL"))?;
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(bad("has no host"));
    }
    if userinfo {
        return Err(bad("must not carry a user name or password"));
    }
    match scheme.as_str() {
        "wss" => Ok(url.to_owned()),
        "ws" if is_loopback_host(&host) => Ok(url.to_owned()),
        "ws" => Err(bad(
            "must use wss:// (plain ws:// is only allowed to this machine)",
        )),
        _ => Err(bad("must be a wss:// URL")),
    }
}

fn validate_http_url(setting: Setting, url: &str) -> Result<(), ConfigError> {
    let bad = |reason: &str| ConfigError::invalid(setting, url, reason);
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("must not contain spaces or control characters"));
    }
    // Browsers read `\` as `/` in http(s) URLs: `/\evil.example` would leave the origin.
    if url.contains('\\') {
        return Err(bad("must not contain a backslash"));
    }
    if url.starts_with("//") {
        return Err(bad("must be a path or an https:// URL"));
    }
    let scheme_end = url.find(':');
    let path_end = url.find(['/', '?', '#']).unwrap_or(url.len());
    if scheme_end.is_none_or(|colon| colon > path_end) {
        // A path (no scheme before the first `/`), resolved against the page: same origin.
        return Ok(());
    }
    let Some((scheme, host, userinfo)) = scheme_and_host(url) else {
        // `data:`, `javascript:`, `blob:` and other schemes without an authority.
        return Err(bad("must be a path or an https:// URL"));
    };
    if userinfo {
        return Err(bad("must not carry a user name or password"));
    }
    match scheme.as_str() {
        "https" if !host.is_empty() => Ok(()),
        "http" if is_loopback_host(&host) => Ok(()),
        "http" => Err(bad(
            "must use https:// (plain http:// is only allowed to this machine)",
        )),
        _ => Err(bad("must be a path or an https:// URL")),
    }
}

/// The `room` parameter of a URL query string (`?a=b&room=x`), percent-decoded.
pub fn room_from_query(search: &str) -> Option<String> {
    search
        .trim_start_matches('?')
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| *k == "room")
        .map(|(_, v)| percent_decode(v))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(Setting, &str)]) -> RawConfig {
        let mut r = RawConfig::default();
        for (s, v) in pairs {
            r.set(*s, *v);
        }
        r
    }

    fn minimal() -> RawConfig {
        raw(&[(Setting::BrokerUrl, "wss://broker.example.com/mqtt")])
    }

    fn invalid_setting(r: &RawConfig) -> Setting {
        match Config::resolve(r, None) {
            Err(ConfigError::Invalid { setting, .. }) => setting,
            other => panic!("expected an invalid setting, got {other:?}"),
        }
    }

    #[test]
    fn defaults_fill_everything_but_the_broker() {
        let c = Config::resolve(&minimal(), None).expect("valid");
        assert_eq!(c.token_url, "/api/mqtt-token");
        assert_eq!(c.refresh_url, "/api/mqtt-token/refresh");
        assert_eq!(c.room, "lobby");
        assert_eq!((c.mqtt_version, c.qos), (MqttVersion::V5, Qos::AtLeastOnce));
        assert_eq!(c.max_message_length, 500);
        assert_eq!(c.user_name, None);
    }

    #[test]
    fn without_a_broker_url_the_token_response_must_name_one() {
        let c = Config::resolve(&RawConfig::default(), None).expect("valid");
        assert_eq!(c.broker_url, "");
        let e = ConfigError::Missing(Setting::BrokerUrl);
        assert!(e.to_string().contains("brokerUrl (data-broker-url)"));
    }

    #[test]
    fn plain_ws_is_allowed_only_to_loopback_hosts() {
        for ok in [
            "ws://127.0.0.1:8083/mqtt",
            "ws://127.8.9.10/",
            "ws://localhost:1/",
            "WS://LOCALHOST/",
            "ws://[::1]:8083",
            "wss://chat.example.com/mqtt",
        ] {
            let r = raw(&[(Setting::BrokerUrl, ok)]);
            assert!(Config::resolve(&r, None).is_ok(), "{ok}");
        }
        for bad in [
            "ws://example.com/mqtt",
            "ws://128.0.0.1/",
            "ws://[::2]/",
            "ws://127.0.0.1.evil.com/",
            "ws://localhost@evil.com/",
            "https://broker.example.com",
            "broker.example.com",
            "wss://",
        ] {
            assert_eq!(
                invalid_setting(&raw(&[(Setting::BrokerUrl, bad)])),
                Setting::BrokerUrl,
                "{bad}"
            );
        }
    }

    #[test]
    fn rooms_must_match_the_allowed_pattern() {
        for ok in ["a", "lobby", "Room_1-b", &"x".repeat(64)] {
            assert!(is_valid_room(ok), "{ok}");
        }
        for bad in ["", "a b", "a/b", "#", "+", "é", &"x".repeat(65)] {
            let r = minimal().overlaid_with(&raw(&[(Setting::Room, "ok")]));
            let e = Config::resolve(&r, Some(bad));
            if bad.is_empty() {
                assert!(e.is_ok(), "an empty ?room= is ignored");
            } else {
                assert_eq!(e.unwrap_err().setting(), Some(Setting::Room), "{bad}");
            }
        }
    }

    #[test]
    fn the_page_urls_room_wins_over_configuration() {
        let r = minimal().overlaid_with(&raw(&[(Setting::Room, "general")]));
        assert_eq!(
            Config::resolve(&r, Some("support")).expect("valid").room,
            "support"
        );
        assert_eq!(Config::resolve(&r, None).expect("valid").room, "general");
    }

    #[test]
    fn attributes_override_the_file() {
        let file = RawConfig::from_json(
            r#"{"brokerUrl":"wss://a.example/","room":"file","qos":0,"maxMessageLength":200}"#,
        )
        .expect("valid json");
        let attrs = RawConfig::from_attributes(|name| match name {
            "data-room" => Some("attr".into()),
            "data-qos" => Some("2".into()),
            _ => None,
        });
        let c = Config::resolve(&file.overlaid_with(&attrs), None).expect("valid");
        assert_eq!(
            (c.room.as_str(), c.qos, c.max_message_length),
            ("attr", Qos::ExactlyOnce, 200)
        );
        assert_eq!(c.broker_url, "wss://a.example/");
    }

    #[test]
    fn the_file_accepts_snake_case_keys_and_ignores_unknown_ones() {
        let r = RawConfig::from_json(r#"{"broker_url":"wss://b/","extra":[1],"token_url":null}"#)
            .expect("valid");
        assert_eq!(r.get(Setting::BrokerUrl), Some("wss://b/"));
        assert_eq!(r.get(Setting::TokenUrl), None);
    }

    #[test]
    fn a_malformed_file_is_refused() {
        assert!(RawConfig::from_json("not json").is_err());
        assert!(RawConfig::from_json("[]").is_err());
        assert!(RawConfig::from_json(r#"{"room":{"a":1}}"#).is_err());
    }

    #[test]
    fn version_qos_and_length_are_checked_and_named() {
        let with = |s, v| minimal().overlaid_with(&raw(&[(s, v)]));
        assert_eq!(
            Config::resolve(&with(Setting::MqttVersion, "3.1.1"), None)
                .unwrap()
                .mqtt_version,
            MqttVersion::V311
        );
        assert_eq!(
            invalid_setting(&with(Setting::MqttVersion, "4.5")),
            Setting::MqttVersion
        );
        assert_eq!(invalid_setting(&with(Setting::Qos, "3")), Setting::Qos);
        assert_eq!(
            invalid_setting(&with(Setting::MaxMessageLength, "0")),
            Setting::MaxMessageLength
        );
        assert_eq!(
            invalid_setting(&with(Setting::MaxMessageLength, "lots")),
            Setting::MaxMessageLength
        );
        assert_eq!(
            invalid_setting(&with(Setting::MaxMessageLength, "10001")),
            Setting::MaxMessageLength
        );
        assert_eq!(
            invalid_setting(&with(Setting::UserName, &"n".repeat(65))),
            Setting::UserName
        );
    }

    #[test]
    fn token_urls_are_paths_or_https_except_to_loopback() {
        let with = |s, v| minimal().overlaid_with(&raw(&[(s, v)]));
        for ok in [
            "/api/t",
            "api/t",
            "https://site.example/api/t",
            "http://127.0.0.1:8080/api/t",
        ] {
            assert!(
                Config::resolve(&with(Setting::TokenUrl, ok), None).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "http://site.example/t",
            "//site.example/t",
            "javascript:alert(1)//x://",
            "javascript:alert(1)",
            "data:application/json,{}",
            "blob:https://site.example/1",
            "/\\evil.example/t",
            "\\\\evil.example/t",
            "/api\ttoken",
            "ftp://x/",
        ] {
            assert_eq!(
                invalid_setting(&with(Setting::TokenUrl, bad)),
                Setting::TokenUrl,
                "{bad}"
            );
        }
        assert_eq!(
            invalid_setting(&with(Setting::RefreshUrl, "http://x.example/r")),
            Setting::RefreshUrl
        );
    }

    #[test]
    fn the_topic_mode_is_per_author_unless_the_site_says_shared() {
        let with = |v| minimal().overlaid_with(&raw(&[(Setting::TopicMode, v)]));
        let mode = |r: &RawConfig| Config::resolve(r, None).map(|c| c.topic_mode);
        assert_eq!(mode(&minimal()), Ok(TopicMode::PerAuthor));
        assert_eq!(mode(&with("shared")), Ok(TopicMode::Shared));
        assert_eq!(mode(&with("per-author")), Ok(TopicMode::PerAuthor));
        assert_eq!(invalid_setting(&with("authors")), Setting::TopicMode);
        let file = RawConfig::from_json(r#"{"topicMode":"shared"}"#).expect("json");
        assert_eq!(file.get(Setting::TopicMode), Some("shared"));
    }

    #[test]
    fn the_refresh_url_follows_a_custom_token_url() {
        let r = minimal().overlaid_with(&raw(&[(Setting::TokenUrl, "https://h.example/t/")]));
        assert_eq!(
            Config::resolve(&r, None).unwrap().refresh_url,
            "https://h.example/t/refresh"
        );
    }

    #[test]
    fn the_room_is_read_from_the_query_string() {
        assert_eq!(room_from_query("?room=abc"), Some("abc".into()));
        assert_eq!(room_from_query("?x=1&room=a%2Fb"), Some("a/b".into()));
        assert_eq!(room_from_query("?rooms=1"), None);
        assert_eq!(room_from_query(""), None);
    }
}
