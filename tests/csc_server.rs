//! vanthu as a CSC API v1.0.4 service (`/csc/v1/`) for a leader's server-held key: pyHanko's
//! own CSC client signs a PDF through it (tests/interop/csc_client.py) and pyHanko and pdfsig
//! accept the result; approvals without the right PIN, a fresh authenticator code and the
//! exact hashes are refused and sign nothing.
//!
//! The authenticator codes are computed here from the secret the API shows, by RFC 6238's
//! own recipe (HMAC-SHA1 over the time step), independently of vanthu's implementation.

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::oracles::{assert_pyhanko_accepts, pdfsig};
use common::tools::{self, Tool};
use common::{expect_problem, status_json, typed_json, Server, TestEnv, DEMO_PASSWORD};
use openssl::hash::MessageDigest;
use openssl::md::Md;
use openssl::pkey::PKey;
use openssl::pkey_ctx::PkeyCtx;
use openssl::sign::Signer;
use openssl::x509::X509;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The demo leaders' signing PIN.
const PIN: &str = "246810";

/// A leader's authenticator app: the secret, and the last time step whose code was used, so
/// that each code is used once (as the server insists).
struct Authenticator {
    secret: Vec<u8>,
    last_step: Option<u64>,
}

impl Authenticator {
    /// Adds and confirms the authenticator of the leader signed in with `token`.
    fn enrol(server: &Server, token: &str) -> Authenticator {
        let (status, added) =
            status_json(server.post("/api/v1/me/authenticator", token, &json!({ "pin": PIN })));
        assert_eq!(status, 201, "{added}");
        assert_eq!(added["confirmed"], false);
        let uri = added["otpauth_uri"].as_str().unwrap();
        let secret = added["secret"].as_str().unwrap();
        assert!(uri.starts_with("otpauth://totp/vanthu:"), "{uri}");
        assert!(uri.contains(&format!("secret={secret}")), "{uri}");
        let mut app = Authenticator {
            secret: base32_decode(secret),
            last_step: None,
        };

        // Unconfirmed, it approves nothing; a wrong code does not confirm it.
        let wrong = app.wrong_code();
        let refused = server.post(
            "/api/v1/me/authenticator/confirm",
            token,
            &json!({ "code": wrong }),
        );
        assert_eq!(
            expect_problem(refused, 422, "validation_failed")["field"],
            "code"
        );
        let code = app.next_code();
        let (status, confirmed) = status_json(server.post(
            "/api/v1/me/authenticator/confirm",
            token,
            &json!({ "code": code }),
        ));
        assert_eq!(status, 200, "{confirmed}");
        assert_eq!(confirmed["confirmed"], true);
        let again = server.post(
            "/api/v1/me/authenticator/confirm",
            token,
            &json!({ "code": code }),
        );
        expect_problem(again, 422, "validation_failed");
        app
    }

    /// The code of time step `step` (RFC 6238: HOTP of the step, six digits).
    fn code_at(&self, step: u64) -> String {
        let key = PKey::hmac(&self.secret).unwrap();
        let mut mac = Signer::new(MessageDigest::sha1(), &key).unwrap();
        mac.update(&step.to_be_bytes()).unwrap();
        let hash = mac.sign_to_vec().unwrap();
        let offset = usize::from(hash[19] & 0x0f);
        let value = u32::from_be_bytes(hash[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff;
        format!("{:06}", value % 1_000_000)
    }

    /// A code not used before and accepted now: the server takes the current step and one
    /// either side, so up to three codes fit in one 30-second step; beyond that, waits for
    /// the next step.
    fn next_code(&mut self) -> String {
        let now = unix_now();
        let current = now / 30;
        // The step before is safe only early in the current one.
        let earliest = if now % 30 < 20 { current - 1 } else { current };
        let step = self
            .last_step
            .map_or(earliest, |last| (last + 1).max(earliest));
        if step > current + 1 {
            let start = (step - 1) * 30 + 1;
            std::thread::sleep(Duration::from_secs(start.saturating_sub(now)));
        }
        self.last_step = Some(step);
        self.code_at(step)
    }

    /// Six digits that are no code of the steps the server accepts now.
    fn wrong_code(&self) -> String {
        let current = unix_now() / 30;
        let valid: Vec<String> = (current - 2..=current + 2)
            .map(|s| self.code_at(s))
            .collect();
        (0..)
            .map(|n| format!("{:06}", (123_457 + n * 7919) % 1_000_000))
            .find(|c| !valid.contains(c))
            .unwrap()
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// RFC 4648 base32 without padding.
fn base32_decode(text: &str) -> Vec<u8> {
    let (mut buffer, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base32: {text}"),
        };
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// POSTs a CSC method with the bearer `token`.
fn csc(server: &Server, token: &str, method: &str, body: &Value) -> (u16, Value) {
    csc_answer(server.post(&format!("/csc/v1/{method}"), token, body))
}

/// Status and JSON body of a CSC answer, which is application/json, errors included.
fn csc_answer(r: reqwest::blocking::Response) -> (u16, Value) {
    let (status, content_type, body) = typed_json(r);
    assert_eq!(content_type, "application/json", "{status}: {body}");
    (status, body)
}

/// A CSC error: the status, the spec's `error` code, a description, and nothing else (no
/// signature, no SAD).
#[track_caller]
fn expect_refusal(answer: (u16, Value), status: u16, error: &str) -> String {
    let (got, body) = answer;
    assert_eq!(
        (got, body["error"].as_str()),
        (status, Some(error)),
        "{body}"
    );
    let object = body.as_object().unwrap();
    assert_eq!(object.len(), 2, "only error and error_description: {body}");
    body["error_description"].as_str().unwrap().to_owned()
}

/// The only credential of the leader signed in with `token`.
fn credential_of(server: &Server, token: &str) -> String {
    let (status, list) = csc(server, token, "credentials/list", &json!({}));
    assert_eq!(status, 200, "{list}");
    let ids = list["credentialIDs"].as_array().unwrap();
    assert_eq!(ids.len(), 1, "{list}");
    ids[0].as_str().unwrap().to_owned()
}

fn b64_sha256(data: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(data))
}

#[test]
fn pyhankos_csc_client_signs_a_pdf_through_vanthu_and_pyhanko_and_pdfsig_accept_it() {
    let Some(tools) = tools::require(
        "pyhankos_csc_client_signs_a_pdf_through_vanthu_and_pyhanko_and_pdfsig_accept_it",
        &[Tool::PyHanko, Tool::Pdfsig],
    ) else {
        return;
    };
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let leader = server.demo_login("district.leader");
    let mut app = Authenticator::enrol(&server, &leader);

    let dir = env.dir.path();
    let input = dir.join("letter.pdf");
    std::fs::write(&input, common::one_page_pdf(b"Cong van ky so tu xa")).unwrap();
    let output = dir.join("signed.pdf");
    let run = |otp: &str, target: &Path| -> Value {
        let out = std::process::Command::new(tools.python())
            .arg(tools::workspace().join("tests/interop/csc_client.py"))
            .arg(&server.base_url)
            .arg("district.leader")
            .args(["CSC_PASSWORD", "CSC_PIN", "CSC_OTP"])
            .arg(&input)
            .arg(target)
            .env("CSC_PASSWORD", DEMO_PASSWORD)
            .env("CSC_PIN", PIN)
            .env("CSC_OTP", otp)
            .output()
            .expect("run csc_client.py");
        assert!(
            out.status.success(),
            "csc_client.py: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };

    let code = app.next_code();
    let result = run(&code, &output);
    assert_eq!(result["signed"], true, "{result}");
    assert_eq!(result["credential"], credential_of(&server, &leader));
    let root = tools::workspace().join("certs-dev/root-ca.pem");
    assert_pyhanko_accepts(&tools, &output, &root);
    let poppler = pdfsig(&output);
    assert_eq!(poppler.len(), 1, "{poppler:?}");
    assert_eq!(poppler[0].validation, "Signature is Valid.", "{poppler:?}");
    assert!(poppler[0].total_document, "{poppler:?}");
    assert_eq!(poppler[0].signer, "Lê Văn Thắng", "{poppler:?}");

    // The same code again: pyHanko's client is refused and writes nothing.
    let replayed = dir.join("replayed.pdf");
    let result = run(&code, &replayed);
    assert_eq!(result["signed"], false, "{result}");
    assert_eq!(result["refusal"]["status"], 400, "{result}");
    assert_eq!(result["refusal"]["error"], "invalid_otp", "{result}");
    assert!(!replayed.exists());
}

#[test]
fn approvals_need_the_pin_a_fresh_code_and_the_exact_hashes_and_refusals_sign_nothing() {
    let env = TestEnv::new();
    let server = env.serve_demo(&["--csc-authorization-ttl", "2s"]);

    let (status, info) = csc(&server, "", "info", &json!({ "lang": "vi" }));
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["specs"], "1.0.4.0");
    assert_eq!(info["lang"], "vi");
    assert!(info["methods"]
        .as_array()
        .unwrap()
        .contains(&json!("signatures/signHash")));

    // auth/login: HTTP Basic with the vanthu login, or the bearer of an open session.
    let basic = |user: &str, password: &str| {
        reqwest::blocking::Client::new()
            .post(server.url("/csc/v1/auth/login"))
            .basic_auth(user, Some(password))
            .json(&json!({}))
            .send()
            .unwrap()
    };
    let (status, login) = csc_answer(basic("district.leader", DEMO_PASSWORD));
    assert_eq!(status, 200, "{login}");
    let leader = login["access_token"].as_str().unwrap().to_owned();
    assert!(login["expires_in"].as_u64().unwrap() > 0, "{login}");
    expect_refusal(
        csc_answer(basic("district.leader", "not the password")),
        401,
        "authentication_error",
    );
    let (status, again) = csc(&server, &leader, "auth/login", &json!({}));
    assert_eq!(
        (status, again["access_token"].as_str()),
        (200, Some(leader.as_str()))
    );
    expect_refusal(
        csc(&server, "", "credentials/list", &json!({})),
        401,
        "invalid_token",
    );

    let credential = credential_of(&server, &leader);
    let (status, described) = csc(
        &server,
        &leader,
        "credentials/info",
        &json!({ "credentialID": credential, "certificates": "chain", "certInfo": true, "authInfo": true }),
    );
    assert_eq!(status, 200, "{described}");
    assert_eq!(described["authMode"], "explicit");
    assert_eq!(described["SCAL"], "2");
    assert_eq!(described["key"]["status"], "enabled");
    assert_eq!(described["key"]["curve"], "1.2.840.10045.3.1.7");
    assert_eq!(described["PIN"]["presence"], "true");
    assert_eq!(described["OTP"]["type"], "offline");
    let chain = described["cert"]["certificates"].as_array().unwrap();
    assert_eq!(chain.len(), 2, "the certificate and its issuing CA");
    assert!(described["cert"]["subjectDN"]
        .as_str()
        .unwrap()
        .contains("Lê Văn Thắng"));
    let certificate =
        X509::from_der(&STANDARD.decode(chain[0].as_str().unwrap()).unwrap()).unwrap();

    // Another leader's credential is nobody's as far as this leader is concerned.
    let other = server.demo_login("commune.leader");
    let others_credential = credential_of(&server, &other);
    assert_ne!(others_credential, credential);
    for method in ["credentials/info", "credentials/authorize"] {
        expect_refusal(
            csc(
                &server,
                &leader,
                method,
                &json!({ "credentialID": others_credential, "numSignatures": 1,
                "hash": [b64_sha256(b"x")], "PIN": PIN, "OTP": "123456" }),
            ),
            400,
            "invalid_request",
        );
    }
    // A clerk holds no credential.
    let clerk = server.demo_login("district.clerk");
    let (_, list) = csc(&server, &clerk, "credentials/list", &json!({}));
    assert_eq!(list["credentialIDs"], json!([]));

    // Without a confirmed authenticator nothing is authorized.
    let first = b64_sha256(b"first document");
    let authorize = |otp: &str, pin: &str, hashes: &[&str]| {
        csc(
            &server,
            &leader,
            "credentials/authorize",
            &json!({ "credentialID": credential, "numSignatures": hashes.len(), "hash": hashes,
                     "PIN": pin, "OTP": otp }),
        )
    };
    let none = expect_refusal(authorize("123456", PIN, &[&first]), 400, "invalid_request");
    assert!(none.contains("/api/v1/me/authenticator"), "{none}");
    let mut app = Authenticator::enrol(&server, &leader);
    let attempts_left = || {
        let (_, key) = status_json(server.get("/api/v1/me/signing-key", &leader));
        key["attempts_left"].as_u64().unwrap()
    };

    // A wrong PIN with a good code: refused, counted toward the block as on /api/v1.
    let code = app.next_code();
    let wrong_pin = expect_refusal(authorize(&code, "135790", &[&first]), 400, "invalid_pin");
    assert!(wrong_pin.contains("4 attempt(s) left"), "{wrong_pin}");
    assert_eq!(attempts_left(), 4);
    // That code again, now with the right PIN: refused, a code works once; not counted.
    expect_refusal(authorize(&code, PIN, &[&first]), 400, "invalid_otp");
    assert_eq!(attempts_left(), 4);
    // A wrong code is counted like a wrong PIN.
    expect_refusal(
        authorize(&app.wrong_code(), PIN, &[&first]),
        400,
        "invalid_otp",
    );
    assert_eq!(attempts_left(), 3);
    // The hashes must be what numSignatures says, each a digest.
    for bad in [
        json!({ "credentialID": credential, "numSignatures": 2, "hash": [first], "PIN": PIN, "OTP": "000000" }),
        json!({ "credentialID": credential, "numSignatures": 1, "hash": ["bm90IGEgZGlnZXN0"], "PIN": PIN, "OTP": "000000" }),
        json!({ "credentialID": credential, "numSignatures": 1, "PIN": PIN, "OTP": "000000" }),
    ] {
        expect_refusal(
            csc(&server, &leader, "credentials/authorize", &bad),
            400,
            "invalid_request",
        );
    }
    assert_eq!(attempts_left(), 3, "malformed requests try no PIN");

    // The PIN and a fresh code: a SAD for exactly the first hash.
    let (status, authorized) = authorize(&app.next_code(), PIN, &[&first]);
    assert_eq!(status, 200, "{authorized}");
    assert_eq!(authorized["expiresIn"], 2);
    let sad = authorized["SAD"].as_str().unwrap().to_owned();
    assert_eq!(attempts_left(), 5, "a correct PIN resets the count");
    let sign = |token: &str, credential: &str, sad: &str, hashes: &[&str]| {
        csc(
            &server,
            token,
            "signatures/signHash",
            &json!({ "credentialID": credential, "SAD": sad, "hash": hashes,
                     "hashAlgo": "2.16.840.1.101.3.4.2.1", "signAlgo": "1.2.840.10045.4.3.2" }),
        )
    };
    let second = b64_sha256(b"second document");
    let other_hash = expect_refusal(
        sign(&leader, &credential, &sad, &[&second]),
        400,
        "invalid_request",
    );
    assert!(
        other_hash.contains("not authorized by the SAD"),
        "{other_hash}"
    );
    expect_refusal(
        sign(&leader, &credential, &sad, &[&first, &second]),
        400,
        "invalid_request",
    );
    expect_refusal(
        sign(&leader, &others_credential, &sad, &[&first]),
        400,
        "invalid_request",
    );
    expect_refusal(
        sign(&other, &others_credential, &sad, &[&first]),
        400,
        "invalid_request",
    );
    expect_refusal(
        csc(
            &server,
            &leader,
            "signatures/signHash",
            &json!({ "credentialID": credential, "SAD": sad,
            "hash": [first], "signAlgo": "1.2.840.113549.1.1.11" }),
        ),
        400,
        "invalid_request",
    );

    // None of the refusals used the SAD up: it signs the first hash, once.
    let (status, signed) = sign(&leader, &credential, &sad, &[&first]);
    assert_eq!(status, 200, "{signed}");
    let signatures = signed["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 1);
    let signature = STANDARD.decode(signatures[0].as_str().unwrap()).unwrap();
    let public = certificate.public_key().unwrap();
    let mut verify = PkeyCtx::new(&public).unwrap();
    verify.verify_init().unwrap();
    verify.set_signature_md(Md::sha256()).unwrap();
    assert!(verify
        .verify(&STANDARD.decode(&first).unwrap(), &signature)
        .unwrap());
    expect_refusal(
        sign(&leader, &credential, &sad, &[&first]),
        400,
        "invalid_request",
    );

    // A SAD past its lifetime signs nothing.
    let (status, authorized) = authorize(&app.next_code(), PIN, &[&second]);
    assert_eq!(status, 200, "{authorized}");
    std::thread::sleep(Duration::from_millis(2500));
    let expired = expect_refusal(
        sign(
            &leader,
            &credential,
            authorized["SAD"].as_str().unwrap(),
            &[&second],
        ),
        400,
        "invalid_request",
    );
    assert!(expired.contains("expired"), "{expired}");

    // Wrong methods and paths answer in the CSC format too.
    expect_refusal(
        csc_answer(server.get_anonymous("/csc/v1/info")),
        405,
        "invalid_request",
    );
    expect_refusal(
        csc(&server, "", "credentials/sendOTP", &json!({})),
        404,
        "invalid_request",
    );
}

#[test]
fn a_revoked_certificate_is_refused_at_authorize_saying_since_when() {
    let env = TestEnv::new();
    let crls = tools::workspace().join("certs-dev");
    let server = env.serve_demo(&[
        "--check-signer-revocation",
        "--signer-revocation",
        crls.to_str().unwrap(),
    ]);
    let leader = server.demo_login("district.leader");
    let p12 = std::fs::read(tools::workspace().join("certs-dev/revoked.p12")).unwrap();
    let (content_type, body) = common::multipart(&[
        ("pkcs12", "application/x-pkcs12", &p12),
        ("password", "text/plain", b"vanthu-dev"),
        ("pin", "text/plain", PIN.as_bytes()),
    ]);
    let enrolled = server
        .request(reqwest::Method::POST, "/api/v1/me/signing-key", &leader)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .unwrap();
    let (status, key) = status_json(enrolled);
    assert_eq!(status, 201, "{key}");
    let mut app = Authenticator::enrol(&server, &leader);
    let credential = credential_of(&server, &leader);
    let refused = expect_refusal(
        csc(
            &server,
            &leader,
            "credentials/authorize",
            &json!({ "credentialID": credential, "numSignatures": 1, "hash": [b64_sha256(b"x")],
                     "PIN": PIN, "OTP": app.next_code() }),
        ),
        400,
        "invalid_request",
    );
    assert!(
        refused.contains(" was revoked on 20") && refused.contains("(according to its crl)"),
        "{refused}"
    );
}
