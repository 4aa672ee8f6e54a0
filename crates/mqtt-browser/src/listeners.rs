//! Owned page listeners: `online`, `offline`, `visibilitychange`, `pageshow` and the window's
//! `focus`, all through one shared handler.
//!
//! Each [`Listener`] removes itself from its target on drop.

use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Document, Event, EventTarget, VisibilityState, Window};

use crate::counters::{Counted, Kind};
use crate::error::{BrowserError, JsError};

/// One `addEventListener` registration of a shared handler. Removed on drop.
struct Listener {
    target: EventTarget,
    event: &'static str,
    handler: js_sys::Function,
    _counted: Counted,
}

impl Listener {
    /// Registers `handler` for `event` on `target`.
    fn new(
        target: &EventTarget,
        event: &'static str,
        handler: &js_sys::Function,
    ) -> Result<Self, BrowserError> {
        target
            .add_event_listener_with_callback(event, handler)
            .map_err(|e| BrowserError::Listen {
                event,
                source: JsError::from(e),
            })?;
        Ok(Self {
            target: target.clone(),
            event,
            handler: handler.clone(),
            _counted: Counted::new(Kind::Listener),
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Only throws for a detached target, when there is nothing left to remove anyway.
        let _ = self
            .target
            .remove_event_listener_with_callback(self.event, &self.handler);
    }
}

/// What the page tells the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageEvent {
    /// `online`: the browser believes the network is back.
    Online,
    /// `offline`: the browser lost the network.
    Offline,
    /// `visibilitychange` to visible, `pageshow` (including a restore from the back/forward
    /// cache) or the window regaining focus: timers may have been frozen, or the user may have
    /// signed in elsewhere, so re-check everything.
    Wake,
}

/// The five page listeners the driver keeps while it lives.
pub struct PageListeners {
    /// Dropped first: each removes the shared handler from its target.
    _listeners: Vec<Listener>,
    /// One handler for all five events, telling them apart by the event's type: one closure
    /// (and one set of wasm-bindgen shims) instead of five.
    _handler: Closure<dyn FnMut(Event)>,
}

impl PageListeners {
    /// Registers the listeners; each calls `on_event`.
    pub fn new(
        window: &Window,
        document: &Document,
        on_event: Rc<dyn Fn(PageEvent)>,
    ) -> Result<Self, BrowserError> {
        let doc = document.clone();
        let handler: Closure<dyn FnMut(Event)> = Closure::new(move |event: Event| {
            match event.type_().as_str() {
                "online" => on_event(PageEvent::Online),
                "offline" => on_event(PageEvent::Offline),
                "visibilitychange" => {
                    if doc.visibility_state() == VisibilityState::Visible {
                        on_event(PageEvent::Wake);
                    }
                }
                // `pageshow` and `focus`.
                _ => on_event(PageEvent::Wake),
            }
        });
        let function: &js_sys::Function = handler.as_ref().unchecked_ref();
        let (window, document): (&EventTarget, &EventTarget) = (window, document);
        let mut listeners = Vec::with_capacity(5);
        for (target, event) in [
            (window, "online"),
            (window, "offline"),
            (document, "visibilitychange"),
            (window, "pageshow"),
            (window, "focus"),
        ] {
            listeners.push(Listener::new(target, event, function)?);
        }
        Ok(Self {
            _listeners: listeners,
            _handler: handler,
        })
    }
}
