//! The bare-client bench page's entry point (built by Trunk from `bench/bare/index.html`).

/// talc instead of std's dlmalloc: a smaller module (measured in
/// BENCHMARKS.md, "The allocator"). Set by the binary, never by a library crate.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

fn main() {
    #[cfg(target_arch = "wasm32")]
    livechat_bench_bare::start();
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!(
        "livechat-bench-bare is a browser page: build it with `trunk build` (bench/README.md)"
    );
}
