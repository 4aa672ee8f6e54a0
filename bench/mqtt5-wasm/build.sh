#!/usr/bin/env bash
# Builds the mqtt5-wasm browser client the way its README says, with our pinned toolchain:
#   cargo build --target wasm32-unknown-unknown --release [--features …]
#   wasm-bindgen --target web --out-dir pkg …/mqtt5_wasm.wasm
# plus `wasm-opt -Oz` (binaryen 132; our pages add a few size passes to -Oz), into bench/mqtt5-wasm/pkg/ (git-ignored),
# which bench/run.mjs serves under /mqtt5-wasm/ for bench/pages/mqtt5-wasm.html.
#   MQTT5_WASM_FEATURES   extra features of the crate, e.g. "broker,codec" (the README's line);
#                         default: none (its default feature "client" only: the browser client)
#   MQTT5_WASM_TARGET_DIR default ~/.cache/livechat/mqtt5-wasm-target (not our crates' target dir)
#   MQTT5_WASM_OPT=0      skip wasm-opt (the README does not run it)
#   MQTT5_WASM_OUT        output dir, default bench/mqtt5-wasm/pkg (the one run.mjs serves)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export PATH="$root/node_modules/.bin:$HOME/.cargo/bin:$PATH"
target="${MQTT5_WASM_TARGET_DIR:-$HOME/.cache/livechat/mqtt5-wasm-target}"
features=()
if [ -n "${MQTT5_WASM_FEATURES:-}" ]; then
  IFS=',' read -r -a fs <<<"$MQTT5_WASM_FEATURES"
  # Forwarded by this package's [features]: cargo takes no --features for a package outside the
  # workspace, so this (empty) member is built beside it and enables them.
  for f in "${fs[@]}"; do features+=(--features "livechat-bench-mqtt5-wasm/$f"); done
fi

# wasm-bindgen-cli must be exactly the wasm-bindgen version this Cargo.lock resolved.
want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$here/Cargo.lock")"
bindgen="wasm-bindgen"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" || true
if [ "$have" != "$want" ]; then
  alt="$HOME/.cache/livechat/tools/wasm-bindgen-$want"
  if [ ! -x "$alt/bin/wasm-bindgen" ]; then
    echo "wasm-bindgen-cli $want (have ${have:-none}): cargo install into $alt" >&2
    cargo install wasm-bindgen-cli --version "$want" --root "$alt" # not --locked (docs/TOOLCHAIN)
  fi
  bindgen="$alt/bin/wasm-bindgen"
fi
wasm_opt_version="$(wasm-opt --version 2>/dev/null | grep -o 'version [0-9]*' | awk '{print $2}')" || true

cd "$here"
CARGO_TARGET_DIR="$target" cargo build --locked --target wasm32-unknown-unknown --release \
  -p livechat-bench-mqtt5-wasm -p mqtt5-wasm "${features[@]}"
out="${MQTT5_WASM_OUT:-$here/pkg}"
rm -rf "$out"
"$bindgen" --target web --out-dir "$out" "$target/wasm32-unknown-unknown/release/mqtt5_wasm.wasm"
if [ "${MQTT5_WASM_OPT:-1}" != 0 ]; then
  [ "$wasm_opt_version" = 132 ] || { echo "wasm-opt 132 needed (node_modules/.bin: npm ci at the root), found '${wasm_opt_version:-none}'" >&2; exit 1; }
  # What Trunk runs for our bare page's data-wasm-opt="z" (features come from the module's
  # target_features section, kept by strip = "debuginfo").
  wasm-opt -Oz -o "$out/mqtt5_wasm_bg.wasm.opt" "$out/mqtt5_wasm_bg.wasm"
  mv "$out/mqtt5_wasm_bg.wasm.opt" "$out/mqtt5_wasm_bg.wasm"
fi
rm -f "$out"/*.d.ts "$out/package.json" "$out/.gitignore"
printf 'mqtt5-wasm %s, features: client%s; wasm-bindgen %s; wasm-opt %s; %s\n' \
  "$(awk '/^name = "mqtt5-wasm"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)" \
  "${MQTT5_WASM_FEATURES:+,$MQTT5_WASM_FEATURES}" "$want" \
  "$([ "${MQTT5_WASM_OPT:-1}" != 0 ] && echo "$wasm_opt_version -Oz" || echo none)" "$(rustc --version)" >"$out/BUILD"
cat "$out/BUILD"
ls -l "$out"
