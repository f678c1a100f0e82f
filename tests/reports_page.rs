//! The auditors' page `/reports` in headless Chromium, driven through chromedriver's
//! WebDriver protocol: sign in, ask for a subtree and a period, and read the figures the
//! page shows against the API's JSON and against documents this test recorded.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use common::tools::{require, Tool};
use common::{TestEnv, DEMO_PASSWORD};
use reqwest::blocking::Client;
use serde_json::{json, Value};

/// The key WebDriver names elements by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    child: Child,
    url: String,
    client: Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Session<'a> {
    driver: &'a Driver,
    id: String,
}

impl Driver {
    fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            client: Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = driver
                .client
                .get(format!("{}/status", driver.url))
                .send()
                .ok()
                .and_then(|r| r.json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                return driver;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn session(&self, profile: &std::path::Path) -> Session<'_> {
        let caps = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--lang=vi-VN",
                     "--window-size=1400,2400", format!("--user-data-dir={}", profile.display())]
        }}}});
        let v: Value = self
            .client
            .post(format!("{}/session", self.url))
            .json(&caps)
            .send()
            .expect("new session")
            .json()
            .expect("session JSON");
        let id = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_owned();
        Session { driver: self, id }
    }
}

impl Session<'_> {
    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.driver.url, self.id);
        let mut req = self.driver.client.request(method, url);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let v: Value = req.send().expect("WebDriver call").json().expect("JSON");
        assert!(v["value"]["error"].is_null(), "{path}: {v}");
        v["value"].clone()
    }

    fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })));
    }

    /// The element `css` selects, waiting up to ten seconds for a page being loaded.
    fn find(&self, css: &str) -> String {
        let url = format!("{}/session/{}/element", self.driver.url, self.id);
        let deadline = Instant::now() + Duration::from_secs(10);
        let v = loop {
            let v: Value = self
                .driver
                .client
                .post(&url)
                .json(&json!({"using": "css selector", "value": css}))
                .send()
                .expect("WebDriver call")
                .json()
                .expect("JSON");
            if v["value"]["error"].is_null() {
                break v["value"].clone();
            }
            assert!(
                Instant::now() < deadline,
                "{css}: {}\n{}",
                v["value"]["message"],
                self.get("/source")
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("{css}: {v}"))
            .to_owned()
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/click"),
            Some(json!({})),
        );
    }

    fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.call(reqwest::Method::GET, &format!("/element/{e}/text"), None)
            .as_str()
            .expect("text")
            .to_owned()
    }

    fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None)
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let url = format!("{}/session/{}", self.driver.url, self.id);
        let _ = self.driver.client.delete(url).send();
    }
}

/// "91,5 %" and "5.789/6.324" as the JSON writes them: 91.5, 5789, 6324.
fn shown_ratio(cell: &str) -> (Option<f64>, i64, i64) {
    let mut lines = cell.lines();
    let pct = lines.next().unwrap_or_default().trim();
    let pct = (pct != "—").then(|| {
        pct.trim_end_matches('%')
            .trim()
            .replace(',', ".")
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("{cell}"))
    });
    let frac = lines.next().unwrap_or_default().replace('.', "");
    let (n, d) = frac.split_once('/').unwrap_or_else(|| panic!("{cell}"));
    (pct, n.trim().parse().unwrap(), d.trim().parse().unwrap())
}

fn shown_count(cell: &str) -> i64 {
    cell.trim().replace('.', "").parse().unwrap()
}

#[test]
fn an_auditor_reads_on_the_page_the_figures_the_api_gives() {
    let Some(_tools) = require(
        "an_auditor_reads_on_the_page_the_figures_the_api_gives",
        &[Tool::Chromium, Tool::Chromedriver],
    ) else {
        return;
    };
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let admin = server.demo_login("district.admin");
    let district = common::unit_by_code(&server, &admin, "000.00.31.H56");
    let commune = common::unit_by_code(&server, &admin, "000.31.01.H56");
    // A unit whose name must be escaped, inside the district.
    let odd = server.post(
        "/api/v1/units",
        &admin,
        &json!({"parent_id": district["id"], "code": "000.09.31.H56",
                "name": "Tổ <b>thử</b> & \"kiểm\"", "level": "department"}),
    );
    assert_eq!(odd.status(), 201, "{:?}", odd.text());
    // Documents this test records: two received on paper by the commune.
    let clerk = server.demo_login("commune.clerk");
    for n in 1..=2 {
        let r = server.post(
            "/api/v1/incoming/paper",
            &clerk,
            &json!({"issuing_body": "Sở Nội vụ tỉnh Vĩnh Phúc", "number_notation": format!("{n}/SNV"),
                    "document_date": "2026-11-30", "document_type": "Công văn",
                    "summary": "Về việc báo cáo số liệu"}),
        );
        assert_eq!(r.status(), 201, "{:?}", r.text());
    }
    let today = chrono::Utc::now().date_naive();
    let from = today - chrono::Duration::days(30);
    let to = today + chrono::Duration::days(1);
    let auditor = server.demo_login("district.auditor");
    let api: Value = server
        .get(
            &format!(
                "/api/v1/reports/ratios?unit={}&subtree=true&from={from}&to={to}",
                district["id"]
            ),
            &auditor,
        )
        .json()
        .unwrap();
    let commune_api = api["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"]["id"] == commune["id"])
        .expect("the commune in the report")
        .clone();
    assert_eq!(commune_api["own"]["incoming"]["received"], 2, "{api}");
    assert_eq!(commune_api["own"]["incoming"]["on_paper"], 2, "{api}");

    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let browser = driver.session(profile.path());
    browser.go(&server.url("/reports"));
    browser.type_into("#username", "district.auditor");
    browser.type_into("#password", DEMO_PASSWORD);
    browser.click("#sign-in");
    assert!(browser.text("#viewer").contains("district.auditor"));
    browser.click(&format!("#unit option[value=\"{}\"]", district["id"]));
    browser.click("#subtree");
    // Date inputs take their value as the form submits it, whatever the locale displays.
    browser.call(
        reqwest::Method::POST,
        "/execute/sync",
        Some(
            json!({"script": "document.getElementById('from').value = arguments[0]; \
                               document.getElementById('to').value = arguments[1];",
                    "args": [from.to_string(), to.to_string()]}),
        ),
    );
    browser.click("#show");
    // The click submits the form; the browser may answer before the new page has loaded.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let url = loop {
        let url = browser.get("/url").as_str().unwrap().to_owned();
        if url.contains("subtree=") || std::time::Instant::now() > deadline {
            break url;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let url = url.as_str();
    assert!(
        url.contains("subtree=true") && url.contains(&format!("from={from}")),
        "{url}"
    );

    // Every unit's own figures, and the total, as the API gives them.
    let mut rows: Vec<(String, &Value)> = api["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                format!("tr[data-unit=\"{}\"][data-scope=\"own\"]", u["unit"]["id"]),
                &u["own"],
            )
        })
        .collect();
    rows.push(("tr[data-scope=\"total\"]".to_owned(), &api["total"]));
    for (row, r) in &rows {
        let cell = |m: &str| browser.text(&format!("{row} td[data-metric=\"{m}\"]"));
        assert_eq!(
            shown_count(&cell("received")),
            r["incoming"]["received"].as_i64().unwrap()
        );
        assert_eq!(
            shown_count(&cell("issued")),
            r["outgoing"]["issued"].as_i64().unwrap()
        );
        assert_eq!(
            shown_count(&cell("invalid")),
            r["signatures"]["invalid"].as_i64().unwrap()
        );
        for (metric, ratio) in [
            ("processed", &r["incoming"]["processed_on_software"]),
            ("signed", &r["outgoing"]["digitally_signed"]),
            ("on_time", &r["handling"]["on_time"]),
            ("open_past_deadline", &r["handling"]["open_past_deadline"]),
        ] {
            let (pct, n, d) = shown_ratio(&cell(metric));
            assert_eq!(n, ratio["count"].as_i64().unwrap(), "{row} {metric}");
            assert_eq!(d, ratio["of"].as_i64().unwrap(), "{row} {metric}");
            assert_eq!(pct, ratio["percent"].as_f64(), "{row} {metric}");
        }
    }
    // What this test recorded: the commune received two documents, none on the software.
    let commune_row = format!("tr[data-unit=\"{}\"][data-scope=\"own\"]", commune["id"]);
    assert_eq!(
        browser.text(&format!("{commune_row} td[data-metric=\"received\"]")),
        "2"
    );
    assert_eq!(
        shown_ratio(&browser.text(&format!("{commune_row} td[data-metric=\"processed\"]"))),
        (Some(0.0), 0, 2)
    );
    assert!(browser.find("#chart-processed").len() > 1);
    assert!(!browser.text("#checkpoint").is_empty());

    // Nothing from another host, names escaped.
    let source = browser.get("/source");
    let source = source.as_str().unwrap();
    let host = server.base_url.clone();
    for (i, _) in source.match_indices("http") {
        let rest = &source[i..];
        assert!(
            !(rest.starts_with("http://") || rest.starts_with("https://"))
                || rest.starts_with(&host),
            "a URL of another host: {}",
            &rest[..rest.len().min(80)]
        );
    }
    assert!(!source.contains("<script"));
    assert!(!source.contains("<b>thử</b>"), "a unit name not escaped");

    // The cookie: HttpOnly, SameSite=Strict, on /reports only; API routes ignore it.
    let cookies = browser.get("/cookie");
    let cookie = cookies
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "vanthu_reports")
        .expect("the session cookie")
        .clone();
    assert_eq!(cookie["httpOnly"], true);
    assert_eq!(cookie["sameSite"], "Strict");
    assert_eq!(cookie["path"], "/reports");
    let token = cookie["value"].as_str().unwrap().to_owned();
    let jar = format!("vanthu_reports={token}");
    let r = server
        .client
        .get(server.url("/api/v1/me"))
        .header("Cookie", &jar)
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = server
        .client
        .get(server.url(&format!("/reports?unit={}&from=2026-13-01", district["id"])))
        .header("Cookie", &jar)
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("form-action 'self'") && csp.contains("style-src 'sha256-"),
        "{csp}"
    );
    assert!(!csp.contains("script-src"), "{csp}");
    assert!(r.text().unwrap().contains("Từ ngày (from)"));
    // A form posted from another site is refused.
    let r = server
        .client
        .post(server.url("/reports/logout"))
        .header("Cookie", &jar)
        .header("Origin", "http://attacker.example")
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);

    let png = browser.get("/screenshot");
    let png = base64::engine::general_purpose::STANDARD
        .decode(png.as_str().unwrap())
        .unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("reports-page.png");
    std::fs::write(&shot, &png).unwrap();
    println!("screenshot: {}", shot.display());

    // Signing out ends the session itself, not only the cookie.
    browser.click("#logout button");
    assert!(!browser.find("#username").is_empty());
    let r = server
        .client
        .get(server.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
}
