//! `vanthu edxml check`: one line per finding, exit 0 for a valid package, 1 for a refused
//! one (unsigned, changed, from an unknown agency, malformed, a bomb), 2 for a file that
//! cannot be read.

mod common;

#[path = "../crates/interchange/tests/common/mod.rs"]
mod packages;

use std::path::Path;

use common::TestEnv;
use vanthu_interchange::sign;

fn check(env: &TestEnv, file: &Path, trust: bool) -> (i32, String) {
    let root = packages::workspace().join("certs-dev/root-ca.pem");
    let mut args = vec![
        "edxml".to_owned(),
        "check".into(),
        file.display().to_string(),
    ];
    if trust {
        args.extend(["--trust".into(), root.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = env.run(&args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn check_reports_each_finding_and_exits_by_the_verdict() {
    let env = TestEnv::new();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, xml: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, xml).unwrap();
        path
    };
    let signed = sign(&packages::package().to_xml().unwrap(), &packages::seal()).unwrap();

    let (code, out) = check(&env, &write("good.edxml", &signed), true);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("document: 000.00.31.H56,2026/12/02,123/UBND-VP"),
        "{out}"
    );
    assert!(
        lines[1].starts_with("signature: valid (RSA-SHA256, digest SHA-256), signed by"),
        "{out}"
    );
    assert_eq!(lines.len(), 2, "{out}");

    let (code, out) = check(&env, &write("good.edxml", &signed), false);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("not checked against trust anchors"), "{out}");

    let messy = format!("junk{}", signed.replace(">2026/12/15<", ">15/12/2026<"));
    let (code, out) = check(&env, &write("messy.edxml", &messy), true);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("tolerated: package: 4 stray bytes before the XML declaration"),
        "{out}"
    );
    assert!(
        out.contains("tolerated: MessageHeader/DueDate: date written DD/MM/YYYY"),
        "{out}"
    );
    assert!(out.contains("refused: signature broken (RSA-SHA256, digest SHA-256): the package was changed after it was signed"), "{out}");

    let unsigned = packages::package().to_xml().unwrap();
    let (code, out) = check(&env, &write("unsigned.edxml", &unsigned), true);
    assert_eq!(
        (code, out.lines().last()),
        (1, Some("refused: the package carries no signature"))
    );

    let bomb = signed.replacen(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        "<?xml version=\"1.0\"?><!DOCTYPE edXML [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>",
        1,
    );
    let (code, out) = check(&env, &write("bomb.edxml", &bomb), true);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("refused: the package declares a document type"),
        "{out}"
    );

    let (code, out) = check(
        &env,
        &write("wrong.edxml", "<edXML xmlns=\"urn:x\"/>"),
        true,
    );
    assert_eq!(code, 1);
    assert_eq!(out.trim(), "refused: edXML is in namespace 'urn:x'; edXML elements belong to http://www.mic.gov.vn/TBT/QCVN_102_2016");

    let small = env.run(&[
        "edxml",
        "check",
        &write("big.edxml", &signed).display().to_string(),
        "--max-attachment-bytes",
        "10",
    ]);
    assert_eq!(small.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&small.stdout)
        .contains("refused: attachment '123-UBND-VP.pdf' is about"));

    let (code, out) = check(&env, &dir.path().join("absent.edxml"), true);
    assert_eq!(code, 2, "{out}");
    assert!(out.starts_with("vanthu: cannot read"), "{out}");
}
