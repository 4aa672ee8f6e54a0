//! Monotonic time and randomness from the page.

use web_sys::{Performance, Window};

/// The page's monotonic clock with its `Performance` object looked up once: the driver reads the
/// time on every input (each WebSocket frame), and fetching `window.performance` each time was a
/// measurable share of a message flood.
#[derive(Debug, Clone)]
pub struct Clock {
    performance: Option<Performance>,
}

impl Clock {
    /// The clock of `window` (`Date.now()` where `performance` is missing).
    pub fn new(window: &Window) -> Self {
        Self {
            performance: window.performance(),
        }
    }

    /// Milliseconds since the page's time origin, from `performance.now()`: monotonic,
    /// unaffected by changes to the wall clock. Falls back to `Date.now()` where `performance`
    /// is missing.
    pub fn now_ms(&self) -> f64 {
        match &self.performance {
            Some(performance) => performance.now(),
            None => js_sys::Date::now(),
        }
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

/// A client id: `prefix` followed by 12 hex digits of `seed`. Each page instance gets its own id
/// (two tabs must not take each other's session over); rotations reuse it.
pub fn client_id(prefix: &str, seed: u64) -> String {
    format!("{prefix}{:012x}", seed & 0xFFFF_FFFF_FFFF)
}

/// A fresh random client id with `prefix` (see [`client_id`]), from this page's randomness.
pub fn random_client_id(prefix: &str) -> String {
    let seed = match web_sys::window() {
        Some(window) => random_seed(&window),
        None => (js_sys::Math::random() * 2f64.powi(48)) as u64,
    };
    client_id(prefix, seed)
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
    fn a_client_id_is_the_prefix_and_twelve_hex_digits() {
        assert_eq!(client_id("livechat-", 0xABCD), "livechat-00000000abcd");
        assert_eq!(client_id("x-", u64::MAX).len(), 2 + 12);
    }

    #[test]
    fn nonsense_clock_values_become_zero() {
        assert_eq!(to_core_millis(-5.0), 0);
        assert_eq!(to_core_millis(f64::NAN), 0);
    }
}
