//! The hook's options and how they become a driver configuration.

use std::time::Duration;

use mqtt_browser::{
    DeliveryStatus, DriverConfig, DroppedMessage, LastWill, ProtocolVersion, PublishId, QoS,
};
use yew::Callback;

use crate::message::MqttMessage;

/// Options of [`use_mqtt`](crate::use_mqtt). Start from `Default`; set `broker_url` unless the
/// token endpoint names the broker.
#[derive(Clone, PartialEq)]
pub struct UseMqttOptions {
    /// Token endpoint, POSTed with the page's cookies. Default `/api/mqtt-token`.
    pub token_url: String,
    /// Refresh endpoint (`{ tokenId, password }`). Default `/api/mqtt-token/refresh`.
    pub refresh_url: String,
    /// Broker WebSocket URL (`ws://` or `wss://`), used unless the token response names the
    /// broker (`brokerUrl`, validated, wins). Empty by default: then every token response must
    /// name it, and one that does not stops the client with a "no broker" reason.
    pub broker_url: String,
    /// More WebSocket URLs of the same broker cluster: with `broker_url` one list, shuffled
    /// per hook and tried in turn after each failed or lost link (a token's `brokerUrl` still
    /// wins). Default none.
    pub broker_urls: Vec<String>,
    /// Client id prefix; a random suffix is added per mounted hook (per group of tabs with
    /// `share_tabs`). Default `livechat-`.
    pub client_id_prefix: String,
    /// Share one broker connection among the browser's tabs of this origin that use the same
    /// token endpoint and broker URL: one tab (elected with a Web Lock) holds the connection
    /// and the token lifecycle, the others go through it, and another takes over when it
    /// closes. Falls back to one connection per hook where the browser lacks Web Locks or
    /// `BroadcastChannel`. See `mqtt_browser::DriverConfig::share_tabs`. Default `false`.
    pub share_tabs: bool,
    /// MQTT version to try first. Default 5; falls back to 3.1.1 when the broker refuses 5
    /// (or closes the socket without a CONNACK, as RabbitMQ 3.10 does).
    pub protocol: ProtocolVersion,
    /// Keep-alive in seconds. Default 30.
    pub keep_alive_secs: u16,
    /// QoS of subscriptions made by the hook and of
    /// [`publish_json`](crate::UseMqttHandle::publish_json).
    /// Default at-least-once.
    pub default_qos: QoS,
    /// Commands held while disconnected before publishing fails with a full queue. Default 256.
    pub queue_limit: usize,
    /// Maximum Packet Size in bytes (default 65 536): announced to an MQTT 5 broker; a publish
    /// above it (or above the broker's own limit) is refused with "message too large"; an
    /// incoming message above it is skipped and reported to `on_dropped`.
    pub maximum_packet_size: u32,
    /// The Will the broker publishes when the connection ends without a DISCONNECT (and, on
    /// MQTT 5, on a graceful stop: DISCONNECT 0x04). Carried in every CONNECT, so a takeover
    /// keeps it armed; on MQTT 5 its `delay_interval` (Will Delay Interval) lets a reconnect
    /// within the delay cancel it. Default none.
    pub will: Option<LastWill>,
    /// Filters to be subscribed to: applied once connected and restored after reconnects.
    /// Changing the list subscribes the added filters and unsubscribes the removed ones.
    /// Default none.
    pub subscriptions: Vec<String>,
    /// Called with every message. The latest closure passed is always the one called.
    pub on_message: Callback<MqttMessage>,
    /// Called with each publish's delivery progress. The latest closure is always called.
    pub on_delivery: Callback<(PublishId, DeliveryStatus)>,
    /// Called when an incoming message was skipped for being above `maximum_packet_size`
    /// (its `Display`: `dropped oversized message on <topic> (N bytes, ...)`). The latest
    /// closure is always called.
    pub on_dropped: Callback<DroppedMessage>,
}

impl Default for UseMqttOptions {
    /// The driver's defaults ([`DriverConfig::new`]), and at-least-once.
    fn default() -> Self {
        let DriverConfig {
            token_url,
            refresh_url,
            client_id_prefix,
            share_tabs,
            supervisor,
        } = DriverConfig::new("");
        let session = supervisor.session;
        Self {
            token_url,
            refresh_url,
            broker_url: supervisor.broker_url,
            broker_urls: supervisor.broker_urls,
            client_id_prefix,
            share_tabs,
            protocol: session.protocol,
            keep_alive_secs: u16::try_from(session.keep_alive.as_secs()).unwrap_or(u16::MAX),
            default_qos: QoS::AtLeastOnce,
            queue_limit: session.queue_limit,
            maximum_packet_size: session.maximum_packet_size,
            will: session.will,
            subscriptions: Vec::new(),
            on_message: Callback::noop(),
            on_delivery: Callback::noop(),
            on_dropped: Callback::noop(),
        }
    }
}

/// The options that need a new connection when they change. Subscriptions, the default QoS
/// and the callbacks are applied to the running client instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionKey {
    /// See [`UseMqttOptions::token_url`].
    pub token_url: String,
    /// See [`UseMqttOptions::refresh_url`].
    pub refresh_url: String,
    /// See [`UseMqttOptions::broker_url`].
    pub broker_url: String,
    /// See [`UseMqttOptions::broker_urls`].
    pub broker_urls: Vec<String>,
    /// See [`UseMqttOptions::client_id_prefix`].
    pub client_id_prefix: String,
    /// See [`UseMqttOptions::share_tabs`].
    pub share_tabs: bool,
    /// See [`UseMqttOptions::protocol`].
    pub protocol: ProtocolVersion,
    /// See [`UseMqttOptions::keep_alive_secs`].
    pub keep_alive_secs: u16,
    /// See [`UseMqttOptions::queue_limit`].
    pub queue_limit: usize,
    /// See [`UseMqttOptions::maximum_packet_size`].
    pub maximum_packet_size: u32,
    /// See [`UseMqttOptions::will`].
    pub will: Option<LastWill>,
}

impl From<&UseMqttOptions> for ConnectionKey {
    fn from(o: &UseMqttOptions) -> Self {
        Self {
            token_url: o.token_url.clone(),
            refresh_url: o.refresh_url.clone(),
            broker_url: o.broker_url.clone(),
            broker_urls: o.broker_urls.clone(),
            client_id_prefix: o.client_id_prefix.clone(),
            share_tabs: o.share_tabs,
            protocol: o.protocol,
            keep_alive_secs: o.keep_alive_secs,
            queue_limit: o.queue_limit,
            maximum_packet_size: o.maximum_packet_size,
            will: o.will.clone(),
        }
    }
}

impl ConnectionKey {
    /// The driver configuration (the driver adds a random suffix to the client id prefix).
    pub fn driver_config(&self) -> DriverConfig {
        let mut config = DriverConfig::new(self.broker_url.clone());
        config.supervisor.broker_urls.clone_from(&self.broker_urls);
        config.token_url.clone_from(&self.token_url);
        config.refresh_url.clone_from(&self.refresh_url);
        config.client_id_prefix.clone_from(&self.client_id_prefix);
        config.share_tabs = self.share_tabs;
        let session = &mut config.supervisor.session;
        session.protocol = self.protocol;
        session.keep_alive = Duration::from_secs(u64::from(self.keep_alive_secs));
        session.queue_limit = self.queue_limit;
        session.maximum_packet_size = self.maximum_packet_size;
        session.will.clone_from(&self.will);
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_documented_ones() {
        let o = UseMqttOptions::default();
        assert_eq!(o.token_url, "/api/mqtt-token");
        assert_eq!(o.refresh_url, "/api/mqtt-token/refresh");
        assert_eq!(o.client_id_prefix, "livechat-");
        assert_eq!(o.protocol, ProtocolVersion::V5);
        assert_eq!(o.keep_alive_secs, 30);
        assert_eq!(o.default_qos, QoS::AtLeastOnce);
        assert_eq!(o.queue_limit, 256);
        assert_eq!(o.maximum_packet_size, 65_536);
        assert!(o.subscriptions.is_empty());
        assert_eq!(o.will, None);
        assert!(!o.share_tabs);
    }

    #[test]
    fn sharing_tabs_is_part_of_the_connection_and_reaches_the_driver() {
        let a = UseMqttOptions::default();
        let b = UseMqttOptions {
            share_tabs: true,
            ..a.clone()
        };
        assert_ne!(ConnectionKey::from(&a), ConnectionKey::from(&b));
        assert!(ConnectionKey::from(&b).driver_config().share_tabs);
    }

    #[test]
    fn the_will_is_part_of_the_connection_and_reaches_the_session() {
        let a = UseMqttOptions::default();
        let will = LastWill {
            topic: "chat/lobby/presence/alice/00ff".into(),
            retain: true,
            qos: QoS::AtLeastOnce,
            delay_interval: Some(15),
            ..LastWill::default()
        };
        let b = UseMqttOptions {
            will: Some(will.clone()),
            ..a.clone()
        };
        assert_ne!(ConnectionKey::from(&a), ConnectionKey::from(&b));
        let config = ConnectionKey::from(&b).driver_config();
        assert_eq!(config.supervisor.session.will, Some(will));
    }

    #[test]
    fn changing_only_subscriptions_or_callbacks_keeps_the_connection() {
        let a = UseMqttOptions {
            broker_url: "ws://127.0.0.1:1/mqtt".into(),
            ..Default::default()
        };
        let b = UseMqttOptions {
            subscriptions: vec!["chat/lobby/messages".into()],
            default_qos: QoS::AtMostOnce,
            on_message: Callback::from(|_| ()),
            on_dropped: Callback::from(|_| ()),
            ..a.clone()
        };
        assert_eq!(ConnectionKey::from(&a), ConnectionKey::from(&b));
        let c = UseMqttOptions {
            keep_alive_secs: 10,
            ..a.clone()
        };
        assert_ne!(ConnectionKey::from(&a), ConnectionKey::from(&c));
        let d = UseMqttOptions {
            maximum_packet_size: 1024,
            ..a.clone()
        };
        assert_ne!(ConnectionKey::from(&a), ConnectionKey::from(&d));
    }

    #[test]
    fn an_empty_broker_url_is_allowed_the_token_then_names_the_broker() {
        let config = ConnectionKey::from(&UseMqttOptions::default()).driver_config();
        assert_eq!(config.supervisor.broker_url, "");
    }

    #[test]
    fn the_driver_config_carries_the_options_into_the_session() {
        let key = ConnectionKey::from(&UseMqttOptions {
            broker_url: "ws://127.0.0.1:1/mqtt".into(),
            keep_alive_secs: 12,
            queue_limit: 9,
            maximum_packet_size: 4096,
            protocol: ProtocolVersion::V311,
            ..Default::default()
        });
        let config = key.driver_config();
        assert_eq!(config.supervisor.broker_url, "ws://127.0.0.1:1/mqtt");
        assert!(config.supervisor.broker_urls.is_empty());
        let list = vec!["ws://127.0.0.1:2/mqtt".to_owned()];
        let listed = ConnectionKey::from(&UseMqttOptions {
            broker_urls: list.clone(),
            ..Default::default()
        })
        .driver_config();
        assert_eq!(listed.supervisor.broker_urls, list);
        assert_eq!(config.client_id_prefix, "livechat-");
        assert_eq!(
            config.supervisor.session.keep_alive,
            Duration::from_secs(12)
        );
        assert_eq!(config.supervisor.session.queue_limit, 9);
        assert_eq!(config.supervisor.session.maximum_packet_size, 4096);
        assert_eq!(config.supervisor.session.protocol, ProtocolVersion::V311);
        assert_eq!(config.token_url, "/api/mqtt-token");
    }
}
