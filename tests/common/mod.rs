//! Shared helpers for the end-to-end tests: run the real `vanthu` binary against a fresh data
//! directory and database (SQLite, or PostgreSQL when `VANTHU_TEST_DATABASE` is a postgres://
//! URL), talk to it over real HTTP, and kill it when the test ends.

#![allow(dead_code)] // Each test file uses a different part of these helpers.

pub mod db;
pub mod oracles;
pub mod token;
pub mod tools;
pub mod tsa;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{json, Value};
use vanthu_store::testing::TestDatabase;

/// Password of every demo account.
pub const DEMO_PASSWORD: &str = "vanthu-demo";

/// How long a server may take to start (argon2 hashing and key generation when seeding the
/// demo, migrations on PostgreSQL).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A data directory and a database that outlive server restarts within one test.
pub struct TestEnv {
    pub db: TestDatabase,
    pub dir: tempfile::TempDir,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let env = TestEnv {
            db: TestDatabase::create(),
            dir: tempfile::Builder::new()
                .prefix("vanthu-e2e-")
                .tempdir()
                .expect("temporary directory"),
        };
        // A key-encryption key outside the data directory, as an operator keeps one: the
        // base64 of 32 random bytes, as `openssl rand -base64 32` writes it.
        let mut key = [0u8; 32];
        openssl::rand::rand_bytes(&mut key).expect("random bytes");
        use base64::Engine;
        let kek = base64::engine::general_purpose::STANDARD.encode(key) + "\n";
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(env.kek_file())
            .expect("create the KEK file");
        std::io::Write::write_all(&mut file, kek.as_bytes()).expect("write the KEK file");
        env
    }

    /// The key-encryption key file every command of this environment is given
    /// (`VANTHU_KEK_FILE`), beside the data directory.
    pub fn kek_file(&self) -> PathBuf {
        self.dir.path().join("kek")
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Final names of stored blobs live below this folder.
    pub fn blob_dir(&self) -> PathBuf {
        self.data_dir().join("blobs")
    }

    /// `vanthu` with this environment's data directory and database and nothing inherited
    /// that could change its configuration.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vanthu"));
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("VANTHU_") || key == "DATABASE_URL" {
                cmd.env_remove(key);
            }
        }
        cmd.current_dir(self.dir.path())
            .env("VANTHU_DATA", self.data_dir())
            .env("DATABASE_URL", self.db.url())
            .env("VANTHU_KEK_FILE", self.kek_file())
            .env("RUST_LOG", "info");
        cmd
    }

    /// Runs a command to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run vanthu")
    }

    /// Starts `vanthu serve` on a free port with extra arguments and waits until it answers.
    pub fn serve(&self, args: &[&str]) -> Server {
        let mut cmd = self.command();
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(args);
        Server::start(cmd)
    }

    /// Starts the server with the demo organisation.
    pub fn serve_demo(&self, args: &[&str]) -> Server {
        let mut all = vec!["--demo"];
        all.extend_from_slice(args);
        self.serve(&all)
    }
}

/// A running server, killed when dropped.
pub struct Server {
    child: Child,
    pub base_url: String,
    pub client: Client,
    stdout: mpsc::Receiver<String>,
    stderr_path: Option<PathBuf>,
}

impl Server {
    /// Spawns a prepared `vanthu serve` command and waits until it answers `/healthz`.
    pub fn start(mut cmd: Command) -> Server {
        let stderr_file = tempfile::NamedTempFile::new().expect("stderr file");
        let (file, stderr_path) = stderr_file.keep().expect("keep stderr file");
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::from(file))
            .spawn()
            .expect("spawn vanthu serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let base_url = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("vanthu listening on ") {
                        break url.trim().to_owned();
                    }
                }
                Err(_) => {
                    let status = child.try_wait().ok().flatten();
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "server did not start (exit status {status:?}); stderr:\n{}",
                        std::fs::read_to_string(&stderr_path).unwrap_or_default()
                    );
                }
            }
        };
        let server = Server {
            child,
            base_url,
            client: Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("HTTP client"),
            stdout: rx,
            stderr_path: Some(stderr_path),
        };
        server.wait_healthy();
        server
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.client.get(self.url("/healthz")).send() {
                Ok(r) if r.status() == 200 => return,
                _ if Instant::now() > deadline => panic!("/healthz never answered 200"),
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Lines the server printed on standard output after the address line, up to and
    /// including the first one containing `needle` (waiting for it up to the start timeout).
    pub fn stdout_until(&self, needle: &str) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(line) = self.stdout.recv_timeout(START_TIMEOUT) {
            let done = line.contains(needle);
            lines.push(line);
            if done {
                return lines;
            }
        }
        panic!("the server never printed {needle:?}; got {lines:?}");
    }

    /// What the server wrote to standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr_path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default()
    }

    /// Signs in and returns the token; panics unless the login succeeds.
    pub fn login(&self, username: &str, password: &str) -> String {
        let r = self.try_login(username, password);
        assert_eq!(r.status(), 200, "login {username}");
        r.json::<Value>().unwrap()["token"]
            .as_str()
            .expect("token in login response")
            .to_owned()
    }

    /// Signs in a demo account.
    pub fn demo_login(&self, username: &str) -> String {
        self.login(username, DEMO_PASSWORD)
    }

    pub fn try_login(&self, username: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .expect("login request")
    }

    /// A GET without any token, as anyone on the network may send it.
    pub fn get_anonymous(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().expect("GET")
    }

    pub fn get(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .expect("GET")
    }

    pub fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .expect("POST")
    }

    pub fn patch(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .expect("PATCH")
    }

    /// A request with the bearer token, for anything the helpers above do not cover.
    pub fn request(&self, method: reqwest::Method, path: &str, token: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    /// The served OpenAPI description.
    pub fn openapi(&self) -> Value {
        self.client
            .get(self.url("/api/openapi.json"))
            .send()
            .expect("GET /api/openapi.json")
            .json()
            .expect("the OpenAPI description is JSON")
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the server");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(path) = self.stderr_path.take() {
            if std::thread::panicking() {
                eprintln!(
                    "--- server stderr ---\n{}",
                    std::fs::read_to_string(&path).unwrap_or_default()
                );
            }
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Status, media type and JSON body (null when empty) of a response.
pub fn typed_json(r: Response) -> (u16, String, Value) {
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = r.text().expect("response body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    (status, content_type, body)
}

/// Status and JSON body of a response; asserts problem responses are problem+json.
pub fn status_json(r: Response) -> (u16, Value) {
    let (status, content_type, body) = typed_json(r);
    if status >= 400 {
        assert_eq!(
            content_type, "application/problem+json",
            "error {status} must be problem+json: {body}"
        );
    }
    if status >= 400 {
        assert_eq!(body["status"], status, "{body}");
        assert!(body["code"].is_string(), "{body}");
        assert!(body["detail"].is_string(), "{body}");
    }
    (status, body)
}

/// Asserts a problem response with this status and code and returns its body.
pub fn expect_problem(r: Response, status: u16, code: &str) -> Value {
    let (got, body) = status_json(r);
    assert_eq!(
        (got, body["code"].as_str().unwrap_or("")),
        (status, code),
        "{body}"
    );
    body
}

/// Asserts a problem response with this status and code whose detail says `words`, and
/// returns its body.
pub fn expect_problem_saying(r: Response, status: u16, code: &str, words: &str) -> Value {
    let body = expect_problem(r, status, code);
    let detail = body["detail"].as_str().unwrap_or("");
    assert!(detail.contains(words), "{words:?} not in {body}");
    body
}

/// Waits up to `timeout` for a process to exit on its own; kills it and panics otherwise.
pub fn wait_exit(mut child: Child, timeout: Duration) -> Output {
    let deadline = Instant::now() + timeout;
    while child.try_wait().expect("poll child").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("reap child");
            panic!(
                "process did not exit within {timeout:?}; stdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("collect output")
}

/// Runs a `vanthu` command that must refuse to start: exit status 2; its standard error
/// and the last line of it.
pub fn refused_start(mut cmd: Command) -> (String, String) {
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vanthu");
    let out = wait_exit(child, START_TIMEOUT);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let last = stderr.lines().last().unwrap_or_default().to_owned();
    (stderr, last)
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// An A4 page showing `text` (ASCII) in Helvetica: a document to upload or sign.
pub fn one_page_pdf(text: &[u8]) -> Vec<u8> {
    pages_pdf(&[text])
}

/// A4 pages, each showing its `texts` entry (ASCII) in Helvetica, sharing one font.
pub fn pages_pdf(texts: &[&[u8]]) -> Vec<u8> {
    use lopdf::{dictionary, Document, Object, Stream};
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let kids: Vec<Object> = texts
        .iter()
        .map(|text| {
            let mut content = b"BT /F1 14 Tf 72 760 Td (".to_vec();
            content.extend_from_slice(text);
            content.extend_from_slice(b") Tj ET");
            let content_id = doc.add_object(Stream::new(dictionary! {}, content));
            doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => pages_id,
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
                "Contents" => content_id,
                "Resources" => dictionary! { "Font" => dictionary! { "F1" => font_id } },
            })
            .into()
        })
        .collect();
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).expect("write a PDF");
    bytes
}

/// The unit with this code as the caller sees it in the unit list.
pub fn unit_by_code(server: &Server, token: &str, code: &str) -> Value {
    let (status, page) = status_json(server.get("/api/v1/units?per_page=200", token));
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["code"] == code)
        .unwrap_or_else(|| panic!("unit {code} not visible: {page}"))
        .clone()
}

const BOUNDARY: &str = "vanthu-test-7d1f0c";

/// A multipart/form-data body of these parts, in this order: (name, content type, bytes).
/// The parts that carry files (`file`, `pkcs12`) get a file name, as browsers send them.
pub fn multipart(parts: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for (name, content_type, bytes) in parts {
        let filename = match *name {
            "file" => "; filename=\"van-ban.pdf\"",
            "pkcs12" => "; filename=\"chu-ky-so.p12\"",
            _ => "",
        };
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"{filename}\r\n\
                 Content-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

/// A one-page PDF sealed with the development seal by `vanthu sign` (PAdES B-B).
pub fn sealed_pdf(env: &TestEnv, dir: &Path) -> Vec<u8> {
    sealed_pdf_of(env, dir, b"CONG VAN LIEN THONG")
}

/// A one-page PDF saying `text`, sealed with the development seal by `vanthu sign`.
pub fn sealed_pdf_of(env: &TestEnv, dir: &Path, text: &[u8]) -> Vec<u8> {
    let (plain, sealed) = (dir.join("plain.pdf"), dir.join("sealed.pdf"));
    std::fs::write(&plain, one_page_pdf(text)).unwrap();
    let p12 = tools::workspace().join("certs-dev/seal.p12");
    let out = env
        .command()
        .env("P12_PASSWORD", "vanthu-dev")
        .args([
            "sign",
            &plain.display().to_string(),
            "-o",
            &sealed.display().to_string(),
        ])
        .args([
            "--p12",
            &p12.display().to_string(),
            "--p12-password-env",
            "P12_PASSWORD",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(sealed).unwrap()
}

/// Uploads an outgoing draft (`metadata` as the OutgoingMetadataBody JSON, `pdf` as the
/// file) as the holder of `token`; returns the drafted document.
pub fn draft_outgoing(server: &Server, token: &str, metadata: &Value, pdf: &[u8]) -> Value {
    let (content_type, body) = multipart(&[
        (
            "metadata",
            "application/json",
            metadata.to_string().as_bytes(),
        ),
        ("file", "application/pdf", pdf),
    ]);
    let (status, draft) = status_json(
        server
            .request(reqwest::Method::POST, "/api/v1/outgoing", token)
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .expect("upload the draft"),
    );
    assert_eq!(status, 201, "{draft}");
    draft
}

/// A one-page draft of the demo commune by its specialist, to be signed by the user signed in
/// with `signer` as CHỦ TỊCH (tm); returns its id.
pub fn commune_draft(server: &Server, signer: &str, summary: &str, text: &[u8]) -> i64 {
    let specialist = server.demo_login("commune.specialist");
    let (_, me) = status_json(server.get("/api/v1/me", signer));
    let metadata = serde_json::json!({
        "document_type": "Công văn",
        "summary": summary,
        "urgency": "khan",
        "notation": "UBND-VP",
        "signer": {"user_id": me["user"]["id"], "position": "CHỦ TỊCH", "authority": "tm"},
        "internal_recipients": [],
        "external_recipients": [],
    });
    let draft = draft_outgoing(server, &specialist, &metadata, &one_page_pdf(text));
    draft["id"].as_i64().unwrap()
}

/// Installs the development seal (certs-dev/seal.p12) as the seal of the unit with this
/// code, with `vanthu seal-key`.
pub fn install_dev_seal(env: &TestEnv, unit: &str) {
    install_seal(env, unit, "seal.p12");
}

/// Installs the development PKCS#12 file `p12` (in certs-dev) as `unit`'s seal with
/// `vanthu seal-key`.
pub fn install_seal(env: &TestEnv, unit: &str, p12: &str) {
    let p12 = tools::workspace().join("certs-dev").join(p12);
    let out = env
        .command()
        .env("VANTHU_P12_PASSWORD", "vanthu-dev")
        .args(["seal-key", "--unit", unit, "--p12"])
        .arg(&p12)
        .arg("--dev")
        .output()
        .expect("run vanthu seal-key");
    assert_success(&out);
}

/// A command's output that must say it succeeded, its standard error shown otherwise.
pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
