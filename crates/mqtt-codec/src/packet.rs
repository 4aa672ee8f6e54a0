//! The packet model the rest of the project speaks.
//!
//! These are our own types: the codec crate's types never leave [`crate::adapter`]. Every MQTT 5
//! property and reason code a client can meet is a typed field here; for MQTT 3.1.1 the v5-only
//! fields are simply left at their defaults when encoding and are `None`/empty when decoding.

/// Protocol version spoken on a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolVersion {
    /// MQTT 3.1.1 (protocol level 4).
    V311,
    /// MQTT 5.0 (protocol level 5).
    V5,
}

/// Quality of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum QoS {
    /// At most once.
    #[default]
    AtMostOnce = 0,
    /// At least once.
    AtLeastOnce = 1,
    /// Exactly once.
    ExactlyOnce = 2,
}

/// A user property (v5): an ordered name/value pair; names may repeat.
pub type UserProperty = (String, String);

/// The Will message carried in CONNECT.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LastWill {
    /// Topic the will is published to.
    pub topic: String,
    /// Will payload.
    pub payload: Vec<u8>,
    /// Will QoS.
    pub qos: QoS,
    /// Will retain flag.
    pub retain: bool,
    /// v5 Will Delay Interval, seconds.
    pub delay_interval: Option<u32>,
    /// v5 Payload Format Indicator (true = UTF-8).
    pub payload_format_utf8: Option<bool>,
    /// v5 Message Expiry Interval, seconds.
    pub message_expiry_interval: Option<u32>,
    /// v5 Content Type.
    pub content_type: Option<String>,
    /// v5 Response Topic.
    pub response_topic: Option<String>,
    /// v5 Correlation Data.
    pub correlation_data: Option<Vec<u8>>,
    /// v5 User Properties.
    pub user_properties: Vec<UserProperty>,
}

/// CONNECT (client → server). Its `Debug` never shows the password or authentication data.
#[derive(Clone, PartialEq, Eq)]
pub struct Connect {
    /// Protocol version to speak.
    pub protocol: ProtocolVersion,
    /// Client identifier.
    pub client_id: String,
    /// Clean Start (v5) / Clean Session (3.1.1).
    pub clean_start: bool,
    /// Keep Alive in seconds (0 = off).
    pub keep_alive: u16,
    /// User name.
    pub username: Option<String>,
    /// Password.
    pub password: Option<Vec<u8>>,
    /// Will message.
    pub will: Option<LastWill>,
    /// v5 Session Expiry Interval, seconds.
    pub session_expiry_interval: Option<u32>,
    /// v5 Receive Maximum.
    pub receive_maximum: Option<u16>,
    /// v5 Maximum Packet Size.
    pub maximum_packet_size: Option<u32>,
    /// v5 Topic Alias Maximum.
    pub topic_alias_maximum: Option<u16>,
    /// v5 Request Response Information.
    pub request_response_information: Option<bool>,
    /// v5 Request Problem Information.
    pub request_problem_information: Option<bool>,
    /// v5 Authentication Method.
    pub authentication_method: Option<String>,
    /// v5 Authentication Data.
    pub authentication_data: Option<Vec<u8>>,
    /// v5 User Properties.
    pub user_properties: Vec<UserProperty>,
}

/// CONNACK (server → client). Its `Debug` never shows the authentication data.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ConnAck {
    /// Session Present flag.
    pub session_present: bool,
    /// Reason code (v5) or return code (3.1.1) as sent on the wire; see [`ConnectReason`](crate::ConnectReason).
    pub code: u8,
    /// v5 Session Expiry Interval.
    pub session_expiry_interval: Option<u32>,
    /// v5 Receive Maximum.
    pub receive_maximum: Option<u16>,
    /// v5 Maximum QoS.
    pub maximum_qos: Option<QoS>,
    /// v5 Retain Available.
    pub retain_available: Option<bool>,
    /// v5 Maximum Packet Size.
    pub maximum_packet_size: Option<u32>,
    /// v5 Assigned Client Identifier.
    pub assigned_client_identifier: Option<String>,
    /// v5 Topic Alias Maximum.
    pub topic_alias_maximum: Option<u16>,
    /// v5 Reason String.
    pub reason_string: Option<String>,
    /// v5 Wildcard Subscription Available.
    pub wildcard_subscription_available: Option<bool>,
    /// v5 Subscription Identifiers Available.
    pub subscription_identifiers_available: Option<bool>,
    /// v5 Shared Subscription Available.
    pub shared_subscription_available: Option<bool>,
    /// v5 Server Keep Alive.
    pub server_keep_alive: Option<u16>,
    /// v5 Response Information.
    pub response_information: Option<String>,
    /// v5 Server Reference.
    pub server_reference: Option<String>,
    /// v5 Authentication Method.
    pub authentication_method: Option<String>,
    /// v5 Authentication Data.
    pub authentication_data: Option<Vec<u8>>,
    /// v5 User Properties.
    pub user_properties: Vec<UserProperty>,
}

/// PUBLISH (both directions).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Publish {
    /// DUP flag.
    pub dup: bool,
    /// QoS.
    pub qos: QoS,
    /// RETAIN flag.
    pub retain: bool,
    /// Topic name; may be empty in v5 when a topic alias is used.
    pub topic: String,
    /// Packet identifier; `Some` exactly when `qos > 0`.
    pub packet_id: Option<u16>,
    /// Application payload.
    pub payload: Vec<u8>,
    /// v5 Payload Format Indicator (true = UTF-8).
    pub payload_format_utf8: Option<bool>,
    /// v5 Message Expiry Interval, seconds.
    pub message_expiry_interval: Option<u32>,
    /// v5 Topic Alias.
    pub topic_alias: Option<u16>,
    /// v5 Response Topic.
    pub response_topic: Option<String>,
    /// v5 Correlation Data.
    pub correlation_data: Option<Vec<u8>>,
    /// v5 Subscription Identifiers (server → client; may repeat).
    pub subscription_identifiers: Vec<u32>,
    /// v5 Content Type.
    pub content_type: Option<String>,
    /// v5 User Properties.
    pub user_properties: Vec<UserProperty>,
}

/// The four publish acknowledgements share one shape.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PubAckLike {
    /// Packet identifier.
    pub packet_id: u16,
    /// v5 reason code (0 = success; 3.1.1 always 0).
    pub reason: u8,
    /// v5 Reason String.
    pub reason_string: Option<String>,
    /// v5 User Properties.
    pub user_properties: Vec<UserProperty>,
}

/// Retain handling subscription option (v5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RetainHandling {
    /// Send retained messages at subscribe time.
    #[default]
    SendAtSubscribe = 0,
    /// Send retained only if the subscription is new.
    SendIfNew = 1,
    /// Never send retained messages for this subscription.
    DoNotSend = 2,
}

/// One topic filter in SUBSCRIBE with its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeFilter {
    /// Topic filter.
    pub filter: String,
    /// Maximum QoS.
    pub qos: QoS,
    /// v5 No Local.
    pub no_local: bool,
    /// v5 Retain As Published.
    pub retain_as_published: bool,
    /// v5 Retain Handling.
    pub retain_handling: RetainHandling,
}

/// SUBSCRIBE (client → server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    /// Packet identifier.
    pub packet_id: u16,
    /// Filters, at least one.
    pub filters: Vec<SubscribeFilter>,
    /// v5 Subscription Identifier.
    pub subscription_identifier: Option<u32>,
    /// v5 User Properties.
    pub user_properties: Vec<UserProperty>,
}

/// SUBACK (server → client).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubAck {
    /// Packet identifier.
    pub packet_id: u16,
    /// One code per filter, as on the wire (granted QoS 0..=2 or a failure code ≥ 0x80).
    pub codes: Vec<u8>,
    /// v5 Reason String.
    pub reason_string: Option<String>,
    /// v5 User Properties.
    pub user_properties: Vec<UserProperty>,
}

/// UNSUBSCRIBE (client → server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    /// Packet identifier.
    pub packet_id: u16,
    /// Filters, at least one.
    pub filters: Vec<String>,
    /// v5 User Properties.
    pub user_properties: Vec<UserProperty>,
}

/// UNSUBACK (server → client).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnsubAck {
    /// Packet identifier.
    pub packet_id: u16,
    /// v5: one reason code per filter; 3.1.1: empty.
    pub codes: Vec<u8>,
    /// v5 Reason String.
    pub reason_string: Option<String>,
    /// v5 User Properties.
    pub user_properties: Vec<UserProperty>,
}

/// DISCONNECT (both directions in v5; client → server only in 3.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disconnect {
    /// v5 reason code (0 = normal).
    pub reason: u8,
    /// v5 Session Expiry Interval.
    pub session_expiry_interval: Option<u32>,
    /// v5 Reason String.
    pub reason_string: Option<String>,
    /// v5 Server Reference.
    pub server_reference: Option<String>,
    /// v5 User Properties.
    pub user_properties: Vec<UserProperty>,
}

/// AUTH (v5 only, both directions). Its `Debug` never shows the authentication data.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Auth {
    /// Reason code: 0x00 success, 0x18 continue, 0x19 re-authenticate.
    pub reason: u8,
    /// Authentication Method.
    pub authentication_method: Option<String>,
    /// Authentication Data.
    pub authentication_data: Option<Vec<u8>>,
    /// Reason String.
    pub reason_string: Option<String>,
    /// User Properties.
    pub user_properties: Vec<UserProperty>,
}

/// Any packet the client sends or receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// CONNECT.
    Connect(Box<Connect>),
    /// CONNACK.
    ConnAck(Box<ConnAck>),
    /// PUBLISH.
    Publish(Box<Publish>),
    /// PUBACK.
    PubAck(PubAckLike),
    /// PUBREC.
    PubRec(PubAckLike),
    /// PUBREL.
    PubRel(PubAckLike),
    /// PUBCOMP.
    PubComp(PubAckLike),
    /// SUBSCRIBE.
    Subscribe(Subscribe),
    /// SUBACK.
    SubAck(SubAck),
    /// UNSUBSCRIBE.
    Unsubscribe(Unsubscribe),
    /// UNSUBACK.
    UnsubAck(UnsubAck),
    /// PINGREQ.
    PingReq,
    /// PINGRESP.
    PingResp,
    /// DISCONNECT.
    Disconnect(Disconnect),
    /// AUTH.
    Auth(Auth),
}

impl Packet {
    /// The packet's name as the specs write it (`"CONNACK"`, `"PUBLISH"`, ...).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Connect(_) => "CONNECT",
            Self::ConnAck(_) => "CONNACK",
            Self::Publish(_) => "PUBLISH",
            Self::PubAck(_) => "PUBACK",
            Self::PubRec(_) => "PUBREC",
            Self::PubRel(_) => "PUBREL",
            Self::PubComp(_) => "PUBCOMP",
            Self::Subscribe(_) => "SUBSCRIBE",
            Self::SubAck(_) => "SUBACK",
            Self::Unsubscribe(_) => "UNSUBSCRIBE",
            Self::UnsubAck(_) => "UNSUBACK",
            Self::PingReq => "PINGREQ",
            Self::PingResp => "PINGRESP",
            Self::Disconnect(_) => "DISCONNECT",
            Self::Auth(_) => "AUTH",
        }
    }
}

/// How a secret field appears in `Debug`: whether it is there and how long, never its bytes.
struct Redacted(usize);

impl core::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "<redacted, {} bytes>", self.0)
    }
}

fn redacted(secret: Option<&Vec<u8>>) -> Option<Redacted> {
    secret.map(|bytes| Redacted(bytes.len()))
}

impl core::fmt::Debug for Connect {
    // The password is a bearer token: never let it reach a log through `{:?}`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connect")
            .field("protocol", &self.protocol)
            .field("client_id", &self.client_id)
            .field("clean_start", &self.clean_start)
            .field("keep_alive", &self.keep_alive)
            .field("username", &self.username)
            .field("password", &redacted(self.password.as_ref()))
            .field("will", &self.will)
            .field("session_expiry_interval", &self.session_expiry_interval)
            .field("receive_maximum", &self.receive_maximum)
            .field("maximum_packet_size", &self.maximum_packet_size)
            .field("topic_alias_maximum", &self.topic_alias_maximum)
            .field(
                "request_response_information",
                &self.request_response_information,
            )
            .field(
                "request_problem_information",
                &self.request_problem_information,
            )
            .field("authentication_method", &self.authentication_method)
            .field(
                "authentication_data",
                &redacted(self.authentication_data.as_ref()),
            )
            .field("user_properties", &self.user_properties)
            .finish()
    }
}

impl core::fmt::Debug for ConnAck {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ConnAck")
            .field("session_present", &self.session_present)
            .field("code", &self.code)
            .field("session_expiry_interval", &self.session_expiry_interval)
            .field("receive_maximum", &self.receive_maximum)
            .field("maximum_qos", &self.maximum_qos)
            .field("retain_available", &self.retain_available)
            .field("maximum_packet_size", &self.maximum_packet_size)
            .field(
                "assigned_client_identifier",
                &self.assigned_client_identifier,
            )
            .field("topic_alias_maximum", &self.topic_alias_maximum)
            .field("reason_string", &self.reason_string)
            .field(
                "wildcard_subscription_available",
                &self.wildcard_subscription_available,
            )
            .field(
                "subscription_identifiers_available",
                &self.subscription_identifiers_available,
            )
            .field(
                "shared_subscription_available",
                &self.shared_subscription_available,
            )
            .field("server_keep_alive", &self.server_keep_alive)
            .field("response_information", &self.response_information)
            .field("server_reference", &self.server_reference)
            .field("authentication_method", &self.authentication_method)
            .field(
                "authentication_data",
                &redacted(self.authentication_data.as_ref()),
            )
            .field("user_properties", &self.user_properties)
            .finish()
    }
}

impl core::fmt::Debug for Auth {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Auth")
            .field("reason", &self.reason)
            .field("authentication_method", &self.authentication_method)
            .field(
                "authentication_data",
                &redacted(self.authentication_data.as_ref()),
            )
            .field("reason_string", &self.reason_string)
            .field("user_properties", &self.user_properties)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_password_or_authentication_data() {
        let connect = Packet::Connect(Box::new(Connect {
            protocol: ProtocolVersion::V5,
            client_id: "c1".into(),
            clean_start: true,
            keep_alive: 30,
            username: Some("alice".into()),
            password: Some(b"s3cret-token".to_vec()),
            will: None,
            session_expiry_interval: None,
            receive_maximum: None,
            maximum_packet_size: Some(65_536),
            topic_alias_maximum: None,
            request_response_information: None,
            request_problem_information: None,
            authentication_method: Some("m".into()),
            authentication_data: Some(b"auth-s3cret".to_vec()),
            user_properties: Vec::new(),
        }));
        let connack = Packet::ConnAck(Box::new(ConnAck {
            authentication_data: Some(b"auth-s3cret".to_vec()),
            ..ConnAck::default()
        }));
        let auth = Packet::Auth(Auth {
            authentication_data: Some(b"auth-s3cret".to_vec()),
            ..Auth::default()
        });
        for packet in [connect, connack, auth] {
            let shown = format!("{packet:?} {packet:#?}");
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(!shown.contains("115, 51"), "bytes of the secret: {shown}");
            assert!(shown.contains("redacted"), "{shown}");
        }
    }
}
