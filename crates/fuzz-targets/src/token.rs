//! The `token` target: the token-response parser ([`mqtt_lifecycle::token::parse_response`]),
//! which reads what the token endpoint answers: status, `Date` and `Retry-After` headers, the
//! JSON body in any of its accepted shapes, and the browser's clock.
//!
//! It must never panic, and:
//! - usable credentials expire after the response arrived, and are refreshed no earlier than
//!   that and no later than they expire;
//! - a broker URL it hands over passes [`check_broker_url`];
//! - the credentials' `Debug` never shows the password;
//! - only 401/403 sign out; only 429 and 503 rate-limit.
//!
//! Input: a status byte (see [`STATUSES`]), a flags byte (bit 0: a `Date` header; bit 1: a
//! `Retry-After` header; bit 2: the local time), then for each flag set, in that order, a
//! length-prefixed header value or eight bytes of local time (epoch milliseconds, signed, big
//! endian); then six bytes of the arrival instant (milliseconds); the rest is the body (as the
//! browser's `text()` would give it: invalid UTF-8 replaced).

use mqtt_lifecycle::token::{check_broker_url, parse_response, HttpResponse, Secret, TokenOutcome};
use mqtt_lifecycle::Instant;

/// The statuses the first byte picks from (modulo their number): mostly success, since that is
/// where the body is read.
pub const STATUSES: [u16; 16] = [
    200, 200, 200, 200, 200, 200, 200, 201, 204, 299, 401, 403, 429, 503, 500, 302,
];
/// Flag: a `Date` header follows.
pub const DATE: u8 = 1;
/// Flag: a `Retry-After` header follows.
pub const RETRY_AFTER: u8 = 2;
/// Flag: the local time follows.
pub const LOCAL_TIME: u8 = 4;

/// Runs one input.
pub fn run(data: &[u8]) {
    let _ = parse(data);
}

fn parse(data: &[u8]) -> Option<()> {
    let mut input = crate::input::Input::new(data);
    let status = STATUSES[usize::from(input.byte()?) % STATUSES.len()];
    let flags = input.byte()?;
    let mut header = |flag: u8| -> Option<Option<String>> {
        Some(if flags & flag != 0 {
            Some(String::from_utf8_lossy(input.chunk()?).into_owned())
        } else {
            None
        })
    };
    let date = header(DATE)?;
    let retry_after = header(RETRY_AFTER)?;
    let local_time = if flags & LOCAL_TIME != 0 {
        Some(i64::from_be_bytes(input.bytes(8)?.try_into().ok()?))
    } else {
        None
    };
    // Six bytes: up to 8 900 years of a monotonic clock in milliseconds.
    let mut arrival = [0u8; 8];
    arrival[2..].copy_from_slice(input.bytes(6)?);
    let received_at = Instant::from_millis(u64::from_be_bytes(arrival));
    let response = HttpResponse {
        status,
        date,
        retry_after,
        body: String::from_utf8_lossy(input.rest()).into_owned(),
        local_time,
    };

    let outcome = parse_response(&response, received_at);
    let _ = format!("{outcome:?}");
    match &outcome {
        TokenOutcome::Token(credentials) => {
            assert!((200..300).contains(&status));
            assert!(credentials.expires_at > received_at, "{outcome:?}");
            assert!(credentials.refresh_at >= received_at, "{outcome:?}");
            assert!(
                credentials.refresh_at <= credentials.expires_at,
                "{outcome:?}"
            );
            if let Some(url) = &credentials.broker_url {
                assert_eq!(check_broker_url(url), Ok(()), "{url:?}");
            }
            // Unless the password also appears where it is not secret (another field, a field
            // name): the same credentials with another password show it too.
            let password = credentials.password.expose();
            let mut other = credentials.clone();
            other.password = Secret::new("");
            if !format!("{other:?}").contains(password) {
                assert!(
                    !format!("{credentials:?}").contains(password),
                    "the credentials' Debug shows the password"
                );
            }
        }
        TokenOutcome::SignedOut { status: s } => assert!(matches!(s, 401 | 403) && *s == status),
        TokenOutcome::RateLimited { .. } => assert!(matches!(status, 429 | 503)),
        TokenOutcome::Failed(error) => {
            let _ = error.to_string();
        }
    }
    Some(())
}
