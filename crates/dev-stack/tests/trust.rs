//! Issue 10 ("Trust") against the real brokers: the per-author ACL in each `CHAT_ACL` mode,
//! retained publishes refused, the maximum packet size, sign-out revocation, `brokerUrl` in token
//! responses, and Mosquitto never running as root. Each scenario runs on the embedded broker
//! (`embedded::…`) and on Mosquitto (`mosquitto::…`), over MQTT 5 and 3.1.1 where the protocol
//! version matters.

mod common;

use std::time::{Duration, Instant};

use common::*;
use dev_stack::acl::AclMode;
use dev_stack::BrokerKind;

/// Long enough for a message the broker routes to reach a subscriber on loopback.
const QUIET: Duration = Duration::from_millis(600);

/// SUBACK code of a refused subscription.
fn sub_refused(v311: bool) -> u8 {
    if v311 {
        0x80
    } else {
        0x87
    }
}

fn opts(token: &serde_json::Value, id: &str, v311: bool) -> dev_stack::probe::ConnectOptions {
    let o = creds_of(id, token);
    if v311 {
        common::v311(o)
    } else {
        o
    }
}

struct Room {
    stack: dev_stack::RunningStack,
    _dist: tempfile::TempDir,
    alice: serde_json::Value,
    bob: serde_json::Value,
}

async fn room(kind: BrokerKind, mode: AclMode) -> Room {
    let (stack, dist) = stack(kind, |c| c.chat_acl = mode).await;
    let alice = token(stack.http_addr(), &login(stack.http_addr(), "alice").await).await;
    let bob = token(stack.http_addr(), &login(stack.http_addr(), "bob").await).await;
    Room {
        stack,
        _dist: dist,
        alice,
        bob,
    }
}

/// Publishes what the ACL must refuse: MQTT 5 gets PUBACK 0x87 on both brokers; over 3.1.1
/// there is no refusal code, so only the (absent) delivery tells (checked by the caller).
async fn forbidden_publish(client: &mut WsMqtt, topic: &str, v311: bool) {
    if v311 {
        client.publish_no_wait(topic, b"forged", false).await;
    } else {
        assert_eq!(client.publish(topic, b"forged").await, 0x87, "{topic}");
    }
    // Packets are handled in order: after the PINGRESP the publish has been dealt with.
    client.ping().await.expect("the link stays open");
}

fn topics(got: &[(String, Vec<u8>)]) -> Vec<&str> {
    got.iter().map(|(t, _)| t.as_str()).collect()
}

async fn author_mode_ties_the_last_level_to_the_credential(kind: BrokerKind, v311: bool) {
    let r = room(kind, AclMode::Author).await;
    let url = r.stack.broker_url();
    let (mut bob, _) = WsMqtt::connect_ok(&url, &opts(&r.bob, "bob-1", v311)).await;
    assert_eq!(bob.subscribe("chat/lobby/messages/+").await, 1);
    assert_eq!(bob.subscribe("chat/lobby/messages").await, 1);
    let (mut alice, _) = WsMqtt::connect_ok(&url, &opts(&r.alice, "alice-1", v311)).await;
    forbidden_publish(&mut alice, "chat/lobby/messages/bob", v311).await;
    forbidden_publish(&mut alice, "chat/lobby/messages", v311).await;
    assert_eq!(alice.publish("chat/lobby/messages/alice", b"hi").await, 0);
    let got = bob.publishes_within(QUIET).await;
    assert_eq!(topics(&got), ["chat/lobby/messages/alice"], "only her own");
    assert_eq!(got[0].1, b"hi");
    // Wildcards other than the author level stay refused.
    for filter in ["chat/+/messages/+", "chat/+/messages", "chat/#", "#"] {
        assert_eq!(alice.subscribe(filter).await, sub_refused(v311), "{filter}");
    }
    r.stack.shutdown().await;
}

async fn quickstart_mode_has_only_the_shared_topic(kind: BrokerKind, v311: bool) {
    let r = room(kind, AclMode::Quickstart).await;
    let url = r.stack.broker_url();
    let (mut bob, _) = WsMqtt::connect_ok(&url, &opts(&r.bob, "bob-1", v311)).await;
    assert_eq!(
        bob.subscribe("chat/lobby/messages/+").await,
        sub_refused(v311),
        "the author-topic subscription is refused with a SUBACK failure code"
    );
    assert_eq!(bob.subscribe("chat/lobby/messages").await, 1);
    let (mut alice, _) = WsMqtt::connect_ok(&url, &opts(&r.alice, "alice-1", v311)).await;
    forbidden_publish(&mut alice, "chat/lobby/messages/alice", v311).await;
    assert_eq!(alice.publish("chat/lobby/messages", b"hi").await, 0);
    let got = bob.publishes_within(QUIET).await;
    assert_eq!(topics(&got), ["chat/lobby/messages"]);
    r.stack.shutdown().await;
}

async fn mixed_mode_adds_the_shared_topic(kind: BrokerKind, v311: bool) {
    let r = room(kind, AclMode::Mixed).await;
    let url = r.stack.broker_url();
    let (mut bob, _) = WsMqtt::connect_ok(&url, &opts(&r.bob, "bob-1", v311)).await;
    assert_eq!(bob.subscribe("chat/lobby/messages/+").await, 1);
    assert_eq!(bob.subscribe("chat/lobby/messages").await, 1);
    let (mut alice, _) = WsMqtt::connect_ok(&url, &opts(&r.alice, "alice-1", v311)).await;
    forbidden_publish(&mut alice, "chat/lobby/messages/bob", v311).await;
    assert_eq!(alice.publish("chat/lobby/messages", b"shared").await, 0);
    assert_eq!(alice.publish("chat/lobby/messages/alice", b"own").await, 0);
    let got = bob.publishes_within(QUIET).await;
    assert_eq!(
        topics(&got),
        ["chat/lobby/messages", "chat/lobby/messages/alice"]
    );
    r.stack.shutdown().await;
}

/// A retained chat message never reaches a later subscriber; a small presence entry does.
/// Embedded (retain is for presence entries only): dropped unrouted (PUBACK 0), and over the
/// 512-byte retained limit PUBACK 0x97 (mqtt5 0.49 puts the reason byte into 3.1.1 PUBACKs too),
/// the link stays. Mosquitto (dynsec cannot refuse the retain flag per topic): accepted and
/// delivered live like any publish, then deleted by the stack's retain janitor (its empty
/// retained publish reaches live subscribers too); a presence entry over 512 bytes is deleted.
async fn retained_messages_stay_only_for_presence_entries(kind: BrokerKind, v311: bool) {
    let r = room(kind, AclMode::Author).await;
    let url = r.stack.broker_url();
    let (mut live, _) = WsMqtt::connect_ok(&url, &opts(&r.bob, "bob-live", v311)).await;
    assert_eq!(live.subscribe("chat/lobby/messages/+").await, 1);
    let (mut alice, _) = WsMqtt::connect_ok(&url, &opts(&r.alice, "alice-1", v311)).await;
    let outcome = alice
        .try_publish("chat/lobby/messages/alice", b"sticky", true)
        .await;
    assert_eq!(
        outcome,
        Ok(0),
        "dropped (embedded) or accepted (Mosquitto), the link stays"
    );
    let entry = "chat/lobby/presence/alice/t1";
    assert_eq!(alice.try_publish(entry, b"{}", true).await, Ok(0));
    // Over the retained-size limit: the embedded broker refuses it outright; Mosquitto takes it
    // and the janitor deletes it.
    let big = alice
        .try_publish("chat/lobby/presence/alice/t2", &[b'x'; 600], true)
        .await;
    match kind {
        BrokerKind::Embedded => assert_eq!(big, Ok(0x97)),
        BrokerKind::Mosquitto => assert_eq!(big, Ok(0)),
        BrokerKind::RabbitMq => unreachable!("RabbitMQ has its own tests (rabbitmq.rs)"),
    }
    let live_got: Vec<Vec<u8>> = live
        .publishes_within(QUIET)
        .await
        .into_iter()
        .map(|(_, payload)| payload)
        .filter(|payload| !payload.is_empty())
        .collect();
    match kind {
        BrokerKind::Embedded => assert!(
            live_got.is_empty(),
            "a refused retained message is not delivered live either"
        ),
        _ => assert_eq!(
            live_got,
            [b"sticky".to_vec()],
            "delivered live once, as any publish"
        ),
    }
    let (mut later, _) = WsMqtt::connect_ok(&url, &opts(&r.bob, "bob-later", v311)).await;
    assert_eq!(later.subscribe("chat/lobby/messages/+").await, 1);
    assert!(
        later.publishes_within(QUIET).await.is_empty(),
        "no retained chat message for a later subscriber"
    );
    assert_eq!(later.subscribe("chat/lobby/presence/+/+").await, 1);
    let kept: Vec<String> = later
        .publishes_within(QUIET)
        .await
        .into_iter()
        .map(|(topic, _)| topic)
        .collect();
    assert_eq!(
        kept,
        [entry],
        "only the small presence entry stays retained"
    );
    r.stack.shutdown().await;
}

/// A 70 KB publish (over the 65536-byte limit) is refused and never delivered; the broker keeps
/// serving everyone else. Embedded (`max_packet_size`): the sender's connection is dropped, no
/// DISCONNECT. Mosquitto 2.0.11 does not apply `max_packet_size` to WebSocket clients, so
/// `message_size_limit` refuses the message: MQTT 5 PUBACK 0x95, 3.1.1 a plain PUBACK; the
/// sender stays connected.
async fn an_oversized_publish_is_refused(kind: BrokerKind, v311: bool) {
    let r = room(kind, AclMode::Author).await;
    let url = r.stack.broker_url();
    let (mut bob, _) = WsMqtt::connect_ok(&url, &opts(&r.bob, "bob-1", v311)).await;
    assert_eq!(bob.subscribe("chat/lobby/messages/+").await, 1);
    let (mut alice, _) = WsMqtt::connect_ok(&url, &opts(&r.alice, "alice-1", v311)).await;
    let big = vec![b'x'; 70 * 1024];
    let outcome = alice
        .try_publish("chat/lobby/messages/alice", &big, false)
        .await;
    match (kind, v311) {
        (BrokerKind::Embedded, _) => assert_eq!(outcome, Err(Ended::Closed)),
        (BrokerKind::Mosquitto, false) => assert_eq!(outcome, Ok(0x95)),
        (BrokerKind::Mosquitto, true) => assert_eq!(outcome, Ok(0)),
        (BrokerKind::RabbitMq, _) => unreachable!("RabbitMQ has its own tests (rabbitmq.rs)"),
    }
    assert!(
        bob.publishes_within(QUIET).await.is_empty(),
        "not delivered"
    );
    // Another client's normal publish still goes through.
    let alice2 = token(
        r.stack.http_addr(),
        &login(r.stack.http_addr(), "alice").await,
    )
    .await;
    let (mut again, _) = WsMqtt::connect_ok(&url, &opts(&alice2, "alice-2", v311)).await;
    assert_eq!(
        again
            .publish("chat/lobby/messages/alice", b"normal size")
            .await,
        0
    );
    let got = bob.publishes_within(QUIET).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, b"normal size");
    r.stack.shutdown().await;
}

/// `/dev/logout` ends the session and revokes every live token of the user: the broker closes
/// their connections within a second, the old cookie gets 401, other users are untouched.
async fn sign_out_revokes_live_credentials(kind: BrokerKind) {
    let (stack, _dist) = stack(kind, |_| {}).await;
    let url = stack.broker_url();
    let addr = stack.http_addr();
    let cookie = login(addr, "alice").await;
    let t1 = token(addr, &cookie).await;
    let t2 = token(addr, &cookie).await;
    let bob = token(addr, &login(addr, "bob").await).await;
    let (mut a1, _) = WsMqtt::connect_ok(&url, &creds_of("alice-1", &t1)).await;
    let (mut a2, _) = WsMqtt::connect_ok(&url, &creds_of("alice-2", &t2)).await;
    let (mut b, _) = WsMqtt::connect_ok(&url, &creds_of("bob-1", &bob)).await;
    let start = Instant::now();
    let resp = http(addr, "GET", "/dev/logout", &[("cookie", &cookie)], "").await;
    assert_eq!(resp.status, 303);
    a1.ended(Duration::from_secs(1)).await;
    a2.ended(Duration::from_secs(1).saturating_sub(start.elapsed()))
        .await;
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    let resp = http(addr, "POST", "/api/mqtt-token", &[("cookie", &cookie)], "").await;
    assert_eq!(resp.status, 401);
    let code = WsMqtt::connack_reason(&url, &creds_of("alice-3", &t1)).await;
    assert_ne!(code, 0, "a revoked password no longer connects");
    assert_eq!(b.ping().await, Ok(()), "bob stays connected");
    stack.shutdown().await;
}

async fn token_responses_name_the_broker(kind: BrokerKind) {
    let (stack, _dist) = stack(kind, |_| {}).await;
    let cookie = login(stack.http_addr(), "alice").await;
    let t = token(stack.http_addr(), &cookie).await;
    assert_eq!(t["brokerUrl"], stack.broker_url());
    for field in [
        "accessToken",
        "tokenId",
        "expiresAt",
        "refreshAt",
        "username",
        "userId",
    ] {
        assert!(t[field].is_string(), "{field} kept: {t}");
    }
    let resp = refresh(stack.http_addr(), &cookie, &t).await;
    assert_eq!(resp.json()["brokerUrl"], stack.broker_url());
    let (mut client, _) =
        WsMqtt::connect_ok(t["brokerUrl"].as_str().unwrap(), &creds_of("c1", &t)).await;
    assert_eq!(client.ping().await, Ok(()));
    stack.shutdown().await;
}

macro_rules! on_both_brokers {
    (versions: $($vname:ident),* ; plain: $($name:ident),* $(,)?) => {
        mod embedded {
            $(
                mod $vname {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn v5() {
                        super::super::$vname(dev_stack::BrokerKind::Embedded, false).await;
                    }
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn v311() {
                        super::super::$vname(dev_stack::BrokerKind::Embedded, true).await;
                    }
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(dev_stack::BrokerKind::Embedded).await;
                }
            )*
        }
        mod mosquitto {
            $(
                mod $vname {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn v5() {
                        if super::super::common::mosquitto_available(stringify!($vname)) {
                            super::super::$vname(dev_stack::BrokerKind::Mosquitto, false).await;
                        }
                    }
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn v311() {
                        if super::super::common::mosquitto_available(stringify!($vname)) {
                            super::super::$vname(dev_stack::BrokerKind::Mosquitto, true).await;
                        }
                    }
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if super::common::mosquitto_available(stringify!($name)) {
                        super::$name(dev_stack::BrokerKind::Mosquitto).await;
                    }
                }
            )*
        }
    };
}

on_both_brokers!(
    versions:
        author_mode_ties_the_last_level_to_the_credential,
        quickstart_mode_has_only_the_shared_topic,
        mixed_mode_adds_the_shared_topic,
        retained_messages_stay_only_for_presence_entries,
        an_oversized_publish_is_refused;
    plain:
        sign_out_revokes_live_credentials,
        token_responses_name_the_broker,
);

/// Started by root, Mosquitto runs as `mosquitto`; never as root.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_never_runs_as_root() {
    if !mosquitto_available("mosquitto_never_runs_as_root") {
        return;
    }
    let (stack, _dist) = stack(BrokerKind::Mosquitto, |_| {}).await;
    let pid = stack.broker_pid().await.expect("Mosquitto's pid");
    let out = std::process::Command::new("ps")
        .args(["-o", "user=", "-p", &pid.to_string()])
        .output()
        .expect("ps runs");
    let user = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(!user.is_empty(), "ps found process {pid}");
    assert_ne!(user, "root");
    let we_are_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if we_are_root {
        assert_eq!(user, "mosquitto");
    }
    // It still works as that user: a token connects and the dynsec file is writable (a second
    // user's token creates a new role and client, which dynsec saves to its file).
    for name in ["alice", "bob"] {
        let t = token(stack.http_addr(), &login(stack.http_addr(), name).await).await;
        let (mut c, _) = WsMqtt::connect_ok(&stack.broker_url(), &creds_of(name, &t)).await;
        assert_eq!(c.ping().await, Ok(()));
    }
    stack.shutdown().await;
}
