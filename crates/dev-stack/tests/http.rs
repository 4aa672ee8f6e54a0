//! The HTTP side that does not depend on the broker: static app (also under `/app/`),
//! `/config.json`, dev sign-in, CSP, and the test controls. Runs against the embedded broker.

mod common;

use std::time::Duration;

use common::*;
use dev_stack::BrokerKind;

#[tokio::test]
async fn the_app_is_served_at_the_root_and_under_the_app_sub_path() {
    let (stack, _dist) = stack(BrokerKind::Embedded, |_| {}).await;
    let addr = stack.http_addr();
    for path in ["/", "/index.html", "/app/", "/app/index.html"] {
        let resp = http(addr, "GET", path, &[], "").await;
        assert_eq!(resp.status, 200, "{path}");
        assert!(String::from_utf8_lossy(&resp.body).contains("<title>livechat</title>"));
        let csp = resp
            .header("content-security-policy")
            .expect("strict CSP by default");
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{csp}"
        );
    }
    assert_eq!(http(addr, "GET", "/app/app.js", &[], "").await.status, 200);
    let resp = http(addr, "GET", "/app", &[], "").await;
    assert_eq!(resp.status, 308);
    assert_eq!(resp.header("location"), Some("/app/"));
    assert_eq!(http(addr, "GET", "/missing.js", &[], "").await.status, 404);
    stack.shutdown().await;
}

#[tokio::test]
async fn config_json_points_at_the_broker_and_the_token_endpoints() {
    let (stack, _dist) = stack(BrokerKind::Embedded, |_| {}).await;
    for path in ["/config.json", "/app/config.json"] {
        let config = http(stack.http_addr(), "GET", path, &[], "").await.json();
        assert_eq!(config["brokerUrl"], stack.broker_url());
        assert_eq!(config["tokenUrl"], "/api/mqtt-token");
        assert_eq!(config["refreshUrl"], "/api/mqtt-token/refresh");
        assert_eq!(
            config["devLogin"], "/dev/login",
            "the test stacks run with DEV_AUTH"
        );
        assert_eq!(
            config["historyUrl"], "/api/history",
            "the embedded broker keeps it"
        );
    }
    // The room history answers signed-in users only.
    let resp = http(stack.http_addr(), "GET", "/api/history?room=lobby", &[], "").await;
    assert_eq!(resp.status, 401);
    assert!(stack.broker_url().starts_with("ws://127.0.0.1:"));
    assert!(stack.broker_url().ends_with("/mqtt"));
    stack.shutdown().await;
}

#[tokio::test]
async fn the_strict_csp_names_the_broker_origin() {
    let (stack, _dist) = stack(BrokerKind::Embedded, |c| c.csp = Some("strict".into())).await;
    let resp = http(stack.http_addr(), "GET", "/", &[], "").await;
    let csp = resp.header("content-security-policy").unwrap();
    let ws = format!("ws://{}", stack.broker_ws_addr());
    assert!(csp.contains(&format!("connect-src 'self' {ws};")), "{csp}");
    assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval'"));
    stack.shutdown().await;
}

#[tokio::test]
async fn the_strict_csp_is_the_default_and_csp_off_disables_it() {
    let (stack, _dist) = stack(BrokerKind::Embedded, |_| {}).await;
    let resp = http(stack.http_addr(), "GET", "/", &[], "").await;
    let ws = format!("ws://{}", stack.broker_ws_addr());
    let expected = dev_stack::config::STRICT_CSP.replace("{ws}", &ws);
    assert_eq!(
        resp.header("content-security-policy"),
        Some(expected.as_str())
    );
    stack.shutdown().await;
    let config =
        dev_stack::StackConfig::from_lookup(|k| (k == "CSP").then(|| "off".into())).unwrap();
    let (stack, _dist) = common::stack(BrokerKind::Embedded, |c| c.csp = config.csp).await;
    let resp = http(stack.http_addr(), "GET", "/", &[], "").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-security-policy"), None);
    stack.shutdown().await;
}

#[tokio::test]
async fn dev_sign_in_exists_only_when_enabled() {
    let (stack, _dist) = stack(BrokerKind::Embedded, |c| c.dev_auth = false).await;
    let addr = stack.http_addr();
    for (method, path) in [
        ("GET", "/dev/login?user=alice"),
        ("GET", "/dev/logout"),
        ("POST", "/dev/logout"),
        ("GET", "/dev/session"),
        ("POST", "/dev/control/token-ttl"),
    ] {
        let resp = http(addr, method, path, &[], "").await;
        assert_eq!(resp.status, 404, "{method} {path}");
        assert!(resp.header("set-cookie").is_none());
    }
    // The token endpoint itself stays (it needs a session nobody can get).
    assert_eq!(
        http(addr, "POST", "/api/mqtt-token", &[], "").await.status,
        401
    );
    assert!(!stack.urls().iter().any(|(_, u)| u.contains("/dev/")));
    let config = http(addr, "GET", "/config.json", &[], "").await.json();
    assert!(
        config.get("devLogin").is_none(),
        "no sign-in to offer: {config}"
    );
    stack.shutdown().await;
    // DEV_CONTROLS implies the sign-in.
    let (stack, _dist) = common::stack(BrokerKind::Embedded, |c| {
        c.dev_auth = false;
        c.dev_controls = true;
    })
    .await;
    login(stack.http_addr(), "alice").await;
    stack.shutdown().await;
}

#[tokio::test]
async fn a_non_loopback_bind_needs_the_explicit_flag() {
    let config = dev_stack::StackConfig {
        bind_ip: "0.0.0.0".parse().unwrap(),
        http_port: 0,
        broker_ws_port: 0,
        ..Default::default()
    };
    let err = match dev_stack::start(config).await {
        Ok(_) => panic!("started on 0.0.0.0 without ALLOW_NON_LOOPBACK"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("ALLOW_NON_LOOPBACK"), "{err}");
}

#[tokio::test]
async fn dev_login_sets_a_session_and_redirects_only_to_local_paths() {
    let (stack, _dist) = stack(BrokerKind::Embedded, |_| {}).await;
    let addr = stack.http_addr();
    let resp = http(addr, "GET", "/dev/login?user=alice&next=/app/", &[], "").await;
    assert_eq!(resp.status, 303);
    assert_eq!(resp.header("location"), Some("/app/"));
    let cookie = resp.header("set-cookie").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let me = http(addr, "GET", "/dev/session", &[("cookie", &cookie)], "").await;
    assert_eq!(me.json()["user"], "alice");
    let resp = http(
        addr,
        "GET",
        "/dev/login?user=bob&next=//evil.test/",
        &[],
        "",
    )
    .await;
    assert_eq!(resp.header("location"), Some("/"));
    assert_eq!(
        http(addr, "GET", "/dev/login?user=a%20b", &[], "")
            .await
            .status,
        400
    );
    stack.shutdown().await;
}

#[tokio::test]
async fn controls_exist_only_with_dev_controls() {
    let (stack, _dist) = stack(BrokerKind::Embedded, |_| {}).await;
    let resp = http(
        stack.http_addr(),
        "POST",
        "/dev/control/token-endpoint",
        &[("content-type", "application/json")],
        r#"{"mode":"500"}"#,
    )
    .await;
    assert_eq!(resp.status, 404);
    stack.shutdown().await;
}

#[tokio::test]
async fn the_token_endpoint_control_forces_each_failure_mode() {
    let (stack, _dist) = stack(BrokerKind::Embedded, |c| c.dev_controls = true).await;
    let addr = stack.http_addr();
    let cookie = login(addr, "alice").await;
    let set = |mode: &'static str| async move {
        let body = format!(r#"{{"mode":"{mode}","retryAfterSecs":7}}"#);
        let resp = http(
            addr,
            "POST",
            "/dev/control/token-endpoint",
            &[("content-type", "application/json")],
            &body,
        )
        .await;
        assert_eq!(resp.status, 200, "{mode}");
    };
    let headers = [("cookie", cookie.as_str())];
    let post = || try_http(addr, "POST", "/api/mqtt-token", &headers, "");

    set("401").await;
    assert_eq!(post().await.unwrap().status, 401);
    set("429").await;
    let resp = post().await.unwrap();
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), Some("7"));
    set("500").await;
    assert_eq!(post().await.unwrap().status, 500);
    set("403").await;
    assert_eq!(post().await.unwrap().status, 403);
    set("garbage").await;
    let resp = post().await.unwrap();
    assert_eq!(resp.status, 200);
    assert!(serde_json::from_slice::<serde_json::Value>(&resp.body).is_err());
    set("down").await;
    assert!(post().await.is_err(), "no response at all when down");
    set("ok").await;
    assert_eq!(post().await.unwrap().status, 200);
    // Every token request was counted, forced failures and the dropped one included.
    let state = http(addr, "GET", "/dev/control", &[], "").await.json();
    assert_eq!(state["tokenRequests"], 7, "{state}");
    let times = state["tokenRequestTimes"].as_array().unwrap();
    assert_eq!(times.len(), 7);
    assert!(times.windows(2).all(|w| w[0].as_u64() <= w[1].as_u64()));
    stack.shutdown().await;
}

#[tokio::test]
async fn the_kill_control_answers_while_the_broker_is_down_and_it_comes_back() {
    let (stack, _dist) = stack(BrokerKind::Embedded, |c| c.dev_controls = true).await;
    let addr = stack.http_addr();
    let cookie = login(addr, "alice").await;
    let t = token(addr, &cookie).await;
    let (mut client, _) = WsMqtt::connect_ok(&stack.broker_url(), &creds_of("k1", &t)).await;
    let resp = http(
        addr,
        "POST",
        "/dev/control/broker/kill",
        &[("content-type", "application/json")],
        r#"{"downMs":1500}"#,
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["killed"], "embedded");
    // The live connection ends without a DISCONNECT, and the broker is not back yet.
    client.ended(Duration::from_secs(5)).await;
    assert!(
        tokio::net::TcpStream::connect(stack.broker_ws_addr())
            .await
            .is_err(),
        "the port refuses connections during the outage"
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let t = token(addr, &cookie).await;
    let (_client, _) = WsMqtt::connect_ok(&stack.broker_url(), &creds_of("k2", &t)).await;
    stack.shutdown().await;
}

#[tokio::test]
async fn the_expire_control_ends_a_users_tokens_and_closes_their_connections() {
    let (stack, _dist) = stack(BrokerKind::Embedded, |c| c.dev_controls = true).await;
    let addr = stack.http_addr();
    let cookie = login(addr, "alice").await;
    let t = token(addr, &cookie).await;
    let (mut client, _) = WsMqtt::connect_ok(&stack.broker_url(), &creds_of("c1", &t)).await;
    let resp = http(
        addr,
        "POST",
        "/dev/control/tokens/expire",
        &[("content-type", "application/json")],
        r#"{"user":"alice"}"#,
    )
    .await;
    assert_eq!(resp.json()["expired"], 1);
    assert_eq!(client.ended(Duration::from_secs(5)).await, Ended::Closed);
    stack.shutdown().await;
}

#[tokio::test]
async fn the_ttl_control_changes_the_lifetime_of_new_tokens() {
    let (stack, _dist) = stack(BrokerKind::Embedded, |c| c.dev_controls = true).await;
    let addr = stack.http_addr();
    let resp = http(
        addr,
        "POST",
        "/dev/control/token-ttl",
        &[("content-type", "application/json")],
        r#"{"secs":2}"#,
    )
    .await;
    assert_eq!(resp.json()["ttlSecs"], 2);
    let cookie = login(addr, "alice").await;
    let t = token(addr, &cookie).await;
    let (mut client, _) = WsMqtt::connect_ok(&stack.broker_url(), &creds_of("c1", &t)).await;
    assert_eq!(client.ended(Duration::from_secs(10)).await, Ended::Closed);
    stack.shutdown().await;
}

#[tokio::test]
async fn a_taken_port_fails_loudly_with_the_port_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    for broker_port in [true, false] {
        let config = dev_stack::StackConfig {
            http_port: if broker_port { 0 } else { port },
            broker_ws_port: if broker_port { port } else { 0 },
            ..Default::default()
        };
        let err = match dev_stack::start(config).await {
            Ok(_) => panic!("started on a taken port"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(&port.to_string()), "{err}");
        let var = if broker_port {
            "BROKER_WS_PORT"
        } else {
            "PORT"
        };
        assert!(err.contains(var), "{err}");
    }
}

#[tokio::test]
async fn a_test_page_on_an_allowed_origin_can_read_its_dev_session() {
    let allowed = "http://127.0.0.1:1";
    let (stack, _dist) = stack(BrokerKind::Embedded, |c| {
        c.cors_origins = vec![allowed.into()]
    })
    .await;
    let cookie = login(stack.http_addr(), "alice").await;
    let resp = http(
        stack.http_addr(),
        "GET",
        "/dev/session",
        &[("cookie", &cookie), ("origin", allowed)],
        "",
    )
    .await;
    assert_eq!(resp.header("access-control-allow-origin"), Some(allowed));
    assert_eq!(
        resp.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(resp.json()["user"], "alice");
    stack.shutdown().await;
}
