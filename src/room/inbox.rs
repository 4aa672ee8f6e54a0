//! Batching incoming payloads: one reducer action (and one render) per window, however fast
//! messages arrive: 50 ms, 500 ms after a flood-sized batch, and at once when a batch holds
//! [`BATCH_CAP`] payloads.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use yew::prelude::*;

use crate::chat::{ChatAction, ChatState, Inbound};

/// How long payloads are collected before one render (ms).
pub const BATCH_WINDOW_MS: u32 = 50;
/// The window after a batch of at least [`FLOOD_BATCH`] payloads (ms): in a flood each render
/// replaces most of the listed messages, so fewer renders lose nothing anyone could read.
pub const FLOOD_WINDOW_MS: u32 = 500;
/// A batch this large (2,000 payloads a second in 50 ms) means a flood.
pub const FLOOD_BATCH: usize = 100;
/// A batch is handed over at once when it holds this many payloads, whatever the window: it
/// bounds what a flood holds at a time (wasm memory never shrinks: with 500 ms batches of up to
/// 5,000 payloads the app kept 2.4 MB after the bench flood, 1.5 MB without), and the list
/// shows the last 500 anyway.
pub const BATCH_CAP: usize = 1_000;
const _: () = assert!(BATCH_CAP > FLOOD_BATCH);

/// The window to collect the next batch for, after a batch of `last` payloads.
fn window_after(last: usize) -> u32 {
    if last >= FLOOD_BATCH {
        FLOOD_WINDOW_MS
    } else {
        BATCH_WINDOW_MS
    }
}

struct Inbox {
    pending: Vec<Inbound>,
    // Owned: dropping the inbox (unmount) cancels a pending flush.
    flush: Option<Timeout>,
    /// How many payloads the last batch held.
    last: usize,
}

/// A handle that queues payloads for the chat reducer.
#[derive(Clone)]
pub struct BatchedInbox {
    inbox: Rc<RefCell<Inbox>>,
    dispatcher: UseReducerDispatcher<ChatState>,
}

impl BatchedInbox {
    /// Queues one payload; the batch is dispatched within [`BATCH_WINDOW_MS`] (within
    /// [`FLOOD_WINDOW_MS`] when the last batch was a flood's), at once when it holds
    /// [`BATCH_CAP`] payloads.
    pub fn push(&self, payload: Inbound) {
        let mut inbox = self.inbox.borrow_mut();
        inbox.pending.push(payload);
        if let Some(delay) = next_flush(inbox.pending.len(), inbox.flush.is_some(), inbox.last) {
            // Replacing the timer cancels the one it replaces.
            inbox.flush = Some(self.flush_after(delay));
        }
    }

    /// A timer that hands the pending payloads to the reducer after `ms`.
    fn flush_after(&self, ms: u32) -> Timeout {
        let (cell, dispatcher) = (Rc::downgrade(&self.inbox), self.dispatcher.clone());
        Timeout::new(ms, move || {
            let Some(cell) = cell.upgrade() else { return };
            let batch = {
                let mut inbox = cell.borrow_mut();
                inbox.flush = None;
                inbox.last = inbox.pending.len();
                std::mem::take(&mut inbox.pending)
            };
            if !batch.is_empty() {
                // The driver's totals, once per batch: per message, the hook's property
                // names were 28 % of the strings a bench flood handed to JS.
                crate::bench_hook::report_received();
                dispatcher.dispatch(ChatAction::Received(batch));
            }
        })
    }
}

/// When to (re)schedule the flush after a push, given how many payloads are pending, whether
/// a flush is scheduled, and the size of the last batch: `None` keeps the scheduled one.
fn next_flush(pending: usize, scheduled: bool, last: usize) -> Option<u32> {
    if pending == BATCH_CAP {
        Some(0)
    } else if !scheduled {
        Some(window_after(last))
    } else {
        None
    }
}

/// The batching inbox for `dispatcher`, stable across renders.
#[hook]
pub fn use_batched_inbox(dispatcher: UseReducerDispatcher<ChatState>) -> BatchedInbox {
    let inbox = use_mut_ref(|| Inbox {
        pending: Vec::new(),
        flush: None,
        last: 0,
    });
    BatchedInbox { inbox, dispatcher }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_widens_only_after_a_flood_sized_batch() {
        assert_eq!(window_after(0), BATCH_WINDOW_MS);
        assert_eq!(window_after(FLOOD_BATCH - 1), BATCH_WINDOW_MS);
        assert_eq!(window_after(FLOOD_BATCH), FLOOD_WINDOW_MS);
        // One quiet batch after a flood brings the short window back.
        assert_eq!(window_after(1), BATCH_WINDOW_MS);
    }

    #[test]
    fn a_full_batch_goes_at_once_and_a_scheduled_flush_is_kept_otherwise() {
        assert_eq!(next_flush(1, false, 0), Some(BATCH_WINDOW_MS));
        assert_eq!(next_flush(1, false, FLOOD_BATCH), Some(FLOOD_WINDOW_MS));
        assert_eq!(next_flush(2, true, FLOOD_BATCH), None);
        assert_eq!(next_flush(BATCH_CAP, true, FLOOD_BATCH), Some(0));
        // Once moved forward, the flush is not moved again for every payload after the cap.
        assert_eq!(next_flush(BATCH_CAP + 1, true, FLOOD_BATCH), None);
    }
}
