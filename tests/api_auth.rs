//! Sign-in, sessions and throttling through the real server over HTTP.

mod common;

use std::time::Duration;

use common::{expect_problem, status_json, TestEnv, DEMO_PASSWORD};
use reqwest::StatusCode;

#[test]
fn login_succeeds_and_failures_do_not_reveal_which_part_was_wrong() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);

    let r = server.try_login("district.clerk", DEMO_PASSWORD);
    let (status, body) = status_json(r);
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap();
    assert_eq!(token.len(), 43, "32 random bytes in base64url: {token}");
    let expires_at = chrono::DateTime::parse_from_rfc3339(body["expires_at"].as_str().unwrap())
        .expect("expires_at is RFC 3339");
    assert!(expires_at > chrono::Utc::now());

    let (status, me) = status_json(server.get("/api/v1/me", token));
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["user"]["username"], "district.clerk");
    assert_eq!(me["user"]["roles"], serde_json::json!(["clerk"]));
    assert_eq!(me["unit"]["code"], "000.00.31.H56");
    assert!(me["user"].get("password_hash").is_none());

    let wrong_password = expect_problem(
        server.try_login("district.clerk", "not-the-password"),
        401,
        "invalid_credentials",
    );
    let unknown_user = expect_problem(
        server.try_login("nobody.here", DEMO_PASSWORD),
        401,
        "invalid_credentials",
    );
    let malformed_user = expect_problem(
        server.try_login("x", DEMO_PASSWORD),
        401,
        "invalid_credentials",
    );
    assert_eq!(wrong_password, unknown_user);
    assert_eq!(wrong_password, malformed_user);
}

#[test]
fn requests_without_a_valid_token_are_refused() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let r = server.client.get(server.url("/api/v1/me")).send().unwrap();
    assert_eq!(
        r.headers()
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap(),
        "Bearer"
    );
    expect_problem(r, 401, "unauthorized");
    for token in ["garbage", &"A".repeat(43), ""] {
        expect_problem(server.get("/api/v1/units", token), 401, "unauthorized");
    }
    let r = server
        .client
        .get(server.url("/api/v1/me"))
        .header(
            "Authorization",
            "Basic ZGlzdHJpY3QuY2xlcms6dmFudGh1LWRlbW8=",
        )
        .send()
        .unwrap();
    expect_problem(r, 401, "unauthorized");
}

#[test]
fn tokens_expire_after_the_configured_lifetime() {
    let env = TestEnv::new();
    let server = env.serve_demo(&["--token-ttl", "4s"]);
    let before = chrono::Utc::now();
    let (status, body) = status_json(server.try_login("commune.leader", DEMO_PASSWORD));
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let expires_at: chrono::DateTime<chrono::Utc> =
        body["expires_at"].as_str().unwrap().parse().unwrap();
    // Four seconds from the moment the server handled the login (stored to the millisecond).
    let lifetime = expires_at - before;
    assert!(
        lifetime >= chrono::TimeDelta::milliseconds(3_999)
            && lifetime < chrono::TimeDelta::seconds(6),
        "{lifetime}"
    );
    assert_eq!(server.get("/api/v1/me", &token).status(), StatusCode::OK);
    // Wait until just past the announced expiry, whatever time the steps above took.
    let left = (expires_at - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    std::thread::sleep(left + Duration::from_millis(300));
    expect_problem(server.get("/api/v1/me", &token), 401, "token_expired");
    // A fresh login works again.
    let token = server.demo_login("commune.leader");
    assert_eq!(server.get("/api/v1/me", &token).status(), StatusCode::OK);
}

#[test]
fn logout_revokes_only_that_token() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let first = server.demo_login("district.admin");
    let second = server.demo_login("district.admin");
    let r = server
        .request(reqwest::Method::POST, "/api/v1/auth/logout", &first)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    expect_problem(server.get("/api/v1/me", &first), 401, "unauthorized");
    let r = server
        .request(reqwest::Method::POST, "/api/v1/auth/logout", &first)
        .send()
        .unwrap();
    expect_problem(r, 401, "unauthorized");
    assert_eq!(server.get("/api/v1/me", &second).status(), StatusCode::OK);
}

#[test]
fn repeated_failures_lock_the_account_for_a_while() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(server.try_login("commune.clerk", "guess").status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 429]);

    // Locked: even the right password is refused, with a hint when to retry.
    let r = server.try_login("commune.clerk", DEMO_PASSWORD);
    let retry_after: u64 = r
        .headers()
        .get("retry-after")
        .expect("Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry_after), "{retry_after}");
    let body = expect_problem(r, 429, "too_many_attempts");
    assert!(body["detail"].as_str().unwrap().contains("try again"));

    // Other accounts are not affected.
    server.demo_login("commune.leader");

    // A name that matches no account locks the same way, so the 429 does not reveal which
    // accounts exist.
    let mut unknown = Vec::new();
    for _ in 0..6 {
        let r = server.try_login("commune.nobody", "guess");
        unknown.push((r.status().as_u16(), r.headers().contains_key("retry-after")));
    }
    assert_eq!(
        unknown,
        [
            (401, false),
            (401, false),
            (401, false),
            (401, false),
            (429, true),
            (429, true)
        ]
    );
}

#[test]
fn a_disabled_account_loses_its_sessions_and_cannot_sign_in() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let admin = server.demo_login("district.admin");
    let specialist = server.demo_login("district.specialist");
    let (_, me) = status_json(server.get("/api/v1/me", &specialist));
    let id = me["user"]["id"].as_i64().unwrap();
    let (status, body) = status_json(server.patch(
        &format!("/api/v1/users/{id}"),
        &admin,
        &serde_json::json!({ "disabled": true }),
    ));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["disabled"], true);
    expect_problem(server.get("/api/v1/me", &specialist), 401, "unauthorized");
    expect_problem(
        server.try_login("district.specialist", DEMO_PASSWORD),
        401,
        "invalid_credentials",
    );
}
