//! Monotonic time as an input.

use core::ops::{Add, AddAssign};
use core::time::Duration;

/// A point on a monotonic millisecond clock with an arbitrary origin.
///
/// The session never reads a clock: every input carries `now`. The browser driver builds it from
/// `performance.now()`, tests from a fake clock. Arithmetic saturates instead of overflowing, and
/// durations are truncated to whole milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The instant `millis` milliseconds after the clock's origin.
    #[must_use]
    pub const fn from_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the clock's origin.
    #[must_use]
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    #[must_use]
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// `self + duration`, or `None` on overflow.
    #[must_use]
    pub fn checked_add(self, duration: Duration) -> Option<Instant> {
        let millis = u64::try_from(duration.as_millis()).ok()?;
        self.0.checked_add(millis).map(Instant)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// Saturates at the end of time rather than overflowing.
    fn add(self, rhs: Duration) -> Instant {
        self.checked_add(rhs).unwrap_or(Instant(u64::MAX))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_a_duration_moves_the_instant_by_whole_milliseconds() {
        let t = Instant::from_millis(1_000) + Duration::from_micros(2_500);
        assert_eq!(t.as_millis(), 1_002);
    }

    #[test]
    fn adding_saturates_instead_of_overflowing() {
        let t = Instant::from_millis(u64::MAX - 1) + Duration::from_secs(1);
        assert_eq!(t, Instant::from_millis(u64::MAX));
        assert_eq!(
            Instant::from_millis(u64::MAX).checked_add(Duration::from_millis(1)),
            None
        );
    }

    #[test]
    fn duration_since_a_later_instant_is_zero() {
        let early = Instant::from_millis(5);
        let late = Instant::from_millis(9);
        assert_eq!(
            late.saturating_duration_since(early),
            Duration::from_millis(4)
        );
        assert_eq!(early.saturating_duration_since(late), Duration::ZERO);
    }
}
