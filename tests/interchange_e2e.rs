//! The interchange between two installations, each its own server and database, each a
//! different province's agency with its own seal, each configured with the other as an
//! agency: a document released by one arrives at the other, verified, is registered,
//! assigned, handled and completed, and the sender sees 01, 03, 04, 05, 06 in order; a recall
//! (13) is answered (15); a sender killed with deliveries pending loses and doubles nothing.

mod common;

#[path = "../crates/interchange/tests/common/mod.rs"]
mod packages;

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::db::DbObserver;
use common::{status_json, unit_by_code, Server, TestEnv};
use serde_json::{json, Value};

/// The sending commune of the demo installation.
const COMMUNE: &str = "000.31.01.H56";
/// The receiving department, at the other province's installation.
const DEPARTMENT: &str = "000.00.12.H57";
/// The demo leaders' signing PIN.
const PIN: &str = "246810";
/// How long a package may take to travel (the worker looks every second).
const TRAVEL: Duration = Duration::from_secs(60);

/// A free local port for a server whose address the other's configuration must name
/// before it starts.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One installation: its environment, its address, its agencies file.
struct Installation {
    env: TestEnv,
    port: u16,
    agencies: PathBuf,
}

impl Installation {
    fn new(other: (&str, &str), other_port: u16, secret: &str) -> Installation {
        let env = TestEnv::new();
        let agencies = env.dir.path().join("agencies.toml");
        std::fs::write(
            &agencies,
            format!(
                "[[agency]]\nname = \"{}\"\ncode = \"{}\"\nurl = \"http://127.0.0.1:{other_port}\"\nsecret = \"{secret}\"\n",
                other.1, other.0
            ),
        )
        .unwrap();
        Installation {
            env,
            port: free_port(),
            agencies,
        }
    }

    fn start(&self) -> Server {
        let mut cmd = self.env.command();
        cmd.arg("serve")
            .arg("--demo")
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .arg("--agencies")
            .arg(&self.agencies)
            .args(["--interchange-retry", "200ms"])
            // A sender killed holding its claims delivers them again once they run out.
            .args(["--interchange-lease", "2s"]);
        Server::start(cmd)
    }
}

/// The two installations, started: the sender (the demo province) and the recipient (a
/// department of another province, created there with its people and its seal).
struct Pair {
    sender: Installation,
    recipient: Installation,
    a: Option<Server>,
    b: Option<Server>,
}

fn secret() -> String {
    let mut bytes = [0u8; 24];
    openssl::rand::rand_bytes(&mut bytes).unwrap();
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Pair {
    fn start() -> Pair {
        let secret = secret();
        let mut sender = Installation::new((DEPARTMENT, "Sở Nội vụ tỉnh Bắc Ninh"), 0, &secret);
        let recipient = Installation::new((COMMUNE, "UBND xã Đồng Cương"), sender.port, &secret);
        // The sender names the recipient's address, now known.
        sender = Installation {
            agencies: {
                std::fs::write(
                    &sender.agencies,
                    format!(
                        "[[agency]]\nname = \"Sở Nội vụ tỉnh Bắc Ninh\"\ncode = \"{DEPARTMENT}\"\nurl = \"http://127.0.0.1:{}\"\nsecret = \"{secret}\"\n",
                        recipient.port
                    ),
                )
                .unwrap();
                sender.agencies.clone()
            },
            ..sender
        };
        let a = sender.start();
        let b = recipient.start();
        department(&recipient.env, &b);
        Pair {
            sender,
            recipient,
            a: Some(a),
            b: Some(b),
        }
    }

    fn a(&self) -> &Server {
        self.a.as_ref().unwrap()
    }

    fn b(&self) -> &Server {
        self.b.as_ref().unwrap()
    }
}

/// The receiving department at the other installation: its unit, clerk, leader and
/// specialist, and its seal (the development seal, installed with `vanthu seal-key`).
fn department(env: &TestEnv, server: &Server) {
    let admin = server.demo_login("district.admin");
    let district = unit_by_code(server, &admin, "000.00.31.H56")["id"]
        .as_i64()
        .unwrap();
    let (status, unit) = status_json(server.post(
        "/api/v1/units",
        &admin,
        &json!({"parent_id": district, "code": DEPARTMENT, "name": "Sở Nội vụ tỉnh Bắc Ninh", "level": "department"}),
    ));
    assert_eq!(status, 201, "{unit}");
    for (name, role) in [
        ("snv.clerk", "clerk"),
        ("snv.leader", "leader"),
        ("snv.specialist", "specialist"),
    ] {
        let (status, user) = status_json(server.post(
            "/api/v1/users",
            &admin,
            &json!({"username": name, "display_name": "Nguyễn Văn Bình", "unit_id": unit["id"], "roles": [role], "password": "mat-khau-dai-snv"}),
        ));
        assert_eq!(status, 201, "{user}");
    }
    common::install_dev_seal(env, DEPARTMENT);
}

fn login(server: &Server, name: &str) -> String {
    server.login(name, "mat-khau-dai-snv")
}

/// Drafts, approves, signs, issues and releases a document of the commune to the
/// department elsewhere; returns its id and number.
fn release(server: &Server, summary: &str) -> (i64, String) {
    let (id, number) = issued(server, summary);
    let clerk = server.demo_login("commune.clerk");
    let (status, out) = status_json(server.post(
        &format!("/api/v1/outgoing/{id}/release"),
        &clerk,
        &json!({}),
    ));
    assert_eq!(status, 200, "release: {out}");
    assert_eq!(out["state"], "released");
    (id, number)
}

/// Drafts, approves, signs and issues a document of the commune to the department
/// elsewhere; returns its id and number.
fn issued(server: &Server, summary: &str) -> (i64, String) {
    let specialist = server.demo_login("commune.specialist");
    let leader = server.demo_login("commune.leader");
    let clerk = server.demo_login("commune.clerk");
    let (_, me) = status_json(server.get("/api/v1/me", &leader));
    let metadata = json!({
        "document_type": "Công văn",
        "summary": summary,
        "urgency": "khan",
        "notation": "UBND-VP",
        "signer": {"user_id": me["user"]["id"], "position": "CHỦ TỊCH", "authority": "tm"},
        "internal_recipients": [],
        "external_recipients": [{"name": "Sở Nội vụ tỉnh Bắc Ninh", "agency_code": DEPARTMENT}],
    });
    let pdf = common::one_page_pdf(b"CONG VAN LIEN THONG");
    let draft = common::draft_outgoing(server, &specialist, &metadata, &pdf);
    let id = draft["id"].as_i64().unwrap();
    let mut last = Value::Null;
    for (token, step, body) in [
        (&leader, "approve", json!({})),
        (&leader, "sign", json!({"pin": PIN})),
        (&clerk, "issue", json!({})),
    ] {
        let (status, out) =
            status_json(server.post(&format!("/api/v1/outgoing/{id}/{step}"), token, &body));
        assert_eq!(status, 200, "{step}: {out}");
        last = out;
    }
    assert_eq!(last["state"], "issued");
    (id, last["number_notation"].as_str().unwrap().to_owned())
}

/// Waits until `done` gives a value, or fails saying what was awaited.
fn wait_for<T>(what: &str, mut done: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + TRAVEL;
    loop {
        if let Some(v) = done() {
            return v;
        }
        assert!(Instant::now() < deadline, "waited too long for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The department's incoming documents with this number.
fn arrived(server: &Server, clerk: &str, number: &str) -> Vec<Value> {
    let (status, page) = status_json(server.get("/api/v1/incoming?per_page=200", clerk));
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["number_notation"] == number)
        .cloned()
        .collect()
}

/// The sender's outgoing document as the commune's clerk sees it.
fn detail(server: &Server, id: i64) -> Value {
    let clerk = server.demo_login("commune.clerk");
    let (status, body) = status_json(server.get(&format!("/api/v1/outgoing/{id}"), &clerk));
    assert_eq!(status, 200, "{body}");
    body
}

/// The status the department last reported, as the sender sees it.
fn reported(server: &Server, id: i64) -> Option<String> {
    detail(server, id)["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["external"]["agency_code"] == DEPARTMENT)
        .and_then(|r| r["status_code"].as_str().map(str::to_owned))
}

fn outbox(server: &Server, token: &str, list: &str) -> Vec<Value> {
    let (status, page) = status_json(server.get(
        &format!("/api/v1/interchange/outbox?state={list}&per_page=200"),
        token,
    ));
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

fn step(server: &Server, token: &str, id: i64, action: &str, body: Value) -> Value {
    let (status, out) =
        status_json(server.post(&format!("/api/v1/incoming/{id}/{action}"), token, &body));
    assert_eq!(status, 200, "{action}: {out}");
    out
}

#[test]
fn a_document_travels_between_agencies_and_its_statuses_come_back_in_order() {
    let pair = Pair::start();
    let (a, b) = (pair.a(), pair.b());
    let clerk = login(b, "snv.clerk");
    let (id, number) = release(a, "Về việc liên thông văn bản điện tử");

    // It arrives, sealed by the commune and verified, once.
    let copy = wait_for("the package at the department", || {
        arrived(b, &clerk, &number).pop()
    });
    assert_eq!(copy["state"], "received", "{copy}");
    assert_eq!(copy["verification"], "valid", "{copy}");
    assert_eq!(copy["issuing_body"], "Ủy ban nhân dân xã Đồng Cương");
    let copy = copy["id"].as_i64().unwrap();
    wait_for("01 at the sender", || {
        (reported(a, id).as_deref() == Some("01")).then_some(())
    });

    // The department registers, assigns, handles and completes it.
    let leader = login(b, "snv.leader");
    let specialist = login(b, "snv.specialist");
    let (_, me) = status_json(b.get("/api/v1/me", &specialist));
    step(b, &clerk, copy, "register", json!({}));
    step(
        b,
        &leader,
        copy,
        "assign",
        json!({"lead": {"kind": "user", "id": me["user"]["id"]}, "instruction": "Đồng chí chủ trì xử lý", "deadline": (chrono::Utc::now() + chrono::TimeDelta::days(14)).format("%Y-%m-%d").to_string()}),
    );
    step(
        b,
        &specialist,
        copy,
        "progress",
        json!({"note": "Đang rà soát"}),
    );
    step(
        b,
        &specialist,
        copy,
        "complete",
        json!({"note": "Đã xử lý xong"}),
    );

    // The sender sees every status, in order, and its package acknowledged.
    wait_for("06 at the sender", || {
        (reported(a, id).as_deref() == Some("06")).then_some(())
    });
    let statuses: Vec<String> = detail(a, id)["trace"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["action"] == "recipient_status")
        .map(|t| t["note"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = ["01", "03", "04", "05", "06"]
        .iter()
        .map(|c| format!("{DEPARTMENT}: {c}"))
        .collect();
    assert_eq!(statuses, expected);
    let sender_clerk = a.demo_login("commune.clerk");
    let acknowledged = outbox(a, &sender_clerk, "acknowledged");
    assert_eq!(acknowledged.len(), 1, "{acknowledged:?}");
    assert_eq!(acknowledged[0]["outgoing_id"], id);
    assert_eq!(acknowledged[0]["agency_name"], "Sở Nội vụ tỉnh Bắc Ninh");
    assert!(outbox(a, &sender_clerk, "not_sent").is_empty());
    // The department's statuses went out as sent packages, one per step.
    let sent: Vec<String> = outbox(b, &clerk, "sent")
        .iter()
        .rev()
        .map(|p| p["status_code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sent, ["01", "03", "04", "05", "06"]);

    // A recall (13) reaches the department, which accepts it (15).
    let (status, recalled) = status_json(a.post(
        &format!("/api/v1/outgoing/{id}/recall"),
        &sender_clerk,
        &json!({"reason": "Văn bản ban hành nhầm đối tượng"}),
    ));
    assert_eq!(status, 200, "{recalled}");
    let recall = wait_for("the recall at the department", || {
        let (_, doc) = status_json(b.get(&format!("/api/v1/incoming/{copy}"), &clerk));
        (!doc["recall"].is_null()).then(|| doc["recall"].clone())
    });
    assert_eq!(recall["state"], "requested", "{recall}");
    step(b, &clerk, copy, "recall-response", json!({"accept": true}));
    wait_for("15 at the sender", || {
        (reported(a, id).as_deref() == Some("15")).then_some(())
    });
    // The department's log holds every step of its copy, the agency's recall among them,
    // in no one's name here.
    let (status, history) =
        status_json(b.get(&format!("/api/v1/documents/{copy}/history"), &clerk));
    assert_eq!(status, 200, "{history}");
    let actions: Vec<(&str, bool)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor_id"].is_null()))
        .filter(|(action, _)| *action != "incoming.view")
        .collect();
    assert_eq!(
        actions,
        [
            ("incoming.receive", false),
            ("incoming.register", false),
            ("incoming.assign", false),
            ("incoming.progress", false),
            ("incoming.complete", false),
            ("incoming.recalled", true),
            ("incoming.recall_answer", false),
        ]
    );
    // Filed under the department, so the auditors above it see it among their entries.
    let auditor = b.demo_login("district.auditor");
    let (status, entries) =
        status_json(b.get("/api/v1/audit/entries?action=incoming.recalled", &auditor));
    assert_eq!(status, 200, "{entries}");
    assert_eq!(entries["total"], 1, "{entries}");

    // The inbox takes only what an agency it knows delivers.
    let unknown = b
        .client
        .post(b.url("/api/v1/interchange/inbox"))
        .bearer_auth("not-the-secret-of-anyone")
        .header("Content-Type", "application/xml")
        .body("<edXML/>")
        .send()
        .unwrap();
    common::expect_problem(unknown, 401, "agency_unauthorized");
}

/// Every document package the sender's outbox holds, as the sender's database has it.
fn document_rows(env: &TestEnv) -> Vec<String> {
    DbObserver::open(env).texts(
        "SELECT document_id || ' ' || state AS row FROM interchange_outbox \
         WHERE kind = 'document' ORDER BY id",
    )
}

#[test]
fn a_sender_killed_with_deliveries_pending_loses_and_doubles_nothing() {
    let mut pair = Pair::start();
    // The recipient is down: the sender's deliveries fail and wait.
    pair.b.take().unwrap().kill();
    let numbers: Vec<String> = (1..=3)
        .map(|n| release(pair.a(), &format!("Về việc liên thông, văn bản thứ {n}")).1)
        .collect();
    let sender_clerk = pair.a().demo_login("commune.clerk");
    // The first fails and waits; the others queue behind it, in order.
    wait_for("a failed delivery", || {
        (outbox(pair.a(), &sender_clerk, "failed").len() == 1).then_some(())
    });
    assert_eq!(outbox(pair.a(), &sender_clerk, "not_sent").len(), 3);
    pair.a.take().unwrap().kill();
    assert_eq!(document_rows(&pair.sender.env).len(), 3);

    // Both come back; every package arrives once.
    pair.b = Some(pair.recipient.start());
    pair.a = Some(pair.sender.start());
    let clerk = login(pair.b(), "snv.clerk");
    for number in &numbers {
        wait_for("each package at the department", || {
            (arrived(pair.b(), &clerk, number).len() == 1).then_some(())
        });
    }
    wait_for("every package acknowledged", || {
        document_rows(&pair.sender.env)
            .iter()
            .all(|r| r.ends_with(" acknowledged"))
            .then_some(())
    });

    // Killed after a delivery but before it was marked sent, the sender delivers again
    // after restart: the department still holds one document each.
    pair.a.take().unwrap().kill();
    DbObserver::open(&pair.sender.env)
        .execute("UPDATE interchange_outbox SET state = 'queued' WHERE kind = 'document'");
    pair.a = Some(pair.sender.start());
    wait_for("the packages delivered again", || {
        document_rows(&pair.sender.env)
            .iter()
            .all(|r| !r.ends_with(" queued"))
            .then_some(())
    });
    for number in &numbers {
        assert_eq!(arrived(pair.b(), &clerk, number).len(), 1, "{number}");
    }

    // The department sends one back (02): the sender lists its package as returned.
    let copy = arrived(pair.b(), &clerk, &numbers[0])[0]["id"]
        .as_i64()
        .unwrap();
    step(
        pair.b(),
        &clerk,
        copy,
        "return",
        json!({"reason": "Gửi nhầm đơn vị nhận"}),
    );
    let sender_clerk = pair.a().demo_login("commune.clerk");
    let returned = wait_for("the returned package", || {
        let returned = outbox(pair.a(), &sender_clerk, "returned");
        (!returned.is_empty()).then_some(returned)
    });
    assert_eq!(returned.len(), 1, "{returned:?}");
    assert!(
        returned[0]["document_id"]
            .as_str()
            .unwrap()
            .ends_with(&numbers[0]),
        "{returned:?}"
    );
    // Only clerks (and admins and auditors) watch the outbox.
    let specialist = pair.a().demo_login("commune.specialist");
    common::expect_problem(
        pair.a().get("/api/v1/interchange/outbox", &specialist),
        403,
        "forbidden",
    );
}

/// Posts `body` to the inbox as `media`, with `secret` as bearer token if given.
fn deliver(
    server: &Server,
    secret: Option<&str>,
    media: &str,
    body: &str,
) -> reqwest::blocking::Response {
    let mut request = server
        .client
        .post(server.url("/api/v1/interchange/inbox"))
        .header("Content-Type", media)
        .body(body.to_owned());
    if let Some(secret) = secret {
        request = request.bearer_auth(secret);
    }
    request.send().unwrap()
}

/// A document package from the Vĩnh Phúc department (000.00.12.H56) to the demo district,
/// its PDF sealed with the development seal.
fn package_from_the_department(
    env: &TestEnv,
    dir: &std::path::Path,
) -> vanthu_interchange::Package {
    let mut package = packages::package();
    package.header.to = vec![vanthu_interchange::Organ::new(
        packages::code("000.00.31.H56"),
        "UBND huyện Yên Lạc",
    )];
    package.header.from.id = packages::code("000.00.12.H56");
    package.header.document_id =
        vanthu_routing::DocumentIdentifier::parse("000.00.12.H56,2026/12/02,123/UBND-VP").unwrap();
    package.attachments[0].data = common::sealed_pdf(env, dir);
    package
}

#[test]
fn the_inbox_takes_only_sealed_packages_from_the_agency_whose_secret_is_presented() {
    let env = TestEnv::new();
    let (secret, pinned_secret) = (secret(), secret());
    // The department signs with the development seal, as its fingerprint says; the other
    // agency's fingerprint is of a seal nobody here holds.
    let seal_pem = common::tools::workspace().join("certs-dev/seal.pem");
    let fingerprint = openssl::x509::X509::from_pem(&std::fs::read(seal_pem).unwrap())
        .unwrap()
        .digest(openssl::hash::MessageDigest::sha256())
        .unwrap();
    let agencies = env.dir.path().join("agencies.toml");
    std::fs::write(
        &agencies,
        format!(
            "[[agency]]\nname = \"Sở Nội vụ tỉnh Vĩnh Phúc\"\ncode = \"000.00.12.H56\"\n\
             folder = \"{}\"\nsecret = \"{secret}\"\nseal_sha256 = \"{}\"\n\n\
             [[agency]]\nname = \"Sở Tư pháp tỉnh Vĩnh Phúc\"\ncode = \"000.00.13.H56\"\n\
             folder = \"{}\"\nsecret = \"{pinned_secret}\"\nseal_sha256 = \"{}\"\n",
            env.dir.path().join("lgsp-outbox").display(),
            hex(&fingerprint),
            env.dir.path().join("other-outbox").display(),
            "ab".repeat(32),
        ),
    )
    .unwrap();
    let server = env.serve_demo(&["--agencies", &agencies.display().to_string()]);
    let dir = tempfile::tempdir().unwrap();
    let package = package_from_the_department(&env, dir.path());
    let seal = packages::seal();
    let signed = vanthu_interchange::sign(&package.to_xml().unwrap(), &seal).unwrap();

    // Not an agency this installation knows: nothing is read.
    common::expect_problem(
        deliver(&server, None, "application/xml", &signed),
        401,
        "agency_unauthorized",
    );
    common::expect_problem(
        deliver(
            &server,
            Some("another-secret-of-no-one"),
            "application/xml",
            &signed,
        ),
        401,
        "agency_unauthorized",
    );
    common::expect_problem(
        deliver(&server, Some(&secret), "text/plain", &signed),
        415,
        "unsupported_media_type",
    );
    // What cannot be trusted is refused with the reason, and writes nothing.
    let refused = |body: &str, reason: &str| {
        let problem = common::expect_problem(
            deliver(&server, Some(&secret), "application/xml", body),
            422,
            "package_refused",
        );
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(reason), "{detail}");
    };
    refused(
        &signed.replacen("Về việc", "Về viêc", 1),
        "signature broken: the package was changed after it was signed",
    );
    refused(
        &package.to_xml().unwrap(),
        "the package carries no signature",
    );
    let mut other = package.clone();
    other.header.from.id = packages::code("000.00.13.H56");
    refused(
        &vanthu_interchange::sign(&other.to_xml().unwrap(), &seal).unwrap(),
        "the package comes from 000.00.13.H56, but the secret presented is that of 000.00.12.H56",
    );
    // Signed with a trusted seal, but not the one configured for the agency it names.
    let problem = common::expect_problem(
        deliver(
            &server,
            Some(&pinned_secret),
            "application/xml",
            &vanthu_interchange::sign(&other.to_xml().unwrap(), &seal).unwrap(),
        ),
        422,
        "package_refused",
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("not the seal the agencies configuration gives Sở Tư pháp tỉnh Vĩnh Phúc"),
        "{problem}"
    );
    let clerk = server.demo_login("district.clerk");
    assert!(arrived(&server, &clerk, "123/UBND-VP").is_empty());

    // A good package is received once, however often it is delivered; its arrival (01)
    // goes back through the agency's outbox folder.
    for outcome in [
        "imported: incoming document",
        "already imported: incoming document",
    ] {
        let (status, receipt) =
            status_json(deliver(&server, Some(&secret), "application/xml", &signed));
        assert_eq!(status, 200, "{receipt}");
        let last = receipt["lines"].as_array().unwrap().last().unwrap();
        assert!(last.as_str().unwrap().starts_with(outcome), "{receipt}");
    }
    let copies = arrived(&server, &clerk, "123/UBND-VP");
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert_eq!(copies[0]["verification"], "valid");
    let written = wait_for("the arrival status in the outbox folder", || {
        let files = common::files_under(&env.dir.path().join("lgsp-outbox"));
        (files.len() == 1).then_some(files)
    });
    let status = std::fs::read(&written[0]).unwrap();
    let read = vanthu_interchange::read(&status, &vanthu_interchange::Limits::default()).unwrap();
    let vanthu_interchange::Message::Status(status) = read.value else {
        panic!("not a status package")
    };
    assert_eq!(status.status.code(), "01");
    assert_eq!(
        status.response_for.document_id.as_str(),
        "000.00.12.H56,2026/12/02,123/UBND-VP"
    );
    assert_eq!(status.from.id.as_str(), "000.00.31.H56");

    // A replacement is received, and freezes what it replaces; a revoke freezes its
    // document; neither may act on another agency's document; updates are refused.
    let first = "000.00.12.H56,2026/12/02,123/UBND-VP";
    let second = "000.00.12.H56,2026/12/02,124/UBND-VP";
    let mut replacement = package.clone();
    replacement.header.code = vanthu_routing::NumberNotation::parse("124/UBND-VP").unwrap();
    replacement.header.document_id = vanthu_routing::DocumentIdentifier::parse(second).unwrap();
    let business = &mut replacement.trace.business;
    business.doc_type = vanthu_interchange::BusinessDocType::Replace;
    business.reason = Some("Sai số liệu tại Phụ lục I".into());
    business.replacements = vec![vanthu_interchange::ReplacementInfo {
        document_id: vanthu_routing::DocumentIdentifier::parse(first).unwrap(),
        organ_ids: vec![packages::code("000.00.31.H56")],
    }];
    let sealed = |p: &vanthu_interchange::Package| {
        vanthu_interchange::sign(&p.to_xml().unwrap(), &seal).unwrap()
    };
    let receive = |p: &vanthu_interchange::Package| -> Vec<String> {
        let (status, receipt) = status_json(deliver(
            &server,
            Some(&secret),
            "application/xml",
            &sealed(p),
        ));
        assert_eq!(status, 200, "{receipt}");
        receipt["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_owned())
            .collect()
    };
    // An update changes the details of the copy here, not its number.
    let mut update = package.clone();
    update.trace.business.doc_type = vanthu_interchange::BusinessDocType::Update;
    update.trace.business.reason = Some("Bổ sung trích yếu".into());
    update.header.subject =
        vanthu_routing::Summary::parse("Về việc triển khai văn bản điện tử (bổ sung)").unwrap();
    assert_eq!(
        receive(&update),
        [format!(
            "updated: {first}, 1 copy with the new details, PDF verification valid"
        )]
    );
    let copy = &arrived(&server, &clerk, "123/UBND-VP")[0];
    assert_eq!(
        copy["summary"],
        "Về việc triển khai văn bản điện tử (bổ sung)"
    );
    // An update carrying another PDF gives the copy its next revision, verified as on
    // receipt; each update leaves a line in the copy's trace.
    let held = |id: &Value| {
        let (status, detail) = status_json(server.get(&format!("/api/v1/incoming/{id}"), &clerk));
        assert_eq!(status, 200, "{detail}");
        detail
    };
    assert_eq!(held(&copy["id"])["files"].as_array().unwrap().len(), 1);
    let mut refiled = update.clone();
    refiled.attachments[0].data = common::sealed_pdf_of(&env, dir.path(), b"CONG VAN DINH CHINH");
    refiled.trace.business.reason = Some("Thay tệp văn bản".into());
    assert_eq!(
        receive(&refiled),
        [format!(
            "updated: {first}, 1 copy with the new details, PDF verification valid"
        )]
    );
    let detail = held(&copy["id"]);
    let files = detail["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{detail}");
    assert_eq!(
        files[1]["sha256"],
        hex(&openssl::sha::sha256(&refiled.attachments[0].data)),
        "{detail}"
    );
    assert_eq!(detail["verification"], "valid");
    assert_eq!(detail["verification_report"]["verdict"], "valid");
    let updates: Vec<&str> = detail["trace"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["action"] == "update")
        .map(|t| t["note"].as_str().unwrap())
        .collect();
    assert_eq!(
        updates,
        [
            "updated by its sender: Bổ sung trích yếu",
            "updated by its sender: Thay tệp văn bản"
        ]
    );
    // The file is the copy's now.
    let (status, bytes) = {
        let r = server.get(&format!("/api/v1/incoming/{}/files/2", copy["id"]), &clerk);
        (r.status().as_u16(), r.bytes().unwrap())
    };
    assert_eq!(status, 200);
    assert_eq!(&bytes[..], &refiled.attachments[0].data[..]);
    let lines = receive(&replacement);
    assert!(
        lines.contains(&format!(
            "replaced: {first}, 1 copy frozen awaiting its unit's answer"
        )),
        "{lines:?}"
    );
    assert!(lines.last().unwrap().starts_with("imported: "), "{lines:?}");
    let recall = |number: &str| arrived(&server, &clerk, number)[0]["recall"].clone();
    assert_eq!(recall("123/UBND-VP")["state"], "requested");
    assert!(recall("124/UBND-VP").is_null());
    let mut revoke = replacement.clone();
    let business = &mut revoke.trace.business;
    business.doc_type = vanthu_interchange::BusinessDocType::Revoke;
    business.reason = Some("Ban hành không đúng thẩm quyền".into());
    business.replacements = Vec::new();
    assert_eq!(
        receive(&revoke),
        [format!(
            "revoked: {second}, 1 copy frozen awaiting its unit's answer"
        )]
    );
    assert_eq!(recall("124/UBND-VP")["state"], "requested");
    let mut elsewhere = revoke.clone();
    elsewhere.header.document_id =
        vanthu_routing::DocumentIdentifier::parse("000.00.13.H56,2026/12/02,124/UBND-VP").unwrap();
    refused(
        &sealed(&elsewhere),
        "000.00.12.H56 acts on 000.00.13.H56,2026/12/02,124/UBND-VP, which another agency sent",
    );
    // The description lists every status these routes answer.
    let doc = server.openapi();
    for (path, method, statuses) in [
        (
            "/api/v1/interchange/inbox",
            "post",
            &["200", "400", "401", "413", "415", "422", "503"][..],
        ),
        (
            "/api/v1/interchange/outbox",
            "get",
            &["200", "400", "401", "403", "503"][..],
        ),
    ] {
        let described: Vec<&str> = doc["paths"][path][method]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(described, statuses, "{path}");
    }
    // A frozen copy keeps the details it was recalled with.
    update.header.subject = vanthu_routing::Summary::parse("Về việc khác").unwrap();
    assert_eq!(
        receive(&update),
        [format!(
            "updated: {first}, no copy here to update (unknown, or recalled)"
        )]
    );
}

#[test]
fn the_server_drains_the_folder_the_connector_fills() {
    let env = TestEnv::new();
    let agencies = env.dir.path().join("agencies.toml");
    std::fs::write(
        &agencies,
        "[[agency]]\nname = \"Sở Nội vụ tỉnh Vĩnh Phúc\"\ncode = \"000.00.12.H56\"\nfolder = \"lgsp/outbox\"\n",
    )
    .unwrap();
    let inbox = env.dir.path().join("lgsp/inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let package = package_from_the_department(&env, dir.path());
    let signed = vanthu_interchange::sign(&package.to_xml().unwrap(), &packages::seal()).unwrap();
    // The connector delivered it twice, once changed on the way.
    std::fs::write(inbox.join("1.edxml"), &signed).unwrap();
    std::fs::write(inbox.join("2.edxml"), &signed).unwrap();
    std::fs::write(
        inbox.join("3.edxml"),
        signed.replacen("Về việc", "Về viêc", 1),
    )
    .unwrap();
    let server = env.serve_demo(&[
        "--agencies",
        &agencies.display().to_string(),
        "--interchange-inbox",
        &inbox.display().to_string(),
    ]);
    let names = |sub: &str| -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(inbox.join(sub))
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        n.sort();
        n
    };
    wait_for("the folder drained", || {
        (names("done").len() + names("refused").len() == 4).then_some(())
    });
    assert_eq!(names("done"), ["1.edxml", "2.edxml"]);
    assert_eq!(names("refused"), ["3.edxml", "3.edxml.reason"]);
    let clerk = server.demo_login("district.clerk");
    assert_eq!(arrived(&server, &clerk, "123/UBND-VP").len(), 1);
    // Its arrival (01) went back through the agency's outbox folder.
    wait_for("the arrival status", || {
        (common::files_under(&env.dir.path().join("lgsp/outbox")).len() == 1).then_some(())
    });
}

/// With `--check-signer-revocation`, the seal's certificate is checked before a package is
/// sealed, as before the PDF seal: a release to an agency elsewhere whose seal was revoked
/// meanwhile is refused 422, saying since when, and the document stays issued, unsent.
#[test]
fn a_release_sealed_with_a_revoked_seal_is_refused_and_nothing_is_sent() {
    let sender = Installation::new(
        (DEPARTMENT, "Sở Nội vụ tỉnh Bắc Ninh"),
        free_port(),
        &secret(),
    );
    let server = sender.start();
    let (id, _) = issued(
        &server,
        "Về việc kiểm tra thu hồi chứng thư dấu trước khi gửi",
    );
    server.kill();

    // The commune's seal is replaced by one whose certificate the development CRL lists.
    common::install_seal(&sender.env, COMMUNE, "revoked.p12");
    let crls = common::tools::workspace().join("certs-dev");
    let mut cmd = sender.env.command();
    cmd.args(["serve", "--demo", "--listen", "127.0.0.1:0", "--agencies"])
        .arg(&sender.agencies)
        .args(["--check-signer-revocation", "--signer-revocation"])
        .arg(&crls);
    let server = Server::start(cmd);
    let clerk = server.demo_login("commune.clerk");
    let problem = common::expect_problem(
        server.post(
            &format!("/api/v1/outgoing/{id}/release"),
            &clerk,
            &json!({}),
        ),
        422,
        "unusable_certificate",
    );
    let said = problem["detail"].as_str().unwrap();
    assert!(
        said.contains(" was revoked on 20") && said.contains("(according to its crl)"),
        "{problem}"
    );
    assert_eq!(detail(&server, id)["state"], "issued");
    for list in ["not_sent", "sent", "failed"] {
        assert!(outbox(&server, &clerk, list).is_empty(), "{list}");
    }
}

/// The sealed packages of the sender's outbox doing `business` (1 revoke, 2 update,
/// 3 replace), oldest first.
fn packages_doing(env: &TestEnv, business: i16) -> Vec<String> {
    DbObserver::open(env).texts(&format!(
        "SELECT package AS row FROM interchange_outbox \
         WHERE kind = 'document' AND business = {business} ORDER BY id"
    ))
}

/// `xmlsec1 --verify` judges a package sealed by the sender, under the development root.
fn xmlsec1_accepts(dir: &std::path::Path, name: &str, xml: &str) {
    let Some(_tools) = common::tools::require(name, &[common::tools::Tool::Xmlsec1]) else {
        return;
    };
    let file = dir.join(format!("{name}.edxml"));
    std::fs::write(&file, xml).unwrap();
    let judged = std::process::Command::new("xmlsec1")
        .arg("--verify")
        .arg("--trusted-pem")
        .arg(common::tools::workspace().join("certs-dev/root-ca.pem"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        judged.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&judged.stderr)
    );
}

/// The department's copy of a document, in full.
fn copy_detail(server: &Server, clerk: &str, copy: i64) -> Value {
    let (status, doc) = status_json(server.get(&format!("/api/v1/incoming/{copy}"), clerk));
    assert_eq!(status, 200, "{doc}");
    doc
}

#[test]
fn an_update_a_replace_and_a_revoke_sent_by_one_agency_act_on_the_other_s_copies() {
    let pair = Pair::start();
    let (a, b) = (pair.a(), pair.b());
    let clerk = login(b, "snv.clerk");
    let sender_clerk = a.demo_login("commune.clerk");
    let (first, first_number) = release(a, "Về việc triển khai chữ ký số");
    let copy = wait_for("the first document at the department", || {
        arrived(b, &clerk, &first_number).pop()
    })["id"]
        .as_i64()
        .unwrap();
    let post = |path: String, token: &str, body: Value| status_json(a.post(&path, token, &body));

    // Bad requests change nothing: a correction without a reason, or that corrects
    // nothing; one by someone who does not issue; a replacement by itself.
    let update = format!("/api/v1/outgoing/{first}/update");
    let (status, problem) = post(
        update.clone(),
        &sender_clerk,
        json!({"reason": "Đính chính"}),
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("validation_failed")),
        "{problem}"
    );
    let (status, problem) = post(
        update.clone(),
        &sender_clerk,
        json!({"summary": "Về việc khác"}),
    );
    assert_eq!(status, 400, "{problem}");
    let specialist = a.demo_login("commune.specialist");
    let (status, problem) = post(
        update.clone(),
        &specialist,
        json!({"reason": "Đính chính", "summary": "Về việc khác"}),
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("forbidden")),
        "{problem}"
    );
    let (status, problem) = post(
        format!("/api/v1/outgoing/{first}/replace"),
        &sender_clerk,
        json!({"replacement_id": first, "reason": "Sai số liệu"}),
    );
    assert_eq!(status, 422, "{problem}");
    assert_eq!(packages_doing(&pair.sender.env, 2).len(), 0);

    // An update corrects the details of the department's copy, not its number, with a line
    // in its trace.
    let (status, corrected) = post(
        update.clone(),
        &sender_clerk,
        json!({"reason": "Đính chính trích yếu", "summary": "Về việc triển khai chữ ký số (đính chính)", "urgency": "thuong_khan"}),
    );
    assert_eq!(status, 200, "{corrected}");
    assert_eq!(corrected["state"], "released");
    assert_eq!(corrected["number_notation"], first_number.as_str());
    let doc = wait_for("the correction at the department", || {
        let doc = copy_detail(b, &clerk, copy);
        (doc["summary"] == "Về việc triển khai chữ ký số (đính chính)").then_some(doc)
    });
    assert_eq!(doc["urgency"], "thuong_khan");
    assert_eq!(doc["number_notation"], first_number.as_str());
    let trace = doc["trace"].as_array().unwrap();
    assert_eq!(trace.last().unwrap()["action"], "update", "{doc}");
    assert_eq!(
        trace.last().unwrap()["note"],
        "updated by its sender: Đính chính trích yếu"
    );
    assert_eq!(
        doc["files"].as_array().unwrap().len(),
        1,
        "the same PDF: {doc}"
    );
    let sender_trace = detail(a, first)["trace"].clone();
    assert!(
        sender_trace
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["action"] == "update" && t["note"] == "Đính chính trích yếu"),
        "{sender_trace}"
    );

    // A replacement is released in its place: the department receives it, and the copy
    // of the first is frozen awaiting its answer; the first is recalled here.
    let (second, second_number) = issued(a, "Về việc triển khai chữ ký số (thay thế)");
    let (status, replacement) = post(
        format!("/api/v1/outgoing/{first}/replace"),
        &sender_clerk,
        json!({"replacement_id": second, "reason": "Sai số liệu tại Phụ lục I"}),
    );
    assert_eq!(status, 200, "{replacement}");
    assert_eq!(
        (replacement["id"].as_i64(), replacement["state"].as_str()),
        (Some(second), Some("released"))
    );
    assert_eq!(detail(a, first)["state"], "recalled");
    let replacing = wait_for("the replacement at the department", || {
        arrived(b, &clerk, &second_number).pop()
    });
    assert_eq!(replacing["verification"], "valid", "{replacing}");
    let recall = copy_detail(b, &clerk, copy)["recall"].clone();
    assert_eq!(recall["state"], "requested", "{recall}");
    assert!(
        recall["reason"]
            .as_str()
            .unwrap()
            .contains("Sai số liệu tại Phụ lục I"),
        "{recall}"
    );
    // The department accepts; the sender sees 15 on the first.
    step(b, &clerk, copy, "recall-response", json!({"accept": true}));
    wait_for("15 at the sender", || {
        (reported(a, first).as_deref() == Some("15")).then_some(())
    });
    // A recalled document is corrected no more.
    let (status, problem) = post(
        update,
        &sender_clerk,
        json!({"reason": "Đính chính", "summary": "Về việc khác"}),
    );
    assert_eq!(status, 409, "{problem}");

    // A revoke freezes the department's copy of the replacement, with its reason.
    let (status, revoked) = post(
        format!("/api/v1/outgoing/{second}/revoke"),
        &sender_clerk,
        json!({"reason": "Ban hành không đúng thẩm quyền"}),
    );
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["state"], "recalled");
    let second_copy = replacing["id"].as_i64().unwrap();
    let recall = wait_for("the revoke at the department", || {
        let doc = copy_detail(b, &clerk, second_copy);
        (!doc["recall"].is_null()).then(|| doc["recall"].clone())
    });
    assert_eq!(recall["state"], "requested");
    assert_eq!(recall["reason"], "Ban hành không đúng thẩm quyền");

    // Each went as a package of its kind, sealed so that xmlsec1 accepts it, and none of
    // them is taken for acknowledged by the department's statuses of the documents.
    let dir = tempfile::tempdir().unwrap();
    for (business, kind, name) in [
        (2, vanthu_interchange::BusinessDocType::Update, "update"),
        (3, vanthu_interchange::BusinessDocType::Replace, "replace"),
        (1, vanthu_interchange::BusinessDocType::Revoke, "revoke"),
    ] {
        let sent = packages_doing(&pair.sender.env, business);
        assert_eq!(sent.len(), 1, "{name}");
        let read =
            vanthu_interchange::read(sent[0].as_bytes(), &vanthu_interchange::Limits::default())
                .unwrap();
        let vanthu_interchange::Message::Document(package) = read.value else {
            panic!("{name}: not a document package")
        };
        assert_eq!(package.trace.business.doc_type, kind, "{name}");
        assert!(package.trace.business.reason.is_some(), "{name}");
        xmlsec1_accepts(dir.path(), name, &sent[0]);
        if kind == vanthu_interchange::BusinessDocType::Replace {
            let replaced = &package.trace.business.replacements;
            assert_eq!(replaced.len(), 1);
            assert!(replaced[0].document_id.as_str().ends_with(&first_number));
        }
    }
    let listed: Vec<(String, String)> = outbox(a, &sender_clerk, "sent")
        .iter()
        .chain(outbox(a, &sender_clerk, "acknowledged").iter())
        .map(|p| {
            (
                p["business"].as_str().unwrap().to_owned(),
                p["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for business in ["update", "revoke"] {
        assert!(
            listed.contains(&(business.to_owned(), "sent".to_owned())),
            "{listed:?}"
        );
    }
    let doc = server_openapi_statuses(a, "/api/v1/outgoing/{id}/replace");
    assert_eq!(
        doc,
        ["200", "400", "401", "403", "404", "409", "413", "415", "422", "503"]
    );
}

/// The statuses the description lists for POST `path`.
fn server_openapi_statuses(server: &Server, path: &str) -> Vec<String> {
    server.openapi()["paths"][path]["post"]["responses"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

/// How many packages the department's inbox received, and how many of them it knew.
fn receipts(server: &Server) -> (usize, usize) {
    let log = server.stderr();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("interchange package received"))
        .collect();
    let known = lines
        .iter()
        .filter(|l| l.contains("already imported") || l.contains("already known"))
        .count();
    (lines.len(), known)
}

#[test]
fn two_instances_on_one_database_deliver_each_package_once() {
    let mut pair = Pair::start();
    pair.b.take().unwrap().kill();
    // The sender runs as two instances on its one database, their claims short-lived; the
    // second at an address of its own.
    let start = |pair: &Pair| {
        let mut cmd = pair.sender.env.command();
        cmd.arg("serve")
            .args(["--demo", "--listen", "127.0.0.1:0"])
            .arg("--agencies")
            .arg(&pair.sender.agencies)
            .args(["--interchange-retry", "200ms", "--interchange-lease", "2s"]);
        Server::start(cmd)
    };
    // The first instance meets the department unreachable, and holds the claim.
    let mut numbers: Vec<String> = (1..=3)
        .map(|n| release(pair.a(), &format!("Về việc liên thông, văn bản thứ {n}")).1)
        .collect();
    let sender_clerk = pair.a().demo_login("commune.clerk");
    wait_for("a failed delivery", || {
        (!outbox(pair.a(), &sender_clerk, "failed").is_empty()).then_some(())
    });
    let second = start(&pair);
    // Killed holding its claim: the second takes the packages once the lease runs out.
    pair.a.take().unwrap().kill();
    let tried = || {
        DbObserver::open(&pair.sender.env)
            .texts("SELECT CAST(SUM(attempts) AS TEXT) AS row FROM interchange_outbox")[0]
            .parse::<u32>()
            .unwrap()
    };
    let before = tried();
    wait_for("the second instance trying", || {
        (tried() > before).then_some(())
    });
    // A first instance again (at the address the department sends its statuses to), both
    // now delivering, more documents released through both.
    pair.a = Some(pair.sender.start());
    numbers.extend(
        (4..=5).map(|n| release(&second, &format!("Về việc liên thông, văn bản thứ {n}")).1),
    );
    numbers.extend(
        (6..=7).map(|n| release(pair.a(), &format!("Về việc liên thông, văn bản thứ {n}")).1),
    );
    // The department comes up: each package arrives once, in the order released.
    pair.b = Some(pair.recipient.start());
    let clerk = login(pair.b(), "snv.clerk");
    let mut copies = Vec::new();
    for number in &numbers {
        let copy = wait_for("each package at the department", || {
            arrived(pair.b(), &clerk, number).pop()
        });
        copies.push(copy["id"].as_i64().unwrap());
    }
    assert!(copies.windows(2).all(|w| w[0] < w[1]), "{copies:?}");
    wait_for("every package acknowledged", || {
        document_rows(&pair.sender.env)
            .iter()
            .all(|r| r.ends_with(" acknowledged"))
            .then_some(())
    });
    // A few more rounds of both instances: still one receipt per package.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(receipts(pair.b()), (numbers.len(), 0));
    drop(second);
}
