//! Parsing of wall-clock times found in token responses: epoch seconds, epoch milliseconds,
//! RFC 3339 and HTTP dates (`Date`, `Retry-After`).
//!
//! Everything here is pure arithmetic on the text it is given: no clock is read. Times are
//! [`EpochMillis`], milliseconds since 1970-01-01T00:00:00Z, signed so that differences between
//! two clocks can be taken without overflow games.

/// Milliseconds since the Unix epoch (UTC), as written by some server.
pub type EpochMillis = i64;

/// A JSON number at or above this is read as epoch milliseconds, below it as epoch seconds.
///
/// 10^11 seconds is the year 5138; 10^11 milliseconds is March 1973. No token issued today is
/// ambiguous under this rule.
const MILLIS_THRESHOLD: f64 = 1e11;

/// Reads a numeric epoch time, deciding between seconds and milliseconds by magnitude.
///
/// Returns `None` for negative, non-finite or absurdly large values.
pub fn epoch_number(value: f64) -> Option<EpochMillis> {
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    let millis = if value >= MILLIS_THRESHOLD {
        value
    } else {
        value * 1000.0
    };
    // Beyond year ~285 000 the value is garbage, and casting would saturate silently.
    if millis > 9.0e15 {
        return None;
    }
    Some(millis.round() as EpochMillis)
}

/// Reads a time written as text: a number (epoch seconds or milliseconds) or RFC 3339.
pub fn text_time(text: &str) -> Option<EpochMillis> {
    let text = text.trim();
    if let Ok(number) = text.parse::<f64>() {
        return epoch_number(number);
    }
    rfc3339(text)
}

/// Parses an RFC 3339 timestamp (`2026-11-28T10:00:00Z`, `2026-11-28T10:00:00.250+01:00`).
///
/// A space is accepted in place of `T`, and `t`/`z` in lower case, as RFC 3339 allows.
pub fn rfc3339(text: &str) -> Option<EpochMillis> {
    let b = text.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            // Only the first three fractional digits matter at millisecond precision.
            if i - start < 3 {
                millis = millis * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..3 {
            millis *= 10;
        }
    }
    let offset_minutes = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = digits(b, i + 1, 2)?;
            let om = digits(b, i + 4, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let total = oh * 60 + om;
            if *sign == b'-' {
                -total
            } else {
                total
            }
        }
        _ => return None,
    };
    let local = civil_millis(year, month, day, hour, minute, second)? + millis;
    Some(local - offset_minutes * 60_000)
}

/// Parses an HTTP date (RFC 9110 §5.6.7): IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`),
/// and the obsolete RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime
/// (`Sun Nov  6 08:49:37 1994`) forms that recipients must still accept.
pub fn http_date(text: &str) -> Option<EpochMillis> {
    let mut day = None;
    let mut month = None;
    let mut year = None;
    let mut time = None;
    for token in text.split([' ', ',', '-']).filter(|t| !t.is_empty()) {
        if token.contains(':') {
            let mut parts = token.split(':');
            let h = parts.next()?.parse::<i64>().ok()?;
            let m = parts.next()?.parse::<i64>().ok()?;
            let s = parts.next()?.parse::<i64>().ok()?;
            if parts.next().is_some() {
                return None;
            }
            time = Some((h, m, s));
        } else if let Some(index) = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(token)) {
            month = Some(index as i64 + 1);
        } else if token.bytes().all(|c| c.is_ascii_digit()) {
            let n = token.parse::<i64>().ok()?;
            match token.len() {
                1 | 2 if day.is_none() => day = Some(n),
                // RFC 850 two-digit years: RFC 9110 says to read a year more than 50 years in the
                // future as the past century; every year we can meet is 19xx or 20xx.
                2 => year = Some(if n < 70 { 2000 + n } else { 1900 + n }),
                4 => year = Some(n),
                _ => return None,
            }
        } else if !(token.eq_ignore_ascii_case("GMT") || token.eq_ignore_ascii_case("UTC")) {
            // Day names are ignored but must be letters.
            if !token.bytes().all(|c| c.is_ascii_alphabetic()) {
                return None;
            }
        }
    }
    let (h, m, s) = time?;
    civil_millis(year?, month?, day?, h, m, s)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn digits(b: &[u8], start: usize, len: usize) -> Option<i64> {
    let slice = b.get(start..start + len)?;
    let mut n = 0i64;
    for &c in slice {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(c - b'0');
    }
    Some(n)
}

/// Milliseconds since the epoch of a UTC civil time, or `None` if a field is out of range.
/// A leap second (`:60`) is folded into the next second, as POSIX time does.
fn civil_millis(year: i64, month: i64, day: i64, h: i64, m: i64, s: i64) -> Option<EpochMillis> {
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if !(0..=23).contains(&h) || !(0..=59).contains(&m) || !(0..=60).contains(&s) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + h) * 60 + m) * 60_000 + s * 1000)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-28T10:00:00Z, computed independently: `date -u -d 2026-11-28T10:00:00Z +%s`.
    const T: EpochMillis = 1_795_860_000_000;

    #[test]
    fn rfc3339_utc_and_offsets_give_the_same_instant() {
        assert_eq!(rfc3339("2026-11-28T10:00:00Z"), Some(T));
        assert_eq!(rfc3339("2026-11-28T11:30:00+01:30"), Some(T));
        assert_eq!(rfc3339("2026-11-28T05:00:00-05:00"), Some(T));
        assert_eq!(rfc3339("2026-11-28 10:00:00z"), Some(T));
    }

    #[test]
    fn rfc3339_fractions_are_kept_to_the_millisecond() {
        assert_eq!(rfc3339("2026-11-28T10:00:00.25Z"), Some(T + 250));
        assert_eq!(rfc3339("2026-11-28T10:00:00.123456789Z"), Some(T + 123));
    }

    #[test]
    fn rfc3339_garbage_and_impossible_dates_are_refused() {
        for bad in [
            "",
            "2026-11-28",
            "2026-11-28T10:00:00",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-28T24:00:00Z",
            "2026-11-28T10:00:00.Z",
            "2026-11-28T10:00:00+0100",
            "2026-11-28T10:00:00Zjunk",
        ] {
            assert_eq!(rfc3339(bad), None, "{bad:?}");
        }
        assert!(rfc3339("2024-02-29T00:00:00Z").is_some());
    }

    #[test]
    fn the_epoch_itself_is_zero() {
        assert_eq!(rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
    }

    #[test]
    fn all_three_http_date_forms_are_read() {
        // The example dates from RFC 9110 §5.6.7.
        let expected = Some(784_111_777_000);
        assert_eq!(http_date("Sun, 06 Nov 1994 08:49:37 GMT"), expected);
        assert_eq!(http_date("Sunday, 06-Nov-94 08:49:37 GMT"), expected);
        assert_eq!(http_date("Sun Nov  6 08:49:37 1994"), expected);
    }

    #[test]
    fn http_date_garbage_is_refused() {
        for bad in [
            "",
            "tomorrow",
            "Sun, 06 Nov 1994 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn numbers_are_seconds_or_milliseconds_by_magnitude() {
        assert_eq!(epoch_number(1_795_860_000.0), Some(T));
        assert_eq!(epoch_number(1_795_860_000_000.0), Some(T));
        assert_eq!(epoch_number(1_795_860_000.5), Some(T + 500));
        assert_eq!(epoch_number(-1.0), None);
        assert_eq!(epoch_number(f64::NAN), None);
        assert_eq!(text_time(" 1795860000 "), Some(T));
        assert_eq!(text_time("2026-11-28T10:00:00Z"), Some(T));
    }
}
