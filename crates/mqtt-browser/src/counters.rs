//! Instrumentation: how many browser resources the driver holds right now.
//!
//! Every owned resource increments its counter when it is created and decrements it in `Drop`, so
//! after every driver is dropped all counts are zero. The leak tests mount and unmount the hook
//! many times and assert exactly that.

use std::cell::Cell;

thread_local! {
    static COUNTS: Cell<DebugCounts> = const { Cell::new(DebugCounts::ZERO) };
}

/// Live browser resources owned by drivers on this thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DebugCounts {
    /// Drivers alive.
    pub drivers: u32,
    /// WebSockets owned (not yet dropped; dropping closes them).
    pub sockets: u32,
    /// `setTimeout` handles armed and not yet cleared or fired.
    pub timers: u32,
    /// Event listeners registered on `window`, `document` or a socket.
    pub listeners: u32,
    /// `fetch` requests in flight (each with its `AbortController`).
    pub fetches: u32,
}

impl DebugCounts {
    const ZERO: Self = Self {
        drivers: 0,
        sockets: 0,
        timers: 0,
        listeners: 0,
        fetches: 0,
    };

    /// True when nothing at all is held.
    pub fn is_zero(&self) -> bool {
        *self == Self::ZERO
    }
}

/// The counts right now.
pub fn debug_counts() -> DebugCounts {
    COUNTS.with(Cell::get)
}

#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Driver,
    Socket,
    Timer,
    Listener,
    Fetch,
}

fn update(kind: Kind, add: bool) {
    COUNTS.with(|cell| {
        let mut counts = cell.get();
        let slot = match kind {
            Kind::Driver => &mut counts.drivers,
            Kind::Socket => &mut counts.sockets,
            Kind::Timer => &mut counts.timers,
            Kind::Listener => &mut counts.listeners,
            Kind::Fetch => &mut counts.fetches,
        };
        *slot = if add {
            slot.saturating_add(1)
        } else {
            slot.saturating_sub(1)
        };
        cell.set(counts);
    });
}

/// A counted resource: +1 when made, -1 when dropped. Embed one in each owned resource.
pub(crate) struct Counted(Kind);

impl Counted {
    pub(crate) fn new(kind: Kind) -> Self {
        update(kind, true);
        Self(kind)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        update(self.0, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counted_resource_is_counted_until_dropped() {
        let before = debug_counts();
        let socket = Counted::new(Kind::Socket);
        let timer = Counted::new(Kind::Timer);
        assert_eq!(debug_counts().sockets, before.sockets + 1);
        assert_eq!(debug_counts().timers, before.timers + 1);
        drop(socket);
        drop(timer);
        assert_eq!(debug_counts(), before);
    }
}
