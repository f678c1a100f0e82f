//! The audit log through the real server and the real CLI: entries recorded with their
//! actions, who may read them, signed checkpoints and proofs that check out with the audit
//! crate's verifier, `vanthu audit verify` naming edits made behind the server's back, and
//! two servers appending to one database at once.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::db::DbObserver;
use common::{status_json, Server, TestEnv, DEMO_PASSWORD};
use serde_json::{json, Value};
use vanthu_audit::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use vanthu_audit::{AuditEntry, Checkpoint, Hash, NoteVerifier};

fn entries(server: &Server, token: &str, query: &str) -> (u16, Value) {
    status_json(server.get(&format!("/api/v1/audit/entries?{query}"), token))
}

fn user_id(server: &Server, token: &str) -> i64 {
    let (status, me) = status_json(server.get("/api/v1/me", token));
    assert_eq!(status, 200, "{me}");
    me["user"]["id"].as_i64().unwrap()
}

fn text(server: &Server, path: &str) -> (u16, String) {
    let r = server.client.get(server.url(path)).send().unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

/// The latest checkpoint, opened with the published key.
fn checkpoint(server: &Server) -> Checkpoint {
    let (status, key) = text(server, "/api/v1/audit/key");
    assert_eq!(status, 200);
    let key = NoteVerifier::parse(key.trim()).unwrap();
    let (status, note) = text(server, "/api/v1/audit/checkpoint");
    assert_eq!(status, 200, "{note}");
    Checkpoint::parse(key.open(&note).unwrap()).unwrap()
}

/// Waits until the server has signed a checkpoint covering at least `size` entries (the
/// first one comes shortly after the server starts answering).
fn checkpoint_of_at_least(server: &Server, size: u64) -> Checkpoint {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let issued = text(server, "/api/v1/audit/checkpoint").0 == 200;
        if issued {
            let c = checkpoint(server);
            if c.size >= size {
                return c;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint of {size} entries came"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn hashes(values: &Value) -> Vec<Hash> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::try_from(BASE64.decode(h.as_str().unwrap()).unwrap()).unwrap())
        .collect()
}

#[test]
fn actions_are_recorded_and_auditors_read_their_subtree_only() {
    let env = TestEnv::new();
    let server = env.serve_demo(&["--audit-checkpoint-interval", "1s"]);
    let clerk = server.demo_login("district.clerk");
    let clerk_id = user_id(&server, &clerk);
    assert_eq!(server.try_login("district.clerk", "wrong").status(), 401);
    assert_eq!(server.try_login("nobody.here", "wrong").status(), 401);
    let auditor = server.demo_login("district.auditor");
    let commune_auditor = server.demo_login("commune.auditor");
    let commune_clerk = server.demo_login("commune.clerk");

    // A received document registered once; the second attempt is refused and leaves nothing.
    let (status, list) = status_json(server.get("/api/v1/incoming?state=received", &clerk));
    assert_eq!(status, 200, "{list}");
    let id = list["items"][0]["id"]
        .as_i64()
        .expect("a received demo document");
    let register = format!("/api/v1/incoming/{id}/register");
    assert_eq!(server.post(&register, &clerk, &json!({})).status(), 200);
    assert_eq!(server.post(&register, &clerk, &json!({})).status(), 409);

    let (status, history) =
        status_json(server.get(&format!("/api/v1/documents/{id}/history"), &clerk));
    assert_eq!(status, 200, "{history}");
    let actions: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["incoming.receive", "incoming.register"],
        "{history}"
    );
    let registered = &history[1];
    assert_eq!(registered["actor_id"], clerk_id);
    assert_eq!(registered["outcome"], "success");
    assert_eq!(registered["details"]["state"], "registered");
    assert!(history[0]["file_sha256"]
        .as_str()
        .is_some_and(|s| s.len() == 64));
    // The canonical bytes travel with the entry and hash to its leaf.
    let bytes = BASE64
        .decode(registered["entry"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        BASE64.encode(leaf_hash(&bytes)),
        registered["leaf_hash"].as_str().unwrap()
    );
    assert_eq!(
        AuditEntry::from_bytes(&bytes).unwrap().seq,
        registered["seq"].as_u64().unwrap()
    );
    // Someone who cannot see the document cannot see its history.
    let (status, _) =
        status_json(server.get(&format!("/api/v1/documents/{id}/history"), &commune_clerk));
    assert_eq!(status, 404);

    let (status, failures) = entries(&server, &auditor, "action=login.failure");
    assert_eq!(status, 200, "{failures}");
    // The unknown name has no unit, so only an auditor of the whole province would see it.
    assert_eq!(failures["total"], 1, "{failures}");
    assert_eq!(failures["items"][0]["details"]["reason"], "wrong password");
    assert_eq!(failures["items"][0]["object"], format!("user:{clerk_id}"));
    let (_, by_clerk) = entries(&server, &auditor, &format!("actor={clerk_id}&per_page=200"));
    let kinds: HashSet<&str> = by_clerk["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in ["login.success", "incoming.receive", "incoming.register"] {
        assert!(kinds.contains(expected), "{expected} missing: {kinds:?}");
    }
    let (_, about) = entries(&server, &auditor, &format!("object=incoming:{id}"));
    assert_eq!(about["total"], 2);
    let (_, none_yet) = entries(&server, &auditor, "to=2000-01-01T00:00:00Z");
    assert_eq!(none_yet["total"], 0);

    // The commune's auditor sees what the commune did and nothing of the district.
    let (status, district_seen) = entries(&server, &commune_auditor, &format!("actor={clerk_id}"));
    assert_eq!((status, district_seen["total"].clone()), (200, json!(0)));
    let (_, commune_seen) = entries(&server, &commune_auditor, "action=login.success");
    assert!(
        commune_seen["total"].as_u64().unwrap() >= 2,
        "{commune_seen}"
    );
    assert!(commune_seen["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["actor_id"] != clerk_id));

    // Others may not read the log; bad filters are named.
    let (status, problem) = entries(&server, &clerk, "");
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("forbidden")),
        "{problem}"
    );
    let (status, _) = status_json(
        server
            .client
            .get(server.url("/api/v1/audit/entries"))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 401);
    for (query, field) in [
        ("action=delete.everything", "action"),
        ("from=yesterday", "from"),
        ("object=incoming", "object"),
        ("actor=-3", "actor"),
        ("per_page=0", "per_page"),
    ] {
        let (status, problem) = entries(&server, &auditor, query);
        assert_eq!(status, 400, "{query}: {problem}");
        assert_eq!(problem["field"], field, "{query}: {problem}");
    }
}

#[test]
fn checkpoints_and_proofs_verify_with_the_published_key() {
    let env = TestEnv::new();
    let server = env.serve_demo(&["--audit-checkpoint-interval", "1s"]);
    let first = checkpoint_of_at_least(&server, 1);
    for _ in 0..3 {
        server.demo_login("district.clerk");
    }
    let second = checkpoint_of_at_least(&server, first.size + 3);
    assert_eq!(first.origin, "vanthu.local/audit");

    let (status, c) = status_json(
        server
            .client
            .get(server.url(&format!(
                "/api/v1/audit/proof/consistency?from={}&to={}",
                first.size, second.size
            )))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{c}");
    verify_consistency(
        first.size,
        second.size,
        &hashes(&c["proof"]),
        &first.root,
        &second.root,
    )
    .unwrap();

    for seq in [0, first.size - 1, second.size - 1] {
        let (status, p) = status_json(
            server
                .client
                .get(server.url(&format!(
                    "/api/v1/audit/proof/inclusion?seq={seq}&size={}",
                    second.size
                )))
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200, "{p}");
        let leaf =
            Hash::try_from(BASE64.decode(p["leaf_hash"].as_str().unwrap()).unwrap()).unwrap();
        verify_inclusion(seq, second.size, &leaf, &hashes(&p["proof"]), &second.root).unwrap();
    }

    let beyond = second.size + 1_000;
    for (query, field) in [
        ("proof/inclusion?size=3".to_owned(), "seq"),
        ("proof/inclusion?seq=3&size=3".to_owned(), "seq"),
        (format!("proof/inclusion?seq=0&size={beyond}"), "size"),
        ("proof/inclusion?seq=x&size=3".to_owned(), "seq"),
        ("proof/consistency?from=0&to=2".to_owned(), "from"),
        (format!("proof/consistency?from=1&to={beyond}"), "size"),
        ("proof/consistency?from=1".to_owned(), "to"),
    ] {
        let (status, problem) = status_json(
            server
                .client
                .get(server.url(&format!("/api/v1/audit/{query}")))
                .send()
                .unwrap(),
        );
        assert_eq!(status, 400, "{query}: {problem}");
        assert_eq!(problem["field"], field, "{query}: {problem}");
    }

    let (status, doc) = status_json(
        server
            .client
            .get(server.url("/api/openapi.json"))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    for path in [
        "/api/v1/audit/entries",
        "/api/v1/audit/checkpoint",
        "/api/v1/audit/key",
        "/api/v1/audit/proof/inclusion",
        "/api/v1/audit/proof/consistency",
        "/api/v1/documents/{id}/history",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} not in the OpenAPI description"
        );
    }
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `vanthu audit verify`'s answer: its exit status and output lines.
fn verify(env: &TestEnv, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["audit", "verify"];
    args.extend_from_slice(extra);
    let out = env.run(&args);
    (
        out.status.code().unwrap_or(-1),
        stdout(&out) + &String::from_utf8_lossy(&out.stderr),
    )
}

/// The canonical bytes of entry `seq`, read past the server.
fn entry_bytes(db: &mut DbObserver, seq: u64) -> Vec<u8> {
    let hex_of = if db.is_postgres() {
        "encode(entry, 'hex')"
    } else {
        "hex(entry)"
    };
    let rows = db.texts(&format!(
        "SELECT {hex_of} AS row FROM audit_entries WHERE seq = {seq}"
    ));
    hex::decode(&rows[0]).unwrap()
}

fn bytes_literal(db: &DbObserver, bytes: &[u8]) -> String {
    if db.is_postgres() {
        format!("decode('{}', 'hex')", hex::encode(bytes))
    } else {
        format!("X'{}'", hex::encode(bytes))
    }
}

/// Writes `bytes` as entry `seq` with a matching leaf hash, as a careful forger would.
fn overwrite(db: &mut DbObserver, seq: u64, bytes: &[u8]) {
    let (entry, leaf) = (
        bytes_literal(db, bytes),
        bytes_literal(db, &leaf_hash(bytes)),
    );
    db.execute(&format!(
        "UPDATE audit_entries SET entry = {entry}, leaf_hash = {leaf} WHERE seq = {seq}"
    ));
}

#[test]
fn edits_behind_the_servers_back_are_named_by_audit_verify() {
    let env = TestEnv::new();
    {
        let server = env.serve_demo(&[]);
        for user in ["district.clerk", "district.leader", "commune.clerk"] {
            server.demo_login(user);
        }
    }
    let out = env.run(&["audit", "checkpoint"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let note = stdout(&out);
    let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
    assert!(size > 30, "{note}");
    let (code, said) = verify(&env, &[]);
    assert_eq!(code, 0, "{said}");
    // The server issued one when it started, the command another.
    assert!(
        said.starts_with(&format!("audit log intact: {size} entries, 2 checkpoints")),
        "{said}"
    );

    // An export checks out with nothing but itself and the key.
    let export = env.dir.path().join("export");
    let out = env.run(&["audit", "export", "--out", export.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = export.join("key.txt");
    let export_args = [
        "--export",
        export.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ];
    let (code, said) = verify(&env, &export_args);
    assert_eq!(code, 0, "{said}");
    assert_eq!(
        std::fs::read_to_string(export.join("entries.jsonl"))
            .unwrap()
            .lines()
            .count() as u64,
        size
    );

    let mut db = DbObserver::open(&env);
    // The triggers refuse edits until someone with the rights drops them.
    for sql in [
        "DELETE FROM audit_entries WHERE seq = 1",
        "UPDATE audit_entries SET time_ms = 0 WHERE seq = 1",
        "DELETE FROM audit_checkpoints",
    ] {
        let refused = db.try_execute(sql).unwrap_err();
        assert!(refused.contains("append-only"), "{sql}: {refused}");
    }
    db.execute(if db.is_postgres() {
        "DROP TRIGGER audit_entries_append_only ON audit_entries"
    } else {
        "DROP TRIGGER audit_entries_no_update; DROP TRIGGER audit_entries_no_delete"
    });

    // Changed: another actor written into entry 5, its leaf hash recomputed to match.
    let mut changed = AuditEntry::from_bytes(&entry_bytes(&mut db, 5)).unwrap();
    changed.record.time_ms -= 3_600_000;
    overwrite(&mut db, 5, &changed.to_bytes());
    // Reordered: entries 10 and 11 swap places.
    let (ten, eleven) = (entry_bytes(&mut db, 10), entry_bytes(&mut db, 11));
    overwrite(&mut db, 10, &eleven);
    overwrite(&mut db, 11, &ten);
    // Removed: entry 20.
    db.execute("DELETE FROM audit_entries WHERE seq = 20");
    // Inserted: a forged entry after the last one, linked and hashed correctly.
    let last = AuditEntry::from_bytes(&entry_bytes(&mut db, size - 1)).unwrap();
    let forged = AuditEntry {
        seq: size,
        previous: leaf_hash(&last.to_bytes()),
        record: last.record.clone(),
    };
    let bytes = forged.to_bytes();
    let (entry, leaf) = (
        bytes_literal(&db, &bytes),
        bytes_literal(&db, &leaf_hash(&bytes)),
    );
    db.execute(&format!(
        "INSERT INTO audit_entries (seq, entry, leaf_hash, time_ms, action, outcome) \
         VALUES ({size}, {entry}, {leaf}, {}, '{}', 'success')",
        forged.record.time_ms, forged.record.action
    ));

    let (code, said) = verify(&env, &[]);
    assert_eq!(code, 1, "{said}");
    for expected in [
        "entry 5 was changed: entry 6 records another hash for it".to_owned(),
        "entry 10 holds the bytes of entry 11".to_owned(),
        "entry 11 holds the bytes of entry 10".to_owned(),
        "entry 20 is missing".to_owned(),
        format!(
            "it holds {size} entries and entry {size} lies beyond it: added behind the log's back"
        ),
        "checkpoint #1".to_owned(),
    ] {
        assert!(said.contains(&expected), "'{expected}' not in:\n{said}");
    }
    // The export made before the edits still verifies; one made after does not.
    assert_eq!(verify(&env, &export_args).0, 0);
    let after = env.dir.path().join("after");
    assert!(env
        .run(&["audit", "export", "--out", after.to_str().unwrap()])
        .status
        .success());
    let (code, said) = verify(
        &env,
        &[
            "--export",
            after.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("entry 20 is missing"), "{said}");
    // Checkpoints are believed only under the key given: another key of the same name, or a
    // key string that is not one, is refused.
    let other = env.dir.path().join("other-key.txt");
    let impostor = vanthu_audit::NoteSigner::generate("vanthu.local/audit").unwrap();
    std::fs::write(&other, format!("{}\n", impostor.verifier())).unwrap();
    let other_args = [
        "--export",
        export.to_str().unwrap(),
        "--key",
        other.to_str().unwrap(),
    ];
    let (code, said) = verify(&env, &other_args);
    assert_eq!(code, 1, "{said}");
    assert!(
        said.contains("checkpoint #1: the note has no valid signature"),
        "{said}"
    );
    std::fs::write(&other, "vanthu.local/audit+00000000+AQAA\n").unwrap();
    let (code, said) = verify(&env, &other_args);
    assert_eq!(code, 2, "{said}");
    assert!(said.contains("holds no verifier key"), "{said}");
}

#[test]
fn two_servers_appending_at_once_keep_one_log() {
    let env = TestEnv::new();
    let first = env.serve_demo(&[]);
    // The second server shares the database and the audit key, as instances of one
    // deployment do, and nothing else.
    let second_data = env.dir.path().join("data-2");
    vanthu_store::private::create_dir(&second_data).unwrap();
    std::fs::copy(
        env.data_dir().join("audit-key"),
        second_data.join("audit-key"),
    )
    .unwrap();
    let mut cmd = env.command();
    cmd.env("VANTHU_DATA", &second_data)
        .args(["serve", "--dev", "--listen", "127.0.0.1:0"]);
    let second = Server::start(cmd);
    let urls = Arc::new([first.url(""), second.url("")]);

    // One account a thread: the same account signing in from eight places at once would
    // rightly run into the login throttle.
    const ACCOUNTS: [&str; 8] = [
        "district.admin",
        "district.clerk",
        "district.leader",
        "district.specialist",
        "commune.admin",
        "commune.clerk",
        "commune.leader",
        "commune.specialist",
    ];
    const THREADS: usize = ACCOUNTS.len();
    const LOGINS: usize = 4;
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let urls = urls.clone();
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                for _ in 0..LOGINS {
                    let r = client
                        .post(format!("{}/api/v1/auth/login", urls[i % 2]))
                        .json(&json!({ "username": ACCOUNTS[i], "password": DEMO_PASSWORD }))
                        .send()
                        .unwrap();
                    assert_eq!(r.status(), 200);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let auditor = first.demo_login("district.auditor");
    let (_, logins) = entries(&second, &auditor, "action=login.success&per_page=200");
    // Besides the auditor's own sign-in, every one of the threads'.
    let theirs = logins["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| ACCOUNTS.contains(&e["details"]["username"].as_str().unwrap()))
        .count();
    assert_eq!(theirs, THREADS * LOGINS, "{logins}");
    let seqs: Vec<u64> = logins["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seqs.iter().collect::<HashSet<_>>().len(),
        seqs.len(),
        "duplicate sequence numbers"
    );
    drop((first, second));

    assert!(env.run(&["audit", "checkpoint"]).status.success());
    let (code, said) = verify(&env, &[]);
    assert_eq!(code, 0, "{said}");
    assert!(Path::new(&env.data_dir().join("audit-key")).exists());
}

#[test]
fn audit_commands_refuse_in_one_line_what_they_cannot_check() {
    let env = TestEnv::new();
    let key = env.dir.path().join("key.txt");
    let signer = vanthu_audit::NoteSigner::generate("vanthu.local/audit").unwrap();
    std::fs::write(&key, format!("{}\n", signer.verifier())).unwrap();
    let empty = env.dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (empty, key) = (empty.to_str().unwrap(), key.to_str().unwrap());
    // A PostgreSQL test database exists already; a SQLite file is only there once opened.
    let sqlite = !env.db.url().starts_with("postgres");
    let no_database = sqlite
        .then(|| {
            [
                (vec!["audit", "verify", "--key", key], "no database"),
                (vec!["audit", "checkpoint"], "no database"),
            ]
        })
        .into_iter()
        .flatten();
    for (args, says) in [
        (vec!["audit", "verify", "--export", empty], "--key"),
        (
            vec!["audit", "verify", "--export", empty, "--key", key],
            "cannot read",
        ),
        (vec!["audit", "verify"], "no audit key"),
    ]
    .into_iter()
    .chain(no_database)
    {
        let out = env.run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
    // Nothing was created on the way: no key without a log to sign.
    assert!(!env.data_dir().join("audit-key").exists());
    assert!(!sqlite || !env.data_dir().join("vanthu.db").exists());
}

/// Puts a signing-PIN change for the signed-in leader.
fn change_pin(server: &Server, token: &str, current: &str, new: &str) -> u16 {
    server
        .request(reqwest::Method::PUT, "/api/v1/me/signing-pin", token)
        .json(&json!({"current_pin": current, "new_pin": new}))
        .send()
        .expect("PUT signing-pin")
        .status()
        .as_u16()
}

/// The items of an entries query that must succeed.
fn items(server: &Server, token: &str, query: &str) -> Vec<Value> {
    let (status, page) = entries(server, token, query);
    assert_eq!(status, 200, "{query}: {page}");
    page["items"].as_array().unwrap().clone()
}

#[test]
fn key_enrolments_pin_changes_blocks_and_role_changes_are_recorded() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let auditor = server.demo_login("district.auditor");
    let commune_auditor = server.demo_login("commune.auditor");
    let admin = server.demo_login("district.admin");
    let leader = server.demo_login("district.leader");
    let leader_id = user_id(&server, &leader);

    // The demo enrolled the leader's key (by the leader) and the district's seal (by the
    // operator, filed under the district); neither entry carries key material.
    let enrolled = items(&server, &auditor, "action=key.enrol&per_page=200");
    let leaders_key = enrolled
        .iter()
        .find(|e| e["actor_id"] == leader_id)
        .unwrap_or_else(|| panic!("the leader's enrolment is missing: {enrolled:?}"));
    assert_eq!(leaders_key["details"]["owner"], format!("user:{leader_id}"));
    assert_eq!(leaders_key["details"]["protection"], "pin");
    let key_object = leaders_key["object"].as_str().unwrap().to_owned();
    assert!(key_object.starts_with("key:"), "{leaders_key}");
    let seals: Vec<&Value> = enrolled
        .iter()
        .filter(|e| e["actor_id"].is_null())
        .collect();
    assert!(
        !seals.is_empty(),
        "the seal enrolment is missing: {enrolled:?}"
    );
    assert!(seals.iter().all(|e| e["details"]["protection"] == "kek"));
    for e in &enrolled {
        let text = e.to_string();
        assert!(
            !text.contains("PRIVATE KEY") && !text.contains("246810"),
            "{text}"
        );
    }
    // The commune's auditor sees the commune's enrolments and none of the district's.
    let commune_enrolled = items(&server, &commune_auditor, "action=key.enrol&per_page=200");
    assert!(!commune_enrolled.is_empty());
    assert!(commune_enrolled.iter().all(|e| e["actor_id"] != leader_id));

    // A PIN change is recorded against the key, by the leader; a refused one is not.
    assert_eq!(change_pin(&server, &leader, "975318", "135791"), 403);
    assert!(items(&server, &auditor, "action=pin.change").is_empty());
    assert_eq!(change_pin(&server, &leader, "246810", "135791"), 200);
    let changed = items(&server, &auditor, "action=pin.change");
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0]["actor_id"], leader_id);
    assert_eq!(changed[0]["object"], key_object);

    // Five wrong PINs in a row block the key, and the block is recorded once.
    assert_eq!(change_pin(&server, &leader, "975318", "864213"), 403);
    for _ in 0..3 {
        assert_eq!(change_pin(&server, &leader, "975318", "864213"), 403);
    }
    assert!(items(&server, &auditor, "action=key.blocked").is_empty());
    assert_eq!(change_pin(&server, &leader, "975318", "864213"), 423);
    assert_eq!(change_pin(&server, &leader, "135791", "864213"), 423);
    let blocked = items(&server, &auditor, "action=key.blocked");
    assert_eq!(blocked.len(), 1, "{blocked:?}");
    assert_eq!(blocked[0]["object"], key_object);
    assert_eq!(blocked[0]["details"]["wrong_pins"], "5");

    // An admin's change of roles names the new roles.
    let specialist = server.demo_login("district.specialist");
    let specialist_id = user_id(&server, &specialist);
    let path = format!("/api/v1/users/{specialist_id}");
    let (status, body) =
        status_json(server.patch(&path, &admin, &json!({"roles": ["specialist", "clerk"]})));
    assert_eq!(status, 200, "{body}");
    let admin_id = user_id(&server, &admin);
    let updates = items(
        &server,
        &auditor,
        &format!("action=user.update&object=user:{specialist_id}"),
    );
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(updates[0]["actor_id"], admin_id);
    let roles = updates[0]["details"]["roles"].as_str().unwrap();
    assert!(
        roles.contains("clerk") && roles.contains("specialist"),
        "{roles}"
    );
}
