#!/usr/bin/env bash
# Size profile of the app (dist/) and the bare-client page (bench/bare/dist/): a Markdown report of
# where every brotli byte goes (bench/README.md, "Size profile"; BENCHMARKS.md, "Where the app's
# bytes go").
#
#   bench/size-profile.sh           # profile what is built (dist/, bench/bare/dist/)
#   bench/size-profile.sh --build   # first build both with Trunk, as bench/run.sh does
#
# For each page: the brotli (q11) of every file of its dist folder, summed as the bench's transfer
# size; the wasm's sections (code, data, imports, the rest); and the code section shared out per
# group of functions (yew, each of our crates, alloc, core, fmt, drop glue, ...). The group shares
# come from a second, named build of the same code: wasm-bindgen and wasm-opt run here on cargo's
# wasm exactly as Trunk runs them, once without `-g` (must give the shipped file byte for byte,
# else the report says so) and once with `-g` (keeps the name section). No cargo build unless
# --build. Needs python3, wasm-bindgen and wasm-opt on PATH (node_modules/.bin), and `brotli` or node.
set -euo pipefail
cd "$(dirname "$0")/.."
# with_release_flags: the release build's Rust flags, as bench/run.sh and scripts/test.sh build.
# shellcheck source=scripts/common.sh
source scripts/common.sh

build=0
[[ ${1:-} == --build ]] && build=1

target_dir=${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps --offline |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')}

if ((build)); then
  # As bench/run.sh: a fresh wasm-bindgen output directory per build (the two builds share it).
  rm -rf "$target_dir/wasm-bindgen/release"
  with_release_flags trunk build --release >&2
  rm -rf "$target_dir/wasm-bindgen/release"
  with_release_flags trunk --config bench/bare/Trunk.toml build --release >&2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Our crates: every workspace member's library/binary name.
crates=$(cargo metadata --format-version 1 --no-deps --offline |
  python3 -c 'import json,sys; print(",".join(sorted({t["name"].replace("-","_") for p in json.load(sys.stdin)["packages"] for t in p["targets"]})))')

# profile TITLE INDEX_HTML DIST
profile() {
  local title=$1 html=$2 dist=$3
  # The Trunk rust link of the page: its binary and wasm-opt settings.
  local link bin level params
  link=$(grep -o '<link data-trunk rel="rust"[^>]*>' "$html")
  bin=$(sed -n 's/.*data-bin="\([^"]*\)".*/\1/p' <<<"$link")
  level=$(sed -n 's/.*data-wasm-opt="\([^"]*\)".*/\1/p' <<<"$link")
  params=$(sed -n 's/.*data-wasm-opt-params="\([^"]*\)".*/\1/p' <<<"$link")
  local shipped="$dist/${bin}_bg.wasm"
  [[ -f $shipped ]] || { echo "size-profile: $shipped missing (build it, or pass --build)" >&2; return 1; }
  local cargo_wasm="$target_dir/wasm32-unknown-unknown/release/$bin.wasm"
  wasm-bindgen --target web --no-typescript --out-dir "$work/$bin" --out-name "$bin" "$cargo_wasm"
  local bg="$work/$bin/${bin}_bg.wasm"
  # shellcheck disable=SC2086 # params is a word list
  wasm-opt "-O$level" $params "$bg" -o "$work/$bin.wasm"
  # shellcheck disable=SC2086
  wasm-opt "-O$level" $params -g "$bg" -o "$work/$bin.named.wasm"
  # The release build's post_build hook moves the exported functions last (scripts/export-order.mjs)
  # and gives the glue's imports short names (scripts/short-imports.mjs).
  node scripts/export-order.mjs "$work/$bin.wasm"
  node scripts/export-order.mjs "$work/$bin.named.wasm" --names
  node scripts/short-imports.mjs "$work/$bin.wasm" "./${bin}_bg.js"
  node scripts/short-imports.mjs "$work/$bin.named.wasm" "./${bin}_bg.js"
  if ! cmp -s "$work/$bin.wasm" "$shipped"; then
    echo "**Warning:** cargo's $bin.wasm through wasm-bindgen + wasm-opt is not byte-identical to $shipped (stale build?): group shares are approximate."
    echo
  fi
  python3 bench/size_profile.py --title "$title" --dist "$dist" --shipped "$shipped" \
    --named "$work/$bin.named.wasm" --crates "$crates"
}

echo "# Size profile ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench/results' || echo ', with uncommitted changes'))"
echo
profile app index.html dist
profile bare bench/bare/index.html bench/bare/dist
