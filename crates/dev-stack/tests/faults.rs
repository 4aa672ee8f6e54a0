//! The fault control (`POST /dev/control/faults`, issue 12 item 1) on both brokers: each mode's
//! observable behaviour through the stack's broker proxy. Timings are printed; the only timing
//! asserts are generous lower bounds.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{creds_of, http, login, token, Ended, WAIT};
use dev_stack::probe::{self, Decoder, Incoming};
use dev_stack::BrokerKind;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn faults(addr: SocketAddr, body: &str) -> serde_json::Value {
    let resp = http(
        addr,
        "POST",
        "/dev/control/faults",
        &[("content-type", "application/json")],
        body,
    )
    .await;
    assert_eq!(resp.status, 200, "{body}: {:?}", resp.body);
    resp.json()
}

/// A connected MQTT 5 link (CONNACK 0 received).
async fn link(url: &str, t: &serde_json::Value, id: &str) -> Ws {
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static("mqtt"));
    let (mut ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("handshake in time")
        .expect("handshake");
    let connect = probe::encode_connect(&creds_of(id, t));
    ws.send(Message::Binary(connect.into())).await.unwrap();
    match next_packet(&mut ws, WAIT).await {
        Ok(Some(Incoming::ConnAck { reason: 0, .. })) => ws,
        other => panic!("no CONNACK: {other:?}"),
    }
}

/// The next packet within `limit`: `Ok(None)` when nothing came (link still open), `Err` when
/// the link ended.
async fn next_packet(ws: &mut Ws, limit: Duration) -> Result<Option<Incoming>, String> {
    let mut decoder = Decoder::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return Ok(None),
            Ok(Some(Ok(Message::Binary(b)))) => {
                decoder.push(&b);
                if let Some(p) = decoder.next_packet().map_err(|e| format!("{e:?}"))? {
                    return Ok(Some(p));
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => return Err(describe(&e)),
            Ok(None) => return Err("closed".into()),
        }
    }
}

fn describe(e: &WsError) -> String {
    match e {
        WsError::Io(io) => format!("io:{:?}", io.kind()),
        other => format!("{other}"),
    }
}

async fn ping(ws: &mut Ws) {
    ws.send(Message::Binary(probe::encode_pingreq().into()))
        .await
        .unwrap();
}

async fn all_modes(kind: BrokerKind) {
    let (stack, _dist) = common::stack(kind, |c| c.dev_controls = true).await;
    let name = stack.broker_name();
    let addr = stack.http_addr();
    let url = stack.broker_url();
    let alice = token(addr, &login(addr, "alice").await).await;
    let bob = token(addr, &login(addr, "bob").await).await;

    // The state shows the rule; off by default.
    let state = http(addr, "GET", "/dev/control", &[], "").await.json();
    assert_eq!(state["faults"]["mode"], "off", "{state}");

    // stall (scope user:alice): alice's PINGREQ gets no PINGRESP, the socket stays open; bob is
    // not affected; once healed the held PINGRESP arrives.
    let mut a = link(&url, &alice, "a1").await;
    let mut b = link(&url, &bob, "b1").await;
    let set = faults(addr, r#"{"mode":"stall","scope":"user:alice"}"#).await;
    assert_eq!(set["faults"]["scope"], "user:alice");
    ping(&mut a).await;
    ping(&mut b).await;
    assert_eq!(
        next_packet(&mut b, WAIT).await,
        Ok(Some(Incoming::PingResp))
    );
    assert_eq!(
        next_packet(&mut a, Duration::from_millis(1500)).await,
        Ok(None),
        "{name}: stall: no PINGRESP and the link stays open"
    );
    faults(addr, r#"{"mode":"off"}"#).await;
    let t = Instant::now();
    assert_eq!(
        next_packet(&mut a, WAIT).await,
        Ok(Some(Incoming::PingResp))
    );
    println!(
        "{name}: stall: no PINGRESP for 1.5 s, held PINGRESP delivered {:?} after healing",
        t.elapsed()
    );

    // healAfterMs: a stall of every connection heals by itself.
    let t = Instant::now();
    faults(addr, r#"{"mode":"stall","scope":"all","healAfterMs":700}"#).await;
    ping(&mut a).await;
    assert_eq!(
        next_packet(&mut a, WAIT).await,
        Ok(Some(Incoming::PingResp))
    );
    let healed = t.elapsed();
    println!("{name}: stall with healAfterMs 700: PINGRESP after {healed:?}");
    assert!(healed >= Duration::from_millis(650), "{healed:?}");
    assert_eq!(
        http(addr, "GET", "/dev/control", &[], "").await.json()["faults"]["mode"],
        "off"
    );

    // delay 300 ms: a ping round trip crosses the proxy twice.
    faults(addr, r#"{"mode":"delay","delayMs":300}"#).await;
    let t = Instant::now();
    ping(&mut a).await;
    assert_eq!(
        next_packet(&mut a, WAIT).await,
        Ok(Some(Incoming::PingResp))
    );
    let rtt = t.elapsed();
    println!("{name}: delay 300 ms: ping round trip {rtt:?}");
    assert!(rtt >= Duration::from_millis(550), "{rtt:?}");
    faults(addr, r#"{"mode":"off"}"#).await;

    // blackhole after 12 bytes: one ping exchange passes (8 masked bytes up, 4 down), then
    // nothing, and the link stays open even after healing (the bytes are gone).
    faults(
        addr,
        r#"{"mode":"blackhole","scope":"user:alice","afterBytes":12}"#,
    )
    .await;
    ping(&mut a).await;
    assert_eq!(
        next_packet(&mut a, WAIT).await,
        Ok(Some(Incoming::PingResp)),
        "{name}: the first 12 bytes pass"
    );
    ping(&mut a).await;
    assert_eq!(
        next_packet(&mut a, Duration::from_millis(1500)).await,
        Ok(None),
        "{name}: blackhole: nothing after 12 bytes, link open"
    );
    faults(addr, r#"{"mode":"off"}"#).await;
    assert_eq!(
        next_packet(&mut a, Duration::from_millis(500)).await,
        Ok(None),
        "{name}: blackholed bytes stay dropped"
    );
    println!("{name}: blackhole after 12 bytes: 1 PINGRESP, then silence with the socket open");
    drop(a);

    // drop: a clean close (FIN, no WebSocket close frame), not a reset.
    let mut a = link(&url, &alice, "a2").await;
    faults(addr, r#"{"mode":"drop","scope":"user:alice"}"#).await;
    let ended = next_packet(&mut a, WAIT).await;
    println!("{name}: drop: the client saw {ended:?}");
    let why = ended.expect_err("drop ends the link");
    assert!(!why.contains("ConnectionReset"), "{name}: drop: {why}");
    // New connections of alice are dropped too, bob's pass.
    faults(addr, r#"{"mode":"drop","scope":"new"}"#).await;
    let mut request = url.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static("mqtt"));
    let refused = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("in time");
    assert!(refused.is_err(), "{name}: drop/new: the handshake fails");
    ping(&mut b).await;
    assert_eq!(
        next_packet(&mut b, WAIT).await,
        Ok(Some(Incoming::PingResp)),
        "{name}: scope new leaves open links alone"
    );
    faults(addr, r#"{"mode":"off"}"#).await;

    // reset: the client sees a connection reset.
    let mut a = link(&url, &alice, "a3").await;
    faults(addr, r#"{"mode":"reset","scope":"user:alice"}"#).await;
    let ended = next_packet(&mut a, WAIT).await;
    println!("{name}: reset: the client saw {ended:?}");
    assert_eq!(ended, Err("io:ConnectionReset".into()), "{name}");
    faults(addr, r#"{"mode":"off"}"#).await;

    // Token expiry still closes a connection through the fault pipe.
    let mut c = common::WsMqtt::connect_ok(&url, &creds_of("b2", &bob))
        .await
        .0;
    let resp = http(
        addr,
        "POST",
        "/dev/control/tokens/expire",
        &[("content-type", "application/json")],
        r#"{"user":"bob"}"#,
    )
    .await;
    assert_eq!(resp.status, 200);
    let ended = c.ended(Duration::from_secs(5)).await;
    println!("{name}: token expiry through the fault pipe: {ended:?}");
    match kind {
        BrokerKind::Embedded => assert_eq!(ended, Ended::Closed),
        BrokerKind::Mosquitto => assert_eq!(ended, Ended::Disconnect(0x98)),
        BrokerKind::RabbitMq => unreachable!("RabbitMQ has its own tests (rabbitmq.rs)"),
    }
    drop(b);
    stack.shutdown().await;
}

#[tokio::test]
async fn every_fault_mode_on_the_embedded_broker() {
    all_modes(BrokerKind::Embedded).await;
}

#[tokio::test]
async fn every_fault_mode_on_mosquitto() {
    if !common::mosquitto_available("every_fault_mode_on_mosquitto") {
        return;
    }
    all_modes(BrokerKind::Mosquitto).await;
}

#[tokio::test]
async fn bad_fault_requests_are_refused_and_controls_off_means_no_route() {
    let (stack, _dist) = common::stack(BrokerKind::Embedded, |c| c.dev_controls = true).await;
    for body in [
        r#"{"mode":"sideways"}"#,
        r#"{"mode":"stall","scope":"user:"}"#,
        r#"{"mode":"delay"}"#,
        r#"{"mode":"stall","afterByte":3}"#,
    ] {
        let resp = http(
            stack.http_addr(),
            "POST",
            "/dev/control/faults",
            &[("content-type", "application/json")],
            body,
        )
        .await;
        assert_eq!(resp.status, 400, "{body}");
    }
    stack.shutdown().await;
    let (stack, _dist) = common::stack(BrokerKind::Embedded, |_| {}).await;
    let resp = http(stack.http_addr(), "POST", "/dev/control/faults", &[], "{}").await;
    assert_eq!(resp.status, 404);
    stack.shutdown().await;
}
