//! The stack's configuration, read from the environment by the binary and built directly by
//! tests.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use crate::acl::AclMode;

/// Which broker the stack runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerKind {
    /// The `mqtt5` broker, in process (default).
    Embedded,
    /// Mosquitto 2.0 as a child process with the dynamic-security plugin.
    Mosquitto,
    /// A 3-node RabbitMQ 3.10 cluster as child processes, the stack as its HTTP auth service.
    RabbitMq,
}

/// A configuration error, naming the environment variable at fault.
#[derive(Debug, thiserror::Error)]
#[error("invalid {var}={value:?}: {reason}")]
pub struct ConfigError {
    /// The variable.
    pub var: &'static str,
    /// Its value.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The Content-Security-Policy sent by default (and by `CSP=strict`) (`{ws}` is the broker's
/// WebSocket origin).
pub const STRICT_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
connect-src 'self' {ws}; style-src 'self'; img-src 'self' data:; base-uri 'none'; \
frame-ancestors 'none'; form-action 'self'";

/// Everything the stack needs to start. It holds no secret (the Mosquitto admin password and
/// all credentials are generated at run time), so its `Debug` output is safe to log.
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// Address every listener binds (`BIND_ADDR`, 127.0.0.1). Any non-loopback address needs
    /// [`allow_non_loopback`](Self::allow_non_loopback).
    pub bind_ip: IpAddr,
    /// Whether a non-loopback [`bind_ip`](Self::bind_ip) is accepted (`ALLOW_NON_LOOPBACK=1` or
    /// `--allow-non-loopback`); the stack then prints a loud warning.
    pub allow_non_loopback: bool,
    /// HTTP port (`PORT`, 8080; 0 = any free port).
    pub http_port: u16,
    /// Broker WebSocket port (`BROKER_WS_PORT`, 8083; 0 = any free port).
    pub broker_ws_port: u16,
    /// Broker (`BROKER`: `embedded` | `mosquitto` | `rabbitmq`). With `rabbitmq` the three
    /// nodes' Web MQTT listeners are on `broker_ws_port` and the next two ports.
    pub broker: BrokerKind,
    /// Token lifetime (`TOKEN_TTL_SECS`, 3600).
    pub token_ttl: Duration,
    /// Token requests per user per minute (`TOKEN_RATE_LIMIT`, 30; 0 = unlimited).
    pub token_rate_limit: u32,
    /// Origins allowed to call the token endpoints with credentials (`CORS_ORIGINS`).
    pub cors_origins: Vec<String>,
    /// The built app (`DIST_DIR` or `--dist`, `dist`).
    pub dist_dir: PathBuf,
    /// Whether the dev sign-in endpoints `/dev/login`, `/dev/logout` and `/dev/session` exist
    /// (`DEV_AUTH=1`, also implied by `DEV_CONTROLS=1`). Without them nobody can get a token.
    pub dev_auth: bool,
    /// Whether the `/dev/control/*` endpoints exist (`DEV_CONTROLS=1`; implies `dev_auth`).
    pub dev_controls: bool,
    /// The chat topic ACL both brokers enforce (`CHAT_ACL`: `author` | `quickstart` | `mixed`).
    pub chat_acl: AclMode,
    /// Content-Security-Policy sent with the static files (`CSP`; default and `strict` =
    /// [`STRICT_CSP`], `CSP=off` sends none, anything else is sent as given).
    pub csp: Option<String>,
    /// Mosquitto executable (`MOSQUITTO_BIN`, `/usr/sbin/mosquitto`).
    pub mosquitto_bin: PathBuf,
    /// Mosquitto dynamic-security plugin (`MOSQUITTO_DYNSEC_PLUGIN`).
    pub dynsec_plugin: PathBuf,
    /// Mosquitto's `max_queued_messages` per client (`MOSQUITTO_MAX_QUEUED`; unset = Mosquitto's
    /// default of 1000, `0` = no limit). The benchmark sets 0, like its reference broker, so a
    /// slow page is measured as slow instead of being thinned by the broker.
    pub mosquitto_max_queued: Option<u32>,
    /// Mosquitto persistence (`MOSQUITTO_PERSISTENCE`: `off`, the default, or `on`): with `on`
    /// the broker saves its sessions, subscriptions and queued messages in its temporary
    /// directory after every change, so a `kill -9` (the fault tests' broker kill) loses as
    /// little as a production broker with persistence would. Off by default: the benchmark
    /// measures the broker without disk writes.
    pub mosquitto_persistence: bool,
    /// The RabbitMQ scripts (`RABBITMQ_BIN_DIR`, `/usr/lib/rabbitmq/bin`), for `BROKER=rabbitmq`.
    pub rabbitmq_bin_dir: PathBuf,
    /// How the RabbitMQ cluster keeps MQTT sessions across a node loss (`RABBITMQ_QUEUES`:
    /// `mirrored` | `quorum` | `classic`).
    pub rabbitmq_queues: crate::rabbitmq::QueueMode,
    /// Where the dev sign-in sessions are kept so a restart signs nobody out (`STATE_DIR`; the
    /// binary's default is `~/.cache/livechat/dev-stack-state`, `STATE_DIR=` keeps them in
    /// memory only). `None` (the library default): memory only. See [`crate::sessions`].
    pub state_dir: Option<PathBuf>,
}

/// Where the binary keeps the dev sessions when `STATE_DIR` is unset, under `$HOME`.
pub const DEFAULT_STATE_DIR: &str = ".cache/livechat/dev-stack-state";

/// Default Mosquitto executable.
pub const MOSQUITTO_BIN: &str = "/usr/sbin/mosquitto";
/// Default path of the dynamic-security plugin (Debian 12, amd64).
pub const DYNSEC_PLUGIN: &str = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so";

impl Default for StackConfig {
    fn default() -> Self {
        Self {
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            allow_non_loopback: false,
            http_port: 8080,
            broker_ws_port: 8083,
            broker: BrokerKind::Embedded,
            token_ttl: Duration::from_secs(3600),
            token_rate_limit: 30,
            cors_origins: Vec::new(),
            dist_dir: PathBuf::from("dist"),
            dev_auth: false,
            dev_controls: false,
            chat_acl: AclMode::Author,
            csp: Some("strict".into()),
            mosquitto_bin: PathBuf::from(MOSQUITTO_BIN),
            dynsec_plugin: PathBuf::from(DYNSEC_PLUGIN),
            mosquitto_max_queued: None,
            mosquitto_persistence: false,
            rabbitmq_bin_dir: PathBuf::from(crate::rabbitmq::RABBITMQ_BIN_DIR),
            rabbitmq_queues: crate::rabbitmq::QueueMode::default(),
            state_dir: None,
        }
    }
}

fn flag(value: &str) -> bool {
    matches!(value.trim(), "1" | "true" | "yes")
}

fn parse<T: std::str::FromStr>(var: &'static str, value: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    value.trim().parse().map_err(|e: T::Err| ConfigError {
        var,
        value: value.to_owned(),
        reason: e.to_string(),
    })
}

impl StackConfig {
    /// Reads the configuration from a variable lookup (`std::env::var` in the binary).
    ///
    /// # Errors
    /// A variable whose value cannot be used.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut c = Self::default();
        if let Some(v) = get("PORT") {
            c.http_port = parse("PORT", &v)?;
        }
        if let Some(v) = get("BROKER_WS_PORT") {
            c.broker_ws_port = parse("BROKER_WS_PORT", &v)?;
        }
        if let Some(v) = get("BROKER") {
            c.broker = match v.trim() {
                "" | "embedded" => BrokerKind::Embedded,
                "mosquitto" => BrokerKind::Mosquitto,
                "rabbitmq" => BrokerKind::RabbitMq,
                _ => {
                    return Err(ConfigError {
                        var: "BROKER",
                        value: v,
                        reason: "expected `embedded`, `mosquitto` or `rabbitmq`".into(),
                    })
                }
            };
        }
        if let Some(v) = get("TOKEN_TTL_SECS") {
            let secs: u64 = parse("TOKEN_TTL_SECS", &v)?;
            if secs == 0 {
                return Err(ConfigError {
                    var: "TOKEN_TTL_SECS",
                    value: v,
                    reason: "must be at least 1".into(),
                });
            }
            c.token_ttl = Duration::from_secs(secs);
        }
        if let Some(v) = get("TOKEN_RATE_LIMIT") {
            c.token_rate_limit = parse("TOKEN_RATE_LIMIT", &v)?;
        }
        if let Some(v) = get("CORS_ORIGINS") {
            c.cors_origins = v
                .split(',')
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .filter(|o| !o.is_empty())
                .collect();
            if let Some(bad) = c
                .cors_origins
                .iter()
                .find(|o| !(o.starts_with("http://") || o.starts_with("https://")))
            {
                return Err(ConfigError {
                    var: "CORS_ORIGINS",
                    value: v.clone(),
                    reason: format!("{bad:?} is not an origin like http://host:port"),
                });
            }
        }
        if let Some(v) = get("DIST_DIR") {
            c.dist_dir = PathBuf::from(v);
        }
        if let Some(v) = get("BIND_ADDR") {
            c.bind_ip = parse("BIND_ADDR", &v)?;
        }
        if let Some(v) = get("ALLOW_NON_LOOPBACK") {
            c.allow_non_loopback = flag(&v);
        }
        if let Some(v) = get("DEV_AUTH") {
            c.dev_auth = flag(&v);
        }
        if let Some(v) = get("DEV_CONTROLS") {
            c.dev_controls = flag(&v);
        }
        if let Some(v) = get("CHAT_ACL") {
            c.chat_acl = v.parse().map_err(|reason| ConfigError {
                var: "CHAT_ACL",
                value: v.clone(),
                reason,
            })?;
        }
        if let Some(v) = get("CSP") {
            c.csp = match v.trim() {
                "" | "strict" => Some("strict".into()),
                "off" | "none" => None,
                other => Some(other.to_owned()),
            };
        }
        if let Some(v) = get("MOSQUITTO_BIN") {
            c.mosquitto_bin = PathBuf::from(v);
        }
        if let Some(v) = get("MOSQUITTO_DYNSEC_PLUGIN") {
            c.dynsec_plugin = PathBuf::from(v);
        }
        if let Some(v) = get("MOSQUITTO_MAX_QUEUED").filter(|v| !v.trim().is_empty()) {
            c.mosquitto_max_queued = Some(parse("MOSQUITTO_MAX_QUEUED", &v)?);
        }
        if let Some(v) = get("MOSQUITTO_PERSISTENCE") {
            c.mosquitto_persistence = match v.trim() {
                "" | "off" | "0" => false,
                "on" | "1" => true,
                _ => {
                    return Err(ConfigError {
                        var: "MOSQUITTO_PERSISTENCE",
                        value: v,
                        reason: "expected `on` or `off`".into(),
                    })
                }
            };
        }
        if let Some(v) = get("RABBITMQ_BIN_DIR") {
            c.rabbitmq_bin_dir = PathBuf::from(v);
        }
        if let Some(v) = get("RABBITMQ_QUEUES") {
            c.rabbitmq_queues = v.parse().map_err(|reason| ConfigError {
                var: "RABBITMQ_QUEUES",
                value: v.clone(),
                reason,
            })?;
        }
        c.state_dir = match get("STATE_DIR") {
            Some(v) if v.trim().is_empty() => None,
            Some(v) => Some(PathBuf::from(v)),
            None => get("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(DEFAULT_STATE_DIR)),
        };
        Ok(c)
    }

    /// Whether the dev sign-in endpoints are served (`dev_auth`, or implied by `dev_controls`).
    #[must_use]
    pub fn dev_auth_enabled(&self) -> bool {
        self.dev_auth || self.dev_controls
    }

    /// Refuses a non-loopback bind address unless explicitly allowed.
    ///
    /// # Errors
    /// `BIND_ADDR` is not a loopback address and `ALLOW_NON_LOOPBACK` is off.
    pub fn check_bind(&self) -> Result<(), ConfigError> {
        if self.bind_ip.is_loopback() || self.allow_non_loopback {
            return Ok(());
        }
        Err(ConfigError {
            var: "BIND_ADDR",
            value: self.bind_ip.to_string(),
            reason: "not a loopback address: the dev stack is a reference for local use; \
                     set ALLOW_NON_LOOPBACK=1 (or --allow-non-loopback) if you really mean it"
                .into(),
        })
    }

    /// The CSP header value for the static files, with `strict` expanded for the broker at
    /// `broker_ws_origin` (`ws://127.0.0.1:8083`).
    #[must_use]
    pub fn csp_header(&self, broker_ws_origin: &str) -> Option<String> {
        let csp = self.csp.as_deref()?.trim();
        Some(if csp == "strict" {
            STRICT_CSP.replace("{ws}", broker_ws_origin)
        } else {
            csp.to_owned()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn the_state_dir_defaults_under_home_and_an_empty_value_keeps_sessions_in_memory() {
        let c = StackConfig::from_lookup(lookup(&[("HOME", "/home/u")])).unwrap();
        assert_eq!(
            c.state_dir,
            Some(PathBuf::from("/home/u/.cache/livechat/dev-stack-state"))
        );
        let c =
            StackConfig::from_lookup(lookup(&[("HOME", "/home/u"), ("STATE_DIR", "/s")])).unwrap();
        assert_eq!(c.state_dir, Some(PathBuf::from("/s")));
        let c =
            StackConfig::from_lookup(lookup(&[("HOME", "/home/u"), ("STATE_DIR", "")])).unwrap();
        assert_eq!(c.state_dir, None);
    }

    #[test]
    fn defaults_match_the_architecture_document() {
        let c = StackConfig::from_lookup(lookup(&[])).unwrap();
        assert_eq!((c.http_port, c.broker_ws_port), (8080, 8083));
        assert_eq!(c.broker, BrokerKind::Embedded);
        assert_eq!(c.token_ttl, Duration::from_secs(3600));
        assert_eq!(c.token_rate_limit, 30);
        assert_eq!(c.dist_dir, PathBuf::from("dist"));
        assert!(!c.dev_controls);
        assert!(!c.dev_auth_enabled(), "sign-in is off unless enabled");
        assert_eq!(c.chat_acl, AclMode::Author);
        assert_eq!(c.mosquitto_max_queued, None);
        assert!(!c.mosquitto_persistence);
        assert_eq!(c.state_dir, None, "no HOME, no STATE_DIR: memory only");
        assert_eq!(c.bind_ip, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert!(c.check_bind().is_ok());
        let csp = c
            .csp_header("ws://127.0.0.1:8083")
            .expect("strict CSP by default");
        assert_eq!(csp, STRICT_CSP.replace("{ws}", "ws://127.0.0.1:8083"));
    }

    #[test]
    fn csp_off_disables_it_and_a_custom_policy_is_sent_as_given() {
        let c = StackConfig::from_lookup(lookup(&[("CSP", "off")])).unwrap();
        assert_eq!(c.csp_header("ws://x"), None);
        let c = StackConfig::from_lookup(lookup(&[("CSP", "default-src 'none'")])).unwrap();
        assert_eq!(
            c.csp_header("ws://x").as_deref(),
            Some("default-src 'none'")
        );
        let c = StackConfig::from_lookup(lookup(&[("CSP", "strict")])).unwrap();
        assert!(c
            .csp_header("ws://x")
            .unwrap()
            .contains("frame-ancestors 'none'"));
    }

    #[test]
    fn dev_controls_imply_dev_auth_and_dev_auth_alone_enables_sign_in() {
        let c = StackConfig::from_lookup(lookup(&[("DEV_CONTROLS", "1")])).unwrap();
        assert!(c.dev_auth_enabled());
        let c = StackConfig::from_lookup(lookup(&[("DEV_AUTH", "1")])).unwrap();
        assert!(c.dev_auth_enabled() && !c.dev_controls);
    }

    #[test]
    fn a_non_loopback_bind_needs_the_explicit_flag() {
        let c = StackConfig::from_lookup(lookup(&[("BIND_ADDR", "0.0.0.0")])).unwrap();
        let err = c.check_bind().unwrap_err();
        assert_eq!(err.var, "BIND_ADDR");
        assert!(err.to_string().contains("ALLOW_NON_LOOPBACK"));
        let c = StackConfig::from_lookup(lookup(&[
            ("BIND_ADDR", "0.0.0.0"),
            ("ALLOW_NON_LOOPBACK", "1"),
        ]))
        .unwrap();
        assert!(c.check_bind().is_ok());
        let c = StackConfig::from_lookup(lookup(&[("BIND_ADDR", "::1")])).unwrap();
        assert!(c.check_bind().is_ok());
    }

    #[test]
    fn chat_acl_modes_are_read_from_the_environment() {
        let c = StackConfig::from_lookup(lookup(&[("CHAT_ACL", "quickstart")])).unwrap();
        assert_eq!(c.chat_acl, AclMode::Quickstart);
        let c = StackConfig::from_lookup(lookup(&[("CHAT_ACL", "mixed")])).unwrap();
        assert_eq!(c.chat_acl, AclMode::Mixed);
        let err = StackConfig::from_lookup(lookup(&[("CHAT_ACL", "open")])).unwrap_err();
        assert_eq!(err.var, "CHAT_ACL");
    }

    #[test]
    fn environment_overrides_are_parsed() {
        let c = StackConfig::from_lookup(lookup(&[
            ("PORT", "9000"),
            ("BROKER", "mosquitto"),
            ("TOKEN_TTL_SECS", "5"),
            ("CORS_ORIGINS", "http://a.test:1/, https://b.test"),
            ("DEV_CONTROLS", "1"),
            ("CSP", "strict"),
            ("MOSQUITTO_MAX_QUEUED", "0"),
        ]))
        .unwrap();
        let r = StackConfig::from_lookup(lookup(&[
            ("BROKER", "rabbitmq"),
            ("RABBITMQ_QUEUES", "quorum"),
        ]))
        .unwrap();
        assert_eq!(r.broker, BrokerKind::RabbitMq);
        assert_eq!(r.rabbitmq_queues, crate::rabbitmq::QueueMode::Quorum);
        assert_eq!(c.http_port, 9000);
        assert_eq!(c.broker, BrokerKind::Mosquitto);
        assert_eq!(c.token_ttl, Duration::from_secs(5));
        assert_eq!(c.cors_origins, vec!["http://a.test:1", "https://b.test"]);
        assert!(c.dev_controls);
        assert_eq!(c.mosquitto_max_queued, Some(0));
        let csp = c.csp_header("ws://127.0.0.1:8083").unwrap();
        assert!(csp.contains("connect-src 'self' ws://127.0.0.1:8083;"));
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let err = StackConfig::from_lookup(lookup(&[("BROKER_WS_PORT", "x")])).unwrap_err();
        assert_eq!(err.var, "BROKER_WS_PORT");
        let err = StackConfig::from_lookup(lookup(&[("BROKER", "emqx")])).unwrap_err();
        assert_eq!(err.var, "BROKER");
        let err = StackConfig::from_lookup(lookup(&[("CORS_ORIGINS", "a.test")])).unwrap_err();
        assert_eq!(err.var, "CORS_ORIGINS");
        let on = StackConfig::from_lookup(lookup(&[("MOSQUITTO_PERSISTENCE", "on")])).unwrap();
        assert!(on.mosquitto_persistence);
        let err =
            StackConfig::from_lookup(lookup(&[("MOSQUITTO_PERSISTENCE", "yes")])).unwrap_err();
        assert_eq!(err.var, "MOSQUITTO_PERSISTENCE");
        let err = StackConfig::from_lookup(lookup(&[("MOSQUITTO_MAX_QUEUED", "-1")])).unwrap_err();
        assert_eq!(err.var, "MOSQUITTO_MAX_QUEUED");
        let err = StackConfig::from_lookup(lookup(&[("RABBITMQ_QUEUES", "ha")])).unwrap_err();
        assert_eq!(err.var, "RABBITMQ_QUEUES");
    }
}
