//! The bare-client bench page's entry point (built by Trunk from `bench/bare/index.html`).

fn main() {
    #[cfg(target_arch = "wasm32")]
    livechat_bench_bare::start();
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!(
        "livechat-bench-bare is a browser page: build it with `trunk build` (bench/README.md)"
    );
}
