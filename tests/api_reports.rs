//! The auditors' ratio reports through the real binary over HTTP and the CLI, on SQLite or
//! PostgreSQL (`VANTHU_TEST_DATABASE`): each step a clerk, leader or specialist takes moves
//! exactly the counts docs/ratios.md says it does, a synthetic district with the counts of a
//! published district report gives that report's percentages, and only auditors and admins of
//! the unit or above read them.

mod common;

use chrono::{Duration, Utc};
use common::{expect_problem, multipart, status_json, unit_by_code, Server, TestEnv};
use serde_json::{json, Value};
use vanthu_domain::{UnitId, UserId};
use vanthu_store::{Database, SyntheticPeriod, Volume};

const DISTRICT: &str = "000.00.31.H56";
const COMMUNE: &str = "000.31.01.H56";
const PIN: &str = "246810";

fn today() -> String {
    (Utc::now() + Duration::hours(7)).date_naive().to_string()
}

fn tomorrow() -> String {
    (Utc::now() + Duration::hours(7 + 24))
        .date_naive()
        .to_string()
}

fn pdf() -> Vec<u8> {
    common::one_page_pdf(b"CONG VAN BAO CAO TY LE")
}

fn metadata(notation: &str) -> Value {
    json!({
        "issuing_body": "Ủy ban nhân dân tỉnh Vĩnh Phúc",
        "number_notation": notation,
        "document_date": today(),
        "document_type": "Công văn",
        "summary": "Về việc báo cáo tỷ lệ văn bản điện tử",
    })
}

/// Receives an unsigned PDF with this number/notation as `clerk` and returns its JSON.
fn receive_pdf(server: &Server, clerk: &str, notation: &str) -> Value {
    let (content_type, body) = multipart(&[
        (
            "metadata",
            "application/json",
            metadata(notation).to_string().as_bytes(),
        ),
        ("file", "application/pdf", &pdf()),
    ]);
    let response = server
        .request(reqwest::Method::POST, "/api/v1/incoming", clerk)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .unwrap();
    let (status, received) = status_json(response);
    assert_eq!(status, 201, "{received}");
    received
}

fn ok(server: &Server, token: &str, path: &str, body: &Value) -> Value {
    let (status, out) = status_json(server.post(path, token, body));
    assert!(status == 200 || status == 201, "{path}: {status} {out}");
    out
}

fn user_id(server: &Server, token: &str) -> i64 {
    let (_, me) = status_json(server.get("/api/v1/me", token));
    me["user"]["id"].as_i64().unwrap()
}

/// The report as JSON.
fn report(server: &Server, token: &str, query: &str) -> Value {
    let (status, body) = status_json(server.get(&format!("/api/v1/reports/ratios?{query}"), token));
    assert_eq!(status, 200, "{query}: {body}");
    body
}

/// One unit's own line of a report.
fn own<'a>(report: &'a Value, code: &str) -> &'a Value {
    &report["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"]["code"] == code)
        .unwrap_or_else(|| panic!("{code} not in {report}"))["own"]
}

fn num(v: &Value, path: &str) -> i64 {
    path.split('.')
        .fold(v, |v, key| &v[key])
        .as_i64()
        .unwrap_or_else(|| panic!("{path} in {v}"))
}

/// The counts a step moves, read before and after.
const COUNTS: [&str; 13] = [
    "incoming.received",
    "incoming.on_paper",
    "incoming.returned",
    "incoming.processed_on_software.count",
    "outgoing.issued",
    "outgoing.on_paper",
    "outgoing.digitally_signed.count",
    "handling.on_time.count",
    "handling.late.count",
    "handling.open_past_deadline.count",
    "handling.completed_without_deadline",
    "signatures.valid",
    "signatures.unsigned",
];

fn counts(ratios: &Value) -> Vec<i64> {
    COUNTS.iter().map(|p| num(ratios, p)).collect()
}

/// `after - before`, named, leaving out what did not move.
fn moved(before: &[i64], after: &[i64]) -> Vec<(&'static str, i64)> {
    COUNTS
        .iter()
        .zip(before.iter().zip(after))
        .filter(|(_, (b, a))| a != b)
        .map(|(name, (b, a))| (*name, a - b))
        .collect()
}

#[test]
fn each_step_moves_exactly_its_counts() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let auditor = server.demo_login("district.auditor");
    let clerk = server.demo_login("district.clerk");
    let leader = server.demo_login("district.leader");
    let specialist = server.demo_login("district.specialist");
    let specialist_id = user_id(&server, &specialist);
    let district = unit_by_code(&server, &auditor, DISTRICT)["id"]
        .as_i64()
        .unwrap();
    let today_query = format!("unit={district}&from={}&to={}", today(), today());
    let read = || counts(own(&report(&server, &auditor, &today_query), DISTRICT));
    let read_tomorrow = || {
        counts(own(
            &report(
                &server,
                &auditor,
                &format!("unit={district}&from={}&to={}", today(), tomorrow()),
            ),
            DISTRICT,
        ))
    };

    // An electronic document received, registered, assigned with today's deadline and
    // completed today: received, processed, unsigned, on time.
    let before = read();
    let received = receive_pdf(&server, &clerk, "41/UBND-TH");
    assert_eq!(received["medium"], "electronic");
    let id = received["id"].as_i64().unwrap();
    assert_eq!(
        moved(&before, &read()),
        [("incoming.received", 1), ("signatures.unsigned", 1)]
    );
    let before = read();
    ok(
        &server,
        &clerk,
        &format!("/api/v1/incoming/{id}/register"),
        &json!({}),
    );
    assert_eq!(
        moved(&before, &read()),
        [("incoming.processed_on_software.count", 1)]
    );
    let assignment = json!({
        "lead": {"kind": "user", "id": specialist_id},
        "instruction": "Giao chuyên viên xử lý trong ngày",
        "deadline": today(),
    });
    ok(
        &server,
        &leader,
        &format!("/api/v1/incoming/{id}/assign"),
        &assignment,
    );
    let before = read();
    ok(
        &server,
        &specialist,
        &format!("/api/v1/incoming/{id}/complete"),
        &json!({}),
    );
    assert_eq!(moved(&before, &read()), [("handling.on_time.count", 1)]);

    // A paper document recorded, registered and assigned with today's deadline, left open:
    // received and on paper, never processed on the software; tomorrow it is overdue.
    let before = read();
    let before_tomorrow = read_tomorrow();
    let paper = ok(
        &server,
        &clerk,
        "/api/v1/incoming/paper",
        &metadata("42/UBND-TH"),
    );
    assert_eq!(
        (paper["medium"].as_str(), paper["state"].as_str()),
        (Some("paper"), Some("received"))
    );
    let paper_id = paper["id"].as_i64().unwrap();
    ok(
        &server,
        &clerk,
        &format!("/api/v1/incoming/{paper_id}/register"),
        &json!({}),
    );
    ok(
        &server,
        &leader,
        &format!("/api/v1/incoming/{paper_id}/assign"),
        &assignment,
    );
    assert_eq!(
        moved(&before, &read()),
        [("incoming.received", 1), ("incoming.on_paper", 1)]
    );
    assert_eq!(
        moved(&before_tomorrow, &read_tomorrow()),
        [
            ("incoming.received", 1),
            ("incoming.on_paper", 1),
            ("handling.open_past_deadline.count", 1)
        ]
    );
    let (status, detail) = status_json(server.get(&format!("/api/v1/incoming/{paper_id}"), &clerk));
    assert_eq!(status, 200);
    assert_eq!(detail["files"], json!([]), "{detail}");

    // A document returned to its sender: processed on the software, and returned.
    let misaddressed = receive_pdf(&server, &clerk, "43/UBND-TH");
    let misaddressed = misaddressed["id"].as_i64().unwrap();
    let before = read();
    ok(
        &server,
        &clerk,
        &format!("/api/v1/incoming/{misaddressed}/return"),
        &json!({"reason": "Gửi nhầm đơn vị"}),
    );
    assert_eq!(
        moved(&before, &read()),
        [
            ("incoming.returned", 1),
            ("incoming.processed_on_software.count", 1)
        ]
    );

    // An outgoing document recorded as issued on paper: issued, on paper, not signed.
    let before = read();
    let signer = user_id(&server, &leader);
    ok(
        &server,
        &clerk,
        "/api/v1/outgoing/paper",
        &json!({
            "document_type": "Công văn",
            "summary": "Về việc báo cáo",
            "notation": "UBND-VP",
            "signer": {"user_id": signer, "position": "CHỦ TỊCH", "authority": "tm"},
        }),
    );
    assert_eq!(
        moved(&before, &read()),
        [("outgoing.issued", 1), ("outgoing.on_paper", 1)]
    );

    // The commune's approved document signed with the leader's PIN and issued by its clerk:
    // issued and signed digitally, in the commune's own line and the district's roll-up.
    let subtree_query = format!(
        "unit={district}&subtree=true&from={}&to={}",
        today(),
        today()
    );
    let before_report = report(&server, &auditor, &subtree_query);
    let commune_leader = server.demo_login("commune.leader");
    let commune_clerk = server.demo_login("commune.clerk");
    let (_, mine) =
        status_json(server.get("/api/v1/outgoing?signer=me&state=approved", &commune_leader));
    let outgoing = mine["items"][0]["id"].as_i64().unwrap();
    ok(
        &server,
        &commune_leader,
        &format!("/api/v1/outgoing/{outgoing}/sign"),
        &json!({"pin": PIN}),
    );
    ok(
        &server,
        &commune_clerk,
        &format!("/api/v1/outgoing/{outgoing}/issue"),
        &json!({}),
    );
    let after_report = report(&server, &auditor, &subtree_query);
    assert_eq!(
        moved(
            &counts(own(&before_report, COMMUNE)),
            &counts(own(&after_report, COMMUNE))
        ),
        [
            ("outgoing.issued", 1),
            ("outgoing.digitally_signed.count", 1)
        ]
    );
    assert_eq!(
        moved(
            &counts(&before_report["total"]),
            &counts(&after_report["total"])
        ),
        [
            ("outgoing.issued", 1),
            ("outgoing.digitally_signed.count", 1)
        ]
    );
    let district_line = after_report["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"]["code"] == DISTRICT)
        .unwrap();
    assert_eq!(district_line["subtree"], after_report["total"]);

    // What the counters say is what a recount of the documents says.
    let check = env.run(&["report", "check"]);
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    // Only auditors and admins read reports, of their own subtree.
    expect_problem(
        server.get(&format!("/api/v1/reports/ratios?{today_query}"), &clerk),
        403,
        "forbidden",
    );
    let commune_auditor = server.demo_login("commune.auditor");
    expect_problem(
        server.get(
            &format!("/api/v1/reports/ratios?unit={district}"),
            &commune_auditor,
        ),
        404,
        "not_found",
    );
    for bad in [
        "from=2026-02-30",
        "subtree=maybe",
        "format=xml",
        "from=2026-05-02&to=2026-05-01",
    ] {
        expect_problem(
            server.get(&format!("/api/v1/reports/ratios?{bad}"), &auditor),
            400,
            "invalid_query",
        );
    }
}

/// The units of the synthetic district: the demo district, its two departments and its
/// three communes, and fourteen more communes made here.
fn district_of_seventeen_communes(server: &Server, admin: &str) -> (i64, Vec<i64>, Vec<i64>) {
    let district = unit_by_code(server, admin, DISTRICT)["id"]
        .as_i64()
        .unwrap();
    let departments = ["000.01.31.H56", "000.02.31.H56"]
        .map(|c| unit_by_code(server, admin, c)["id"].as_i64().unwrap())
        .to_vec();
    let mut communes: Vec<i64> = ["000.31.01.H56", "000.31.02.H56", "000.31.03.H56"]
        .map(|c| unit_by_code(server, admin, c)["id"].as_i64().unwrap())
        .to_vec();
    for n in 4..=17 {
        let created = ok(
            server,
            admin,
            "/api/v1/units",
            &json!({
                "parent_id": district,
                "code": format!("000.31.{n:02}.H56"),
                "name": format!("UBND xã số {n}"),
                "level": "commune",
            }),
        );
        communes.push(created["id"].as_i64().unwrap());
    }
    (district, departments, communes)
}

/// `total` split over `parts` as evenly as whole documents allow.
fn split(total: u64, parts: usize, index: usize) -> u64 {
    let parts = parts as u64;
    total / parts + u64::from((index as u64) < total % parts)
}

fn pct(ratio: &Value) -> String {
    format!("{:.1}", ratio["percent"].as_f64().unwrap())
}

#[test]
fn a_synthetic_district_gives_the_published_percentages() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let admin = server.demo_login("district.admin");
    let auditor = server.demo_login("district.auditor");
    let clerk_id = user_id(&server, &server.demo_login("district.clerk"));
    let (district, departments, communes) = district_of_seventeen_communes(&server, &admin);

    // The district report of domain.md: the district itself 6,324 incoming with 5,789
    // processed on the software, 6,007 outgoing with 5,786 signed; its departments 1,192
    // outgoing with 434 signed (and 24,679 incoming with 17,481 processed); its 17 communes
    // 24,707 incoming with 16,569 processed, 3,506 outgoing with 1,301 signed. A past year,
    // so the demo's own documents of this year are not in it.
    let unit = |id: i64| UnitId::new(id).unwrap();
    let mut volumes = vec![Volume {
        unit: unit(district),
        incoming: 6_324,
        processed: 5_789,
        outgoing: 6_007,
        signed: 5_786,
    }];
    for (i, &d) in departments.iter().enumerate() {
        volumes.push(Volume {
            unit: unit(d),
            incoming: split(24_679, 2, i),
            processed: split(17_481, 2, i),
            outgoing: split(1_192, 2, i),
            signed: split(434, 2, i),
        });
    }
    for (i, &c) in communes.iter().enumerate() {
        volumes.push(Volume {
            unit: unit(c),
            incoming: split(24_707, 17, i),
            processed: split(16_569, 17, i),
            outgoing: split(3_506, 17, i),
            signed: split(1_301, 17, i),
        });
    }
    let period = SyntheticPeriod {
        from: "2025-01-01".parse().unwrap(),
        to: "2025-12-31".parse().unwrap(),
    };
    Database::connect(env.db.url())
        .unwrap()
        .generate_documents(period, UserId::new(clerk_id).unwrap(), &volumes)
        .unwrap();

    let query = format!("unit={district}&subtree=true&from=2025-01-01&to=2025-12-31");
    let r = report(&server, &auditor, &query);
    let mine = own(&r, DISTRICT);
    assert_eq!(num(mine, "incoming.received"), 6_324);
    assert_eq!(pct(&mine["incoming"]["processed_on_software"]), "91.5");
    assert_eq!(num(mine, "outgoing.issued"), 6_007);
    assert_eq!(pct(&mine["outgoing"]["digitally_signed"]), "96.3");
    let level = |name: &str| {
        r["levels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["level"] == name)
            .unwrap_or_else(|| panic!("{name} in {r}"))
            .clone()
    };
    let communes_level = level("commune");
    assert_eq!(communes_level["units"], 17);
    assert_eq!(num(&communes_level["ratios"], "incoming.received"), 24_707);
    assert_eq!(
        pct(&communes_level["ratios"]["incoming"]["processed_on_software"]),
        "67.1"
    );
    assert_eq!(num(&communes_level["ratios"], "outgoing.issued"), 3_506);
    assert_eq!(
        pct(&communes_level["ratios"]["outgoing"]["digitally_signed"]),
        "37.1"
    );
    let departments_level = level("department");
    assert_eq!(
        pct(&departments_level["ratios"]["incoming"]["processed_on_software"]),
        "70.8"
    );
    assert_eq!(
        pct(&departments_level["ratios"]["outgoing"]["digitally_signed"]),
        "36.4"
    );
    // Paper documents are in the denominators: everything not processed came on paper.
    assert_eq!(num(mine, "incoming.on_paper"), 6_324 - 5_789);
    assert_eq!(num(mine, "outgoing.on_paper"), 6_007 - 5_786);
    // The roll-up adds every unit.
    assert_eq!(
        num(&r["total"], "incoming.received"),
        6_324 + 24_679 + 24_707
    );
    assert_eq!(num(&r["total"], "outgoing.issued"), 6_007 + 1_192 + 3_506);
    // Handling: every count of the work that fell due is one of on time, late or open.
    let h = &r["total"]["handling"];
    assert_eq!(
        num(h, "on_time.count") + num(h, "late.count") + num(h, "open_past_deadline.count"),
        num(h, "on_time.of")
    );
    assert!(
        num(h, "late.count") > 0 && num(h, "open_past_deadline.count") > 0,
        "{h}"
    );

    // The same figures as CSV and from the command line.
    let csv = server
        .get(
            &format!("/api/v1/reports/ratios?{query}&format=csv"),
            &auditor,
        )
        .text()
        .unwrap();
    assert!(
        csv.starts_with('\u{feff}'),
        "a byte-order mark for spreadsheets"
    );
    let district_row = csv
        .lines()
        .find(|l| l.starts_with(DISTRICT) && l.contains(",đơn vị,"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(
        district_row.contains(",5789,91.5,") && district_row.contains(",5786,96.3,"),
        "{district_row}"
    );
    let cli = env.run(&[
        "report",
        "ratios",
        "--unit",
        DISTRICT,
        "--from",
        "2025-01-01",
        "--to",
        "2025-12-31",
        "--subtree",
    ]);
    let text = String::from_utf8_lossy(&cli.stdout);
    assert!(
        cli.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    for figure in [
        "5789/6324 91.5%",
        "5786/6007 96.3%",
        "16569/24707 67.1%",
        "1301/3506 37.1%",
        "17481/24679 70.8%",
    ] {
        assert!(text.contains(figure), "{figure} in\n{text}");
    }
    let json_out = env.run(&[
        "report",
        "ratios",
        "--unit",
        DISTRICT,
        "--from",
        "2025-01-01",
        "--to",
        "2025-12-31",
        "--subtree",
        "--format",
        "json",
    ]);
    let from_cli: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(from_cli, r);
    // A unit that does not exist is one line and a failure.
    let missing = env.run(&["report", "ratios", "--unit", "000.99.99.H56"]);
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("000.99.99.H56"), "{stderr}");
}

/// A handling report as JSON.
fn handling(server: &Server, token: &str, which: &str, query: &str) -> Value {
    let path = format!("/api/v1/reports/{which}-handling?{query}");
    let (status, body) = status_json(server.get(&path, token));
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// The count at each status of an incoming handling report, by name.
fn handling_counts(report: &Value) -> Vec<(String, i64)> {
    report["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["handling"].as_str().unwrap().to_owned(), num(c, "count")))
        .collect()
}

fn line_of(report: &Value, id: i64) -> &Value {
    report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == id)
        .unwrap_or_else(|| panic!("document {id} not in {report}"))
}

#[test]
fn handling_reports_list_where_each_document_stands() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let clerk = server.demo_login("district.clerk");
    let leader = server.demo_login("district.leader");
    let specialist = server.demo_login("district.specialist");
    let specialist_id = user_id(&server, &specialist);
    let day = format!("from={}&to={}", today(), today());
    let before = handling(&server, &clerk, "incoming", &day);

    // Completed on time, in progress (on paper), returned, not registered, awaiting assignment.
    let assignment = json!({
        "lead": {"kind": "user", "id": specialist_id},
        "instruction": "Giao chuyên viên xử lý",
        "deadline": today(),
    });
    let step = |token: &str, id: i64, action: &str, body: &Value| {
        ok(
            &server,
            token,
            &format!("/api/v1/incoming/{id}/{action}"),
            body,
        )
    };
    let done = receive_pdf(&server, &clerk, "51/UBND-TH")["id"]
        .as_i64()
        .unwrap();
    step(&clerk, done, "register", &json!({}));
    step(&leader, done, "assign", &assignment);
    step(&specialist, done, "complete", &json!({}));
    let paper = ok(
        &server,
        &clerk,
        "/api/v1/incoming/paper",
        &metadata("52/UBND-TH"),
    )["id"]
        .as_i64()
        .unwrap();
    step(&clerk, paper, "register", &json!({}));
    step(&leader, paper, "assign", &assignment);
    let returned = receive_pdf(&server, &clerk, "53/UBND-TH")["id"]
        .as_i64()
        .unwrap();
    step(
        &clerk,
        returned,
        "return",
        &json!({"reason": "Gửi nhầm đơn vị"}),
    );
    let waiting = receive_pdf(&server, &clerk, "54/UBND-TH")["id"]
        .as_i64()
        .unwrap();
    let registered = receive_pdf(&server, &clerk, "55/UBND-TH")["id"]
        .as_i64()
        .unwrap();
    step(&clerk, registered, "register", &json!({}));

    let after = handling(&server, &leader, "incoming", &day);
    let moved: Vec<(String, i64)> = handling_counts(&before)
        .into_iter()
        .zip(handling_counts(&after))
        .filter(|(b, a)| a.1 != b.1)
        .map(|(b, a)| (a.0, a.1 - b.1))
        .collect();
    let names = |v: &[(&str, i64)]| -> Vec<(String, i64)> {
        v.iter().map(|(n, c)| ((*n).to_owned(), *c)).collect()
    };
    assert_eq!(
        moved,
        names(&[
            ("not_registered", 1),
            ("returned", 1),
            ("awaiting_assignment", 1),
            ("in_progress", 1),
            ("completed_on_time", 1),
        ]),
        "{after}"
    );
    assert_eq!(num(&after, "total") - num(&before, "total"), 5);
    let sum: i64 = handling_counts(&after).iter().map(|c| c.1).sum();
    assert_eq!(sum, num(&after, "total"));
    let completed = line_of(&after, done);
    assert_eq!(completed["handling"], "completed_on_time", "{completed}");
    assert_eq!(completed["number_notation"], "51/UBND-TH");
    assert_eq!(completed["deadline"], today());
    assert_eq!(completed["completed_on"], today());
    assert!(completed["days_late"].is_null());
    assert!(completed["arrival_number"].as_i64().is_some_and(|n| n > 0));
    assert!(completed["lead"].as_str().is_some_and(|s| !s.is_empty()));
    let on_paper = line_of(&after, paper);
    assert_eq!(
        (on_paper["handling"].as_str(), on_paper["medium"].as_str()),
        (Some("in_progress"), Some("paper"))
    );
    assert_eq!(line_of(&after, waiting)["handling"], "not_registered");
    assert!(line_of(&after, waiting)["arrival_number"].is_null());
    assert_eq!(line_of(&after, returned)["handling"], "returned");
    assert_eq!(
        line_of(&after, registered)["handling"],
        "awaiting_assignment"
    );
    // A day before anything arrived lists nothing.
    let none = handling(&server, &clerk, "incoming", "from=2020-01-01&to=2020-01-31");
    assert_eq!(
        (num(&none, "total"), none["lines"].as_array().unwrap().len()),
        (0, 0)
    );

    // The CSV carries the Vietnamese statuses, one line per document.
    let csv = server
        .get(
            &format!("/api/v1/reports/incoming-handling?{day}&format=csv"),
            &clerk,
        )
        .text()
        .unwrap();
    assert!(csv.starts_with('\u{feff}'), "a byte-order mark first");
    assert!(
        csv.contains("Tình hình xử lý") && csv.contains("Hoàn thành đúng hạn"),
        "{csv}"
    );
    assert!(
        csv.contains("51/UBND-TH") && csv.contains("Chưa vào sổ"),
        "{csv}"
    );
    assert_eq!(csv.lines().count() as i64, 1 + num(&after, "total"));

    // The commune signs, issues and releases a document to the district, which registers
    // its copy: the commune's outgoing report shows it signed, and the district's copy
    // registered (03).
    let commune_leader = server.demo_login("commune.leader");
    let commune_clerk = server.demo_login("commune.clerk");
    let (_, mine) =
        status_json(server.get("/api/v1/outgoing?signer=me&state=approved", &commune_leader));
    let outgoing = mine["items"][0]["id"].as_i64().unwrap();
    let act = |token: &str, action: &str, body: &Value| {
        ok(
            &server,
            token,
            &format!("/api/v1/outgoing/{outgoing}/{action}"),
            body,
        )
    };
    act(&commune_leader, "sign", &json!({"pin": PIN}));
    act(&commune_clerk, "issue", &json!({}));
    let released = act(&commune_clerk, "release", &json!({}));
    let report = handling(&server, &commune_clerk, "outgoing", &day);
    let line = line_of(&report, outgoing);
    assert_eq!(line["digitally_signed"], true, "{line}");
    assert_eq!(line["state"], "released");
    assert_eq!(line["released_on"], today());
    assert_eq!(line["number_notation"], released["number_notation"]);
    let to_district = line["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["incoming_id"].is_i64())
        .unwrap_or_else(|| panic!("no internal recipient in {line}"));
    assert_eq!(to_district["status_code"], "01", "{to_district}");
    let copy = to_district["incoming_id"].as_i64().unwrap();
    step(&clerk, copy, "register", &json!({}));
    let report = handling(&server, &commune_clerk, "outgoing", &day);
    let line = line_of(&report, outgoing);
    let statuses: Vec<&str> = line["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["status_code"].as_str())
        .collect();
    assert!(statuses.contains(&"03"), "{line}");
    assert!(num(&report, "digitally_signed") >= 1);
    assert!(report["recipients_by_status"]["03"]
        .as_i64()
        .is_some_and(|n| n >= 1));

    // Leaders and clerks read their own unit's; the units below and other units are for
    // auditors and admins; specialists read none.
    let district = unit_by_code(&server, &clerk, DISTRICT)["id"]
        .as_i64()
        .unwrap();
    for which in ["incoming", "outgoing"] {
        let path = |q: &str| format!("/api/v1/reports/{which}-handling?{q}");
        expect_problem(server.get(&path(&day), &specialist), 403, "forbidden");
        expect_problem(
            server.get(&path(&format!("{day}&subtree=true")), &clerk),
            403,
            "forbidden",
        );
        expect_problem(
            server.get(&path(&format!("unit={district}")), &commune_clerk),
            404,
            "not_found",
        );
        expect_problem(
            server.get(&path("format=pdf"), &clerk),
            400,
            "invalid_query",
        );
    }
    let auditor = server.demo_login("district.auditor");
    let whole = handling(
        &server,
        &auditor,
        "outgoing",
        &format!("{day}&subtree=true"),
    );
    line_of(&whole, outgoing);
}
