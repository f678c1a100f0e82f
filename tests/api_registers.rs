//! The print-ready register books (`format=pdf`) through the real binary over HTTP, on SQLite
//! or PostgreSQL (`VANTHU_TEST_DATABASE`): judged by qpdf, read back with poppler's pdftotext
//! and pdfinfo (Vietnamese headers, a document's notation and summary with its diacritics, A4
//! landscape, the header repeated on every page of a long book), and refused to whoever may
//! not read the book, as the JSON and CSV books are.

mod common;

use std::path::Path;
use std::process::Command;

use common::tools::{require, Tool};
use common::{expect_problem, status_json, unit_by_code, Server, TestEnv};
use serde_json::json;

/// Enough lines for several table pages.
const DOCUMENTS: usize = 45;
const DISTRICT: &str = "000.00.31.H56";

/// `program args.. file tail..`, which must succeed; its standard output.
fn run(program: &str, args: &[&str], file: &Path, tail: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .arg(file)
        .args(tail)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{program}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The book as a PDF, checked by qpdf; returns its text (pdftotext, whitespace folded) and
/// pdfinfo's report.
fn book(server: &Server, token: &str, query: &str, dir: &Path) -> (String, String, Vec<String>) {
    let response = server.get(&format!("/api/v1/registers/{query}"), token);
    assert_eq!(response.status(), 200, "{query}");
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let pdf = response.bytes().unwrap();
    let file = dir.join("book.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let check = run("qpdf", &["--check"], &file, &[]);
    assert!(!check.contains("WARNING"), "{check}");
    let raw = run("pdftotext", &["-raw", "-enc", "UTF-8"], &file, &["-"]);
    let pages: Vec<String> = raw
        .split('\u{c}')
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect();
    (pages.join(" "), run("pdfinfo", &[], &file, &[]), pages)
}

#[test]
fn register_books_print_as_a4_landscape_pdf_in_vietnamese() {
    if require("register books as PDF", &[Tool::Qpdf, Tool::Pdftotext]).is_none() {
        return;
    }
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let clerk = server.demo_login("district.clerk");
    let dir = tempfile::tempdir().unwrap();

    // Documents received on paper and registered, each with a summary that wraps.
    for i in 1..=DOCUMENTS {
        let (status, body) = status_json(server.post(
            "/api/v1/incoming/paper",
            &clerk,
            &json!({
                "issuing_body": "Sở Tài chính tỉnh Vĩnh Phúc",
                "number_notation": format!("{i}/STC-NS"),
                "document_date": "2026-11-30",
                "document_type": "Công văn",
                "summary": format!("Về việc hướng dẫn quyết toán ngân sách đợt {i}, gửi các đơn vị trực thuộc để thực hiện"),
            }),
        ));
        assert_eq!(status, 201, "{body}");
        let id = body["id"].as_i64().unwrap();
        let (status, body) = status_json(server.post(
            &format!("/api/v1/incoming/{id}/register"),
            &clerk,
            &json!({}),
        ));
        assert_eq!(status, 200, "{body}");
    }
    let (text, info, pages) = book(&server, &clerk, "incoming?format=pdf", dir.path());
    assert!(info.contains("841.89 x 595.28 pts (A4)"), "{info}");
    assert!(text.contains("SỔ ĐĂNG KÝ VĂN BẢN ĐẾN"), "{text}");
    assert!(text.contains("17/STC-NS"), "{text}");
    assert!(
        text.contains("Về việc hướng dẫn quyết toán ngân sách đợt 17, gửi các đơn vị trực thuộc"),
        "{text}"
    );
    // Cover, table pages, closing page; every table page repeats the column titles.
    assert!(pages.len() >= 4, "{} pages: {text}", pages.len());
    let table_pages = &pages[1..pages.len() - 1];
    for page in table_pages {
        for title in [
            "Ngày đến",
            "Số đến",
            "Tác giả",
            "Trích yếu nội dung",
            "Ký nhận",
        ] {
            assert!(
                page.to_lowercase().contains(&title.to_lowercase()),
                "{title}: {page}"
            );
        }
    }
    let numbered = pages.len() - 1;
    assert!(
        pages[numbered].contains(&format!("Sổ này có {numbered} trang")),
        "{}",
        pages[numbered]
    );
    assert!(pages[numbered].contains("THỦ TRƯỞNG CƠ QUAN, TỔ CHỨC"));
    assert!(
        pages[1].contains(&format!("Trang 1/{numbered}")),
        "{}",
        pages[1]
    );

    // The outgoing book of the same unit, with a document recorded on paper.
    let leader = server.demo_login("district.leader");
    let (_, me) = status_json(server.get("/api/v1/me", &leader));
    let (status, paper) = status_json(server.post(
        "/api/v1/outgoing/paper",
        &clerk,
        &json!({
            "document_type": "Quyết định",
            "summary": "Về việc khen thưởng tập thể, cá nhân có thành tích xuất sắc",
            "notation": "QĐ-UBND",
            "signer": {"user_id": me["user"]["id"], "position": "CHỦ TỊCH", "authority": "tm"},
        }),
    ));
    assert_eq!(status, 201, "{paper}");
    let notation = paper["number_notation"].as_str().unwrap().to_owned();
    let (text, _, _) = book(&server, &clerk, "outgoing?format=pdf", dir.path());
    assert!(text.contains("SỔ ĐĂNG KÝ VĂN BẢN ĐI"), "{text}");
    assert!(text.contains(&notation), "{notation}: {text}");
    assert!(text.contains("khen thưởng tập thể"), "{text}");
    assert!(text.contains("Nơi nhận văn bản"), "{text}");

    // Whoever may not read the book as JSON may not print it either.
    let district = unit_by_code(&server, &clerk, DISTRICT)["id"]
        .as_i64()
        .unwrap();
    let commune_clerk = server.demo_login("commune.clerk");
    for kind in ["incoming", "outgoing"] {
        expect_problem(
            server.get(
                &format!("/api/v1/registers/{kind}?unit={district}&format=pdf"),
                &commune_clerk,
            ),
            404,
            "not_found",
        );
        let anonymous = server.get_anonymous(&format!("/api/v1/registers/{kind}?format=pdf"));
        assert_eq!(anonymous.status(), 401);
    }
    expect_problem(
        server.get("/api/v1/registers/incoming?format=docx", &clerk),
        400,
        "invalid_query",
    );
}
