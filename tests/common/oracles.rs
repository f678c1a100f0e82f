//! Asking the independent validators for their verdicts, in one place for every test file:
//! pyHanko through the scripts in tests/interop, poppler's pdfsig and qpdf.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::tools::{workspace, Tools};

/// Runs a script of tests/interop with pyHanko's Python and returns its JSON output.
pub fn pyhanko_script(tools: &Tools, script: &str, args: &[&Path]) -> Value {
    let out = Command::new(tools.python())
        .arg(workspace().join("tests/interop").join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    assert!(
        out.status.success(),
        "{script} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{script}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// pyHanko's report on every signature and document time-stamp of `file`, trusting `root`
/// (tests/interop/pyhanko_report.py).
pub fn pyhanko_report(tools: &Tools, file: &Path, root: &Path) -> Value {
    pyhanko_script(tools, "pyhanko_report.py", &[file, root])
}
