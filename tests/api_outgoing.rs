//! Outgoing documents (văn bản đi) through the real binary over HTTP, on SQLite or on
//! PostgreSQL (`VANTHU_TEST_DATABASE`), on the demo organisation: a commune drafts, its
//! leader approves and signs (with the signing PIN, or with a token through prepare and
//! complete, the test signing with openssl as a token would), its clerk issues (number
//! filled in, seal) and releases to the district, which finds it in its incoming queue,
//! verified. pyHanko and pdfsig judge the released PDF. Also: 50 parallel issues give
//! consecutive numbers, parallel signatures give one, and bad input changes nothing.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier, OnceLock};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::oracles;
use common::tools::{require, Tool};
use common::{
    expect_problem, expect_problem_saying, multipart, status_json, unit_by_code, Server, TestEnv,
};
use lopdf::Document;
use serde_json::{json, Value};

const DISTRICT: &str = "000.00.31.H56";
const COMMUNE: &str = "000.31.01.H56";
/// The demo leaders' signing PIN.
const PIN: &str = "246810";
const VALIDATORS: [Tool; 2] = [Tool::PyHanko, Tool::Pdfsig];

fn certs() -> PathBuf {
    common::tools::workspace().join("certs-dev")
}

/// A one-page A4 draft.
fn draft_pdf() -> &'static [u8] {
    static PDF: OnceLock<Vec<u8>> = OnceLock::new();
    PDF.get_or_init(|| common::one_page_pdf(b"CONG VAN VE VIEC CHUYEN DOI SO"))
}

/// The demo, with the people of the walk signed in.
struct Walk {
    server: Server,
    specialist: String,
    leader: String,
    leader_id: i64,
    clerk: String,
    district: i64,
    district_clerk: String,
}

impl Walk {
    fn start(env: &TestEnv) -> Walk {
        Walk::start_with(env, &[])
    }

    fn start_with(env: &TestEnv, args: &[&str]) -> Walk {
        let server = env.serve_demo(args);
        let leader = server.demo_login("commune.leader");
        let district_clerk = server.demo_login("district.clerk");
        let district = unit_by_code(&server, &district_clerk, DISTRICT)["id"]
            .as_i64()
            .unwrap();
        Walk {
            specialist: server.demo_login("commune.specialist"),
            leader_id: user_id(&server, &leader),
            leader,
            clerk: server.demo_login("commune.clerk"),
            district,
            district_clerk,
            server,
        }
    }

    fn metadata(&self, signer: i64) -> Value {
        json!({
            "document_type": "Công văn",
            "summary": "Về việc triển khai chuyển đổi số",
            "urgency": "khan",
            "notation": "UBND-VP",
            "signer": {"user_id": signer, "position": "CHỦ TỊCH", "authority": "tm"},
            "internal_recipients": [self.district],
            "external_recipients": [{"name": "Sở Nội vụ tỉnh Vĩnh Phúc", "agency_code": "000.00.12.H56"}],
        })
    }

    /// Drafts a document to be signed by `signer` and returns its JSON.
    fn draft(&self, signer: i64) -> Value {
        self.draft_of(signer, draft_pdf())
    }

    /// Drafts `pdf` to be signed by `signer` and returns its JSON.
    fn draft_of(&self, signer: i64, pdf: &[u8]) -> Value {
        let (status, body) = status_json(draft_raw(
            &self.server,
            &self.specialist,
            &self.metadata(signer),
            pdf,
        ));
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["state"], "draft");
        body
    }

    fn step(&self, token: &str, id: i64, action: &str, body: &Value) -> Value {
        let (status, out) = status_json(self.server.post(
            &format!("/api/v1/outgoing/{id}/{action}"),
            token,
            body,
        ));
        assert_eq!(status, 200, "{action}: {out}");
        out
    }

    fn detail(&self, token: &str, id: i64) -> Value {
        let (status, body) = status_json(self.server.get(&format!("/api/v1/outgoing/{id}"), token));
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The clerk records a decision issued on paper, signed by the leader; returns its JSON.
    fn record_paper(&self) -> Value {
        let paper = json!({
            "document_type": "Quyết định",
            "summary": "Về việc khen thưởng",
            "notation": "QĐ-UBND",
            "signer": {"user_id": self.leader_id, "position": "CHỦ TỊCH"},
        });
        let (status, recorded) = status_json(self.server.post(
            "/api/v1/outgoing/paper",
            &self.clerk,
            &paper,
        ));
        assert_eq!(status, 201, "{recorded}");
        recorded
    }

    /// Issues and releases a signed document; returns the released JSON and the PDF.
    fn issue_and_release(&self, id: i64) -> (Value, Vec<u8>) {
        let issued = self.step(&self.clerk, id, "issue", &json!({}));
        assert_eq!(issued["state"], "issued", "{issued}");
        let released = self.step(&self.clerk, id, "release", &json!({}));
        assert_eq!(released["state"], "released", "{released}");
        let revision = released["revision"].as_u64().unwrap();
        let pdf = self
            .server
            .get(
                &format!("/api/v1/outgoing/{id}/files/{revision}"),
                &self.clerk,
            )
            .bytes()
            .unwrap()
            .to_vec();
        (released, pdf)
    }

    /// The district finds the released document in its incoming queue, verified, and the
    /// commune sees it arrive, then registered. Returns the district's copy's id.
    fn check_arrival(&self, id: i64, released: &Value) -> i64 {
        let (_, page) = status_json(self.server.get(
            "/api/v1/incoming?q=UBND-VP&per_page=100",
            &self.district_clerk,
        ));
        let number = released["number_notation"].as_str().unwrap();
        let copy = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["number_notation"] == number)
            .unwrap_or_else(|| panic!("{number} not in the district's queue: {page}"))
            .clone();
        assert_eq!(copy["state"], "received");
        assert_eq!(copy["verification"], "valid", "{copy}");
        assert_eq!(copy["issuing_body"], "Ủy ban nhân dân xã Đồng Cương");
        let recipients = &self.detail(&self.clerk, id)["recipients"];
        assert_eq!(recipients[0]["status_code"], "01", "{recipients}");
        assert_eq!(recipients[1]["external"]["agency_code"], "000.00.12.H56");
        let copy_id = copy["id"].as_i64().unwrap();
        let (status, _) = status_json(self.server.post(
            &format!("/api/v1/incoming/{copy_id}/register"),
            &self.district_clerk,
            &json!({}),
        ));
        assert_eq!(status, 200);
        let recipients = &self.detail(&self.clerk, id)["recipients"];
        assert_eq!(recipients[0]["status_code"], "03", "{recipients}");
        copy_id
    }
}

fn user_id(server: &Server, token: &str) -> i64 {
    let (_, me) = status_json(server.get("/api/v1/me", token));
    me["user"]["id"].as_i64().unwrap()
}

fn draft_raw(
    server: &Server,
    token: &str,
    metadata: &Value,
    pdf: &[u8],
) -> reqwest::blocking::Response {
    let (content_type, body) = multipart(&[
        (
            "metadata",
            "application/json",
            metadata.to_string().as_bytes(),
        ),
        ("file", "application/pdf", pdf),
    ]);
    server
        .request(reqwest::Method::POST, "/api/v1/outgoing", token)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .unwrap()
}

/// A PDF text string: UTF-16 with its byte-order mark, or PDFDocEncoding.
fn pdf_text(v: &[u8]) -> String {
    match v.strip_prefix(&[0xfe, 0xff]) {
        Some(utf16) => String::from_utf16(
            &utf16
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect::<Vec<_>>(),
        )
        .unwrap(),
        None => String::from_utf8_lossy(v).into_owned(),
    }
}

/// The text of a field of `pdf` (its /V, UTF-16 or PDFDocEncoding).
fn field_value(pdf: &[u8], name: &str) -> Option<String> {
    let doc = Document::load_mem(pdf).unwrap();
    doc.objects.values().find_map(|o| {
        let d = o.as_dict().ok()?;
        let t = d.get(b"T").ok()?.as_str().ok()?;
        if t != name.as_bytes() {
            return None;
        }
        Some(pdf_text(d.get(b"V").ok()?.as_str().ok()?))
    })
}

/// The widget /Rect and the signature's /Reason of the signature field whose name starts
/// with `prefix`.
fn signature_field(pdf: &[u8], prefix: &str) -> Option<([f32; 4], String)> {
    let doc = Document::load_mem(pdf).unwrap();
    doc.objects.values().find_map(|o| {
        let d = o.as_dict().ok()?;
        let t = d.get(b"T").ok()?.as_str().ok()?;
        if !t.starts_with(prefix.as_bytes()) {
            return None;
        }
        let rect: Vec<f32> = d
            .get(b"Rect")
            .ok()?
            .as_array()
            .ok()?
            .iter()
            .map(|v| v.as_float().unwrap())
            .collect();
        let sig = doc
            .get_dictionary(d.get(b"V").ok()?.as_reference().ok()?)
            .ok()?;
        let reason = pdf_text(sig.get(b"Reason").ok()?.as_str().ok()?);
        Some(([rect[0], rect[1], rect[2], rect[3]], reason))
    })
}

/// pyHanko and pdfsig on an electronic copy: `n` signatures, every one valid and trusted,
/// the last the copy's seal in its own field; the official's still changed by form filling
/// only when the copy is of a document signed here.
fn judge_copy(pdf: &[u8], n: usize) {
    let Some(tools) = require("judge_copy", &VALIDATORS) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("copy.pdf");
    std::fs::write(&file, pdf).unwrap();
    let report = oracles::pyhanko_report(&tools, &file, &certs().join("root-ca.pem"));
    let signatures = report["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), n, "{report}");
    for s in signatures {
        assert_eq!(s["bottom_line"], true, "{s}");
        assert_eq!(s["trusted"], true, "{s}");
    }
    assert_eq!(
        signatures[0]["modification_level"], "FORM_FILLING",
        "{report}"
    );
    assert!(
        signatures[n - 1]["field"]
            .as_str()
            .unwrap()
            .starts_with("chu_ky_ban_sao"),
        "{report}"
    );
    let poppler: Vec<_> = oracles::pdfsig(&file)
        .into_iter()
        .filter(|s| s.signed)
        .collect();
    assert_eq!(poppler.len(), n, "{poppler:?}");
    for s in &poppler {
        assert_eq!(s.validation, "Signature is Valid.", "{s:?}");
    }
}

/// pyHanko and pdfsig on the released PDF: the official's and the seal's signatures, both
/// valid and trusted, the official's changed only by form filling; the number in its field.
fn judge_released(pdf: &[u8], number: &str) {
    let Some(tools) = require("judge_released", &VALIDATORS) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("released.pdf");
    std::fs::write(&file, pdf).unwrap();
    let report = oracles::pyhanko_report(&tools, &file, &certs().join("root-ca.pem"));
    let signatures = report["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 2, "{report}");
    for s in signatures {
        assert_eq!(s["bottom_line"], true, "{s}");
        assert_eq!(s["trusted"], true, "{s}");
    }
    assert_eq!(signatures[0]["field"], "chu_ky_nguoi_ky");
    assert_eq!(
        signatures[0]["modification_level"], "FORM_FILLING",
        "{report}"
    );
    assert_eq!(signatures[1]["field"], "chu_ky_co_quan");
    let poppler: Vec<_> = oracles::pdfsig(&file)
        .into_iter()
        .filter(|s| s.signed)
        .collect();
    assert_eq!(poppler.len(), 2, "{poppler:?}");
    for s in &poppler {
        assert_eq!(s.validation, "Signature is Valid.", "{s:?}");
    }
    assert_eq!(
        field_value(pdf, "so_ky_hieu").as_deref(),
        Some(format!("Số: {number}").as_str())
    );
}

#[test]
fn a_commune_document_walks_to_the_district_signed_with_the_pin() {
    let env = TestEnv::new();
    let walk = Walk::start(&env);
    let id = walk.draft(walk.leader_id)["id"].as_i64().unwrap();
    let approved = walk.step(&walk.leader, id, "approve", &json!({}));
    assert_eq!(approved["state"], "approved");

    // A wrong PIN counts down and signs nothing.
    let wrong = expect_problem(
        walk.server.post(
            &format!("/api/v1/outgoing/{id}/sign"),
            &walk.leader,
            &json!({"pin": "135792"}),
        ),
        403,
        "signing_pin_wrong",
    );
    assert!(
        wrong["detail"].as_str().unwrap().contains("attempt"),
        "{wrong}"
    );
    assert_eq!(walk.detail(&walk.leader, id)["state"], "approved");

    let signed = walk.step(&walk.leader, id, "sign", &json!({"pin": PIN}));
    assert_eq!(signed["state"], "signed");
    assert_eq!(signed["signature"], "server_key");
    let (released, pdf) = walk.issue_and_release(id);
    let number = released["number_notation"].as_str().unwrap().to_owned();
    assert!(number.ends_with("/UBND-VP"), "{released}");
    assert!(number.split('/').next().unwrap().len() >= 2, "{number}");
    let identifier = released["document_identifier"].as_str().unwrap();
    assert!(identifier.starts_with("000.31.01.H56,"), "{identifier}");
    assert!(identifier.ends_with(&format!(",{number}")), "{identifier}");
    let trace: Vec<String> = walk.detail(&walk.clerk, id)["trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(trace, ["draft", "approve", "sign", "issue", "release"]);
    judge_released(&pdf, &number);
    let copy = walk.check_arrival(id, &released);

    // Both register books list it with the Appendix IV columns, as JSON and as CSV.
    let (status, book) = status_json(walk.server.get("/api/v1/registers/outgoing", &walk.clerk));
    assert_eq!(status, 200, "{book}");
    let line = book
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["number_notation"] == number.as_str())
        .unwrap_or_else(|| panic!("{number} not in the book: {book}"))
        .clone();
    assert_eq!(line["signer"], "Bùi Văn Long (TM.CHỦ TỊCH)", "{line}");
    assert_eq!(line["copies"], 2);
    assert_eq!(line["receipts"], 1);
    let csv = walk.server.get(
        "/api/v1/registers/incoming?format=csv",
        &walk.district_clerk,
    );
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().unwrap();
    assert!(
        text.starts_with("\u{feff}Ngày đến,Số đến,Tác giả"),
        "{text}"
    );
    assert!(text.contains(&number), "{text}");
    expect_problem(
        walk.server.get(
            &format!("/api/v1/registers/outgoing?unit={}", walk.district),
            &walk.clerk,
        ),
        404,
        "not_found",
    );
    expect_problem(
        walk.server
            .get("/api/v1/registers/outgoing?format=docx", &walk.clerk),
        400,
        "invalid_query",
    );

    // The commune recalls it: its copy at the district is frozen until the district answers.
    let recalled = walk.step(
        &walk.clerk,
        id,
        "recall",
        &json!({"reason": "Ban hành nhầm"}),
    );
    assert_eq!(recalled["state"], "recalled");
    expect_problem(
        walk.server.post(
            &format!("/api/v1/outgoing/{id}/recall"),
            &walk.clerk,
            &json!({"reason": "x"}),
        ),
        409,
        "state_conflict",
    );
    let (_, at_district) = status_json(
        walk.server
            .get(&format!("/api/v1/incoming/{copy}"), &walk.district_clerk),
    );
    assert_eq!(at_district["recall"]["state"], "requested", "{at_district}");
    let district_leader = walk.server.demo_login("district.leader");
    let assign = json!({
        "lead": {"kind": "user", "id": user_id(&walk.server, &district_leader)},
        "instruction": "Xử lý",
        "deadline": "2099-01-01",
    });
    expect_problem(
        walk.server.post(
            &format!("/api/v1/incoming/{copy}/assign"),
            &district_leader,
            &assign,
        ),
        409,
        "state_conflict",
    );
    assert_eq!(
        walk.detail(&walk.clerk, id)["recipients"][0]["status_code"],
        "13"
    );
    let answer = |accept: bool| {
        walk.server.post(
            &format!("/api/v1/incoming/{copy}/recall-response"),
            &walk.district_clerk,
            &json!({"accept": accept, "note": "Đồng ý thu hồi"}),
        )
    };
    let (status, answered) = status_json(answer(true));
    assert_eq!(status, 200, "{answered}");
    assert_eq!(answered["recall"]["state"], "accepted");
    expect_problem(answer(false), 409, "state_conflict");
    // Withdrawn from the district's lists, kept, and the commune sees the answer.
    let (_, page) = status_json(
        walk.server
            .get("/api/v1/incoming?per_page=100", &walk.district_clerk),
    );
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["id"] != copy),
        "{page}"
    );
    let detail = walk.detail(&walk.clerk, id);
    assert_eq!(detail["recipients"][0]["status_code"], "15");
    let last = detail["trace"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "recall_accepted", "{last}");
    assert!(last["note"].as_str().unwrap().contains("Đồng ý thu hồi"));

    // Every step is in the audit log, the signed and sealed files by their digests; the
    // district's auditor sees the commune's steps and the district's answer.
    let auditor = walk.server.demo_login("district.auditor");
    let expected = [
        "outgoing.draft",
        "outgoing.approve",
        "outgoing.sign",
        "outgoing.issue",
        "outgoing.seal",
        "outgoing.release",
        "outgoing.recall",
        "outgoing.recall_accepted",
    ];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let entries = loop {
        let (status, page) = status_json(walk.server.get(
            &format!("/api/v1/audit/entries?object=outgoing:{id}&per_page=200"),
            &auditor,
        ));
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap().clone();
        let steps = items
            .iter()
            .filter(|e| {
                let a = e["action"].as_str().unwrap_or_default();
                !a.ends_with(".view") && !a.ends_with(".download")
            })
            .count();
        if steps >= expected.len() || std::time::Instant::now() > deadline {
            break items;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    // Every read is there too: the detail opened, the PDF downloaded with its digest.
    let read = |action: &str| entries.iter().filter(|e| e["action"] == action).count();
    assert!(read("outgoing.view") > 0, "{entries:?}");
    let download = entries
        .iter()
        .find(|e| e["action"] == "outgoing.download")
        .unwrap_or_else(|| panic!("no download entry: {entries:?}"));
    assert_eq!(
        download["file_sha256"].as_str(),
        Some(hex(&openssl::sha::sha256(&pdf)).as_str())
    );
    let mut actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| !a.ends_with(".view") && !a.ends_with(".download"))
        .collect();
    actions.sort_unstable();
    let mut wanted = expected.to_vec();
    wanted.sort_unstable();
    assert_eq!(actions, wanted, "{entries:?}");
    let sealed = entries
        .iter()
        .find(|e| e["action"] == "outgoing.seal")
        .unwrap();
    let sha = openssl::sha::sha256(&pdf);
    assert_eq!(
        sealed["file_sha256"].as_str(),
        Some(hex(&sha).as_str()),
        "{sealed}"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Signs `data` with the development RSA key as a USB token would (PKCS#1 v1.5, SHA-256).
fn token_sign(data: &[u8]) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(certs().join("signer-rsa.key"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run openssl");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    out.stdout
}

fn der_base64(pem: &Path) -> String {
    let pem = std::fs::read(pem).unwrap();
    STANDARD.encode(
        openssl::x509::X509::from_pem(&pem)
            .unwrap()
            .to_der()
            .unwrap(),
    )
}

/// The commune's official whose token holds the development RSA key (its certificate names
/// them): their id, their login token, and the commune's id.
fn token_holder(walk: &Walk) -> (i64, String, i64) {
    let admin = walk.server.demo_login("commune.admin");
    let commune = unit_by_code(&walk.server, &admin, COMMUNE)["id"]
        .as_i64()
        .unwrap();
    let (status, official) = status_json(walk.server.post(
        "/api/v1/users",
        &admin,
        &json!({
            "username": "commune.deputy",
            "display_name": "Nguyễn Văn An",
            "unit_id": commune,
            "roles": ["leader"],
            "password": "mat-khau-rat-dai-2026",
        }),
    ));
    assert_eq!(status, 201, "{official}");
    let token = walk.server.login("commune.deputy", "mat-khau-rat-dai-2026");
    (official["id"].as_i64().unwrap(), token, commune)
}

#[test]
fn the_same_walk_with_the_signers_own_token() {
    let env = TestEnv::new();
    let walk = Walk::start(&env);
    let (official_id, token, commune) = token_holder(&walk);

    let id = walk.draft(official_id)["id"].as_i64().unwrap();
    walk.step(&walk.leader, id, "approve", &json!({}));
    let certificate = der_base64(&certs().join("signer-rsa.pem"));
    let chain = vec![der_base64(&certs().join("issuing-ca.pem"))];
    let prepare = json!({"certificate": certificate, "chain": chain});

    // Only the assigned signer prepares; a certificate of someone else is refused.
    expect_problem(
        walk.server.post(
            &format!("/api/v1/outgoing/{id}/sign/prepare"),
            &walk.leader,
            &prepare,
        ),
        403,
        "forbidden",
    );
    let other = json!({"certificate": der_base64(&certs().join("signer-ec.pem")), "chain": chain});
    let refusal = expect_problem(
        walk.server.post(
            &format!("/api/v1/outgoing/{id}/sign/prepare"),
            &token,
            &other,
        ),
        422,
        "signature_refused",
    );
    assert!(
        refusal["detail"]
            .as_str()
            .unwrap()
            .contains("not to the assigned signer"),
        "{refusal}"
    );

    let prepared = walk.step(&token, id, "sign/prepare", &prepare);
    assert_eq!(prepared["digest_algorithm"], "sha256");
    assert_eq!(prepared["signature_algorithm"], "rsa_pkcs1v15");
    let attributes = STANDARD
        .decode(prepared["signed_attributes"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        STANDARD
            .decode(prepared["data_digest"].as_str().unwrap())
            .unwrap(),
        openssl::sha::sha256(&attributes)
    );

    // A signature over anything else, or a completion with another certificate, changes
    // nothing.
    let complete = |signature: &[u8], certificate: &str| {
        walk.server.post(
            &format!("/api/v1/outgoing/{id}/sign/complete"),
            &token,
            &json!({"signature": STANDARD.encode(signature), "certificate": certificate, "chain": chain}),
        )
    };
    expect_problem(
        complete(&token_sign(b"other data"), &certificate),
        422,
        "signature_refused",
    );
    expect_problem(
        complete(
            &token_sign(&attributes),
            &der_base64(&certs().join("signer-ec.pem")),
        ),
        422,
        "signature_refused",
    );
    assert_eq!(walk.detail(&token, id)["state"], "approved");

    let (status, signed) = status_json(complete(&token_sign(&attributes), &certificate));
    assert_eq!(status, 200, "{signed}");
    assert_eq!(signed["signature"], "external");
    // The preparation is consumed: a second completion finds the document signed.
    expect_problem(
        complete(&token_sign(&attributes), &certificate),
        409,
        "state_conflict",
    );

    let (released, pdf) = walk.issue_and_release(id);
    judge_released(&pdf, released["number_notation"].as_str().unwrap());
    let copy = walk.check_arrival(id, &released);

    // The district's leader assigns it to a specialist, who completes it with the district's
    // reply; a reply of another unit is refused and changes nothing.
    let leader = walk.server.demo_login("district.leader");
    let specialist = walk.server.demo_login("district.specialist");
    let (status, assigned) = status_json(walk.server.post(
        &format!("/api/v1/incoming/{copy}/assign"),
        &leader,
        &json!({
            "lead": {"kind": "user", "id": user_id(&walk.server, &specialist)},
            "instruction": "Đồng chí Lan soạn văn bản trả lời",
            "deadline": "2099-01-01",
        }),
    ));
    assert_eq!(status, 200, "{assigned}");
    let reply = json!({
        "document_type": "Công văn",
        "summary": "Về việc trả lời đề nghị chuyển đổi số",
        "notation": "UBND-TCKH",
        "signer": {"user_id": user_id(&walk.server, &leader), "position": "CHỦ TỊCH"},
        "internal_recipients": [commune],
    });
    let (status, answer) = status_json(draft_raw(&walk.server, &specialist, &reply, draft_pdf()));
    assert_eq!(status, 201, "{answer}");
    let complete = |reply: i64| {
        walk.server.post(
            &format!("/api/v1/incoming/{copy}/complete"),
            &specialist,
            &json!({"note": "Đã trả lời", "reply": reply}),
        )
    };
    for wrong in [id, 999_999] {
        let refused = expect_problem(complete(wrong), 422, "validation_failed");
        assert_eq!(refused["field"], "reply");
    }
    let (status, done) = status_json(complete(answer["id"].as_i64().unwrap()));
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["state"], "completed");
    assert_eq!(done["reply_outgoing_id"], answer["id"]);
    assert_eq!(
        walk.detail(&walk.clerk, id)["recipients"][0]["status_code"],
        "06"
    );
}

/// Drafts, approves and signs `n` documents through one signing session; returns their ids.
fn signed_documents(walk: &Walk, n: usize) -> Vec<i64> {
    let (status, session) = status_json(walk.server.post(
        "/api/v1/me/signing-sessions",
        &walk.leader,
        &json!({"pin": PIN}),
    ));
    assert_eq!(status, 201, "{session}");
    let session = session["token"].as_str().unwrap().to_owned();
    (0..n)
        .map(|_| {
            let id = walk.draft(walk.leader_id)["id"].as_i64().unwrap();
            walk.step(&walk.leader, id, "approve", &json!({}));
            walk.step(
                &walk.leader,
                id,
                "sign",
                &json!({"signing_session": session}),
            );
            id
        })
        .collect()
}

/// Posts `action` on every document of `ids` from its own thread, all released at once.
fn at_once(walk: &Walk, token: &str, ids: &[i64], action: &str, body: &Value) -> Vec<(u16, Value)> {
    let barrier = Arc::new(Barrier::new(ids.len()));
    let handles: Vec<_> = ids
        .iter()
        .map(|id| {
            let client = walk.server.client.clone();
            let url = walk.server.url(&format!("/api/v1/outgoing/{id}/{action}"));
            let (barrier, token, body) = (barrier.clone(), token.to_owned(), body.clone());
            std::thread::spawn(move || {
                barrier.wait();
                status_json(
                    client
                        .post(url)
                        .bearer_auth(token)
                        .json(&body)
                        .send()
                        .unwrap(),
                )
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn fifty_clerks_issuing_at_once_take_consecutive_numbers() {
    let env = TestEnv::new();
    let walk = Walk::start(&env);
    let ids = signed_documents(&walk, 50);
    let answers = at_once(&walk, &walk.clerk, &ids, "issue", &json!({}));
    let mut numbers: Vec<u64> = answers
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 200, "{body}");
            body["number"].as_u64().unwrap()
        })
        .collect();
    numbers.sort_unstable();
    let first = numbers[0];
    assert_eq!(numbers, (first..first + 50).collect::<Vec<_>>());
    // A paper document takes the next number of the same series.
    let recorded = walk.record_paper();
    assert_eq!(recorded["medium"], "paper");
    assert_eq!(recorded["number"].as_u64(), Some(first + 50));
    expect_problem(
        walk.server.post(
            &format!("/api/v1/outgoing/{}/release", recorded["id"]),
            &walk.clerk,
            &json!({}),
        ),
        409,
        "state_conflict",
    );
}

#[test]
fn parallel_signatures_give_exactly_one() {
    let env = TestEnv::new();
    let walk = Walk::start(&env);
    let id = walk.draft(walk.leader_id)["id"].as_i64().unwrap();
    walk.step(&walk.leader, id, "approve", &json!({}));
    let (_, session) = status_json(walk.server.post(
        "/api/v1/me/signing-sessions",
        &walk.leader,
        &json!({"pin": PIN}),
    ));
    let body = json!({"signing_session": session["token"]});
    let answers = at_once(&walk, &walk.leader, &[id; 8], "sign", &body);
    let ok = answers.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(ok, 1, "{answers:?}");
    for (status, body) in &answers {
        assert!(
            *status == 200 || (*status == 409 && body["code"] == "state_conflict"),
            "{body}"
        );
    }
    let files = &walk.detail(&walk.leader, id)["files"];
    let kinds: Vec<&str> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["draft", "signed"]);
}

#[test]
fn the_demo_shows_outgoing_documents_in_each_state_before_signing() {
    let env = TestEnv::new();
    let walk = Walk::start(&env);
    let (status, page) = status_json(
        walk.server
            .get("/api/v1/outgoing?per_page=50", &walk.leader),
    );
    assert_eq!(status, 200, "{page}");
    let mut states: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    states.sort_unstable();
    assert_eq!(
        states,
        ["approved", "draft", "issued", "returned"],
        "{page}"
    );
    // The approved one waits for its signer, who signs it with the demo PIN.
    let (_, mine) = status_json(
        walk.server
            .get("/api/v1/outgoing?signer=me&state=approved", &walk.leader),
    );
    let id = mine["items"][0]["id"].as_i64().unwrap();
    let signed = walk.step(&walk.leader, id, "sign", &json!({"pin": PIN}));
    assert_eq!(signed["state"], "signed");
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let env = TestEnv::new();
    let walk = Walk::start(&env);
    let metadata = walk.metadata(walk.leader_id);
    let count = || {
        let (_, page) = status_json(walk.server.get("/api/v1/outgoing", &walk.clerk));
        page["total"].as_u64().unwrap()
    };
    let before = count();
    // Not a PDF.
    expect_problem(
        draft_raw(
            &walk.server,
            &walk.specialist,
            &metadata,
            b"GIF89a not a pdf",
        ),
        415,
        "not_a_pdf",
    );
    // Clerks do not draft; a signer who is not a leader of the unit is named as the field.
    expect_problem(
        draft_raw(&walk.server, &walk.clerk, &metadata, draft_pdf()),
        403,
        "forbidden",
    );
    let specialist_id = user_id(&walk.server, &walk.specialist);
    let mut wrong_signer = metadata.clone();
    wrong_signer["signer"]["user_id"] = json!(specialist_id);
    let problem = expect_problem(
        draft_raw(&walk.server, &walk.specialist, &wrong_signer, draft_pdf()),
        422,
        "validation_failed",
    );
    assert_eq!(problem["field"], "signer");
    let mut twice = metadata.clone();
    twice["internal_recipients"] = json!([walk.district, walk.district]);
    expect_problem(
        draft_raw(&walk.server, &walk.specialist, &twice, draft_pdf()),
        422,
        "validation_failed",
    );
    assert_eq!(count(), before);

    let id = walk.draft(walk.leader_id)["id"].as_i64().unwrap();
    let post = |token: &str, action: &str, body: Value| {
        walk.server
            .post(&format!("/api/v1/outgoing/{id}/{action}"), token, &body)
    };
    // Wrong role, wrong unit, wrong state.
    expect_problem(
        post(&walk.specialist, "approve", json!({})),
        403,
        "forbidden",
    );
    expect_problem(
        post(&walk.district_clerk, "issue", json!({})),
        404,
        "not_found",
    );
    expect_problem(post(&walk.clerk, "issue", json!({})), 409, "state_conflict");
    expect_problem(
        post(&walk.leader, "sign", json!({"pin": PIN})),
        409,
        "state_conflict",
    );
    expect_problem(
        post(&walk.leader, "approve", json!({"revision": 7})),
        409,
        "state_conflict",
    );
    // Returned with a reason, revised by the drafter, approved at the new revision.
    walk.step(
        &walk.leader,
        id,
        "return",
        &json!({"reason": "Sửa lại trích yếu"}),
    );
    expect_problem(
        post(&walk.leader, "approve", json!({})),
        409,
        "state_conflict",
    );
    let (content_type, body) = multipart(&[
        ("file", "application/pdf", draft_pdf()),
        ("note", "text/plain", "Đã sửa trích yếu".as_bytes()),
    ]);
    let revised = walk
        .server
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/outgoing/{id}/revisions"),
            &walk.specialist,
        )
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .unwrap();
    let (status, revised) = status_json(revised);
    assert_eq!(status, 200, "{revised}");
    assert_eq!(
        (revised["state"].as_str(), revised["revision"].as_u64()),
        (Some("draft"), Some(2))
    );
    walk.step(&walk.leader, id, "approve", &json!({"revision": 2}));
    // Neither a PIN nor a session, or both.
    expect_problem(post(&walk.leader, "sign", json!({})), 400, "invalid_json");
    expect_problem(
        post(
            &walk.leader,
            "sign",
            json!({"pin": PIN, "signing_session": "x"}),
        ),
        400,
        "invalid_json",
    );
    let detail = walk.detail(&walk.leader, id);
    assert_eq!(detail["files"].as_array().unwrap().len(), 2);
    let trace: Vec<&str> = detail["trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["action"].as_str().unwrap())
        .collect();
    assert_eq!(trace, ["draft", "return", "revise", "approve"]);
}

/// An installation of another agency (its own database and server) with a department
/// 000.00.12.H56 and its clerk, created by the demo district's admin.
fn other_agency(env: &TestEnv) -> (Server, String) {
    let server = env.serve_demo(&[]);
    let admin = server.demo_login("district.admin");
    let district = unit_by_code(&server, &admin, DISTRICT)["id"]
        .as_i64()
        .unwrap();
    let (status, unit) = status_json(server.post(
        "/api/v1/units",
        &admin,
        &json!({"parent_id": district, "code": "000.00.12.H56", "name": "Sở Nội vụ tỉnh Vĩnh Phúc", "level": "department"}),
    ));
    assert_eq!(status, 201, "{unit}");
    let (status, user) = status_json(server.post(
        "/api/v1/users",
        &admin,
        &json!({"username": "snv.clerk", "display_name": "Phạm Thị Lan", "unit_id": unit["id"], "roles": ["clerk"], "password": "mat-khau-dai-snv"}),
    ));
    assert_eq!(status, 201, "{user}");
    let clerk = server.login("snv.clerk", "mat-khau-dai-snv");
    common::install_dev_seal(env, "000.00.12.H56");
    (server, clerk)
}

#[test]
fn a_released_document_travels_to_another_agency_as_a_signed_package() {
    let env = TestEnv::new();
    let walk = Walk::start(&env);
    let id = walk.draft(walk.leader_id)["id"].as_i64().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.edxml");
    let export = |id: i64| {
        env.run(&[
            "edxml",
            "export",
            &id.to_string(),
            "-o",
            &file.display().to_string(),
            "--dev",
        ])
    };
    // Not yet issued: nothing to send, no file.
    let early = export(id);
    assert_eq!(early.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&early.stderr)
        .contains("is draft; only an issued or released document can be sent"));
    assert!(!file.exists());

    walk.step(&walk.leader, id, "approve", &json!({}));
    walk.step(&walk.leader, id, "sign", &json!({"pin": PIN}));
    let (released, pdf) = walk.issue_and_release(id);
    let out = export(id);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let identifier = released["document_identifier"].as_str().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout)
        .starts_with(&format!("exported: {identifier} to 000.00.12.H56")));

    // The package says what the register says, carries the released PDF, and is sealed.
    let bytes = std::fs::read(&file).unwrap();
    let read = vanthu_interchange::read(&bytes, &vanthu_interchange::Limits::default()).unwrap();
    let vanthu_interchange::Message::Document(package) = read.value else {
        panic!()
    };
    assert_eq!(read.tolerated, Vec::new());
    assert_eq!(package.header.document_id.as_str(), identifier);
    assert_eq!(
        package.header.code.as_str(),
        released["number_notation"].as_str().unwrap()
    );
    assert_eq!(package.header.from.id.as_str(), COMMUNE);
    assert_eq!(package.header.signer.competence.as_deref(), Some("TM."));
    assert_eq!(package.header.other.priority.as_str(), "khan");
    assert_eq!(package.attachments[0].data, pdf);
    if let Some(_tools) = require("exported_package_xmlsec1", &[Tool::Xmlsec1]) {
        let judged = Command::new("xmlsec1")
            .arg("--verify")
            .arg("--trusted-pem")
            .arg(certs().join("root-ca.pem"))
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            judged.status.success(),
            "{}",
            String::from_utf8_lossy(&judged.stderr)
        );
    }

    // The other agency receives it, verified, once, and registers it.
    let other_env = TestEnv::new();
    let (other, clerk) = other_agency(&other_env);
    for round in ["imported", "already imported"] {
        let imported = other_env.run(&[
            "edxml",
            "import",
            &file.display().to_string(),
            "--clerk",
            "snv.clerk",
            "--dev",
        ]);
        let said = String::from_utf8_lossy(&imported.stdout).into_owned();
        assert!(
            imported.status.success(),
            "{said}{}",
            String::from_utf8_lossy(&imported.stderr)
        );
        assert!(
            said.lines()
                .last()
                .unwrap()
                .starts_with(&format!("{round}: incoming document")),
            "{said}"
        );
        assert!(said.ends_with("PDF verification valid\n"), "{said}");
    }
    let (status, page) = status_json(other.get("/api/v1/incoming?per_page=200", &clerk));
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["number_notation"], released["number_notation"]);
    let copy = items[0]["id"].as_i64().unwrap();
    let (status, registered) = status_json(other.post(
        &format!("/api/v1/incoming/{copy}/register"),
        &clerk,
        &json!({}),
    ));
    assert_eq!(
        (status, registered["state"].as_str()),
        (200, Some("registered")),
        "{registered}"
    );

    // The other agency's status packages flow back: the sender sees 03 for it, once.
    let external = |walk: &Walk| {
        walk.detail(&walk.clerk, id)["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["external"]["agency_code"] == "000.00.12.H56")
            .unwrap()["status_code"]
            .clone()
    };
    assert_eq!(external(&walk), Value::Null);
    let status_file = dir.path().join("status.edxml");
    let wrote = other_env.run(&[
        "edxml",
        "status",
        &copy.to_string(),
        "-o",
        &status_file.display().to_string(),
        "--dev",
    ]);
    assert!(
        wrote.status.success(),
        "{}",
        String::from_utf8_lossy(&wrote.stderr)
    );
    assert!(
        String::from_utf8_lossy(&wrote.stdout).starts_with(&format!("status 03 for {identifier}"))
    );
    for round in ["recorded", "already known"] {
        let applied = env.run(&[
            "edxml",
            "import",
            &status_file.display().to_string(),
            "--clerk",
            "commune.clerk",
            "--dev",
        ]);
        let said = String::from_utf8_lossy(&applied.stdout).into_owned();
        assert!(
            applied.status.success(),
            "{said}{}",
            String::from_utf8_lossy(&applied.stderr)
        );
        assert_eq!(
            said.trim(),
            format!(
                "{round}: status 03 of 000.00.12.H56 for outgoing document {id} ({identifier})"
            )
        );
    }
    assert_eq!(external(&walk), "03");
    // A status older than the one recorded (01, sent before the 03) changes nothing.
    let bytes = std::fs::read(&status_file).unwrap();
    let vanthu_interchange::Message::Status(mut late) =
        vanthu_interchange::read(&bytes, &vanthu_interchange::Limits::default())
            .unwrap()
            .value
    else {
        panic!("not a status package")
    };
    late.status = vanthu_routing::InterchangeStatus::Arrived;
    late.timestamp -= chrono::TimeDelta::hours(1);
    let seal = vanthu_interchange::Seal::new(
        openssl::pkey::PKey::private_key_from_pem(
            &std::fs::read(certs().join("seal.key")).unwrap(),
        )
        .unwrap(),
        vec![
            openssl::x509::X509::from_pem(&std::fs::read(certs().join("seal.pem")).unwrap())
                .unwrap(),
            openssl::x509::X509::from_pem(&std::fs::read(certs().join("issuing-ca.pem")).unwrap())
                .unwrap(),
        ],
    )
    .unwrap();
    let late_file = dir.path().join("late.edxml");
    std::fs::write(
        &late_file,
        vanthu_interchange::sign(&late.to_xml().unwrap(), &seal).unwrap(),
    )
    .unwrap();
    let applied = env.run(&[
        "edxml",
        "import",
        &late_file.display().to_string(),
        "--clerk",
        "commune.clerk",
        "--dev",
    ]);
    assert!(
        String::from_utf8_lossy(&applied.stdout).starts_with("already known: status 01"),
        "{}",
        String::from_utf8_lossy(&applied.stdout)
    );
    assert_eq!(external(&walk), "03");
    let trace = walk.detail(&walk.clerk, id)["trace"].clone();
    let last = trace.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["action"].as_str(), last["note"].as_str()),
        (Some("recipient_status"), Some("000.00.12.H56: 03")),
        "{trace}"
    );
    // Only the sending unit's clerk records statuses.
    let stranger = env.run(&[
        "edxml",
        "import",
        &status_file.display().to_string(),
        "--clerk",
        "district.clerk",
        "--dev",
    ]);
    assert_eq!(stranger.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&stranger.stderr).contains("is not a clerk of the unit that sent")
    );
}

#[test]
fn issued_and_received_documents_are_copied_under_the_units_seal() {
    let env = TestEnv::new();
    let walk = Walk::start(&env);
    let id = walk.draft(walk.leader_id)["id"].as_i64().unwrap();
    let copies = |token: &str, path: &str, form: &str| {
        walk.server.post(
            &format!("/api/v1/{path}/copies"),
            token,
            &json!({ "form": form }),
        )
    };
    let outgoing = format!("outgoing/{id}");
    // A draft is not copied; nor by anyone but the unit's clerks; nor in an unknown form.
    expect_problem(
        copies(&walk.clerk, &outgoing, "sao_y"),
        409,
        "state_conflict",
    );
    walk.step(&walk.leader, id, "approve", &json!({}));
    walk.step(&walk.leader, id, "sign", &json!({"pin": PIN}));
    let (released, pdf) = walk.issue_and_release(id);
    let mut db = common::db::DbObserver::open(&env);
    let before = db.snapshot();
    expect_problem(
        copies(&walk.specialist, &outgoing, "sao_y"),
        403,
        "forbidden",
    );
    expect_problem(copies(&walk.leader, &outgoing, "sao_y"), 403, "forbidden");
    let unknown = expect_problem(
        copies(&walk.clerk, &outgoing, "ban_sao"),
        422,
        "validation_failed",
    );
    assert!(
        unknown["detail"].as_str().unwrap().contains("sao_y"),
        "{unknown}"
    );
    let list = |token: &str, path: &str| {
        let (status, list) = status_json(walk.server.get(&format!("/api/v1/{path}/copies"), token));
        assert_eq!(status, 200, "{list}");
        list.as_array().unwrap().clone()
    };
    assert!(list(&walk.clerk, &outgoing).is_empty());
    before.assert_unchanged(&db.snapshot(), "refused copies");

    // Sao y by the commune's clerk: the issued file with a third signature, the seal's, its
    // stamp at the top right of page 1; the leader's and the first seal stay valid.
    let (status, copy) = status_json(copies(&walk.clerk, &outgoing, "sao_y"));
    assert_eq!(status, 201, "{copy}");
    assert_eq!(copy["form"], "sao_y");
    assert_eq!(copy["outgoing_id"], id);
    assert_eq!(copy["source_sha256"], hex(&openssl::sha::sha256(&pdf)));
    let file = walk.server.get(copy["file"].as_str().unwrap(), &walk.clerk);
    assert_eq!(file.status(), 200);
    let copied = file.bytes().unwrap().to_vec();
    assert_eq!(copy["sha256"], hex(&openssl::sha::sha256(&copied)));
    assert!(
        copied.starts_with(&pdf),
        "an incremental update of the issued file"
    );
    judge_copy(&copied, 3);
    let (rect, reason) = signature_field(&copied, "chu_ky_ban_sao").unwrap();
    assert_eq!(reason, "SAO Y - Ủy ban nhân dân xã Đồng Cương");
    // A4, 20 pt from the top and right edges.
    assert!(
        (rect[2] - 575.0).abs() < 1.0 && (rect[3] - 822.0).abs() < 1.0,
        "{rect:?}"
    );
    expect_problem(
        walk.server
            .get(&format!("/api/v1/{outgoing}/copies"), &walk.district_clerk),
        404,
        "not_found",
    );

    // The district copies what it received (sao lục) under its own seal: four signatures.
    let arrived = walk.check_arrival(id, &released);
    let incoming = format!("incoming/{arrived}");
    expect_problem(copies(&walk.clerk, &incoming, "sao_luc"), 404, "not_found");
    let (status, luc) = status_json(copies(&walk.district_clerk, &incoming, "sao_luc"));
    assert_eq!(status, 201, "{luc}");
    assert_eq!(luc["incoming_id"], arrived);
    let luc_pdf = walk
        .server
        .get(luc["file"].as_str().unwrap(), &walk.district_clerk)
        .bytes()
        .unwrap()
        .to_vec();
    judge_copy(&luc_pdf, 3);
    let (_, reason) = signature_field(&luc_pdf, "chu_ky_ban_sao").unwrap();
    assert!(reason.starts_with("SAO LỤC - "), "{reason}");
    assert_eq!(list(&walk.district_clerk, &incoming).len(), 1);
    assert_eq!(list(&walk.clerk, &outgoing).len(), 1);
    // The commune cannot read the district's copy of its document.
    expect_problem(
        walk.server.get(luc["file"].as_str().unwrap(), &walk.clerk),
        404,
        "not_found",
    );

    // Recalled, it is copied no more, and nothing is added.
    walk.step(
        &walk.clerk,
        id,
        "recall",
        &json!({"reason": "Ban hành nhầm"}),
    );
    expect_problem(
        copies(&walk.clerk, &outgoing, "sao_y"),
        409,
        "state_conflict",
    );
    expect_problem(
        copies(&walk.district_clerk, &incoming, "sao_y"),
        409,
        "state_conflict",
    );
    assert_eq!(list(&walk.clerk, &outgoing).len(), 1);

    // The copy is in the audit log with its file, and its download too.
    let auditor = walk.server.demo_login("district.auditor");
    let entries = audit_entries(
        &walk.server,
        &auditor,
        &format!("outgoing:{id}"),
        &["outgoing.copy", "outgoing.recall"],
    );
    let made = entries
        .iter()
        .find(|e| e["action"] == "outgoing.copy")
        .unwrap_or_else(|| panic!("no copy entry: {entries:?}"));
    assert_eq!(made["file_sha256"], copy["sha256"], "{made}");
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "outgoing.download" && e["file_sha256"] == copy["sha256"]),
        "{entries:?}"
    );
}

/// The pages of `file` as pdftotext (poppler) reads them, one string a page.
fn page_texts(file: &Path) -> Vec<String> {
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(file)
        .arg("-")
        .output()
        .expect("run pdftotext");
    assert!(out.status.success(), "pdftotext");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_owned).collect();
    // pdftotext ends every page with a form feed.
    assert_eq!(pages.pop().as_deref(), Some(""), "{text}");
    pages
}

/// A trích sao: the clerk names pages of the released document; vanthu writes them as a new
/// PDF with the unit's seal (the TRÍCH SAO stamp on page 1) as its one signature. pyHanko
/// finds the seal valid and covering the whole file, qpdf finds the file sound, pdftotext
/// reads the pages named and the stamp. Bad selections are refused naming `pages`, and
/// change nothing.
#[test]
fn a_trich_sao_extracts_the_pages_named_under_the_units_seal() {
    let env = TestEnv::new();
    let walk = Walk::start(&env);
    let draft = common::pages_pdf(&[b"TRANG MOT", b"TRANG HAI", b"TRANG BA", b"TRANG BON"]);
    let id = walk.draft_of(walk.leader_id, &draft)["id"]
        .as_i64()
        .unwrap();
    walk.step(&walk.leader, id, "approve", &json!({}));
    walk.step(&walk.leader, id, "sign", &json!({"pin": PIN}));
    let (released, pdf) = walk.issue_and_release(id);
    let outgoing = format!("outgoing/{id}");
    let copy = |token: &str, path: &str, body: &Value| {
        walk.server
            .post(&format!("/api/v1/{path}/copies"), token, body)
    };

    let mut db = common::db::DbObserver::open(&env);
    let before = db.snapshot();
    for (pages, says) in [
        (None, "needs the pages"),
        (Some(""), "name the pages"),
        (Some("0"), "not a page"),
        (Some("1,,2"), "empty item"),
        (Some("1 - 2"), "not a page"),
        (Some("3-1"), "backwards"),
        (Some("1-2,2"), "already selected"),
        (Some("4,1"), "order of the document"),
        (Some("2,5"), "4 page(s)"),
        (Some("1-4"), "sao_y"),
    ] {
        let body = json!({ "form": "trich_sao", "pages": pages });
        let problem = expect_problem(
            copy(&walk.clerk, &outgoing, &body),
            422,
            "validation_failed",
        );
        assert_eq!(problem["field"], "pages", "{body}: {problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{body}: {problem}");
    }
    let whole = json!({ "form": "sao_y", "pages": "1" });
    let problem = expect_problem(
        copy(&walk.clerk, &outgoing, &whole),
        422,
        "validation_failed",
    );
    assert_eq!(problem["field"], "pages", "{problem}");
    before.assert_unchanged(&db.snapshot(), "refused extracts");

    let body = json!({ "form": "trich_sao", "pages": "1-2,4" });
    let (status, made) = status_json(copy(&walk.clerk, &outgoing, &body));
    assert_eq!(status, 201, "{made}");
    assert_eq!(
        (made["form"].as_str(), made["pages"].as_str()),
        (Some("trich_sao"), Some("1-2,4")),
        "{made}"
    );
    assert_eq!(made["source_sha256"], hex(&openssl::sha::sha256(&pdf)));
    let extract = walk
        .server
        .get(made["file"].as_str().unwrap(), &walk.clerk)
        .bytes()
        .unwrap()
        .to_vec();
    assert_eq!(made["sha256"], hex(&openssl::sha::sha256(&extract)));
    let (_, reason) = signature_field(&extract, "chu_ky_ban_sao").unwrap();
    assert_eq!(reason, "TRÍCH SAO - Ủy ban nhân dân xã Đồng Cương");
    // Only the seal: the official's signature and the first seal were on page 4 of a file
    // the extract is not.
    for gone in ["chu_ky_nguoi_ky", "chu_ky_co_quan", "so_ky_hieu"] {
        assert!(signature_field(&extract, gone).is_none(), "{gone}");
        assert!(field_value(&extract, gone).is_none(), "{gone}");
    }
    judge_extract(
        &extract,
        "Ủy ban nhân dân xã Đồng Cương",
        &["TRANG MOT", "TRANG HAI", "TRANG BON"],
    );

    // The district extracts from what it received, under its own seal.
    let arrived = walk.check_arrival(id, &released);
    let incoming = format!("incoming/{arrived}");
    let body = json!({ "form": "trich_sao", "pages": "3" });
    let (status, theirs) = status_json(copy(&walk.district_clerk, &incoming, &body));
    assert_eq!(status, 201, "{theirs}");
    let file = walk
        .server
        .get(theirs["file"].as_str().unwrap(), &walk.district_clerk)
        .bytes()
        .unwrap()
        .to_vec();
    judge_extract(&file, "Ủy ban nhân dân huyện Yên Lạc", &["TRANG BA"]);

    // Listed with its pages, and in the audit log with its file and pages.
    let (_, list) = status_json(
        walk.server
            .get(&format!("/api/v1/{outgoing}/copies"), &walk.clerk),
    );
    assert_eq!(list[0]["pages"], "1-2,4", "{list}");
    let auditor = walk.server.demo_login("district.auditor");
    let entries = audit_entries(
        &walk.server,
        &auditor,
        &outgoing.replace('/', ":"),
        &["outgoing.copy"],
    );
    let entry = entries
        .iter()
        .find(|e| e["action"] == "outgoing.copy")
        .unwrap_or_else(|| panic!("no copy entry: {entries:?}"));
    assert_eq!(entry["file_sha256"], made["sha256"], "{entry}");
    assert!(entry.to_string().contains("\"pages\":\"1-2,4\""), "{entry}");

    // A document issued on paper has no file to copy, in any form; nothing is written.
    let recorded = walk.record_paper();
    let on_paper = format!("outgoing/{}", recorded["id"]);
    let before = db.snapshot();
    for body in [
        json!({"form": "sao_y"}),
        json!({"form": "trich_sao", "pages": "1"}),
    ] {
        let answer = copy(&walk.clerk, &on_paper, &body);
        expect_problem_saying(answer, 409, "document_on_paper", "paper original");
    }
    before.assert_unchanged(&db.snapshot(), "copies of a paper document");
}

/// An extract as the tools see it: one signature (the seal) valid and covering the whole
/// file (pyHanko), a sound file (qpdf) of `pages`, in order (pdftotext), the stamp TRÍCH SAO,
/// the copying `organisation` and the signing time at +07:00 on page 1.
fn judge_extract(pdf: &[u8], organisation: &str, pages: &[&str]) {
    let Some(tools) = require(
        "judge_extract",
        &[Tool::PyHanko, Tool::Qpdf, Tool::Pdftotext],
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("extract.pdf");
    std::fs::write(&file, pdf).unwrap();
    oracles::assert_pyhanko_accepts(&tools, &file, &certs().join("root-ca.pem"));
    let check = Command::new("qpdf")
        .arg("--check")
        .arg(&file)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stdout).to_string()
        + &String::from_utf8_lossy(&check.stderr);
    assert!(
        check.status.success() && !said.contains("WARNING"),
        "{said}"
    );
    let count = Command::new("qpdf")
        .arg("--show-npages")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&count.stdout).trim(),
        pages.len().to_string()
    );
    let texts = page_texts(&file);
    assert_eq!(texts.len(), pages.len(), "{texts:?}");
    for (text, page) in texts.iter().zip(pages) {
        assert!(text.contains(page), "{page} not in {text:?}");
    }
    let first = &texts[0];
    assert!(first.contains("TRÍCH SAO"), "{first}");
    let folded = first.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(folded.contains(organisation), "{first}");
    let time = signing_time_in(first);
    assert!(time.ends_with("+07:00"), "{first}");
}

/// The ISO 8601 signing time printed in `text` (`2026-11-22T10:15:00+07:00`).
fn signing_time_in(text: &str) -> String {
    text.split_whitespace()
        .find(|w| {
            w.len() == 25
                && chrono::DateTime::parse_from_rfc3339(w).is_ok()
                && w.as_bytes()[10] == b'T'
        })
        .unwrap_or_else(|| panic!("no ISO 8601 time in {text}"))
        .to_owned()
}

/// A completion with nothing prepared, against a preparation since replaced, or after the
/// preparation expired is refused with a problem naming what to do, and changes nothing. The
/// server runs with a three-second preparation lifetime (`--prepared-signature-ttl`).
#[test]
fn an_expired_or_replaced_preparation_is_refused_and_changes_nothing() {
    const TTL: u64 = 3;
    let env = TestEnv::new();
    let walk = Walk::start_with(&env, &["--prepared-signature-ttl", &TTL.to_string()]);
    let (official_id, token, _) = token_holder(&walk);
    let id = walk.draft(official_id)["id"].as_i64().unwrap();
    walk.step(&walk.leader, id, "approve", &json!({}));
    let certificate = der_base64(&certs().join("signer-rsa.pem"));
    let chain = vec![der_base64(&certs().join("issuing-ca.pem"))];
    let prepare = json!({"certificate": certificate, "chain": chain});
    let complete = |signature: &[u8]| {
        walk.server.post(
            &format!("/api/v1/outgoing/{id}/sign/complete"),
            &token,
            &json!({"signature": STANDARD.encode(signature), "certificate": certificate, "chain": chain}),
        )
    };
    let attributes = |prepared: &Value| {
        STANDARD
            .decode(prepared["signed_attributes"].as_str().unwrap())
            .unwrap()
    };
    let mut db = common::db::DbObserver::open(&env);
    let before = db.snapshot();
    let none = expect_problem(complete(b"anything"), 409, "prepared_signature_gone");
    assert!(
        none["detail"]
            .as_str()
            .unwrap()
            .contains("prepare the signature again"),
        "{none}"
    );
    before.assert_unchanged(&db.snapshot(), "a completion with nothing prepared");

    // A second preparation replaces the first: the token's signature over the first one's
    // attributes no longer matches.
    let first = walk.step(&token, id, "sign/prepare", &prepare);
    // The signing time, to the second, is in the attributes: a later second makes them differ.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = walk.step(&token, id, "sign/prepare", &prepare);
    let lifetime = chrono::DateTime::parse_from_rfc3339(second["expires_at"].as_str().unwrap())
        .unwrap()
        - chrono::Utc::now().fixed_offset();
    assert!(lifetime.num_seconds() <= TTL as i64, "{second}");
    let prepared = db.snapshot();
    assert_ne!(attributes(&first), attributes(&second));
    expect_problem(
        complete(&token_sign(&attributes(&first))),
        422,
        "signature_refused",
    );

    // Past its lifetime, even the right signature is refused, and the document stays approved.
    std::thread::sleep(std::time::Duration::from_secs(TTL + 1));
    let expired = expect_problem(
        complete(&token_sign(&attributes(&second))),
        409,
        "prepared_signature_gone",
    );
    assert!(
        expired["detail"].as_str().unwrap().contains("expired"),
        "{expired}"
    );
    prepared.assert_unchanged(&db.snapshot(), "completions refused");
    let detail = walk.detail(&token, id);
    assert_eq!(detail["state"], "approved");
    assert_eq!(detail["files"].as_array().unwrap().len(), 1, "{detail}");
}

/// Where the appearance of signature field `name` draws its image: the widget's /Rect, the
/// image's width in pixels, and its placement on the page, from the `w 0 0 h x y cm` before
/// `/Im1 Do` (the appearance's origin is the widget's corner). `None` when it draws no image.
fn drawn_image(pdf: &[u8], name: &str) -> Option<(i64, [f32; 4])> {
    let doc = Document::load_mem(pdf).unwrap();
    let field = doc.objects.values().find_map(|o| {
        let d = o.as_dict().ok()?;
        (d.get(b"T").ok()?.as_str().ok()? == name.as_bytes()).then(|| d.clone())
    })?;
    let rect: Vec<f32> = field
        .get(b"Rect")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_float().unwrap())
        .collect();
    let ap = field.get(b"AP").ok()?.as_dict().ok()?;
    let stream = doc
        .get_object(ap.get(b"N").ok()?.as_reference().ok()?)
        .unwrap()
        .as_stream()
        .unwrap();
    let xobjects = stream
        .dict
        .get(b"Resources")
        .ok()?
        .as_dict()
        .ok()?
        .get(b"XObject")
        .ok()?
        .as_dict()
        .ok()?;
    let image = doc
        .get_object(xobjects.get(b"Im1").ok()?.as_reference().ok()?)
        .unwrap()
        .as_stream()
        .unwrap();
    assert_eq!(
        image.dict.get(b"Subtype").unwrap().as_name().unwrap(),
        b"Image"
    );
    let width = image.dict.get(b"Width").unwrap().as_i64().unwrap();
    let content = stream.decompressed_content().unwrap();
    let text = String::from_utf8_lossy(&content);
    let before = &text[..text.find(" cm /Im1 Do")?];
    let n: Vec<f32> = before
        .split_whitespace()
        .rev()
        .take(6)
        .map(|v| v.parse().unwrap())
        .collect();
    let (x, y) = (rect[0].min(rect[2]) + n[1], rect[1].min(rect[3]) + n[0]);
    Some((width, [x, y, x + n[5], y + n[2]]))
}

fn put_png(
    server: &Server,
    path: &str,
    token: &str,
    content_type: &str,
    png: &[u8],
) -> (u16, Value) {
    status_json(
        server
            .request(reqwest::Method::PUT, path, token)
            .header("Content-Type", content_type)
            .body(png.to_vec())
            .send()
            .unwrap(),
    )
}

/// A leader's signature image and the commune's seal image, uploaded and checked, are drawn
/// in the released PDF (image XObjects), the seal at its real size over the left third of the
/// signature; pyHanko and pdfsig still find both signatures valid.
#[test]
fn uploaded_signature_and_seal_images_are_drawn_in_the_signatures() {
    let signature = include_bytes!("../crates/pades/assets/demo/signature.png");
    let seal = include_bytes!("../crates/pades/assets/demo/seal.png");
    let env = TestEnv::new();
    let walk = Walk::start(&env);
    let admin = walk.server.demo_login("commune.admin");
    let commune = unit_by_code(&walk.server, &admin, COMMUNE)["id"]
        .as_i64()
        .unwrap();
    let seal_path = format!("/api/v1/units/{commune}/seal-image");
    let me = "/api/v1/me/signature-image";
    let server = &walk.server;

    // Only leaders have a signature image and only admins set a seal; what is sent must be a
    // PNG of the right kind. Nothing refused is kept.
    let mut db = common::db::DbObserver::open(&env);
    let before = db.snapshot();
    expect_problem(server.get(me, &walk.leader), 404, "not_found");
    assert_eq!(
        put_png(server, me, &walk.specialist, "image/png", signature).0,
        403
    );
    assert_eq!(
        put_png(server, &seal_path, &walk.leader, "image/png", seal).0,
        403
    );
    assert_eq!(
        put_png(server, me, &walk.leader, "text/plain", signature).0,
        415
    );
    let (status, body) = put_png(
        server,
        me,
        &walk.leader,
        "image/png",
        b"\x89PNG\r\n\x1a\nbroken",
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("validation_failed")),
        "{body}"
    );
    let (status, body) = put_png(server, &seal_path, &admin, "image/png", signature);
    assert_eq!(status, 422, "a signature is not the size of a seal: {body}");
    let too_big = vec![0u8; 1024 * 1024 + 1];
    assert_eq!(
        put_png(server, me, &walk.leader, "image/png", &too_big).0,
        413
    );
    expect_problem(server.get(&seal_path, &walk.clerk), 404, "not_found");
    before.assert_unchanged(&db.snapshot(), "refused uploads");

    let (status, stored) = put_png(server, me, &walk.leader, "image/png", signature);
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["width"], 600);
    let (status, stored) = put_png(server, &seal_path, &admin, "image/png", seal);
    assert_eq!(status, 200, "{stored}");
    assert!(
        (stored["size_mm"][0].as_f64().unwrap() - 36.0).abs() < 1.0,
        "{stored}"
    );
    let back = server.get(&seal_path, &walk.clerk);
    assert_eq!(back.status(), 200);
    assert_eq!(back.bytes().unwrap().as_ref(), &seal[..]);
    assert_eq!(
        server.get(me, &walk.leader).bytes().unwrap().as_ref(),
        &signature[..]
    );

    let id = walk.draft(walk.leader_id)["id"].as_i64().unwrap();
    walk.step(&walk.leader, id, "approve", &json!({}));
    walk.step(&walk.leader, id, "sign", &json!({"pin": PIN}));
    let (released, pdf) = walk.issue_and_release(id);
    judge_released(&pdf, released["number_notation"].as_str().unwrap());
    let (width, official) = drawn_image(&pdf, "chu_ky_nguoi_ky").expect("the signature image");
    assert_eq!(width, 600);
    let (width, sealed) = drawn_image(&pdf, "chu_ky_co_quan").expect("the seal image");
    assert_eq!(width, 425);
    // The seal's right edge a third into the signature image, centred on it vertically, at
    // its real size (36 mm = 102 pt).
    let third = official[0] + (official[2] - official[0]) / 3.0;
    assert!(
        (sealed[2] - third).abs() < 0.5,
        "{sealed:?} over {official:?}"
    );
    let middle = |r: [f32; 4]| (r[1] + r[3]) / 2.0;
    assert!(
        (middle(sealed) - middle(official)).abs() < 0.5,
        "{sealed:?} over {official:?}"
    );
    assert!((sealed[2] - sealed[0] - 102.0).abs() < 1.0, "{sealed:?}");

    // Uploads are in the audit log with their files.
    let auditor = server.demo_login("district.auditor");
    let entries = audit_entries(
        server,
        &auditor,
        &format!("unit:{commune}"),
        &["unit.seal_image"],
    );
    let upload = entries
        .iter()
        .find(|e| e["action"] == "unit.seal_image")
        .unwrap();
    assert_eq!(upload["file_sha256"], hex(&openssl::sha::sha256(seal)));
    let entries = audit_entries(
        server,
        &auditor,
        &format!("user:{}", walk.leader_id),
        &["user.signature_image"],
    );
    let upload = entries
        .iter()
        .find(|e| e["action"] == "user.signature_image")
        .unwrap();
    assert_eq!(upload["file_sha256"], hex(&openssl::sha::sha256(signature)));
}

/// The audit entries about `object`, once every one of `wanted` is there (the log is written
/// shortly after the step), or after 20 seconds.
fn audit_entries(server: &Server, auditor: &str, object: &str, wanted: &[&str]) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (status, page) = status_json(server.get(
            &format!("/api/v1/audit/entries?object={object}&per_page=200"),
            auditor,
        ));
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap().clone();
        let all = wanted
            .iter()
            .all(|w| items.iter().any(|e| e["action"] == *w));
        if all || std::time::Instant::now() > deadline {
            return items;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
