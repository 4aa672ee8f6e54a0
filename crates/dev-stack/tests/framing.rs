//! The framing test control really re-frames what the broker sends (`POST /dev/control/framing`).

mod common;

use std::net::SocketAddr;

use common::{creds_of, http, login, token, WAIT};
use dev_stack::probe::{self, Decoder, Incoming};
use dev_stack::BrokerKind;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn set_framing(addr: SocketAddr, mode: &str) {
    let resp = http(
        addr,
        "POST",
        "/dev/control/framing",
        &[("content-type", "application/json")],
        &format!(r#"{{"mode":"{mode}"}}"#),
    )
    .await;
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    assert_eq!(resp.json()["framing"], mode);
}

/// Opens the WebSocket (subprotocol `mqtt`, which must be echoed) and sends CONNECT.
async fn connect(url: &str, token: &serde_json::Value, client_id: &str) -> Ws {
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static("mqtt"));
    let (mut ws, resp) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("handshake in time")
        .expect("handshake");
    assert_eq!(
        resp.headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("mqtt")
    );
    let connect = probe::encode_connect(&creds_of(client_id, token));
    ws.send(Message::Binary(connect.into())).await.unwrap();
    ws
}

/// Reads frames until `want` packets are complete; returns them and each frame's length.
async fn read_packets(ws: &mut Ws, want: usize) -> (Vec<Incoming>, Vec<usize>) {
    let mut decoder = Decoder::new();
    let mut packets = Vec::new();
    let mut frames = Vec::new();
    while packets.len() < want {
        match tokio::time::timeout(WAIT, ws.next()).await {
            Ok(Some(Ok(Message::Binary(bytes)))) => {
                frames.push(bytes.len());
                decoder.push(&bytes);
                while let Some(p) = decoder.next_packet().expect("well-formed packets") {
                    packets.push(p);
                }
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("the link ended after {packets:?}: {other:?}"),
        }
    }
    (packets, frames)
}

#[tokio::test]
async fn split_mode_delivers_the_connack_in_several_frames() {
    let (stack, _dist) = common::stack(BrokerKind::Embedded, |c| c.dev_controls = true).await;
    let http_addr = stack.http_addr();
    let cookie = login(http_addr, "alice").await;
    let t = token(http_addr, &cookie).await;
    set_framing(http_addr, "split").await;
    let mut ws = connect(&stack.broker_url(), &t, "split-1").await;
    let (packets, frames) = read_packets(&mut ws, 1).await;
    assert!(
        matches!(packets[0], Incoming::ConnAck { reason: 0, .. }),
        "{packets:?}"
    );
    assert!(frames.len() > 1, "CONNACK came in {frames:?}");
    assert!(frames.iter().all(|&n| n <= 3), "{frames:?}");
    // The relayed connection still works both ways.
    ws.send(Message::Binary(probe::encode_pingreq().into()))
        .await
        .unwrap();
    let (packets, _) = read_packets(&mut ws, 1).await;
    assert_eq!(packets[0], Incoming::PingResp);
    set_framing(http_addr, "off").await;
    stack.shutdown().await;
}

#[tokio::test]
async fn coalesce_mode_puts_several_packets_in_one_frame() {
    let (stack, _dist) = common::stack(BrokerKind::Embedded, |c| c.dev_controls = true).await;
    let http_addr = stack.http_addr();
    let cookie = login(http_addr, "alice").await;
    let t = token(http_addr, &cookie).await;
    set_framing(http_addr, "coalesce").await;
    let mut ws = connect(&stack.broker_url(), &t, "coalesce-1").await;
    let (packets, _) = read_packets(&mut ws, 1).await;
    assert!(matches!(packets[0], Incoming::ConnAck { reason: 0, .. }));
    // Alice's own author topic (the default `author` ACL: she may publish only there).
    let topic = "chat/lobby/messages/alice";
    ws.send(Message::Binary(probe::encode_subscribe(1, topic, 0).into()))
        .await
        .unwrap();
    let (packets, _) = read_packets(&mut ws, 1).await;
    assert!(matches!(packets[0], Incoming::SubAck { .. }), "{packets:?}");
    // Five QoS 0 publishes in one go: the echoes arrive within one coalescing window.
    for i in 0..5u16 {
        let publish = probe::encode_publish(topic, format!("m{i}").as_bytes(), 0, 0);
        ws.feed(Message::Binary(publish.into())).await.unwrap();
    }
    ws.flush().await.unwrap();
    let (packets, frames) = read_packets(&mut ws, 5).await;
    assert!(
        packets
            .iter()
            .all(|p| matches!(p, Incoming::Publish { .. })),
        "{packets:?}"
    );
    assert!(frames.len() < 5, "5 packets came in {frames:?}");
    set_framing(http_addr, "off").await;
    stack.shutdown().await;
}

#[tokio::test]
async fn a_relayed_connection_is_closed_at_token_expiry() {
    let (stack, _dist) = common::stack(BrokerKind::Embedded, |c| c.dev_controls = true).await;
    let http_addr = stack.http_addr();
    let cookie = login(http_addr, "alice").await;
    let t = token(http_addr, &cookie).await;
    set_framing(http_addr, "split").await;
    let mut ws = connect(&stack.broker_url(), &t, "expiring").await;
    let (packets, _) = read_packets(&mut ws, 1).await;
    assert!(matches!(packets[0], Incoming::ConnAck { reason: 0, .. }));
    let resp = http(http_addr, "POST", "/dev/control/tokens/expire", &[], "").await;
    assert_eq!(resp.status, 200);
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_))) => {}
                _ => return,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the relayed link stayed open after expiry");
    stack.shutdown().await;
}

#[tokio::test]
async fn split_mode_also_fronts_mosquitto_with_the_controls_on() {
    if !common::mosquitto_available("split_mode_also_fronts_mosquitto_with_the_controls_on") {
        return;
    }
    let (stack, _dist) = common::stack(BrokerKind::Mosquitto, |c| c.dev_controls = true).await;
    let http_addr = stack.http_addr();
    let cookie = login(http_addr, "alice").await;
    let t = token(http_addr, &cookie).await;
    set_framing(http_addr, "split").await;
    let mut ws = connect(&stack.broker_url(), &t, "split-m").await;
    let (packets, frames) = read_packets(&mut ws, 1).await;
    assert!(
        matches!(packets[0], Incoming::ConnAck { reason: 0, .. }),
        "{packets:?}"
    );
    assert!(frames.len() > 1, "CONNACK came in {frames:?}");
    assert!(frames.iter().all(|&n| n <= 3), "{frames:?}");
    stack.shutdown().await;
}
