//! Token endpoint responses, parsed into a typed outcome.
//!
//! The driver performs the HTTP request (`credentials: include`) and hands the raw response to
//! the supervisor as a [`TokenResult`]; [`TokenResult::parse`] turns it into a [`TokenOutcome`].
//!
//! # Accepted shapes
//! - The contract shape: `{ accessToken, tokenId, expiresAt, refreshAt, username, userId }`.
//! - CloudSignal's token-create shape: `{ access_token, token_id, expires_at,
//!   refresh_recommended_at, mqtt_credentials: { username, password } }` (the MQTT password is
//!   `mqtt_credentials.password`; `access_token` is only used when it is absent).
//! - CloudSignal's flat shape: `{ mqtt_username, mqtt_password, expires_in }` (and v1's
//!   `token_password`).
//!
//! Any of them may name the broker: `brokerUrl` (or `broker_url`). It then wins over the
//! configured broker URL for the links opened with these credentials; it must be `wss://`, or
//! `ws://` to a loopback host (`127.0.0.0/8`, `::1`, `localhost`), otherwise the response is a
//! [`TokenError::BadBrokerUrl`] (the credentials are never sent to an unvetted broker).
//!
//! Times may be epoch seconds, epoch milliseconds (told apart by magnitude), numeric strings or
//! RFC 3339. A missing `refreshAt` means 90 % of the lifetime.
//!
//! # Clock skew
//! The browser's wall clock may be minutes or hours off, and it may jump. So absolute times from
//! the body are never compared with it when something better exists: they are turned into
//! *durations* measured against a reference time written by the same server, then added to the
//! monotonic [`Instant`] at which the response arrived. The reference is, in order:
//! 1. the response's `Date` header (whole seconds: taken as the *end* of its second, so the
//!    computed deadlines are early by under a second, never late);
//! 2. an issue time in the body (`issuedAt`, `issued_at`, `iat`) — useful cross-origin, where
//!    `Date` is not readable unless the server lists it in `Access-Control-Expose-Headers`;
//! 3. [`HttpResponse::local_time`], the browser's own wall clock when the response arrived
//!    (`Date.now()`): only skew-safe if that clock is right, but better than refusing to connect.
//!
//! Relative lifetimes (`expires_in`) need no reference. With absolute times and none of the three
//! references, the outcome is [`TokenError::NoTimeReference`].
//!
//! Network latency makes the server's reference a little older than `received_at`, so the
//! computed deadlines are late by the one-way latency; the 10 % refresh margin absorbs it.

use std::fmt;
use std::time::Duration;

use crate::json::{self, Object, Value};
use crate::net;

use crate::wallclock::{self, EpochMillis};
use crate::Instant;

/// The raw HTTP response of a token or refresh request, as the driver received it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// The `Date` header, if readable (cross-origin it needs `Access-Control-Expose-Headers`).
    pub date: Option<String>,
    /// The `Retry-After` header: delay in seconds or an HTTP date.
    pub retry_after: Option<String>,
    /// The response body (JSON for a 2xx).
    pub body: String,
    /// The browser's wall clock when the response arrived, epoch milliseconds (`Date.now()`).
    /// Used only when neither `Date` nor an issue time in the body is available.
    pub local_time: Option<EpochMillis>,
}

impl fmt::Debug for HttpResponse {
    // The body of a 2xx holds the password: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("date", &self.date)
            .field("retry_after", &self.retry_after)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .field("local_time", &self.local_time)
            .finish()
    }
}

/// What the driver's token request produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenResult {
    /// An HTTP response arrived (any status).
    Response(HttpResponse),
    /// No response: DNS, TCP, TLS, CORS or an aborted fetch. The text is the browser's message.
    NetworkError(String),
}

impl TokenResult {
    /// Parses the result into a typed outcome; `received_at` is when the response arrived.
    #[must_use]
    pub fn parse(&self, received_at: Instant) -> TokenOutcome {
        match self {
            TokenResult::Response(response) => parse_response(response, received_at),
            TokenResult::NetworkError(message) => {
                TokenOutcome::Failed(TokenError::Network(message.clone()))
            }
        }
    }
}

/// A secret string (an MQTT password or access token): its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// MQTT credentials minted by the token endpoint, with deadlines on the monotonic clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// MQTT user name, if the endpoint gives one.
    pub username: Option<String>,
    /// MQTT password (the access token).
    pub password: Secret,
    /// Token id for the refresh endpoint; without it rotation fetches a fresh token instead.
    pub token_id: Option<String>,
    /// When to rotate (`refreshAt`, or 90 % of the lifetime).
    pub refresh_at: Instant,
    /// When the broker will stop accepting the token and close the link.
    pub expires_at: Instant,
    /// Application user id, if given.
    pub user_id: Option<String>,
    /// The broker these credentials are for (`brokerUrl`, validated: `wss://`, or `ws://` to
    /// a loopback host). When present it wins over the configured broker URL.
    pub broker_url: Option<String>,
}

impl Credentials {
    /// Who the token belongs to: the application user id, else the MQTT user name's part before
    /// any `@` (CloudSignal-style `user@org` names). `None` when neither is given or both are
    /// blank.
    #[must_use]
    pub fn identity(&self) -> Option<&str> {
        fn non_blank(s: &str) -> Option<&str> {
            let s = s.trim();
            (!s.is_empty()).then_some(s)
        }
        self.user_id.as_deref().and_then(non_blank).or_else(|| {
            let name = self.username.as_deref()?;
            non_blank(name.split('@').next().unwrap_or(name))
        })
    }
}

/// The typed outcome of a token request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOutcome {
    /// Usable credentials.
    Token(Credentials),
    /// 401/403: the user is not signed in. Stop; retry only on an explicit action.
    SignedOut {
        /// The HTTP status (401 or 403).
        status: u16,
    },
    /// 429 (or 503 with `Retry-After`): wait before asking again.
    RateLimited {
        /// The server's `Retry-After`, if present and readable.
        retry_after: Option<Duration>,
    },
    /// Anything else that went wrong: back off and retry.
    Failed(TokenError),
}

/// Why a token request failed. Carries the offending field or value, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No HTTP response at all.
    #[error("token endpoint unreachable: {0}")]
    Network(String),
    /// An HTTP status that is neither success, sign-out nor rate limiting.
    #[error("token endpoint answered HTTP {status}")]
    Http {
        /// The status code.
        status: u16,
    },
    /// The body of a 2xx is not JSON.
    #[error("token response is not JSON: {detail}")]
    NotJson {
        /// The JSON parser's message (position only, no content).
        detail: String,
    },
    /// The body is JSON but not an object.
    #[error("token response is not a JSON object")]
    NotAnObject,
    /// A required field is absent.
    #[error("token response lacks `{field}`")]
    MissingField {
        /// The field, with its accepted spellings.
        field: &'static str,
    },
    /// A field has the wrong JSON type.
    #[error("token response field `{field}` is not {expected}")]
    WrongType {
        /// The field as spelt in the response.
        field: &'static str,
        /// What was expected.
        expected: &'static str,
    },
    /// A time field (or the `Date` header) could not be read.
    #[error("token response field `{field}` is not a time: {}", json::Quoted(.value))]
    BadTime {
        /// The field as spelt in the response (`Date` for the header).
        field: &'static str,
        /// The offending value (times are not secret).
        value: String,
    },
    /// The token's expiry is not after the reference time.
    #[error("token already expired {} s before the server's current time", .expired_for.as_secs())]
    AlreadyExpired {
        /// How long ago it expired, by the server's reference time.
        expired_for: Duration,
    },
    /// Absolute times but no reference to measure them from.
    #[error("token response gives absolute times but no Date header, issue time or local time")]
    NoTimeReference,
    /// The driver gave no answer within the supervisor's token timeout.
    #[error("token endpoint did not answer within {} s", .0.as_secs())]
    Timeout(Duration),
    /// `brokerUrl` names a broker the credentials must not be sent to.
    #[error("token response field `{field}` is not an acceptable broker URL ({reason}): {value}")]
    BadBrokerUrl {
        /// The field as spelt in the response.
        field: &'static str,
        /// The offending URL (without any user-info part, which is never echoed).
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Parses an HTTP response from the token or refresh endpoint into a typed outcome.
#[must_use]
pub fn parse_response(response: &HttpResponse, received_at: Instant) -> TokenOutcome {
    match response.status {
        200..=299 => match parse_body(response, received_at) {
            Ok(credentials) => TokenOutcome::Token(credentials),
            Err(error) => TokenOutcome::Failed(error),
        },
        401 | 403 => TokenOutcome::SignedOut {
            status: response.status,
        },
        429 => TokenOutcome::RateLimited {
            retry_after: retry_after(response),
        },
        503 if response.retry_after.is_some() => match retry_after(response) {
            Some(delay) => TokenOutcome::RateLimited {
                retry_after: Some(delay),
            },
            None => TokenOutcome::Failed(TokenError::Http { status: 503 }),
        },
        status => TokenOutcome::Failed(TokenError::Http { status }),
    }
}

/// Reads `Retry-After` (seconds or an HTTP date measured against `Date` or the local time).
fn retry_after(response: &HttpResponse) -> Option<Duration> {
    let text = response.retry_after.as_deref()?.trim();
    if let Some(seconds) = net::parse_u64(text) {
        return Some(Duration::from_secs(seconds));
    }
    let at = wallclock::http_date(text)?;
    let now = response
        .date
        .as_deref()
        .and_then(wallclock::http_date)
        .or(response.local_time)?;
    Some(Duration::from_millis(
        u64::try_from(at.saturating_sub(now)).unwrap_or(0),
    ))
}

fn parse_body(response: &HttpResponse, received_at: Instant) -> Result<Credentials, TokenError> {
    let value = json::parse(response.body.as_bytes()).map_err(|error| TokenError::NotJson {
        detail: error.to_string(),
    })?;
    let Value::Object(body) = &value else {
        return Err(TokenError::NotAnObject);
    };
    let nested = match body.get("mqtt_credentials") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map),
        Some(_) => {
            return Err(TokenError::WrongType {
                field: "mqtt_credentials",
                expected: "an object",
            })
        }
    };

    let password = match nested {
        Some(map) => string(map, &["password"])?.ok_or(TokenError::MissingField {
            field: "mqtt_credentials.password",
        })?,
        None => string(
            body,
            &[
                "mqtt_password",
                "accessToken",
                "access_token",
                "token_password",
                "password",
            ],
        )?
        .ok_or(TokenError::MissingField {
            field: "accessToken (or access_token, mqtt_password, mqtt_credentials.password)",
        })?,
    };
    let username = match nested.map(|map| string(map, &["username"])).transpose()? {
        Some(Some(name)) => Some(name),
        _ => string(body, &["mqtt_username", "username"])?,
    };
    let token_id = string(body, &["tokenId", "token_id"])?;
    let user_id = string(body, &["userId", "user_id"])?;
    let broker_url = broker_url_field(body)?;

    let lifetime = lifetime(body, response)?;
    let expires_at = received_at + lifetime.expires_in;
    let refresh_in = lifetime
        .refresh_in
        .unwrap_or_else(|| lifetime.expires_in.mul_f64(0.9))
        .min(lifetime.expires_in);
    Ok(Credentials {
        username,
        password: Secret::new(password),
        token_id,
        refresh_at: received_at + refresh_in,
        expires_at,
        user_id,
        broker_url,
    })
}

/// `brokerUrl` / `broker_url`, validated by [`check_broker_url`].
fn broker_url_field(body: &Object) -> Result<Option<String>, TokenError> {
    for field in ["brokerUrl", "broker_url"] {
        let Some(url) = string(body, &[field])? else {
            continue;
        };
        return check_broker_url(url.trim())
            .map(|()| Some(url.trim().to_owned()))
            .map_err(|reason| TokenError::BadBrokerUrl {
                field,
                value: without_userinfo(url.trim()),
                reason,
            });
    }
    Ok(None)
}

/// The URL with any `user:password@` part cut out, for messages.
fn without_userinfo(url: &str) -> String {
    // Not `find("://")` and `&url[..]`: see `net::split_scheme`.
    if let Some((scheme, rest)) = net::split_scheme(url) {
        if let Some(host) = rest.rsplit_once('@').map(|(_, host)| host) {
            return format!("{scheme}://<redacted>@{host}");
        }
    }
    url.to_owned()
}

/// Whether credentials may be sent to the broker at `url`: `wss://` to any host, `ws://` only
/// to a loopback host (`127.0.0.0/8`, `[::1]`, `localhost`). No user-info, no whitespace or
/// backslashes, a non-empty host and a numeric port if any. `Err` says why not.
pub fn check_broker_url(url: &str) -> Result<(), &'static str> {
    if url.is_empty() {
        return Err("empty");
    }
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return Err("whitespace, control characters or backslashes");
    }
    let (scheme, rest) = net::split_scheme(url).ok_or("not an absolute URL")?;
    let secure = match scheme.to_ascii_lowercase().as_str() {
        "wss" => true,
        "ws" => false,
        _ => return Err("the scheme must be wss:// (or ws:// to a loopback host)"),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("user-info in the URL");
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or("unclosed IPv6 bracket")?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("junk after the IPv6 address")?),
        };
        if crate::net::ipv6(host).is_none() {
            return Err("not an IPv6 address between brackets");
        }
        (host, port)
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("no host");
    }
    if let Some(port) = port {
        if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err("the port is not a number");
        }
    }
    if secure || is_loopback_host(host) {
        Ok(())
    } else {
        Err("ws:// (unencrypted) is allowed only to a loopback host; use wss://")
    }
}

/// `localhost`, `127.0.0.0/8` or `::1`.
fn is_loopback_host(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    host.eq_ignore_ascii_case("localhost")
        || crate::net::ipv4(host).is_some_and(|ip| ip[0] == 127)
        || crate::net::ipv6(host) == Some([0, 0, 0, 0, 0, 0, 0, 1])
}

struct Lifetime {
    expires_in: Duration,
    refresh_in: Option<Duration>,
}

/// Works out the token's lifetime and refresh delay as durations from the response's arrival.
fn lifetime(body: &Object, response: &HttpResponse) -> Result<Lifetime, TokenError> {
    let expires_abs = time_field(body, &["expiresAt", "expires_at"])?;
    let refresh_abs = time_field(
        body,
        &[
            "refreshAt",
            "refresh_at",
            "refresh_recommended_at",
            "refreshRecommendedAt",
        ],
    )?;
    let expires_rel = seconds_field(body, &["expiresIn", "expires_in"])?;

    let needs_reference = expires_abs.is_some() || refresh_abs.is_some();
    let reference = if needs_reference {
        Some(reference_time(body, response)?)
    } else {
        None
    };
    // Saturating: `local_time` is whatever the driver passes, and a wild one must give a wild
    // (but ordered) lifetime, never an overflow.
    let since_reference = |at: EpochMillis| match reference {
        Some(reference) => at.saturating_sub(reference.latest()),
        None => 0,
    };

    let expires_in_ms = match (expires_abs, expires_rel) {
        // Against the latest time the reference allows, unless that leaves nothing of a token
        // the earliest time says is still valid (a lifetime under a second).
        (Some(at), _) => match since_reference(at) {
            ms if ms > 0 => ms,
            _ => reference.map_or(0, |r| at.saturating_sub(r.earliest)),
        },
        (None, Some(relative)) => relative,
        (None, None) => {
            return Err(TokenError::MissingField {
                field: "expiresAt (or expires_at, expires_in)",
            })
        }
    };
    if expires_in_ms <= 0 {
        return Err(TokenError::AlreadyExpired {
            expired_for: Duration::from_millis(expires_in_ms.unsigned_abs()),
        });
    }
    let refresh_in = refresh_abs
        .map(since_reference)
        .map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0)));
    Ok(Lifetime {
        expires_in: Duration::from_millis(expires_in_ms.unsigned_abs()),
        refresh_in,
    })
}

/// The server's time when it answered: `earliest`, and how much later it may really have been
/// (the `Date` header has whole seconds, truncated: the true time lies anywhere in that second).
#[derive(Clone, Copy)]
struct Reference {
    earliest: EpochMillis,
    slack: EpochMillis,
}

impl Reference {
    /// The latest time the reference allows. Durations measured from it are never too long, so
    /// deadlines computed with it are early (by under a second) rather than late: with a short
    /// token lifetime, a late `refreshAt` lands after the broker already closed the link.
    fn latest(self) -> EpochMillis {
        self.earliest.saturating_add(self.slack)
    }
}

fn reference_time(body: &Object, response: &HttpResponse) -> Result<Reference, TokenError> {
    if let Some(date) = response.date.as_deref() {
        let earliest = wallclock::http_date(date).ok_or_else(|| TokenError::BadTime {
            field: "Date",
            value: date.to_owned(),
        })?;
        return Ok(Reference {
            earliest,
            slack: 999,
        });
    }
    let exact = |earliest| Reference { earliest, slack: 0 };
    if let Some(issued) = time_field(body, &["issuedAt", "issued_at", "iat"])? {
        return Ok(exact(issued));
    }
    response
        .local_time
        .map(exact)
        .ok_or(TokenError::NoTimeReference)
}

/// The first present, non-null field among `names`, as a string.
fn string(map: &Object, names: &[&'static str]) -> Result<Option<String>, TokenError> {
    for &name in names {
        match map.get(name) {
            None | Some(Value::Null) => continue,
            Some(Value::String(text)) => return Ok(Some(text.clone())),
            // Token ids and user ids are sometimes numbers; secrets and names never are.
            Some(Value::Number(n)) if name.ends_with("Id") || name.ends_with("_id") => {
                return Ok(Some(n.to_string()))
            }
            Some(_) => {
                return Err(TokenError::WrongType {
                    field: name,
                    expected: "a string",
                })
            }
        }
    }
    Ok(None)
}

/// The first present, non-null field among `names`, as an absolute time.
fn time_field(map: &Object, names: &[&'static str]) -> Result<Option<EpochMillis>, TokenError> {
    for &name in names {
        let parsed = match map.get(name) {
            None | Some(Value::Null) => continue,
            Some(Value::Number(n)) => wallclock::epoch_number(n.as_f64()),
            Some(Value::String(text)) => wallclock::text_time(text),
            Some(_) => None,
        };
        return parsed.map(Some).ok_or_else(|| TokenError::BadTime {
            field: name,
            value: map.get(name).map(Value::to_string).unwrap_or_default(),
        });
    }
    Ok(None)
}

/// The first present, non-null field among `names`, as a relative number of seconds (in ms).
fn seconds_field(map: &Object, names: &[&'static str]) -> Result<Option<i64>, TokenError> {
    for &name in names {
        let seconds = match map.get(name) {
            None | Some(Value::Null) => continue,
            Some(Value::Number(n)) => Some(n.as_f64()),
            Some(Value::String(text)) => wallclock::decimal(text.trim()),
            Some(_) => None,
        };
        return match seconds {
            Some(s) if s.is_finite() && s.abs() < 1e12 => Ok(Some((s * 1000.0).round() as i64)),
            _ => Err(TokenError::BadTime {
                field: name,
                value: map.get(name).map(Value::to_string).unwrap_or_default(),
            }),
        };
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &str = "Sat, 28 Nov 2026 10:00:00 GMT";
    const NOW_S: i64 = 1_795_860_000; // DATE in epoch seconds
    /// `Date` has whole seconds: durations are measured from the end of its second.
    const DATE_SLACK: u64 = 999;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn ok(body: &str) -> HttpResponse {
        HttpResponse {
            status: 200,
            date: Some(DATE.into()),
            body: body.into(),
            ..HttpResponse::default()
        }
    }

    fn token(outcome: TokenOutcome) -> Credentials {
        match outcome {
            TokenOutcome::Token(credentials) => credentials,
            other => panic!("expected a token, got {other:?}"),
        }
    }

    fn failure(outcome: TokenOutcome) -> TokenError {
        match outcome {
            TokenOutcome::Failed(error) => error,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn the_contract_shape_becomes_credentials_relative_to_the_date_header() {
        let body = format!(
            r#"{{"accessToken":"pw","tokenId":"t1","expiresAt":{},"refreshAt":{},"username":"alice","userId":"u1"}}"#,
            NOW_S + 3600,
            NOW_S + 3240
        );
        let c = token(parse_response(&ok(&body), at(5_000)));
        assert_eq!(c.username.as_deref(), Some("alice"));
        assert_eq!(c.password.expose(), "pw");
        assert_eq!(c.token_id.as_deref(), Some("t1"));
        assert_eq!(c.user_id.as_deref(), Some("u1"));
        assert_eq!(c.expires_at, at(5_000 + 3_600_000 - DATE_SLACK));
        assert_eq!(c.refresh_at, at(5_000 + 3_240_000 - DATE_SLACK));
    }

    #[test]
    fn the_identity_is_the_user_id_else_the_user_name_before_the_at() {
        let parse = |body: &str| token(parse_response(&ok(body), at(0)));
        let c =
            parse(r#"{"accessToken":"pw","expires_in":60,"username":"alice@org","userId":"u1"}"#);
        assert_eq!(c.identity(), Some("u1"));
        let c =
            parse(r#"{"accessToken":"pw","expires_in":60,"username":"alice@org","userId":" "}"#);
        assert_eq!(c.identity(), Some("alice"));
        let c = parse(r#"{"accessToken":"pw","expires_in":60,"username":"carol"}"#);
        assert_eq!(c.identity(), Some("carol"));
        let c = parse(r#"{"accessToken":"pw","expires_in":60,"username":"@org"}"#);
        assert_eq!(c.identity(), None);
        let c = parse(r#"{"accessToken":"pw","expires_in":60}"#);
        assert_eq!(c.identity(), None);
    }

    #[test]
    fn a_local_time_at_the_ends_of_i64_neither_overflows_nor_misorders_the_deadlines() {
        // Found by fuzzing (fuzz/corpus/token/crash-*): `expiresAt - local_time` overflowed.
        let body = format!(
            r#"{{"accessToken":"pw","expiresAt":{},"refreshAt":{}}}"#,
            NOW_S + 100,
            NOW_S + 90
        );
        let mut response = HttpResponse {
            status: 200,
            body,
            ..HttpResponse::default()
        };
        response.local_time = Some(i64::MIN);
        let c = token(parse_response(&response, at(5)));
        assert!(at(5) < c.refresh_at && c.refresh_at <= c.expires_at);
        response.local_time = Some(i64::MAX);
        assert!(matches!(
            failure(parse_response(&response, at(5))),
            TokenError::AlreadyExpired { .. }
        ));
    }

    #[test]
    fn a_skewed_local_clock_does_not_move_the_deadlines_when_date_is_present() {
        let body = format!(r#"{{"accessToken":"pw","expiresAt":{}}}"#, NOW_S + 100);
        let mut response = ok(&body);
        response.local_time = Some((NOW_S + 7200) * 1000); // browser clock two hours fast
        let c = token(parse_response(&response, at(0)));
        assert_eq!(c.expires_at, at(100_000 - DATE_SLACK));
    }

    #[test]
    fn cloudsignal_nested_credentials_are_preferred_over_the_access_token() {
        let body = r#"{"access_token":"jwt","token_id":"tid","expires_at":"2026-11-28T11:00:00Z",
                "refresh_recommended_at":"2026-11-28T10:54:00.000Z",
                "mqtt_credentials":{"username":"bob@org_1","password":"mqttpw"}}"#;
        let c = token(parse_response(&ok(body), at(0)));
        assert_eq!(c.username.as_deref(), Some("bob@org_1"));
        assert_eq!(c.password.expose(), "mqttpw");
        assert_eq!(c.token_id.as_deref(), Some("tid"));
        assert_eq!(c.expires_at, at(3_600_000 - DATE_SLACK));
        assert_eq!(c.refresh_at, at(3_240_000 - DATE_SLACK));
    }

    #[test]
    fn cloudsignal_flat_shape_with_expires_in_needs_no_reference_and_refreshes_at_ninety_percent() {
        let response = HttpResponse {
            status: 200,
            body: r#"{"mqtt_username":"carol","mqtt_password":"pw2","expires_in":1000}"#.into(),
            ..HttpResponse::default()
        };
        let c = token(parse_response(&response, at(1_000)));
        assert_eq!(c.username.as_deref(), Some("carol"));
        assert_eq!(c.password.expose(), "pw2");
        assert_eq!(c.token_id, None);
        assert_eq!(c.expires_at, at(1_001_000));
        assert_eq!(c.refresh_at, at(901_000));
    }

    #[test]
    fn a_whole_second_date_makes_deadlines_early_never_late() {
        // Issued at 10:00:00.900 with a 3 s lifetime; `Date` says 10:00:00. Measured from the
        // start of that second, refreshAt would land 0.6 s after the real expiry.
        let body = r#"{"accessToken":"pw","expiresAt":"2026-11-28T10:00:03.900Z",
                "refreshAt":"2026-11-28T10:00:03.600Z"}"#;
        let c = token(parse_response(&ok(body), at(0)));
        // The real expiry is 3 000 ms after the response (latency aside).
        assert!(c.refresh_at < at(3_000), "{c:?}");
        assert!(c.expires_at <= at(3_000), "{c:?}");
        assert_eq!(c.expires_at, at(3_900 - DATE_SLACK));
    }

    #[test]
    fn a_token_living_under_a_second_past_date_is_not_called_expired() {
        let body = r#"{"accessToken":"pw","expiresAt":"2026-11-28T10:00:00.500Z"}"#;
        let c = token(parse_response(&ok(body), at(0)));
        assert_eq!(c.expires_at, at(500));
    }

    #[test]
    fn epoch_millis_and_numeric_strings_are_accepted() {
        let body = format!(
            r#"{{"accessToken":"pw","expiresAt":{},"refreshAt":"{}"}}"#,
            (NOW_S + 60) * 1000,
            NOW_S + 30
        );
        let c = token(parse_response(&ok(&body), at(0)));
        assert_eq!(c.expires_at, at(60_000 - DATE_SLACK));
        assert_eq!(c.refresh_at, at(30_000 - DATE_SLACK));
    }

    #[test]
    fn without_date_the_issue_time_in_the_body_is_the_reference() {
        let response = HttpResponse {
            status: 200,
            body: format!(
                r#"{{"accessToken":"pw","issuedAt":{},"expiresAt":{}}}"#,
                NOW_S - 10,
                NOW_S + 50
            ),
            local_time: Some(0), // a wildly wrong local clock, ignored
            ..HttpResponse::default()
        };
        let c = token(parse_response(&response, at(0)));
        assert_eq!(c.expires_at, at(60_000));
    }

    #[test]
    fn without_date_or_issue_time_the_local_clock_is_the_last_resort() {
        let mut response = ok(&format!(
            r#"{{"accessToken":"pw","expiresAt":{}}}"#,
            NOW_S + 20
        ));
        response.date = None;
        response.local_time = Some(NOW_S * 1000);
        assert_eq!(
            token(parse_response(&response, at(0))).expires_at,
            at(20_000)
        );
        response.local_time = None;
        assert_eq!(
            failure(parse_response(&response, at(0))),
            TokenError::NoTimeReference
        );
    }

    #[test]
    fn a_refresh_time_after_expiry_is_clamped_to_the_expiry() {
        let body = format!(
            r#"{{"accessToken":"pw","expiresAt":{},"refreshAt":{}}}"#,
            NOW_S + 10,
            NOW_S + 99
        );
        let c = token(parse_response(&ok(&body), at(0)));
        assert_eq!(c.refresh_at, c.expires_at);
    }

    #[test]
    fn an_already_expired_token_is_a_failure() {
        let body = format!(r#"{{"accessToken":"pw","expiresAt":{}}}"#, NOW_S - 5);
        assert_eq!(
            failure(parse_response(&ok(&body), at(0))),
            TokenError::AlreadyExpired {
                expired_for: Duration::from_secs(5)
            }
        );
    }

    #[test]
    fn missing_fields_are_named() {
        let no_password = format!(r#"{{"expiresAt":{}}}"#, NOW_S + 5);
        assert!(matches!(
            failure(parse_response(&ok(&no_password), at(0))),
            TokenError::MissingField { field } if field.starts_with("accessToken")
        ));
        assert!(matches!(
            failure(parse_response(&ok(r#"{"accessToken":"pw"}"#), at(0))),
            TokenError::MissingField { field } if field.starts_with("expiresAt")
        ));
        let nested = r#"{"mqtt_credentials":{"username":"u"},"expires_in":5}"#;
        assert_eq!(
            failure(parse_response(&ok(nested), at(0))),
            TokenError::MissingField {
                field: "mqtt_credentials.password"
            }
        );
    }

    #[test]
    fn garbage_bodies_fail_without_echoing_secrets() {
        for body in [
            "",
            "<html>oops</html>",
            "[1,2]",
            r#"{"accessToken":42,"expires_in":5}"#,
        ] {
            let error = failure(parse_response(&ok(body), at(0)));
            assert!(!error.to_string().contains("oops"), "{error}");
        }
        let bad_time = r#"{"accessToken":"supersecret","expiresAt":"soon"}"#;
        let error = failure(parse_response(&ok(bad_time), at(0)));
        assert_eq!(
            error,
            TokenError::BadTime {
                field: "expiresAt",
                value: "\"soon\"".into()
            }
        );
        assert!(!format!("{error} {error:?}").contains("supersecret"));
    }

    #[test]
    fn credentials_and_responses_never_print_the_password() {
        let body = r#"{"accessToken":"supersecret","expires_in":5}"#;
        let response = ok(body);
        let printed = format!("{response:?} {:?}", parse_response(&response, at(0)));
        assert!(!printed.contains("supersecret"), "{printed}");
    }

    #[test]
    fn broker_url_is_read_in_both_spellings_and_validated() {
        let parse = |field: &str, url: &str| {
            let body = format!(r#"{{"accessToken":"pw","expires_in":60,"{field}":"{url}"}}"#);
            parse_response(&ok(&body), at(0))
        };
        for field in ["brokerUrl", "broker_url"] {
            for url in [
                "wss://broker.example/mqtt",
                "WSS://broker.example:8884/mqtt?x=1",
                "ws://127.0.0.1:9001/mqtt",
                "ws://127.8.9.10/mqtt",
                "ws://localhost:8080/mqtt",
                "ws://LOCALHOST./mqtt",
                "ws://[::1]:9001/mqtt",
                "wss://[2001:db8::1]/mqtt",
            ] {
                assert_eq!(
                    token(parse(field, url)).broker_url.as_deref(),
                    Some(url),
                    "{field}={url}"
                );
            }
            for (url, why) in [
                ("ws://broker.example/mqtt", "loopback"),
                ("ws://10.0.0.1/mqtt", "loopback"),
                ("ws://127.0.0.1.evil.example/mqtt", "loopback"),
                ("ws://localhost.evil.example/mqtt", "loopback"),
                ("ws://[::2]/mqtt", "loopback"),
                ("https://broker.example/mqtt", "scheme"),
                ("data:text/plain,hi", "absolute"),
                ("//broker.example/mqtt", "absolute"),
                ("/mqtt", "absolute"),
                ("wss:///mqtt", "no host"),
                ("wss://user:hunter2@broker.example/mqtt", "user-info"),
                ("ws://127.0.0.1:x/mqtt", "port"),
                // JSON-escaped: the value holds one backslash.
                ("wss://broker.example\\\\@evil/mqtt", "backslash"),
                ("wss://[::1/mqtt", "bracket"),
                ("", "empty"),
            ] {
                let error = failure(parse(field, url));
                let TokenError::BadBrokerUrl {
                    field: f, reason, ..
                } = &error
                else {
                    panic!("{url}: {error:?}");
                };
                assert_eq!(*f, field);
                assert!(
                    reason.contains(why) || error.to_string().contains(why),
                    "{url}: {error}"
                );
                assert!(!error.to_string().contains("hunter2"), "{error}");
            }
        }
        let absent = token(parse_response(
            &ok(r#"{"accessToken":"pw","expires_in":60,"brokerUrl":null}"#),
            at(0),
        ));
        assert_eq!(absent.broker_url, None);
        assert!(matches!(
            failure(parse_response(
                &ok(r#"{"accessToken":"pw","expires_in":60,"brokerUrl":7}"#),
                at(0)
            )),
            TokenError::WrongType {
                field: "brokerUrl",
                ..
            }
        ));
    }

    #[test]
    fn unauthorized_and_forbidden_mean_signed_out() {
        for status in [401, 403] {
            let response = HttpResponse {
                status,
                ..HttpResponse::default()
            };
            assert_eq!(
                parse_response(&response, at(0)),
                TokenOutcome::SignedOut { status }
            );
        }
    }

    #[test]
    fn too_many_requests_reads_retry_after_as_seconds_or_a_date() {
        let mut response = HttpResponse {
            status: 429,
            date: Some(DATE.into()),
            retry_after: Some("7".into()),
            ..HttpResponse::default()
        };
        let limited = |r: &HttpResponse| parse_response(r, at(0));
        assert_eq!(
            limited(&response),
            TokenOutcome::RateLimited {
                retry_after: Some(Duration::from_secs(7))
            }
        );
        response.retry_after = Some("Sat, 28 Nov 2026 10:00:42 GMT".into());
        assert_eq!(
            limited(&response),
            TokenOutcome::RateLimited {
                retry_after: Some(Duration::from_secs(42))
            }
        );
        response.retry_after = Some("whenever".into());
        assert_eq!(
            limited(&response),
            TokenOutcome::RateLimited { retry_after: None }
        );
    }

    #[test]
    fn server_errors_and_network_errors_are_failures_to_back_off_from() {
        let response = HttpResponse {
            status: 502,
            ..HttpResponse::default()
        };
        assert_eq!(
            failure(parse_response(&response, at(0))),
            TokenError::Http { status: 502 }
        );
        assert_eq!(
            failure(TokenResult::NetworkError("Failed to fetch".into()).parse(at(0))),
            TokenError::Network("Failed to fetch".into())
        );
    }

    #[test]
    fn an_unreadable_date_header_is_reported_with_its_value() {
        let mut response = ok(&format!(
            r#"{{"accessToken":"pw","expiresAt":{}}}"#,
            NOW_S + 5
        ));
        response.date = Some("yesterday".into());
        assert_eq!(
            failure(parse_response(&response, at(0))),
            TokenError::BadTime {
                field: "Date",
                value: "yesterday".into()
            }
        );
    }
}
