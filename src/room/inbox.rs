//! Batching incoming payloads: one reducer action (and one render) per short window, however
//! fast messages arrive.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use yew::prelude::*;

use crate::chat::{ChatAction, ChatState, Inbound};

/// How long payloads are collected before one render (ms).
pub const BATCH_WINDOW_MS: u32 = 50;

struct Inbox {
    pending: Vec<Inbound>,
    // Owned: dropping the inbox (unmount) cancels a pending flush.
    flush: Option<Timeout>,
}

/// A handle that queues payloads for the chat reducer.
#[derive(Clone)]
pub struct BatchedInbox {
    inbox: Rc<RefCell<Inbox>>,
    dispatcher: UseReducerDispatcher<ChatState>,
}

impl BatchedInbox {
    /// Queues one payload; the batch is dispatched within [`BATCH_WINDOW_MS`].
    pub fn push(&self, payload: Inbound) {
        let mut inbox = self.inbox.borrow_mut();
        inbox.pending.push(payload);
        if inbox.flush.is_none() {
            let (cell, dispatcher) = (Rc::downgrade(&self.inbox), self.dispatcher.clone());
            inbox.flush = Some(Timeout::new(BATCH_WINDOW_MS, move || {
                let Some(cell) = cell.upgrade() else { return };
                let batch = {
                    let mut inbox = cell.borrow_mut();
                    inbox.flush = None;
                    std::mem::take(&mut inbox.pending)
                };
                if !batch.is_empty() {
                    // The driver's totals, once per batch: per message, the hook's property
                    // names were 28 % of the strings a bench flood handed to JS.
                    crate::bench_hook::report_received();
                    dispatcher.dispatch(ChatAction::Received(batch));
                }
            }));
        }
    }
}

/// The batching inbox for `dispatcher`, stable across renders.
#[hook]
pub fn use_batched_inbox(dispatcher: UseReducerDispatcher<ChatState>) -> BatchedInbox {
    let inbox = use_mut_ref(|| Inbox {
        pending: Vec::new(),
        flush: None,
    });
    BatchedInbox { inbox, dispatcher }
}
