//! Asking the independent validators for their verdicts, in one place for every test file:
//! pyHanko through the scripts in tests/interop, and poppler's pdfsig. Also compiled into
//! vanthu-pades' tests (with `#[path]`), beside tools.rs.

#![allow(dead_code)] // Each test binary asks a different part of it.

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

/// pyHanko finds the one signature of `file` intact, valid, trusted under `root` and covering
/// the whole file.
#[track_caller]
pub fn assert_pyhanko_accepts(tools: &Tools, file: &Path, root: &Path) {
    let report = pyhanko_report(tools, file, root);
    let signatures = report["signatures"].as_array().expect("signatures");
    assert_eq!(signatures.len(), 1, "{report}");
    let sig = &signatures[0];
    for check in ["intact", "valid", "trusted", "bottom_line"] {
        assert_eq!(sig[check], true, "{check} of {}: {report}", file.display());
    }
    assert_eq!(sig["coverage"], "ENTIRE_FILE", "{report}");
}

/// One signature as poppler's `pdfsig` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfsigSignature {
    /// "Signature Field Name".
    pub field: String,
    /// False for an empty signature field ("The signature form field is not signed.").
    pub signed: bool,
    /// "Signer Certificate Common Name".
    pub signer: String,
    /// "Signature Type" (the /SubFilter; "unknown" for document time-stamps).
    pub kind: String,
    /// "Total document signed" rather than "Not total document signed".
    pub total_document: bool,
    /// "Signature Validation", e.g. "Signature is Valid.".
    pub validation: String,
}

/// `pdfsig FILE`, read signature by signature, in the order poppler numbers them.
pub fn pdfsig(file: &Path) -> Vec<PdfsigSignature> {
    let out = Command::new("pdfsig")
        .arg(file)
        .output()
        .expect("run pdfsig (poppler-utils)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut signatures: Vec<PdfsigSignature> = Vec::new();
    for line in text.lines() {
        if let Some(number) = line
            .strip_prefix("Signature #")
            .and_then(|rest| rest.strip_suffix(':'))
        {
            assert_eq!(
                number.parse::<usize>().ok(),
                Some(signatures.len() + 1),
                "pdfsig numbering on {}:\n{text}",
                file.display()
            );
            signatures.push(PdfsigSignature {
                signed: true,
                ..PdfsigSignature::default()
            });
            continue;
        }
        if line.trim() == "The signature form field is not signed." {
            if let Some(current) = signatures.last_mut() {
                current.signed = false;
            }
            continue;
        }
        let Some(item) = line.trim_start().strip_prefix("- ") else {
            continue;
        };
        let current = signatures
            .last_mut()
            .unwrap_or_else(|| panic!("pdfsig: {line:?} before any signature:\n{text}"));
        match item.split_once(": ") {
            Some(("Signature Field Name", v)) => current.field = v.to_owned(),
            Some(("Signer Certificate Common Name", v)) => current.signer = v.to_owned(),
            Some(("Signature Type", v)) => current.kind = v.to_owned(),
            Some(("Signature Validation", v)) => current.validation = v.to_owned(),
            _ if item == "Total document signed" => current.total_document = true,
            _ => {}
        }
    }
    signatures
}

/// pdfsig and a `vanthu verify --json` report describe the same signatures in the same order
/// (pdfsig also lists empty signature fields, which the report does not): each signature by
/// the same signer, a PAdES one poppler finds valid, covering the whole file exactly when the
/// report says so; each document time-stamp by the same authority (poppler does not verify
/// those).
#[track_caller]
pub fn assert_pdfsig_agrees(file: &Path, report: &Value) {
    let ours = report["signatures"].as_array().expect("signatures");
    let poppler: Vec<PdfsigSignature> = pdfsig(file).into_iter().filter(|s| s.signed).collect();
    let fields = |v: &[PdfsigSignature]| v.iter().map(|s| s.field.clone()).collect::<Vec<_>>();
    let our_fields: Vec<String> = ours
        .iter()
        .map(|s| s["field"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        fields(&poppler),
        our_fields,
        "{}: {poppler:#?}",
        file.display()
    );
    for (theirs, sig) in poppler.iter().zip(ours) {
        let what = format!("{} {}", file.display(), theirs.field);
        assert_eq!(
            Some(theirs.signer.as_str()),
            sig["signer"].as_str(),
            "{what}"
        );
        if sig["kind"] == "document_timestamp" {
            continue;
        }
        assert_eq!(
            theirs.validation, "Signature is Valid.",
            "{what}: {theirs:?}"
        );
        assert_eq!(theirs.kind, "ETSI.CAdES.detached", "{what}: {theirs:?}");
        assert_eq!(
            theirs.total_document,
            sig["coverage"] == "ENTIRE_FILE",
            "{what}: pdfsig {theirs:?}, vanthu coverage {}",
            sig["coverage"]
        );
    }
}
