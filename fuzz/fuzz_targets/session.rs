//! The `session` target: see `livechat_fuzz_targets::session`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| livechat_fuzz_targets::session::run(data));
