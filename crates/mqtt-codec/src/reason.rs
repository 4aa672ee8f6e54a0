//! Typed reason codes.
//!
//! Packets keep the raw byte they carried ([`ConnAck::code`], [`QosHandshake::reason`], ...); these
//! enums give it a meaning the session and the UI can match on. Each type has
//! `from_code(version, u8)`, `code()` (the MQTT 5 number), `is_error()` and `describe()`.
//!
//! MQTT 3.1.1 return codes are mapped onto the same typed outcomes as their MQTT 5 counterparts,
//! so one failure reads the same whichever version the broker speaks (CONNACK 4 and 0x86 are both
//! [`ConnectReason::BadUserNameOrPassword`]; 5 and 0x87 both [`ConnectReason::NotAuthorized`];
//! SUBACK 0x80 is [`SubscribeReason::Refused`] in both). Codes a version does not define are kept
//! as `Other(code)`.

use crate::packet::{
    Auth, ConnAck, Disconnect, ProtocolVersion, QoS, QosHandshake, SubAck, UnsubAck,
};

/// Defines a reason enum from `Variant = code => "description"` lines, plus `Other(u8)`.
macro_rules! reason_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($variant:ident = $code:literal => $desc:literal,)+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $(
                #[doc = concat!("`", stringify!($code), "`: ", $desc, ".")]
                $variant,
            )+
            /// A code this packet type does not define; kept as received.
            Other(u8),
        }

        impl $name {
            /// Every defined variant with its MQTT 5 code and description, in declaration
            /// order: one table instead of three `match`es (a smaller wasm build).
            const TABLE: &'static [(Self, u8, &'static str)] = &[$((Self::$variant, $code, $desc),)+];

            /// The table entry of a defined variant (`None` for `Other`).
            fn entry(&self) -> Option<&'static (Self, u8, &'static str)> {
                Self::TABLE.iter().find(|entry| entry.0 == *self)
            }

            /// Maps an MQTT 5 code; unknown codes become `Other`.
            fn from_v5(code: u8) -> Self {
                Self::TABLE
                    .iter()
                    .find(|entry| entry.1 == code)
                    .map_or(Self::Other(code), |entry| entry.0)
            }

            /// The MQTT 5 reason code (for `Other`, the code as received).
            #[must_use]
            pub fn code(&self) -> u8 {
                match (self, self.entry()) {
                    (_, Some(entry)) => entry.1,
                    (Self::Other(code), None) => *code,
                    // Every variant but `Other` is in the table.
                    (_, None) => 0,
                }
            }

            /// True for failures (codes 0x80 and above).
            #[must_use]
            pub fn is_error(&self) -> bool {
                self.code() >= 0x80
            }

            /// A short human description the UI can show.
            #[must_use]
            pub fn describe(&self) -> &'static str {
                match (self, self.entry()) {
                    (_, Some(entry)) => entry.2,
                    (Self::Other(code), None) if *code >= 0x80 => {
                        "refused by the server (unknown reason)"
                    }
                    _ => "unknown reason code",
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{} (0x{:02X})", self.describe(), self.code())
            }
        }
    };
}

reason_enum! {
    /// Outcome of CONNECT, from CONNACK.
    pub enum ConnectReason {
        Success = 0x00 => "connected",
        UnspecifiedError = 0x80 => "the server refused the connection",
        MalformedPacket = 0x81 => "the server could not parse the connection request",
        ProtocolError = 0x82 => "protocol error",
        ImplementationSpecificError = 0x83 => "refused by the server",
        UnsupportedProtocolVersion = 0x84 => "the server does not support this MQTT version",
        ClientIdentifierNotValid = 0x85 => "client identifier not accepted",
        BadUserNameOrPassword = 0x86 => "bad user name or password",
        NotAuthorized = 0x87 => "not authorized",
        ServerUnavailable = 0x88 => "server unavailable",
        ServerBusy = 0x89 => "server busy",
        Banned = 0x8A => "banned",
        BadAuthenticationMethod = 0x8C => "bad authentication method",
        TopicNameInvalid = 0x90 => "will topic name invalid",
        PacketTooLarge = 0x95 => "packet too large",
        QuotaExceeded = 0x97 => "quota exceeded",
        PayloadFormatInvalid = 0x99 => "will payload format invalid",
        RetainNotSupported = 0x9A => "retain not supported",
        QoSNotSupported = 0x9B => "QoS not supported",
        UseAnotherServer = 0x9C => "use another server",
        ServerMoved = 0x9D => "server moved",
        ConnectionRateExceeded = 0x9F => "connecting too often",
    }
}

impl ConnectReason {
    /// Maps a CONNACK code received on a link of `version`.
    ///
    /// 3.1.1 return codes 1–5 map onto the MQTT 5 outcomes. The same is done for codes 1–5 on a
    /// v5 link, where they are undefined: a 3.1.1-only broker answers a v5 CONNECT with a 3.1.1
    /// CONNACK (code 1, "unacceptable protocol version"), and that must read as
    /// [`ConnectReason::UnsupportedProtocolVersion`] so the client can fall back.
    #[must_use]
    pub fn from_code(version: ProtocolVersion, code: u8) -> Self {
        match (version, code) {
            (_, 0) => Self::Success,
            (_, 1) => Self::UnsupportedProtocolVersion,
            (_, 2) => Self::ClientIdentifierNotValid,
            (_, 3) => Self::ServerUnavailable,
            (_, 4) => Self::BadUserNameOrPassword,
            (_, 5) => Self::NotAuthorized,
            (ProtocolVersion::V311, other) => Self::Other(other),
            (ProtocolVersion::V5, other) => Self::from_v5(other),
        }
    }
}

reason_enum! {
    /// Outcome of one SUBSCRIBE filter, from SUBACK.
    pub enum SubscribeReason {
        GrantedQoS0 = 0x00 => "subscribed (QoS 0)",
        GrantedQoS1 = 0x01 => "subscribed (QoS 1)",
        GrantedQoS2 = 0x02 => "subscribed (QoS 2)",
        Refused = 0x80 => "subscription refused by the server",
        ImplementationSpecificError = 0x83 => "subscription refused by the server",
        NotAuthorized = 0x87 => "not authorized to subscribe",
        TopicFilterInvalid = 0x8F => "topic filter invalid",
        PacketIdentifierInUse = 0x91 => "packet identifier in use",
        QuotaExceeded = 0x97 => "quota exceeded",
        SharedSubscriptionsNotSupported = 0x9E => "shared subscriptions not supported",
        SubscriptionIdentifiersNotSupported = 0xA1 => "subscription identifiers not supported",
        WildcardSubscriptionsNotSupported = 0xA2 => "wildcard subscriptions not supported",
    }
}

impl SubscribeReason {
    /// Maps a SUBACK code received on a link of `version`. 3.1.1 defines only 0, 1, 2 and 0x80.
    #[must_use]
    pub fn from_code(version: ProtocolVersion, code: u8) -> Self {
        match version {
            ProtocolVersion::V311 if !matches!(code, 0 | 1 | 2 | 0x80) => Self::Other(code),
            _ => Self::from_v5(code),
        }
    }

    /// The QoS granted, or `None` for a failure.
    #[must_use]
    pub fn granted_qos(&self) -> Option<QoS> {
        match self {
            Self::GrantedQoS0 => Some(QoS::AtMostOnce),
            Self::GrantedQoS1 => Some(QoS::AtLeastOnce),
            Self::GrantedQoS2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }
}

reason_enum! {
    /// Outcome of one UNSUBSCRIBE filter, from a v5 UNSUBACK (3.1.1 has none: always success).
    pub enum UnsubscribeReason {
        Success = 0x00 => "unsubscribed",
        NoSubscriptionExisted = 0x11 => "there was no such subscription",
        UnspecifiedError = 0x80 => "unsubscribe refused by the server",
        ImplementationSpecificError = 0x83 => "unsubscribe refused by the server",
        NotAuthorized = 0x87 => "not authorized to unsubscribe",
        TopicFilterInvalid = 0x8F => "topic filter invalid",
        PacketIdentifierInUse = 0x91 => "packet identifier in use",
    }
}

impl UnsubscribeReason {
    /// Maps an UNSUBACK code received on a link of `version`.
    #[must_use]
    pub fn from_code(version: ProtocolVersion, code: u8) -> Self {
        match (version, code) {
            (ProtocolVersion::V311, 0) => Self::Success,
            (ProtocolVersion::V311, other) => Self::Other(other),
            (ProtocolVersion::V5, code) => Self::from_v5(code),
        }
    }
}

reason_enum! {
    /// Outcome of a QoS 1 or 2 PUBLISH, from PUBACK or PUBREC (they share their codes).
    pub enum PubAckReason {
        Success = 0x00 => "delivered to the server",
        NoMatchingSubscribers = 0x10 => "accepted, but nobody is subscribed",
        UnspecifiedError = 0x80 => "message refused by the server",
        ImplementationSpecificError = 0x83 => "message refused by the server",
        NotAuthorized = 0x87 => "not authorized to publish here",
        TopicNameInvalid = 0x90 => "topic name invalid",
        PacketIdentifierInUse = 0x91 => "packet identifier in use",
        QuotaExceeded = 0x97 => "quota exceeded",
        PayloadFormatInvalid = 0x99 => "payload format invalid",
    }
}

/// PUBREC carries the same codes as PUBACK.
pub type PubRecReason = PubAckReason;

impl PubAckReason {
    /// Maps a PUBACK/PUBREC code. 3.1.1 acks carry no code: only 0 (success) is defined.
    #[must_use]
    pub fn from_code(version: ProtocolVersion, code: u8) -> Self {
        match (version, code) {
            (ProtocolVersion::V311, 0) => Self::Success,
            (ProtocolVersion::V311, other) => Self::Other(other),
            (ProtocolVersion::V5, code) => Self::from_v5(code),
        }
    }
}

reason_enum! {
    /// Outcome of the second half of a QoS 2 exchange, from PUBREL or PUBCOMP.
    pub enum PubRelReason {
        Success = 0x00 => "delivered",
        PacketIdentifierNotFound = 0x92 => "packet identifier not found",
    }
}

/// PUBCOMP carries the same codes as PUBREL.
pub type PubCompReason = PubRelReason;

impl PubRelReason {
    /// Maps a PUBREL/PUBCOMP code. 3.1.1 acks carry no code: only 0 (success) is defined.
    #[must_use]
    pub fn from_code(version: ProtocolVersion, code: u8) -> Self {
        match (version, code) {
            (ProtocolVersion::V311, 0) => Self::Success,
            (ProtocolVersion::V311, other) => Self::Other(other),
            (ProtocolVersion::V5, code) => Self::from_v5(code),
        }
    }
}

reason_enum! {
    /// Why a connection ended, from DISCONNECT (v5; a 3.1.1 DISCONNECT is always normal).
    pub enum DisconnectReason {
        NormalDisconnection = 0x00 => "disconnected",
        DisconnectWithWillMessage = 0x04 => "disconnected, will message sent",
        UnspecifiedError = 0x80 => "disconnected by the server",
        MalformedPacket = 0x81 => "malformed packet",
        ProtocolError = 0x82 => "protocol error",
        ImplementationSpecificError = 0x83 => "disconnected by the server",
        NotAuthorized = 0x87 => "not authorized",
        ServerBusy = 0x89 => "server busy",
        ServerShuttingDown = 0x8B => "server shutting down",
        KeepAliveTimeout = 0x8D => "keep-alive timeout",
        SessionTakenOver = 0x8E => "session taken over by another connection",
        TopicFilterInvalid = 0x8F => "topic filter invalid",
        TopicNameInvalid = 0x90 => "topic name invalid",
        ReceiveMaximumExceeded = 0x93 => "receive maximum exceeded",
        TopicAliasInvalid = 0x94 => "topic alias invalid",
        PacketTooLarge = 0x95 => "packet too large",
        MessageRateTooHigh = 0x96 => "message rate too high",
        QuotaExceeded = 0x97 => "quota exceeded",
        AdministrativeAction = 0x98 => "disconnected by an administrator",
        PayloadFormatInvalid = 0x99 => "payload format invalid",
        RetainNotSupported = 0x9A => "retain not supported",
        QoSNotSupported = 0x9B => "QoS not supported",
        UseAnotherServer = 0x9C => "use another server",
        ServerMoved = 0x9D => "server moved",
        SharedSubscriptionsNotSupported = 0x9E => "shared subscriptions not supported",
        ConnectionRateExceeded = 0x9F => "connecting too often",
        MaximumConnectTime = 0xA0 => "maximum connection time reached",
        SubscriptionIdentifiersNotSupported = 0xA1 => "subscription identifiers not supported",
        WildcardSubscriptionsNotSupported = 0xA2 => "wildcard subscriptions not supported",
    }
}

impl DisconnectReason {
    /// Maps a DISCONNECT code received on a link of `version`.
    #[must_use]
    pub fn from_code(version: ProtocolVersion, code: u8) -> Self {
        match (version, code) {
            (ProtocolVersion::V311, 0) => Self::NormalDisconnection,
            (ProtocolVersion::V311, other) => Self::Other(other),
            (ProtocolVersion::V5, code) => Self::from_v5(code),
        }
    }
}

reason_enum! {
    /// AUTH reason (v5 enhanced authentication).
    pub enum AuthReason {
        Success = 0x00 => "authentication succeeded",
        ContinueAuthentication = 0x18 => "continue authentication",
        ReAuthenticate = 0x19 => "re-authenticate",
    }
}

impl AuthReason {
    /// Maps an AUTH code (AUTH exists only in MQTT 5).
    #[must_use]
    pub fn from_code(version: ProtocolVersion, code: u8) -> Self {
        match version {
            ProtocolVersion::V311 => Self::Other(code),
            ProtocolVersion::V5 => Self::from_v5(code),
        }
    }
}

impl ConnAck {
    /// The typed outcome of this CONNACK.
    #[must_use]
    pub fn reason(&self, version: ProtocolVersion) -> ConnectReason {
        ConnectReason::from_code(version, self.code)
    }
}

impl SubAck {
    /// The typed outcome of each filter, in SUBSCRIBE order.
    pub fn reasons(&self, version: ProtocolVersion) -> impl Iterator<Item = SubscribeReason> + '_ {
        self.codes
            .iter()
            .map(move |&code| SubscribeReason::from_code(version, code))
    }
}

impl UnsubAck {
    /// The typed outcome of each filter (v5); empty under 3.1.1, where success is implied.
    pub fn reasons(
        &self,
        version: ProtocolVersion,
    ) -> impl Iterator<Item = UnsubscribeReason> + '_ {
        self.codes
            .iter()
            .map(move |&code| UnsubscribeReason::from_code(version, code))
    }
}

impl QosHandshake {
    /// The code read as a PUBACK/PUBREC reason.
    #[must_use]
    pub fn puback_reason(&self, version: ProtocolVersion) -> PubAckReason {
        PubAckReason::from_code(version, self.reason)
    }

    /// The code read as a PUBREL/PUBCOMP reason.
    #[must_use]
    pub fn pubrel_reason(&self, version: ProtocolVersion) -> PubRelReason {
        PubRelReason::from_code(version, self.reason)
    }
}

impl Disconnect {
    /// The typed reason of this DISCONNECT.
    #[must_use]
    pub fn typed_reason(&self, version: ProtocolVersion) -> DisconnectReason {
        DisconnectReason::from_code(version, self.reason)
    }
}

impl Auth {
    /// The typed reason of this AUTH.
    #[must_use]
    pub fn typed_reason(&self) -> AuthReason {
        AuthReason::from_code(ProtocolVersion::V5, self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProtocolVersion::{V311, V5};

    #[test]
    fn connack_311_and_5_codes_for_the_same_failure_map_to_one_outcome() {
        assert_eq!(
            ConnectReason::from_code(V311, 4),
            ConnectReason::BadUserNameOrPassword
        );
        assert_eq!(
            ConnectReason::from_code(V5, 0x86),
            ConnectReason::BadUserNameOrPassword
        );
        assert_eq!(
            ConnectReason::from_code(V311, 5),
            ConnectReason::NotAuthorized
        );
        assert_eq!(
            ConnectReason::from_code(V5, 0x87),
            ConnectReason::NotAuthorized
        );
        assert_eq!(
            ConnectReason::from_code(V311, 1),
            ConnectReason::UnsupportedProtocolVersion
        );
        assert_eq!(
            ConnectReason::from_code(V311, 2),
            ConnectReason::ClientIdentifierNotValid
        );
        assert_eq!(
            ConnectReason::from_code(V311, 3),
            ConnectReason::ServerUnavailable
        );
        assert_eq!(ConnectReason::from_code(V311, 0), ConnectReason::Success);
    }

    #[test]
    fn unknown_codes_are_kept_and_classified_by_their_value() {
        assert_eq!(ConnectReason::from_code(V311, 9), ConnectReason::Other(9));
        assert_eq!(
            ConnectReason::from_code(V5, 0xFE),
            ConnectReason::Other(0xFE)
        );
        assert!(ConnectReason::Other(0xFE).is_error());
        assert_eq!(ConnectReason::Other(0xFE).code(), 0xFE);
        assert!(!PubAckReason::from_code(V5, 0x20).is_error());
        assert_eq!(
            PubAckReason::from_code(V311, 0x87),
            PubAckReason::Other(0x87)
        );
    }

    #[test]
    fn suback_0x80_is_a_refusal_in_both_versions_and_0x87_only_in_5() {
        for version in [V311, V5] {
            let refused = SubscribeReason::from_code(version, 0x80);
            assert_eq!(refused, SubscribeReason::Refused);
            assert!(refused.is_error());
            assert_eq!(refused.granted_qos(), None);
        }
        assert_eq!(
            SubscribeReason::from_code(V5, 0x87),
            SubscribeReason::NotAuthorized
        );
        assert_eq!(
            SubscribeReason::from_code(V311, 0x87),
            SubscribeReason::Other(0x87)
        );
        assert_eq!(
            SubscribeReason::from_code(V311, 1).granted_qos(),
            Some(QoS::AtLeastOnce)
        );
    }

    #[test]
    fn code_inverts_from_code_for_every_v5_code() {
        for code in 0..=u8::MAX {
            // 1..=5 are undefined in a v5 CONNACK and read as their 3.1.1 meaning.
            if !(1..=5).contains(&code) {
                assert_eq!(ConnectReason::from_code(V5, code).code(), code);
            }
            assert_eq!(SubscribeReason::from_code(V5, code).code(), code);
            assert_eq!(UnsubscribeReason::from_code(V5, code).code(), code);
            assert_eq!(PubAckReason::from_code(V5, code).code(), code);
            assert_eq!(PubRelReason::from_code(V5, code).code(), code);
            assert_eq!(DisconnectReason::from_code(V5, code).code(), code);
            assert_eq!(AuthReason::from_code(V5, code).code(), code);
        }
    }

    #[test]
    fn each_table_lists_every_variant_once_with_a_code_of_its_own() {
        fn check<T: PartialEq + Copy + std::fmt::Debug>(table: &[(T, u8, &str)]) {
            for (i, entry) in table.iter().enumerate() {
                for other in &table[i + 1..] {
                    assert_ne!(entry.0, other.0, "{:?} listed twice", entry.0);
                    assert_ne!(entry.1, other.1, "code {:#04x} listed twice", entry.1);
                }
            }
        }
        check(ConnectReason::TABLE);
        check(SubscribeReason::TABLE);
        check(UnsubscribeReason::TABLE);
        check(PubAckReason::TABLE);
        check(PubRelReason::TABLE);
        check(DisconnectReason::TABLE);
        check(AuthReason::TABLE);
        assert_eq!(DisconnectReason::TABLE.len(), 29);
        assert_eq!(DisconnectReason::SessionTakenOver.code(), 0x8E);
        assert_eq!(
            DisconnectReason::SessionTakenOver.describe(),
            "session taken over by another connection"
        );
    }

    #[test]
    fn every_reason_describes_itself_and_errors_start_at_0x80() {
        for code in 0..=u8::MAX {
            let reasons = [
                ConnectReason::from_code(V5, code).describe(),
                SubscribeReason::from_code(V5, code).describe(),
                DisconnectReason::from_code(V5, code).describe(),
            ];
            assert!(reasons.iter().all(|d| !d.is_empty()));
            assert_eq!(
                DisconnectReason::from_code(V5, code).is_error(),
                code >= 0x80
            );
        }
        assert_eq!(
            DisconnectReason::from_code(V5, 0x8E).to_string(),
            "session taken over by another connection (0x8E)"
        );
    }

    #[test]
    fn a_311_disconnect_or_ack_is_always_a_success() {
        assert_eq!(
            DisconnectReason::from_code(V311, 0),
            DisconnectReason::NormalDisconnection
        );
        assert_eq!(PubRelReason::from_code(V311, 0), PubRelReason::Success);
        assert_eq!(
            UnsubscribeReason::from_code(V311, 0),
            UnsubscribeReason::Success
        );
        assert_eq!(AuthReason::from_code(V311, 0x18), AuthReason::Other(0x18));
    }
}
