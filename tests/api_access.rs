//! Who sees and changes what, through the real server: each role against its own unit, its
//! parent, a sibling and a child. Objects outside one's scope must be answered exactly like
//! ids that do not exist.

mod common;

use std::collections::BTreeSet;

use common::db::DbObserver;
use common::{status_json, unit_by_code, Server, TestEnv};
use serde_json::{json, Value};

const ROLES: [&str; 5] = ["admin", "clerk", "leader", "specialist", "auditor"];
const DISTRICT: &str = "000.00.31.H56";
const COMMUNE: &str = "000.31.01.H56";
const SIBLING_COMMUNE: &str = "000.31.02.H56";
/// An id no row will ever have in these tests.
const MISSING_ID: i64 = 987_654;

fn codes(page: &Value) -> BTreeSet<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap().to_owned())
        .collect()
}

fn usernames(page: &Value) -> BTreeSet<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn unit_and_user_lists_follow_the_role() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let district_subtree: BTreeSet<String> = [
        DISTRICT,
        "000.01.31.H56",
        "000.02.31.H56",
        COMMUNE,
        SIBLING_COMMUNE,
        "000.31.03.H56",
    ]
    .map(String::from)
    .into();
    let district_users: BTreeSet<String> = ROLES.map(|r| format!("district.{r}")).into();
    let commune_users: BTreeSet<String> = ROLES.map(|r| format!("commune.{r}")).into();
    let everyone: BTreeSet<String> = district_users.union(&commune_users).cloned().collect();

    for role in ROLES {
        let sees_subtree = role == "admin" || role == "auditor";
        let token = server.demo_login(&format!("district.{role}"));
        let (status, units) = status_json(server.get("/api/v1/units", &token));
        assert_eq!(status, 200, "{units}");
        let expected = if sees_subtree {
            district_subtree.clone()
        } else {
            [DISTRICT.to_owned()].into()
        };
        assert_eq!(codes(&units), expected, "district.{role}");
        assert_eq!(units["total"], expected.len() as u64);
        let (_, users) = status_json(server.get("/api/v1/users", &token));
        let expected = if sees_subtree {
            &everyone
        } else {
            &district_users
        };
        assert_eq!(&usernames(&users), expected, "district.{role}");

        let token = server.demo_login(&format!("commune.{role}"));
        let (_, units) = status_json(server.get("/api/v1/units", &token));
        assert_eq!(codes(&units), [COMMUNE.to_owned()].into(), "commune.{role}");
        let (_, users) = status_json(server.get("/api/v1/users", &token));
        assert_eq!(usernames(&users), commune_users, "commune.{role}");
    }

    // Paging: the auditor's six units, two per page.
    let token = server.demo_login("district.auditor");
    let mut seen = BTreeSet::new();
    for page in 1..=3 {
        let (status, body) =
            status_json(server.get(&format!("/api/v1/units?page={page}&per_page=2"), &token));
        assert_eq!(status, 200);
        assert_eq!(
            (body["page"].as_u64(), body["per_page"].as_u64()),
            (Some(page), Some(2))
        );
        assert_eq!(body["total"], 6);
        assert_eq!(body["items"].as_array().unwrap().len(), 2);
        seen.extend(codes(&body));
    }
    assert_eq!(seen, district_subtree);
    let (_, past_end) = status_json(server.get("/api/v1/units?page=4&per_page=2", &token));
    assert_eq!(past_end["items"], json!([]));
}

/// A unit as a target of the matrix, with a user living in it when there is one.
#[derive(Clone)]
struct Place {
    relation: &'static str,
    unit_id: i64,
    unit_name: String,
    /// Whether a department may be created below it (only below the district or province).
    holds_departments: bool,
    user: Option<(i64, String)>,
    /// Whether the observer (district.admin) can read the unit: all but the province.
    observable: bool,
}

struct Probe<'a> {
    server: &'a Server,
    /// Reads the database and blob store directly, beside the server.
    db: DbObserver,
    /// district.admin, who sees every object of the matrix but the province.
    observer: String,
    /// Body of each endpoint's answer for an id that does not exist.
    missing: Vec<(&'static str, Value)>,
    created: usize,
    counter: usize,
}

impl Probe<'_> {
    fn missing_body(&self, endpoint: &str) -> &Value {
        &self.missing.iter().find(|(e, _)| *e == endpoint).unwrap().1
    }

    /// Sends one request and checks the status; a 404 must match the missing-id answer. A
    /// refusal (403, 404, 409) must leave every row and stored file as it was, and the object
    /// at `observed` as the observer reads it.
    fn expect(
        &mut self,
        who: &str,
        endpoint: &'static str,
        observed: Option<&str>,
        send: impl FnOnce() -> reqwest::blocking::Response,
        want: u16,
    ) {
        let before = self.db.snapshot();
        let seen = observed.map(|path| status_json(self.server.get(path, &self.observer)));
        let (status, body) = status_json(send());
        assert_eq!(status, want, "{who}: {endpoint}: {body}");
        if status == 404 {
            assert_eq!(
                &body,
                self.missing_body(endpoint),
                "{who}: {endpoint}: 404 must not leak"
            );
        }
        if matches!(status, 403 | 404 | 409) {
            let what = format!("{who}: {endpoint} refused with {status}");
            before.assert_unchanged(&self.db.snapshot(), &what);
            if let (Some(path), Some(seen)) = (observed, seen) {
                let again = status_json(self.server.get(path, &self.observer));
                assert_eq!(again, seen, "{what}, yet {path} reads differently");
            }
        }
        if status == 201 {
            self.created += 1;
        }
    }

    fn unique(&mut self) -> usize {
        self.counter += 1;
        self.counter
    }

    fn run(&mut self, actor: &str, role: &str, token: &str, place: &Place) {
        let server = self.server;
        let who = format!("{actor} on {}", place.relation);
        let visible = place.relation == "own"
            || (place.relation == "child" && (role == "admin" || role == "auditor"));
        let read = if visible { 200 } else { 404 };
        let granted = visible && role == "admin";
        let write = |ok: u16| match (visible, role == "admin") {
            (false, _) => 404,
            (true, true) => ok,
            (true, false) => 403,
        };
        let id = place.unit_id;
        let unit_path = format!("/api/v1/units/{id}");
        let observed_unit = place.observable.then_some(unit_path.as_str());

        self.expect(
            &who,
            "get_unit",
            None,
            || server.get(&unit_path, token),
            read,
        );
        // Always a new name, so a refused rename that went through would show.
        let n = self.unique();
        let renamed = json!({ "name": format!("{} (đổi tên {n})", place.unit_name) });
        self.expect(
            &who,
            "patch_unit",
            observed_unit,
            || server.patch(&unit_path, token, &renamed),
            write(200),
        );
        let n = self.unique();
        // A department fits below a district; nothing fits below a commune (422), which an
        // admin only learns once access was granted.
        let created_unit = if place.holds_departments { 201 } else { 422 };
        let new_unit = json!({ "parent_id": id, "code": format!("900.{n}.31.H56"), "name": format!("Phòng thử {n}"), "level": "department" });
        self.expect(
            &who,
            "post_unit",
            None,
            || server.post("/api/v1/units", token, &new_unit),
            write(created_unit),
        );
        let new_user = json!({ "username": format!("probe.{n}"), "display_name": "Người thử", "unit_id": id, "roles": ["clerk"], "password": "mat-khau-dai" });
        self.expect(
            &who,
            "post_user",
            None,
            || server.post("/api/v1/users", token, &new_user),
            write(201),
        );
        if let Some((user_id, display_name)) = &place.user {
            let user_path = format!("/api/v1/users/{user_id}");
            self.expect(
                &who,
                "get_user",
                None,
                || server.get(&user_path, token),
                read,
            );
            let n = self.unique();
            let display_name = format!("{display_name} (đổi {n})");
            // Where refusal is expected, the body also tries to escalate, lock out and take
            // over the account; a granted change stays harmless for the probes that follow.
            let change = if granted {
                json!({ "display_name": display_name })
            } else {
                json!({ "display_name": display_name, "roles": ["admin"], "disabled": true, "password": "mat-khau-moi-dai" })
            };
            self.expect(
                &who,
                "patch_user",
                Some(&user_path),
                || server.patch(&user_path, token, &change),
                write(200),
            );
        }
    }
}

fn user_in(server: &Server, token: &str, username: &str) -> (i64, String) {
    let (_, users) = status_json(server.get("/api/v1/users?per_page=200", token));
    let user = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .unwrap_or_else(|| panic!("{username} not visible"));
    (
        user["id"].as_i64().unwrap(),
        user["display_name"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn every_role_against_own_parent_sibling_and_child() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let admin = server.demo_login("district.admin");
    let district = unit_by_code(&server, &admin, DISTRICT);
    let commune = unit_by_code(&server, &admin, COMMUNE);
    let sibling = unit_by_code(&server, &admin, SIBLING_COMMUNE);
    let place = |relation, unit: &Value, user: Option<(i64, String)>| Place {
        relation,
        unit_id: unit["id"].as_i64().unwrap(),
        unit_name: unit["name"].as_str().unwrap().to_owned(),
        holds_departments: unit["level"] == "district",
        user,
        observable: true,
    };
    // A user in the sibling commune, so that sibling users can be probed too.
    let (status, body) = status_json(server.post(
        "/api/v1/users",
        &admin,
        &json!({ "username": "te-lo.clerk", "display_name": "Lý Thị Ngọc", "unit_id": sibling["id"], "roles": ["clerk"], "password": "mat-khau-dai" }),
    ));
    assert_eq!(status, 201, "{body}");

    let province = Place {
        relation: "parent",
        unit_id: district["parent_id"].as_i64().unwrap(),
        unit_name: "Ủy ban nhân dân tỉnh Vĩnh Phúc".into(),
        holds_departments: true,
        user: None,
        observable: false,
    };
    let district_user = user_in(&server, &admin, "district.clerk");
    let commune_user = user_in(&server, &admin, "commune.clerk");
    let sibling_user = user_in(&server, &admin, "te-lo.clerk");
    let district_places = [
        place("own", &district, Some(district_user.clone())),
        province,
        place("child", &commune, Some(commune_user.clone())),
    ];
    let commune_places = [
        place("own", &commune, Some(commune_user)),
        place("parent", &district, Some(district_user)),
        place("sibling", &sibling, Some(sibling_user)),
    ];

    let (_, before_units) = status_json(server.get("/api/v1/units", &admin));
    let (_, before_users) = status_json(server.get("/api/v1/users", &admin));

    let missing = vec![
        ("get_unit", status_json(server.get(&format!("/api/v1/units/{MISSING_ID}"), &admin)).1),
        ("patch_unit", status_json(server.patch(&format!("/api/v1/units/{MISSING_ID}"), &admin, &json!({ "name": "x" }))).1),
        ("post_unit", status_json(server.post("/api/v1/units", &admin, &json!({ "parent_id": MISSING_ID, "code": "999.99.99.H56", "name": "x", "level": "department" }))).1),
        ("post_user", status_json(server.post("/api/v1/users", &admin, &json!({ "username": "nobody.new", "display_name": "x", "unit_id": MISSING_ID, "roles": [], "password": "mat-khau-dai" }))).1),
        ("get_user", status_json(server.get(&format!("/api/v1/users/{MISSING_ID}"), &admin)).1),
        ("patch_user", status_json(server.patch(&format!("/api/v1/users/{MISSING_ID}"), &admin, &json!({ "display_name": "x" }))).1),
    ];
    for (endpoint, body) in &missing {
        assert_eq!(body["status"], 404, "{endpoint}: {body}");
        assert_eq!(body["code"], "not_found", "{endpoint}: {body}");
    }
    let mut probe = Probe {
        server: &server,
        db: DbObserver::open(&env),
        observer: admin.clone(),
        missing,
        created: 0,
        counter: 0,
    };

    for role in ROLES {
        for (prefix, places) in [("district", &district_places), ("commune", &commune_places)] {
            let actor = format!("{prefix}.{role}");
            let token = server.demo_login(&actor);
            for place in places.iter() {
                probe.run(&actor, role, &token, place);
            }
        }
    }

    // Exactly the granted creations happened; refused attempts wrote nothing.
    let (_, after_units) = status_json(server.get("/api/v1/units", &admin));
    let (_, after_users) = status_json(server.get("/api/v1/users", &admin));
    let grown = (after_units["total"].as_u64().unwrap() - before_units["total"].as_u64().unwrap())
        + (after_users["total"].as_u64().unwrap() - before_users["total"].as_u64().unwrap());
    assert_eq!(grown as usize, probe.created);
    // district.admin: a department and a user in its own unit, a user in the child commune;
    // commune.admin: a user in its own unit.
    assert_eq!(probe.created, 4, "creations granted");
}

#[test]
fn files_are_visible_only_where_their_unit_is() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let upload = |user: &str, content: &[u8]| {
        let token = server.demo_login(user);
        server
            .request(reqwest::Method::POST, "/api/v1/files", &token)
            .header("Content-Type", "application/pdf")
            .body(content.to_vec())
            .send()
            .unwrap()
    };
    let (status, file) = status_json(upload("commune.clerk", b"%PDF-1.7 commune letter"));
    assert_eq!(status, 201, "{file}");
    let sha = file["sha256"].as_str().unwrap().to_owned();
    assert_eq!(file["size"], 23);
    assert_eq!(file["media_type"], "application/pdf");

    // Roles without document work may not upload, even in their own unit: no row, no blob.
    let mut db = DbObserver::open(&env);
    let auditor = server.demo_login("commune.auditor");
    let before = db.snapshot();
    let r = server
        .request(reqwest::Method::POST, "/api/v1/files", &auditor)
        .header("Content-Type", "application/pdf")
        .body(b"audit notes".to_vec())
        .send()
        .unwrap();
    let (status, body) = status_json(r);
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    before.assert_unchanged(&db.snapshot(), "an auditor's refused upload");

    let missing_sha = "0".repeat(64);
    let token = server.demo_login("district.clerk");
    let (_, missing) = status_json(server.get(&format!("/api/v1/files/{missing_sha}"), &token));
    assert_eq!(missing["status"], 404);
    for (user, visible) in [
        ("commune.leader", true),
        ("commune.auditor", true),
        ("district.auditor", true),
        ("district.admin", true),
        ("district.clerk", false),
        ("district.leader", false),
    ] {
        let token = server.demo_login(user);
        let r = server.get(&format!("/api/v1/files/{sha}"), &token);
        if visible {
            assert_eq!(r.status(), 200, "{user}");
            assert_eq!(r.headers()["content-type"], "application/pdf");
            assert_eq!(r.bytes().unwrap().as_ref(), b"%PDF-1.7 commune letter");
        } else {
            let (status, body) = status_json(r);
            assert_eq!(status, 404, "{user}");
            assert_eq!(
                body, missing,
                "{user}: a hidden file looks like a missing one"
            );
        }
    }
}
