//! The audit log's key in a PKCS#11 token (SoftHSM2), through the real binary on SQLite or
//! PostgreSQL (`VANTHU_TEST_DATABASE`): the token generates an Ed25519 key, the server signs
//! its checkpoints with it (CKM_EDDSA) and publishes its public key, an independent verifier
//! (Python's `cryptography`, the note parsed by tests/interop/signed_note.py) accepts them,
//! `vanthu audit checkpoint` signs with the same key and `vanthu audit verify` passes
//! unchanged. A key that is not Ed25519, a token without CKM_EDDSA, a wrong PIN, a missing
//! token and a key other than the log's own stop the server at start with one line.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::tools::{require, Tool, Tools};
use common::{oracles, refused_start, Server, TestEnv};
use openssl::pkey::PKey;
use serde_json::Value;
use vanthu_audit::{Checkpoint, NoteVerifier};
use vanthu_pkcs11::softhsm::{SoftHsm, CONF_ENV};
use vanthu_pkcs11::{KeyRef, Pkcs11Ed25519, Token};

/// The token holding the audit key.
const TOKEN: &str = "vanthu-audit";
/// Its user PIN.
const PIN: &str = "864213";
/// The Ed25519 key the token generated for the log.
const KEY: &str = "audit-checkpoints";
/// A second Ed25519 key, not the log's.
const OTHER_KEY: &str = "other-ed25519";
/// A P-256 key: a key, but not an Ed25519 one.
const EC_KEY: &str = "p256";
const PIN_ENV: &str = "VANTHU_AUDIT_PIN";

/// This process's token with the keys above (the module loads it once per process).
fn token() -> &'static SoftHsm {
    static HSM: OnceLock<SoftHsm> = OnceLock::new();
    HSM.get_or_init(|| {
        let hsm = SoftHsm::create(TOKEN, PIN).unwrap();
        let ec = std::fs::read(common::tools::workspace().join("certs-dev/signer-ec.key")).unwrap();
        hsm.import_key(EC_KEY, &[3], &PKey::private_key_from_pem(&ec).unwrap())
            .unwrap();
        hsm.use_in_this_process();
        hsm.generate_ed25519(KEY, &[1]).unwrap();
        hsm.generate_ed25519(OTHER_KEY, &[2]).unwrap();
        hsm
    })
}

/// The public key of `label` as this process reads it from the token, apart from the server.
fn public_key_in_token(label: &str) -> [u8; 32] {
    let hsm = token();
    let token = Token::open(hsm.module(), TOKEN, PIN).unwrap();
    Pkcs11Ed25519::open(token, KeyRef::Label(label.into()))
        .unwrap()
        .public_key()
}

/// The audit token's options for `vanthu`, the key `key` on the token `label` of `hsm`,
/// the PIN `pin` in the environment.
fn with_audit_token<'c>(
    cmd: &'c mut Command,
    hsm: &SoftHsm,
    label: &str,
    key: &str,
    pin: &str,
) -> &'c mut Command {
    cmd.arg("--audit-pkcs11-module")
        .arg(hsm.module())
        .args(["--audit-token-label", label, "--audit-key-label", key])
        .env(CONF_ENV, hsm.conf())
        .env(PIN_ENV, pin)
}

fn serve(env: &TestEnv, hsm: &SoftHsm, label: &str, key: &str, pin: &str) -> Command {
    let mut cmd = env.command();
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--demo",
        "--audit-checkpoint-interval",
        "1s",
    ]);
    with_audit_token(&mut cmd, hsm, label, key, pin);
    cmd
}

fn text(server: &Server, path: &str) -> (u16, String) {
    let r = server.client.get(server.url(path)).send().unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

/// The latest checkpoint note once it covers at least `size` entries.
fn note_of_at_least(server: &Server, key: &NoteVerifier, size: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, note) = text(server, "/api/v1/audit/checkpoint");
        if status == 200 {
            let checkpoint = Checkpoint::parse(key.open(&note).unwrap()).unwrap();
            if checkpoint.size >= size {
                return note;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint of {size} entries came"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// tests/interop/signed_note.py's reading of `note` with the verifier key `key`.
fn independent_check(tools: &Tools, dir: &Path, note: &str, key: &str) -> Value {
    let (note_file, key_file) = (dir.join("note.txt"), dir.join("key.txt"));
    std::fs::write(&note_file, note).unwrap();
    std::fs::write(&key_file, key).unwrap();
    oracles::pyhanko_script(tools, "signed_note.py", &[&note_file, &key_file])
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn checkpoints_are_signed_in_the_token_and_verify_independently() {
    let Some(tools) = require(
        "checkpoints_are_signed_in_the_token",
        &[Tool::SoftHsm, Tool::PyHanko],
    ) else {
        return;
    };
    let hsm = token();
    let public = public_key_in_token(KEY);
    let env = TestEnv::new();
    let work = tempfile::tempdir().unwrap();
    let server = Server::start(serve(&env, hsm, TOKEN, KEY, PIN));
    let (status, published) = text(&server, "/api/v1/audit/key");
    assert_eq!(status, 200);
    let verifier = NoteVerifier::parse(published.trim()).unwrap();
    // The published key is the token's key, named after the log.
    assert_eq!(verifier.public_key(), public);
    assert_eq!(verifier.name(), "vanthu.local/audit");

    let first = note_of_at_least(&server, &verifier, 1);
    for _ in 0..3 {
        server.demo_login("district.clerk");
    }
    let size: u64 = first.lines().nth(1).unwrap().parse().unwrap();
    let second = note_of_at_least(&server, &verifier, size + 3);
    for note in [&first, &second] {
        let seen = independent_check(&tools, work.path(), note, &published);
        assert_eq!(seen["verified"], true, "{seen}\n{note}");
        assert_eq!(seen["signatures"], 1, "{seen}");
        assert_eq!(seen["public_key"], hex::encode(public), "{seen}");
        assert_eq!(seen["origin"], "vanthu.local/audit", "{seen}");
        // The Rust verifier and the independent one read the same tree head.
        let checkpoint = Checkpoint::parse(verifier.open(note).unwrap()).unwrap();
        assert_eq!(seen["size"], checkpoint.size, "{seen}");
    }
    // A note changed by one byte fails the independent check too.
    let changed = second.replacen("vanthu.local/audit\n", "vanthu.local/audiT\n", 1);
    let seen = independent_check(&tools, work.path(), &changed, &published);
    assert_eq!(seen["signatures"], 1, "{seen}");
    assert_eq!(seen["verified"], false, "{seen}");
    assert!(
        server.stderr().contains("audit key in a PKCS#11 token"),
        "{}",
        server.stderr()
    );
    server.kill();

    // The data directory records the verifier key only: no private key is in it.
    let record = std::fs::read_to_string(env.data_dir().join("audit-key")).unwrap();
    assert_eq!(
        record,
        format!(
            "vanthu audit key, held in a PKCS#11 token, v1\n{}",
            published
        )
    );

    // `vanthu audit checkpoint` signs in the token too, with no key-encryption key.
    let mut cmd = env.command();
    cmd.args(["audit", "checkpoint"])
        .env_remove("VANTHU_KEK_FILE");
    let out = with_audit_token(&mut cmd, hsm, TOKEN, KEY, PIN)
        .output()
        .unwrap();
    common::assert_success(&out);
    let note = stdout(&out);
    let seen = independent_check(&tools, work.path(), &note, &published);
    assert_eq!(seen["verified"], true, "{seen}\n{note}");
    // Without the token's options it says where the key is, in one line.
    let out = env.run(&["audit", "checkpoint"]);
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("is in a PKCS#11 token") && said.contains("--audit-key-label"),
        "{said}"
    );
    assert_eq!(said.trim_end().lines().count(), 1, "{said}");

    // `vanthu audit verify`, unchanged, checks every checkpoint with the recorded key.
    let out = env.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let checked: u64 = stdout(&out)
        .split(" entries, ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(
        stdout(&out).starts_with("audit log intact: "),
        "{}",
        stdout(&out)
    );
    assert!(checked >= 3, "{}", stdout(&out));
}

#[test]
fn unusable_audit_keys_stop_the_server_at_start_with_one_line() {
    if require("unusable_audit_keys_stop_the_server", &[Tool::SoftHsm]).is_none() {
        return;
    }
    let hsm = token();
    let env = TestEnv::new();
    let refused = |label: &str, key: &str, pin: &str| {
        let (stderr, last) = refused_start(serve(&env, hsm, label, key, pin));
        assert!(
            last.starts_with("vanthu: cannot open the audit key: "),
            "{stderr}"
        );
        last["vanthu: cannot open the audit key: ".len()..].to_owned()
    };
    assert_eq!(
        refused(TOKEN, KEY, "000000"),
        format!("wrong PIN for the PKCS#11 token \"{TOKEN}\"")
    );
    assert!(refused("no-such-token", KEY, PIN)
        .starts_with("no PKCS#11 token labelled \"no-such-token\" is present"),);
    assert_eq!(
        refused(TOKEN, EC_KEY, PIN),
        format!(
            "the key with label \"{EC_KEY}\" on the PKCS#11 token \"{TOKEN}\" is not an \
             Ed25519 key: it is a CKK_EC key"
        )
    );
    assert_eq!(
        refused(TOKEN, "missing", PIN),
        format!("the PKCS#11 token \"{TOKEN}\" holds no private key with label \"missing\"")
    );

    // A token that does not sign with CKM_EDDSA (SoftHSM2 allowed RSA and ECDSA only),
    // though it holds an Ed25519 key.
    let plain = SoftHsm::create_with(
        "no-eddsa",
        PIN,
        "slots.mechanisms = CKM_RSA_PKCS,CKM_ECDSA\n",
    )
    .unwrap();
    plain
        .import_key(KEY, &[1], &PKey::generate_ed25519().unwrap())
        .unwrap();
    let (stderr, last) = refused_start(serve(&env, &plain, "no-eddsa", KEY, PIN));
    assert_eq!(
        last,
        "vanthu: cannot open the audit key: the PKCS#11 token \"no-eddsa\" does not offer \
         CKM_EDDSA (Ed25519 signatures)",
        "{stderr}"
    );

    // A log whose checkpoints are signed with the key sealed in the data directory is not
    // taken over by a token key, nor a token key's log by another token key.
    let sealed = TestEnv::new();
    sealed.serve_demo(&[]).kill();
    let (stderr, last) = refused_start(serve(&sealed, hsm, TOKEN, KEY, PIN));
    assert!(
        last.contains("is signed with the key vanthu.local/audit+")
            && last.contains("sealed in the data directory")
            && last.ends_with("a log keeps one key"),
        "{stderr}"
    );
    let in_token = TestEnv::new();
    Server::start(serve(&in_token, hsm, TOKEN, KEY, PIN)).kill();
    let (stderr, last) = refused_start(serve(&in_token, hsm, TOKEN, OTHER_KEY, PIN));
    assert!(
        last.ends_with(&format!(
            "not with the key labelled \"{OTHER_KEY}\" on the PKCS#11 token \"{TOKEN}\": a log \
             keeps one key"
        )),
        "{stderr}"
    );
}
