//! The driver's single timer: one `setTimeout` for the core's next deadline.
//!
//! Browsers stop running timers while the machine sleeps and throttle them in background tabs, so
//! a timer can fire long after it was due. The driver treats a large lateness as a wake-up (the
//! supervisor then re-checks an overdue token refresh and a link that may have died meanwhile).
//! To notice a sleep even when the next deadline is far away, a timer is never armed for more
//! than [`MAX_DELAY_MS`]: when it fires early the driver simply re-arms it.
//!
//! The driver asks for the core's deadline after every input, and most inputs (each incoming
//! frame) move it later or leave it. Re-arming each time (`clearTimeout` + `setTimeout`) was a
//! visible share of a message flood, so [`Timer::arm_by`] keeps an armed timer that fires no later
//! than wanted ([`keeps_armed`]): it may then fire before the deadline, which the driver handles
//! like the cap above (nothing is due, it re-arms). A deadline moved earlier always re-arms.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::Window;

use crate::counters::{Counted, Kind};
use crate::error::{BrowserError, JsError};

/// Longest single `setTimeout` the driver arms, in milliseconds.
pub const MAX_DELAY_MS: f64 = 30_000.0;

/// How late a timer may fire before the driver treats it as a wake from sleep, in milliseconds.
/// Background tabs delay timers by up to about a minute, which such a wake covers harmlessly.
pub const DRIFT_THRESHOLD_MS: f64 = 5_000.0;

/// The delay to arm for a deadline, both in `performance.now()` milliseconds: never negative and
/// never more than [`MAX_DELAY_MS`].
pub fn delay_until(now_ms: f64, deadline_ms: f64) -> i32 {
    let delay = (deadline_ms - now_ms).clamp(0.0, MAX_DELAY_MS);
    // Round up: firing a millisecond early would find nothing due and re-arm for 0 ms.
    delay.ceil() as i32
}

/// When a timer for `deadline_ms` must fire, both in `performance.now()` milliseconds: at the
/// deadline, or [`MAX_DELAY_MS`] from now if that is sooner.
pub fn fire_by(now_ms: f64, deadline_ms: f64) -> f64 {
    deadline_ms.min(now_ms + MAX_DELAY_MS)
}

/// Whether a timer armed to fire by `armed_by_ms` can stay armed when it is now wanted by
/// `wanted_by_ms` (both from [`fire_by`]): yes when it fires no later, since an early fire only
/// re-arms; no when the wanted time moved earlier, or it would fire late.
pub fn keeps_armed(armed_by_ms: f64, wanted_by_ms: f64) -> bool {
    armed_by_ms <= wanted_by_ms
}

/// Whether a timer that should have fired at `expected_ms` but fired at `fired_ms` was held back
/// by a sleep (or a frozen tab) rather than ordinary scheduling jitter.
pub fn is_drift(expected_ms: f64, fired_ms: f64) -> bool {
    fired_ms - expected_ms > DRIFT_THRESHOLD_MS
}

struct Armed {
    handle: i32,
    /// When the `setTimeout` is due: `now + delay`, what lateness is measured from.
    expected_ms: f64,
    /// The [`fire_by`] time it was armed for, what a new deadline is compared with.
    by_ms: f64,
    _counted: Counted,
}

/// One re-armable `setTimeout`. Cleared on drop.
pub struct Timer {
    window: Window,
    armed: Rc<RefCell<Option<Armed>>>,
    closure: Closure<dyn FnMut()>,
}

impl Timer {
    /// A disarmed timer that calls `on_fire(expected_ms)` each time it fires, where
    /// `expected_ms` is the `performance.now()` time it was armed for.
    pub fn new(window: Window, on_fire: Rc<dyn Fn(f64)>) -> Self {
        let armed: Rc<RefCell<Option<Armed>>> = Rc::default();
        let slot = armed.clone();
        let closure: Closure<dyn FnMut()> = Closure::new(move || {
            // Take (and so un-count) the handle before calling out: the callback re-arms.
            let fired = slot.borrow_mut().take();
            if let Some(fired) = fired {
                on_fire(fired.expected_ms);
            }
        });
        Self {
            window,
            armed,
            closure,
        }
    }

    /// Makes the timer fire by the deadline `deadline_ms` (or [`MAX_DELAY_MS`] from `now_ms` if
    /// sooner), both `performance.now()` milliseconds. An armed timer that fires no later is kept
    /// ([`keeps_armed`]); otherwise the timer is re-armed.
    pub fn arm_by(&self, now_ms: f64, deadline_ms: f64) -> Result<(), BrowserError> {
        let by_ms = fire_by(now_ms, deadline_ms);
        let keep = self
            .armed
            .borrow()
            .as_ref()
            .is_some_and(|armed| keeps_armed(armed.by_ms, by_ms));
        if keep {
            return Ok(());
        }
        self.arm_at(now_ms, delay_until(now_ms, deadline_ms), by_ms)
    }

    fn arm_at(&self, now_ms: f64, delay_ms: i32, by_ms: f64) -> Result<(), BrowserError> {
        self.disarm();
        let handle = self
            .window
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                self.closure.as_ref().unchecked_ref(),
                delay_ms,
            )
            .map_err(|e| BrowserError::Timer(JsError::from(e)))?;
        *self.armed.borrow_mut() = Some(Armed {
            handle,
            expected_ms: now_ms + f64::from(delay_ms),
            by_ms,
            _counted: Counted::new(Kind::Timer),
        });
        Ok(())
    }

    /// Clears the pending `setTimeout`, if any.
    pub fn disarm(&self) {
        if let Some(armed) = self.armed.borrow_mut().take() {
            self.window.clear_timeout_with_handle(armed.handle);
        }
    }

    /// When the timer is due, in `performance.now()` milliseconds, if armed.
    #[cfg(all(test, target_arch = "wasm32"))]
    pub fn expected_at(&self) -> Option<f64> {
        self.armed.borrow().as_ref().map(|a| a.expected_ms)
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.disarm();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_past_deadline_is_armed_for_zero() {
        assert_eq!(delay_until(1_000.0, 500.0), 0);
    }

    #[test]
    fn a_near_deadline_is_armed_rounded_up() {
        assert_eq!(delay_until(1_000.0, 1_250.4), 251);
    }

    #[test]
    fn a_far_deadline_is_capped_so_sleep_is_noticed() {
        assert_eq!(delay_until(0.0, 3_600_000.0), MAX_DELAY_MS as i32);
    }

    #[test]
    fn a_timer_is_wanted_by_the_deadline_or_the_cap_whichever_is_sooner() {
        assert_eq!(fire_by(1_000.0, 1_250.0), 1_250.0);
        assert_eq!(fire_by(1_000.0, 500.0), 500.0);
        assert_eq!(fire_by(1_000.0, 3_600_000.0), 1_000.0 + MAX_DELAY_MS);
    }

    #[test]
    fn a_deadline_moved_later_keeps_the_armed_timer() {
        let armed = fire_by(1_000.0, 31_000.0);
        assert!(keeps_armed(armed, fire_by(1_005.0, 31_000.0)));
        assert!(keeps_armed(armed, fire_by(1_005.0, 31_005.0)));
        // A far deadline is capped from a later `now`, which is later still.
        let capped = fire_by(1_000.0, 3_600_000.0);
        assert!(keeps_armed(capped, fire_by(1_005.0, 3_600_000.0)));
    }

    #[test]
    fn a_deadline_moved_earlier_rearms() {
        let armed = fire_by(1_000.0, 31_000.0);
        assert!(!keeps_armed(armed, fire_by(1_005.0, 30_999.0)));
        assert!(!keeps_armed(armed, fire_by(1_005.0, 900.0)));
    }

    #[test]
    fn ordinary_jitter_is_not_drift() {
        assert!(!is_drift(10_000.0, 10_040.0));
        assert!(!is_drift(10_000.0, 10_000.0 + DRIFT_THRESHOLD_MS));
    }

    #[test]
    fn firing_long_after_the_deadline_is_drift() {
        assert!(is_drift(10_000.0, 10_000.0 + DRIFT_THRESHOLD_MS + 1.0));
        assert!(is_drift(10_000.0, 3_600_000.0));
    }
}

/// The rule on a real `setTimeout` (headless Chromium, no network): `now_ms` values are made up,
/// so only which arming is kept is checked, never when anything fires.
#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests {
    use std::rc::Rc;

    use wasm_bindgen_test::*;

    use super::*;

    wasm_bindgen_test_configure!(run_in_browser);

    fn timer() -> Timer {
        let window = web_sys::window().expect("a window");
        Timer::new(window, Rc::new(|_| {}))
    }

    #[wasm_bindgen_test]
    fn a_later_deadline_keeps_the_armed_set_timeout() {
        let timer = timer();
        timer.arm_by(1_000.0, 11_000.0).expect("armed");
        timer.arm_by(1_005.0, 12_000.0).expect("armed");
        assert_eq!(timer.expected_at(), Some(11_000.0));
    }

    #[wasm_bindgen_test]
    fn an_earlier_deadline_rearms_the_set_timeout() {
        let timer = timer();
        timer.arm_by(1_000.0, 11_000.0).expect("armed");
        timer.arm_by(1_005.0, 6_000.0).expect("armed");
        assert_eq!(timer.expected_at(), Some(6_000.0));
    }

    #[wasm_bindgen_test]
    fn a_disarmed_timer_is_armed_for_the_deadline() {
        let timer = timer();
        timer.arm_by(1_000.0, 11_000.0).expect("armed");
        timer.disarm();
        timer.arm_by(1_005.0, 12_000.0).expect("armed");
        assert_eq!(timer.expected_at(), Some(12_000.0));
    }
}
