//! The `framer` target: see `livechat_fuzz_targets::framer`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| livechat_fuzz_targets::framer::run(data));
