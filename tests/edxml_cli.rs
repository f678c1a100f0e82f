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

fn import(env: &TestEnv, file: &Path, clerk: &str) -> (i32, String) {
    let out = env.run(&[
        "edxml",
        "import",
        &file.display().to_string(),
        "--clerk",
        clerk,
        "--dev",
    ]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn import_receives_a_package_once_and_a_refusal_writes_nothing() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let dir = tempfile::tempdir().unwrap();
    let mut package = packages::package();
    // Addressed to a province department elsewhere and to the demo district here.
    package.header.to[1] =
        vanthu_interchange::Organ::new(packages::code("000.00.31.H56"), "UBND huyện Yên Lạc");
    package.header.from.id = packages::code("000.00.12.H56");
    package.header.document_id =
        vanthu_routing::DocumentIdentifier::parse("000.00.12.H56,2026/12/02,123/UBND-VP").unwrap();
    package.attachments[0].data = common::sealed_pdf(&env, dir.path());
    package.attachments.push(vanthu_interchange::Attachment {
        content_id: "annex".into(),
        name: "phu-luc.docx".into(),
        content_type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            .into(),
        description: None,
        data: b"PK\x03\x04 annex".to_vec(),
    });
    let signed = sign(&package.to_xml().unwrap(), &packages::seal()).unwrap();
    let good = dir.path().join("good.edxml");
    std::fs::write(&good, &signed).unwrap();

    let clerk = server.demo_login("district.clerk");
    let copies = || -> Vec<serde_json::Value> {
        let (status, page) =
            common::status_json(server.get("/api/v1/incoming?per_page=200", &clerk));
        assert_eq!(status, 200, "{page}");
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["number_notation"] == "123/UBND-VP")
            .cloned()
            .collect()
    };
    let blobs_before = common::files_under(&env.blob_dir()).len();

    // Refusals first: nothing is written for any of them.
    let write = |name: &str, xml: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, xml).unwrap();
        path
    };
    let tampered = write("tampered.edxml", &signed.replacen("Về việc", "Về viêc", 1));
    let (code, out) = import(&env, &tampered, "district.clerk");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("refused: signature broken"), "{out}");
    let unsigned = write("unsigned.edxml", &package.to_xml().unwrap());
    let (code, out) = import(&env, &unsigned, "district.clerk");
    assert_eq!(
        (code, out.trim()),
        (1, "refused: the package carries no signature")
    );
    let mut elsewhere = package.clone();
    elsewhere.header.to.truncate(1);
    let elsewhere = write(
        "elsewhere.edxml",
        &sign(&elsewhere.to_xml().unwrap(), &packages::seal()).unwrap(),
    );
    let (code, out) = import(&env, &elsewhere, "district.clerk");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("addressed to 000.00.12.H56, none of them a unit of this installation"),
        "{out}"
    );
    let (code, out) = import(&env, &good, "commune.clerk");
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("may not receive documents for Ủy ban nhân dân huyện Yên Lạc"),
        "{out}"
    );
    assert_eq!(copies().len(), 0);
    assert_eq!(common::files_under(&env.blob_dir()).len(), blobs_before);

    // Received once, however often it is delivered.
    let (code, out) = import(&env, &good, "district.clerk");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("not kept: attachment 'phu-luc.docx'"), "{out}");
    let last = out.lines().last().unwrap();
    assert!(last.starts_with("imported: incoming document "), "{out}");
    assert!(
        last.ends_with("000.00.12.H56,2026/12/02,123/UBND-VP, PDF verification valid"),
        "{out}"
    );
    let (code, again) = import(&env, &good, "district.clerk");
    assert_eq!(code, 0, "{again}");
    let id = last.split_whitespace().nth(3).unwrap();
    assert!(
        again.contains(&format!("already imported: incoming document {id} ")),
        "{again}"
    );
    let stored = copies();
    assert_eq!(stored.len(), 1, "{stored:?}");
    let doc = &stored[0];
    assert_eq!(doc["id"].to_string(), id);
    assert_eq!(doc["state"], "received");
    assert_eq!(doc["verification"], "valid");
    assert_eq!(doc["urgency"], "thuong_khan");
    assert_eq!(doc["issuing_body"], "UBND huyện Yên Lạc");
    assert_eq!(doc["due_date"], "2026-12-15");
}

#[test]
fn an_inbox_folder_is_drained_each_package_received_once() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let dir = tempfile::tempdir().unwrap();
    let mut package = packages::package();
    package.header.to = vec![vanthu_interchange::Organ::new(
        packages::code("000.00.31.H56"),
        "UBND huyện Yên Lạc",
    )];
    package.attachments[0].data = common::sealed_pdf(&env, dir.path());
    let signed = sign(&package.to_xml().unwrap(), &packages::seal()).unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    // The connector delivered the same package twice, one changed on the way, and a note.
    std::fs::write(inbox.join("a.edxml"), &signed).unwrap();
    std::fs::write(inbox.join("b.edxml"), &signed).unwrap();
    std::fs::write(
        inbox.join("c.edxml"),
        signed.replacen("Về việc", "Về viêc", 1),
    )
    .unwrap();
    std::fs::write(inbox.join("notes.txt"), "not a package").unwrap();
    let drain = || {
        let out = env.run(&[
            "edxml",
            "import",
            "--inbox",
            &inbox.display().to_string(),
            "--clerk",
            "district.clerk",
            "--dev",
        ]);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, out) = drain();
    assert_eq!(code, 1, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("a.edxml: imported: incoming document "),
        "{out}"
    );
    assert!(
        lines[1].starts_with("b.edxml: already imported: incoming document "),
        "{out}"
    );
    assert!(
        lines[2].starts_with("c.edxml: refused: signature broken"),
        "{out}"
    );
    let names = |sub: &str| -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(inbox.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    };
    assert_eq!(names("done"), ["a.edxml", "b.edxml"]);
    assert_eq!(names("refused"), ["c.edxml", "c.edxml.reason"]);
    let reason = std::fs::read_to_string(inbox.join("refused/c.edxml.reason")).unwrap();
    assert!(reason.contains("changed after it was signed"), "{reason}");
    assert!(inbox.join("notes.txt").exists());
    // A package met again (as after a crash before it was moved) is the same document.
    std::fs::copy(inbox.join("done/a.edxml"), inbox.join("a.edxml")).unwrap();
    let (code, out) = drain();
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("a.edxml: already imported"), "{out}");
    let clerk = server.demo_login("district.clerk");
    let (_, page) = common::status_json(server.get("/api/v1/incoming?per_page=200", &clerk));
    let copies = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["number_notation"] == "123/UBND-VP")
        .count();
    assert_eq!(copies, 1, "{page}");
}
