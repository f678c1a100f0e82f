//! Bad input answered with the right problem and nothing written; the operational endpoints
//! (probes, metrics, OpenAPI, docs) and request ids.

mod common;

use common::db::DbObserver;
use common::{expect_problem, files_under, status_json, unit_by_code, Server, TestEnv};
use reqwest::Method;
use serde_json::{json, Value};

fn send_raw(
    server: &Server,
    token: &str,
    method: Method,
    path: &str,
    content_type: &str,
    body: &str,
) -> reqwest::blocking::Response {
    server
        .request(method, path, token)
        .header("Content-Type", content_type)
        .body(body.to_owned())
        .send()
        .unwrap()
}

#[test]
fn malformed_requests_name_the_problem_and_write_nothing() {
    let env = TestEnv::new();
    let server = env.serve_demo(&["--max-body", "2048"]);
    let admin = server.demo_login("district.admin");
    let district = unit_by_code(&server, &admin, "000.00.31.H56");
    let parent = district["id"].as_i64().unwrap();
    let clerk = server.demo_login("district.clerk");
    let mut db = DbObserver::open(&env);
    let before = db.snapshot();
    let json_type = "application/json";

    // Malformed JSON bodies: 400 naming the field.
    for (body, field) in [
        (json!({ "parent_id": "four", "code": "001.00.31.H56", "name": "Phòng", "level": "department" }).to_string(), Some("parent_id")),
        (json!({ "parent_id": parent, "name": "Phòng", "level": "department" }).to_string(), Some("code")),
        (json!({ "parent_id": parent, "code": "001.00.31.H56", "name": "Phòng", "level": "department", "colour": "red" }).to_string(), Some("colour")),
        ("{\"parent_id\": 2, \"code\": ".to_owned(), None),
        ("[1, 2, 3]".to_owned(), None),
    ] {
        let r = send_raw(&server, &admin, Method::POST, "/api/v1/units", json_type, &body);
        let problem = expect_problem(r, 400, "invalid_json");
        match field {
            Some(field) => {
                assert_eq!(problem["field"], field, "{problem}");
                assert!(problem["detail"].as_str().unwrap().contains(field), "{problem}");
            }
            None => assert!(problem["detail"].as_str().unwrap().contains("line 1"), "{problem}"),
        }
    }
    let r = send_raw(&server, &admin, Method::POST, "/api/v1/users", json_type,
        &json!({ "username": "a.b", "display_name": "x", "unit_id": parent, "roles": ["clerk", 7], "password": "mat-khau-dai" }).to_string());
    assert_eq!(expect_problem(r, 400, "invalid_json")["field"], "roles[1]");

    // Well-formed JSON with values that break the rules: 422 naming the field.
    for (body, field) in [
        (
            json!({ "parent_id": parent, "code": "not a code", "name": "Phòng", "level": "department" }),
            "code",
        ),
        (
            json!({ "parent_id": parent, "code": "001.00.31.H56", "name": "  ", "level": "department" }),
            "name",
        ),
        (
            json!({ "parent_id": parent, "code": "001.00.31.H56", "name": "Phòng", "level": "ward" }),
            "level",
        ),
        (
            json!({ "parent_id": parent, "code": "001.00.31.H56", "name": "Phòng", "level": "province" }),
            "level",
        ),
    ] {
        let problem = expect_problem(
            server.post("/api/v1/units", &admin, &body),
            422,
            "validation_failed",
        );
        assert_eq!(problem["field"], field, "{problem}");
    }
    for (body, field) in [
        (
            json!({ "username": "x", "display_name": "Lê Văn A", "unit_id": parent, "roles": ["clerk"], "password": "mat-khau-dai" }),
            "username",
        ),
        (
            json!({ "username": "le.van.a", "display_name": "Lê Văn A", "unit_id": parent, "roles": ["boss"], "password": "mat-khau-dai" }),
            "roles",
        ),
        (
            json!({ "username": "le.van.a", "display_name": "Lê Văn A", "unit_id": parent, "roles": ["clerk"], "password": "short" }),
            "password",
        ),
        (
            json!({ "username": "le.van.a", "display_name": "", "unit_id": parent, "roles": ["clerk"], "password": "mat-khau-dai" }),
            "display_name",
        ),
    ] {
        let problem = expect_problem(
            server.post("/api/v1/users", &admin, &body),
            422,
            "validation_failed",
        );
        assert_eq!(problem["field"], field, "{problem}");
    }
    // Taken values: 409, and nothing of the request applied, not even its other fields:
    // the existing account and unit read as before, directly and through the API.
    let (_, clerk) = status_json(server.get("/api/v1/me", &clerk));
    let clerk_path = format!("/api/v1/users/{}", clerk["user"]["id"]);
    let district_path = format!("/api/v1/units/{parent}");
    let seen = (
        status_json(server.get(&clerk_path, &admin)),
        status_json(server.get(&district_path, &admin)),
    );
    let taken = db.snapshot();
    expect_problem(
        server.post("/api/v1/users", &admin, &json!({ "username": "district.clerk", "display_name": "Trùng", "unit_id": parent, "roles": ["admin"], "password": "mat-khau-dai" })),
        409,
        "conflict",
    );
    expect_problem(
        server.post("/api/v1/units", &admin, &json!({ "parent_id": parent, "code": "000.31.01.H56", "name": "Trùng mã", "level": "department" })),
        409,
        "conflict",
    );
    // A rename together with a code another unit holds.
    expect_problem(
        server.patch(
            &district_path,
            &admin,
            &json!({ "code": "000.31.01.H56", "name": "Tên mới" }),
        ),
        409,
        "conflict",
    );
    taken.assert_unchanged(&db.snapshot(), "requests refused with 409");
    assert_eq!(
        (
            status_json(server.get(&clerk_path, &admin)),
            status_json(server.get(&district_path, &admin)),
        ),
        seen,
        "a refused request changed what the admin reads"
    );
    // The parent link cannot be changed.
    let r = server.patch(
        &format!("/api/v1/units/{parent}"),
        &admin,
        &json!({ "parent_id": 1 }),
    );
    assert_eq!(expect_problem(r, 400, "invalid_json")["field"], "parent_id");

    // Wrong media type: 415.
    let valid = json!({ "parent_id": parent, "code": "001.00.31.H56", "name": "Phòng", "level": "department" }).to_string();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let r = send_raw(
            &server,
            &admin,
            Method::POST,
            "/api/v1/units",
            content_type,
            &valid,
        );
        expect_problem(r, 415, "unsupported_media_type");
    }
    let r = server
        .request(Method::POST, "/api/v1/units", &admin)
        .body(valid.clone())
        .send()
        .unwrap();
    expect_problem(r, 415, "unsupported_media_type");

    // Too large: 413 (the limit is 2048 bytes here).
    let huge = json!({ "parent_id": parent, "code": "001.00.31.H56", "name": "P".repeat(4000), "level": "department" }).to_string();
    let problem = expect_problem(
        send_raw(
            &server,
            &admin,
            Method::POST,
            "/api/v1/units",
            json_type,
            &huge,
        ),
        413,
        "payload_too_large",
    );
    assert!(problem["detail"].as_str().unwrap().contains("2048"));
    let login_huge =
        json!({ "username": "district.admin", "password": "p".repeat(5000) }).to_string();
    expect_problem(
        send_raw(
            &server,
            &admin,
            Method::POST,
            "/api/v1/auth/login",
            json_type,
            &login_huge,
        ),
        413,
        "payload_too_large",
    );

    // Bad paging: 400 naming the parameter.
    for (query, field) in [
        ("page=0", "page"),
        ("per_page=500", "per_page"),
        ("page=abc", "page"),
    ] {
        let problem = expect_problem(
            server.get(&format!("/api/v1/units?{query}"), &admin),
            400,
            "invalid_query",
        );
        assert_eq!(problem["field"], field);
    }

    // Unknown routes and methods.
    let nowhere = expect_problem(server.get("/api/v1/nowhere", &admin), 404, "not_found");
    assert_eq!(
        nowhere,
        expect_problem(server.get("/no/such/page", &admin), 404, "not_found")
    );
    for (method, path, allow) in [
        (
            Method::DELETE,
            "/api/v1/units".to_owned(),
            "GET, HEAD, POST",
        ),
        (
            Method::PUT,
            format!("/api/v1/units/{parent}"),
            "GET, HEAD, PATCH",
        ),
        (Method::GET, "/api/v1/auth/login".to_owned(), "POST"),
    ] {
        let r = server.request(method, &path, &admin).send().unwrap();
        assert_eq!(r.headers()["allow"], allow, "{path}");
        expect_problem(r, 405, "method_not_allowed");
    }
    expect_problem(server.get("/api/v1/units/abc", &admin), 404, "not_found");

    before.assert_unchanged(&db.snapshot(), "refused requests");
}

#[test]
fn refused_uploads_leave_no_file_behind() {
    let env = TestEnv::new();
    let server = env.serve_demo(&["--max-upload", "1000"]);
    let clerk = server.demo_login("district.clerk");
    // The demo's incoming documents are in the store already.
    let seeded = files_under(&env.blob_dir().join("sha256"));
    let mut db = DbObserver::open(&env);
    let before = db.snapshot();
    let upload = |content_type: Option<&str>, body: Vec<u8>| {
        let mut request = server
            .request(Method::POST, "/api/v1/files", &clerk)
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        request.send().unwrap()
    };
    let problem = expect_problem(
        upload(Some("application/pdf"), vec![b'x'; 5000]),
        413,
        "payload_too_large",
    );
    assert!(problem["detail"].as_str().unwrap().contains("1000"));
    expect_problem(
        upload(Some("multipart/form-data; boundary=x"), b"--x--".to_vec()),
        415,
        "unsupported_media_type",
    );
    expect_problem(
        upload(Some("nonsense"), b"abc".to_vec()),
        415,
        "unsupported_media_type",
    );
    // A streamed body without Content-Length is cut off at the limit too.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..10)
        .map(|i| {
            Ok(if i == 0 {
                b"%PDF-1.7\n".to_vec()
            } else {
                vec![b'y'; 300]
            })
        })
        .collect();
    let r = server
        .request(Method::POST, "/api/v1/files", &clerk)
        .header("Content-Type", "application/pdf")
        .body(reqwest::blocking::Body::new(ChunkReader::new(chunks)))
        .send()
        .expect("the server answers a streamed body over the limit");
    expect_problem(r, 413, "payload_too_large");
    assert_eq!(files_under(&env.blob_dir()), seeded);
    before.assert_unchanged(&db.snapshot(), "refused uploads");

    // Within the limit it is stored.
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.resize(1000, b'z');
    let (status, body) = status_json(upload(Some("application/pdf"), pdf));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["media_type"], "application/pdf");
    assert_eq!(
        files_under(&env.blob_dir().join("sha256")).len(),
        seeded.len() + 1
    );
    // Bad digests are simply not found.
    expect_problem(
        server.get("/api/v1/files/..%2F..%2Fdemo-kek", &clerk),
        404,
        "not_found",
    );
}

/// A body without a declared length, sent chunk by chunk.
struct ChunkReader {
    chunks: std::vec::IntoIter<Result<Vec<u8>, std::io::Error>>,
    current: std::io::Cursor<Vec<u8>>,
}

impl ChunkReader {
    fn new(chunks: Vec<Result<Vec<u8>, std::io::Error>>) -> Self {
        ChunkReader {
            chunks: chunks.into_iter(),
            current: std::io::Cursor::new(Vec::new()),
        }
    }
}

impl std::io::Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.current.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            match self.chunks.next() {
                Some(chunk) => self.current = std::io::Cursor::new(chunk?),
                None => return Ok(0),
            }
        }
    }
}

#[test]
fn probes_metrics_openapi_docs_and_request_ids() {
    let env = TestEnv::new();
    let server = env.serve_demo(&["--log-format", "json"]);
    let get = |path: &str| server.client.get(server.url(path)).send().unwrap();

    let (status, health) = status_json(get("/healthz"));
    assert_eq!((status, health), (200, json!({ "status": "ok" })));
    let (status, ready) = status_json(get("/readyz"));
    assert_eq!(status, 200);
    assert_eq!(ready["status"], "ready");
    let backend = if env.db.url().starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(ready["database"], backend);

    let r = get("/api/openapi.json");
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for path in [
        "/api/v1/auth/login",
        "/api/v1/units",
        "/api/v1/units/{id}",
        "/api/v1/users/{id}",
        "/api/v1/files",
        "/api/v1/files/{sha256}",
        "/api/v1/me",
        "/readyz",
        "/metrics",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"].get("Problem").is_some());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    // The docs page and its assets are served by the binary itself (no network needed).
    let r = get("/api/docs");
    assert_eq!(r.status(), 200);
    let html = r.text().unwrap();
    assert!(html.contains("swagger"), "{html}");
    let r = get("/api/docs/swagger-ui-bundle.js");
    assert_eq!(r.status(), 200);
    assert!(r.text().unwrap().len() > 100_000);
    let r = get("/api/docs/swagger-initializer.js");
    assert!(r.text().unwrap().contains("/api/openapi.json"));

    // Request ids: a client's own id is echoed, otherwise one is assigned.
    let r = server
        .client
        .get(server.url("/healthz"))
        .header("X-Request-Id", "trace-42")
        .send()
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-42");
    let assigned = get("/healthz").headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(assigned.len(), 36, "{assigned}");
    expect_problem(get("/api/v1/units/1"), 401, "unauthorized");

    let r = get("/metrics");
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = r.text().unwrap();
    assert!(
        text.contains(r#"vanthu_http_requests_total{method="GET",route="/healthz",status="200"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/v1/units/{id}",status="401""#),
        "{text}"
    );
    assert!(
        text.contains("vanthu_http_request_duration_seconds_bucket"),
        "{text}"
    );

    // JSON log lines carry the request id and never the token or password.
    let token = server.demo_login("district.clerk");
    assert_eq!(server.get("/api/v1/me", &token).status(), 200);
    let logs = server.stderr();
    assert!(!logs.contains(&token), "the token leaked into the log");
    assert!(
        !logs.contains(common::DEMO_PASSWORD),
        "the password leaked into the log"
    );
    let request_line = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["span"]["request_id"] == "trace-42")
        .unwrap_or_else(|| panic!("no JSON log line with the request id:\n{logs}"));
    assert_eq!(request_line["span"]["route"], "/healthz");
    assert_eq!(request_line["status"], 200);
}

#[test]
fn readiness_fails_when_the_database_goes_away() {
    let env = TestEnv::new();
    if env.db.backend() != vanthu_store::Backend::Postgres {
        // An open SQLite file cannot be taken away from a running process; this runs in the
        // PostgreSQL pass of the suite.
        println!("SKIPPED: readiness failure needs VANTHU_TEST_DATABASE=postgres://...");
        return;
    }
    let server = env.serve(&[]);
    let ready = server.client.get(server.url("/readyz")).send().unwrap();
    assert_eq!(ready.status(), 200);

    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let admin_url = std::env::var("VANTHU_TEST_DATABASE").unwrap();
    let name = env
        .db
        .url()
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    diesel::PgConnection::establish(&admin_url)
        .unwrap()
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .unwrap();

    let r = server.client.get(server.url("/readyz")).send().unwrap();
    let problem = expect_problem(r, 503, "unavailable");
    assert!(
        problem["detail"].as_str().unwrap().contains("database"),
        "{problem}"
    );
    // Liveness is unaffected: the process itself is fine.
    assert_eq!(
        server
            .client
            .get(server.url("/healthz"))
            .send()
            .unwrap()
            .status(),
        200
    );
}

#[test]
fn passwords_and_names_follow_their_rules() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let admin = server.demo_login("district.admin");
    let district = unit_by_code(&server, &admin, "000.00.31.H56");
    let parent = district["id"].as_i64().unwrap();
    let mut db = DbObserver::open(&env);
    let before = db.snapshot();
    let new_user = |password: &str, display_name: &str| json!({ "username": "Le.Van.B", "display_name": display_name, "unit_id": parent, "roles": ["clerk"], "password": password });
    let refused = |body: Value, path: &str, field: &str, says: &str| {
        let r = if path == "/api/v1/users" || path == "/api/v1/units" {
            server.post(path, &admin, &body)
        } else {
            server.patch(path, &admin, &body)
        };
        let problem = expect_problem(r, 422, "validation_failed");
        assert_eq!(problem["field"], field, "{problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{detail}");
    };

    // Passwords: length in characters, not the username, not a common one.
    for (password, says) in [
        ("ễễễễễễễ", "at least 8"),
        (&"p".repeat(1025), "at most 1024"),
        ("LE.VAN.B", "username"),
        ("password1", "most common"),
        ("Qwertyuiop", "most common"),
    ] {
        refused(
            new_user(password, "Lê Văn B"),
            "/api/v1/users",
            "password",
            says,
        );
    }
    // Names: no bidirectional controls or zero-width characters, for people and units.
    for (c, code) in [
        ('\u{202E}', "U+202E"),
        ('\u{200B}', "U+200B"),
        ('\u{2066}', "U+2066"),
    ] {
        refused(
            new_user("mat-khau-dai", &format!("Lê Văn{c} B")),
            "/api/v1/users",
            "display_name",
            code,
        );
        refused(
            json!({ "parent_id": parent, "code": "001.00.31.H56", "name": format!("Phòng{c} Tư pháp"), "level": "department" }),
            "/api/v1/units",
            "name",
            code,
        );
    }
    before.assert_unchanged(&db.snapshot(), "refused passwords and names");

    // Accents typed decomposed are stored composed, in names and passwords alike: the
    // password set with combining marks signs in typed precomposed.
    let decomposed_password = "Ng\u{0103}\u{0301}n-Mu\u{0323}c-Ti\u{0301}m";
    let (status, created) = status_json(server.post(
        "/api/v1/users",
        &admin,
        &new_user(decomposed_password, "Le\u{0302}\u{0303} Va\u{0306}n B"),
    ));
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["display_name"], "Lễ Văn B");
    assert_eq!(created["username"], "le.van.b");
    server.login("le.van.b", "Ngắn-Mục-Tím");
    server.login("le.van.b", decomposed_password);

    // A new password follows the same rules.
    let path = format!("/api/v1/users/{}", created["id"]);
    refused(
        json!({ "password": "12345678" }),
        &path,
        "password",
        "most common",
    );
    refused(
        json!({ "password": "le.van.b" }),
        &path,
        "password",
        "username",
    );
    refused(
        json!({ "display_name": "\u{FEFF}Lê" }),
        &path,
        "display_name",
        "U+FEFF",
    );
    let (status, body) =
        status_json(server.patch(&path, &admin, &json!({ "password": "một mật khẩu dài" })));
    assert_eq!(status, 200, "{body}");
    server.login("le.van.b", "một mật khẩu dài");
}
