//! One owned WebSocket carrying MQTT.
//!
//! The socket and its two handler closures live in [`WsLink`]; dropping it detaches the handlers
//! and closes the socket, so nothing outlives the owner and no closure is ever leaked with
//! `Closure::forget`.
//!
//! Bytes to send are queued ([`WsLink::queue`]) and leave as one WebSocket message per
//! [`WsLink::flush`]; received frames are copied into one reused buffer and reported as a slice.
//! Neither direction allocates per message once the buffers have grown.

use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

use crate::buffers::{FrameBuffer, Outgoing};
use crate::counters::{count_send, Counted, Kind};
use crate::error::{BrowserError, JsError};

/// The WebSocket subprotocol MQTT brokers expect (MQTT 5.0 §6, MQTT 3.1.1 §6).
pub const MQTT_SUBPROTOCOL: &str = "mqtt";

/// What a link reports to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent<'a> {
    /// The WebSocket handshake completed.
    Opened,
    /// One binary message, borrowed from the link's receive buffer for the duration of the
    /// call. It may hold part of a packet or several packets: the session's framer reassembles
    /// them.
    Bytes(&'a [u8]),
    /// A text frame, which MQTT never uses; the owner treats it as a protocol error.
    Text,
    /// The socket closed (after an error, the browser always follows with a close).
    Closed {
        /// The close code (1006 for an abnormal close).
        code: u16,
        /// The close reason sent by the peer, if any.
        reason: String,
        /// Whether the closing handshake completed.
        was_clean: bool,
    },
}

type Handler<E> = Closure<dyn FnMut(E)>;

/// An open (or opening) WebSocket with its handlers. Drop closes it.
pub struct WsLink {
    socket: WebSocket,
    /// Bytes for the next message; sent by [`WsLink::flush`] and, at the latest, on drop.
    outgoing: Outgoing,
    // Held only so they live as long as the socket; detached in `Drop`.
    _on_message: Handler<MessageEvent>,
    /// `open`, `close` and `error`: one closure (and one set of wasm-bindgen shims) for the
    /// three rare events.
    _on_other: Handler<Event>,
    _counted: Counted,
}

impl WsLink {
    /// Starts opening `url` with the `mqtt` subprotocol. Every later happening is reported to
    /// `on_event`, never after the link is dropped.
    pub fn open(url: &str, on_event: Rc<dyn Fn(LinkEvent<'_>)>) -> Result<Self, BrowserError> {
        let socket = WebSocket::new_with_str(url, MQTT_SUBPROTOCOL).map_err(|e| {
            BrowserError::OpenSocket {
                url: url.to_owned(),
                source: JsError::from(e),
            }
        })?;
        Ok(Self::adopt(socket, on_event))
    }

    /// Takes over a socket opened elsewhere (the page's loader, see the `handover` module), still
    /// connecting or open, as if [`WsLink::open`] had opened it. Events that fired before are not
    /// replayed: the owner asks [`WsLink::is_open`] whether the handshake is already done (nothing
    /// else can have happened on a socket that is still connecting or open before CONNECT, and
    /// the loader closes one that hears anything first).
    pub fn adopt(socket: WebSocket, on_event: Rc<dyn Fn(LinkEvent<'_>)>) -> Self {
        // MQTT is a binary protocol. The default binary type is `blob`, whose bytes can only be
        // read asynchronously: frames could then reach the framer out of order. An `ArrayBuffer`
        // is readable synchronously inside `onmessage`, so bytes are fed in arrival order.
        socket.set_binary_type(BinaryType::Arraybuffer);

        let cb = on_event.clone();
        // Owned by the handler: `onmessage` never re-enters itself, so one buffer serves every
        // frame, and the session's framer copies what it keeps.
        let mut received = FrameBuffer::default();
        let on_message: Handler<MessageEvent> = Closure::new(move |event: MessageEvent| {
            let data = event.data();
            match data.dyn_ref::<js_sys::ArrayBuffer>() {
                Some(buffer) => {
                    let view = js_sys::Uint8Array::new(buffer);
                    let frame = received.frame(view.length() as usize);
                    view.copy_to(frame);
                    cb(LinkEvent::Bytes(frame));
                }
                None => cb(LinkEvent::Text),
            }
        });
        let cb = on_event;
        let on_other: Handler<Event> = Closure::new(move |event: Event| {
            if let Some(event) = event.dyn_ref::<CloseEvent>() {
                cb(LinkEvent::Closed {
                    code: event.code(),
                    reason: event.reason(),
                    was_clean: event.was_clean(),
                });
            } else if event.type_() == "open" {
                cb(LinkEvent::Opened);
            }
            // An `error` event carries no detail and is always followed by `close`, which is
            // where the owner learns about it; it is handled so it is not reported unhandled.
        });

        let on_other_fn = Some(on_other.as_ref().unchecked_ref());
        socket.set_onopen(on_other_fn);
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(on_other_fn);
        socket.set_onerror(on_other_fn);

        Self {
            socket,
            outgoing: Outgoing::default(),
            _on_message: on_message,
            _on_other: on_other,
            _counted: Counted::new(Kind::Socket),
        }
    }

    /// Whether the WebSocket handshake is done (its `open` event has fired).
    pub fn is_open(&self) -> bool {
        self.socket.ready_state() == WebSocket::OPEN
    }

    /// Queues `bytes` after everything queued before; they leave with the next
    /// [`WsLink::flush`].
    pub fn queue(&mut self, bytes: &[u8]) {
        self.outgoing.push(bytes);
    }

    /// Whether bytes wait for [`WsLink::flush`].
    pub fn has_queued(&self) -> bool {
        !self.outgoing.is_empty()
    }

    /// The position just after the bytes queued so far: [`WsLink::flush_to`] with it sends
    /// those and not what is queued later.
    #[cfg_attr(not(feature = "tabs"), allow(dead_code))] // used by the tab group
    pub fn queued_end(&self) -> u64 {
        self.outgoing.end()
    }

    /// Drops what is queued without sending it.
    pub fn discard_queued(&mut self) {
        self.outgoing.clear();
    }

    /// Sends everything queued as one binary message (nothing if nothing is queued).
    pub fn flush(&mut self) -> Result<(), BrowserError> {
        self.flush_to(u64::MAX)
    }

    /// Sends what was queued before position `end` (a [`WsLink::queued_end`]) and is not sent
    /// yet, as one binary message; what was queued after stays queued.
    pub fn flush_to(&mut self, end: u64) -> Result<(), BrowserError> {
        let socket = &self.socket;
        self.outgoing
            .flush_to(end, |bytes| {
                count_send(bytes.len());
                socket.send_with_u8_array(bytes)
            })
            .unwrap_or(Ok(()))
            .map_err(|e| BrowserError::Send(JsError::from(e)))
    }
}

impl Drop for WsLink {
    fn drop(&mut self) {
        // Detach first: the close below must not call back into an owner that is letting go.
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        self.socket.set_onerror(None);
        let state = self.socket.ready_state();
        if state == WebSocket::OPEN {
            // What is still queued goes out before the close, as it would have had it been sent
            // at once (a DISCONNECT queued just before the link is closed, for one). Sending
            // fails only on a socket that is already closing.
            let _ = self.flush();
        }
        if state == WebSocket::CONNECTING || state == WebSocket::OPEN {
            // 1000 = normal closure. `close` only throws for an invalid code or reason.
            let _ = self.socket.close_with_code(1000);
        }
    }
}
