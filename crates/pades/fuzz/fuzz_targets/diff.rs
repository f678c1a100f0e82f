//! Appends a structured later revision (later_revision.rs: objects that overwrite the signed
//! file's own objects or add new ones, a changed or kept /Root, an xref table, an xref stream
//! or an empty section) to a signed file and verifies the result offline: the difference
//! analysis of what changed after signing must return a report or an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vanthu_pades::verify::{verify_bytes, VerifyOptions};

mod later_revision;

fuzz_target!(|data: &[u8]| {
    let file = later_revision::build(data);
    // Offline: a fuzzer must not fetch CRLs or OCSP responses from addresses in its input.
    let options = VerifyOptions {
        offline: true,
        ..VerifyOptions::default()
    };
    let _ = verify_bytes(&file, &options);
});
