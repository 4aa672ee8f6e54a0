//! The fuzz targets' bodies, as plain functions of the input bytes, so that they build and run
//! on stable: `fuzz/` (a cargo-fuzz crate outside the workspace) wraps each in libFuzzer's
//! `fuzz_target!`, and `tests/corpus.rs` replays every file of the checked-in corpus
//! (`fuzz/corpus/<target>/`) through them as ordinary `cargo test` tests.
//!
//! | target | what it feeds |
//! |---|---|
//! | [`framer`] | bytes in chunks to `mqtt_codec::Framer`, both versions, checked against the oracle |
//! | [`session`] | links, bytes, time and commands to `mqtt_session::Session` |
//! | [`json`] | text to `mqtt_lifecycle::json::parse`, checked against `serde_json` |
//! | [`token`] | an HTTP response to `mqtt_lifecycle::token::parse_response` |
//! | [`chat`] | a payload to the app's `WireMessage::parse` (`src/chat/wire.rs`) |
//!
//! [`seeds`] generates the seed corpus; see `fuzz/README.md`.

pub mod chat;
pub mod framer;
pub mod input;
pub mod json;
pub mod seeds;
pub mod session;
pub mod token;

#[path = "../../mqtt-codec/src/oracle.rs"]
mod oracle;

// The app's chat wire format, as the app compiles it (the app crate itself needs a browser).
#[path = "../../../src/chat/wire.rs"]
#[allow(dead_code)]
mod wire;

/// A target: its name (the directory of its corpus and the libFuzzer binary) and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: [Target; 5] = [
    ("framer", framer::run),
    ("session", session::run),
    ("json", json::run),
    ("token", token::run),
    ("chat", chat::run),
];
