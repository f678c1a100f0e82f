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

/// A client whose requests come from `ip` (any address of 127.0.0.0/8 reaches the server).
fn client_from(ip: [u8; 4]) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .local_address(std::net::IpAddr::from(ip))
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn login_from(
    server: &common::Server,
    client: &reqwest::blocking::Client,
    username: &str,
    password: &str,
) -> reqwest::blocking::Response {
    client
        .post(server.url("/api/v1/auth/login"))
        .json(&serde_json::json!({ "username": username, "password": password }))
        .send()
        .unwrap()
}

fn retry_after(r: &reqwest::blocking::Response) -> Option<u64> {
    Some(
        r.headers()
            .get("retry-after")?
            .to_str()
            .ok()?
            .parse()
            .unwrap(),
    )
}

#[test]
fn repeated_failures_slow_down_that_address_without_locking_the_user_out() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let attacker = client_from([127, 0, 0, 1]);
    let user = client_from([127, 0, 0, 2]);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            login_from(&server, &attacker, "commune.clerk", "guess")
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [401, 401, 401, 401, 429]);

    // Slowed down: even the right password is refused from that address, with a hint when
    // to retry (the first wait is 30 seconds).
    let r = login_from(&server, &attacker, "commune.clerk", DEMO_PASSWORD);
    let wait = retry_after(&r).expect("Retry-After header");
    assert!((1..=30).contains(&wait), "{wait}");
    let body = expect_problem(r, 429, "too_many_attempts");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("from your address")
            && detail.contains(&format!("try again in {wait} seconds")),
        "{detail}"
    );

    // The real user, from elsewhere, signs in at once; the attacker still waits.
    let r = login_from(&server, &user, "commune.clerk", DEMO_PASSWORD);
    assert_eq!(r.status(), 200);
    let r = login_from(&server, &attacker, "commune.clerk", DEMO_PASSWORD);
    expect_problem(r, 429, "too_many_attempts");
    // Other accounts from the attacker's address are not affected either.
    assert_eq!(
        login_from(&server, &attacker, "commune.leader", DEMO_PASSWORD).status(),
        200
    );

    // A name that matches no account is slowed down the same way, so the 429 does not reveal
    // which accounts exist.
    let mut unknown = Vec::new();
    for _ in 0..6 {
        let r = login_from(&server, &attacker, "commune.nobody", "guess");
        unknown.push((r.status().as_u16(), retry_after(&r).is_some()));
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
fn unknown_names_are_counted_alike_by_every_server_instance() {
    let env = TestEnv::new();
    let first = env.serve_demo(&[]);
    let second = env.serve(&["--dev"]);
    let guess =
        |server: &common::Server| server.try_login("ghost.account", "guess").status().as_u16();
    // Failures spread over two processes sharing one database add up.
    let statuses = [
        guess(&first),
        guess(&second),
        guess(&first),
        guess(&second),
        guess(&first),
        guess(&second),
    ];
    assert_eq!(statuses, [401, 401, 401, 401, 429, 429]);
    let r = second.try_login("ghost.account", "guess");
    assert!(retry_after(&r).is_some());
    expect_problem(r, 429, "too_many_attempts");
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

    // With the right password, a disabled account gets exactly the answer of a wrong
    // password (its hash is checked all the same), and the attempt counts like one.
    let wrong = expect_problem(
        server.try_login("commune.specialist", "not-the-password"),
        401,
        "invalid_credentials",
    );
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = server.try_login("district.specialist", DEMO_PASSWORD);
        statuses.push(r.status().as_u16());
        assert_eq!(expect_problem(r, 401, "invalid_credentials"), wrong);
    }
    let r = server.try_login("district.specialist", DEMO_PASSWORD);
    assert!(r.headers().contains_key("retry-after"));
    expect_problem(r, 429, "too_many_attempts");
}
