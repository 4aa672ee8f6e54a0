//! The live chat app.
//!
//! For now a placeholder page proving the Trunk build (Yew, wasm-bindgen, wasm-opt) works end to
//! end; the chat itself replaces it.

use yew::prelude::*;

/// The root component: a placeholder until the chat UI lands.
#[function_component(App)]
fn app() -> Html {
    html! {
        <main>
            <h1>{ "livechat" }</h1>
            <p id="status">{ "The app is loading its chat… (placeholder build)" }</p>
        </main>
    }
}

fn main() {
    yew::Renderer::<App>::new().render();
}
