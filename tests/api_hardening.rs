//! Abuse resistance through HTTP: bounded metrics, security headers, HEAD, problem+json for
//! every error, downloads that cannot run in the browser, and private files on disk.

mod common;

use std::collections::BTreeSet;

use common::{Server, TestEnv};
use reqwest::Method;

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
