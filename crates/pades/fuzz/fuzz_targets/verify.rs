//! Feeds arbitrary bytes to the verifier (and the reader walk it relies on): it must return a
//! report or an error, never panic, and stay within its limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vanthu_pades::verify::{verify_bytes, VerifyOptions};

fuzz_target!(|data: &[u8]| {
    vanthu_pades::pdf::parse_for_fuzz(data);
    // Offline: a fuzzer must not fetch CRLs or OCSP responses from addresses in its input.
    let options = VerifyOptions {
        offline: true,
        ..VerifyOptions::default()
    };
    let _ = verify_bytes(data, &options);
});
