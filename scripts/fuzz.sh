#!/usr/bin/env bash
# Builds and runs the libFuzzer targets in fuzz/ without cargo-fuzz (the flags are cargo-fuzz's
# defaults with `--sanitizer none`: the targets are safe Rust; debug assertions and overflow
# checks are on, so an overflow is a finding).
#
#   scripts/fuzz.sh build                 build every target
#   scripts/fuzz.sh run TARGET [ARGS...]  build, then run TARGET on a scratch corpus seeded from
#                                         fuzz/corpus/TARGET; ARGS go to libFuzzer
#                                         (e.g. -runs=10000000, -max_total_time=60)
#
# Toolchain: the nightly toolchain if rustup has one, else stable with RUSTC_BOOTSTRAP=1 (only for
# this build, never the shipped one). libFuzzer is C++: needs g++ or clang++.
# Env: FUZZ_TARGET_DIR (default ~/.cache/livechat/fuzz-target, apart from the main build cache, whose
# artifacts the instrumentation flags would otherwise replace); FUZZ_WORK_DIR (scratch corpora and
# findings, default ~/.cache/livechat/fuzz-work). Findings land in $FUZZ_WORK_DIR/TARGET/artifacts/.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/livechat/fuzz-target}"
WORK="${FUZZ_WORK_DIR:-$HOME/.cache/livechat/fuzz-work}"
TRIPLE="$(rustc -vV | sed -n 's/^host: //p')"
if rustup run nightly rustc -V >/dev/null 2>&1; then
  CARGO=(cargo +nightly)
else
  CARGO=(env RUSTC_BOOTSTRAP=1 cargo)
fi
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"

build() {
  command -v c++ >/dev/null || die "libFuzzer needs a C++ compiler (apt-get install g++)"
  log "building the fuzz targets with $("${CARGO[@]}" --version) into $CARGO_TARGET_DIR"
  # --target: the flags then skip build scripts, which must not be instrumented.
  "${CARGO[@]}" build --release --locked --manifest-path fuzz/Cargo.toml --target "$TRIPLE" --bins
}

case "${1:-}" in
  build) build ;;
  run)
    target="${2:?usage: scripts/fuzz.sh run TARGET [libFuzzer args...]}"
    shift 2
    [ -d "fuzz/corpus/$target" ] || die "no fuzz/corpus/$target"
    build
    mkdir -p "$WORK/$target/corpus" "$WORK/$target/artifacts"
    log "fuzzing $target: new inputs in $WORK/$target/corpus, findings in $WORK/$target/artifacts"
    exec "$CARGO_TARGET_DIR/$TRIPLE/release/$target" -artifact_prefix="$WORK/$target/artifacts/" \
      "$@" "$WORK/$target/corpus" "fuzz/corpus/$target"
    ;;
  *) die "usage: scripts/fuzz.sh build | run TARGET [libFuzzer args...]" ;;
esac
