//! The token contract and the broker behaviour, against real brokers on 127.0.0.1: each scenario
//! runs once with the embedded broker (`embedded::…`) and once with Mosquitto (`mosquitto::…`).

mod common;

use std::time::Duration;

use common::*;
use dev_stack::BrokerKind;

/// CONNACK code for bad credentials: 0x86 on `mqtt5`, 0x87 on Mosquitto (BROKERS.md).
fn bad_credentials_code(kind: BrokerKind) -> u8 {
    match kind {
        BrokerKind::Embedded => 0x86,
        BrokerKind::Mosquitto => 0x87,
        BrokerKind::RabbitMq => unreachable!("RabbitMQ has its own tests (rabbitmq.rs)"),
    }
}

fn is_rfc3339_utc(s: &str) -> bool {
    s.len() == 24 && s.ends_with('Z') && s.as_bytes()[10] == b'T'
}

async fn a_fresh_token_connects(kind: BrokerKind) {
    let (stack, _dist) = stack(kind, |_| {}).await;
    let cookie = login(stack.http_addr(), "alice").await;
    let resp = http(
        stack.http_addr(),
        "POST",
        "/api/mqtt-token",
        &[("cookie", &cookie)],
        "",
    )
    .await;
    assert_eq!(resp.status, 200);
    assert!(resp.header("date").is_some(), "the Date header is set");
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    let token = resp.json();
    for field in ["expiresAt", "refreshAt"] {
        assert!(is_rfc3339_utc(token[field].as_str().unwrap()), "{token}");
    }
    assert!(token["refreshAt"].as_str() < token["expiresAt"].as_str());
    assert_eq!(token["userId"], "alice");
    assert!(token["tokenId"].as_str().unwrap().starts_with("tok_"));
    let (mut client, _) = WsMqtt::connect_ok(&stack.broker_url(), &creds_of("c1", &token)).await;
    assert_eq!(client.ping().await, Ok(()));
    stack.shutdown().await;
}

async fn a_wrong_password_is_refused_with_a_connack_code(kind: BrokerKind) {
    let (stack, _dist) = stack(kind, |_| {}).await;
    let cookie = login(stack.http_addr(), "alice").await;
    let t = token(stack.http_addr(), &cookie).await;
    let wrong = creds("c1", t["username"].as_str().unwrap(), "not-the-password");
    let code = WsMqtt::connack_reason(&stack.broker_url(), &wrong).await;
    assert_eq!(code, bad_credentials_code(kind));
    let unknown = creds("c2", "nobody@tok_0", "x");
    let code = WsMqtt::connack_reason(&stack.broker_url(), &unknown).await;
    assert_eq!(code, bad_credentials_code(kind));
    stack.shutdown().await;
}

async fn the_admin_room_is_refused_on_subscribe_and_publish(kind: BrokerKind) {
    let (stack, _dist) = stack(kind, |_| {}).await;
    let url = stack.broker_url();
    let alice = login(stack.http_addr(), "alice").await;
    let t = token(stack.http_addr(), &alice).await;
    let (mut client, _) = WsMqtt::connect_ok(&url, &creds_of("alice-1", &t)).await;
    assert_eq!(client.subscribe("chat/admin/messages").await, 0x87);
    assert_eq!(client.subscribe("chat/admin/messages/+").await, 0x87);
    assert_eq!(
        client.publish("chat/admin/messages/alice", b"hi").await,
        0x87
    );
    assert_eq!(
        client.subscribe("chat/+/messages").await,
        0x87,
        "no wildcards"
    );
    assert_eq!(client.subscribe("chat/lobby/messages").await, 1);
    assert_eq!(client.subscribe("chat/lobby/messages/+").await, 1);
    // (With a subscriber: Mosquitto answers 0x10 "no matching subscribers" otherwise.)
    assert_eq!(client.publish("chat/lobby/messages/alice", b"hi").await, 0);

    let admin = login(stack.http_addr(), "admin").await;
    let t = token(stack.http_addr(), &admin).await;
    let (mut client, _) = WsMqtt::connect_ok(&url, &creds_of("admin-1", &t)).await;
    assert_eq!(client.subscribe("chat/admin/messages").await, 1);
    assert_eq!(client.subscribe("chat/admin/messages/+").await, 1);
    assert_eq!(client.publish("chat/admin/messages/admin", b"hi").await, 0);
    stack.shutdown().await;
}

async fn refresh_returns_a_new_password_and_the_old_one_works_until_expiry(kind: BrokerKind) {
    let (stack, _dist) = stack(kind, |c| c.token_ttl = Duration::from_secs(4)).await;
    let url = stack.broker_url();
    let cookie = login(stack.http_addr(), "alice").await;
    let old = token(stack.http_addr(), &cookie).await;
    let (mut rotating, _) = WsMqtt::connect_ok(&url, &creds_of("rotating", &old)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let resp = refresh(stack.http_addr(), &cookie, &old).await;
    assert_eq!(resp.status, 200);
    assert!(resp.header("date").is_some());
    let new = resp.json();
    assert_ne!(new["accessToken"], old["accessToken"]);
    assert_ne!(new["tokenId"], old["tokenId"]);
    assert!(new["expiresAt"].as_str() > old["expiresAt"].as_str());

    // The old credentials still connect after the refresh...
    let (mut on_old, _) = WsMqtt::connect_ok(&url, &creds_of("on-old", &old)).await;
    // ...and a make-before-break takeover with the new ones keeps the session.
    let (mut rotated, session_present) =
        WsMqtt::connect_ok(&url, &creds_of("rotating", &new)).await;
    assert!(session_present, "the takeover resumes the session");
    assert_ne!(
        rotating.ended(WAIT).await,
        Ended::Disconnect(0),
        "old link retired"
    );

    // At the old token's expiry only the connection that still uses it is closed.
    on_old.ended(Duration::from_secs(10)).await;
    assert_eq!(
        rotated.ping().await,
        Ok(()),
        "the rotated link survives the old token's expiry"
    );
    let code = WsMqtt::connack_reason(&url, &creds_of("late", &old)).await;
    assert_eq!(code, bad_credentials_code(kind));
    assert_eq!(refresh(stack.http_addr(), &cookie, &old).await.status, 401);
    stack.shutdown().await;
}

async fn at_expiry_the_broker_closes_the_connection_and_refuses_the_password(kind: BrokerKind) {
    let (stack, _dist) = stack(kind, |c| c.token_ttl = Duration::from_secs(2)).await;
    let url = stack.broker_url();
    let cookie = login(stack.http_addr(), "alice").await;
    let t = token(stack.http_addr(), &cookie).await;
    let (mut client, _) = WsMqtt::connect_ok(&url, &creds_of("c1", &t)).await;
    assert_eq!(client.subscribe("chat/lobby/messages").await, 1);
    let ended = client.ended(Duration::from_secs(10)).await;
    match kind {
        BrokerKind::Embedded => assert_eq!(ended, Ended::Closed),
        BrokerKind::Mosquitto => assert_eq!(ended, Ended::Disconnect(0x98)),
        BrokerKind::RabbitMq => unreachable!("RabbitMQ has its own tests (rabbitmq.rs)"),
    }
    let code = WsMqtt::connack_reason(&url, &creds_of("c1", &t)).await;
    assert_eq!(code, bad_credentials_code(kind));
    stack.shutdown().await;
}

async fn token_endpoints_refuse_without_a_session(kind: BrokerKind) {
    let (stack, _dist) = stack(kind, |_| {}).await;
    for path in ["/api/mqtt-token", "/api/mqtt-token/refresh"] {
        let resp = http(stack.http_addr(), "POST", path, &[], "{}").await;
        assert_eq!(resp.status, 401, "{path}");
        assert_eq!(resp.json()["error"], "unauthorized");
    }
    let resp = http(
        stack.http_addr(),
        "POST",
        "/api/mqtt-token",
        &[("cookie", "devstack_session=forged")],
        "",
    )
    .await;
    assert_eq!(resp.status, 401);
    // After sign-out the old cookie is worthless.
    let cookie = login(stack.http_addr(), "alice").await;
    http(
        stack.http_addr(),
        "GET",
        "/dev/logout",
        &[("cookie", &cookie)],
        "",
    )
    .await;
    let resp = http(
        stack.http_addr(),
        "POST",
        "/api/mqtt-token",
        &[("cookie", &cookie)],
        "",
    )
    .await;
    assert_eq!(resp.status, 401);
    stack.shutdown().await;
}

async fn malformed_bodies_get_400_with_a_json_error(kind: BrokerKind) {
    let (stack, _dist) = stack(kind, |_| {}).await;
    let cookie = login(stack.http_addr(), "alice").await;
    let cases = [
        ("/api/mqtt-token", "{not json"),
        ("/api/mqtt-token", "[1,2]"),
        ("/api/mqtt-token", r#"{"userEmail": 5}"#),
        ("/api/mqtt-token/refresh", "{}"),
        ("/api/mqtt-token/refresh", r#"{"tokenId": "tok_1"}"#),
        ("/api/mqtt-token/refresh", "nope"),
    ];
    for (path, body) in cases {
        let resp = http(
            stack.http_addr(),
            "POST",
            path,
            &[("cookie", &cookie)],
            body,
        )
        .await;
        assert_eq!(resp.status, 400, "{path} {body}");
        assert_eq!(resp.json()["error"], "invalid_request");
        assert!(resp.json()["message"].is_string());
    }
    let unknown = serde_json::json!({ "tokenId": "tok_nope", "password": "x" }).to_string();
    let resp = http(
        stack.http_addr(),
        "POST",
        "/api/mqtt-token/refresh",
        &[("cookie", &cookie)],
        &unknown,
    )
    .await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json()["error"], "invalid_token");
    stack.shutdown().await;
}

async fn past_the_rate_limit_requests_get_429_with_retry_after(kind: BrokerKind) {
    let (stack, _dist) = stack(kind, |c| c.token_rate_limit = 3).await;
    let alice = login(stack.http_addr(), "alice").await;
    for _ in 0..3 {
        token(stack.http_addr(), &alice).await;
    }
    let resp = http(
        stack.http_addr(),
        "POST",
        "/api/mqtt-token",
        &[("cookie", &alice)],
        "",
    )
    .await;
    assert_eq!(resp.status, 429);
    let retry: u64 = resp.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(resp.json()["error"], "rate_limited");
    // The limit is per user.
    let bob = login(stack.http_addr(), "bob").await;
    token(stack.http_addr(), &bob).await;
    stack.shutdown().await;
}

async fn cors_preflight_allows_only_listed_origins(kind: BrokerKind) {
    let allowed = "http://cdn.example.test:9000";
    let (stack, _dist) = stack(kind, |c| c.cors_origins = vec![allowed.into()]).await;
    let preflight = |origin: &'static str| {
        let addr = stack.http_addr();
        async move {
            http(
                addr,
                "OPTIONS",
                "/api/mqtt-token",
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", "content-type"),
                ],
                "",
            )
            .await
        }
    };
    let ok = preflight(allowed).await;
    assert!(ok.status < 300);
    assert_eq!(ok.header("access-control-allow-origin"), Some(allowed));
    assert_eq!(ok.header("access-control-allow-credentials"), Some("true"));
    assert!(ok
        .header("access-control-allow-methods")
        .unwrap()
        .contains("POST"));
    let denied = preflight("http://evil.example.test").await;
    assert_eq!(denied.header("access-control-allow-origin"), None);

    // The real request from the allowed origin exposes Date for clock-skew estimates.
    let cookie = login(stack.http_addr(), "alice").await;
    let resp = http(
        stack.http_addr(),
        "POST",
        "/api/mqtt-token",
        &[("cookie", &cookie), ("origin", allowed)],
        "",
    )
    .await;
    assert_eq!(resp.header("access-control-allow-origin"), Some(allowed));
    let exposed = resp
        .header("access-control-expose-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("date") && exposed.contains("retry-after"));
    // A page on a foreign origin cannot spend the user's cookie on a token.
    let resp = http(
        stack.http_addr(),
        "POST",
        "/api/mqtt-token",
        &[("cookie", &cookie), ("origin", "http://evil.example.test")],
        "",
    )
    .await;
    assert_eq!(resp.status, 403);
    assert_eq!(resp.json()["error"], "forbidden_origin");
    // The app's own origin needs no allow-list entry.
    let own = format!("http://{}", stack.http_addr());
    let resp = http(
        stack.http_addr(),
        "POST",
        "/api/mqtt-token",
        &[("cookie", &cookie), ("origin", &own)],
        "",
    )
    .await;
    assert_eq!(resp.status, 200);
    stack.shutdown().await;
}

async fn a_broker_restart_closes_connections_and_comes_back_on_the_same_port(kind: BrokerKind) {
    let (stack, _dist) = stack(kind, |c| c.dev_controls = true).await;
    let url = stack.broker_url();
    let cookie = login(stack.http_addr(), "alice").await;
    let t = token(stack.http_addr(), &cookie).await;
    let (mut client, _) = WsMqtt::connect_ok(&url, &creds_of("c1", &t)).await;
    let restart = tokio::spawn({
        let addr = stack.http_addr();
        async move {
            http(
                addr,
                "POST",
                "/dev/control/broker/restart",
                &[],
                r#"{"downMs":200}"#,
            )
            .await
        }
    });
    client.ended(WAIT).await;
    assert_eq!(restart.await.unwrap().status, 200);
    assert_eq!(stack.broker_url(), url);
    // A live token still connects after the restart.
    let (mut again, _) = WsMqtt::connect_ok(&url, &creds_of("c1", &t)).await;
    assert_eq!(again.ping().await, Ok(()));
    stack.shutdown().await;
}

macro_rules! on_both_brokers {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(dev_stack::BrokerKind::Embedded).await;
                }
            )*
        }
        mod mosquitto {
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
    a_fresh_token_connects,
    a_wrong_password_is_refused_with_a_connack_code,
    the_admin_room_is_refused_on_subscribe_and_publish,
    refresh_returns_a_new_password_and_the_old_one_works_until_expiry,
    at_expiry_the_broker_closes_the_connection_and_refuses_the_password,
    token_endpoints_refuse_without_a_session,
    malformed_bodies_get_400_with_a_json_error,
    past_the_rate_limit_requests_get_429_with_retry_after,
    cors_preflight_allows_only_listed_origins,
    a_broker_restart_closes_connections_and_comes_back_on_the_same_port,
);

/// Embedded broker only: its sessions live in file storage, so a restart keeps them (Mosquitto in
/// the dev stack runs without persistence and loses them, like the embedded broker used to).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_sessions_and_queued_messages_survive_a_broker_restart() {
    let (stack, _dist) = stack(BrokerKind::Embedded, |c| c.dev_controls = true).await;
    let url = stack.broker_url();
    let topic = "chat/restart/messages/+";
    let bob = token(stack.http_addr(), &login(stack.http_addr(), "bob").await).await;
    let (mut b, _) = WsMqtt::connect_ok(&url, &creds_of("bob-1", &bob)).await;
    assert_eq!(b.subscribe(topic).await, 1);
    let resp = http(
        stack.http_addr(),
        "POST",
        "/dev/control/broker/restart",
        &[],
        r#"{"downMs":100}"#,
    )
    .await;
    assert_eq!(resp.status, 200);
    b.ended(WAIT).await;
    // Alice publishes while Bob is still away.
    let alice = token(stack.http_addr(), &login(stack.http_addr(), "alice").await).await;
    let (mut a, _) = WsMqtt::connect_ok(&url, &creds_of("alice-1", &alice)).await;
    assert_eq!(
        a.publish("chat/restart/messages/alice", b"sent while bob was away")
            .await,
        0
    );
    // Bob comes back to his session and gets the queued message.
    let (mut b, session_present) = WsMqtt::connect_ok(&url, &creds_of("bob-1", &bob)).await;
    assert!(session_present, "the session survived the restart");
    let got = tokio::time::timeout(WAIT, async {
        loop {
            if let dev_stack::probe::Incoming::Publish { payload, .. } =
                b.recv().await.expect("link open")
            {
                return payload;
            }
        }
    })
    .await
    .expect("the queued message in time");
    assert_eq!(got, b"sent while bob was away".to_vec());
    stack.shutdown().await;
}
