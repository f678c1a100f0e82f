//! Abuse resistance through HTTP: bounded metrics, security headers, HEAD, problem+json for
//! every error, uploads only of the kinds vanthu handles, downloads that cannot run in the
//! browser, and private files on disk.

mod common;

use std::collections::BTreeSet;

use common::{Server, TestEnv};
use reqwest::Method;
use sha2::Digest;

/// The label values of one label across the request counter's series.
fn label_values(metrics: &str, label: &str) -> BTreeSet<String> {
    let prefix = format!("{label}=\"");
    metrics
        .lines()
        .filter(|line| line.starts_with("vanthu_http_requests_total{"))
        .filter_map(|line| {
            let start = line.find(&prefix)? + prefix.len();
            let len = line[start..].find('"')?;
            Some(line[start..start + len].to_owned())
        })
        .collect()
}

fn metrics_text(server: &Server) -> String {
    let r = server.client.get(server.url("/metrics")).send().unwrap();
    assert_eq!(r.status(), 200);
    r.text().unwrap()
}

#[test]
fn metrics_stay_bounded_whatever_clients_send() {
    let env = TestEnv::new();
    let server = env.serve(&[]);
    let before = metrics_text(&server);

    // Invented method names and random paths, inside and outside known routes.
    for i in 0..300 {
        let method = Method::from_bytes(format!("X-ODD{i}").as_bytes()).unwrap();
        let path = match i % 3 {
            0 => format!("/random/{i}/path-{}", i * 7919),
            1 => format!("/api/v1/units/{i}"),
            _ => "/healthz".to_owned(),
        };
        let r = server
            .client
            .request(method, server.url(&path))
            .send()
            .unwrap();
        assert!(r.status().is_client_error(), "{path}: {}", r.status());
    }
    for i in 0..50 {
        server
            .client
            .get(server.url(&format!("/nowhere-{i}")))
            .send()
            .unwrap();
    }

    let after = metrics_text(&server);
    assert!(!after.contains("X-ODD"), "a method name became a label");
    assert!(
        !after.contains("random") && !after.contains("nowhere"),
        "a raw path became a label"
    );
    let methods = label_values(&after, "method");
    let allowed: BTreeSet<String> = ["GET", "OTHER"].map(String::from).into();
    assert_eq!(methods, allowed, "{after}");
    let routes = label_values(&after, "route");
    let expected: BTreeSet<String> = ["/healthz", "/metrics", "/api/v1/units/{id}", "unmatched"]
        .map(String::from)
        .into();
    assert_eq!(routes, expected, "{after}");
    // 350 requests added a handful of series, not hundreds.
    assert!(
        after.len() < before.len() + 16 * 1024,
        "metrics grew from {} to {} bytes",
        before.len(),
        after.len()
    );
}

/// Asserts the headers every response carries and returns its Content-Security-Policy.
fn assert_security_headers(r: &reqwest::blocking::Response, what: &str) -> String {
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: no {name} header"))
            .to_owned()
    };
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header("x-frame-options"), "DENY", "{what}");
    let csp = header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    csp
}

#[test]
fn every_response_carries_security_headers_and_errors_are_problems() {
    let env = TestEnv::new();
    let server = env.serve_demo(&["--max-body", "1024"]);
    let r = server.try_login("district.clerk", common::DEMO_PASSWORD);
    assert_eq!(r.status(), 200);
    assert_security_headers(&r, "login");
    assert_eq!(r.headers()["cache-control"], "no-store", "a token response");
    let token = server.login("district.clerk", common::DEMO_PASSWORD);

    // Successes and errors of the API: a policy that lets nothing load or run.
    for (method, path) in [
        (Method::GET, "/healthz"),
        (Method::GET, "/metrics"),
        (Method::GET, "/api/openapi.json"),
        (Method::GET, "/api/v1/me"),
        (Method::GET, "/api/v1/nowhere"),
        (Method::DELETE, "/api/v1/me"),
    ] {
        let r = server.request(method.clone(), path, &token).send().unwrap();
        let csp = assert_security_headers(&r, path);
        assert!(csp.starts_with("default-src 'none'"), "{path}: {csp}");
        assert!(!csp.contains("script-src"), "{path}: {csp}");
    }

    // The docs page: its scripts, styles and the OpenAPI document come from this server, and
    // its page has no inline script, so `'self'` is all it needs.
    let r = server.client.get(server.url("/api/docs/")).send().unwrap();
    let csp = assert_security_headers(&r, "/api/docs/");
    for directive in [
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    let html = r.text().unwrap();
    let scripts: Vec<&str> = html.split("<script").skip(1).collect();
    assert!(!scripts.is_empty(), "{html}");
    for script in scripts {
        let (attributes, rest) = script.split_once('>').unwrap();
        assert!(
            attributes.contains("src=\"./"),
            "a script from elsewhere: {script}"
        );
        let inline = rest.split("</script>").next().unwrap();
        assert!(inline.trim().is_empty(), "an inline script: {inline}");
    }
    for asset in [
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-initializer.js",
    ] {
        let r = server
            .client
            .get(server.url(&format!("/api/docs/{asset}")))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{asset}");
        assert_eq!(assert_security_headers(&r, asset), csp);
    }

    // Errors from anywhere, including actix's own defaults and the docs service, are problem
    // documents with the security headers.
    let big = format!("{{\"username\": \"{}\"}}", "x".repeat(2000));
    for (method, path, body, status, code) in [
        (
            Method::GET,
            "/api/docs/no-such-asset.js",
            None,
            404,
            "not_found",
        ),
        (Method::GET, "/%ff%fe", None, 404, "not_found"),
        (
            Method::GET,
            "/api/v1/units/99999999999999999999999",
            None,
            404,
            "not_found",
        ),
        (
            Method::from_bytes(b"BREW").unwrap(),
            "/healthz",
            None,
            405,
            "method_not_allowed",
        ),
        // The documentation answers GET only, like any other route.
        (
            Method::POST,
            "/api/openapi.json",
            None,
            405,
            "method_not_allowed",
        ),
        (
            Method::DELETE,
            "/api/docs/swagger-ui.css",
            None,
            405,
            "method_not_allowed",
        ),
        (
            Method::POST,
            "/api/v1/units",
            Some(big),
            413,
            "payload_too_large",
        ),
    ] {
        let mut request = server.request(method.clone(), path, &token);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body);
        }
        let r = request.send().unwrap();
        assert_security_headers(&r, path);
        if status == 405 {
            assert_eq!(r.headers()["allow"], "GET, HEAD", "{path}");
        }
        common::expect_problem(r, status, code);
    }
}

#[test]
fn head_is_answered_like_get_without_a_body() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let token = server.demo_login("district.clerk");
    let (status, me) = common::status_json(server.get("/api/v1/me", &token));
    assert_eq!(status, 200, "{me}");
    let unit = me["unit"]["id"].as_i64().expect("the caller's unit id");
    let unit_path = format!("/api/v1/units/{unit}");
    for path in [
        "/healthz",
        "/readyz",
        "/api/v1/me",
        unit_path.as_str(),
        "/api/v1/units/999999",
        "/api/openapi.json",
        "/api/docs/",
        "/api/docs/swagger-ui.css",
    ] {
        let get = server.request(Method::GET, path, &token).send().unwrap();
        let head = server.request(Method::HEAD, path, &token).send().unwrap();
        assert_eq!(head.status(), get.status(), "{path}");
        for name in [
            "content-type",
            "content-length",
            "content-security-policy",
            "x-content-type-options",
        ] {
            assert_eq!(
                head.headers().get(name),
                get.headers().get(name),
                "{path}: {name}"
            );
        }
        assert!(head.headers().contains_key("content-length"), "{path}");
        assert!(head.bytes().unwrap().is_empty(), "{path}: HEAD with a body");
    }
    // HEAD where only POST is served: 405, naming what is allowed.
    let r = server
        .request(Method::HEAD, "/api/v1/auth/login", &token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
}

/// A body of unknown length, so it is sent chunked; empty readers send no chunk at all.
struct Streamed(std::io::Cursor<Vec<u8>>);

impl std::io::Read for Streamed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

#[test]
fn uploads_download_as_sandboxed_attachments_and_empty_ones_are_refused() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let clerk = server.demo_login("district.clerk");
    let upload = |body: reqwest::blocking::Body| {
        server
            .request(Method::POST, "/api/v1/files", &clerk)
            .header("Content-Type", "application/pdf")
            .body(body)
            .send()
            .unwrap()
    };

    // Empty bodies, with a length of 0 and streamed: refused, and nothing stored (the demo
    // organisation's own documents are there already).
    let blobs_before = common::files_under(&env.blob_dir().join("sha256"));
    for body in [
        reqwest::blocking::Body::from(Vec::new()),
        reqwest::blocking::Body::new(Streamed(std::io::Cursor::new(Vec::new()))),
    ] {
        let problem = common::expect_problem(upload(body), 415, "not_a_pdf");
        assert!(
            problem["detail"].as_str().unwrap().contains("empty"),
            "{problem}"
        );
    }
    assert_eq!(
        common::files_under(&env.blob_dir().join("sha256")),
        blobs_before
    );

    // A page that is a PDF too (readers look for the header in the first kilobyte): a
    // browser rendering it would run its script as a page of this origin.
    let page = b"<html><script>alert(document.cookie)</script></html>\n%PDF-1.7\n".to_vec();
    let (status, stored) = common::status_json(upload(reqwest::blocking::Body::new(Streamed(
        std::io::Cursor::new(page.clone()),
    ))));
    assert_eq!(status, 201, "{stored}");
    let sha256 = stored["sha256"].as_str().unwrap();
    let path = format!("/api/v1/files/{sha256}");
    for method in [Method::GET, Method::HEAD] {
        let r = server
            .request(method.clone(), &path, &clerk)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{method}");
        assert_eq!(
            r.headers()["content-disposition"],
            format!("attachment; filename=\"{sha256}\"").as_str(),
            "{method}"
        );
        let csp = assert_security_headers(&r, "download");
        assert!(
            csp.split(';')
                .any(|directive| directive.trim() == "sandbox"),
            "{csp}"
        );
        assert!(csp.contains("default-src 'none'"), "{csp}");
        let body = r.bytes().unwrap();
        if method == Method::GET {
            assert_eq!(body.as_ref(), page.as_slice());
        } else {
            assert!(body.is_empty());
        }
    }
}

/// Whether a problem's detail reads as a sentence: words, not a fragment after a colon
/// or a bare type name.
fn assert_sentence(problem: &serde_json::Value) {
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.split_whitespace().count() >= 6 && detail.starts_with(char::is_lowercase),
        "not a sentence: {detail}"
    );
    assert!(!detail.contains("expected a body of type"), "{detail}");
}

#[test]
fn uploads_are_accepted_only_in_the_kinds_vanthu_handles() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let clerk = server.demo_login("district.clerk");
    let upload = |content_type: Option<&str>, body: &[u8]| {
        let mut request = server
            .request(Method::POST, "/api/v1/files", &clerk)
            .body(body.to_vec());
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        request.send().unwrap()
    };
    let mut db = common::db::DbObserver::open(&env);
    let before = db.snapshot();

    // Media types vanthu does not handle, or none: a sentence saying what to send.
    for content_type in [
        Some("text/html"),
        Some("image/svg+xml"),
        Some("application/octet-stream"),
        Some("application/zip"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let problem = common::expect_problem(
            upload(content_type, b"%PDF-1.7\n"),
            415,
            "unsupported_media_type",
        );
        assert_sentence(&problem);
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("PDF"), "{detail}");
        if let Some(essence) = content_type.filter(|t| !t.starts_with("multipart")) {
            assert!(detail.contains(essence), "{detail}");
        }
    }
    // Content that is not what its type says.
    let mut far = vec![b' '; 1100];
    far.extend_from_slice(b"%PDF-1.7\n");
    for body in [&b"<html></html>"[..], &far] {
        let problem =
            common::expect_problem(upload(Some("application/pdf"), body), 415, "not_a_pdf");
        assert_sentence(&problem);
    }
    let problem = common::expect_problem(
        upload(Some("image/png"), b"%PDF-1.7\n"),
        415,
        "content_mismatch",
    );
    assert_sentence(&problem);
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("a PNG image") && detail.contains("image/png"),
        "{detail}"
    );
    before.assert_unchanged(&db.snapshot(), "refused uploads");

    // Accepted kinds, recorded under their canonical media type.
    let mut late_header = vec![b'\n'; 1000];
    late_header.extend_from_slice(b"%PDF-1.4\n");
    for (content_type, body, recorded) in [
        ("application/pdf", &late_header[..], "application/pdf"),
        ("IMAGE/PNG", &b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..], "image/png"),
        ("image/jpeg", &b"\xFF\xD8\xFF\xE0\0\x10JFIF"[..], "image/jpeg"),
        (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document; charset=binary",
            &b"PK\x03\x04\x14\0\x06\0"[..],
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "application/vnd.ms-excel",
            &b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0"[..],
            "application/vnd.ms-excel",
        ),
    ] {
        let (status, stored) = common::status_json(upload(Some(content_type), body));
        assert_eq!(status, 201, "{content_type}: {stored}");
        assert_eq!(stored["media_type"], recorded, "{content_type}");
        let r = server.get(&format!("/api/v1/files/{}", stored["sha256"].as_str().unwrap()), &clerk);
        assert_eq!(r.headers()["content-type"], recorded);
    }

    // Verification reads PDFs the same way.
    let verify = |body: &[u8]| {
        server
            .request(Method::POST, "/api/v1/verify", &clerk)
            .header("Content-Type", "application/pdf")
            .body(body.to_vec())
            .send()
            .unwrap()
    };
    common::expect_problem(verify(&far), 415, "not_a_pdf");
    let r = verify(&late_header);
    assert_ne!(
        r.status(),
        415,
        "a header within the first kilobyte is a PDF's"
    );
}

#[test]
fn data_files_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;

    let env = TestEnv::new();
    // The binary under a umask that would leave everything world-readable and writable.
    let template = env.command();
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", "umask 000; exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_vanthu"))
        .args(["serve", "--listen", "127.0.0.1:0", "--demo"])
        .current_dir(env.dir.path());
    for (key, value) in template.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    if !env.db.url().starts_with("postgres") {
        // The built-in database in the data directory, created by the server itself.
        cmd.env_remove("DATABASE_URL");
    }
    // No key-encryption key configured: the demo keeps its own in the data directory.
    cmd.env_remove("VANTHU_KEK_FILE");
    let server = Server::start(cmd);
    let clerk = server.demo_login("district.clerk");
    let r = server
        .request(Method::POST, "/api/v1/files", &clerk)
        .header("Content-Type", "application/pdf")
        .body(b"%PDF-1.7\nprivate".to_vec())
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);

    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let data = env.data_dir();
    let mut dirs = vec![data.clone()];
    let mut files = Vec::new();
    while let Some(dir) = dirs.pop() {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n == "demo-kek"), "{names:?}");
    // The uploaded file's blob is among the files checked.
    let uploaded = hex::encode(sha2::Sha256::digest(b"%PDF-1.7\nprivate"));
    assert!(
        names.iter().any(|n| uploaded.ends_with(n.as_str())),
        "{names:?}"
    );
    if !env.db.url().starts_with("postgres") {
        for db_file in ["vanthu.db", "vanthu.db-wal", "vanthu.db-shm"] {
            assert!(names.iter().any(|n| n == db_file), "{db_file}: {names:?}");
        }
    }
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
}
