//! Incoming documents (văn bản đến) through the real binary over HTTP, on SQLite or on
//! PostgreSQL (`VANTHU_TEST_DATABASE`): the walk from receipt to completion, 50 clerks
//! registering at once, duplicates and bad input answered with problem+json while the
//! database stays as it was, and received PDFs whose signatures are broken kept and flagged.
//! Test PDFs are signed with `vanthu sign` and the development PKI (certs-dev).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier, OnceLock};

use chrono::{TimeDelta, Utc};
use common::{
    expect_problem, expect_problem_saying, files_under, multipart, status_json, unit_by_code,
    Server, TestEnv,
};
use reqwest::blocking::Response;
use serde_json::{json, Value};

/// Uploads above this are refused; the test PDFs are far smaller.
const MAX_UPLOAD: u64 = 64 * 1024;
const DISTRICT: &str = "000.00.31.H56";
const DEPARTMENT: &str = "000.02.31.H56";
/// Text on the page; changing one of its bytes after signing breaks the signature.
const PAGE_TEXT: &[u8] = b"CONG VAN SO 123/UBND-VP";

/// The same one-page document unsigned, signed by the development signer, and signed with
/// one byte of its page changed afterwards.
struct Pdfs {
    unsigned: Vec<u8>,
    signed: Vec<u8>,
    broken: Vec<u8>,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn pdfs() -> &'static Pdfs {
    static PDFS: OnceLock<Pdfs> = OnceLock::new();
    PDFS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.pdf");
        std::fs::write(&input, common::one_page_pdf(PAGE_TEXT)).unwrap();
        let output = dir.path().join("signed.pdf");
        let signed = Command::new(env!("CARGO_BIN_EXE_vanthu"))
            .arg("sign")
            .arg(&input)
            .arg("-o")
            .arg(&output)
            .arg("--p12")
            .arg(workspace().join("certs-dev/signer-ec.p12"))
            .env("VANTHU_P12_PASSWORD", "vanthu-dev")
            .output()
            .expect("run vanthu sign");
        assert!(
            signed.status.success(),
            "vanthu sign: {}",
            String::from_utf8_lossy(&signed.stderr)
        );
        let signed = std::fs::read(&output).unwrap();
        let mut broken = signed.clone();
        let at = broken
            .windows(PAGE_TEXT.len())
            .position(|w| w == PAGE_TEXT)
            .expect("the page text is in the signed file");
        broken[at] = b'X';
        Pdfs {
            unsigned: std::fs::read(&input).unwrap(),
            signed,
            broken,
        }
    })
}

fn metadata(number_notation: &str, summary: &str) -> Value {
    json!({
        "issuing_body": "Ủy ban nhân dân tỉnh Vĩnh Phúc",
        "number_notation": number_notation,
        "document_date": "2026-11-30",
        "document_type": "Công văn",
        "summary": summary,
        "urgency": "khan",
        "due_date": "2027-01-20",
    })
}

fn send_form(server: &Server, token: &str, parts: &[(&str, &str, &[u8])]) -> Response {
    let (content_type, body) = multipart(parts);
    server
        .request(reqwest::Method::POST, "/api/v1/incoming", token)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .unwrap()
}

fn receive_raw(server: &Server, token: &str, metadata: &Value, pdf: &[u8]) -> Response {
    send_form(
        server,
        token,
        &[
            (
                "metadata",
                "application/json",
                metadata.to_string().as_bytes(),
            ),
            ("file", "application/pdf", pdf),
        ],
    )
}

/// Receives a document and returns its JSON; panics unless it is created.
fn receive(server: &Server, token: &str, metadata: &Value, pdf: &[u8]) -> Value {
    let (status, body) = status_json(receive_raw(server, token, metadata, pdf));
    assert_eq!(status, 201, "{body}");
    body
}

fn step(server: &Server, token: &str, id: i64, action: &str, body: &Value) -> (u16, Value) {
    status_json(server.post(&format!("/api/v1/incoming/{id}/{action}"), token, body))
}

/// A step the server must refuse with this status and problem code.
#[track_caller]
fn refused(
    server: &Server,
    token: &str,
    id: i64,
    action: &str,
    body: &Value,
    status: u16,
    code: &str,
) -> Value {
    expect_problem(
        server.post(&format!("/api/v1/incoming/{id}/{action}"), token, body),
        status,
        code,
    )
}

fn detail(server: &Server, token: &str, id: i64) -> Value {
    let (status, body) = status_json(server.get(&format!("/api/v1/incoming/{id}"), token));
    assert_eq!(status, 200, "{body}");
    body
}

fn list(server: &Server, token: &str, query: &str) -> Value {
    let (status, body) = status_json(server.get(&format!("/api/v1/incoming?{query}"), token));
    assert_eq!(status, 200, "{body}");
    body
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect()
}

/// Registers every document in `ids`, each from its own thread, all released at once by a
/// barrier so the requests really overlap; returns the answers in the order of `ids`.
fn register_at_once(server: &Server, token: &str, ids: &[i64]) -> Vec<(u16, Value)> {
    let barrier = Arc::new(Barrier::new(ids.len()));
    let handles: Vec<_> = ids
        .iter()
        .map(|id| {
            // The server handle is not shared across threads; its client and address are.
            let client = server.client.clone();
            let url = server.url(&format!("/api/v1/incoming/{id}/register"));
            let (barrier, token) = (barrier.clone(), token.to_owned());
            std::thread::spawn(move || {
                barrier.wait();
                status_json(
                    client
                        .post(url)
                        .bearer_auth(token)
                        .json(&json!({}))
                        .send()
                        .unwrap(),
                )
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// The highest arrival number the caller sees, 0 for none.
fn last_arrival_number(server: &Server, token: &str) -> u64 {
    list(server, token, "per_page=200")["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["arrival_number"].as_u64())
        .max()
        .unwrap_or(0)
}

fn deadline() -> String {
    (Utc::now() + TimeDelta::days(14))
        .format("%Y-%m-%d")
        .to_string()
}

fn user_id(server: &Server, token: &str) -> i64 {
    let (_, me) = status_json(server.get("/api/v1/me", token));
    me["user"]["id"].as_i64().unwrap()
}

fn start(env: &TestEnv) -> Server {
    env.serve_demo(&["--max-upload", &MAX_UPLOAD.to_string()])
}

#[test]
fn the_walk_from_receipt_to_completion() {
    let env = TestEnv::new();
    let server = start(&env);
    let clerk = server.demo_login("district.clerk");
    let leader = server.demo_login("district.leader");
    let specialist = server.demo_login("district.specialist");
    let admin = server.demo_login("district.admin");
    let specialist_id = user_id(&server, &specialist);
    let department = unit_by_code(&server, &admin, DEPARTMENT)["id"]
        .as_i64()
        .unwrap();
    let (status, created) = status_json(server.post(
        "/api/v1/users",
        &admin,
        &json!({ "username": "tckh.specialist", "display_name": "Nguyễn Thị Thu", "unit_id": department, "roles": ["specialist"], "password": "mat-khau-dai" }),
    ));
    assert_eq!(status, 201, "{created}");
    let department_specialist = server.login("tckh.specialist", "mat-khau-dai");

    let received = receive(
        &server,
        &clerk,
        &metadata(" 123/UBND-VP ", "Về việc triển khai đào tạo cán bộ"),
        &pdfs().signed,
    );
    let id = received["id"].as_i64().unwrap();
    assert_eq!(received["state"], "received");
    assert_eq!(received["interchange_status"], "01");
    assert_eq!(received["verification"], "valid", "{received}");
    assert_eq!(received["number_notation"], "123/UBND-VP");
    assert_eq!(
        (received["number"].as_str(), received["notation"].as_str()),
        (Some("123"), Some("UBND-VP"))
    );
    assert_eq!(
        (
            received["urgency"].as_str(),
            received["priority"].as_u64(),
            received["urgent"].as_bool()
        ),
        (Some("khan"), Some(1), Some(true))
    );
    assert!(received.get("arrival_number").is_none(), "{received}");
    assert_eq!(received["possible_duplicates"], json!([]));

    // The demo district has registered documents already: this one comes next.
    let next = last_arrival_number(&server, &clerk) + 1;
    let (status, registered) = step(&server, &clerk, id, "register", &json!({}));
    assert_eq!(status, 200, "{registered}");
    assert_eq!(
        (
            registered["state"].as_str(),
            registered["arrival_number"].as_u64()
        ),
        (Some("registered"), Some(next))
    );
    assert_eq!(registered["interchange_status"], "03");

    let assignment = json!({
        "lead": { "kind": "user", "id": specialist_id },
        "co_handlers": [{ "kind": "unit", "id": department }],
        "instruction": "Giao chuyên viên chủ trì, Phòng Tài chính phối hợp",
        "deadline": deadline(),
    });
    let (status, assigned) = step(&server, &leader, id, "assign", &assignment);
    assert_eq!(status, 200, "{assigned}");
    assert_eq!(assigned["state"], "assigned");
    assert_eq!(assigned["interchange_status"], "04");
    assert_eq!(
        assigned["assignment"]["lead"],
        json!({ "kind": "user", "id": specialist_id })
    );
    assert_eq!(assigned["assignment"]["deadline"], deadline());

    // The department below the district now sees the document it co-handles, and records
    // progress, but completing is the lead's.
    assert!(ids(&list(&server, &department_specialist, "per_page=200")).contains(&id));
    // It can read the PDF too, though the file belongs to the district.
    let copy = server.get(
        &format!("/api/v1/incoming/{id}/files/1"),
        &department_specialist,
    );
    assert_eq!(copy.status(), 200);
    assert_eq!(
        copy.headers()["content-type"].to_str().unwrap(),
        "application/pdf"
    );
    assert_eq!(copy.bytes().unwrap().as_ref(), pdfs().signed.as_slice());
    expect_problem(
        server.get(
            &format!("/api/v1/incoming/{id}/files/2"),
            &department_specialist,
        ),
        404,
        "not_found",
    );
    let (status, noted) = step(
        &server,
        &department_specialist,
        id,
        "progress",
        &json!({ "note": "Phòng đã rà soát kinh phí" }),
    );
    assert_eq!(
        (status, noted["state"].as_str()),
        (200, Some("in_progress")),
        "{noted}"
    );
    refused(
        &server,
        &department_specialist,
        id,
        "complete",
        &json!({}),
        403,
        "forbidden",
    );
    let (status, noted) = step(
        &server,
        &specialist,
        id,
        "progress",
        &json!({ "note": "Đã họp với các xã" }),
    );
    assert_eq!(
        (status, noted["interchange_status"].as_str()),
        (200, Some("05")),
        "{noted}"
    );
    // Due by the deadline, and on the lead's own list; not on the leader's.
    let due = format!("due_by={}", deadline());
    assert!(ids(&list(&server, &clerk, &due)).contains(&id));
    assert!(ids(&list(&server, &specialist, "assigned_to=me")).contains(&id));
    assert!(!ids(&list(&server, &leader, "assigned_to=me")).contains(&id));
    let (status, done) = step(
        &server,
        &specialist,
        id,
        "complete",
        &json!({ "note": "Đã trả lời bằng Công văn 45/UBND-VP" }),
    );
    assert_eq!(
        (status, done["state"].as_str()),
        (200, Some("completed")),
        "{done}"
    );
    assert_eq!(done["interchange_status"], "06");
    assert!(!ids(&list(&server, &clerk, &due)).contains(&id));

    let full = detail(&server, &clerk, id);
    assert_eq!(full["arrival_number"], next);
    assert_eq!(full["verification"], "valid");
    assert_eq!(full["verification_report"]["verdict"], "valid");
    assert_eq!(
        full["verification_report"]["signatures"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let trace: Vec<(String, String, Option<String>)> = full["trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["actor_name"].as_str().unwrap().to_owned(),
                e["note"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let entry = |action: &str, who: &str, note: Option<&str>| {
        (action.to_owned(), who.to_owned(), note.map(str::to_owned))
    };
    assert_eq!(
        trace,
        [
            entry("receive", "Trần Thị Mai", None),
            entry("register", "Trần Thị Mai", None),
            entry(
                "assign",
                "Lê Văn Thắng",
                Some("Giao chuyên viên chủ trì, Phòng Tài chính phối hợp")
            ),
            entry(
                "progress",
                "Nguyễn Thị Thu",
                Some("Phòng đã rà soát kinh phí")
            ),
            entry("progress", "Phạm Thị Lan", Some("Đã họp với các xã")),
            entry(
                "complete",
                "Phạm Thị Lan",
                Some("Đã trả lời bằng Công văn 45/UBND-VP")
            ),
        ]
    );
    // The received PDF is kept as revision 1 and downloads byte for byte.
    let sha256 = full["files"][0]["sha256"].as_str().unwrap();
    assert_eq!(full["files"][0]["revision"], 1);
    let download = server.get(&format!("/api/v1/files/{sha256}"), &clerk);
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().unwrap().as_ref(), pdfs().signed.as_slice());

    // The commune sees none of it.
    let commune_clerk = server.demo_login("commune.clerk");
    assert!(!ids(&list(&server, &commune_clerk, "per_page=200")).contains(&id));

    // The same document received again is kept, with a warning naming the first.
    let again = receive(
        &server,
        &clerk,
        &metadata("123/ubnd-vp", "Về việc triển khai đào tạo cán bộ"),
        &pdfs().signed,
    );
    assert_eq!(again["possible_duplicates"], json!([id]));
    expect_problem(
        server.get(&format!("/api/v1/incoming/{id}"), &commune_clerk),
        404,
        "not_found",
    );
    expect_problem(
        server.get(&format!("/api/v1/incoming/{id}/files/1"), &commune_clerk),
        404,
        "not_found",
    );
}

#[test]
fn a_department_forwards_to_its_specialist_who_completes() {
    let env = TestEnv::new();
    let server = start(&env);
    let clerk = server.demo_login("district.clerk");
    let leader = server.demo_login("district.leader");
    let admin = server.demo_login("district.admin");
    let department = unit_by_code(&server, &admin, DEPARTMENT)["id"]
        .as_i64()
        .unwrap();
    for (username, role) in [("tckh.leader", "leader"), ("tckh.specialist", "specialist")] {
        let (status, body) = status_json(server.post(
            "/api/v1/users",
            &admin,
            &json!({ "username": username, "display_name": "Cán bộ Phòng TC-KH", "unit_id": department, "roles": [role], "password": "mat-khau-dai" }),
        ));
        assert_eq!(status, 201, "{body}");
    }
    let head = server.login("tckh.leader", "mat-khau-dai");
    let specialist = server.login("tckh.specialist", "mat-khau-dai");
    let specialist_id = user_id(&server, &specialist);

    let id = receive(
        &server,
        &clerk,
        &metadata("88/STC-NS", "Về việc dự toán"),
        &pdfs().signed,
    )["id"]
        .as_i64()
        .unwrap();
    assert_eq!(step(&server, &clerk, id, "register", &json!({})).0, 200);
    let to_department = json!({
        "lead": { "kind": "unit", "id": department },
        "instruction": "Phòng Tài chính - Kế hoạch chủ trì",
        "deadline": deadline(),
    });
    assert_eq!(step(&server, &leader, id, "assign", &to_department).0, 200);

    // Forwarding is the lead's: the district leader may not.
    let to_specialist =
        json!({ "to": { "kind": "user", "id": specialist_id }, "note": "Giao đồng chí xử lý" });
    refused(
        &server,
        &leader,
        id,
        "forward",
        &to_specialist,
        403,
        "forbidden",
    );
    // Nor to someone outside the department.
    let district_specialist = user_id(&server, &server.demo_login("district.specialist"));
    let problem = expect_problem(
        server.post(
            &format!("/api/v1/incoming/{id}/forward"),
            &head,
            &json!({ "to": { "kind": "user", "id": district_specialist } }),
        ),
        422,
        "validation_failed",
    );
    assert_eq!(problem["field"], "to");
    let (status, forwarded) = step(&server, &head, id, "forward", &to_specialist);
    assert_eq!(status, 200, "{forwarded}");
    assert_eq!(forwarded["state"], "assigned");
    assert_eq!(
        forwarded["assignment"]["lead"],
        json!({ "kind": "user", "id": specialist_id })
    );
    assert_eq!(
        forwarded["assignment"]["co_handlers"],
        json!([{ "kind": "unit", "id": department }])
    );
    // The department no longer leads, so its head may not forward again.
    refused(
        &server,
        &head,
        id,
        "forward",
        &to_specialist,
        403,
        "forbidden",
    );

    // The department still sees it and notes progress; only the specialist completes.
    assert_eq!(
        step(
            &server,
            &head,
            id,
            "progress",
            &json!({ "note": "Đã giao" })
        )
        .0,
        200
    );
    refused(&server, &head, id, "complete", &json!({}), 403, "forbidden");
    let (status, done) = step(
        &server,
        &specialist,
        id,
        "complete",
        &json!({ "note": "Đã trả lời" }),
    );
    assert_eq!(
        (status, done["state"].as_str()),
        (200, Some("completed")),
        "{done}"
    );
    let actions: Vec<String> = detail(&server, &clerk, id)["trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions,
        ["receive", "register", "assign", "forward", "progress", "complete"]
    );
}

#[test]
fn lists_filter_and_search_with_or_without_diacritics() {
    let env = TestEnv::new();
    let server = start(&env);
    // The demo seeds incoming documents in the district only: the commune starts empty.
    let clerk = server.demo_login("commune.clerk");
    assert_eq!(list(&server, &clerk, "")["total"], 0);
    let id = receive(
        &server,
        &clerk,
        &metadata("123/UBND-VP", "Về việc triển khai đào tạo cán bộ"),
        &pdfs().signed,
    )["id"]
        .as_i64()
        .unwrap();
    let (status, _) = step(&server, &clerk, id, "register", &json!({}));
    assert_eq!(status, 200);
    let other = receive(
        &server,
        &clerk,
        &metadata("7/QĐ-UBND", "Quyết định phê duyệt kinh phí"),
        &pdfs().signed,
    );
    let other = other["id"].as_i64().unwrap();
    for q in ["dao%20tao", "%C4%91%C3%A0o%20t%E1%BA%A1o", "123%2Fubnd"] {
        assert_eq!(ids(&list(&server, &clerk, &format!("q={q}"))), [id], "{q}");
    }
    assert_eq!(ids(&list(&server, &clerk, "q=qd-ubnd")), [other]);
    assert_eq!(ids(&list(&server, &clerk, "q=vinh%20phuc")), [other, id]);
    assert_eq!(ids(&list(&server, &clerk, "state=registered")), [id]);
    assert_eq!(
        ids(&list(&server, &clerk, "state=received&urgency=khan")),
        [other]
    );
    assert!(ids(&list(&server, &clerk, "urgency=hoa_toc")).is_empty());
    // Years run in Vietnam time (UTC+7).
    let year = (Utc::now() + TimeDelta::hours(7)).format("%Y").to_string();
    assert_eq!(list(&server, &clerk, &format!("year={year}"))["total"], 2);
    let page = list(&server, &clerk, "per_page=1&page=2");
    assert_eq!((page["total"].as_u64(), ids(&page)), (Some(2), vec![id]));
    expect_problem(
        server.get("/api/v1/incoming?state=open", &clerk),
        400,
        "invalid_query",
    );
}

#[test]
fn fifty_clerks_registering_at_once_get_consecutive_numbers() {
    const N: usize = 50;
    let env = TestEnv::new();
    let server = start(&env);
    // The commune's register is empty, so the numbers start at 1.
    let clerk = server.demo_login("commune.clerk");
    let documents: Vec<i64> = (1..=N)
        .map(|n| {
            receive(
                &server,
                &clerk,
                &metadata(&format!("{n}/UBND-VP"), "Thông báo"),
                &pdfs().signed,
            )["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    let mut numbers: Vec<u64> = register_at_once(&server, &clerk, &documents)
        .into_iter()
        .map(|(status, body)| {
            assert_eq!(status, 200, "{body}");
            body["arrival_number"].as_u64().unwrap()
        })
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=N as u64).collect::<Vec<_>>());
    // Read back from the database, not only from the responses.
    let mut stored: Vec<u64> = list(&server, &clerk, "state=registered&per_page=200")["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["arrival_number"].as_u64().unwrap())
        .collect();
    stored.sort_unstable();
    assert_eq!(stored, numbers);
}

#[test]
fn a_double_register_is_a_conflict_and_changes_nothing() {
    let env = TestEnv::new();
    let server = start(&env);
    let clerk = server.demo_login("commune.clerk");
    let id = receive(
        &server,
        &clerk,
        &metadata("5/UBND-VP", "Về việc"),
        &pdfs().signed,
    )["id"]
        .as_i64()
        .unwrap();
    let (status, _) = step(&server, &clerk, id, "register", &json!({}));
    assert_eq!(status, 200);
    let before = detail(&server, &clerk, id);
    let problem = expect_problem(
        server.post(
            &format!("/api/v1/incoming/{id}/register"),
            &clerk,
            &json!({}),
        ),
        409,
        "state_conflict",
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("already registered"),
        "{problem}"
    );
    assert_eq!(detail(&server, &clerk, id), before);

    // Eight clicks at once on a fresh document: one number, seven conflicts.
    let id = receive(
        &server,
        &clerk,
        &metadata("6/UBND-VP", "Về việc"),
        &pdfs().signed,
    )["id"]
        .as_i64()
        .unwrap();
    let mut statuses: Vec<u16> = register_at_once(&server, &clerk, &[id; 8])
        .into_iter()
        .map(|(status, body)| {
            if status == 409 {
                assert_eq!(body["code"], "state_conflict", "{body}");
            }
            status
        })
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409, 409, 409, 409, 409, 409, 409]);
    let after = detail(&server, &clerk, id);
    assert_eq!(after["arrival_number"], 2);
    assert_eq!(after["trace"].as_array().unwrap().len(), 2);
}

/// What bad input must leave unchanged: every document as the district clerk sees it, and
/// the blobs on disk.
fn snapshot(env: &TestEnv, server: &Server, clerk: &str) -> (Value, Vec<Value>, usize) {
    let page = list(server, clerk, "per_page=200");
    let details = ids(&page)
        .into_iter()
        .map(|id| detail(server, clerk, id))
        .collect();
    (
        page,
        details,
        files_under(&env.blob_dir().join("sha256")).len(),
    )
}

#[test]
fn bad_input_is_refused_with_a_clear_problem_and_changes_nothing() {
    let env = TestEnv::new();
    let server = start(&env);
    let clerk = server.demo_login("district.clerk");
    let leader = server.demo_login("district.leader");
    let specialist = server.demo_login("district.specialist");
    let commune_clerk = server.demo_login("commune.clerk");
    let received = receive(
        &server,
        &clerk,
        &metadata("9/UBND-VP", "Về việc"),
        &pdfs().signed,
    );
    let id = received["id"].as_i64().unwrap();
    let before = snapshot(&env, &server, &clerk);
    let m = metadata("10/UBND-VP", "Về việc khác").to_string();
    let json_type = "application/json";
    let pdf_type = "application/pdf";

    // Not a PDF, empty, too large: refused before anything is stored.
    let mut oversized = b"%PDF-1.7\n".to_vec();
    oversized.resize(MAX_UPLOAD as usize + 1, b' ');
    let refused_files: [(&[u8], u16, &str, Option<&str>); 3] = [
        (
            b"<html>not a pdf</html>",
            415,
            "not_a_pdf",
            Some("not a PDF"),
        ),
        (b"", 415, "not_a_pdf", Some("empty")),
        (&oversized, 413, "payload_too_large", None),
    ];
    for (file, status, code, detail) in refused_files {
        let problem = expect_problem(
            send_form(
                &server,
                &clerk,
                &[
                    ("metadata", json_type, m.as_bytes()),
                    ("file", pdf_type, file),
                ],
            ),
            status,
            code,
        );
        if let Some(detail) = detail {
            assert!(
                problem["detail"].as_str().unwrap().contains(detail),
                "{problem}"
            );
        }
    }
    // A malformed form, a missing part, metadata that breaks a rule.
    let problem = expect_problem(
        send_form(&server, &clerk, &[("metadata", json_type, m.as_bytes())]),
        400,
        "missing_part",
    );
    assert_eq!(problem["field"], "file");
    expect_problem(
        send_form(&server, &clerk, &[("file", pdf_type, &pdfs().signed)]),
        400,
        "missing_part",
    );
    for (field, value) in [
        ("number_notation", json!("số 10")),
        ("summary", json!("")),
        ("urgency", json!("gấp")),
        ("document_date", json!("2999-01-01")),
        ("issuing_body", json!("x".repeat(201))),
    ] {
        let mut bad = metadata("10/UBND-VP", "Về việc khác");
        bad[field] = value;
        let problem = expect_problem(
            receive_raw(&server, &clerk, &bad, &pdfs().signed),
            422,
            "validation_failed",
        );
        assert_eq!(problem["field"], field, "{problem}");
    }
    let problem = expect_problem(
        send_form(
            &server,
            &clerk,
            &[
                ("metadata", json_type, b"{\"issuing_body\": "),
                ("file", pdf_type, &pdfs().signed),
            ],
        ),
        400,
        "invalid_json",
    );
    assert!(problem["detail"].is_string());
    expect_problem(
        server
            .request(reqwest::Method::POST, "/api/v1/incoming", &clerk)
            .header("Content-Type", pdf_type)
            .body(pdfs().signed.clone())
            .send()
            .unwrap(),
        415,
        "unsupported_media_type",
    );

    // Wrong role: 403. Wrong unit: 404, like a document that does not exist.
    expect_problem(
        receive_raw(&server, &leader, &metadata("11/UBND", "x"), &pdfs().signed),
        403,
        "forbidden",
    );
    refused(
        &server,
        &specialist,
        id,
        "register",
        &json!({}),
        403,
        "forbidden",
    );
    let assignment = json!({
        "lead": { "kind": "user", "id": user_id(&server, &specialist) },
        "instruction": "Xử lý",
        "deadline": deadline(),
    });
    refused(&server, &clerk, id, "assign", &assignment, 403, "forbidden");
    refused(
        &server,
        &commune_clerk,
        id,
        "register",
        &json!({}),
        404,
        "not_found",
    );
    refused(
        &server,
        &commune_clerk,
        id,
        "return",
        &json!({ "reason": "Sai" }),
        404,
        "not_found",
    );
    expect_problem(
        server.get(&format!("/api/v1/incoming/{id}"), &commune_clerk),
        404,
        "not_found",
    );
    expect_problem(
        server.post("/api/v1/incoming/999999/register", &clerk, &json!({})),
        404,
        "not_found",
    );
    expect_problem(server.get("/api/v1/incoming/abc", &clerk), 404, "not_found");

    // Wrong state: 409 with what to do.
    let problem = expect_problem(
        server.post(
            &format!("/api/v1/incoming/{id}/assign"),
            &leader,
            &assignment,
        ),
        409,
        "state_conflict",
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("register this document first"),
        "{problem}"
    );
    refused(
        &server,
        &specialist,
        id,
        "progress",
        &json!({ "note": "x" }),
        403,
        "forbidden",
    );
    // Bad bodies on a step.
    refused(
        &server,
        &clerk,
        id,
        "return",
        &json!({ "reason": " " }),
        422,
        "validation_failed",
    );
    refused(
        &server,
        &clerk,
        id,
        "return",
        &json!({ "why": "x" }),
        400,
        "invalid_json",
    );

    assert_eq!(snapshot(&env, &server, &clerk), before);

    // Past the register, an assignment that breaks a rule is refused the same way.
    let (status, _) = step(&server, &clerk, id, "register", &json!({}));
    assert_eq!(status, 200);
    let before = snapshot(&env, &server, &clerk);
    // The province sits above the district: documents go down the tree, not up.
    let district = unit_by_code(&server, &server.demo_login("district.admin"), DISTRICT);
    for (body, field) in [
        (
            json!({ "lead": { "kind": "unit", "id": district["parent_id"] }, "instruction": "x", "deadline": deadline() }),
            "lead",
        ),
        (
            json!({ "lead": { "kind": "user", "id": user_id(&server, &clerk) }, "instruction": "x", "deadline": deadline() }),
            "lead",
        ),
        (
            json!({ "lead": { "kind": "user", "id": user_id(&server, &specialist) }, "instruction": "x", "deadline": "2020-01-01" }),
            "deadline",
        ),
    ] {
        let problem = expect_problem(
            server.post(&format!("/api/v1/incoming/{id}/assign"), &leader, &body),
            422,
            "validation_failed",
        );
        assert_eq!(problem["field"], field, "{problem}");
    }
    let problem = expect_problem(
        server.post(
            &format!("/api/v1/incoming/{id}/return"),
            &clerk,
            &json!({ "reason": "Gửi nhầm" }),
        ),
        409,
        "state_conflict",
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("already registered"),
        "{problem}"
    );
    assert_eq!(snapshot(&env, &server, &clerk), before);
}

#[test]
fn a_received_pdf_with_a_broken_signature_is_kept_and_flagged() {
    let env = TestEnv::new();
    let server = start(&env);
    let clerk = server.demo_login("district.clerk");
    let broken = receive(
        &server,
        &clerk,
        &metadata("13/UBND-VP", "Văn bản bị sửa"),
        &pdfs().broken,
    );
    assert_eq!(broken["verification"], "invalid", "{broken}");
    let id = broken["id"].as_i64().unwrap();
    let full = detail(&server, &clerk, id);
    assert_eq!(full["verification_report"]["verdict"], "invalid");
    assert!(full["verification_report"]["summary_vi"].is_string());
    let sha256 = full["files"][0]["sha256"].as_str().unwrap();
    let download = server.get(&format!("/api/v1/files/{sha256}"), &clerk);
    assert_eq!(download.bytes().unwrap().as_ref(), pdfs().broken.as_slice());
    // Kept, but not copied under the unit's seal, in any form: the seal would certify an
    // altered file. Nor is a document received on paper, which has no file. A scan received
    // unsigned is copied (paper into electronic, Decree 30 Art. 25): the seal vouches for the
    // copy, not for a signer.
    let unsigned = receive(
        &server,
        &clerk,
        &metadata("14/UBND-VP", "Bản chụp"),
        &pdfs().unsigned,
    );
    assert_eq!(unsigned["verification"], "unsigned");
    let (status, paper) = status_json(server.post(
        "/api/v1/incoming/paper",
        &clerk,
        &json!({
            "issuing_body": "Sở Tài chính tỉnh Vĩnh Phúc",
            "number_notation": "15/STC-NS",
            "document_date": "2026-11-30",
            "document_type": "Công văn",
            "summary": "Về việc quyết toán ngân sách",
        }),
    ));
    assert_eq!(status, 201, "{paper}");
    let copy = |id: &Value, body: Value| {
        server.post(&format!("/api/v1/incoming/{id}/copies"), &clerk, &body)
    };
    for body in [
        json!({"form": "sao_luc"}),
        json!({"form": "trich_sao", "pages": "1"}),
    ] {
        let refused = expect_problem(copy(&broken["id"], body), 409, "signatures_not_valid");
        let detail = refused["detail"].as_str().unwrap();
        assert!(
            detail.contains("invalid") && detail.contains("sender"),
            "{refused}"
        );
    }
    let answer = copy(&paper["id"], json!({"form": "sao_y"}));
    expect_problem_saying(answer, 409, "document_on_paper", "paper original");
    for document in [&broken, &paper] {
        let (status, copies) = status_json(server.get(
            &format!("/api/v1/incoming/{}/copies", document["id"]),
            &clerk,
        ));
        assert_eq!((status, copies), (200, json!([])));
    }
    let (status, scan_copy) = status_json(copy(&unsigned["id"], json!({"form": "sao_y"})));
    assert_eq!(status, 201, "{scan_copy}");
    let (status, copies) = status_json(server.get(
        &format!("/api/v1/incoming/{}/copies", unsigned["id"]),
        &clerk,
    ));
    assert_eq!(status, 200);
    assert_eq!(copies.as_array().map(Vec::len), Some(1), "{copies}");
    assert_eq!(copies[0]["id"], scan_copy["id"], "{copies}");
    // The clerk can send it back, and the reason is in the trace.
    let (status, returned) = step(
        &server,
        &clerk,
        id,
        "return",
        &json!({ "reason": "Chữ ký số không hợp lệ" }),
    );
    assert_eq!(
        (status, returned["interchange_status"].as_str()),
        (200, Some("02")),
        "{returned}"
    );
    assert_eq!(
        detail(&server, &clerk, id)["trace"][1]["note"],
        "Chữ ký số không hợp lệ"
    );

    // The same verifier answers POST /api/v1/verify, keeping nothing.
    let blobs_before = files_under(&env.blob_dir().join("sha256")).len();
    let verify = |bytes: &[u8]| {
        server
            .request(reqwest::Method::POST, "/api/v1/verify", &clerk)
            .header("Content-Type", "application/pdf")
            .body(bytes.to_vec())
            .send()
            .unwrap()
    };
    for (bytes, verdict) in [
        (&pdfs().signed, "valid"),
        (&pdfs().broken, "invalid"),
        (&pdfs().unsigned, "unsigned"),
    ] {
        let (status, report) = status_json(verify(bytes));
        assert_eq!(
            (status, report["verdict"].as_str()),
            (200, Some(verdict)),
            "{report}"
        );
    }
    expect_problem(verify(b"GIF89a"), 415, "not_a_pdf");
    expect_problem(verify(b"%PDF-1.7 truncated"), 422, "unreadable_pdf");
    assert_eq!(
        files_under(&env.blob_dir().join("sha256")).len(),
        blobs_before
    );
}

#[test]
fn the_demo_district_has_incoming_documents_in_every_state_once() {
    let env = TestEnv::new();
    let states = |server: &Server| {
        let clerk = server.demo_login("district.clerk");
        let page = list(server, &clerk, "per_page=200");
        let mut states: Vec<(String, String)> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["state"].as_str().unwrap().to_owned(),
                    d["verification"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        states.sort();
        states
    };
    let server = start(&env);
    let first = states(&server);
    let pair = |s: &str, v: &str| (s.to_owned(), v.to_owned());
    assert_eq!(
        first,
        [
            pair("assigned", "valid"),
            pair("completed", "valid"),
            pair("in_progress", "valid"),
            pair("received", "valid"),
            pair("registered", "valid"),
            pair("returned", "invalid"),
        ]
    );
    // The most urgent (hỏa tốc) comes first.
    let clerk = server.demo_login("district.clerk");
    assert_eq!(list(&server, &clerk, "")["items"][0]["urgency"], "hoa_toc");
    drop(server);
    // A second start adds nothing.
    let server = start(&env);
    assert_eq!(states(&server), first);
}

#[test]
fn the_openapi_document_lists_every_status_these_routes_answer() {
    let env = TestEnv::new();
    let server = env.serve(&[]);
    let doc = server.openapi();
    // Every status the tests above provoke, route by route.
    let protected = ["401"];
    for (path, method, statuses) in [
        (
            "/api/v1/incoming",
            "post",
            &["201", "400", "403", "413", "415", "422"][..],
        ),
        ("/api/v1/incoming", "get", &["200", "400"][..]),
        ("/api/v1/incoming/{id}", "get", &["200", "404"][..]),
        (
            "/api/v1/incoming/{id}/files/{revision}",
            "get",
            &["200", "404"][..],
        ),
        (
            "/api/v1/incoming/{id}/register",
            "post",
            &["200", "403", "404", "409"][..],
        ),
        (
            "/api/v1/incoming/{id}/return",
            "post",
            &["200", "400", "404", "409", "422"][..],
        ),
        (
            "/api/v1/incoming/{id}/assign",
            "post",
            &["200", "403", "409", "422"][..],
        ),
        (
            "/api/v1/incoming/{id}/progress",
            "post",
            &["200", "403"][..],
        ),
        (
            "/api/v1/incoming/{id}/complete",
            "post",
            &["200", "403"][..],
        ),
        ("/api/v1/verify", "post", &["200", "415", "422"][..]),
    ] {
        let responses = &doc["paths"][path][method]["responses"];
        for status in statuses.iter().chain(&protected) {
            assert!(
                responses.get(*status).is_some(),
                "{method} {path} does not document {status}: {responses}"
            );
        }
    }
    let states = &doc["components"]["schemas"]["IncomingView"]["properties"]["state"]["enum"];
    assert_eq!(
        states,
        &json!([
            "received",
            "registered",
            "assigned",
            "in_progress",
            "completed",
            "returned"
        ])
    );
    let codes =
        &doc["components"]["schemas"]["IncomingView"]["properties"]["interchange_status"]["enum"];
    assert_eq!(codes, &json!(["01", "03", "04", "05", "06", "02"]));
    let summary = &doc["components"]["schemas"]["IncomingMetadataBody"]["properties"]["summary"];
    assert_eq!(summary["maxLength"], 500, "{summary}");
}
