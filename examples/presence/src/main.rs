//! The presence example's entry point (built by Trunk from `examples/presence/index.html`).

fn main() {
    #[cfg(target_arch = "wasm32")]
    yew::Renderer::<livechat_example_presence::App>::new().render();
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!(
        "livechat-example-presence is a browser page: build it with \
         `trunk --config examples/presence/Trunk.toml build` (examples/presence/README.md)"
    );
}
