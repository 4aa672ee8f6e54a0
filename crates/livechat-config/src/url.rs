//! The URL rules: where credentials may be sent, and where the page may be sent to sign in.
//!
//! Deliberately strict and string-based (no URL crate): an http(s) setting is a same-origin path
//! or an absolute `https://` URL (`http://` only to this machine); a broker URL is `wss://`
//! (`ws://` only to this machine). Nothing else, however a browser would read it.

use mqtt_lifecycle::net::{ipv4, ipv6, split_scheme};

use crate::{ConfigError, Setting};

/// The scheme and host of an absolute URL (`scheme://[userinfo@]host[:port]/...`), lowercased,
/// and whether it carries user-info.
fn scheme_and_host(url: &str) -> Option<(String, String, bool)> {
    let (scheme, rest) = split_scheme(url)?;
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
        return ipv6(v6) == Some([0, 0, 0, 0, 0, 0, 0, 1]);
    }
    ipv4(&host).is_some_and(|a| a[0] == 127)
}

/// `url` if credentials may go there: `wss://`, or `ws://` to a loopback host; no user-info.
pub(crate) fn validate_broker_url(url: &str) -> Result<String, ConfigError> {
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

/// Checks an http(s) setting: a path (same origin) or `https://` (`http://` to loopback only).
pub(crate) fn validate_http_url(setting: Setting, url: &str) -> Result<(), ConfigError> {
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
