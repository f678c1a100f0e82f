//! The served OpenAPI description against the server's behaviour: Schemathesis generates
//! requests from the description (valid and invalid ones) and every answer must be a
//! documented status, of a documented media type, matching its documented schema, and
//! never a server error.

mod common;

use std::process::Command;

use common::tools::{self, Tool};
use common::{status_json, unit_by_code, TestEnv};
use serde_json::json;

/// Examples per operation and phase: enough to reach every documented status, small enough
/// that the run stays within a few seconds per route.
const MAX_EXAMPLES: &str = "3";
/// A fixed seed, so a difference found once is found again by the next run.
const SEED: &str = "20261202";
/// Seconds the generated requests may take in all, so the test stays bounded whatever the
/// machine; every operation is reached well within it.
const MAX_SECONDS: &str = "20";

#[test]
fn generated_requests_get_only_the_answers_the_description_lists() {
    let Some(tools) = tools::require(
        "generated_requests_get_only_the_answers_the_description_lists",
        &[Tool::Schemathesis],
    ) else {
        return;
    };
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);

    // One account holding the roles of every route, so that generated requests reach the
    // handlers rather than stopping at 403.
    let admin = server.demo_login("district.admin");
    let district = unit_by_code(&server, &admin, "000.00.31.H56");
    let (status, created) = status_json(server.post(
        "/api/v1/users",
        &admin,
        &json!({ "username": "fuzz.every.role", "display_name": "Kiểm thử", "unit_id": district["id"],
                 "roles": ["admin", "clerk", "leader", "specialist"], "password": "mọi vai trò 2026" }),
    ));
    assert_eq!(status, 201, "{created}");
    let token = server.login("fuzz.every.role", "mọi vai trò 2026");

    let run = || {
        Command::new(tools.python())
            .args(["-m", "schemathesis.cli", "run"])
            .arg(server.url("/api/openapi.json"))
            .args(["--url", &server.base_url])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            ])
            .args(["--phases", "examples,coverage,fuzzing"])
            .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED])
            // Signing out would end the session every other request runs in.
            .args(["--exclude-path", "/api/v1/auth/logout"])
            .args(["--max-time", MAX_SECONDS, "--workers", "2", "--no-color"])
            .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
            .env("PYTHONPATH", tools::workspace().join("tests/interop"))
            .current_dir(env.dir.path())
            .output()
            .expect("run schemathesis")
    };
    let mut output = run();
    let mut report = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() && crashed_inside_the_tool(&report) {
        // The generator itself broke (Python errors raised inside Schemathesis or
        // Hypothesis, seen under load), with no difference found: run it once more.
        println!("{report}\nschemathesis failed inside itself; running it again");
        output = run();
        report = String::from_utf8_lossy(&output.stdout).into_owned();
    }
    println!("{report}");
    assert!(
        output.status.success(),
        "schemathesis found differences ({}):\n{report}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    // A run that tested nothing would also succeed.
    let tested = report
        .lines()
        .find_map(|line| {
            let (generated, rest) = line.trim().split_once(" generated, ")?;
            let passed = rest.strip_suffix(" passed")?;
            (generated == passed).then(|| passed.parse::<u32>().ok())?
        })
        .unwrap_or_else(|| panic!("no test-case count in the report:\n{report}"));
    assert!(
        tested > 500,
        "only {tested} requests were generated:\n{report}"
    );
    // Every operation but the excluded sign-out was tried.
    let doc = server.openapi();
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert!(
        report.contains(&format!("Tested: {}", operations - 1)),
        "not every operation was tested ({operations} described):\n{report}"
    );
}

/// Whether a failed run failed only in the tool's own code: errors whose tracebacks end
/// inside Schemathesis or Hypothesis, and no failed check against vanthu's answers.
fn crashed_inside_the_tool(report: &str) -> bool {
    let errors_only = !report.contains("= FAILURES =") && report.contains("= ERRORS =");
    let internal = ["SystemError", "KeyError", "RecursionError"]
        .iter()
        .any(|e| report.contains(e))
        && (report.contains("site-packages/hypothesis")
            || report.contains("site-packages/schemathesis"));
    errors_only && internal
}
