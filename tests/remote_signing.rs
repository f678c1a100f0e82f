//! Remote signing at a CSC API v1.0.4 service, judged by pyHanko: `vanthu sign --csc-url`
//! against certomancer-csc-dummy (the CSC test server of pyHanko's own tests). The other way
//! round, pyHanko's CSC client against vanthu's `/csc/v1/`, is tests/csc_server.rs.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::oracles::assert_pyhanko_accepts;
use common::tools::{self, Tool, Tools};
use serde_json::{json, Value};

/// A one-page PDF saying `text`.
fn make_pdf(path: &Path, text: &str) {
    std::fs::write(path, common::one_page_pdf(text.as_bytes())).unwrap();
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// certomancer-csc-dummy on a free port, killed when dropped.
struct Certomancer {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Certomancer {
    fn start(tools: &Tools, dir: &Path) -> Certomancer {
        let port = free_port();
        let log = dir.join("certomancer.log");
        let child = Command::new(tools.python())
            .arg(tools::workspace().join("tests/interop/certomancer_csc.py"))
            .arg(dir)
            .arg(port.to_string())
            .stdout(Stdio::from(
                std::fs::File::create(dir.join("certomancer.out")).unwrap(),
            ))
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .expect("start certomancer-csc-dummy");
        let server = Certomancer {
            child,
            url: format!("http://localhost:{port}"),
            log,
        };
        let client = reqwest::blocking::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while client
            .post(format!("{}/csc/v1/info", server.url))
            .json(&json!({}))
            .send()
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "certomancer-csc-dummy did not start: {}",
                std::fs::read_to_string(&server.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }

    /// The root of the credential's chain, written as PEM for pyHanko.
    fn root_of(&self, credential: &str, dir: &Path) -> PathBuf {
        let info: Value = reqwest::blocking::Client::new()
            .post(format!("{}/csc/v1/credentials/info", self.url))
            .json(&json!({ "credentialID": credential, "certificates": "chain" }))
            .send()
            .and_then(|r| r.json())
            .expect("credentials/info");
        let certificates = info["cert"]["certificates"].as_array().unwrap();
        let der = STANDARD
            .decode(certificates.last().unwrap().as_str().unwrap())
            .unwrap();
        let pem = openssl::x509::X509::from_der(&der)
            .unwrap()
            .to_pem()
            .unwrap();
        let path = dir.join("certomancer-root.pem");
        std::fs::write(&path, pem).unwrap();
        path
    }

    /// How many times `method` was called, from the server's access log.
    fn calls(&self, method: &str) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .matches(&format!("POST /csc/v1/{method} "))
            .count()
    }
}

impl Drop for Certomancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn vanthu_signs_at_a_csc_service_one_approval_per_batch_and_pyhanko_accepts_the_files() {
    let Some(tools) = tools::require(
        "vanthu_signs_at_a_csc_service_one_approval_per_batch_and_pyhanko_accepts_the_files",
        &[Tool::PyHanko],
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let csc = Certomancer::start(&tools, dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();

    for (credential, files) in [("vanthu-test/signer-ec", 3), ("vanthu-test/signer-rsa", 2)] {
        let inputs: Vec<PathBuf> = (0..files)
            .map(|i| {
                let path = dir.path().join(format!("{}-{i}.pdf", &credential[12..]));
                make_pdf(&path, &format!("Cong van {i}"));
                path
            })
            .collect();
        let before = csc.calls("credentials/authorize");
        let output = Command::new(env!("CARGO_BIN_EXE_vanthu"))
            .arg("sign")
            .args(&inputs)
            .arg("--out-dir")
            .arg(&out)
            .args(["--jobs", &files.to_string()])
            .args(["--csc-url", &csc.url, "--csc-credential", credential])
            .output()
            .expect("run vanthu sign");
        assert!(
            output.status.success(),
            "vanthu sign --csc-url: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        // All the files of the run were approved together.
        assert_eq!(
            csc.calls("credentials/authorize") - before,
            1,
            "one authorization for {files} files"
        );
        let root = csc.root_of(credential, dir.path());
        for input in &inputs {
            let signed = out.join(input.file_name().unwrap());
            assert_pyhanko_accepts(&tools, &signed, &root);
        }
    }
    assert_eq!(
        csc.calls("signatures/signHash"),
        2,
        "one signHash per batch"
    );

    // A credential the service does not have: one line, no file.
    let input = dir.path().join("lost.pdf");
    make_pdf(&input, "lost");
    let output = Command::new(env!("CARGO_BIN_EXE_vanthu"))
        .arg("sign")
        .arg(&input)
        .arg("-o")
        .arg(out.join("lost.pdf"))
        .args([
            "--csc-url",
            &csc.url,
            "--csc-credential",
            "vanthu-test/nobody",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("vanthu-test/nobody"), "{stderr}");
    assert!(!out.join("lost.pdf").exists());
}
