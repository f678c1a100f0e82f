//! Delegation (ủy quyền) through the real binary over HTTP, on SQLite or PostgreSQL: the
//! commune's leader lends signing to a vice-chairman and assigning to the office's specialist
//! for a range of days. The deputies act within the range, under their own names with the
//! leader's named beside them in the trace and the audit log; before the range, after it and
//! after revocation they cannot, and what they received they cannot delegate again.

mod common;

use chrono::{Days, NaiveDate, TimeDelta, Utc};
use common::db::DbObserver;
use common::{expect_problem, multipart, status_json, unit_by_code, Server, TestEnv};
use serde_json::{json, Value};

const COMMUNE: &str = "000.31.01.H56";
const DISTRICT: &str = "000.00.31.H56";
const PIN: &str = "246810";
const DEPUTY_PASSWORD: &str = "pho-chu-tich-2026";

/// Today in Vietnam (UTC+7), the calendar delegations run on.
fn today() -> NaiveDate {
    (Utc::now() + TimeDelta::hours(7)).date_naive()
}

fn day(offset: i64) -> String {
    let today = today();
    let day = if offset >= 0 {
        today + Days::new(offset.unsigned_abs())
    } else {
        today - Days::new(offset.unsigned_abs())
    };
    day.to_string()
}

fn user_id(server: &Server, token: &str) -> i64 {
    let (_, me) = status_json(server.get("/api/v1/me", token));
    me["user"]["id"].as_i64().unwrap()
}

struct Commune {
    server: Server,
    leader: String,
    leader_id: i64,
    deputy: String,
    deputy_id: i64,
    specialist: String,
    specialist_id: i64,
    clerk: String,
    auditor: String,
}

impl Commune {
    /// The demo commune with a second leader, the vice-chairman, whose own key is enrolled.
    fn start(env: &TestEnv) -> Commune {
        let server = env.serve_demo(&[]);
        let admin = server.demo_login("commune.admin");
        let unit = unit_by_code(&server, &admin, COMMUNE)["id"]
            .as_i64()
            .unwrap();
        let (status, body) = status_json(server.post(
            "/api/v1/users",
            &admin,
            &json!({
                "username": "commune.vice",
                "display_name": "Trịnh Văn Quang",
                "unit_id": unit,
                "roles": ["leader"],
                "password": DEPUTY_PASSWORD,
            }),
        ));
        assert_eq!(status, 201, "{body}");
        let deputy = server.login("commune.vice", DEPUTY_PASSWORD);
        let p12 =
            std::fs::read(common::tools::workspace().join("certs-dev/signer-ec.p12")).unwrap();
        let (content_type, form) = multipart(&[
            ("pkcs12", "application/x-pkcs12", &p12),
            ("password", "text/plain", b"vanthu-dev"),
            ("pin", "text/plain", PIN.as_bytes()),
        ]);
        let enrolled = server
            .request(reqwest::Method::POST, "/api/v1/me/signing-key", &deputy)
            .header("Content-Type", content_type)
            .body(form)
            .send()
            .unwrap();
        assert_eq!(enrolled.status(), 201, "{:?}", enrolled.text());
        let leader = server.demo_login("commune.leader");
        let specialist = server.demo_login("commune.specialist");
        Commune {
            leader_id: user_id(&server, &leader),
            deputy_id: user_id(&server, &deputy),
            specialist_id: user_id(&server, &specialist),
            leader,
            deputy,
            specialist,
            clerk: server.demo_login("commune.clerk"),
            auditor: server.demo_login("commune.auditor"),
            server,
        }
    }

    fn delegate(&self, token: &str, body: &Value) -> Value {
        let (status, out) = status_json(self.server.post("/api/v1/delegations", token, body));
        assert_eq!(status, 201, "{out}");
        out
    }

    fn revoke(&self, token: &str, id: i64) -> reqwest::blocking::Response {
        self.server
            .request(
                reqwest::Method::DELETE,
                &format!("/api/v1/delegations/{id}"),
                token,
            )
            .send()
            .unwrap()
    }

    /// Posts `metadata` and a one-page PDF showing `text` as a multipart form.
    fn upload(&self, path: &str, token: &str, metadata: &Value, text: &str) -> (u16, Value) {
        let pdf = common::one_page_pdf(text.as_bytes());
        let (content_type, form) = multipart(&[
            (
                "metadata",
                "application/json",
                metadata.to_string().as_bytes(),
            ),
            ("file", "application/pdf", &pdf),
        ]);
        status_json(
            self.server
                .request(reqwest::Method::POST, path, token)
                .header("Content-Type", content_type)
                .body(form)
                .send()
                .unwrap(),
        )
    }

    /// An outgoing draft to be signed by the leader, approved by them.
    fn approved_for_leader(&self) -> i64 {
        let metadata = json!({
            "document_type": "Công văn",
            "summary": "Về việc ủy quyền ký",
            "urgency": "normal",
            "notation": "UBND-VP",
            "signer": {"user_id": self.leader_id, "position": "CHỦ TỊCH", "authority": "kt"},
            "external_recipients": [{"name": "Ủy ban nhân dân huyện Yên Lạc", "agency_code": DISTRICT}],
        });
        let (status, draft) = self.upload(
            "/api/v1/outgoing",
            &self.specialist,
            &metadata,
            "VE VIEC UY QUYEN",
        );
        assert_eq!(status, 201, "{draft}");
        let id = draft["id"].as_i64().unwrap();
        let (status, body) = status_json(self.server.post(
            &format!("/api/v1/outgoing/{id}/approve"),
            &self.leader,
            &json!({}),
        ));
        assert_eq!(status, 200, "{body}");
        id
    }

    fn sign(&self, token: &str, id: i64) -> reqwest::blocking::Response {
        self.server.post(
            &format!("/api/v1/outgoing/{id}/sign"),
            token,
            &json!({"pin": PIN}),
        )
    }

    /// An incoming document received and registered by the commune's clerk.
    fn registered_incoming(&self, notation: &str) -> i64 {
        let metadata = json!({
            "issuing_body": "Ủy ban nhân dân huyện Yên Lạc",
            "number_notation": notation,
            "document_date": "2026-11-30",
            "document_type": "Công văn",
            "summary": "Về việc kiểm tra chuyển đổi số",
            "urgency": "normal",
        });
        let (status, received) = self.upload(
            "/api/v1/incoming",
            &self.clerk,
            &metadata,
            "KIEM TRA CHUYEN DOI SO",
        );
        assert_eq!(status, 201, "{received}");
        let id = received["id"].as_i64().unwrap();
        let (status, body) = status_json(self.server.post(
            &format!("/api/v1/incoming/{id}/register"),
            &self.clerk,
            &json!({}),
        ));
        assert_eq!(status, 200, "{body}");
        id
    }

    fn assign(&self, token: &str, id: i64) -> reqwest::blocking::Response {
        self.server.post(
            &format!("/api/v1/incoming/{id}/assign"),
            token,
            &json!({
                "lead": {"kind": "user", "id": self.specialist_id},
                "instruction": "Đồng chí Thu chủ trì, báo cáo trước ngày 20",
                "deadline": day(10),
            }),
        )
    }

    /// A document's detail with its trace, `kind` `incoming` or `outgoing`.
    fn detail(&self, kind: &str, id: i64) -> Value {
        let (status, detail) = status_json(
            self.server
                .get(&format!("/api/v1/{kind}/{id}"), &self.leader),
        );
        assert_eq!(status, 200, "{detail}");
        detail
    }

    /// The audit entries of `action` about `object`, as the commune's auditor reads them.
    fn audit(&self, object: &str, action: &str) -> Vec<Value> {
        let (status, page) = status_json(self.server.get(
            &format!("/api/v1/audit/entries?object={object}&action={action}"),
            &self.auditor,
        ));
        assert_eq!(status, 200, "{page}");
        page["items"].as_array().unwrap().clone()
    }
}

fn trace_line(detail: &Value, action: &str) -> Value {
    detail["trace"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["action"] == action)
        .unwrap_or_else(|| panic!("no {action} in {detail}"))
        .clone()
}

#[test]
fn a_deputy_signs_and_assigns_within_the_range_under_both_names() {
    let env = TestEnv::new();
    let c = Commune::start(&env);
    let id = c.approved_for_leader();

    // Without a delegation the vice-chairman may not sign the chairman's document.
    expect_problem(c.sign(&c.deputy, id), 403, "forbidden");

    let signing = c.delegate(
        &c.leader,
        &json!({"deputy": c.deputy_id, "powers": ["sign"], "starts_on": day(0), "ends_on": day(7)}),
    );
    assert_eq!(signing["principal"]["name"], "Bùi Văn Long", "{signing}");
    assert_eq!(signing["deputy"]["name"], "Trịnh Văn Quang");
    assert_eq!(signing["powers"], json!(["sign"]));
    assert_eq!(signing["in_force"], true);

    let (status, signed) = status_json(c.sign(&c.deputy, id));
    assert_eq!(status, 200, "{signed}");
    assert_eq!(signed["state"], "signed");
    let detail = c.detail("outgoing", id);
    let line = trace_line(&detail, "sign");
    assert_eq!(line["actor_id"], c.deputy_id, "{line}");
    assert_eq!(line["actor_name"], "Trịnh Văn Quang");
    assert_eq!(line["on_behalf_of"]["user_id"], c.leader_id);
    assert_eq!(line["on_behalf_of"]["name"], "Bùi Văn Long");
    // Steps taken on one's own authority name nobody else.
    assert!(trace_line(&detail, "approve").get("on_behalf_of").is_none());
    let entries = c.audit(&format!("outgoing:{id}"), "outgoing.sign");
    assert_eq!(entries.len(), 1, "{entries:?}");
    let details = &entries[0]["details"];
    assert_eq!(entries[0]["actor_id"], c.deputy_id);
    assert_eq!(details["actor_name"], "Trịnh Văn Quang", "{details}");
    assert_eq!(details["on_behalf_of"], c.leader_id.to_string());
    assert_eq!(details["on_behalf_of_name"], "Bùi Văn Long");
    assert_eq!(details["delegation"], signing["id"].to_string());

    // Assigning, lent to the specialist who runs the office.
    let incoming = c.registered_incoming("41/UBND-VP");
    expect_problem(c.assign(&c.specialist, incoming), 403, "forbidden");
    let assigning = c.delegate(
        &c.leader,
        &json!({"deputy": c.specialist_id, "powers": ["assign"], "starts_on": day(-2), "ends_on": day(0)}),
    );
    let (status, assigned) = status_json(c.assign(&c.specialist, incoming));
    assert_eq!(status, 200, "{assigned}");
    assert_eq!(assigned["state"], "assigned");
    let line = trace_line(&c.detail("incoming", incoming), "assign");
    assert_eq!(line["actor_name"], "Đặng Thị Thu", "{line}");
    assert_eq!(line["on_behalf_of"]["name"], "Bùi Văn Long");
    let entries = c.audit(&format!("incoming:{incoming}"), "incoming.assign");
    assert_eq!(entries[0]["details"]["on_behalf_of_name"], "Bùi Văn Long");
    // Assigning was lent, signing was not.
    let other = c.approved_for_leader();
    expect_problem(c.sign(&c.specialist, other), 403, "forbidden");

    // Both see the delegations; the creation is in the audit log.
    let (status, list) = status_json(c.server.get("/api/v1/delegations", &c.leader));
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "{list}");
    let (_, mine) = status_json(c.server.get("/api/v1/delegations", &c.specialist));
    assert_eq!(mine["items"][0]["id"], assigning["id"], "{mine}");
    let created = c.audit(
        &format!("delegation:{}", assigning["id"]),
        "delegation.create",
    );
    assert_eq!(created[0]["actor_id"], c.leader_id, "{created:?}");
    assert_eq!(created[0]["details"]["deputy_name"], "Đặng Thị Thu");
    assert_eq!(created[0]["details"]["assign"], "true");
}

#[test]
fn a_deputy_cannot_act_before_or_after_the_range_or_once_revoked() {
    let env = TestEnv::new();
    let c = Commune::start(&env);
    let id = c.approved_for_leader();

    // Before: it starts tomorrow.
    let later = c.delegate(
        &c.leader,
        &json!({"deputy": c.deputy_id, "powers": ["sign", "assign"], "starts_on": day(1), "ends_on": day(3)}),
    );
    assert_eq!(later["in_force"], false);
    expect_problem(c.sign(&c.deputy, id), 403, "forbidden");

    // After: the same delegation, its days moved into the past behind the server's back.
    let mut db = DbObserver::open(&env);
    db.execute(&format!(
        "UPDATE delegations SET starts_on = '{}', ends_on = '{}' WHERE id = {}",
        day(-5),
        day(-1),
        later["id"]
    ));
    expect_problem(c.sign(&c.deputy, id), 403, "forbidden");

    // Revoked: in force, then revoked by the leader, at once.
    let now = c.delegate(
        &c.leader,
        &json!({"deputy": c.deputy_id, "powers": ["sign"], "starts_on": day(0), "ends_on": day(0)}),
    );
    let delegation = now["id"].as_i64().unwrap();
    // Only the leader who delegated revokes it.
    expect_problem(c.revoke(&c.deputy, delegation), 403, "forbidden");
    let (status, revoked) = status_json(c.revoke(&c.leader, delegation));
    assert_eq!(status, 200, "{revoked}");
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    assert_eq!(revoked["in_force"], false);
    expect_problem(c.sign(&c.deputy, id), 403, "forbidden");
    let before = db.snapshot();
    expect_problem(c.revoke(&c.leader, delegation), 409, "state_conflict");
    assert_eq!(
        c.audit(&format!("delegation:{delegation}"), "delegation.revoke")
            .len(),
        1
    );
    db.snapshot()
        .assert_unchanged(&before, "a second revocation");
    assert_eq!(c.detail("outgoing", id)["state"], "approved");

    // The leader signs their own document as ever.
    let (status, signed) = status_json(c.sign(&c.leader, id));
    assert_eq!(status, 200, "{signed}");
    assert!(trace_line(&c.detail("outgoing", id), "sign")
        .get("on_behalf_of")
        .is_none());
}

#[test]
fn delegated_powers_cannot_be_delegated_again_and_bad_terms_change_nothing() {
    let env = TestEnv::new();
    let c = Commune::start(&env);
    c.delegate(
        &c.leader,
        &json!({"deputy": c.specialist_id, "powers": ["assign"], "starts_on": day(0), "ends_on": day(5)}),
    );
    c.delegate(
        &c.leader,
        &json!({"deputy": c.deputy_id, "powers": ["sign"], "starts_on": day(0), "ends_on": day(5)}),
    );
    // The specialist holds assigning only as a deputy: it is not theirs to lend.
    expect_problem(
        c.server.post(
            "/api/v1/delegations",
            &c.specialist,
            &json!({"deputy": c.deputy_id, "powers": ["assign"], "starts_on": day(0), "ends_on": day(1)}),
        ),
        403,
        "forbidden",
    );
    // The vice-chairman lends signing to no one but with his own signature: his deputy still
    // cannot sign the chairman's document.
    let id = c.approved_for_leader();
    expect_problem(c.sign(&c.specialist, id), 403, "forbidden");

    let district_leader = c.server.demo_login("district.leader");
    let district_leader_id = user_id(&c.server, &district_leader);
    let mut db = DbObserver::open(&env);
    let before = db.snapshot();
    for (body, field) in [
        (
            json!({"deputy": c.deputy_id, "powers": [], "starts_on": day(0), "ends_on": day(1)}),
            "powers",
        ),
        (
            json!({"deputy": c.deputy_id, "powers": ["sign"], "starts_on": day(2), "ends_on": day(1)}),
            "ends_on",
        ),
        (
            json!({"deputy": c.deputy_id, "powers": ["sign"], "starts_on": day(-3), "ends_on": day(-1)}),
            "ends_on",
        ),
        (
            json!({"deputy": c.deputy_id, "powers": ["sign"], "starts_on": day(0), "ends_on": day(400)}),
            "ends_on",
        ),
        (
            json!({"deputy": c.leader_id, "powers": ["sign"], "starts_on": day(0), "ends_on": day(1)}),
            "deputy",
        ),
        (
            json!({"deputy": district_leader_id, "powers": ["sign"], "starts_on": day(0), "ends_on": day(1)}),
            "deputy",
        ),
        (
            json!({"deputy": 999_999, "powers": ["sign"], "starts_on": day(0), "ends_on": day(1)}),
            "deputy",
        ),
        (
            json!({"deputy": c.specialist_id, "powers": ["sign"], "starts_on": day(0), "ends_on": day(1)}),
            "powers",
        ),
    ] {
        let problem = expect_problem(
            c.server.post("/api/v1/delegations", &c.leader, &body),
            422,
            "validation_failed",
        );
        assert_eq!(problem["field"], field, "{body}: {problem}");
    }
    // Only leaders delegate.
    expect_problem(
        c.server.post(
            "/api/v1/delegations",
            &c.clerk,
            &json!({"deputy": c.deputy_id, "powers": ["assign"], "starts_on": day(0), "ends_on": day(1)}),
        ),
        403,
        "forbidden",
    );
    db.snapshot()
        .assert_unchanged(&before, "refused delegations");
    // Another unit's delegation is not found, like a missing one.
    let (_, list) = status_json(c.server.get("/api/v1/delegations", &c.leader));
    let theirs = list["items"][0]["id"].as_i64().unwrap();
    expect_problem(
        c.server
            .get(&format!("/api/v1/delegations/{theirs}"), &district_leader),
        404,
        "not_found",
    );
    expect_problem(c.revoke(&district_leader, theirs), 404, "not_found");
}
