//! Reconnect policy: full-jitter exponential backoff, and the small seeded PRNG that draws it.
//!
//! Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): the delay before retry
//! number `attempt` (0-based) is uniform in `[0, min(cap, base * 2^attempt)]`. The first retry
//! after a drop therefore comes at once or after a short jitter (at most `base`), and thousands of
//! tabs reconnecting after a broker restart spread out instead of arriving together.
//!
//! The attempt counter is reset only once a link has stayed connected for
//! [`BackoffPolicy::stable_after`]: a broker that accepts and drops at once must not get a
//! hammering of "first" retries.

use std::time::Duration;

/// The backoff parameters. `Default`: base 0.5 s, cap 30 s, stable after 10 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// Upper bound of the first retry's delay; doubles with each attempt.
    pub base: Duration,
    /// Largest upper bound the delay ever reaches.
    pub cap: Duration,
    /// How long a link must stay connected before the attempt counter resets.
    pub stable_after: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        BackoffPolicy {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
            stable_after: Duration::from_secs(10),
        }
    }
}

impl BackoffPolicy {
    /// The largest delay the policy can choose before retry number `attempt` (0-based).
    #[must_use]
    pub fn ceiling(&self, attempt: u32) -> Duration {
        // 2^attempt saturates long before it could overflow: 2^31 * 0.5 s is far above any cap.
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Draws the delay before retry number `attempt` (0-based), uniform in `[0, ceiling]`.
    pub fn delay(&self, attempt: u32, rng: &mut Rng) -> Duration {
        let ceiling = self.ceiling(attempt).as_millis();
        let ceiling = u64::try_from(ceiling).unwrap_or(u64::MAX);
        Duration::from_millis(rng.below_inclusive(ceiling))
    }
}

/// A small deterministic PRNG (SplitMix64). Seeded by the driver (e.g. from
/// `crypto.getRandomValues`); tests pass fixed seeds. Not for anything secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator starting from `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value uniform in `[0, max]` (the modulo bias is below 2^-40 for delays in milliseconds).
    pub fn below_inclusive(&mut self, max: u64) -> u64 {
        match max.checked_add(1) {
            Some(span) => self.next_u64() % span,
            None => self.next_u64(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_from_the_base_up_to_the_cap() {
        let policy = BackoffPolicy::default();
        let ceilings: Vec<u64> = (0..9)
            .map(|a| policy.ceiling(a).as_millis() as u64)
            .collect();
        assert_eq!(
            ceilings,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        assert_eq!(policy.ceiling(u32::MAX), policy.cap);
    }

    #[test]
    fn every_delay_lies_within_its_ceiling_for_many_seeds() {
        let policy = BackoffPolicy::default();
        for seed in 0..200 {
            let mut rng = Rng::new(seed);
            for attempt in 0..12 {
                assert!(policy.delay(attempt, &mut rng) <= policy.ceiling(attempt));
            }
        }
    }

    #[test]
    fn delays_are_spread_over_the_whole_range_not_clustered() {
        let policy = BackoffPolicy::default();
        let mut rng = Rng::new(7);
        let draws: Vec<Duration> = (0..1000).map(|_| policy.delay(6, &mut rng)).collect();
        let low = draws.iter().filter(|d| d.as_secs() < 10).count();
        let high = draws.iter().filter(|d| d.as_secs() >= 20).count();
        // Uniform over [0, 30 s]: about a third in each band; far from all-or-nothing.
        assert!((200..500).contains(&low), "{low}");
        assert!((200..500).contains(&high), "{high}");
    }

    #[test]
    fn the_same_seed_gives_the_same_sequence_and_different_seeds_differ() {
        let a: Vec<u64> = {
            let mut r = Rng::new(42);
            (0..8).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::new(42);
            (0..8).map(|_| r.next_u64()).collect()
        };
        let c: Vec<u64> = {
            let mut r = Rng::new(43);
            (0..8).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn a_zero_ceiling_means_retry_at_once() {
        let policy = BackoffPolicy {
            base: Duration::ZERO,
            ..BackoffPolicy::default()
        };
        assert_eq!(policy.delay(3, &mut Rng::new(1)), Duration::ZERO);
    }
}
