#!/usr/bin/env bash
# The test command: every test. Installs what is missing (setup.sh), then
#   fmt check -> clippy native -> clippy wasm32 -> native tests (with the fuzz corpus replay)
#   -> fuzz drivers (cargo check fuzz/) -> trunk build --release
#   -> trunk build of the example app (examples/presence, debug)
#   -> browser tests (wasm-bindgen-test in headless Chromium, against a dev stack started here)
#   -> end-to-end tests (node --test e2e/*.test.mjs, Playwright driving /usr/bin/chromium).
# Stops at the first failing stage; prints every stage's time and a summary line.
#
# Browser-test hook: before the wasm tests, a dev stack (debug build, short token TTL) is started in
# the background and always stopped at exit. Its addresses are exported (read them with
# `option_env!` in wasm tests, `std::env` natively, `process.env` in node):
#   LIVECHAT_TEST_HTTP          http://127.0.0.1:$LIVECHAT_TEST_PORT (app, /config.json, /api/*, /dev/*)
#   LIVECHAT_TEST_CONFIG_URL    $LIVECHAT_TEST_HTTP/config.json (the broker URL the app would use)
#   LIVECHAT_TEST_BROKER_WS     ws://127.0.0.1:$LIVECHAT_TEST_BROKER_WS_PORT
#   LIVECHAT_TEST_TOKEN_TTL_SECS  the stack's TOKEN_TTL_SECS
# The wasm-bindgen test server listens on WASM_BINDGEN_TEST_ADDRESS (127.0.0.1:18090 by default),
# whose origin is in the stack's CORS_ORIGINS. Ports are fixed (so compile-time env stays stable and
# the test crates are not rebuilt every run); override with LIVECHAT_TEST_PORT,
# LIVECHAT_TEST_BROKER_WS_PORT, LIVECHAT_TEST_RUNNER_PORT. LIVECHAT_TEST_BROKER picks the broker.
# For e2e tests, which start their own stacks: LIVECHAT_DEV_STACK_BIN (the debug dev-stack binary
# already built here, so nothing is rebuilt) and LIVECHAT_DIST (the trunk release build).
#
# Env: SKIP_SETUP=1 skips setup.sh. CARGO_TARGET_DIR defaults to ~/.cache/livechat/target.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

BROWSER_CRATES=(-p livechat -p yew-mqtt -p mqtt-browser -p mqtt-lifecycle -p mqtt-session -p mqtt-codec
  -p livechat-bench-bare -p livechat-example-presence)
WASM_TEST_CRATES=(-p mqtt-browser -p yew-mqtt)

if [ "${SKIP_SETUP:-0}" = 1 ]; then
  log "SKIP_SETUP=1: not running setup.sh"
else
  stage "setup (install what is missing)" "$ROOT/scripts/setup.sh"
fi

stage "cargo fmt --all --check" cargo fmt --all --check
stage "clippy native (workspace, all targets)" \
  cargo clippy --workspace --all-targets --locked -- -D warnings
stage "clippy wasm32 (browser-capable crates)" \
  cargo clippy "${BROWSER_CRATES[@]}" --target wasm32-unknown-unknown --locked -- -D warnings
# The driver without its `tabs` feature, as the bare bench page builds it (the workspace build
# above unifies features, so it always has the feature).
stage "clippy wasm32 (mqtt-browser without tabs)" \
  cargo clippy -p mqtt-browser --no-default-features --target wasm32-unknown-unknown --all-targets --locked -- -D warnings
stage "native tests (cargo test --workspace)" cargo test --workspace --locked
# The libFuzzer drivers in fuzz/ (outside the workspace) compile on stable. Their bodies are
# crates/fuzz-targets, built and run over the checked-in corpus by the native tests above; this
# checks the one-line drivers without libFuzzer's C++ (fuzz/README.md).
stage "fuzz drivers (cargo check fuzz/)" \
  cargo check --manifest-path fuzz/Cargo.toml --no-default-features --bins --locked

build_dist() {
  # Trunk's wasm-bindgen output directory lives in the shared target directory: clear it so a
  # snippet (JS module) of another checkout's or the bench's build never lands in dist/.
  rm -rf "$CARGO_TARGET_DIR/wasm-bindgen/release"
  with_release_flags trunk build --release || return
  report_dist_sizes
}
stage "trunk build --release" build_dist
# The yew-mqtt example app: a debug build (no wasm-opt, no LTO) into the target directory proves
# its page builds; its rules are unit-tested in the native stage.
stage "trunk build examples/presence (debug)" \
  trunk --config examples/presence/Trunk.toml build --dist "$CARGO_TARGET_DIR/examples/presence"

# ---- browser tests against a background dev stack ---------------------------------------------
browser_tests() {
  # The debug binary: its dependencies were just built by the native tests, so this is quick.
  # (Functions run by `stage` sit in an `||` context where `set -e` is off: check each step.)
  cargo build -p dev-stack --bin dev-stack --locked || return
  local http_port="${LIVECHAT_TEST_PORT:-18080}" ws_port="${LIVECHAT_TEST_BROKER_WS_PORT:-18083}"
  local runner_port="${LIVECHAT_TEST_RUNNER_PORT:-18090}"
  export LIVECHAT_TEST_HTTP="http://127.0.0.1:$http_port"
  export LIVECHAT_TEST_CONFIG_URL="$LIVECHAT_TEST_HTTP/config.json"
  export LIVECHAT_TEST_BROKER_WS="ws://127.0.0.1:$ws_port"
  export LIVECHAT_TEST_TOKEN_TTL_SECS="${LIVECHAT_TEST_TOKEN_TTL_SECS:-20}"
  export WASM_BINDGEN_TEST_ADDRESS="127.0.0.1:$runner_port"
  export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
  export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-60}"
  # The test page must reach the stack on another port with no-cors requests (the dev login):
  # no COEP require-corp on it.
  export WASM_BINDGEN_TEST_NO_ORIGIN_ISOLATION=1
  port_open "$runner_port" && die "port $runner_port (wasm-bindgen test server) is in use: set LIVECHAT_TEST_RUNNER_PORT"
  mkdir -p "$CARGO_TARGET_DIR"
  local stack_log="$CARGO_TARGET_DIR/test-dev-stack.log"
  log "dev stack for browser tests: $LIVECHAT_TEST_HTTP, broker $LIVECHAT_TEST_BROKER_WS, token TTL ${LIVECHAT_TEST_TOKEN_TTL_SECS}s (log: $stack_log)"
  PORT="$http_port" BROKER_WS_PORT="$ws_port" BROKER="${LIVECHAT_TEST_BROKER:-embedded}" \
    TOKEN_TTL_SECS="$LIVECHAT_TEST_TOKEN_TTL_SECS" TOKEN_RATE_LIMIT=600 DEV_AUTH=1 DEV_CONTROLS=1 DIST_DIR="$ROOT/dist" STATE_DIR= \
    CORS_ORIGINS="http://127.0.0.1:$runner_port,http://localhost:$runner_port" \
    start_dev_stack "$CARGO_TARGET_DIR/debug/dev-stack" "$stack_log" "$http_port" "$ws_port" --dist "$ROOT/dist"
  local status=0
  # --lib --tests: unit and integration tests; doctests run natively in the native stage.
  cargo test --target wasm32-unknown-unknown "${WASM_TEST_CRATES[@]}" --lib --tests --locked || status=$?
  # The app crate: its browser tests (the presence sort key in the lib; message and
  # configuration-error markup in tests/; the crash screen is JS, e2e/crash-screen.test.mjs).
  cargo test --target wasm32-unknown-unknown -p livechat --lib --tests --locked || status=$?
  stop_dev_stack
  if [ "$status" -ne 0 ]; then
    printf -- '--- dev stack log, last 40 lines (%s) ---\n' "$stack_log" >&2
    tail -n 40 "$stack_log" >&2 || true
  fi
  return "$status"
}
trap 'stop_dev_stack' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
stage "browser tests (wasm-bindgen-test, headless Chromium)" browser_tests

# ---- end-to-end tests ---------------------------------------------------------------------------
shopt -s nullglob
e2e_files=(e2e/*.test.mjs)
shopt -u nullglob
if [ "${#e2e_files[@]}" -gt 0 ]; then
  export LIVECHAT_DEV_STACK_BIN="$CARGO_TARGET_DIR/debug/dev-stack"
  export LIVECHAT_DIST="$ROOT/dist"
  stage "e2e tests (node --test, ${#e2e_files[@]} files)" node --test "${e2e_files[@]}"
else
  log "no e2e/*.test.mjs files: e2e stage skipped"
fi

print_times
printf '\nALL TESTS PASSED: fmt, clippy (native + wasm32), native tests, fuzz drivers, trunk builds (app, example), browser tests, e2e (%d files) in %s\n' \
  "${#e2e_files[@]}" "$(fmt_secs $((SECONDS - SCRIPT_START)))"
