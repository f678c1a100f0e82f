//! A leader's own key in a PKCS#11 token on the server (SoftHSM2), through the real binary
//! over HTTP on SQLite or PostgreSQL (`VANTHU_TEST_DATABASE`), on the demo organisation: the
//! token is labelled with the leader's username and its user PIN is their signing PIN. The
//! leader signs with it (pyHanko and pdfsig judge the PDF), wrong PINs are counted by the
//! server before the token sees them and five block signing (not login), signing sessions
//! are refused for it, nobody else reaches it, and the inventory lists it as `pkcs11`.
//!
//! Each test makes its own token (nextest runs each test in its own process, and SoftHSM2
//! reads its configuration once per process).

mod common;

use std::process::Command;

use common::token::{common_name, dev_cert, dev_file};
use common::tools::{require, Tool, Tools};
use common::{expect_problem, oracles, status_json, typed_json, Server, TestEnv};
use openssl::pkey::PKey;
use serde_json::{json, Value};
use vanthu_pkcs11::softhsm::{SoftHsm, CONF_ENV};

/// The leader whose token it is, and the label of their token, key and certificate.
const LEADER: &str = "commune.leader";
/// The token's user PIN: the leader's signing PIN for the key in it.
const TOKEN_PIN: &str = "802461";
/// The demo leaders' signing PIN for their server-held keys.
const DEMO_PIN: &str = "246810";

/// A token labelled [`LEADER`] holding the development RSA signer's key and certificate
/// (labelled [`LEADER`]) and the issuing CA's certificate, as a certification authority
/// hands one out.
fn leader_token() -> SoftHsm {
    let hsm = SoftHsm::create(LEADER, TOKEN_PIN).unwrap();
    let key = std::fs::read(dev_file("signer-rsa.key")).unwrap();
    hsm.import_key(LEADER, &[1], &PKey::private_key_from_pem(&key).unwrap())
        .unwrap();
    hsm.use_in_this_process();
    hsm.store_certificate(LEADER, &[1], &dev_cert("signer-rsa.pem"))
        .unwrap();
    hsm.store_certificate("issuing-ca", &[0x10], &dev_cert("issuing-ca.pem"))
        .unwrap();
    hsm
}

/// The leader's token, and the server seeing it with the leader signed in; `None` (the
/// test skipped) without the tools named.
fn start(test: &str, tools: &[Tool]) -> Option<(Tools, SoftHsm, TestEnv, Server, String)> {
    let found = require(test, tools)?;
    let hsm = leader_token();
    let env = TestEnv::new();
    let server = serve(&env, &hsm);
    let leader = server.demo_login(LEADER);
    Some((found, hsm, env, server, leader))
}

/// `vanthu serve --demo --personal-pkcs11-module` seeing `hsm`.
fn serve(env: &TestEnv, hsm: &SoftHsm) -> Server {
    let mut cmd: Command = env.command();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--demo"])
        .arg("--personal-pkcs11-module")
        .arg(hsm.module())
        .env(CONF_ENV, hsm.conf());
    Server::start(cmd)
}

/// A document of the commune drafted by its specialist and approved by its leader, to be
/// signed by the leader; returns its id.
fn approved_document(server: &Server, leader: &str, summary: &str) -> i64 {
    let id = common::commune_draft(
        server,
        leader,
        summary,
        b"CONG VAN KY BANG KHOA TRONG THIET BI",
    );
    let (status, out) = status_json(server.post(
        &format!("/api/v1/outgoing/{id}/approve"),
        leader,
        &json!({}),
    ));
    assert_eq!(status, 200, "approve: {out}");
    id
}

fn sign(server: &Server, token: &str, id: i64, body: &Value) -> reqwest::blocking::Response {
    server.post(&format!("/api/v1/outgoing/{id}/sign"), token, body)
}

/// A signing session token of the right form (48 bytes, base64url) that vanthu never issued.
fn session_token_of_the_right_form() -> String {
    "A".repeat(64)
}

#[test]
fn a_leader_signs_with_the_key_in_their_own_token_and_nobody_else_can() {
    let Some((tools, _hsm, _env, server, leader)) = start(
        "a_leader_signs_with_the_key_in_their_own_token",
        &[Tool::SoftHsm, Tool::PyHanko, Tool::Pdfsig],
    ) else {
        return;
    };

    // Found at start, before any signature: the inventory lists it, read without a login.
    let auditor = server.demo_login("district.auditor");
    let (status, inventory) = status_json(server.get("/api/v1/certificates", &auditor));
    assert_eq!(status, 200, "{inventory}");
    let subject_cn = common_name(&dev_cert("signer-rsa.pem"));
    let in_token: Vec<&Value> = inventory
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["key_location"] == "pkcs11" && e["purpose"] == "personal")
        .collect();
    assert_eq!(in_token.len(), 1, "{inventory}");
    assert_eq!(in_token[0]["status"], "valid", "{}", in_token[0]);
    assert!(
        in_token[0]["subject"]
            .as_str()
            .unwrap()
            .contains(&subject_cn),
        "{}",
        in_token[0]
    );

    // The owner sees it as their key, in their token.
    let (status, mine) = status_json(server.get("/api/v1/me/signing-key", &leader));
    assert_eq!(status, 200, "{mine}");
    assert_eq!(
        (
            mine["key_location"].as_str(),
            mine["attempts_left"].as_u64()
        ),
        (Some("pkcs11"), Some(5)),
        "{mine}"
    );

    // Another user cannot sign with it: an admin is no leader and signs nobody's document,
    // and another leader's PIN attempts go to their own key, not to this token.
    let id = approved_document(&server, &leader, "Về việc ký bằng khóa trong thiết bị");
    let admin = server.demo_login("district.admin");
    expect_problem(
        sign(&server, &admin, id, &json!({"pin": TOKEN_PIN})),
        403,
        "forbidden",
    );
    let other_leader = server.demo_login("district.leader");
    let theirs = expect_problem(
        server.post(
            "/api/v1/me/signing-sessions",
            &other_leader,
            &json!({"pin": TOKEN_PIN}),
        ),
        403,
        "signing_pin_wrong",
    );
    assert_eq!(theirs["attempts_left"], 4, "{theirs}");

    // Nothing that would keep the PIN: no signing session, for opening or for signing.
    expect_problem(
        server.post(
            "/api/v1/me/signing-sessions",
            &leader,
            &json!({"pin": TOKEN_PIN}),
        ),
        409,
        "token_key_needs_pin",
    );
    expect_problem(
        sign(
            &server,
            &leader,
            id,
            &json!({"signing_session": session_token_of_the_right_form()}),
        ),
        409,
        "token_key_needs_pin",
    );

    // Nor a remote-signing authorization: the CSC service says why, with the PIN unused.
    let (_, list) = status_json(server.post("/csc/v1/credentials/list", &leader, &json!({})));
    let credential = list["credentialIDs"][0].as_str().unwrap().to_owned();
    let (status, _, refused) = typed_json(server.post(
        "/csc/v1/credentials/authorize",
        &leader,
        &json!({ "credentialID": credential, "numSignatures": 1,
                 "hash": [format!("{}=", "A".repeat(43))], "PIN": TOKEN_PIN, "OTP": "123456" }),
    ));
    assert_eq!(
        (status, refused["error"].as_str()),
        (400, Some("invalid_request")),
        "{refused}"
    );
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("own PKCS#11 token"),
        "{refused}"
    );

    // The owner signs with the token's PIN; the demo's stored key (PIN 246810) is not used.
    let (status, signed) = status_json(sign(&server, &leader, id, &json!({"pin": TOKEN_PIN})));
    assert_eq!(status, 200, "{signed}");
    assert_eq!(signed["state"], "signed", "{signed}");
    let revision = signed["revision"].as_u64().unwrap();
    let pdf = server
        .get(&format!("/api/v1/outgoing/{id}/files/{revision}"), &leader)
        .bytes()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("signed.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let report = oracles::pyhanko_report(&tools, &file, dev_file("root-ca.pem").as_ref());
    let signatures = report["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 1, "{report}");
    for key in ["bottom_line", "intact", "valid", "trusted"] {
        assert_eq!(signatures[0][key], true, "{key}: {report}");
    }
    let poppler: Vec<_> = oracles::pdfsig(&file)
        .into_iter()
        .filter(|s| s.signed)
        .collect();
    assert_eq!(poppler.len(), 1, "{poppler:?}");
    assert_eq!(poppler[0].validation, "Signature is Valid.", "{poppler:?}");
    assert_eq!(poppler[0].signer, subject_cn, "{poppler:?}");

    // The stored key's PIN is no PIN of the token: it is counted as wrong there.
    let id = approved_document(&server, &leader, "Về việc ký lần thứ hai");
    let wrong = expect_problem(
        sign(&server, &leader, id, &json!({"pin": DEMO_PIN})),
        403,
        "signing_pin_wrong",
    );
    assert_eq!(wrong["attempts_left"], 4, "{wrong}");
    // The token logged out after the first signature: a second needs the PIN again, and the
    // right one clears the count.
    let (status, again) = status_json(sign(&server, &leader, id, &json!({"pin": TOKEN_PIN})));
    assert_eq!(status, 200, "{again}");
}

#[test]
fn five_wrong_token_pins_block_signing_with_it_but_not_login() {
    let Some((_, _hsm, _env, server, leader)) =
        start("five_wrong_token_pins_block_signing", &[Tool::SoftHsm])
    else {
        return;
    };
    let auditor = server.demo_login("district.auditor");
    let id = approved_document(&server, &leader, "Về việc khóa sau năm lần sai");

    for left in [4, 3, 2, 1] {
        let body = expect_problem(
            sign(&server, &leader, id, &json!({"pin": "975310"})),
            403,
            "signing_pin_wrong",
        );
        assert_eq!(body["attempts_left"], left, "{body}");
    }
    let (_, mine) = status_json(server.get("/api/v1/me/signing-key", &leader));
    assert_eq!(mine["attempts_left"], 1, "{mine}");
    let (_, none_yet) =
        status_json(server.get("/api/v1/audit/entries?action=key.blocked", &auditor));
    assert_eq!(none_yet["items"], json!([]), "{none_yet}");
    let fifth = expect_problem(
        sign(&server, &leader, id, &json!({"pin": "975310"})),
        423,
        "signing_key_blocked",
    );
    assert_eq!(fifth["attempts_left"], 0, "{fifth}");
    // The right PIN does not reach a blocked key's token either.
    expect_problem(
        sign(&server, &leader, id, &json!({"pin": TOKEN_PIN})),
        423,
        "signing_key_blocked",
    );
    let (status, blocked) =
        status_json(server.get("/api/v1/audit/entries?action=key.blocked", &auditor));
    assert_eq!(status, 200, "{blocked}");
    let items = blocked["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{blocked}");
    assert_eq!(items[0]["details"]["wrong_pins"], "5", "{blocked}");
    let object = items[0]["object"].as_str().unwrap();
    assert!(object.starts_with("token_key:"), "{blocked}");

    let (_, mine) = status_json(server.get("/api/v1/me/signing-key", &leader));
    assert_eq!(
        (mine["blocked"].as_bool(), mine["attempts_left"].as_u64()),
        (Some(true), Some(0)),
        "{mine}"
    );

    // Login is another matter, and the document is still there to sign.
    let again = server.demo_login(LEADER);
    let (status, me) = status_json(server.get("/api/v1/me", &again));
    assert_eq!(status, 200, "{me}");
    let (_, detail) = status_json(server.get(&format!("/api/v1/outgoing/{id}"), &again));
    assert_eq!(detail["state"], "approved", "{detail}");
}

#[test]
fn a_token_pulled_out_answers_503_and_counts_no_pin() {
    if require(
        "a_token_pulled_out_answers_503_and_counts_no_pin",
        &[Tool::SoftHsm],
    )
    .is_none()
    {
        return;
    }
    let hsm = leader_token();
    let env = TestEnv::new();
    let server = serve(&env, &hsm);
    let leader = server.demo_login(LEADER);
    let id = approved_document(&server, &leader, "Về việc thiết bị bị rút ra");
    let wrong = expect_problem(
        sign(&server, &leader, id, &json!({"pin": "975310"})),
        403,
        "signing_pin_wrong",
    );
    assert_eq!(wrong["attempts_left"], 4, "{wrong}");
    hsm.remove().unwrap();
    for _ in 0..5 {
        let gone = expect_problem(
            sign(&server, &leader, id, &json!({"pin": "975310"})),
            503,
            "personal_token_unavailable",
        );
        let detail = gone["detail"].as_str().unwrap();
        assert!(detail.contains("your PIN was not counted"), "{gone}");
        assert!(!detail.contains("975310"), "{gone}");
    }
    // Five more tries that the token never judged did not block the key: still 503, not 423.
    let (_, detail) = status_json(server.get(&format!("/api/v1/outgoing/{id}"), &leader));
    assert_eq!(detail["state"], "approved", "{detail}");
}
