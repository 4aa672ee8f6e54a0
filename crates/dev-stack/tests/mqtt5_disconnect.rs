//! What `mqtt5` 0.49's own "disconnect" does at run time, and why the stack does not rely on it.
//!
//! `MessageRouter::disconnect_client(client_id)` works by client *id*. These tests pin its
//! observed behaviour, so an upgrade of the pinned crate that changes it is noticed.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use mqtt5::broker::config::WebSocketConfig;
use mqtt5::broker::{
    AllowAllAuthProvider, BrokerConfig, MqttBroker, StorageBackendType, StorageConfig,
};

async fn open_broker() -> (MqttBroker, SocketAddr) {
    let config = BrokerConfig::default()
        .with_bind_addresses(Vec::new())
        .with_websocket(
            WebSocketConfig::new().with_bind_addresses(vec!["127.0.0.1:0".parse().unwrap()]),
        )
        .with_storage(
            StorageConfig::new()
                .with_backend(StorageBackendType::Memory)
                .with_persistence(true),
        )
        .with_sys_topics_enabled(false);
    let broker = MqttBroker::with_config(config)
        .await
        .unwrap()
        .with_auth_provider(Arc::new(AllowAllAuthProvider));
    let ws = broker.ws_local_addr().unwrap();
    (broker, ws)
}

fn anonymous(client_id: &str) -> dev_stack::probe::ConnectOptions {
    dev_stack::probe::ConnectOptions {
        client_id: client_id.into(),
        keep_alive: 60,
        session_expiry: 600,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_disconnect_client_closes_the_socket_of_that_client_id() {
    let (mut broker, ws) = open_broker().await;
    let router = broker.router();
    let shutdown = broker.shutdown_handle();
    let task = tokio::spawn(async move { broker.run().await });
    let url = format!("ws://{ws}/mqtt");
    let (mut client, _) = WsMqtt::connect_ok(&url, &anonymous("c1")).await;
    assert_eq!(client.ping().await, Ok(()));
    router.disconnect_client("c1").await;
    assert_eq!(client.ended(Duration::from_secs(5)).await, Ended::Closed);
    shutdown.shutdown();
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_disconnect_client_cannot_tell_a_rotated_connection_from_the_old_one() {
    let (mut broker, ws) = open_broker().await;
    let router = broker.router();
    let shutdown = broker.shutdown_handle();
    let task = tokio::spawn(async move { broker.run().await });
    let url = format!("ws://{ws}/mqtt");
    let (mut old, _) = WsMqtt::connect_ok(&url, &anonymous("same-id")).await;
    let (mut new, present) = WsMqtt::connect_ok(&url, &anonymous("same-id")).await;
    assert!(present);
    old.ended(Duration::from_secs(5)).await;
    // Revoking the old credential by client id would close the new link as well.
    router.disconnect_client("same-id").await;
    assert_eq!(new.ended(Duration::from_secs(5)).await, Ended::Closed);
    shutdown.shutdown();
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
}
