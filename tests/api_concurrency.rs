//! Requests that race each other through the real server: every thread waits at a barrier,
//! then all send at once, round after round. Identical uploads must store one blob and one
//! row per unit; parallel wrong passwords must not get more guesses past the throttle than
//! sequential ones do.

mod common;

use std::sync::{Arc, Barrier};

use common::db::DbObserver;
use common::{files_under, status_json, Server, TestEnv, DEMO_PASSWORD};
use reqwest::Method;
use serde_json::Value;
use sha2::{Digest, Sha256};
use vanthu_domain::SlowDown;

/// Requests in flight at once in each round.
const THREADS: usize = 16;
/// Rounds, each with fresh content or a fresh account.
const ROUNDS: usize = 4;

/// Runs `request(i)` on `THREADS` threads released together by a barrier; the results in
/// thread order.
fn all_at_once<T: Send + 'static>(request: impl Fn(usize) -> T + Send + Sync + 'static) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(THREADS));
    let request = Arc::new(request);
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let (barrier, request) = (barrier.clone(), request.clone());
            std::thread::spawn(move || {
                barrier.wait();
                request(i)
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("request thread"))
        .collect()
}

fn upload(base_url: &str, token: &str, content: &[u8]) -> (u16, Value) {
    let client = reqwest::blocking::Client::new();
    let r = client
        .request(Method::POST, format!("{base_url}/api/v1/files"))
        .bearer_auth(token)
        .header("Content-Type", "application/pdf")
        .body(content.to_vec())
        .send()
        .expect("upload");
    status_json(r)
}

#[test]
fn identical_uploads_racing_store_one_blob_and_one_row_per_unit() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    // Half the racers upload for the district, half for a commune; each has its own session.
    let tokens: Arc<Vec<String>> = Arc::new(
        (0..THREADS)
            .map(|i| {
                let user = if i % 2 == 0 {
                    "district.clerk"
                } else {
                    "commune.clerk"
                };
                server.demo_login(user)
            })
            .collect(),
    );
    let mut db = DbObserver::open(&env);
    // The demo organisation holds files of its own (its incoming documents).
    let demo_files = db.snapshot().rows("files").len();
    for round in 0..ROUNDS {
        // Large enough that the writes overlap on disk, not only in the database.
        let content: Arc<Vec<u8>> = Arc::new(
            format!(
                "%PDF-1.7\n{}",
                format!("Công văn số {round}/UBND: nội dung giống hệt nhau.\n").repeat(20_000)
            )
            .into_bytes(),
        );
        let sha = hex::encode(Sha256::digest(content.as_slice()));
        let (base_url, tokens_, content_) =
            (server.base_url.clone(), tokens.clone(), content.clone());
        let answers = all_at_once(move |i| upload(&base_url, &tokens_[i], &content_));
        for (i, (status, body)) in answers.iter().enumerate() {
            assert_eq!(*status, 201, "round {round}, racer {i}: {body}");
            assert_eq!(body["sha256"], sha.as_str(), "round {round}, racer {i}");
            assert_eq!(body["size"], content.len(), "round {round}, racer {i}");
        }
        // One row per unit holding the file, one blob holding exactly the content.
        let rows: Vec<String> = db
            .snapshot()
            .rows("files")
            .iter()
            .filter(|r| r.starts_with(&sha))
            .cloned()
            .collect();
        assert_eq!(rows.len(), 2, "round {round}: {rows:#?}");
        let blobs: Vec<_> = files_under(&env.blob_dir().join("sha256"))
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(&sha[2..]))
            .collect();
        assert_eq!(blobs.len(), 1, "round {round}: {blobs:?}");
        assert_eq!(std::fs::read(&blobs[0]).unwrap(), *content, "round {round}");
        assert_eq!(
            files_under(&env.blob_dir().join("tmp")),
            Vec::<std::path::PathBuf>::new()
        );
    }
    drop(server);
    let check = env.run(&["check", "--json"]);
    let report: Value = serde_json::from_slice(&check.stdout).expect("check report");
    assert_eq!(report["consistent"], true, "{report}");
    assert_eq!(report["files_in_database"], demo_files + ROUNDS, "{report}");
}

/// Everyone guesses a wrong password for `username` at once: the answers, sorted.
fn parallel_wrong_guesses(server: &Server, username: &str) -> Vec<u16> {
    let base_url = server.base_url.clone();
    let username = username.to_owned();
    let mut statuses = all_at_once(move |i| {
        let r = reqwest::blocking::Client::new()
            .post(format!("{base_url}/api/v1/auth/login"))
            .json(&serde_json::json!({ "username": username, "password": format!("guess-{i}") }))
            .send()
            .expect("login request");
        r.status().as_u16()
    });
    statuses.sort_unstable();
    statuses
}

#[test]
fn parallel_wrong_passwords_get_no_more_guesses_than_sequential_ones() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    // As with one guess after another: the first free failures but one are answered 401,
    // the last free one sets a wait (429), and every other attempt finds it waiting.
    let allowed = SlowDown::DEFAULT.free_failures as usize - 1;
    let mut expected = vec![401; allowed];
    expected.extend(vec![429; THREADS - allowed]);
    // Real accounts and a name that matches none, counted alike so that 429 does not reveal
    // which accounts exist.
    let accounts = [
        "district.clerk",
        "commune.leader",
        "district.specialist",
        "commune.nobody",
    ];
    assert_eq!(accounts.len(), ROUNDS);
    for username in accounts {
        assert_eq!(
            parallel_wrong_guesses(&server, username),
            expected,
            "{username}: every attempt beyond the first {allowed} must find a wait"
        );
        // Waiting: even the right password is refused now.
        let r = server.try_login(username, DEMO_PASSWORD);
        assert_eq!(r.status(), 429, "{username}");
    }
    // Others are not affected.
    server.demo_login("commune.clerk");
}

/// Everyone signs in at once with the right password: the statuses, sorted, and whether
/// every 503 came as a problem with `Retry-After`.
fn parallel_sign_ins(server: &Server) -> (Vec<u16>, bool) {
    let base_url = server.base_url.clone();
    let answers = all_at_once(move |i| {
        let username = ["district.clerk", "commune.leader", "district.admin"][i % 3];
        let r = reqwest::blocking::Client::new()
            .post(format!("{base_url}/api/v1/auth/login"))
            .json(&serde_json::json!({ "username": username, "password": DEMO_PASSWORD }))
            .send()
            .expect("login request");
        let status = r.status().as_u16();
        let well_formed = status != 503 || {
            let retry_after = r.headers().get("retry-after").cloned();
            let (_, problem) = status_json(r);
            retry_after.is_some_and(|v| v.to_str().unwrap().parse::<u64>().unwrap() >= 1)
                && problem["code"] == "busy"
        };
        (status, well_formed)
    });
    let mut statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    statuses.sort_unstable();
    (statuses, answers.iter().all(|(_, ok)| *ok))
}

#[test]
fn password_hashing_runs_under_a_limit_and_the_excess_is_told_to_retry() {
    let env = TestEnv::new();
    // One hash at a time and no waiting: sign-ins arriving together find the slot taken.
    let strict = env.serve_demo(&["--hash-concurrency", "1", "--hash-wait", "0"]);
    let mut busy = 0;
    for round in 0..ROUNDS {
        let (statuses, well_formed) = parallel_sign_ins(&strict);
        assert!(
            well_formed,
            "round {round}: a 503 without Retry-After or code"
        );
        assert!(
            statuses.iter().all(|s| [200, 503].contains(s)),
            "round {round}: {statuses:?}"
        );
        assert!(statuses.contains(&200), "round {round}: {statuses:?}");
        busy += statuses.iter().filter(|s| **s == 503).count();
    }
    assert!(busy > 0, "no sign-in was refused with one slot and no wait");
    drop(strict);

    // The defaults (a slot per CPU, a few seconds' wait) absorb the same burst.
    let server = env.serve_demo(&[]);
    for round in 0..ROUNDS {
        let (statuses, _) = parallel_sign_ins(&server);
        assert_eq!(statuses, vec![200; THREADS], "round {round}");
    }
}
