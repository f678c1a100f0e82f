//! `vanthu verify` against the incremental-update attacks of issue 11. The corpus is built at
//! test time by tests/interop/attack_corpus.py: a document signed with an approval signature
//! and with DocMDP P=1, P=2 and P=3 certifications, each with xref tables and with xref
//! streams, then one hand-written later revision per attack and base (a new catalog and page
//! tree, Hide-and-Replace, objects the signed page uses listed in a new /DSS and overwritten,
//! the same through /Metadata and through the trailer's /Info, a remapped font, a widget that
//! belongs to no field painting over the page, the AcroForm removed, an XObject the signed page
//! paints but that was undefined when signed), and the legal counterparts (validation data, a
//! document time-stamp, form filling, a second signature, an annotation after P=3, metadata
//! updates, an identical rewrite). Every attack must be judged exactly as the script expects
//! (modified; valid only where DocMDP permits the change), every counterpart valid; pyHanko's
//! verdict on the same file, recorded by the script, must agree unless the script says why.

#[path = "common/tools.rs"]
mod tools;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::Value;
use tools::{require, workspace, Tool};

const ALL_BASES: &[&str] = &["approval", "p1", "p2", "p3"];
const TABLE_AND_STREAM: &[&str] = &["table", "stream"];

/// Cases the issue asks for: one per variant, base and xref kind.
struct Required {
    class: &'static str,
    /// Empty when the class has a single form.
    variants: &'static [&'static str],
    bases: &'static [&'static str],
    xrefs: &'static [&'static str],
}

/// What the corpus must hold, checked against the script's output so that no case can
/// silently drop out.
const REQUIRED: &[Required] = &[
    Required {
        class: "new_root",
        variants: &[],
        bases: ALL_BASES,
        xrefs: TABLE_AND_STREAM,
    },
    Required {
        class: "hide_and_replace",
        variants: &[],
        bases: ALL_BASES,
        xrefs: &["table", "stream", "empty"],
    },
    Required {
        class: "dss_shadow",
        variants: &[
            "page-certs",
            "page-vri",
            "content-certs",
            "content-vri",
            "ocproperties-certs",
            "ocproperties-vri",
            "annotation-certs",
            "annotation-vri",
        ],
        bases: ALL_BASES,
        xrefs: TABLE_AND_STREAM,
    },
    Required {
        class: "metadata_shadow",
        variants: &[],
        bases: ALL_BASES,
        xrefs: TABLE_AND_STREAM,
    },
    Required {
        class: "info_shadow",
        variants: &[],
        bases: ALL_BASES,
        xrefs: TABLE_AND_STREAM,
    },
    Required {
        class: "dangling_reference",
        variants: &[],
        bases: ALL_BASES,
        xrefs: TABLE_AND_STREAM,
    },
    Required {
        class: "font_remap",
        variants: &[],
        bases: ALL_BASES,
        xrefs: TABLE_AND_STREAM,
    },
    Required {
        class: "widget_overlay",
        variants: &[],
        bases: &["approval", "p2", "p3"],
        xrefs: TABLE_AND_STREAM,
    },
    Required {
        class: "acroform_removed",
        variants: &[],
        bases: ALL_BASES,
        xrefs: TABLE_AND_STREAM,
    },
    Required {
        class: "dss_update",
        variants: &[],
        bases: ALL_BASES,
        xrefs: TABLE_AND_STREAM,
    },
    Required {
        class: "doc_timestamp",
        variants: &[],
        bases: &["p1"],
        xrefs: TABLE_AND_STREAM,
    },
    Required {
        class: "field_filled",
        variants: &[],
        bases: &["approval", "p2"],
        xrefs: TABLE_AND_STREAM,
    },
    Required {
        class: "second_signature",
        variants: &[],
        bases: &["approval", "p2", "p3"],
        xrefs: TABLE_AND_STREAM,
    },
    Required {
        class: "annotation_added",
        variants: &[],
        bases: &["p3"],
        xrefs: TABLE_AND_STREAM,
    },
    Required {
        class: "xmp_updated",
        variants: &[],
        bases: &["approval"],
        xrefs: TABLE_AND_STREAM,
    },
    Required {
        class: "info_updated",
        variants: &[],
        bases: &["approval"],
        xrefs: TABLE_AND_STREAM,
    },
    Required {
        class: "identical_rewrite",
        variants: &[],
        bases: &["approval"],
        xrefs: TABLE_AND_STREAM,
    },
];

fn text<'a>(case: &'a Value, key: &str) -> &'a str {
    case[key].as_str().unwrap_or("")
}

/// Every required (class, variant, base, xref) is in the corpus; attacks expect a verdict
/// other than valid unless DocMDP permits them (a widget after P=3 is an annotation), and
/// legal counterparts expect valid.
fn check_corpus(cases: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut problems = Vec::new();
    let present: BTreeSet<(&str, &str, &str, &str)> = cases
        .values()
        .map(|c| {
            (
                text(c, "class"),
                text(c, "variant"),
                text(c, "base"),
                text(c, "xref"),
            )
        })
        .collect();
    for Required {
        class,
        variants,
        bases,
        xrefs,
    } in REQUIRED
    {
        let variants: &[&str] = if variants.is_empty() { &[""] } else { variants };
        for variant in variants {
            for base in *bases {
                for xref in *xrefs {
                    if !present.contains(&(*class, *variant, *base, *xref)) {
                        problems.push(format!("missing case {class} {variant} {base} {xref}"));
                    }
                }
            }
        }
    }
    for (name, c) in cases {
        let permitted = text(c, "class") == "widget_overlay" && text(c, "base") == "p3";
        let ok = match (text(c, "kind"), text(c, "expected")) {
            ("attack", "valid") => permitted,
            ("attack", "modified" | "invalid") => !permitted,
            ("legal", "valid") => true,
            _ => false,
        };
        if !ok {
            problems.push(format!(
                "{name}: a {} case must not expect {}",
                text(c, "kind"),
                text(c, "expected")
            ));
        }
    }
    problems
}

/// vanthu's verdict on one case ("none" without a JSON report), and what else is wrong with
/// its report: the exit status, the number of signatures listed, the revisions read.
fn vanthu_verdict(file: &Path, case: &Value) -> (String, Vec<String>) {
    let root = workspace().join("certs-dev/root-ca.pem");
    let out = Command::new(env!("CARGO_BIN_EXE_vanthu"))
        .arg("verify")
        .arg(file)
        .arg("--trust")
        .arg(&root)
        .args(["--offline", "--json"])
        .output()
        .expect("run vanthu verify");
    let report: Value = match serde_json::from_slice(&out.stdout) {
        Ok(report) => report,
        Err(e) => {
            let why = format!(
                "no JSON report ({e}), exit {:?}: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return ("none".into(), vec![why]);
        }
    };
    let verdict = report["verdict"].as_str().unwrap_or("?").to_string();
    let mut problems = Vec::new();
    if (out.status.code() == Some(0)) != (verdict == "valid") {
        problems.push(format!(
            "exit {:?} with verdict {verdict}",
            out.status.code()
        ));
    }
    problems.extend(shown_warnings(&report, case));
    let signatures = report["signatures"].as_array().map_or(0, Vec::len) as u64;
    if Some(signatures) != case["signatures"].as_u64() {
        problems.push(format!(
            "{signatures} signatures reported, the file has {}",
            case["signatures"]
        ));
    }
    // The appended revision was read, not skipped.
    if report["revisions"] != case["revisions"] {
        problems.push(format!(
            "{} revisions read, the file has {}",
            report["revisions"], case["revisions"]
        ));
    }
    (verdict, problems)
}

/// Legal classes whose change alters what the page shows (form filling, annotations): the
/// first signature stays valid but lists what now shows and both summaries warn of it.
const SHOWN_CLASSES: &[&str] = &["field_filled", "annotation_added", "widget_overlay"];
const WARNING_EN: &str = "Warning: the page now shows what the signer did not sign";
const WARNING_VI: &str = "Cảnh báo: trang hiện hiển thị nội dung mà người ký không ký";

/// For valid files: a warning exactly where the page shows something the signer did not sign.
fn shown_warnings(report: &Value, case: &Value) -> Vec<String> {
    if text(case, "expected") != "valid" {
        return Vec::new();
    }
    let first = &report["signatures"][0]["visible_changes"];
    let listed = first.as_array().map_or(0, Vec::len);
    let (en, vi) = (text(report, "summary_en"), text(report, "summary_vi"));
    let warned = en.contains(WARNING_EN) && vi.contains(WARNING_VI);
    let shows = SHOWN_CLASSES.contains(&text(case, "class"));
    match (shows, listed > 0, warned) {
        (true, true, true) | (false, false, false) => Vec::new(),
        (true, _, _) => vec![format!(
            "the page shows new content but the report does not say so: {first} / {en}"
        )],
        (false, _, _) => vec![format!(
            "nothing new shows, yet the report warns: {first} / {en}"
        )],
    }
}

#[test]
fn no_incremental_update_changes_what_a_signed_document_shows() {
    let Some(tools) = require(
        "no_incremental_update_changes_what_a_signed_document_shows",
        &[Tool::PyHanko],
    ) else {
        return;
    };
    let python = tools.python();
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new(python)
        .arg(workspace().join("tests/interop/attack_corpus.py"))
        .arg(workspace().join("certs-dev"))
        .arg(dir.path())
        .output()
        .expect("run the attack corpus script");
    assert!(
        made.status.success(),
        "attack corpus script failed: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let built = started.elapsed();
    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("expected.json")).unwrap()).unwrap();
    let cases = expected.as_object().expect("expected.json maps cases");

    let mut failures = check_corpus(cases);
    println!(
        "{:<46} {:<9} {:<9} {:<10}",
        "case", "expected", "vanthu", "pyHanko"
    );
    for (name, case) in cases {
        let file = dir.path().join(text(case, "file"));
        let want = text(case, "expected");
        let pyhanko = text(case, "pyhanko");
        let why = text(case, "why");
        let (got, problems) = vanthu_verdict(&file, case);
        let pass = got == want && problems.is_empty();
        let mark = if pass { "" } else { "  FAIL" };
        println!("{name:<46} {want:<9} {got:<9} {pyhanko:<10}{mark}");
        if got != want {
            failures.push(format!("{name}: vanthu says {got}, expected {want}"));
        }
        failures.extend(problems.into_iter().map(|p| format!("{name}: {p}")));
        if pyhanko != want && why.is_empty() {
            failures.push(format!(
                "{name}: pyHanko says {pyhanko}, expected {want}, and the corpus does not say why"
            ));
        }
        if pyhanko == want && !why.is_empty() {
            failures.push(format!(
                "{name}: pyHanko agrees ({pyhanko}) yet the corpus explains a difference"
            ));
        }
    }
    let differing: Vec<_> = cases
        .iter()
        .filter(|(_, c)| !text(c, "why").is_empty())
        .collect();
    if !differing.is_empty() {
        println!("\nwhere pyHanko differs:");
        for (name, c) in differing {
            println!(
                "  {name}: pyHanko {}: {}",
                text(c, "pyhanko"),
                text(c, "why")
            );
        }
    }
    println!(
        "\n{} cases: corpus built in {:.1?}, verified in {:.1?}",
        cases.len(),
        built,
        started.elapsed() - built
    );
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
