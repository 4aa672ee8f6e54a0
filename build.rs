//! Link settings of the app's release wasm.
//!
//! The wasm stack: Rust's wasm32 default is 1 MiB, placed first in linear memory, so it is
//! 1 MiB of every page's memory from the start (a third of it after a 50,000-message flood:
//! BENCHMARKS.md, "Memory after the flood"). The app's deepest stack is Yew's render recursion,
//! a few dozen frames; 256 KiB leaves ample room. An overflow would trap (the stack is first:
//! it runs below address 0, a `RuntimeError` on the console) instead of corrupting memory.
//! Debug builds and tests keep the default (their frames are much larger).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|a| a == "wasm32");
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    if wasm && release {
        println!("cargo:rustc-link-arg-bins=-zstack-size={}", 256 * 1024);
    }
}
