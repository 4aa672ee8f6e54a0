//! `dev-stack [--dist DIR]`: runs the app, the token backend and the broker until Ctrl-C or
//! SIGTERM. Configuration comes from the environment (see `dev_stack::StackConfig`).

use std::process::ExitCode;

const USAGE: &str = "usage: dev-stack [--dist DIR]

Environment: PORT (8080), BROKER_WS_PORT (8083), BROKER (embedded|mosquitto),
TOKEN_TTL_SECS (3600), TOKEN_RATE_LIMIT (30 per user per minute, 0 = off),
CORS_ORIGINS (comma list of origins), DIST_DIR (dist), DEV_CONTROLS (1 = enable /dev/control),
CSP (a Content-Security-Policy for the static files, or `strict`),
MOSQUITTO_BIN (/usr/sbin/mosquitto), MOSQUITTO_DYNSEC_PLUGIN,
MOSQUITTO_MAX_QUEUED (per-client queue limit; unset = Mosquitto's 1000, 0 = none), RUST_LOG (info).";

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

    let stack = match dev_stack::start(config).await {
        Ok(stack) => stack,
        Err(e) => {
            eprintln!("dev-stack: failed to start: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("dev-stack is running ({} broker):", stack.broker_name());
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
