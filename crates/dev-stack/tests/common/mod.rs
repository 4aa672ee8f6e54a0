//! Test helpers: start a stack on free loopback ports, a tiny HTTP client, and an MQTT 5 client
//! over WebSocket built on the crate's probe codec (raw reason codes, raw socket close).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use dev_stack::probe::{self, ConnectOptions, Decoder, Incoming};
use dev_stack::{BrokerKind, RunningStack, StackConfig};
use futures_util::{SinkExt as _, StreamExt as _};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

/// Bound on every single network wait in these tests.
pub const WAIT: Duration = Duration::from_secs(10);

/// Mosquitto's path on Debian.
pub const MOSQUITTO: &str = "/usr/sbin/mosquitto";

/// Whether Mosquitto tests can run. A missing Mosquitto fails the test (it never passes
/// silently); `LIVECHAT_SKIP_MOSQUITTO=1` turns that into a loud skip for machines without it.
pub fn mosquitto_available(test: &str) -> bool {
    if Path::new(MOSQUITTO).exists() {
        return true;
    }
    if std::env::var("LIVECHAT_SKIP_MOSQUITTO").is_ok_and(|v| v == "1") {
        eprintln!(
            "\n!!!!!!!! SKIPPED {test}: {MOSQUITTO} is missing and LIVECHAT_SKIP_MOSQUITTO=1 !!!!!!!!\n"
        );
        return false;
    }
    panic!(
        "{test}: {MOSQUITTO} is missing (apt-get install mosquitto, or set \
         LIVECHAT_SKIP_MOSQUITTO=1 to skip the Mosquitto tests)"
    );
}

/// A stack on free ports with a tiny `dist/`; `tweak` adjusts the configuration.
pub async fn stack(
    kind: BrokerKind,
    tweak: impl FnOnce(&mut StackConfig),
) -> (RunningStack, tempfile::TempDir) {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(
        dist.path().join("index.html"),
        "<!doctype html><title>livechat</title>",
    )
    .unwrap();
    std::fs::write(dist.path().join("app.js"), "console.log(1)").unwrap();
    let mut config = StackConfig {
        http_port: 0,
        broker_ws_port: 0,
        broker: kind,
        dist_dir: dist.path().to_owned(),
        token_rate_limit: 0,
        dev_auth: true,
        ..StackConfig::default()
    };
    tweak(&mut config);
    let stack = dev_stack::start(config).await.expect("the stack starts");
    (stack, dist)
}

/// An HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One HTTP/1.1 request; `Err` when the connection ends without a response.
pub async fn try_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Resp, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(Bytes::from(body.to_owned()))).unwrap();
    let resp = tokio::time::timeout(WAIT, sender.send_request(req))
        .await
        .map_err(|_| "timeout".to_string())?
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(Resp {
        status,
        headers,
        body,
    })
}

/// One HTTP/1.1 request that must get a response.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Resp {
    try_http(addr, method, path, headers, body)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// Signs `user` in and returns the `Cookie` header value.
pub async fn login(addr: SocketAddr, user: &str) -> String {
    let resp = http(addr, "GET", &format!("/dev/login?user={user}"), &[], "").await;
    assert_eq!(resp.status, 303);
    let set = resp.header("set-cookie").expect("a session cookie");
    set.split(';').next().unwrap().to_owned()
}

/// `POST /api/mqtt-token` as the holder of `cookie`; must succeed.
pub async fn token(addr: SocketAddr, cookie: &str) -> Value {
    let resp = http(
        addr,
        "POST",
        "/api/mqtt-token",
        &[("cookie", cookie), ("content-type", "application/json")],
        r#"{"userEmail":"someone@example.com"}"#,
    )
    .await;
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    resp.json()
}

/// `POST /api/mqtt-token/refresh` with a token's id and password.
pub async fn refresh(addr: SocketAddr, cookie: &str, old: &Value) -> Resp {
    let body = serde_json::json!({ "tokenId": old["tokenId"], "password": old["accessToken"] });
    http(
        addr,
        "POST",
        "/api/mqtt-token/refresh",
        &[("cookie", cookie), ("content-type", "application/json")],
        &body.to_string(),
    )
    .await
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// How a link ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The server sent MQTT DISCONNECT with this reason, then closed.
    Disconnect(u8),
    /// The socket closed (WebSocket close or TCP close) without DISCONNECT.
    Closed,
}

/// An MQTT 5 or 3.1.1 client over WebSocket (subprotocol `mqtt`).
pub struct WsMqtt {
    ws: Ws,
    decoder: Decoder,
    next_id: u16,
    v311: bool,
}

/// Connect options for a token's credentials.
pub fn creds(client_id: &str, username: &str, password: &str) -> ConnectOptions {
    ConnectOptions {
        client_id: client_id.into(),
        username: Some(username.into()),
        password: Some(password.as_bytes().to_vec()),
        keep_alive: 60,
        clean_start: false,
        session_expiry: 600,
        v311: false,
    }
}

/// The same credentials for an MQTT 3.1.1 connection.
pub fn v311(mut options: ConnectOptions) -> ConnectOptions {
    options.v311 = true;
    options
}

/// Connect options from a token response.
pub fn creds_of(client_id: &str, token: &Value) -> ConnectOptions {
    creds(
        client_id,
        token["username"].as_str().unwrap(),
        token["accessToken"].as_str().unwrap(),
    )
}

impl WsMqtt {
    /// Opens the WebSocket and sends CONNECT; returns the client and the CONNACK.
    pub async fn connect(url: &str, options: &ConnectOptions) -> (Self, Incoming) {
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static("mqtt"));
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
            .await
            .expect("WebSocket handshake in time")
            .expect("WebSocket handshake");
        let mut client = Self {
            ws,
            decoder: Decoder::for_version(options.v311),
            next_id: 1,
            v311: options.v311,
        };
        client.send(probe::encode_connect(options)).await;
        let connack = client.recv().await.expect("a CONNACK");
        (client, connack)
    }

    /// Like [`connect`](Self::connect), but a link that ends before the CONNACK is an answer
    /// too (RabbitMQ closes the socket on bad credentials and on an MQTT 5 CONNECT).
    pub async fn try_connect(
        url: &str,
        options: &ConnectOptions,
    ) -> Result<(Self, Incoming), Ended> {
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static("mqtt"));
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
            .await
            .expect("WebSocket handshake in time")
            .expect("WebSocket handshake");
        let mut client = Self {
            ws,
            decoder: Decoder::for_version(options.v311),
            next_id: 1,
            v311: options.v311,
        };
        client.send(probe::encode_connect(options)).await;
        let connack = client.recv().await?;
        Ok((client, connack))
    }

    /// SUBSCRIBE one filter at QoS 1; the SUBACK reason code, or how the link ended instead.
    pub async fn try_subscribe(&mut self, filter: &str) -> Result<u8, Ended> {
        let id = self.packet_id();
        self.send(probe::encode_subscribe_for(id, filter, 1, self.v311))
            .await;
        loop {
            match self.recv().await? {
                Incoming::SubAck { packet_id, reasons } if packet_id == id => return Ok(reasons[0]),
                _ => {}
            }
        }
    }

    /// Connects and requires success.
    pub async fn connect_ok(url: &str, options: &ConnectOptions) -> (Self, bool) {
        let (client, connack) = Self::connect(url, options).await;
        match connack {
            Incoming::ConnAck {
                reason: 0,
                session_present,
            } => (client, session_present),
            other => panic!("connect refused: {other:?}"),
        }
    }

    /// The CONNACK reason code of a connection attempt.
    pub async fn connack_reason(url: &str, options: &ConnectOptions) -> u8 {
        match Self::connect(url, options).await.1 {
            Incoming::ConnAck { reason, .. } => reason,
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    pub async fn send(&mut self, bytes: Vec<u8>) {
        self.ws
            .send(Message::Binary(bytes.into()))
            .await
            .expect("send");
    }

    /// The next packet, or how the link ended.
    pub async fn recv(&mut self) -> Result<Incoming, Ended> {
        loop {
            if let Some(packet) = self.decoder.next_packet().expect("well-formed packets") {
                if let Incoming::Disconnect { reason } = packet {
                    return Err(Ended::Disconnect(reason));
                }
                return Ok(packet);
            }
            match tokio::time::timeout(WAIT, self.ws.next()).await {
                Err(_) => panic!("nothing from the broker within {WAIT:?}"),
                Ok(Some(Ok(Message::Binary(bytes)))) => self.decoder.push(&bytes),
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => {
                    return Err(Ended::Closed)
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    fn packet_id(&mut self) -> u16 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// SUBSCRIBE one filter at QoS 1; the SUBACK reason code.
    pub async fn subscribe(&mut self, filter: &str) -> u8 {
        let id = self.packet_id();
        self.send(probe::encode_subscribe_for(id, filter, 1, self.v311))
            .await;
        loop {
            match self.recv().await.expect("link open") {
                Incoming::SubAck { packet_id, reasons } if packet_id == id => return reasons[0],
                _ => {}
            }
        }
    }

    /// SUBSCRIBE one filter at QoS 1; the SUBACK reason code and the PUBLISH packets that arrived
    /// before it (acknowledged, `(topic, payload)`), or how the link ended instead. A resumed
    /// session delivers its queue right after the CONNACK, before any SUBACK: [`Self::subscribe`]
    /// drops those.
    pub async fn subscribe_keeping(
        &mut self,
        filter: &str,
    ) -> Result<(u8, Vec<(String, Vec<u8>)>), Ended> {
        let id = self.packet_id();
        self.send(probe::encode_subscribe_for(id, filter, 1, self.v311))
            .await;
        let mut before = Vec::new();
        loop {
            match self.recv().await? {
                Incoming::SubAck { packet_id, reasons } if packet_id == id => {
                    return Ok((reasons[0], before))
                }
                Incoming::Publish {
                    topic,
                    payload,
                    packet_id,
                    ..
                } => {
                    if let Some(pid) = packet_id {
                        self.send(probe::encode_puback(pid)).await;
                    }
                    before.push((topic, payload));
                }
                _ => {}
            }
        }
    }

    /// PUBLISH at QoS 1; the PUBACK reason code.
    pub async fn publish(&mut self, topic: &str, payload: &[u8]) -> u8 {
        self.publish_with(topic, payload, false).await
    }

    /// PUBLISH at QoS 1 without waiting for anything.
    pub async fn publish_no_wait(&mut self, topic: &str, payload: &[u8], retain: bool) {
        let id = self.packet_id();
        self.send(probe::encode_publish_with(
            topic, payload, 1, id, retain, self.v311,
        ))
        .await;
    }

    /// PUBLISH at QoS 1, retained or not; the PUBACK reason code (panics if the link ends).
    pub async fn publish_with(&mut self, topic: &str, payload: &[u8], retain: bool) -> u8 {
        match self.try_publish(topic, payload, retain).await {
            Ok(code) => code,
            Err(ended) => panic!("link ended instead of a PUBACK: {ended:?}"),
        }
    }

    /// PUBLISH at QoS 1; the PUBACK reason code, or how the link ended instead.
    pub async fn try_publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        retain: bool,
    ) -> Result<u8, Ended> {
        let id = self.packet_id();
        self.send(probe::encode_publish_with(
            topic, payload, 1, id, retain, self.v311,
        ))
        .await;
        loop {
            match self.recv().await? {
                Incoming::PubAck { packet_id, reason } if packet_id == id => return Ok(reason),
                Incoming::Publish {
                    packet_id: Some(pid),
                    ..
                } => self.send(probe::encode_puback(pid)).await,
                _ => {}
            }
        }
    }

    /// Collects the PUBLISH packets that arrive within `window` (acknowledging QoS 1 ones):
    /// `(topic, payload)`; stops early if the link ends.
    pub async fn publishes_within(&mut self, window: Duration) -> Vec<(String, Vec<u8>)> {
        let mut got = Vec::new();
        let _ = tokio::time::timeout(window, async {
            while let Ok(packet) = self.recv_quietly().await {
                if let Incoming::Publish {
                    topic,
                    payload,
                    packet_id,
                    ..
                } = packet
                {
                    if let Some(pid) = packet_id {
                        self.send(probe::encode_puback(pid)).await;
                    }
                    got.push((topic, payload));
                }
            }
        })
        .await;
        got
    }

    /// PINGREQ and wait for PINGRESP: the link is alive.
    pub async fn ping(&mut self) -> Result<(), Ended> {
        self.send(probe::encode_pingreq()).await;
        loop {
            if self.recv().await? == Incoming::PingResp {
                return Ok(());
            }
        }
    }

    /// Waits (bounded by `limit`) until the server ends the link.
    pub async fn ended(&mut self, limit: Duration) -> Ended {
        tokio::time::timeout(limit, async {
            loop {
                match self.recv_quietly().await {
                    Ok(_) => {}
                    Err(ended) => return ended,
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the broker kept the link open for {limit:?}"))
    }

    async fn recv_quietly(&mut self) -> Result<Incoming, Ended> {
        loop {
            if let Some(packet) = self.decoder.next_packet().expect("well-formed packets") {
                if let Incoming::Disconnect { reason } = packet {
                    // Read on to the socket close: a DISCONNECT alone is not a closed link.
                    loop {
                        match self.ws.next().await {
                            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                                return Err(Ended::Disconnect(reason))
                            }
                            Some(Ok(_)) => {}
                        }
                    }
                }
                return Ok(packet);
            }
            match self.ws.next().await {
                Some(Ok(Message::Binary(bytes))) => self.decoder.push(&bytes),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Err(Ended::Closed),
                Some(Ok(_)) => {}
            }
        }
    }
}
