//! The `chat` target: see `livechat_fuzz_targets::chat`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| livechat_fuzz_targets::chat::run(data));
