//! The live chat app's entry point (built by Trunk); see the library crate for everything else.

fn main() {
    livechat::start();
}
