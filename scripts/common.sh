# Shared by setup.sh, dev.sh and test.sh: paths, PATH, banners and timing. Source it; don't run it.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
: "${HOME:?HOME must be set (cargo, rustup and the build cache live under it)}"

# Tools: cargo-installed ones (trunk, wasm-bindgen) and the project-local npm ones (wasm-opt from
# binaryen 132). node_modules/.bin comes first so Debian's wasm-opt 108, if installed, is never used.
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"

# One build cache outside the clone, so a fresh clone (CI) reuses earlier builds. Trunk asks cargo
# for the target dir, so it uses the same one.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/livechat/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-auto}"

# The only supported versions (README.md, "Set-up": newer trunk needs a newer rustc). wasm-bindgen's comes from Cargo.lock.
# shellcheck disable=SC2034 # used by the scripts that source this file
TRUNK_VERSION="0.21.14"
# shellcheck disable=SC2034
WASM_OPT_VERSION="132"

# with_release_flags CMD...: runs CMD (a release `trunk build`) with the release build's Rust flags
# (README, "Release build"). std is compiled from source for the wasm (-Zbuild-std) with our size
# profile, its `optimize_for_size` feature (smaller algorithms where std has two: sorting, integer
# formatting) and panic=immediate-abort: a panic is a bare trap that static/boot.js turns into the
# crash screen, and no panic message, location or formatting code is linked (BENCHMARKS.md: 11 KB
# brotli off the app, 5 KB off the bare page). These are unstable on our pinned stable compiler,
# hence RUSTC_BOOTSTRAP=1, set in a subshell for these builds only (rust-src and the std crates'
# `cargo fetch -Zbuild-std` come from setup.sh). Under RUSTC_BOOTSTRAP rustc acts as a nightly,
# whose default symbol mangling is v0: legacy keeps the stable names (bench/size-profile.sh groups
# functions by them; the shipped wasm has no names, and came out 185 B smaller). The flags go to
# the wasm target alone: build scripts and proc macros are built as usual. A RUSTFLAGS of the
# caller's would replace them.
with_release_flags() {
  (
    export RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_BUILD_STD=std,panic_abort
    export CARGO_UNSTABLE_BUILD_STD_FEATURES=optimize_for_size
    export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Csymbol-mangling-version=legacy"
    "$@"
  )
}

log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*"; }
die() {
  printf '\n[%s] ERROR: %s\n' "$(basename "$0" .sh)" "$*" >&2
  exit 1
}
banner() { printf '\n==== %s ====\n' "$*"; }

# The wasm-bindgen version Cargo.lock resolved (the CLI must be exactly this version).
lock_wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

# Stage timing: `stage NAME CMD...` runs CMD with a banner, records its duration, and stops the
# script (after printing the times so far) if it fails.
STAGE_NAMES=()
STAGE_SECS=()
SCRIPT_START=$SECONDS
stage() {
  local name="$1"
  shift
  banner "$name"
  local start=$SECONDS status=0
  "$@" || status=$?
  local took=$((SECONDS - start))
  STAGE_NAMES+=("$name")
  STAGE_SECS+=("$took")
  if [ "$status" -ne 0 ]; then
    print_times
    die "stage '$name' failed (exit $status after ${took}s)"
  fi
  log "stage '$name' passed in $(fmt_secs "$took")"
}
fmt_secs() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
print_times() {
  local i
  printf '\n---- stage times ----\n'
  for i in "${!STAGE_NAMES[@]}"; do
    printf '  %-44s %s\n' "${STAGE_NAMES[$i]}" "$(fmt_secs "${STAGE_SECS[$i]}")"
  done
  printf '  %-44s %s\n' "total" "$(fmt_secs $((SECONDS - SCRIPT_START)))"
}

# True when a TCP socket listens on port $1 (any address). Reads /proc/net/tcp{,6} instead of
# connecting, so servers don't log aborted handshakes from the probe.
port_open() {
  local hex
  hex="$(printf '%04X' "$1")"
  awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# ---- The dev stack as a background process (dev.sh, test.sh) ------------------------------------
DEV_STACK_PID=""
DEV_STACK_LOG=""

# start_dev_stack BINARY LOGFILE HTTP_PORT WS_PORT [ARGS...]: starts the dev stack with the current
# environment (PORT, BROKER_WS_PORT, ... exported by the caller), output to LOGFILE (and the terminal
# when LOGFILE is "-"), and waits until both ports accept connections. Fails loudly if a port is
# already taken, if the stack exits first, or if it is not listening within 120 s.
start_dev_stack() {
  local bin="$1" logfile="$2" http_port="$3" ws_port="$4"
  shift 4
  local p
  for p in "$http_port" "$ws_port"; do
    port_open "$p" && die "port $p on 127.0.0.1 is already in use (another dev stack?): stop it or choose other ports"
  done
  [ -x "$bin" ] || die "dev stack binary $bin not found"
  if [ "$logfile" = "-" ]; then
    "$bin" "$@" &
  else
    DEV_STACK_LOG="$logfile"
    "$bin" "$@" >"$logfile" 2>&1 &
  fi
  DEV_STACK_PID=$!
  local waited=0
  until port_open "$http_port" && port_open "$ws_port"; do
    if ! kill -0 "$DEV_STACK_PID" 2>/dev/null; then
      local status=0
      wait "$DEV_STACK_PID" || status=$?
      DEV_STACK_PID=""
      [ -n "$DEV_STACK_LOG" ] && { printf -- '--- dev stack output (%s) ---\n' "$DEV_STACK_LOG" >&2; tail -n 40 "$DEV_STACK_LOG" >&2; }
      die "the dev stack exited (status $status) before listening on ports $http_port and $ws_port; if crates/dev-stack is still a placeholder, that is why"
    fi
    [ "$waited" -ge 1200 ] && die "the dev stack did not listen on ports $http_port and $ws_port within 120 s"
    sleep 0.1
    waited=$((waited + 1))
  done
}

# stop_dev_stack: TERM, then KILL after 10 s. Safe to call twice (used from traps).
stop_dev_stack() {
  [ -n "$DEV_STACK_PID" ] || return 0
  local pid="$DEV_STACK_PID" i
  DEV_STACK_PID=""
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# report_dist_sizes: what trunk put in dist/, with raw and brotli sizes of the wasm and JS.
report_dist_sizes() {
  local f
  [ -f "$ROOT/dist/index.html" ] || die "trunk build produced no dist/index.html"
  ls "$ROOT"/dist/*.wasm >/dev/null 2>&1 || die "trunk build produced no .wasm in dist/"
  log "dist/ contents (bytes, brotli -q 11 bytes):"
  for f in "$ROOT"/dist/*; do
    [ -f "$f" ] || continue
    if command -v brotli >/dev/null; then
      printf '  %-48s %9d %9d\n' "$(basename "$f")" "$(wc -c <"$f")" "$(brotli -c "$f" | wc -c)"
    else
      printf '  %-48s %9d\n' "$(basename "$f")" "$(wc -c <"$f")"
    fi
  done
}
