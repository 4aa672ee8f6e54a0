//! The driver's single timer: one `setTimeout` for the core's next deadline.
//!
//! Browsers stop running timers while the machine sleeps and throttle them in background tabs, so
//! a timer can fire long after it was due. The driver treats a large lateness as a wake-up (the
//! supervisor then re-checks an overdue token refresh and a link that may have died meanwhile).
//! To notice a sleep even when the next deadline is far away, a timer is never armed for more
//! than [`MAX_DELAY_MS`]: when it fires early the driver simply re-arms it.

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

/// Whether a timer that should have fired at `expected_ms` but fired at `fired_ms` was held back
/// by a sleep (or a frozen tab) rather than ordinary scheduling jitter.
pub fn is_drift(expected_ms: f64, fired_ms: f64) -> bool {
    fired_ms - expected_ms > DRIFT_THRESHOLD_MS
}

struct Armed {
    handle: i32,
    expected_ms: f64,
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

    /// Arms the timer `delay_ms` from `now_ms`, replacing any earlier arming.
    pub fn arm(&self, now_ms: f64, delay_ms: i32) -> Result<(), BrowserError> {
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
