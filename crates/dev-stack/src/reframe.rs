//! The framing test control: a WebSocket relay that re-frames what the broker sends.
//!
//! Real brokers differ in how they put MQTT packets into WebSocket frames: the embedded `mqtt5`
//! broker and Mosquitto send one packet per frame, Aedes splits packets across frames (its
//! CONNACK arrives as four 1-byte frames) and rumqttd coalesces several packets into one frame.
//! A client must treat the frames as a byte stream. With `POST /dev/control/framing` the stack's
//! broker proxy stops piping raw TCP for *new* connections and terminates the WebSocket on both
//! sides instead: client→broker messages are relayed unchanged, broker→client bytes are
//! re-framed as [`Framing`] says.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use futures_util::{Sink, SinkExt as _, Stream, StreamExt as _};
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// How the broker proxy frames what the broker sends to clients (test control).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Framing {
    /// Raw TCP pipe: the broker's own framing (one packet per frame).
    #[default]
    Off,
    /// Every broker frame is cut into frames of 1 to 3 bytes (fixed headers split too).
    Split,
    /// Broker bytes are held up to [`COALESCE_WINDOW`] or [`COALESCE_MAX`] bytes and sent as
    /// one frame holding several packets; a window holding several packets keeps back half of
    /// the last one for the next window, so frames also end inside a packet.
    Coalesce,
}

/// How long `coalesce` holds broker bytes before sending them.
pub const COALESCE_WINDOW: Duration = Duration::from_millis(30);
/// The largest frame `coalesce` sends (a full buffer is cut here, often inside a packet).
pub const COALESCE_MAX: usize = 4096;

/// How long either WebSocket handshake may take.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);

impl Framing {
    /// `off`, `split` or `coalesce`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Split => "split",
            Self::Coalesce => "coalesce",
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Split,
            2 => Self::Coalesce,
            _ => Self::Off,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Self::Off => 0,
            Self::Split => 1,
            Self::Coalesce => 2,
        }
    }
}

/// The current [`Framing`], shared by the control handler and the accept loop.
#[derive(Debug, Default)]
pub(crate) struct FramingCell(AtomicU8);

impl FramingCell {
    pub(crate) fn get(&self) -> Framing {
        Framing::from_u8(self.0.load(Ordering::Relaxed))
    }

    pub(crate) fn set(&self, framing: Framing) {
        self.0.store(framing.to_u8(), Ordering::Relaxed);
    }
}

/// Accepts the client's WebSocket handshake (echoing the `mqtt` subprotocol when asked for).
/// Returns the client stream and the request path (with query) to open on the broker.
pub(crate) async fn accept_client(
    inbound: TcpStream,
) -> Option<(tokio_tungstenite::WebSocketStream<TcpStream>, String)> {
    let mut path = String::from("/");
    // The callback's signature is tungstenite's (its `ErrorResponse` is an HTTP response).
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
        path = req
            .uri()
            .path_and_query()
            .map_or_else(|| "/".to_owned(), ToString::to_string);
        let wants_mqtt = req
            .headers()
            .get_all("sec-websocket-protocol")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|p| p.trim() == "mqtt");
        if wants_mqtt {
            resp.headers_mut()
                .insert("sec-websocket-protocol", HeaderValue::from_static("mqtt"));
        }
        Ok(resp)
    };
    let ws = tokio::time::timeout(
        HANDSHAKE_LIMIT,
        tokio_tungstenite::accept_hdr_async(inbound, callback),
    )
    .await
    .ok()?
    .ok()?;
    Some((ws, path))
}

/// Opens the WebSocket to the broker over `outbound` (subprotocol `mqtt`).
pub(crate) async fn connect_broker(
    outbound: TcpStream,
    path: &str,
) -> Option<tokio_tungstenite::WebSocketStream<TcpStream>> {
    let addr = outbound.peer_addr().ok()?;
    let mut request = format!("ws://{addr}{path}").into_client_request().ok()?;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static("mqtt"));
    let (ws, _) = tokio::time::timeout(
        HANDSHAKE_LIMIT,
        tokio_tungstenite::client_async(request, outbound),
    )
    .await
    .ok()?
    .ok()?;
    Some(ws)
}

/// Relays between two WebSockets until either side ends.
pub(crate) async fn relay(
    client: tokio_tungstenite::WebSocketStream<TcpStream>,
    broker: tokio_tungstenite::WebSocketStream<TcpStream>,
    framing: Framing,
) {
    let (mut client_tx, mut client_rx) = client.split();
    let (mut broker_tx, mut broker_rx) = broker.split();
    let up = async {
        while let Some(Ok(msg)) = client_rx.next().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
            let data = matches!(msg, Message::Binary(_) | Message::Text(_));
            if data && broker_tx.send(msg).await.is_err() {
                return;
            }
        }
        let _ = broker_tx.close().await;
    };
    let down = async {
        let _ = match framing {
            Framing::Coalesce => coalesce(&mut broker_rx, &mut client_tx).await,
            Framing::Split | Framing::Off => split(&mut broker_rx, &mut client_tx).await,
        };
        let _ = client_tx.close().await;
    };
    tokio::select! {
        () = up => {}
        () = down => {}
    }
}

type Incoming = Result<Message, WsError>;

/// Cuts every broker frame into frames of 1, 2, 3, 1, 2, 3, ... bytes.
async fn split<R, W>(rx: &mut R, tx: &mut W) -> Result<(), WsError>
where
    R: Stream<Item = Incoming> + Unpin,
    W: Sink<Message, Error = WsError> + Unpin,
{
    let mut sizes = [1usize, 2, 3].into_iter().cycle();
    while let Some(Ok(msg)) = rx.next().await {
        match msg {
            Message::Binary(data) => {
                let mut rest = &data[..];
                while !rest.is_empty() {
                    let n = sizes.next().unwrap_or(1).min(rest.len());
                    tx.feed(Message::binary(rest[..n].to_vec())).await?;
                    rest = &rest[n..];
                }
                tx.flush().await?;
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    Ok(())
}

/// The bytes `coalesce` holds and how many broker frames they came from.
#[derive(Default)]
struct Window {
    buf: Vec<u8>,
    frames: usize,
    last_len: usize,
}

impl Window {
    fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
        self.frames += 1;
        self.last_len = data.len();
    }

    /// What to send when the window closes: everything, except that a window of several
    /// frames keeps back half of the last one (sent with the next window).
    fn take_at_deadline(&mut self) -> Vec<u8> {
        let hold = if self.frames >= 2 && self.last_len >= 2 {
            self.last_len / 2
        } else {
            0
        };
        let rest = self.buf.split_off(self.buf.len() - hold);
        let out = std::mem::replace(&mut self.buf, rest);
        self.frames = usize::from(hold > 0);
        self.last_len = hold;
        out
    }

    fn take_all(&mut self) -> Vec<u8> {
        self.frames = 0;
        self.last_len = 0;
        std::mem::take(&mut self.buf)
    }
}

/// Holds broker bytes for up to [`COALESCE_WINDOW`] and sends them as one frame.
async fn coalesce<R, W>(rx: &mut R, tx: &mut W) -> Result<(), WsError>
where
    R: Stream<Item = Incoming> + Unpin,
    W: Sink<Message, Error = WsError> + Unpin,
{
    let mut window = Window::default();
    let mut deadline: Option<Instant> = None;
    loop {
        let next = match deadline {
            Some(at) => match tokio::time::timeout_at(at, rx.next()).await {
                Ok(next) => next,
                Err(_) => {
                    let out = window.take_at_deadline();
                    tx.send(Message::binary(out)).await?;
                    deadline = (!window.buf.is_empty()).then(|| Instant::now() + COALESCE_WINDOW);
                    continue;
                }
            },
            None => rx.next().await,
        };
        match next {
            Some(Ok(Message::Binary(data))) => {
                if window.buf.is_empty() {
                    deadline = Some(Instant::now() + COALESCE_WINDOW);
                }
                window.push(&data);
                while window.buf.len() >= COALESCE_MAX {
                    let rest = window.buf.split_off(COALESCE_MAX);
                    let full = std::mem::replace(&mut window.buf, rest);
                    window.frames = 1;
                    tx.send(Message::binary(full)).await?;
                }
                if window.buf.is_empty() {
                    window.take_all();
                    deadline = None;
                }
            }
            Some(Ok(Message::Close(_) | Message::Frame(_))) | Some(Err(_)) | None => break,
            Some(Ok(_)) => {}
        }
    }
    if !window.buf.is_empty() {
        tx.send(Message::binary(window.take_all())).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_modes_round_trip_through_the_atomic_and_json() {
        let cell = FramingCell::default();
        assert_eq!(cell.get(), Framing::Off);
        for mode in [Framing::Split, Framing::Coalesce, Framing::Off] {
            cell.set(mode);
            assert_eq!(cell.get(), mode);
            let json = serde_json::to_string(&mode).unwrap();
            assert_eq!(json, format!("\"{}\"", mode.name()));
            assert_eq!(serde_json::from_str::<Framing>(&json).unwrap(), mode);
        }
    }

    #[test]
    fn a_window_of_several_frames_keeps_back_half_of_the_last_one() {
        let mut w = Window::default();
        w.push(&[1, 2]);
        w.push(&[3, 4, 5, 6]);
        assert_eq!(w.take_at_deadline(), vec![1, 2, 3, 4]);
        assert_eq!(w.buf, vec![5, 6]);
        // The held-back part alone is sent whole at the next deadline.
        assert_eq!(w.take_at_deadline(), vec![5, 6]);
        assert!(w.buf.is_empty());
    }
}
