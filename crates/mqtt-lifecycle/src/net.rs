//! IP address text, as the two loopback checks need it (the token's broker URL here, the
//! configured URLs in `livechat-config`).
//!
//! Not `str::parse::<std::net::Ipv4Addr/Ipv6Addr>`: the standard parser is a generic one
//! that costs the wasm build about 2.4 KB (0.9 KB brotli) for two checks (BENCHMARKS.md, "Issue
//! 15 levers"). These accept exactly what the standard parser accepts (a native test compares
//! them on generated text): dotted-quad IPv4 with no leading zeros, and IPv6 with at most one
//! `::`, groups of one to four hex digits and an optional trailing dotted quad.

/// Reads an IPv4 address at the start of `s`: its octets and the bytes read.
fn ipv4_prefix(s: &[u8]) -> Option<([u8; 4], usize)> {
    let mut octets = [0u8; 4];
    let mut at = 0;
    for (i, octet) in octets.iter_mut().enumerate() {
        if i > 0 {
            if s.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
        let digits = s[at..]
            .iter()
            .take(3)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 || (digits > 1 && s[at] == b'0') {
            return None;
        }
        let value = s[at..at + digits]
            .iter()
            .fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
        *octet = u8::try_from(value).ok()?;
        at += digits;
    }
    Some((octets, at))
}

/// `s` as an IPv4 address (`127.0.0.1`), as `s.parse::<Ipv4Addr>()` would read it.
#[must_use]
pub fn ipv4(s: &str) -> Option<[u8; 4]> {
    match ipv4_prefix(s.as_bytes()) {
        Some((octets, n)) if n == s.len() => Some(octets),
        _ => None,
    }
}

/// Reads up to `groups.len()` `:`-separated groups at `s[*at..]` (a dotted quad may fill the
/// last two): how many were read and whether the last ones were a dotted quad.
fn ipv6_groups(s: &[u8], at: &mut usize, groups: &mut [u16]) -> (usize, bool) {
    let limit = groups.len();
    for i in 0..limit {
        let start = *at + usize::from(i > 0);
        if i > 0 && s.get(*at) != Some(&b':') {
            return (i, false);
        }
        if i + 1 < limit {
            if let Some((q, n)) = s.get(start..).and_then(ipv4_prefix) {
                groups[i] = u16::from_be_bytes([q[0], q[1]]);
                groups[i + 1] = u16::from_be_bytes([q[2], q[3]]);
                *at = start + n;
                return (i + 2, true);
            }
        }
        let digits = s
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take(4)
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        if digits == 0 {
            return (i, false);
        }
        groups[i] = s[start..start + digits].iter().fold(0, |n, &b| {
            let d = match b {
                b'0'..=b'9' => b - b'0',
                _ => (b | 0x20) - b'a' + 10,
            };
            n * 16 + u16::from(d)
        });
        *at = start + digits;
    }
    (limit, false)
}

/// `s` as an IPv6 address without brackets (`::1`), its eight groups, as
/// `s.parse::<Ipv6Addr>()` would read it.
#[must_use]
pub fn ipv6(s: &str) -> Option<[u16; 8]> {
    let s = s.as_bytes();
    let mut at = 0;
    let mut head = [0u16; 8];
    let (head_size, head_ipv4) = ipv6_groups(s, &mut at, &mut head);
    if head_size < 8 {
        // A dotted quad ends the address; otherwise `::` stands for at least one zero group.
        if head_ipv4 || s.get(at..at + 2) != Some(b"::") {
            return None;
        }
        at += 2;
        let mut tail = [0u16; 7];
        let limit = 7 - head_size;
        let (tail_size, _) = ipv6_groups(s, &mut at, &mut tail[..limit]);
        head[8 - tail_size..].copy_from_slice(&tail[..tail_size]);
    }
    (at == s.len()).then_some(head)
}

/// `s` split around the first `needle` (not empty), as `s.split_once(needle)`. By hand because
/// a string pattern links core's two-way string searcher into the wasm build, and slicing a
/// `str` by index links its panic message (which formats the offending char with `Debug`,
/// Unicode tables and all): about 5 KB raw for the few places that used them.
pub fn split_once_str<'a>(s: &'a str, needle: &str) -> Option<(&'a str, &'a str)> {
    let at = s
        .as_bytes()
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())?;
    Some((s.get(..at)?, s.get(at + needle.len()..)?))
}

/// `url` split around its first `://` (see [`split_once_str`]).
pub fn split_scheme(url: &str) -> Option<(&str, &str)> {
    split_once_str(url, "://")
}

/// `s` as a `u64`, exactly as `s.parse::<u64>()` reads it: an optional `+`, then one or more
/// ASCII digits, and no overflow.
///
/// Not `str::parse`: the standard integer parser is instantiated per integer type, and with the
/// `i64` one below this one function replaces four of them in the wasm build (a native test
/// compares both with the standard parser).
#[must_use]
pub fn parse_u64(s: &str) -> Option<u64> {
    digits_u64(s.strip_prefix('+').unwrap_or(s))
}

/// `s` as an `i64`, exactly as `s.parse::<i64>()` reads it: an optional `+` or `-`, then one or
/// more ASCII digits, within range.
#[must_use]
pub fn parse_i64(s: &str) -> Option<i64> {
    match s.strip_prefix('-') {
        // 2^63 is the magnitude of `i64::MIN`, which wraps onto itself.
        Some(digits) => match digits_u64(digits)? {
            n if n <= 1 << 63 => Some((n as i64).wrapping_neg()),
            _ => None,
        },
        None => i64::try_from(parse_u64(s)?).ok(),
    }
}

/// One or more ASCII digits and nothing else, as a `u64` that does not overflow.
fn digits_u64(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.bytes().try_fold(0u64, |n, b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn same_as_std(text: &str) {
        assert_eq!(
            ipv4(text),
            text.parse::<Ipv4Addr>().ok().map(|a| a.octets()),
            "{text:?} as IPv4"
        );
        assert_eq!(
            ipv6(text),
            text.parse::<Ipv6Addr>().ok().map(|a| a.segments()),
            "{text:?} as IPv6"
        );
    }

    #[test]
    fn known_forms_read_as_the_standard_parser_reads_them() {
        for text in [
            "",
            "127.0.0.1",
            "127.1",
            "0.0.0.0",
            "255.255.255.255",
            "256.0.0.1",
            "01.0.0.1",
            "1.2.3.4.",
            "1.2.3",
            "1..2.3",
            "127.000.0.1",
            "::1",
            "::",
            ":",
            ":::",
            "0:0:0:0:0:0:0:1",
            "0000:0000::0001",
            "::0:1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7",
            "fe80::1",
            "FE80::aBcD",
            "12345::",
            "1::2::3",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "1.2.3.4::",
            "1.2.3.4:1::",
            "::1.2.3.4:5",
            "1:2:3:4:5:1.2.3.4::",
            "::01.2.3.4",
            "g::1",
            " ::1",
            "::1 ",
            "[::1]",
            "1:2:3:4:5:6::1.2.3.4",
            "1:2:3:4:5::1.2.3.4",
            "::1:2:3:4:5:6:7",
            ":1::",
            "1:::2",
        ] {
            same_as_std(text);
        }
    }

    #[test]
    fn generated_text_reads_as_the_standard_parser_reads_it() {
        // Every string of up to 5 characters over an alphabet that exercises each rule, and
        // longer ones from a fixed pseudo-random sequence (no timing, no randomness per run).
        let alphabet = b"0129af:.";
        let mut text = Vec::new();
        fn all(alphabet: &[u8], text: &mut Vec<u8>, depth: usize) {
            same_as_std(std::str::from_utf8(text).unwrap());
            if depth == 0 {
                return;
            }
            for &c in alphabet {
                text.push(c);
                all(alphabet, text, depth - 1);
                text.pop();
            }
        }
        all(alphabet, &mut text, 5);
        let alphabet = b"0001fF:::..9";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 40) as usize;
            let text: String = (0..len)
                .map(|i| alphabet[((state >> (i % 60)) as usize + i * 7) % alphabet.len()] as char)
                .collect();
            same_as_std(&text);
        }
    }

    #[test]
    fn integers_read_as_the_standard_parser_reads_them() {
        fn same_as_std(s: &str) {
            assert_eq!(parse_u64(s), s.parse::<u64>().ok(), "u64 {s:?}");
            assert_eq!(parse_i64(s), s.parse::<i64>().ok(), "i64 {s:?}");
        }
        for s in [
            "",
            "+",
            "-",
            "0",
            "-0",
            "+0",
            "00",
            "007",
            "+-1",
            "-+1",
            "--1",
            "++1",
            " 1",
            "1 ",
            "1.0",
            "1e3",
            "0x10",
            "١",
            "18446744073709551615",
            "18446744073709551616",
            "+18446744073709551615",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "-18446744073709551615",
            "99999999999999999999999",
        ] {
            same_as_std(s);
        }
    }

    proptest::proptest! {
        #[test]
        fn integers_read_as_std_on_generated_text(s in "[-+]{0,2}[0-9]{0,21}|[-+0-9a /.]{0,8}") {
            proptest::prop_assert_eq!(parse_u64(&s), s.parse::<u64>().ok());
            proptest::prop_assert_eq!(parse_i64(&s), s.parse::<i64>().ok());
        }
    }

    proptest::proptest! {
        #[test]
        fn split_once_str_is_split_once(
            s in "[a:/{}éü]{0,12}",
            needle in proptest::sample::select(vec!["://", ":", "{userId}", "é/", "aa"]),
        ) {
            proptest::prop_assert_eq!(split_once_str(&s, needle), s.split_once(needle));
        }
    }
}
