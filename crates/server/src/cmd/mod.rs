//! One module per subcommand. Each exposes `run(args) -> anyhow::Result<ExitCode>`.

pub mod audit;
mod batch;
pub mod bench;
pub mod bench_audit;
pub mod bench_edxml;
pub mod bench_keys;
pub mod bench_pkcs11;
pub mod bench_reports;
pub mod certs;
pub mod check;
pub mod edxml;
pub mod report;
pub mod seal_key;
pub mod serve;
pub mod sign;
pub mod tsa;
pub mod verify;

use std::process::ExitCode;

/// Exit status for a command that could not do its work (as opposed to a negative answer,
/// such as `check` finding damage, which is 1).
const FAILURE: u8 = 2;

/// Turns a command's outcome into the process exit status, printing a failure as one line.
pub fn exit(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vanthu: {e:#}");
            ExitCode::from(FAILURE)
        }
    }
}
