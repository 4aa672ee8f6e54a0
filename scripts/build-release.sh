#!/usr/bin/env bash
# The release build of the app into dist/ (or of another Trunk page: extra arguments go to
# `trunk build`, e.g. `--config bench/bare/Trunk.toml` or `--dist /tmp/out`), with the release
# build's Rust flags (README, "Release build": std compiled with panic=immediate-abort). A plain
# `trunk build --release` also works, 10 KB brotli larger, with panic messages in the console.
# Needs what scripts/setup.sh installs (rust-src, std's crates fetched; Trunk builds offline).
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
# Trunk's wasm-bindgen output directory is in the shared target directory: cleared so no other
# build's snippet (JS module) lands in this dist folder.
rm -rf "$CARGO_TARGET_DIR/wasm-bindgen/release"
with_release_flags trunk build --release "$@"
