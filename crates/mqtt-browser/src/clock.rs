//! Monotonic time and randomness from the page.

use web_sys::Window;

/// Milliseconds since the page's time origin, from `performance.now()`: monotonic, unaffected
/// by changes to the wall clock. Falls back to `Date.now()` where `performance` is missing.
pub fn now_ms(window: &Window) -> f64 {
    match window.performance() {
        Some(performance) => performance.now(),
        None => js_sys::Date::now(),
    }
}

/// A 64-bit seed for the supervisor's PRNG (backoff jitter), from `crypto.getRandomValues`, or
/// from `Math.random` where Web Crypto is unavailable.
pub fn random_seed(window: &Window) -> u64 {
    let mut bytes = [0u8; 8];
    let filled = window
        .crypto()
        .ok()
        .and_then(|crypto| crypto.get_random_values_with_u8_array(&mut bytes).ok())
        .is_some();
    if filled {
        u64::from_le_bytes(bytes)
    } else {
        let high = (js_sys::Math::random() * f64::from(u32::MAX)) as u64;
        let low = (js_sys::Math::random() * f64::from(u32::MAX)) as u64;
        (high << 32) | low
    }
}

/// Converts `performance.now()` milliseconds to the core's whole-millisecond instant count.
pub fn to_core_millis(now_ms: f64) -> u64 {
    if now_ms.is_finite() && now_ms > 0.0 {
        now_ms.floor() as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_milliseconds_become_whole_core_milliseconds() {
        assert_eq!(to_core_millis(1234.9), 1234);
        assert_eq!(to_core_millis(0.2), 0);
    }

    #[test]
    fn nonsense_clock_values_become_zero() {
        assert_eq!(to_core_millis(-5.0), 0);
        assert_eq!(to_core_millis(f64::NAN), 0);
    }
}
