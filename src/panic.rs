//! Panics and the crash screen.
//!
//! The release build (README, "Release build") compiles std with `panic=immediate-abort`: a panic
//! is a bare wasm trap (`RuntimeError: unreachable`), with no message formatted and no hook run,
//! which takes the panic machinery, every panic message and every `file:line` out of the wasm.
//! The crash screen is therefore drawn by the loader (`static/boot.js`): the first uncaught
//! `WebAssembly.RuntimeError` of the app's module, a panic or any other trap, shows a friendly
//! error with a Reload action inside the element marked with [`MOUNTED_ATTRIBUTE`] and hides the
//! dead app. A trap leaves the module's state half-updated, so nothing of the app may run after
//! it: the screen is plain DOM from JavaScript. `e2e/crash-screen.test.mjs` checks it against a
//! real trap of the release build.
//!
//! Builds that keep panic messages (debug builds; `trunk build --release` without the scripts'
//! flags) also log the message to the console first ([`install`]).

/// The attribute the app sets on its mount element; the crash screen (`static/boot.js`) finds the
/// element by it.
pub const MOUNTED_ATTRIBUTE: &str = "data-livechat-mounted";

/// Logs a panic's message to the console, where panics still have one (not in the release build:
/// under `panic=immediate-abort` no hook runs, so none is installed).
pub fn install() {
    #[cfg(not(panic = "immediate-abort"))]
    console_error_panic_hook::set_once();
}
