//! The few settings the bare client reads from `/config.json`: the app's keys and aliases
//! (docs/configuration.md) for the broker, the token endpoints and the MQTT version. Room, QoS
//! and the rest are the harness's business. Pure, so it is tested natively.

use mqtt_browser::ProtocolVersion;
use serde_json::{Map, Value};

/// The app's default token endpoint (same origin as the page).
pub const DEFAULT_TOKEN_URL: &str = "/api/mqtt-token";

/// What the bare client needs to connect like the app does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BareConfig {
    /// Broker WebSocket URL (`brokerUrl`, or `broker_url`, `brokerWsUrl`, `broker_ws_url`).
    pub broker_url: String,
    /// Token endpoint (`tokenUrl` / `token_url`; default [`DEFAULT_TOKEN_URL`]).
    pub token_url: String,
    /// Refresh endpoint (`refreshUrl` / `refresh_url`; default the token URL + `/refresh`).
    pub refresh_url: String,
    /// MQTT version to try first (`mqttVersion` / `mqtt_version`; default 5, as in the app).
    pub protocol: ProtocolVersion,
}

/// The first of `keys` with a non-blank string or number value.
fn setting(map: &Map<String, Value>, keys: &[&str]) -> Result<Option<String>, String> {
    for key in keys {
        match map.get(*key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.trim().is_empty() => {}
            Some(Value::String(s)) => return Ok(Some(s.trim().to_owned())),
            Some(Value::Number(n)) => return Ok(Some(n.to_string())),
            Some(other) => {
                return Err(format!("`{key}` must be a string or a number, not {other}"))
            }
        }
    }
    Ok(None)
}

impl BareConfig {
    /// Parses the text of `config.json`; the error says which key is wrong or missing.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let Value::Object(map) = value else {
            return Err("expected a JSON object".to_owned());
        };
        let broker_url = setting(
            &map,
            &["brokerUrl", "broker_url", "brokerWsUrl", "broker_ws_url"],
        )?
        .ok_or("`brokerUrl` is missing")?;
        let token_url = setting(&map, &["tokenUrl", "token_url"])?
            .unwrap_or_else(|| DEFAULT_TOKEN_URL.to_owned());
        let refresh_url = setting(&map, &["refreshUrl", "refresh_url"])?
            .unwrap_or_else(|| format!("{}/refresh", token_url.trim_end_matches('/')));
        let protocol = match setting(&map, &["mqttVersion", "mqtt_version"])?.as_deref() {
            None | Some("5" | "5.0") => ProtocolVersion::V5,
            Some("3.1.1" | "311" | "4") => ProtocolVersion::V311,
            Some(other) => return Err(format!("`mqttVersion` must be 5 or 3.1.1, not {other:?}")),
        };
        Ok(Self {
            broker_url,
            token_url,
            refresh_url,
            protocol,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dev_stacks_file_gives_every_url() {
        let config = BareConfig::from_json(
            r#"{"brokerUrl":"ws://127.0.0.1:9001/mqtt","tokenUrl":"/api/mqtt-token",
                "refreshUrl":"/api/mqtt-token/refresh"}"#,
        )
        .unwrap();
        assert_eq!(config.broker_url, "ws://127.0.0.1:9001/mqtt");
        assert_eq!(config.token_url, "/api/mqtt-token");
        assert_eq!(config.refresh_url, "/api/mqtt-token/refresh");
        assert_eq!(config.protocol, ProtocolVersion::V5);
    }

    #[test]
    fn snake_case_keys_and_defaults_are_accepted_like_the_app() {
        let config = BareConfig::from_json(
            r#"{"broker_url":" wss://b.example/mqtt ","token_url":"/t/","mqtt_version":4}"#,
        )
        .unwrap();
        assert_eq!(config.broker_url, "wss://b.example/mqtt");
        assert_eq!(config.refresh_url, "/t/refresh");
        assert_eq!(config.protocol, ProtocolVersion::V311);
        let defaults = BareConfig::from_json(r#"{"brokerWsUrl":"ws://localhost/mqtt"}"#).unwrap();
        assert_eq!(defaults.token_url, DEFAULT_TOKEN_URL);
        assert_eq!(defaults.refresh_url, "/api/mqtt-token/refresh");
    }

    #[test]
    fn a_missing_broker_or_a_bad_version_is_named() {
        let missing = BareConfig::from_json(r#"{"brokerUrl":"  ","tokenUrl":"/t"}"#).unwrap_err();
        assert!(missing.contains("brokerUrl"), "{missing}");
        let version =
            BareConfig::from_json(r#"{"brokerUrl":"ws://localhost/m","mqttVersion":"6"}"#)
                .unwrap_err();
        assert!(version.contains("mqttVersion"), "{version}");
        let not_object = BareConfig::from_json("[1]").unwrap_err();
        assert!(not_object.contains("object"), "{not_object}");
        let wrong_type = BareConfig::from_json(r#"{"brokerUrl":true}"#).unwrap_err();
        assert!(wrong_type.contains("brokerUrl"), "{wrong_type}");
    }
}
