//! The `token` target: see `livechat_fuzz_targets::token`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| livechat_fuzz_targets::token::run(data));
