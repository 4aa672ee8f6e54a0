//! Instrumentation: how many browser resources the driver holds right now, and how many
//! WebSocket messages it has sent.
//!
//! Every owned resource increments its counter when it is created and decrements it in `Drop`, so
//! after every driver is dropped all counts are zero. The leak tests mount and unmount the hook
//! many times and assert exactly that. The send totals only grow, so they are kept apart
//! ([`DebugTraffic`]) and a leak test's before/after comparison is not disturbed by traffic.

use std::cell::Cell;

thread_local! {
    static COUNTS: Cell<DebugCounts> = const { Cell::new(DebugCounts::ZERO) };
    static TRAFFIC: Cell<DebugTraffic> = const { Cell::new(DebugTraffic::ZERO) };
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

/// What drivers on this thread have sent since the page loaded: totals that only grow. Compare
/// two readings to see how the bytes of some work left (tests count `WebSocket.send` calls to
/// prove that packets are joined into one message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DebugTraffic {
    /// `WebSocket.send` calls, one per WebSocket message.
    pub ws_sends: u64,
    /// Bytes handed to those calls.
    pub ws_bytes_sent: u64,
    /// PUBLISH packets received from brokers (every QoS, on connected links), counted by the
    /// session before the application sees them.
    pub publishes_received: u64,
    /// Those of them with the DUP flag set: a broker's redelivery of a QoS 1/2 message whose
    /// acknowledgement it did not get. Counted before any duplicate detection of the
    /// application, so a test can see redeliveries the UI hides.
    pub dup_publishes_received: u64,
}

impl DebugTraffic {
    const ZERO: Self = Self {
        ws_sends: 0,
        ws_bytes_sent: 0,
        publishes_received: 0,
        dup_publishes_received: 0,
    };
}

/// The send totals right now.
pub fn debug_traffic() -> DebugTraffic {
    TRAFFIC.with(Cell::get)
}

/// Counts one WebSocket message of `bytes` bytes.
pub(crate) fn count_send(bytes: usize) {
    TRAFFIC.with(|cell| {
        let mut traffic = cell.get();
        traffic.ws_sends += 1;
        traffic.ws_bytes_sent += bytes as u64;
        cell.set(traffic);
    });
}

/// Counts `publishes` received PUBLISH packets, `dup` of them with DUP set.
pub(crate) fn count_received(publishes: u64, dup: u64) {
    TRAFFIC.with(|cell| {
        let mut traffic = cell.get();
        traffic.publishes_received += publishes;
        traffic.dup_publishes_received += dup;
        cell.set(traffic);
    });
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

    #[test]
    fn each_send_adds_one_message_and_its_bytes() {
        let before = debug_traffic();
        count_send(9);
        count_send(4);
        let after = debug_traffic();
        assert_eq!(after.ws_sends - before.ws_sends, 2);
        assert_eq!(after.ws_bytes_sent - before.ws_bytes_sent, 13);
    }
}
