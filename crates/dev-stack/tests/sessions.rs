//! Issue 12 item 5: a restart of the whole stack signs nobody out. Sessions (the session → user
//! map only, not MQTT tokens) are kept in the state dir; a new stack on the same dir accepts the
//! old cookie, a tampered cookie stays refused and `/dev/logout` still ends the session.

mod common;

use std::os::unix::fs::PermissionsExt as _;

use common::*;
use dev_stack::BrokerKind;

async fn token_status(addr: std::net::SocketAddr, cookie: &str) -> u16 {
    http(
        addr,
        "POST",
        "/api/mqtt-token",
        &[("cookie", cookie), ("content-type", "application/json")],
        "{}",
    )
    .await
    .status
}

#[tokio::test]
async fn a_restart_of_the_stack_keeps_sessions_and_logout_still_revokes() {
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("state");
    let with_state = |c: &mut dev_stack::StackConfig| c.state_dir = Some(state.clone());

    let (stack, _dist) = common::stack(BrokerKind::Embedded, with_state).await;
    let alice = login(stack.http_addr(), "alice").await;
    let bob = login(stack.http_addr(), "bob").await;
    let old_token = token(stack.http_addr(), &alice).await;
    stack.shutdown().await;

    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700, "the state dir is private");
    assert_eq!(mode(&state.join("sessions.json")), 0o600);
    let file = std::fs::read_to_string(state.join("sessions.json")).unwrap();
    let alice_sid = alice.split_once('=').unwrap().1;
    assert!(
        !file.contains(alice_sid),
        "cookie values are not written down"
    );
    assert!(
        !file.contains(old_token["accessToken"].as_str().unwrap()),
        "MQTT tokens are not kept"
    );

    let (stack, _dist) = common::stack(BrokerKind::Embedded, with_state).await;
    let addr = stack.http_addr();
    assert_eq!(
        token_status(addr, &alice).await,
        200,
        "alice is still signed in"
    );
    assert_eq!(
        token_status(addr, &bob).await,
        200,
        "bob is still signed in"
    );
    let whoami = http(addr, "GET", "/dev/session", &[("cookie", &alice)], "").await;
    assert_eq!(whoami.json()["user"], "alice");
    // A tampered cookie (one character changed) and a made-up one are refused.
    let mut tampered = alice.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert_eq!(token_status(addr, &tampered).await, 401);
    assert_eq!(
        token_status(addr, "devstack_session=not-a-session").await,
        401
    );
    // The old MQTT token did not survive: refreshing it is refused.
    assert_eq!(refresh(addr, &alice, &old_token).await.status, 401);
    // Sign-out still ends the session, for this stack and the next one.
    let out = http(addr, "GET", "/dev/logout", &[("cookie", &alice)], "").await;
    assert_eq!(out.status, 303);
    assert_eq!(token_status(addr, &alice).await, 401);
    stack.shutdown().await;

    let (stack, _dist) = common::stack(BrokerKind::Embedded, with_state).await;
    assert_eq!(
        token_status(stack.http_addr(), &alice).await,
        401,
        "signed out stays signed out"
    );
    assert_eq!(token_status(stack.http_addr(), &bob).await, 200);
    stack.shutdown().await;

    // Deleting the state dir signs everybody out.
    std::fs::remove_dir_all(&state).unwrap();
    let (stack, _dist) = common::stack(BrokerKind::Embedded, with_state).await;
    assert_eq!(token_status(stack.http_addr(), &bob).await, 401);
    stack.shutdown().await;
}
