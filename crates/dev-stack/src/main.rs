//! `dev-stack [--dist DIR] [--bind IP] [--allow-non-loopback] [--chat-acl MODE]`: runs the app,
//! the token backend and the broker until Ctrl-C or SIGTERM. A reference token backend for local
//! use, not a production token service. Configuration comes from the environment (see
//! `dev_stack::StackConfig`); the flags override it.

use std::process::ExitCode;

const USAGE: &str =
    "usage: dev-stack [--dist DIR] [--bind IP] [--allow-non-loopback] [--chat-acl MODE]

dev-stack is a reference token backend for local use, not a production token service.

Flags: --dist DIR (= DIST_DIR), --bind IP (= BIND_ADDR), --allow-non-loopback
(= ALLOW_NON_LOOPBACK=1), --chat-acl author|quickstart|mixed (= CHAT_ACL).

Environment: PORT (8080), BROKER_WS_PORT (8083; rabbitmq: the 3 nodes on it and the next two),
BROKER (embedded|mosquitto|rabbitmq),
BIND_ADDR (127.0.0.1; a non-loopback address also needs ALLOW_NON_LOOPBACK=1 and is warned about),
DEV_AUTH (1 = serve the dev sign-in /dev/login, /dev/logout, /dev/session; off by default, and
  without it nobody can get a token), DEV_CONTROLS (1 = also the test controls /dev/control/*;
  implies DEV_AUTH),
CHAT_ACL (author: publish only chat/{room}/messages/{user}, read chat/{room}/messages[/+];
  quickstart: only chat/{room}/messages; mixed: both; default author),
CSP (the Content-Security-Policy of the static files: strict by default, `off` = none, or a policy),
TOKEN_TTL_SECS (3600), TOKEN_RATE_LIMIT (30 per user per minute, 0 = off),
CORS_ORIGINS (comma list of origins), DIST_DIR (dist),
MOSQUITTO_BIN (/usr/sbin/mosquitto), MOSQUITTO_DYNSEC_PLUGIN,
MOSQUITTO_MAX_QUEUED (per-client queue limit; unset = Mosquitto's 1000, 0 = none),
MOSQUITTO_PERSISTENCE (off; on = sessions saved after every change, survive a kill -9),
RABBITMQ_BIN_DIR (/usr/lib/rabbitmq/bin), RABBITMQ_QUEUES (mirrored|quorum|classic: how sessions
  survive a node loss, see docs/deployment.md), RUST_LOG (info).";

async fn stop_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            eprintln!("dev-stack: cannot watch SIGTERM: {e}");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,mqtt5=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let mut config = match dev_stack::StackConfig::from_lookup(|k| std::env::var(k).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("dev-stack: {e}");
            return ExitCode::from(2);
        }
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dist" => match args.next() {
                Some(dir) => config.dist_dir = dir.into(),
                None => {
                    eprintln!("dev-stack: --dist needs a directory\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--bind" => match args.next().map(|ip| ip.parse()) {
                Some(Ok(ip)) => config.bind_ip = ip,
                _ => {
                    eprintln!("dev-stack: --bind needs an IP address\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--allow-non-loopback" => config.allow_non_loopback = true,
            "--chat-acl" => match args.next().map(|m| m.parse()) {
                Some(Ok(mode)) => config.chat_acl = mode,
                _ => {
                    eprintln!("dev-stack: --chat-acl needs author, quickstart or mixed\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("dev-stack: unknown argument {other:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if !config.dist_dir.join("index.html").is_file() {
        eprintln!(
            "dev-stack: warning: {} has no index.html (build the app with `trunk build` first)",
            config.dist_dir.display()
        );
    }

    if let Err(e) = config.check_bind() {
        eprintln!("dev-stack: {e}");
        return ExitCode::from(2);
    }
    eprintln!("{}", dev_stack::NOT_FOR_PRODUCTION);
    if !config.bind_ip.is_loopback() {
        eprintln!(
            "\n!!!!!!!! WARNING: dev-stack listens on {} (not loopback): other machines can sign \
             in as anyone and use the broker. It is not a production token service. !!!!!!!!\n",
            config.bind_ip
        );
    }
    let acl = config.chat_acl;
    let dev_auth = config.dev_auth_enabled();
    let stack = match dev_stack::start(config).await {
        Ok(stack) => stack,
        Err(e) => {
            eprintln!("dev-stack: failed to start: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "dev-stack is running ({} broker, CHAT_ACL={acl}{}):",
        stack.broker_name(),
        if dev_auth {
            ""
        } else {
            ", dev sign-in off: set DEV_AUTH=1"
        }
    );
    for (label, url) in stack.urls() {
        println!("  {label:<32} {url}");
    }
    println!("Press Ctrl-C to stop.");

    stop_signal().await;
    println!("dev-stack: stopping");
    stack.shutdown().await;
    println!("dev-stack: stopped");
    ExitCode::SUCCESS
}
