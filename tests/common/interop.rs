//! The independent validator the interoperability tests compare against: pyHanko, from
//! VANTHU_PYTHON or <workspace>/.venv/bin/python. Included with `#[path]` by the tests that
//! need it, apart from the server helpers in mod.rs.

use std::path::PathBuf;
use std::process::Command;

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// pyHanko's python, or `None` after printing why the test is skipped (a failure instead when
/// VANTHU_REQUIRE_TOOLS=1).
pub fn pyhanko_python() -> Option<PathBuf> {
    let python = std::env::var_os("VANTHU_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    let works = Command::new(&python)
        .args(["-c", "import pyhanko, pyhanko_certvalidator"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if works {
        return Some(python);
    }
    let why = format!("pyHanko not importable with {}", python.display());
    assert!(
        std::env::var("VANTHU_REQUIRE_TOOLS").as_deref() != Ok("1"),
        "{why} (VANTHU_REQUIRE_TOOLS=1)"
    );
    eprintln!("SKIPPED: {why}; set VANTHU_PYTHON or run scripts/test");
    None
}
