#!/usr/bin/env bash
# Installs what building, running and testing livechat needs, on a fresh Debian 12 machine where
# only the package registries are reachable. Idempotent: each step checks first and does nothing
# when the right thing (and version) is already there. Run by dev.sh and test.sh.
#
#   apt:    chromium chromium-driver (browser tests, e2e), xvfb (the e2e tests that need a headed
#           Chromium: a hidden, frozen tab), mosquitto mosquitto-clients (broker
#           tests), rabbitmq-server (BROKER=rabbitmq and its 3-node cluster tests; the package's
#           own service is never started or touched: the dev stack runs private nodes), brotli
#           (size checks), a C toolchain; node + npm if missing
#   rustup: wasm32-unknown-unknown target, rustfmt, clippy and rust-src components (rust-src: the
#           release build compiles std for the wasm, README "Release build")
#   cargo:  trunk 0.21.14, wasm-bindgen-cli = Cargo.lock's wasm-bindgen (into ~/.cargo/bin)
#   npm:    project-local node_modules (binaryen 132 for wasm-opt, playwright-core, mqtt + ws + axe-core for the e2e tests, esbuild for the release build's JS) via `npm ci`
#   cargo fetch (trunk builds offline), with std's own dependencies for the release build
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

setup_start=$SECONDS

# ---- Debian packages --------------------------------------------------------------------------
apt_missing=()
for pkg in chromium chromium-driver xvfb mosquitto mosquitto-clients rabbitmq-server brotli build-essential pkg-config \
  ca-certificates curl; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
    apt_missing+=("$pkg")
  fi
done
command -v node >/dev/null || apt_missing+=(nodejs)
command -v npm >/dev/null || apt_missing+=(npm)
if [ "${#apt_missing[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null || die "missing system packages (${apt_missing[*]}) and no apt-get: this script supports Debian 12"
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "missing system packages (${apt_missing[*]}): run as root or install sudo"
    SUDO=(sudo)
  fi
  log "apt: installing ${apt_missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
    die "apt-get update failed (is the Debian mirror reachable?)"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${apt_missing[@]}" ||
    die "apt-get install ${apt_missing[*]} failed"
else
  log "apt: chromium, chromium-driver, xvfb, mosquitto, mosquitto-clients, rabbitmq-server, brotli, build tools, node: present"
fi
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium missing after apt (package chromium)"
[ -x /usr/bin/chromedriver ] || die "/usr/bin/chromedriver missing after apt (package chromium-driver)"
command -v Xvfb >/dev/null || die "Xvfb missing after apt (package xvfb)"
chromium_major="$(/usr/bin/chromium --version 2>/dev/null | grep -oE '[0-9]+' | head -1)"
driver_major="$(/usr/bin/chromedriver --version | grep -oE '[0-9]+' | head -1)"
[ "$chromium_major" = "$driver_major" ] ||
  die "chromium $chromium_major and chromedriver $driver_major differ: upgrade both (apt-get install chromium chromium-driver)"

# ---- Rust toolchain ---------------------------------------------------------------------------
{ command -v cargo && command -v rustup; } >/dev/null ||
  die "cargo/rustup not found (looked in PATH and ~/.cargo/bin): install Rust with rustup first"
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup: wasm32-unknown-unknown present"
else
  log "rustup: adding target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown || die "rustup target add wasm32-unknown-unknown failed"
fi
for comp in rustfmt clippy rust-src; do
  if ! rustup component list --installed | grep -q "^$comp"; then
    log "rustup: adding component $comp"
    rustup component add "$comp" || die "rustup component add $comp failed"
  fi
done

# cargo install builds in a temporary dir of its own, never in the project's cache.
have_trunk="$(trunk --version 2>/dev/null || true)"
if [ "$have_trunk" = "trunk $TRUNK_VERSION" ]; then
  log "cargo: trunk $TRUNK_VERSION present"
else
  log "cargo: installing trunk $TRUNK_VERSION (found: '${have_trunk:-none}'; takes ~12 min on 2 cores)"
  env -u CARGO_TARGET_DIR cargo install trunk --version "$TRUNK_VERSION" --locked --force ||
    die "cargo install trunk $TRUNK_VERSION failed"
fi

wb_version="$(lock_wasm_bindgen_version)"
[ -n "$wb_version" ] || die "no wasm-bindgen package in Cargo.lock"
trunk_wb="$(sed -nE 's/^wasm_bindgen *= *"([^"]+)".*/\1/p' Trunk.toml)"
[ "$trunk_wb" = "$wb_version" ] ||
  die "Trunk.toml [tools] wasm_bindgen = \"$trunk_wb\" but Cargo.lock has wasm-bindgen $wb_version: make them equal"
have_wb="$(wasm-bindgen --version 2>/dev/null || true)"
have_runner="$(wasm-bindgen-test-runner --version 2>/dev/null || true)"
if [ "$have_wb" = "wasm-bindgen $wb_version" ] && [ "$have_runner" = "wasm-bindgen-test-runner $wb_version" ]; then
  log "cargo: wasm-bindgen-cli $wb_version present"
else
  # Not --locked: the CLI's own lockfile pins a crate version this registry lacks (TOOLCHAIN.md).
  log "cargo: installing wasm-bindgen-cli $wb_version (found: '${have_wb:-none}'; ~3 min)"
  env -u CARGO_TARGET_DIR cargo install wasm-bindgen-cli --version "$wb_version" --force ||
    die "cargo install wasm-bindgen-cli $wb_version failed"
fi

# ---- npm (project-local) ----------------------------------------------------------------------
command -v npm >/dev/null || die "npm not found after apt"
lock_sum="$(sha256sum package.json package-lock.json | sha256sum | cut -c1-64)"
stamp="node_modules/.livechat-npm-ci"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_sum" ] &&
  wasm-opt --version 2>/dev/null | grep -q "version_$WASM_OPT_VERSION"; then
  log "npm: node_modules up to date with package-lock.json"
else
  log "npm: npm ci (binaryen $WASM_OPT_VERSION, playwright-core; no browser download)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund || die "npm ci failed"
  echo "$lock_sum" >"$stamp"
fi
[ "$(command -v wasm-opt)" = "$ROOT/node_modules/.bin/wasm-opt" ] ||
  die "wasm-opt resolves to $(command -v wasm-opt), not node_modules/.bin/wasm-opt"
wasm-opt --version | grep -q "version_$WASM_OPT_VERSION" ||
  die "wasm-opt is '$(wasm-opt --version)', need binaryen $WASM_OPT_VERSION (npm ci)"

# ---- crates (trunk builds with --offline) -----------------------------------------------------
log "cargo: fetch"
cargo fetch --quiet || die "cargo fetch failed (is crates.io reachable? does Cargo.toml parse?)"
# std's own dependencies (its lock file in rust-src), for the release build's -Zbuild-std.
with_release_flags cargo fetch --quiet -Zbuild-std=std,panic_abort --target wasm32-unknown-unknown ||
  die "cargo fetch of std's dependencies (-Zbuild-std) failed"
# The libFuzzer drivers (their own workspace and lock file; test.sh only checks them).
cargo fetch --quiet --manifest-path "$ROOT/fuzz/Cargo.toml" || die "cargo fetch of fuzz/ failed"

log "setup done in $(fmt_secs $((SECONDS - setup_start))): trunk $TRUNK_VERSION, wasm-bindgen $wb_version, wasm-opt $WASM_OPT_VERSION, chromium $chromium_major, CARGO_TARGET_DIR=$CARGO_TARGET_DIR"
