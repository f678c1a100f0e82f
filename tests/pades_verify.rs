//! `vanthu verify` against pyHanko: a corpus made by pyHanko itself
//! (tests/interop/verify_corpus.py: valid B-B and B-T, serial signatures, a certification
//! followed by an approval signature, a form field filled after a P=2 and after a P=1
//! certification and under a FieldMDP lock, B-LT, B-LTA, a DSS whose CRL leaves the signer
//! good and one whose CRL revokes the signer, a byte changed in the signed range, page
//! content replaced after signing, a note added after signing, a visible signature field added
//! to a certified document, a self-signed signer, an expired signer certificate, a
//! time-stamp from an untrusted authority, an unsigned file, a truncated file, a non-PDF) is
//! verified by our binary, and each verdict must match the one pyHanko gives for the same file.
//! So must each signature's revocation status (pyHanko, hard-fail, from the file alone), its
//! PAdES level (established with pyHanko's DSS-only validation) and its ETSI indication
//! (pyHanko's AdES validation); the same holds for files vanthu signs.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::tools::{require, workspace, Tool};
use serde_json::Value;

fn verify(file: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vanthu"))
        .arg("verify")
        .arg(file)
        .args(extra)
        .output()
        .expect("run vanthu verify")
}

fn verify_json(file: &Path, extra: &[&str]) -> (i32, Value) {
    let out = verify(file, &[&["--json"], extra].concat());
    let code = out.status.code().expect("exit code");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: not JSON ({e}); stdout {} stderr {}",
            file.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, json)
}

/// Our verdict on `file` matches pyHanko's (`want`, from verify_corpus.py): same verdict and
/// exit status, same signatures in the same order with the same integrity, trust,
/// modification level, revocation status, PAdES level and ETSI indication, and an indication
/// consistent with the status.
fn assert_agrees(name: &str, file: &Path, want: &Value, extra: &[&str]) {
    let verdict = want["verdict"].as_str().unwrap();
    if verdict == "unreadable" {
        let out = verify(file, &[extra, &["--json"]].concat());
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name}: unreadable input must exit 2"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{name}: one line on stderr, got {stderr}"
        );
        assert!(
            stderr.contains("cannot be read as a PDF"),
            "{name}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{name}: nothing on stdout");
        return;
    }
    let (code, got) = verify_json(file, extra);
    assert_eq!(
        got["verdict"], verdict,
        "{name}: pyHanko says {verdict}, we say {}",
        got["verdict"]
    );
    assert_eq!(
        code,
        if verdict == "valid" { 0 } else { 1 },
        "{name}: exit code"
    );
    let ours = got["signatures"].as_array().unwrap();
    let theirs = want["signatures"].as_array().unwrap();
    assert_eq!(ours.len(), theirs.len(), "{name}: number of signatures");
    for (o, t) in ours.iter().zip(theirs) {
        assert_eq!(o["field"], t["field"], "{name}: field order");
        assert_eq!(o["intact"], t["intact"], "{name} {}: intact", o["field"]);
        if t["intact"] == true {
            assert_eq!(o["trusted"], t["trusted"], "{name} {}: trusted", o["field"]);
            // pyHanko's default policy has no rule for annotations and calls them OTHER; we name
            // them ANNOTATIONS and, without a P=3 certification, count them against the
            // signature just the same.
            if t["modification"] == "OTHER" && o["modification"] == "ANNOTATIONS" {
                assert_eq!(
                    o["docmdp_ok"], false,
                    "{name} {}: annotations allowed",
                    o["field"]
                );
            } else {
                assert_eq!(
                    o["modification"], t["modification"],
                    "{name} {}: modification level",
                    o["field"]
                );
            }
        }
        let what = format!("{name} {}", o["field"]);
        // Revocation from the file alone: pyHanko's hard-fail judgement (intact signatures).
        if !t["revocation"].is_null() {
            assert_eq!(o["revocation"], t["revocation"], "{what}: revocation");
        }
        // The PAdES level pyHanko's DSS-only, hard-fail validation establishes.
        assert_eq!(o["level"], t["level"], "{what}: PAdES level");
        if !t["indication"].is_null() {
            assert_etsi_agrees(&what, o, t);
        }
        let passed = o["indication"] == "TOTAL-PASSED";
        assert_eq!(
            passed,
            o["status"] == "valid",
            "{name}: indication {} vs status {}",
            o["indication"],
            o["status"]
        );
        assert_eq!(
            o["sub_indication"].is_null(),
            passed,
            "{name}: sub-indication only when not passed"
        );
    }
}

/// Our ETSI indication is pyHanko's for the same signature. pyHanko's AdES validation judges
/// the CMS signature only; a document changed beyond what the signature allows (pyHanko's
/// diff analysis: docmdp_ok false) is INDETERMINATE / SIG_CONSTRAINTS_FAILURE on top of it.
/// pyHanko names every path that fails validation CHAIN_CONSTRAINTS_FAILURE (its
/// InvalidCertificateError), a self-signed signer and an untrusted time-stamp authority
/// included; vanthu has no such sub-indication and tells NO_CERTIFICATE_CHAIN_FOUND from
/// CERTIFICATE_CHAIN_GENERAL_FAILURE, either of which stands for pyHanko's.
fn assert_etsi_agrees(what: &str, ours: &Value, theirs: &Value) {
    let changed = theirs["docmdp_ok"] == false && theirs["indication"] == "TOTAL-PASSED";
    let (indication, sub_indications) = if changed {
        ("INDETERMINATE", vec!["SIG_CONSTRAINTS_FAILURE"])
    } else {
        let indication = theirs["indication"].as_str().unwrap();
        match theirs["sub_indication"].as_str() {
            None => (indication, vec![]),
            Some("CHAIN_CONSTRAINTS_FAILURE") => (
                indication,
                vec![
                    "NO_CERTIFICATE_CHAIN_FOUND",
                    "CERTIFICATE_CHAIN_GENERAL_FAILURE",
                ],
            ),
            Some(sub) => (indication, vec![sub]),
        }
    };
    assert_eq!(ours["indication"], indication, "{what}: pyHanko {theirs}");
    match ours["sub_indication"].as_str() {
        None => assert!(sub_indications.is_empty(), "{what}: pyHanko {theirs}"),
        Some(sub) => assert!(
            sub_indications.contains(&sub),
            "{what}: ours {sub}, pyHanko {theirs}"
        ),
    }
}

#[test]
fn verdicts_agree_with_pyhanko_on_its_own_corpus() {
    let Some(tools) = require(
        "verdicts_agree_with_pyhanko_on_its_own_corpus",
        &[Tool::PyHanko],
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let certs = workspace().join("certs-dev");
    let made = Command::new(tools.python())
        .arg(workspace().join("tests/interop/verify_corpus.py"))
        .arg(&certs)
        .arg(dir.path())
        .output()
        .expect("run the corpus script");
    assert!(
        made.status.success(),
        "corpus script failed: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("expected.json")).unwrap()).unwrap();
    let root = certs.join("root-ca.pem");
    let trust = ["--trust", root.to_str().unwrap(), "--offline"];

    let cases = expected.as_object().unwrap();
    assert_eq!(cases.len(), 21, "the corpus has twenty-one cases");
    for (name, want) in cases {
        let file = dir.path().join(want["file"].as_str().unwrap());
        assert_agrees(name, &file, want, &trust);
    }

    // Facts beyond the verdict.
    let (_, bb) = verify_json(&dir.path().join("valid_bb.pdf"), &trust);
    let sig = &bb["signatures"][0];
    assert_eq!(sig["signer"], "Nguyễn Văn An");
    assert_eq!(sig["level"], "B-B");
    assert_eq!(sig["coverage"], "ENTIRE_FILE");
    assert!(sig["timestamp_time"].is_null());
    assert!(sig["signing_time"].as_str().is_some(), "/M is reported");

    let (_, bt) = verify_json(&dir.path().join("valid_bt.pdf"), &trust);
    let sig = &bt["signatures"][0];
    assert_eq!(sig["signer"], "Trần Thị Bình");
    assert_eq!(sig["level"], "B-T");
    assert!(
        sig["timestamp_time"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{sig}"
    );

    let (_, serial) = verify_json(&dir.path().join("serial.pdf"), &trust);
    assert_eq!(serial["signatures"][0]["coverage"], "ENTIRE_REVISION");
    assert_eq!(serial["signatures"][1]["signer"], "UBND huyện Demo");

    let (_, certified) = verify_json(&dir.path().join("certified_serial.pdf"), &trust);
    assert_eq!(certified["docmdp_permission"], 2);
    assert_eq!(certified["signatures"][0]["kind"], "certification");
    assert_eq!(certified["signatures"][0]["docmdp_ok"], true);

    let (_, filled) = verify_json(&dir.path().join("certified_form_filled.pdf"), &trust);
    assert_eq!(filled["signatures"][0]["modification"], "FORM_FILLING");
    let (_, locked) = verify_json(&dir.path().join("locked_form_filled.pdf"), &trust);
    assert_eq!(locked["docmdp_permission"], 1);
    assert_eq!(locked["signatures"][0]["docmdp_ok"], false);
    assert_eq!(
        locked["signatures"][0]["sub_indication"],
        "SIG_CONSTRAINTS_FAILURE"
    );

    let (_, lta) = verify_json(&dir.path().join("lta.pdf"), &trust);
    assert_eq!(lta["signatures"][0]["level"], "B-LTA", "{lta}");
    assert_eq!(lta["signatures"][0]["revocation"], "good");
    assert_eq!(lta["signatures"][1]["kind"], "document_timestamp");
    assert!(lta["signatures"][1]["timestamp_time"].is_string());
    assert!(lta["dss"]["crls"].as_u64().unwrap() >= 2);

    // A self-signed time-stamp authority: no chain to an anchor, and its time is not the
    // signature's time.
    let (_, rogue) = verify_json(&dir.path().join("untrusted_tsa.pdf"), &trust);
    let sig = &rogue["signatures"][0];
    assert_eq!(sig["status"], "untrusted", "{sig}");
    assert_eq!(sig["sub_indication"], "NO_CERTIFICATE_CHAIN_FOUND", "{sig}");
    assert!(sig["timestamp_time"].is_null(), "{sig}");

    let (_, changed) = verify_json(&dir.path().join("byte_changed.pdf"), &trust);
    assert_eq!(changed["signatures"][0]["indication"], "TOTAL-FAILED");
    assert_eq!(changed["signatures"][0]["sub_indication"], "HASH_FAILURE");

    let (_, replaced) = verify_json(&dir.path().join("content_replaced.pdf"), &trust);
    assert_eq!(replaced["signatures"][0]["modification"], "OTHER");
    assert_eq!(replaced["signatures"][0]["coverage"], "ENTIRE_REVISION");

    let (_, expired) = verify_json(&dir.path().join("expired_signer.pdf"), &trust);
    assert_eq!(
        expired["signatures"][0]["sub_indication"],
        "OUT_OF_BOUNDS_NO_POE"
    );

    let (_, selfsigned) = verify_json(&dir.path().join("self_signed.pdf"), &trust);
    assert_eq!(
        selfsigned["signatures"][0]["sub_indication"],
        "NO_CERTIFICATE_CHAIN_FOUND"
    );

    // Without anchors nothing is trusted; --dev trusts the development root.
    let (code, none) = verify_json(&dir.path().join("valid_bb.pdf"), &["--offline"]);
    assert_eq!((code, none["verdict"].as_str()), (1, Some("untrusted")));
    let (code, dev) = verify_json(&dir.path().join("valid_bb.pdf"), &["--offline", "--dev"]);
    assert_eq!((code, dev["verdict"].as_str()), (0, Some("valid")));

    // The text summary speaks Vietnamese and English.
    let out = verify(&dir.path().join("serial.pdf"), &trust);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Kết luận: hợp lệ") && text.contains("Verdict: valid"),
        "{text}"
    );
    assert!(text.contains("Nguyễn Văn An"), "{text}");
}

#[test]
fn missing_file_and_directory_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for path in [dir.path().join("nope.pdf"), dir.path().to_path_buf()] {
        let out = verify(&path, &["--offline"]);
        assert_eq!(out.status.code(), Some(2), "{}", path.display());
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim().lines().count(),
            1
        );
    }
}

#[test]
fn several_files_get_one_report_each_in_the_order_given() {
    let fixtures = workspace().join("crates/pades/tests/fixtures");
    let signed = fixtures.join("pyhanko-b-b.pdf");
    let certified = fixtures.join("certified-p2-xref-stream.pdf");
    let dir = tempfile::tempdir().unwrap();
    let unsigned = dir.path().join("unsigned.pdf");
    // The signed file's first revision: a PDF with no signature at all.
    let bytes = std::fs::read(&signed).unwrap();
    let first_eof = bytes.windows(5).position(|w| w == b"%%EOF").unwrap() + 5;
    std::fs::write(&unsigned, &bytes[..first_eof]).unwrap();
    let garbage = dir.path().join("note.pdf");
    std::fs::write(&garbage, b"not a PDF").unwrap();
    let root = workspace().join("certs-dev/root-ca.pem");
    let run = |files: &[&Path], extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_vanthu"))
            .arg("verify")
            .args(files)
            .args(["--offline", "--trust"])
            .arg(&root)
            .args(extra)
            .output()
            .expect("run vanthu verify")
    };

    // One JSON line per file in the order given, whatever order the threads finish in; the
    // unreadable file gets an error line there and one line on stderr; the worst outcome
    // decides the exit status.
    let files = [&signed, &unsigned, &garbage, &certified].map(PathBuf::as_path);
    let out = run(&files, &["--json-lines", "--jobs", "3"]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let named: Vec<&str> = lines.iter().map(|l| l["file"].as_str().unwrap()).collect();
    let given: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    assert_eq!(named, given);
    let verdicts: Vec<&str> = lines
        .iter()
        .map(|l| l["report"]["verdict"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(verdicts, ["valid", "unsigned", "-", "valid"]);
    assert!(
        lines[2]["error"]
            .as_str()
            .unwrap()
            .contains("cannot be read as a PDF"),
        "{}",
        lines[2]
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("note.pdf"), "{stderr}");

    // Without the unreadable file the unsigned one makes it 1; valid files alone, 0.
    assert_eq!(run(&[&signed, &unsigned], &[]).status.code(), Some(1));
    let out = run(&[&signed, &certified], &[]);
    assert_eq!(out.status.code(), Some(0));
    // Text summaries headed by each file's name, in order.
    let text = String::from_utf8(out.stdout).unwrap();
    let (a, b) = (
        text.find(&format!("{}:\n", signed.display())).unwrap(),
        text.find(&format!("{}:\n", certified.display())).unwrap(),
    );
    assert!(a < b, "{text}");
    assert_eq!(text.matches("Verdict: valid").count(), 2, "{text}");

    // --json is one document: several files ask for --json-lines.
    let out = run(&[&signed, &certified], &["--json"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--json-lines"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// A `vanthu tsa` on a free local port, stopped when dropped.
struct LocalTsa {
    child: std::process::Child,
    url: String,
}

impl LocalTsa {
    fn start() -> LocalTsa {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_vanthu"))
            .args(["tsa", "--listen", &addr])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start vanthu tsa");
        for _ in 0..100 {
            if std::net::TcpStream::connect(&addr).is_ok() {
                return LocalTsa {
                    child,
                    url: format!("http://{addr}/"),
                };
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("vanthu tsa did not listen on {addr}");
    }
}

impl Drop for LocalTsa {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn verdicts_agree_with_pyhanko_on_files_vanthu_signs() {
    let Some(tools) = require(
        "verdicts_agree_with_pyhanko_on_files_vanthu_signs",
        &[Tool::PyHanko],
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let certs = workspace().join("certs-dev");
    let c = |name: &str| certs.join(name).to_str().unwrap().to_string();
    let made = Command::new(tools.python())
        .arg(workspace().join("tests/interop/verify_corpus.py"))
        .arg(&certs)
        .arg(dir.path())
        .output()
        .expect("run the corpus script");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let unsigned = dir.path().join("unsigned.pdf");
    let tsa = LocalTsa::start();
    let sign = |input: &Path, output: &str, args: &[&str]| -> PathBuf {
        let out_path = dir.path().join(output);
        let out = Command::new(env!("CARGO_BIN_EXE_vanthu"))
            .arg("sign")
            .arg(input)
            .arg("-o")
            .arg(&out_path)
            .args(["--tsa", &tsa.url, "--revocation", &c("")])
            .args(args)
            .env("P12_PASSWORD", "vanthu-dev")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sign {output}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out_path
    };
    let p12 = |name: &str| {
        [
            "--p12".to_string(),
            c(name),
            "--p12-password-env".into(),
            "P12_PASSWORD".into(),
        ]
    };
    let rsa = p12("signer-rsa.p12");
    let ec384 = p12("signer-ec384.p12");
    let seal = p12("seal.p12");
    let args = |key: &[String], more: &[&str]| -> Vec<String> {
        key.iter()
            .cloned()
            .chain(more.iter().map(|s| s.to_string()))
            .collect()
    };
    let run = |input: &Path, output: &str, a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        sign(input, output, &refs)
    };
    let bb = run(&unsigned, "v_bb.pdf", args(&rsa, &["--level", "B-B"]));
    let bt = run(&unsigned, "v_bt.pdf", args(&ec384, &["--level", "B-T"]));
    let certified = run(
        &unsigned,
        "v_cert.pdf",
        args(&rsa, &["--level", "B-T", "--certify", "--field", "LanhDao"]),
    );
    let serial = run(
        &certified,
        "v_serial_lta.pdf",
        args(&seal, &["--level", "B-LTA", "--field", "ConDau"]),
    );
    let files = [bb, bt, serial];

    let judged = Command::new(tools.python())
        .arg(workspace().join("tests/interop/verify_corpus.py"))
        .arg("--judge")
        .arg(&certs)
        .args(&files)
        .output()
        .unwrap();
    assert!(
        judged.status.success(),
        "{}",
        String::from_utf8_lossy(&judged.stderr)
    );
    let expected: Value = serde_json::from_slice(&judged.stdout).unwrap();
    let root = certs.join("root-ca.pem");
    let trust = ["--trust", root.to_str().unwrap(), "--offline"];
    for file in &files {
        let want = &expected[file.to_str().unwrap()];
        assert_eq!(
            want["verdict"],
            "valid",
            "pyHanko on {}: {want}",
            file.display()
        );
        assert_agrees(&file.display().to_string(), file, want, &trust);
    }
    let (_, lta) = verify_json(&files[2], &trust);
    let levels: Vec<&str> = lta["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["level"].as_str())
        .collect();
    assert_eq!(levels, ["B-LTA", "B-LTA"], "{lta}");
}
