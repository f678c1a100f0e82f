//! Crash safety of the blob store through the real server: a SIGKILL in the middle of an
//! upload leaves no partial file under a final name, and `vanthu check` tells a consistent
//! store (exit 0) from a damaged one (exit 1).

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{files_under, status_json, TestEnv};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Digest named by a blob's final path `<blobs>/sha256/ab/cdef...`.
fn digest_of_path(path: &Path) -> String {
    let shard = path
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy();
    format!("{shard}{}", path.file_name().unwrap().to_string_lossy())
}

/// Every blob under a final name holds exactly the content its name promises.
fn assert_final_names_are_whole(blob_dir: &Path) -> Vec<PathBuf> {
    let finals = files_under(&blob_dir.join("sha256"));
    for path in &finals {
        let content = std::fs::read(path).unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(&content)),
            digest_of_path(path),
            "{} holds content that does not match its name ({} bytes)",
            path.display(),
            content.len()
        );
    }
    finals
}

fn check(env: &TestEnv, json: bool) -> (Option<i32>, String) {
    let args: &[&str] = if json {
        &["check", "--json"]
    } else {
        &["check"]
    };
    let out = env.run(args);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.trim().is_empty() || out.status.code() != Some(2),
        "{stderr}"
    );
    (out.status.code(), stdout)
}

#[test]
fn check_exits_cleanly_every_time() {
    // A short-lived command once exited while the connection pool was still opening a
    // connection in the background, and crashed in libpq/OpenSSL's exit handlers about one
    // run in three on PostgreSQL.
    let env = TestEnv::new();
    drop(env.serve_demo(&[]));
    for run in 0..20 {
        let (code, report) = check(&env, false);
        assert_eq!(code, Some(0), "run {run}: {report}");
    }
}

#[test]
fn check_refuses_a_data_directory_without_a_database() {
    let env = TestEnv::new();
    // Without DATABASE_URL the database is the SQLite file in the data directory, whatever
    // backend the other tests use: the mistake caught here is a mistyped --data.
    let out = env
        .command()
        .env_remove("DATABASE_URL")
        .args(["check", "--data", "no-such-dir"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no database at"), "{stderr}");
    assert!(
        !env.dir.path().join("no-such-dir").exists(),
        "check must not create anything"
    );
}

#[test]
fn sigkill_during_an_upload_leaves_no_partial_blob_and_check_sees_damage() {
    let env = TestEnv::new();
    let server = env.serve_demo(&["--max-upload", "1000000000"]);
    let token = server.demo_login("district.clerk");
    // The demo's incoming documents are in the store already.
    let seeded = files_under(&env.blob_dir().join("sha256")).len();

    // One complete file more, so the store has something of this test's in it.
    let letter = format!(
        "%PDF-1.7\n{}",
        "Công văn số 123/UBND-VP về việc triển khai chữ ký số\n".repeat(2000)
    );
    let r = server
        .request(reqwest::Method::POST, "/api/v1/files", &token)
        .header("Content-Type", "application/pdf")
        .body(letter.clone())
        .send()
        .unwrap();
    let (status, stored) = status_json(r);
    assert_eq!(status, 201, "{stored}");
    let letter_sha = stored["sha256"].as_str().unwrap().to_owned();
    assert_eq!(letter_sha, hex::encode(Sha256::digest(letter.as_bytes())));

    // A large upload sent slowly over a raw connection, so the server is mid-write when it dies.
    let address = server.base_url.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).unwrap();
    let declared: usize = 64 * 1024 * 1024;
    write!(
        stream,
        "POST /api/v1/files HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/pdf\r\nContent-Length: {declared}\r\n\r\n"
    )
    .unwrap();
    // A PDF header first, so the upload is accepted and written until the server dies.
    let mut chunk: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
    chunk[..9].copy_from_slice(b"%PDF-1.7\n");
    let tmp_dir = env.blob_dir().join("tmp");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut sent = 0;
    loop {
        stream.write_all(&chunk).unwrap();
        sent += chunk.len();
        let partial: u64 = files_under(&tmp_dir)
            .iter()
            .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .sum();
        if partial >= 2 * 1024 * 1024 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server never started writing ({sent} bytes sent)"
        );
        assert!(
            sent < declared,
            "the whole body went out before the write was seen"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill();
    drop(stream);

    // The unfinished write is only in the temporary folder; final names are all whole.
    assert!(
        !files_under(&tmp_dir).is_empty(),
        "the crash should leave an unfinished write"
    );
    let finals = assert_final_names_are_whole(&env.blob_dir());
    assert_eq!(finals.len(), seeded + 1, "{finals:?}");

    let (code, report) = check(&env, false);
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains("result: consistent"), "{report}");
    assert!(report.contains("unfinished writes"), "{report}");

    // A restart clears the leftovers and the stored file is intact.
    let server = env.serve_demo(&[]);
    assert!(
        files_under(&tmp_dir).is_empty(),
        "leftovers were not cleaned at start"
    );
    let token = server.demo_login("district.clerk");
    let r = server.get(&format!("/api/v1/files/{letter_sha}"), &token);
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().unwrap(), letter);
    drop(server);
    let (code, report) = check(&env, true);
    assert_eq!(code, Some(0), "{report}");
    let report: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["consistent"], true);
    assert_eq!(report["files_in_database"], seeded + 1);
    assert_eq!(report["temp_files"], serde_json::json!([]));

    // Damage the stored blob: check reports it and fails.
    let path = finals
        .iter()
        .find(|p| digest_of_path(p) == letter_sha)
        .expect("the letter is stored under its digest");
    let mut content = std::fs::read(path).unwrap();
    content[10] ^= 0xff;
    std::fs::write(path, &content).unwrap();
    let (code, report) = check(&env, false);
    assert_eq!(code, Some(1), "{report}");
    assert!(report.contains(&letter_sha), "{report}");
    assert!(report.contains("INCONSISTENT"), "{report}");
    let (code, report) = check(&env, true);
    assert_eq!(code, Some(1));
    let report: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["corrupt_blobs"], serde_json::json!([letter_sha]));

    // A lost blob is reported as missing.
    std::fs::remove_file(path).unwrap();
    let (code, report) = check(&env, true);
    assert_eq!(code, Some(1));
    let report: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["missing_blobs"], serde_json::json!([letter_sha]));
}
