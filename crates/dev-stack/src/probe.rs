//! A minimal MQTT 5 (and 3.1.1) client codec: just enough to administer Mosquitto's dynamic-security plugin
//! over a loopback TCP link and to drive the brokers from tests (CONNECT, SUBSCRIBE, PUBLISH,
//! PUBACK, PINGREQ, DISCONNECT out; CONNACK, SUBACK, UNSUBACK, PUBLISH, PUBACK, PINGRESP,
//! DISCONNECT in). It keeps every reason code raw, which is what the tests assert on.
//!
//! The app's own codec lives in `mqtt-codec`; this one is deliberately separate so the reference
//! stack does not depend on the code it is used to test.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Errors of the probe codec and its TCP client.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// A packet from the server could not be parsed.
    #[error("malformed packet from the server: {0}")]
    Malformed(&'static str),
    /// The link failed.
    #[error("link error: {0}")]
    Io(#[from] std::io::Error),
    /// The server closed the link.
    #[error("the server closed the link")]
    Closed,
    /// Nothing arrived in time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The server refused the CONNECT with this CONNACK reason code.
    #[error("CONNECT refused with reason code {0:#04x}")]
    Refused(u8),
    /// The server sent something else than the expected packet.
    #[error("unexpected packet: {0:?}")]
    Unexpected(Box<Incoming>),
}

/// Options of a CONNECT packet (MQTT 5 unless [`v311`](Self::v311)). Its `Debug` output never
/// shows the password.
#[derive(Clone, Default)]
pub struct ConnectOptions {
    /// Client identifier (may be empty).
    pub client_id: String,
    /// User name.
    pub username: Option<String>,
    /// Password.
    pub password: Option<Vec<u8>>,
    /// Keep-alive in seconds (0 disables it).
    pub keep_alive: u16,
    /// Clean start flag.
    pub clean_start: bool,
    /// Session expiry interval in seconds (0: the session ends with the link; MQTT 5 only).
    pub session_expiry: u32,
    /// Speak MQTT 3.1.1 (protocol level 4) instead of MQTT 5.
    pub v311: bool,
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[REDACTED]"))
            .field("keep_alive", &self.keep_alive)
            .field("clean_start", &self.clean_start)
            .field("session_expiry", &self.session_expiry)
            .field("v311", &self.v311)
            .finish()
    }
}

/// A packet received from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// CONNACK.
    ConnAck {
        /// Session present flag.
        session_present: bool,
        /// Reason code (0 = success).
        reason: u8,
    },
    /// PUBLISH.
    Publish {
        /// Topic name.
        topic: String,
        /// Payload.
        payload: Vec<u8>,
        /// QoS level.
        qos: u8,
        /// Packet id (QoS > 0).
        packet_id: Option<u16>,
        /// The RETAIN flag (a retained replay, or with Retain As Published a retained publish).
        retain: bool,
    },
    /// PUBACK.
    PubAck {
        /// Packet id.
        packet_id: u16,
        /// Reason code (0 = success).
        reason: u8,
    },
    /// SUBACK.
    SubAck {
        /// Packet id.
        packet_id: u16,
        /// One reason code per filter.
        reasons: Vec<u8>,
    },
    /// UNSUBACK.
    UnsubAck {
        /// Packet id.
        packet_id: u16,
    },
    /// PINGRESP.
    PingResp,
    /// DISCONNECT sent by the server.
    Disconnect {
        /// Reason code.
        reason: u8,
    },
    /// Any other packet, by its first header byte.
    Other(u8),
}

fn put_varint(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let mut byte = (value % 128) as u8;
        value /= 128;
        if value > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if value == 0 {
            break;
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

fn frame(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(first);
    put_varint(&mut out, body.len());
    out.extend_from_slice(body);
    out
}

/// Encodes a CONNECT packet (protocol level 5, or 4 with `v311`).
#[must_use]
pub fn encode_connect(options: &ConnectOptions) -> Vec<u8> {
    let mut body = Vec::new();
    put_str(&mut body, b"MQTT");
    body.push(if options.v311 { 4 } else { 5 });
    let mut flags = 0u8;
    if options.username.is_some() {
        flags |= 0x80;
    }
    if options.password.is_some() {
        flags |= 0x40;
    }
    if options.clean_start {
        flags |= 0x02;
    }
    body.push(flags);
    body.extend_from_slice(&options.keep_alive.to_be_bytes());
    if !options.v311 {
        let mut props = Vec::new();
        if options.session_expiry > 0 {
            props.push(0x11);
            props.extend_from_slice(&options.session_expiry.to_be_bytes());
        }
        put_varint(&mut body, props.len());
        body.extend_from_slice(&props);
    }
    put_str(&mut body, options.client_id.as_bytes());
    if let Some(username) = &options.username {
        put_str(&mut body, username.as_bytes());
    }
    if let Some(password) = &options.password {
        put_str(&mut body, password);
    }
    frame(0x10, &body)
}

/// Encodes an MQTT 5 SUBSCRIBE for one filter.
#[must_use]
pub fn encode_subscribe(packet_id: u16, filter: &str, qos: u8) -> Vec<u8> {
    encode_subscribe_for(packet_id, filter, qos, false)
}

/// Encodes a SUBSCRIBE for one filter, MQTT 3.1.1 when `v311` (no properties).
#[must_use]
pub fn encode_subscribe_for(packet_id: u16, filter: &str, qos: u8, v311: bool) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    if !v311 {
        body.push(0);
    }
    put_str(&mut body, filter.as_bytes());
    body.push(qos & 0x03);
    frame(0x82, &body)
}

/// Encodes an MQTT 5 SUBSCRIBE for one filter with the whole subscription options byte
/// (QoS in bits 0-1, No Local 0x04, Retain As Published 0x08, Retain Handling in bits 4-5).
#[must_use]
pub fn encode_subscribe_options(packet_id: u16, filter: &str, options: u8) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    body.push(0);
    put_str(&mut body, filter.as_bytes());
    body.push(options & 0x3F);
    frame(0x82, &body)
}

/// Encodes an MQTT 5 PUBLISH, not retained (`packet_id` is used only when `qos > 0`).
#[must_use]
pub fn encode_publish(topic: &str, payload: &[u8], qos: u8, packet_id: u16) -> Vec<u8> {
    encode_publish_with(topic, payload, qos, packet_id, false, false)
}

/// Encodes a PUBLISH with the retain flag, MQTT 3.1.1 when `v311` (no properties).
#[must_use]
pub fn encode_publish_with(
    topic: &str,
    payload: &[u8],
    qos: u8,
    packet_id: u16,
    retain: bool,
    v311: bool,
) -> Vec<u8> {
    let mut body = Vec::new();
    put_str(&mut body, topic.as_bytes());
    if qos > 0 {
        body.extend_from_slice(&packet_id.to_be_bytes());
    }
    if !v311 {
        body.push(0);
    }
    body.extend_from_slice(payload);
    frame(0x30 | ((qos & 0x03) << 1) | u8::from(retain), &body)
}

/// Encodes a successful PUBACK.
#[must_use]
pub fn encode_puback(packet_id: u16) -> Vec<u8> {
    frame(0x40, &packet_id.to_be_bytes())
}

/// Encodes a PINGREQ.
#[must_use]
pub fn encode_pingreq() -> Vec<u8> {
    vec![0xC0, 0]
}

/// Encodes a normal DISCONNECT.
#[must_use]
pub fn encode_disconnect() -> Vec<u8> {
    vec![0xE0, 0]
}

/// Streaming decoder: push bytes as they arrive, take whole packets out.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    v311: bool,
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ProbeError> {
        if self.bytes.len() < n {
            return Err(ProbeError::Malformed("truncated field"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, ProbeError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, ProbeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn varint(&mut self) -> Result<usize, ProbeError> {
        let mut value = 0usize;
        for shift in 0..4 {
            let byte = self.u8()?;
            value |= usize::from(byte & 0x7F) << (7 * shift);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ProbeError::Malformed("variable byte integer too long"))
    }
    fn skip_properties(&mut self) -> Result<(), ProbeError> {
        let len = self.varint()?;
        self.take(len).map(|_| ())
    }
}

impl Decoder {
    /// An MQTT 5 decoder with an empty buffer.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder for MQTT 3.1.1 (`v311`) or MQTT 5 packets.
    #[must_use]
    pub fn for_version(v311: bool) -> Self {
        Self {
            buf: Vec::new(),
            v311,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole packet, `Ok(None)` when more bytes are needed.
    ///
    /// # Errors
    /// A packet that cannot be parsed.
    pub fn next_packet(&mut self) -> Result<Option<Incoming>, ProbeError> {
        if self.buf.len() < 2 {
            return Ok(None);
        }
        let mut len = 0usize;
        let mut header = 1usize;
        loop {
            let Some(&byte) = self.buf.get(header) else {
                return Ok(None);
            };
            len |= usize::from(byte & 0x7F) << (7 * (header - 1));
            header += 1;
            if byte & 0x80 == 0 {
                break;
            }
            if header > 4 {
                return Err(ProbeError::Malformed("remaining length too long"));
            }
        }
        if self.buf.len() < header + len {
            return Ok(None);
        }
        let first = self.buf[0];
        let body: Vec<u8> = self.buf[header..header + len].to_vec();
        self.buf.drain(..header + len);
        parse(first, &body, self.v311).map(Some)
    }
}

fn parse(first: u8, body: &[u8], v311: bool) -> Result<Incoming, ProbeError> {
    let mut r = Reader { bytes: body };
    Ok(match first >> 4 {
        2 => {
            let flags = r.u8()?;
            let reason = r.u8()?;
            Incoming::ConnAck {
                session_present: flags & 1 == 1,
                reason,
            }
        }
        3 => {
            let qos = (first >> 1) & 0x03;
            let topic_len = usize::from(r.u16()?);
            let topic = String::from_utf8(r.take(topic_len)?.to_vec())
                .map_err(|_| ProbeError::Malformed("topic is not UTF-8"))?;
            let packet_id = if qos > 0 { Some(r.u16()?) } else { None };
            if !v311 {
                r.skip_properties()?;
            }
            Incoming::Publish {
                topic,
                payload: r.bytes.to_vec(),
                qos,
                packet_id,
                retain: first & 1 == 1,
            }
        }
        4 => {
            let packet_id = r.u16()?;
            let reason = if r.bytes.is_empty() { 0 } else { r.u8()? };
            Incoming::PubAck { packet_id, reason }
        }
        9 => {
            let packet_id = r.u16()?;
            if !v311 {
                r.skip_properties()?;
            }
            Incoming::SubAck {
                packet_id,
                reasons: r.bytes.to_vec(),
            }
        }
        11 => Incoming::UnsubAck {
            packet_id: r.u16()?,
        },
        13 => Incoming::PingResp,
        14 => Incoming::Disconnect {
            reason: if r.bytes.is_empty() { 0 } else { r.u8()? },
        },
        _ => Incoming::Other(first),
    })
}

/// A blocking-style MQTT 5 client over a plain TCP link (used for the Mosquitto admin link).
#[derive(Debug)]
pub struct TcpClient {
    stream: TcpStream,
    decoder: Decoder,
    next_id: u16,
}

impl TcpClient {
    /// Connects and waits for a successful CONNACK.
    ///
    /// # Errors
    /// Link errors, a refused CONNECT, a timeout.
    pub async fn connect(
        addr: SocketAddr,
        options: &ConnectOptions,
        wait: Duration,
    ) -> Result<Self, ProbeError> {
        let stream = tokio::time::timeout(wait, TcpStream::connect(addr))
            .await
            .map_err(|_| ProbeError::Timeout(wait))??;
        stream.set_nodelay(true)?;
        let mut client = Self {
            stream,
            decoder: Decoder::for_version(options.v311),
            next_id: 1,
        };
        client.send(&encode_connect(options)).await?;
        match client.recv(wait).await? {
            Incoming::ConnAck { reason: 0, .. } => Ok(client),
            Incoming::ConnAck { reason, .. } => Err(ProbeError::Refused(reason)),
            other => Err(ProbeError::Unexpected(Box::new(other))),
        }
    }

    /// A fresh packet id.
    pub fn packet_id(&mut self) -> u16 {
        let id = self.next_id;
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        id
    }

    /// Writes raw packet bytes.
    ///
    /// # Errors
    /// Link errors.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), ProbeError> {
        self.stream.write_all(bytes).await?;
        Ok(())
    }

    /// The next packet, waiting at most `wait`.
    ///
    /// # Errors
    /// Link errors, close, timeout, malformed packets.
    pub async fn recv(&mut self, wait: Duration) -> Result<Incoming, ProbeError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(packet) = self.decoder.next_packet()? {
                return Ok(packet);
            }
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout_at(deadline, self.stream.read(&mut buf))
                .await
                .map_err(|_| ProbeError::Timeout(wait))??;
            if n == 0 {
                return Err(ProbeError::Closed);
            }
            self.decoder.push(&buf[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_encodes_flags_credentials_and_session_expiry() {
        let bytes = encode_connect(&ConnectOptions {
            client_id: "c".into(),
            username: Some("u".into()),
            password: Some(b"p".to_vec()),
            keep_alive: 30,
            clean_start: true,
            session_expiry: 600,
            v311: false,
        });
        let expected = [
            0x10, 25, 0, 4, b'M', b'Q', b'T', b'T', 5, 0xC2, 0, 30, 5, 0x11, 0, 0, 0x02, 0x58, 0,
            1, b'c', 0, 1, b'u', 0, 1, b'p',
        ];
        assert_eq!(bytes, expected);
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let options = ConnectOptions {
            username: Some("alice@tok_1".into()),
            password: Some(b"hunter2-secret".to_vec()),
            ..ConnectOptions::default()
        };
        let shown = format!("{options:?}");
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(shown.contains("alice@tok_1") && shown.contains("REDACTED"));
    }

    #[test]
    fn v311_packets_carry_no_properties() {
        let connect = encode_connect(&ConnectOptions {
            client_id: "c".into(),
            keep_alive: 30,
            clean_start: true,
            v311: true,
            ..ConnectOptions::default()
        });
        assert_eq!(
            connect,
            [0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 30, 0, 1, b'c']
        );
        assert_eq!(
            encode_publish_with("t", b"x", 1, 2, true, true),
            [0x33, 6, 0, 1, b't', 0, 2, b'x']
        );
        assert_eq!(
            encode_subscribe_for(3, "t", 1, true),
            [0x82, 6, 0, 3, 0, 1, b't', 1]
        );
        let mut d = Decoder::for_version(true);
        d.push(&[0x90, 3, 0, 3, 0x80, 0x32, 6, 0, 1, b't', 0, 9, b'y']);
        assert_eq!(
            d.next_packet().unwrap(),
            Some(Incoming::SubAck {
                packet_id: 3,
                reasons: vec![0x80]
            })
        );
        assert_eq!(
            d.next_packet().unwrap(),
            Some(Incoming::Publish {
                topic: "t".into(),
                payload: b"y".to_vec(),
                qos: 1,
                packet_id: Some(9),
                retain: false
            })
        );
    }

    #[test]
    fn decoder_waits_for_a_whole_packet_and_reads_suback_reason_codes() {
        let mut d = Decoder::new();
        d.push(&[0x90, 4, 0, 7]);
        assert_eq!(d.next_packet().unwrap(), None);
        d.push(&[0, 0x87, 0xD0]);
        assert_eq!(
            d.next_packet().unwrap(),
            Some(Incoming::SubAck {
                packet_id: 7,
                reasons: vec![0x87]
            })
        );
        assert_eq!(d.next_packet().unwrap(), None);
        d.push(&[0]);
        assert_eq!(d.next_packet().unwrap(), Some(Incoming::PingResp));
    }

    #[test]
    fn publish_round_trips_through_the_decoder() {
        let mut d = Decoder::new();
        d.push(&encode_publish("chat/a/messages", b"hi", 1, 9));
        assert_eq!(
            d.next_packet().unwrap(),
            Some(Incoming::Publish {
                topic: "chat/a/messages".into(),
                payload: b"hi".to_vec(),
                qos: 1,
                packet_id: Some(9),
                retain: false
            })
        );
    }

    #[test]
    fn the_retain_flag_and_subscription_options_are_on_the_wire() {
        let mut d = Decoder::new();
        d.push(&encode_publish_with("t/r", b"x", 0, 0, true, false));
        assert_eq!(
            d.next_packet().unwrap(),
            Some(Incoming::Publish {
                topic: "t/r".into(),
                payload: b"x".to_vec(),
                qos: 0,
                packet_id: None,
                retain: true
            })
        );
        // Packet id 5, no properties, filter "a/+", options: QoS 0 + Retain As Published.
        assert_eq!(
            encode_subscribe_options(5, "a/+", 0x08),
            [0x82, 9, 0, 5, 0, 0, 3, b'a', b'/', b'+', 0x08]
        );
    }

    #[test]
    fn short_puback_and_disconnect_mean_success() {
        let mut d = Decoder::new();
        d.push(&[0x40, 2, 0, 3, 0xE0, 1, 0x98]);
        assert_eq!(
            d.next_packet().unwrap(),
            Some(Incoming::PubAck {
                packet_id: 3,
                reason: 0
            })
        );
        assert_eq!(
            d.next_packet().unwrap(),
            Some(Incoming::Disconnect { reason: 0x98 })
        );
    }
}
