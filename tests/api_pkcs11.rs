//! The seal held in a PKCS#11 token (SoftHSM2), through the real binary over HTTP on SQLite
//! or PostgreSQL (`VANTHU_TEST_DATABASE`), on the demo organisation: the commune's clerk
//! issues a signed document and the seal comes from the token key labelled with the
//! commune's code, not from the stored key; pyHanko and pdfsig judge the sealed PDF. A token
//! pulled out while the server runs answers 503 and changes nothing; a wrong PIN stops the
//! server at start with one line.

mod common;

use std::process::Command;

use common::token::{self, common_name, dev_cert, dev_file, TOKEN};
use common::tools::{require, Tool};
use common::{expect_problem, oracles, refused_start, status_json, Server, TestEnv};
use serde_json::{json, Value};

/// The demo leaders' signing PIN.
const SIGNING_PIN: &str = "246810";
const SEAL_PIN_ENV: &str = "VANTHU_SEAL_PIN";

/// `vanthu serve --demo` with the seal token, its PIN `pin`.
fn serve_command(env: &TestEnv, pin: &str) -> Command {
    serve_with(env, TOKEN, pin)
}

/// `vanthu serve --demo` with the token labelled `label` as the seal token.
fn serve_with(env: &TestEnv, label: &str, pin: &str) -> Command {
    let mut cmd = env.command();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--demo"])
        .arg("--seal-pkcs11-module")
        .arg(token::token().module())
        .args(["--seal-token-label", label]);
    token::with_token(&mut cmd, SEAL_PIN_ENV, Some(pin));
    cmd
}

/// The commune's specialist drafts, its leader approves and signs with the PIN; returns the
/// document's id and the clerk's login.
fn signed_document(server: &Server) -> (i64, String) {
    let leader = server.demo_login("commune.leader");
    let id = common::commune_draft(
        server,
        &leader,
        "Về việc đóng dấu bằng khóa trong thiết bị HSM",
        b"CONG VAN DONG DAU BANG HSM",
    );
    for (action, body) in [
        ("approve", json!({})),
        ("sign", json!({"pin": SIGNING_PIN})),
    ] {
        let (status, out) =
            status_json(server.post(&format!("/api/v1/outgoing/{id}/{action}"), &leader, &body));
        assert_eq!(status, 200, "{action}: {out}");
    }
    (id, server.demo_login("commune.clerk"))
}

#[test]
fn the_clerk_seals_with_the_token_key_and_pyhanko_accepts_it() {
    let Some(tools) = require(
        "the_clerk_seals_with_the_token_key",
        &[Tool::SoftHsm, Tool::PyHanko, Tool::Pdfsig],
    ) else {
        return;
    };
    let env = TestEnv::new();
    let server = Server::start(serve_command(&env, token::PIN));
    let (id, clerk) = signed_document(&server);
    let (status, issued) =
        status_json(server.post(&format!("/api/v1/outgoing/{id}/issue"), &clerk, &json!({})));
    assert_eq!(status, 200, "{issued}");
    assert_eq!(issued["state"], "issued");
    let revision = issued["revision"].as_u64().unwrap();
    let pdf = server
        .get(&format!("/api/v1/outgoing/{id}/files/{revision}"), &clerk)
        .bytes()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sealed.pdf");
    std::fs::write(&file, &pdf).unwrap();

    let report = oracles::pyhanko_report(&tools, &file, dev_file("root-ca.pem").as_ref());
    let signatures = report["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 2, "{report}");
    for s in signatures {
        for key in ["bottom_line", "intact", "valid", "trusted"] {
            assert_eq!(s[key], true, "{key}: {s}");
        }
    }
    assert_eq!(signatures[1]["field"], "chu_ky_co_quan", "{report}");
    let poppler: Vec<_> = oracles::pdfsig(&file)
        .into_iter()
        .filter(|s| s.signed)
        .collect();
    assert_eq!(poppler.len(), 2, "{poppler:?}");
    assert_eq!(poppler[1].validation, "Signature is Valid.", "{poppler:?}");
    // The seal is the token's certificate (the development seal), not the demo's stored one.
    assert_eq!(poppler[1].signer, common_name(&dev_cert("seal.pem")));
    assert!(
        server.stderr().contains("seal keys in a PKCS#11 token"),
        "{}",
        server.stderr()
    );
}

#[test]
fn a_token_pulled_out_answers_503_and_the_document_stays_signed() {
    if require("a_token_pulled_out_answers_503", &[Tool::SoftHsm]).is_none() {
        return;
    }
    let env = TestEnv::new();
    let server = Server::start(serve_with(&env, token::SPARE_TOKEN, token::PIN));
    let (id, clerk) = signed_document(&server);
    token::spare_token().remove().unwrap();
    let problem = expect_problem(
        server.post(&format!("/api/v1/outgoing/{id}/issue"), &clerk, &json!({})),
        503,
        "seal_token_unavailable",
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("nothing was changed"),
        "{problem}"
    );
    let (_, detail) = status_json(server.get(&format!("/api/v1/outgoing/{id}"), &clerk));
    assert_eq!(detail["state"], "signed", "{detail}");
    assert_eq!(detail["number_notation"], Value::Null, "{detail}");
}

#[test]
fn a_wrong_seal_pin_or_development_certificates_stop_the_server_at_start() {
    if require("a_wrong_seal_pin_stops_the_server", &[Tool::SoftHsm]).is_none() {
        return;
    }
    let env = TestEnv::new();
    let (_, last) = refused_start(serve_command(&env, "000000"));
    assert_eq!(
        last,
        format!("vanthu: cannot open the seal token: wrong PIN for the PKCS#11 token \"{TOKEN}\"")
    );

    // Outside --demo and --dev, a token holding development certificates is refused (in a
    // database of its own: the demo above filled this one with some).
    let env = TestEnv::new();
    let mut cmd = env.command();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--seal-pkcs11-module"])
        .arg(token::token().module())
        .args(["--seal-token-label", TOKEN]);
    token::with_token(&mut cmd, SEAL_PIN_ENV, Some(token::PIN));
    let (stderr, last) = refused_start(cmd);
    assert!(
        last.starts_with(&format!(
            "vanthu: refusing to start: the seal token \"{TOKEN}\" holds 5 certificate(s) issued by the development PKI"
        )),
        "{stderr}"
    );
}

#[test]
fn the_inventory_lists_every_certificate_with_its_key_and_warns_before_expiry() {
    if require("the_inventory_lists_every_certificate", &[Tool::SoftHsm]).is_none() {
        return;
    }
    let env = TestEnv::new();
    let server = Server::start(serve_command(&env, token::PIN));
    let auditor = server.demo_login("district.auditor");
    let (status, all) = status_json(server.get("/api/v1/certificates", &auditor));
    assert_eq!(status, 200, "{all}");
    let all = all.as_array().unwrap().clone();
    let find = |list: &[Value], owner: &str, location: &str| {
        list.iter()
            .find(|e| e["owner"] == owner && e["key_location"] == location)
            .unwrap_or_else(|| panic!("no {location} certificate of {owner}: {list:?}"))
            .clone()
    };
    // The commune's seal twice: the stored one, and the one in the token that seals.
    let commune = "Ủy ban nhân dân xã Đồng Cương";
    let in_token = find(&all, commune, "pkcs11");
    assert_eq!(in_token["purpose"], "seal");
    assert_eq!(in_token["subject"], dev_cert_subject("seal.pem"));
    assert!(
        in_token["issuer"]
            .as_str()
            .unwrap()
            .contains("Development Issuing CA"),
        "{in_token}"
    );
    assert_eq!(find(&all, commune, "key_encryption_key")["purpose"], "seal");
    let leader = find(&all, "Bùi Văn Long", "pin_protected");
    assert_eq!(leader["status"], "valid", "{leader}");
    assert!(leader.get("warning").is_none(), "{leader}");
    // The demo's district leader holds a certificate 20 days from its end.
    let expiring = find(&all, "Lê Văn Thắng", "pin_protected");
    assert_eq!(expiring["status"], "expiring", "{expiring}");
    assert_eq!(expiring["warning"]["within_days"], 30, "{expiring}");
    assert!(
        expiring["warning"]["message"]
            .as_str()
            .unwrap()
            .starts_with("expires in 19 days"),
        "{expiring}"
    );
    assert_eq!(all[0], expiring, "soonest to expire first");

    // A commune's admin sees the commune's subtree only; a clerk sees none of it.
    let (status, own) =
        status_json(server.get("/api/v1/certificates", &server.demo_login("commune.admin")));
    assert_eq!(status, 200, "{own}");
    let own = own.as_array().unwrap();
    assert!(!own.is_empty());
    assert!(own.iter().all(|e| e["owner"] != "Lê Văn Thắng"), "{own:?}");
    find(own, commune, "pkcs11");
    expect_problem(
        server.get("/api/v1/certificates", &server.demo_login("commune.clerk")),
        403,
        "forbidden",
    );
    drop(server);

    // The same inventory on the command line, the token's seal included.
    let mut cmd = env.command();
    cmd.args(["certs", "list", "--seal-pkcs11-module"])
        .arg(token::token().module())
        .args(["--seal-token-label", TOKEN]);
    let out = token::with_token(&mut cmd, SEAL_PIN_ENV, Some(token::PIN))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[1].contains("Lê Văn Thắng") && lines[1].contains("expiring"),
        "{table}"
    );
    assert!(
        lines[2].contains("warning:") && lines[2].contains("expires in 19 days"),
        "{table}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(commune) && l.contains("pkcs11")),
        "{table}"
    );
    let mut cmd = env.command();
    let out = cmd.args(["certs", "list", "--json"]).output().unwrap();
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        listed.as_array().unwrap().len(),
        all.len() - 1,
        "all but the token's"
    );
}

fn dev_cert_subject(name: &str) -> String {
    vanthu_pades::trust::display_name(dev_cert(name).subject_name())
}
