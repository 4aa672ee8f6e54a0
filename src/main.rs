//! The live chat app's entry point (built by Trunk); see the library crate for everything else.

/// talc instead of std's dlmalloc: a smaller module (measured in
/// BENCHMARKS.md, "The allocator"). Set by the binary, never by a library crate.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

fn main() {
    livechat::start();
}
