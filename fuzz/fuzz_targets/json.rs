//! The `json` target: see `livechat_fuzz_targets::json`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| livechat_fuzz_targets::json::run(data));
