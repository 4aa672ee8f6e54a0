//! The connection state the UI shows, and the reason behind it.

use std::fmt;
use std::time::Duration;

use mqtt_codec::reason::ConnectReason;
use mqtt_session::LinkDownReason;

use crate::token::TokenError;
use crate::Instant;

/// Where the supervisor is. Variants carry their data; [`Status`] adds the last reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    /// Created, not started.
    Idle,
    /// Waiting for the token endpoint before (re)connecting.
    FetchingToken,
    /// A link is opening, CONNECT sent or about to be.
    Connecting,
    /// The session is up.
    Connected {
        /// When the user-facing connection came up (kept across rotations).
        since: Instant,
        /// The broker resumed the session (CONNACK session-present).
        session_present: bool,
    },
    /// The token is being renewed and a second link is taking the session over. The
    /// user-facing connection stays usable (commands flow or are queued by the session).
    Rotating {
        /// When the user-facing connection came up.
        since: Instant,
    },
    /// Waiting before the next attempt.
    Backoff {
        /// Failed attempts so far (1 after the first failure).
        attempt: u32,
        /// When the next attempt starts (unless `online` or `retry_now` comes first).
        retry_at: Instant,
    },
    /// The browser says it is offline: no attempts until it comes back (or `retry_now`).
    Offline,
    /// The token endpoint says the user is not signed in (401/403). Stopped until `retry_now`.
    SignedOut,
    /// The broker refused the credentials even with a fresh token, or refused us for good.
    /// Stopped until `retry_now`.
    AuthFailed,
    /// Stopped by `stop`, or for good by a configuration problem ([`Reason::NoBrokerUrl`]).
    Closed,
}

impl ConnectionState {
    /// The user-facing connection is usable (connected, possibly rotating).
    #[must_use]
    pub fn is_up(&self) -> bool {
        matches!(
            self,
            ConnectionState::Connected { .. } | ConnectionState::Rotating { .. }
        )
    }

    /// The supervisor has stopped trying and waits for `retry_now` (or `start` after `stop`).
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        matches!(
            self,
            ConnectionState::SignedOut | ConnectionState::AuthFailed | ConnectionState::Closed
        )
    }
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionState::Idle => f.write_str("not started"),
            ConnectionState::FetchingToken => f.write_str("signing in"),
            ConnectionState::Connecting => f.write_str("connecting"),
            ConnectionState::Connected { .. } => f.write_str("connected"),
            ConnectionState::Rotating { .. } => f.write_str("connected (renewing credentials)"),
            ConnectionState::Backoff { attempt, .. } => {
                write!(f, "reconnecting after {attempt} failed attempt(s)")
            }
            ConnectionState::Offline => f.write_str("offline"),
            ConnectionState::SignedOut => f.write_str("signed out"),
            ConnectionState::AuthFailed => f.write_str("refused by the broker"),
            ConnectionState::Closed => f.write_str("closed"),
        }
    }
}

/// Why the supervisor is where it is (or why the last thing went wrong). Displayable in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The token endpoint answered 401/403.
    SignedOut {
        /// The HTTP status.
        status: u16,
    },
    /// The token endpoint answered 429 (or 503 with `Retry-After`).
    RateLimited {
        /// The server's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// The token request failed (network, 5xx, unusable body, timeout).
    Token(TokenError),
    /// The broker refused CONNECT.
    ConnectRefused {
        /// Typed reason.
        reason: ConnectReason,
        /// v5 Reason String.
        reason_string: Option<String>,
    },
    /// The session declared the link dead (keep-alive, server DISCONNECT, protocol error...).
    LinkDown(LinkDownReason),
    /// The transport closed (or failed to open) without a word from MQTT.
    LinkClosed,
    /// The WebSocket did not open within the connect timeout (no handshake answer, and no
    /// failure either: a black-holed address, a blocked socket).
    LinkOpenTimeout,
    /// The token expired while the tab slept; the link was presumed dead and replaced.
    TokenExpired,
    /// The broker does not speak MQTT 5: retrying with 3.1.1.
    ProtocolFallback,
    /// The browser went offline.
    Offline,
    /// Renewing the credentials failed; the current link stays up and renewal is retried.
    Rotation(Box<Reason>),
    /// `stop` was called.
    Stopped,
    /// Neither the token response (`brokerUrl`) nor the configuration names a broker: nothing
    /// to connect to. Permanent: the supervisor stops (`Closed`) until `retry_now`.
    NoBrokerUrl,
    /// The reason, in words, as another instance that runs the connection for this one said it
    /// (the browser tab that holds the connection tabs share).
    Relayed(String),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::SignedOut { status } => {
                write!(f, "not signed in (the token endpoint answered {status})")
            }
            Reason::RateLimited {
                retry_after: Some(delay),
            } => write!(
                f,
                "too many sign-in requests; the server asks to wait {} s",
                delay.as_secs()
            ),
            Reason::RateLimited { retry_after: None } => f.write_str("too many sign-in requests"),
            Reason::Token(error) => write!(f, "could not get credentials: {error}"),
            Reason::ConnectRefused {
                reason,
                reason_string,
            } => {
                write!(f, "the broker refused the connection: {reason}")?;
                match reason_string {
                    Some(text) => write!(f, ": {text}"),
                    None => Ok(()),
                }
            }
            Reason::LinkDown(reason) => write!(f, "connection lost: {reason}"),
            Reason::LinkClosed => f.write_str("connection to the broker closed"),
            Reason::LinkOpenTimeout => f.write_str("the broker did not answer the connection"),
            Reason::TokenExpired => f.write_str("credentials expired while the page slept"),
            Reason::ProtocolFallback => {
                f.write_str("the broker does not support MQTT 5; using MQTT 3.1.1")
            }
            Reason::Offline => f.write_str("the browser is offline"),
            Reason::Rotation(inner) => write!(f, "renewing credentials failed ({inner})"),
            Reason::Stopped => f.write_str("closed by the application"),
            Reason::NoBrokerUrl => f.write_str(
                "no broker to connect to: the token response names none and none is configured",
            ),
            Reason::Relayed(text) => f.write_str(text),
        }
    }
}

/// The state plus the last reason: what the UI shows.
#[derive(Debug, Clone, Eq)]
pub struct Status {
    /// Where the supervisor is.
    pub state: ConnectionState,
    /// Why (the last failure or cause), if any. `None` after a clean connect.
    pub reason: Option<Reason>,
}

impl PartialEq for Status {
    /// Never inlined: the comparison of two reasons is large, and the supervisor compares
    /// statuses after every input (besides any caller's comparisons): one copy serves all.
    #[inline(never)]
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state && self.reason == other.reason
    }
}

impl Status {
    /// Where the supervisor is.
    #[must_use]
    pub fn state(&self) -> &ConnectionState {
        &self.state
    }

    /// The last reason, if any.
    #[must_use]
    pub fn reason(&self) -> Option<&Reason> {
        self.reason.as_ref()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.state)?;
        match &self.reason {
            Some(reason) => write!(f, " — {reason}"),
            None => Ok(()),
        }
    }
}
