//! A leader's own signing key through HTTP: enrolment from a PKCS#12 file, status, PIN change,
//! wrong PINs counting down to a block that stops signing but not login, signing sessions,
//! nobody else's hands on the key, and no key material in any response or log line.

mod common;

use std::path::PathBuf;
use std::process::Command;

use reqwest::blocking::Response;
use serde_json::{json, Value};

use common::{expect_problem, multipart, status_json, Server, TestEnv};

/// The demo leaders' signing PIN.
const DEMO_PIN: &str = "246810";
/// Password of the development PKCS#12 files.
const P12_PASSWORD: &str = "vanthu-dev";
const KEY: &str = "/api/v1/me/signing-key";
const SESSIONS: &str = "/api/v1/me/signing-sessions";

fn dev(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../certs-dev")
        .join(name)
}

fn enrol(server: &Server, token: &str, parts: &[(&str, &str, &[u8])]) -> Response {
    let (content_type, body) = multipart(parts);
    server
        .request(reqwest::Method::POST, KEY, token)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .expect("POST signing-key")
}

/// Enrols the development EC signer's PKCS#12 file under `pin`.
fn enrol_dev_key(server: &Server, token: &str, pin: &str) -> Response {
    let p12 = std::fs::read(dev("signer-ec.p12")).unwrap();
    enrol(
        server,
        token,
        &[
            ("pkcs12", "application/x-pkcs12", &p12),
            ("password", "text/plain", P12_PASSWORD.as_bytes()),
            ("pin", "text/plain", pin.as_bytes()),
        ],
    )
}

fn open_session(server: &Server, token: &str, pin: &str) -> Response {
    server.post(SESSIONS, token, &json!({ "pin": pin }))
}

fn change_pin(server: &Server, token: &str, current: &str, new: &str) -> Response {
    server
        .request(reqwest::Method::PUT, "/api/v1/me/signing-pin", token)
        .json(&json!({ "current_pin": current, "new_pin": new }))
        .send()
        .expect("PUT signing-pin")
}

fn key_status(server: &Server, token: &str) -> Value {
    let (status, body) = status_json(server.get(KEY, token));
    assert_eq!(status, 200, "{body}");
    body
}

/// The status shows the certificate, the counters and where the key is, and nothing else.
fn assert_status_shape(body: &Value) {
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys.retain(|k| *k != "pin_changed_at");
    assert_eq!(
        keys,
        [
            "attempts_left",
            "blocked",
            "enrolled_at",
            "key_location",
            "not_after",
            "not_before",
            "serial",
            "subject"
        ],
        "{body}"
    );
    assert_eq!(body["key_location"], "pin_protected", "{body}");
}

/// Base64 lines of the development private keys' PEM files, each long enough to be unique.
fn private_key_fragments() -> Vec<String> {
    ["signer-ec.key", "seal.key", "signer-rsa.key"]
        .iter()
        .flat_map(|name| {
            std::fs::read_to_string(dev(name))
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with("-----") && l.len() >= 40)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Fails if the server's log holds any of `secrets`, a private key or the KEK.
fn assert_log_holds_no_secrets(env: &TestEnv, server: &Server, secrets: &[&str]) {
    let log = server.stderr();
    assert!(log.contains("signing"), "the log was read: {log}");
    let kek = std::fs::read_to_string(env.kek_file()).unwrap();
    let mut all: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
    all.push(kek.trim().to_owned());
    all.extend(private_key_fragments());
    for secret in &all {
        assert!(
            !log.contains(secret.as_str()),
            "the log holds {secret:?}:\n{log}"
        );
    }
    assert!(!log.contains("PRIVATE KEY"), "{log}");
}

#[test]
fn a_leader_enrols_reads_and_re_pins_their_own_key() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let leader = server.demo_login("district.leader");

    // The demo enrolled the leader's key under the demo PIN.
    let demo = key_status(&server, &leader);
    assert_status_shape(&demo);
    assert_eq!(demo["blocked"], false);
    assert_eq!(demo["attempts_left"], 5);
    assert!(
        demo["subject"].as_str().unwrap().contains("Lê Văn Thắng"),
        "{demo}"
    );

    // Enrolling replaces it.
    let (status, enrolled) = status_json(enrol_dev_key(&server, &leader, "135790"));
    assert_eq!(status, 201, "{enrolled}");
    assert_status_shape(&enrolled);
    assert!(
        enrolled["subject"]
            .as_str()
            .unwrap()
            .contains("Trần Thị Bình"),
        "{enrolled}"
    );
    assert_ne!(enrolled["serial"], demo["serial"]);
    assert_eq!(key_status(&server, &leader)["serial"], enrolled["serial"]);
    expect_problem(
        open_session(&server, &leader, DEMO_PIN),
        403,
        "signing_pin_wrong",
    );

    // A wrong current PIN counts; a PIN against the rules is refused by name.
    let wrong = expect_problem(
        change_pin(&server, &leader, "975310", "864200"),
        403,
        "signing_pin_wrong",
    );
    assert_eq!(wrong["attempts_left"], 3, "{wrong}");
    let weak = expect_problem(
        change_pin(&server, &leader, "135790", "123456"),
        422,
        "validation_failed",
    );
    assert_eq!(weak["field"], "new_pin", "{weak}");
    let (status, changed) = status_json(change_pin(&server, &leader, "135790", "864200"));
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        changed["attempts_left"], 5,
        "a correct PIN resets the count"
    );
    assert!(changed["pin_changed_at"].is_string(), "{changed}");
    expect_problem(
        open_session(&server, &leader, "135790"),
        403,
        "signing_pin_wrong",
    );
    let (status, session) = status_json(open_session(&server, &leader, "864200"));
    assert_eq!(status, 201, "{session}");

    assert_log_holds_no_secrets(
        &env,
        &server,
        &[
            DEMO_PIN,
            "135790",
            "864200",
            "975310",
            P12_PASSWORD,
            session["token"].as_str().unwrap(),
        ],
    );
}

#[test]
fn enrolment_refuses_what_cannot_sign_and_says_why() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let leader = server.demo_login("commune.leader");
    let p12 = std::fs::read(dev("signer-ec.p12")).unwrap();
    let part = |name: &'static str, value: &'static [u8]| (name, "text/plain", value);

    let wrong_password = enrol(
        &server,
        &leader,
        &[
            ("pkcs12", "application/x-pkcs12", &p12),
            part("password", b"not the password"),
            part("pin", b"135790"),
        ],
    );
    expect_problem(wrong_password, 422, "pkcs12_unreadable");
    for (pin, why) in [
        ("123456", "consecutive"),
        ("00000000", "repeat"),
        ("2468", "6 to 64"),
    ] {
        let body = expect_problem(
            enrol_dev_key(&server, &leader, pin),
            422,
            "validation_failed",
        );
        assert_eq!(body["field"], "pin", "{body}");
        assert!(body["detail"].as_str().unwrap().contains(why), "{body}");
    }
    let missing = enrol(
        &server,
        &leader,
        &[
            ("pkcs12", "application/x-pkcs12", &p12),
            part("pin", b"135790"),
        ],
    );
    let body = expect_problem(missing, 400, "invalid_multipart");
    assert!(
        body["detail"].as_str().unwrap().contains("`password`"),
        "{body}"
    );
    let not_a_form = server
        .request(reqwest::Method::POST, KEY, &leader)
        .json(&json!({ "pin": "135790" }))
        .send()
        .unwrap();
    expect_problem(not_a_form, 415, "unsupported_media_type");

    // A CA's key (keyCertSign only) is no signing key.
    let dir = tempfile::tempdir().unwrap();
    let ca_p12 = dir.path().join("ca.p12");
    let made = Command::new("openssl")
        .args(["pkcs12", "-export", "-passout", "pass:ca-pass", "-inkey"])
        .arg(dev("issuing-ca.key"))
        .arg("-in")
        .arg(dev("issuing-ca.pem"))
        .arg("-out")
        .arg(&ca_p12)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let ca = std::fs::read(&ca_p12).unwrap();
    let body = expect_problem(
        enrol(
            &server,
            &leader,
            &[
                ("pkcs12", "application/x-pkcs12", &ca),
                part("password", b"ca-pass"),
                part("pin", b"135790"),
            ],
        ),
        422,
        "unusable_certificate",
    );
    assert!(
        body["detail"].as_str().unwrap().contains("key usage"),
        "{body}"
    );

    // Nothing was replaced: the demo key still opens with the demo PIN.
    assert!(key_status(&server, &leader)["subject"]
        .as_str()
        .unwrap()
        .contains("Bùi Văn Long"));
    let (status, _) = status_json(open_session(&server, &leader, DEMO_PIN));
    assert_eq!(status, 201);
}

#[test]
fn five_wrong_pins_block_signing_but_not_login_until_the_key_is_enrolled_again() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let leader = server.demo_login("commune.leader");
    for left in (1..=4).rev() {
        let body = expect_problem(
            open_session(&server, &leader, "975310"),
            403,
            "signing_pin_wrong",
        );
        assert_eq!(body["attempts_left"], left, "{body}");
        assert_eq!(key_status(&server, &leader)["attempts_left"], left);
    }
    let fifth = expect_problem(
        open_session(&server, &leader, "975310"),
        423,
        "signing_key_blocked",
    );
    assert_eq!(fifth["attempts_left"], 0, "{fifth}");
    // The right PIN does not open a blocked key, nor does changing the PIN.
    expect_problem(
        open_session(&server, &leader, DEMO_PIN),
        423,
        "signing_key_blocked",
    );
    expect_problem(
        change_pin(&server, &leader, DEMO_PIN, "864200"),
        423,
        "signing_key_blocked",
    );
    let blocked = key_status(&server, &leader);
    assert_eq!(
        (blocked["blocked"].clone(), blocked["attempts_left"].clone()),
        (json!(true), json!(0))
    );

    // Login is another matter: the account still signs in and works.
    let again = server.demo_login("commune.leader");
    let (status, me) = status_json(server.get("/api/v1/me", &again));
    assert_eq!(status, 200, "{me}");

    // The owner unblocks by enrolling their key again with a new PIN.
    let (status, enrolled) = status_json(enrol_dev_key(&server, &again, "135790"));
    assert_eq!(status, 201, "{enrolled}");
    assert_eq!(
        (
            enrolled["blocked"].clone(),
            enrolled["attempts_left"].clone()
        ),
        (json!(false), json!(5))
    );
    let (status, _) = status_json(open_session(&server, &again, "135790"));
    assert_eq!(status, 201);
}

/// `count` attempts to open a session with `pin`, all at once.
fn open_sessions_in_parallel(
    server: &Server,
    token: &str,
    pin: &str,
    count: usize,
) -> Vec<(u16, Value)> {
    let (client, url) = (&server.client, server.url(SESSIONS));
    std::thread::scope(|scope| {
        let tries: Vec<_> = (0..count)
            .map(|_| {
                scope.spawn(|| {
                    status_json(
                        client
                            .post(&url)
                            .bearer_auth(token)
                            .json(&json!({ "pin": pin }))
                            .send()
                            .unwrap(),
                    )
                })
            })
            .collect();
        tries.into_iter().map(|t| t.join().unwrap()).collect()
    })
}

#[test]
fn parallel_wrong_pins_each_count() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let leader = server.demo_login("district.leader");
    let answers = open_sessions_in_parallel(&server, &leader, "975310", 4);
    let mut left: Vec<u64> = answers
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 403, "{body}");
            body["attempts_left"].as_u64().unwrap()
        })
        .collect();
    left.sort_unstable();
    assert_eq!(left, [1, 2, 3, 4]);
    assert_eq!(key_status(&server, &leader)["attempts_left"], 1);

    // Three right PINs in parallel with one attempt left: the first admitted opens a
    // session; one arriving while it is being checked finds no attempt left (423), one
    // arriving after it succeeded finds the count reset.
    let answers = open_sessions_in_parallel(&server, &leader, DEMO_PIN, 3);
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count()
            + statuses.iter().filter(|s| **s == 423).count(),
        3,
        "{answers:?}"
    );
    assert!(
        statuses.contains(&201),
        "the right PIN got the last attempt: {answers:?}"
    );
}

#[test]
fn nobody_else_touches_a_leaders_key() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let leader = server.demo_login("district.leader");
    let (status, session) = status_json(open_session(&server, &leader, DEMO_PIN));
    assert_eq!(status, 201, "{session}");
    let id = session["id"].as_str().unwrap();

    // An admin has no personal key and cannot enrol, unlock or end anyone's.
    let admin = server.demo_login("district.admin");
    expect_problem(server.get(KEY, &admin), 403, "forbidden");
    expect_problem(enrol_dev_key(&server, &admin, "135790"), 403, "forbidden");
    expect_problem(open_session(&server, &admin, DEMO_PIN), 403, "forbidden");
    expect_problem(
        change_pin(&server, &admin, DEMO_PIN, "864200"),
        403,
        "forbidden",
    );
    let end = |token: &str| {
        server
            .request(reqwest::Method::DELETE, &format!("{SESSIONS}/{id}"), token)
            .send()
            .unwrap()
    };
    expect_problem(end(&admin), 403, "forbidden");
    // Nor is there a path to someone else's key.
    expect_problem(
        server.get("/api/v1/users/1/signing-key", &admin),
        404,
        "not_found",
    );

    // Another leader cannot end the session either; its owner can, once.
    let other = server.demo_login("commune.leader");
    expect_problem(end(&other), 404, "not_found");
    let (status, _) = status_json(end(&leader));
    assert_eq!(status, 204);
    expect_problem(end(&leader), 404, "not_found");
    expect_problem(
        server
            .request(
                reqwest::Method::DELETE,
                &format!("{SESSIONS}/not-an-id"),
                &leader,
            )
            .send()
            .unwrap(),
        404,
        "not_found",
    );
}

#[test]
fn a_session_answers_once_with_its_token_and_limits() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[
        "--signing-session-ttl",
        "90s",
        "--signing-session-signatures",
        "7",
    ]);
    let leader = server.demo_login("district.leader");
    let response = open_session(&server, &leader, DEMO_PIN);
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
    let (status, session) = status_json(response);
    assert_eq!(status, 201, "{session}");
    assert_eq!(session["signatures_left"], 7);
    assert_eq!(session["token"].as_str().unwrap().len(), 64);
    assert_eq!(session["id"].as_str().unwrap().len(), 32);
    let expires = chrono::DateTime::parse_from_rfc3339(session["expires_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    let ttl = expires - chrono::Utc::now();
    assert!(
        ttl > chrono::TimeDelta::seconds(80) && ttl <= chrono::TimeDelta::seconds(90),
        "{ttl}"
    );
    let status_body = key_status(&server, &leader).to_string();
    assert!(!status_body.contains(session["token"].as_str().unwrap()));

    let weak = expect_problem(
        open_session(&server, &leader, "12345"),
        422,
        "validation_failed",
    );
    assert_eq!(weak["field"], "pin", "{weak}");
    expect_problem(
        server.post(SESSIONS, &leader, &json!({ "pin": DEMO_PIN, "extra": 1 })),
        400,
        "invalid_json",
    );
}

#[test]
fn a_leader_without_a_key_is_told_how_to_enrol() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let admin = server.demo_login("district.admin");
    let me = status_json(server.get("/api/v1/me", &admin)).1;
    let (status, created) = status_json(server.post(
        "/api/v1/users",
        &admin,
        &json!({
            "username": "district.deputy",
            "display_name": "Phan Văn Đức",
            "unit_id": me["unit"]["id"],
            "roles": ["leader"],
            "password": "deputy-password-1"
        }),
    ));
    assert_eq!(status, 201, "{created}");
    let deputy = server.login("district.deputy", "deputy-password-1");
    let body = expect_problem(server.get(KEY, &deputy), 404, "no_signing_key");
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains("POST /api/v1/me/signing-key"));
    for response in [
        open_session(&server, &deputy, DEMO_PIN),
        change_pin(&server, &deputy, DEMO_PIN, "864200"),
    ] {
        expect_problem(response, 404, "no_signing_key");
    }
}

#[test]
fn the_openapi_document_lists_the_signing_routes_and_their_answers() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let (status, doc) = status_json(server.get_anonymous("/api/openapi.json"));
    assert_eq!(status, 200);
    // Every answer these routes give is documented (the description may add the answers
    // every route can give, such as 413 and 503).
    for (path, method, answers) in [
        (KEY, "post", &["201", "400", "401", "403", "415", "422"][..]),
        (KEY, "get", &["200", "401", "403", "404"]),
        (
            "/api/v1/me/signing-pin",
            "put",
            &["200", "400", "401", "403", "404", "422", "423"],
        ),
        (
            SESSIONS,
            "post",
            &["201", "400", "401", "403", "404", "422", "423"],
        ),
        (
            "/api/v1/me/signing-sessions/{id}",
            "delete",
            &["204", "401", "403", "404"],
        ),
    ] {
        let documented = doc["paths"][path][method]["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} is documented"));
        for answer in answers {
            assert!(
                documented.contains_key(*answer),
                "{method} {path} lacks {answer}"
            );
        }
    }
    assert!(doc["components"]["schemas"]["Problem"]["properties"]["attempts_left"].is_object());
}
