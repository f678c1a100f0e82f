//! Feeds arbitrary bytes to the verifier's PDF parsing: it must return, never panic, and stay
//! within its limits.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    vanthu_pades::pdf::parse_for_fuzz(data);
});
