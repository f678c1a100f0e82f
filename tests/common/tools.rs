//! The external programs the tests consult as independent judges, found in one place.
//!
//! A test names the tools it needs with [`require`]. When one is missing the test fails under
//! `VANTHU_REQUIRE_TOOLS=1` (scripts/test installs them all and sets it, so CI never passes by
//! skipping), and otherwise prints a SKIPPED line and gets `None`.
//!
//! This file is also compiled into vanthu-pades' own tests (with `#[path]`), so it depends on
//! the standard library only.

#![allow(dead_code)] // Each test binary uses a different part of it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The environment variable that turns a missing tool into a failure.
pub const REQUIRE_TOOLS_ENV: &str = "VANTHU_REQUIRE_TOOLS";

/// An external program a test asks for its verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    /// The `openssl` command line (certificates, CRLs, `ts`, `pkcs12`, `cms`).
    Openssl,
    /// poppler's text extraction.
    Pdftotext,
    /// poppler's renderer.
    Pdftoppm,
    /// poppler's signature checker.
    Pdfsig,
    /// `qpdf --check`.
    Qpdf,
    /// pyHanko and pyhanko-certvalidator in the Python of [`python_path`].
    PyHanko,
    /// SoftHSM2's `softhsm2-util`, for PKCS#11 tests.
    SoftHsm,
    /// Headless Chromium, for browser tests.
    Chromium,
    /// chromedriver, the WebDriver server that drives Chromium.
    Chromedriver,
    /// `xmlsec1`, for XML signature tests.
    Xmlsec1,
    /// Schemathesis in the Python of [`python_path`], for schema-driven API tests.
    Schemathesis,
}

impl Tool {
    /// What the tool is called in messages.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Openssl => "openssl",
            Tool::Pdftotext => "pdftotext",
            Tool::Pdftoppm => "pdftoppm",
            Tool::Pdfsig => "pdfsig",
            Tool::Qpdf => "qpdf",
            Tool::PyHanko => "pyHanko",
            Tool::SoftHsm => "softhsm2-util",
            Tool::Chromium => "chromium",
            Tool::Chromedriver => "chromedriver",
            Tool::Xmlsec1 => "xmlsec1",
            Tool::Schemathesis => "schemathesis",
        }
    }

    /// Where it comes from, so the message says what to install.
    fn source(self) -> &'static str {
        match self {
            Tool::Openssl => "Debian openssl",
            Tool::Pdftotext | Tool::Pdftoppm | Tool::Pdfsig => "Debian poppler-utils",
            Tool::Qpdf => "Debian qpdf",
            Tool::PyHanko | Tool::Schemathesis => {
                "tests/interop/requirements.txt in a venv; see VANTHU_PYTHON"
            }
            Tool::SoftHsm => "Debian softhsm2",
            Tool::Chromium => "Debian chromium",
            Tool::Chromedriver => "Debian chromium-driver",
            Tool::Xmlsec1 => "Debian xmlsec1",
        }
    }

    /// A harmless command that succeeds only when the tool works.
    fn probe(self, python: &Path) -> Command {
        let (program, args): (&Path, &[&str]) = match self {
            Tool::Openssl => (Path::new("openssl"), &["version"]),
            Tool::Pdftotext => (Path::new("pdftotext"), &["-v"]),
            Tool::Pdftoppm => (Path::new("pdftoppm"), &["-v"]),
            Tool::Pdfsig => (Path::new("pdfsig"), &["-v"]),
            Tool::Qpdf => (Path::new("qpdf"), &["--version"]),
            Tool::PyHanko => (
                python,
                &["-c", "import pyhanko, pyhanko_certvalidator, pyhanko.cli"],
            ),
            Tool::SoftHsm => (Path::new("softhsm2-util"), &["--version"]),
            Tool::Chromium => (Path::new("chromium"), &["--version"]),
            Tool::Chromedriver => (Path::new("chromedriver"), &["--version"]),
            Tool::Xmlsec1 => (Path::new("xmlsec1"), &["--version"]),
            Tool::Schemathesis => (python, &["-c", "import schemathesis"]),
        };
        let mut cmd = Command::new(program);
        cmd.args(args).stdout(Stdio::null()).stderr(Stdio::null());
        cmd
    }

    fn present(self, python: &Path) -> bool {
        self.probe(python).status().is_ok_and(|s| s.success())
    }
}

/// The tools a test asked for, all present.
#[derive(Debug)]
pub struct Tools {
    python: PathBuf,
}

impl Tools {
    /// The Python that imports pyHanko or Schemathesis (meaningful when [`Tool::PyHanko`] or
    /// [`Tool::Schemathesis`] was required).
    pub fn python(&self) -> &Path {
        &self.python
    }
}

/// The workspace root (every crate lives two levels below it).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `VANTHU_PYTHON`, else `<workspace>/.venv/bin/python` (where scripts/test makes the venv).
pub fn python_path() -> PathBuf {
    std::env::var_os("VANTHU_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"))
}

/// Whether a missing tool fails the test instead of skipping it.
pub fn tools_required() -> bool {
    std::env::var(REQUIRE_TOOLS_ENV).as_deref() == Ok("1")
}

/// The tools `test` needs: `Some` when all are present; otherwise a panic under
/// `VANTHU_REQUIRE_TOOLS=1`, or a SKIPPED line and `None`.
pub fn require(test: &str, tools: &[Tool]) -> Option<Tools> {
    let python = python_path();
    let missing: Vec<String> = tools
        .iter()
        .filter(|tool| !tool.present(&python))
        .map(|tool| match tool {
            Tool::PyHanko | Tool::Schemathesis => format!(
                "{} with {} ({})",
                tool.name(),
                python.display(),
                tool.source()
            ),
            _ => format!("{} ({})", tool.name(), tool.source()),
        })
        .collect();
    if missing.is_empty() {
        return Some(Tools { python });
    }
    let why = format!("{test}: missing {}", missing.join(", "));
    assert!(
        !tools_required(),
        "{REQUIRE_TOOLS_ENV}=1 and a required tool is missing: {why}"
    );
    println!("SKIPPED: {why}");
    None
}
