//! Owned page listeners: `online`, `offline`, `visibilitychange` and `pageshow`.
//!
//! Each [`Listener`] removes itself from its target on drop.

use std::borrow::Cow;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Document, Event, EventTarget, VisibilityState, Window};

use crate::counters::{Counted, Kind};
use crate::error::{BrowserError, JsError};

/// One `addEventListener` registration. Removed on drop.
pub struct Listener {
    target: EventTarget,
    event: Cow<'static, str>,
    closure: Closure<dyn FnMut(Event)>,
    _counted: Counted,
}

impl Listener {
    /// Registers `on_event` for `event` on `target`.
    pub fn new(
        target: &EventTarget,
        event: &'static str,
        on_event: impl FnMut(Event) + 'static,
    ) -> Result<Self, BrowserError> {
        let closure: Closure<dyn FnMut(Event)> = Closure::new(on_event);
        target
            .add_event_listener_with_callback(event, closure.as_ref().unchecked_ref())
            .map_err(|e| BrowserError::Listen {
                event,
                source: JsError::from(e),
            })?;
        Ok(Self {
            target: target.clone(),
            event: Cow::Borrowed(event),
            closure,
            _counted: Counted::new(Kind::Listener),
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Only throws for a detached target, when there is nothing left to remove anyway.
        let _ = self.target.remove_event_listener_with_callback(
            &self.event,
            self.closure.as_ref().unchecked_ref(),
        );
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
    _listeners: [Listener; 5],
}

impl PageListeners {
    /// Registers the listeners; each calls `on_event`.
    pub fn new(
        window: &Window,
        document: &Document,
        on_event: Rc<dyn Fn(PageEvent)>,
    ) -> Result<Self, BrowserError> {
        let cb = on_event.clone();
        let online = Listener::new(window, "online", move |_| cb(PageEvent::Online))?;
        let cb = on_event.clone();
        let offline = Listener::new(window, "offline", move |_| cb(PageEvent::Offline))?;
        let cb = on_event.clone();
        let doc = document.clone();
        let visibility = Listener::new(document, "visibilitychange", move |_| {
            if doc.visibility_state() == VisibilityState::Visible {
                cb(PageEvent::Wake);
            }
        })?;
        let cb = on_event.clone();
        let pageshow = Listener::new(window, "pageshow", move |_| cb(PageEvent::Wake))?;
        let cb = on_event;
        let focus = Listener::new(window, "focus", move |_| cb(PageEvent::Wake))?;
        Ok(Self {
            _listeners: [online, offline, visibility, pageshow, focus],
        })
    }
}
