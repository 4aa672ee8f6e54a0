//! Empty: this package only exists so that `cargo build -p mqtt5-wasm` has a workspace (build.sh).
