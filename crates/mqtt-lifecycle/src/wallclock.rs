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
    if let Some(number) = decimal(text) {
        return epoch_number(number);
    }
    rfc3339(text)
}

/// Reads a decimal number in the syntax `str::parse::<f64>` accepts (`[+-]digits[.digits][e[+-]digits]`,
/// with a digit on at least one side of the point), without pulling core's float parser into the
/// wasm (its code and 10 KB power-of-five table are a tenth of the app's compressed size).
///
/// `inf` and `nan` are not recognised: every caller refuses non-finite values anyway. The value is the
/// same correctly rounded `f64` whenever the number is an integer of at most 15 digits times
/// 10^k with |k| <= 22 (every epoch time in seconds with up to 5 decimals, or in milliseconds);
/// beyond that it may differ in the last bits, far below a millisecond.
pub(crate) fn decimal(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let mut i = 0;
    let negative = matches!(b.first(), Some(b'-'));
    if matches!(b.first(), Some(b'-' | b'+')) {
        i = 1;
    }
    // The first 19 significant digits (they fit a u64), and the power of ten they are scaled by.
    let mut significand = 0u64;
    let mut kept = 0;
    let mut exponent = 0i64;
    let mut seen = false;
    let mut point = false;
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => {
                seen = true;
                if kept < 19 {
                    if significand > 0 || c != b'0' {
                        significand = significand * 10 + u64::from(c - b'0');
                        kept += 1;
                    }
                    if point {
                        exponent -= 1;
                    }
                } else if !point {
                    exponent += 1;
                }
            }
            b'.' if !point => point = true,
            _ => break,
        }
        i += 1;
    }
    if !seen {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let sign = if matches!(b.get(i), Some(b'-')) {
            -1
        } else {
            1
        };
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let start = i;
        let mut e = 0i64;
        while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            e = (e * 10 + i64::from(c - b'0')).min(1 << 40);
            i += 1;
        }
        if i == start {
            return None;
        }
        exponent += sign * e;
    }
    if i != b.len() {
        return None;
    }
    let mut value = significand as f64;
    if significand != 0 {
        // Exact when the significand fits 53 bits and |exponent| <= 22: both operands are then
        // exact and IEEE division and multiplication round once (Clinger's fast path).
        // The loops stop once the value is infinite or zero, so a huge exponent costs nothing.
        while exponent > 0 && value.is_finite() {
            let step = exponent.min(22);
            value *= POWERS_OF_TEN[step as usize];
            exponent -= step;
        }
        while exponent < 0 && value != 0.0 {
            let step = (-exponent).min(22);
            value /= POWERS_OF_TEN[step as usize];
            exponent += step;
        }
    }
    Some(if negative { -value } else { value })
}

/// 10^0 ..= 10^22, the powers of ten an `f64` holds exactly.
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

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
            let h = crate::net::parse_i64(parts.next()?)?;
            let m = crate::net::parse_i64(parts.next()?)?;
            let s = crate::net::parse_i64(parts.next()?)?;
            if parts.next().is_some() {
                return None;
            }
            time = Some((h, m, s));
        } else if let Some(index) = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(token)) {
            month = Some(index as i64 + 1);
        } else if token.bytes().all(|c| c.is_ascii_digit()) {
            let n = crate::net::parse_i64(token)?;
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

    /// `text_time` as it was written before it had its own number reader.
    fn text_time_with_core_parser(text: &str) -> Option<EpochMillis> {
        let text = text.trim();
        match text.parse::<f64>() {
            Ok(number) => epoch_number(number),
            Err(_) => rfc3339(text),
        }
    }

    /// A small deterministic generator (an LCG), so the cases are the same on every run.
    struct Cases(u64);
    impl Cases {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (self.0 >> 33) % n
        }
        fn string(&mut self, alphabet: &[u8], max_len: u64) -> String {
            let len = self.below(max_len + 1);
            (0..len)
                .map(|_| char::from(alphabet[self.below(alphabet.len() as u64) as usize]))
                .collect()
        }
    }

    #[test]
    fn number_syntax_is_the_one_of_str_parse_f64() {
        for text in [
            "",
            "+",
            "-",
            ".",
            "e5",
            "1e",
            "1e+",
            "1e-",
            "+.5",
            "-.5",
            "5.",
            ".5e1",
            "1.2.3",
            "1e5.5",
            "1_000",
            "0x10",
            "1 2",
            "--1",
            "+-1",
            "inf",
            "-inf",
            "NaN",
            "infinity",
            "-0",
            "-0.0",
            "-0e9",
            "+0",
            "007",
            "0.001",
            "1E3",
            "1e+3",
            "1795860000",
            "1795860000.25",
            "1795860000250",
            "17958600002500e-1",
            "1.79586e9",
            "1e-400",
            "-1e-400",
            "1e400",
            "1e99999999999999999999",
            "-1e-99999999999999999999",
            "00000000000000000000001795860000",
            "1795860000.000000000000000000001",
            "179586000000000000000000e-14",
        ] {
            assert_eq!(
                text_time(text),
                text_time_with_core_parser(text),
                "{text:?}"
            );
        }
        let mut cases = Cases(7);
        for _ in 0..20_000 {
            let text = cases.string(b"0123456789.+-eE", 12);
            assert_eq!(
                text_time(&text),
                text_time_with_core_parser(&text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn numbers_read_as_milliseconds_agree_with_str_parse_f64() {
        // What `token::seconds_field` does with the value.
        let millis = |v: f64| (v.is_finite() && v.abs() < 1e12).then(|| (v * 1000.0).round());
        let mut cases = Cases(3);
        for _ in 0..20_000 {
            let text = cases.string(b"0123456789.+-eE", 12);
            assert_eq!(
                decimal(&text).and_then(millis),
                text.parse::<f64>().ok().and_then(millis),
                "{text:?}"
            );
        }
    }

    #[test]
    fn up_to_15_digits_the_value_is_the_correctly_rounded_one() {
        let mut cases = Cases(11);
        for _ in 0..20_000 {
            let digits = cases.string(b"0123456789", 15);
            let split = cases.below(digits.len() as u64 + 1) as usize;
            // The value is digits × 10^(exponent − fraction digits): keep that power within ±22.
            let fraction = (digits.len() - split) as i64;
            let exponent = cases.below(45) as i64 - 22 + fraction;
            let text = format!("{}.{}e{exponent}", &digits[..split], &digits[split..]);
            let expected = text.parse::<f64>().ok().map(f64::to_bits);
            assert_eq!(decimal(&text).map(f64::to_bits), expected, "{text:?}");
        }
    }
}
