#!/usr/bin/env bash
# The run command: installs what is missing (setup.sh), builds the app with trunk (release), then
# starts the dev stack (static server for dist/, token backend, MQTT broker) and prints the URL.
# Ctrl-C stops everything.
#
# Env: PORT (8080) and the other dev-stack settings (docs/ARCHITECTURE.md, "Dev stack command line"):
# BROKER_WS_PORT (8083), BROKER (embedded | mosquitto | rabbitmq: a 3-node RabbitMQ cluster, nodes on
# BROKER_WS_PORT and the next two ports, ~25 s to start; docs/deployment.md), CHAT_ACL (author |
# quickstart | mixed), CSP (strict by default; off), TOKEN_TTL_SECS, TOKEN_RATE_LIMIT, CORS_ORIGINS.
# The dev sign-in (/dev/login)
# is enabled here (DEV_AUTH=1); the stack is a reference for local use, not a production token service.
# SKIP_SETUP=1 skips setup.sh (when you know everything is installed).
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

export PORT="${PORT:-8080}"
export BROKER_WS_PORT="${BROKER_WS_PORT:-8083}"
export DIST_DIR="$ROOT/dist"
# The dev sign-in routes exist only when enabled; this command is for local use, so enable them.
export DEV_AUTH=1

if [ "${SKIP_SETUP:-0}" = 1 ]; then
  log "SKIP_SETUP=1: not running setup.sh"
else
  stage "setup (install what is missing)" "$ROOT/scripts/setup.sh"
fi
# Trunk's wasm-bindgen output directory is in the shared target directory: cleared so no other
# build's snippet lands in dist/.
rm -rf "$CARGO_TARGET_DIR/wasm-bindgen/release"
stage "trunk build --release" with_release_flags trunk build --release
report_dist_sizes
# The release profile's fat LTO and single codegen unit are for the wasm app's size; for this native
# dev tool they only make the build several times slower, so they are relaxed for this build alone.
stage "cargo build -p dev-stack --release" \
  env CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  cargo build -p dev-stack --release
print_times

trap 'stop_dev_stack' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
banner "dev stack"
start_dev_stack "$CARGO_TARGET_DIR/release/dev-stack" - "$PORT" "$BROKER_WS_PORT" --dist "$DIST_DIR"
printf '\n  livechat is running:  http://127.0.0.1:%s/   (broker WebSocket port %s; Ctrl-C stops it)\n\n' "$PORT" "$BROKER_WS_PORT"
status=0
wait "$DEV_STACK_PID" || status=$?
DEV_STACK_PID=""
die "the dev stack stopped (status $status)"
