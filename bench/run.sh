#!/usr/bin/env bash
# The single bench command, from a fresh checkout:
#   1. scripts/setup.sh installs what is missing (skip with SKIP_SETUP=1);
#   2. builds our side: the app (trunk build --release -> dist/), the bare-client page when
#      bench/bare/index.html exists (-> bench/bare/dist/), the dev stack (cargo build --release);
#      skip with BENCH_BUILD=0 (uses what is built);
#      and the mqtt5-wasm peer (bench/mqtt5-wasm/build.sh -> bench/mqtt5-wasm/pkg/) when it is a client;
#   3. npm ci in bench/ (pinned mqtt 5.16.0, paho-mqtt 1.1.0, playwright-core 1.64.1);
#   4. node bench/run.mjs "$@"  (--write updates the "## Side by side" section of BENCHMARKS.md).
# A failed build of our side does not stop the run: the reference clients are still measured and
# the report says why ours was not run. Configuration: bench/README.md.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"
cd "$ROOT"

if [ "${SKIP_SETUP:-0}" != 1 ]; then
  stage "setup (install what is missing)" "$ROOT/scripts/setup.sh"
fi

clients="${BENCH_CLIENTS:-ws-floor,mqttjs,paho,mqtt5-wasm,ours-bare,ours-ui}"
if [ "${BENCH_BUILD:-1}" = 1 ] && [[ ",$clients," == *,mqtt5-wasm,* ]]; then
  # The Rust/wasm peer, from crates.io with our toolchain (its own workspace and target dir). A
  # failed build only drops that client: the report names the log.
  mkdir -p bench/results
  banner "bench/mqtt5-wasm/build.sh"
  if ! bench/mqtt5-wasm/build.sh >bench/results/build-mqtt5-wasm.log 2>&1; then
    export BENCH_MQTT5_WASM_BUILD_ERROR="bench/mqtt5-wasm/build.sh failed (bench/results/build-mqtt5-wasm.log)"
    log "mqtt5-wasm is not measured: $BENCH_MQTT5_WASM_BUILD_ERROR"
  fi
fi
build_errors=()
if [ "${BENCH_BUILD:-1}" = 1 ] && [[ "$clients" == *ours* ]]; then
  mkdir -p bench/results
  # Trunk's wasm-bindgen output directory is shared by the two builds below: clear it so one
  # build's snippets/ (JS modules of wasm_bindgen(module = ...)) never land in the other's dist.
  rm -rf "$CARGO_TARGET_DIR/wasm-bindgen/release"
  banner "trunk build --release"
  if ! with_release_flags trunk build --release >bench/results/build-app.log 2>&1; then
    build_errors+=("trunk build --release failed (bench/results/build-app.log)")
    export BENCH_APP_BUILD_FAILED=1 # dist/ may be stale: its size is not reported
  fi
  if [ -f bench/bare/index.html ]; then
    # Its own Trunk.toml (own loader boot.js, dist bench/bare/dist/); paths in it are relative to it.
    rm -rf "$CARGO_TARGET_DIR/wasm-bindgen/release"
    banner "trunk --config bench/bare/Trunk.toml build --release"
    with_release_flags trunk --config bench/bare/Trunk.toml build --release >bench/results/build-bare.log 2>&1 \
      || build_errors+=("the bare-client page did not build (bench/results/build-bare.log)")
  fi
  banner "cargo build -p dev-stack --release"
  # Same relaxed profile as scripts/dev.sh: fat LTO is for the wasm app, not this native tool.
  env CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo build -p dev-stack --release >bench/results/build-dev-stack.log 2>&1 \
    || build_errors+=("cargo build -p dev-stack --release failed (bench/results/build-dev-stack.log)")
  export LIVECHAT_DEV_STACK="${LIVECHAT_DEV_STACK:-$CARGO_TARGET_DIR/release/dev-stack}"
fi
if [ "${#build_errors[@]}" -gt 0 ]; then
  BENCH_OURS_BUILD_ERROR="$(printf '%s; ' "${build_errors[@]}")"
  BENCH_OURS_BUILD_ERROR="${BENCH_OURS_BUILD_ERROR%; }"
  export BENCH_OURS_BUILD_ERROR
  log "our side is not measured: $BENCH_OURS_BUILD_ERROR"
fi

cd bench
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  banner "npm ci (bench)"
  npm ci --no-audit --no-fund
fi
banner "bench"
exec node run.mjs "$@"
