//! `vanthu sign` with keys in a PKCS#11 token: a SoftHSM2 token made for this test process,
//! holding the development PKI's RSA-2048 and P-256 signers (keys, certificates and the
//! issuing CA, as a token handed out by a certification authority holds them). The signed PDFs
//! are judged by pyHanko and poppler's pdfsig; the failures a user meets (wrong PIN, token,
//! key or module) are one line each and leave no file behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::oracles;
use common::token::{self, common_name, dev_cert, token, PIN, SPARE_TOKEN, TOKEN};
use common::tools::{require, Tool, Tools};
use serde_json::Value;

fn cert_path(name: &str) -> String {
    token::dev_file(name)
}

/// `vanthu ARGS` seeing the token, with `pin` in VANTHU_PKCS11_PIN (none when `None`).
fn vanthu(args: &[&str], pin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vanthu"));
    token::with_token(cmd.args(args), "VANTHU_PKCS11_PIN", pin)
        .output()
        .expect("run vanthu")
}

fn make_input(dir: &Path, name: &str) -> PathBuf {
    token::one_page_pdf_file(dir, name)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `sign INPUT --output OUTPUT --pkcs11-module MODULE --token-label LABEL`, for the key
/// options to follow.
fn sign_args<'a>(
    input: &'a Path,
    output: &'a Path,
    module: &'a str,
    label: &'a str,
) -> Vec<&'a str> {
    vec![
        "sign",
        p(input),
        "--output",
        p(output),
        "--pkcs11-module",
        module,
        "--token-label",
        label,
    ]
}

/// pyHanko's verdict on the one signature of `file`, which must be sound and trusted under
/// the development root; and poppler's, which must agree with `vanthu verify`.
#[track_caller]
fn assert_valid(tools: &Tools, file: &Path, signer: &str) {
    let root = cert_path("root-ca.pem");
    let report = oracles::pyhanko_report(tools, file, Path::new(&root));
    let sigs = report["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 1, "{report}");
    for key in ["bottom_line", "intact", "valid", "trusted"] {
        assert_eq!(sigs[0][key], true, "{key} of {}: {report}", file.display());
    }
    let out = vanthu(
        &[
            "verify",
            p(file),
            "--json",
            "--offline",
            "--trust",
            &cert_path("root-ca.pem"),
        ],
        None,
    );
    let ours: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    oracles::assert_pdfsig_agrees(file, &ours);
    let poppler = oracles::pdfsig(file);
    assert_eq!(poppler[0].signer, signer, "{poppler:?}");
}

/// The token and the validators every signing test here consults.
const VALIDATORS: [Tool; 3] = [Tool::SoftHsm, Tool::PyHanko, Tool::Pdfsig];

/// What a test starts from: the tools, the token's module, a folder with a PDF to sign.
struct Setup {
    tools: Tools,
    module: String,
    dir: tempfile::TempDir,
    input: PathBuf,
}

/// The [`Setup`] of `test`; `None` when a tool is missing (and not required).
fn setup(test: &str, needs: &[Tool]) -> Option<Setup> {
    let tools = require(test, needs)?;
    let dir = tempfile::tempdir().unwrap();
    let input = make_input(dir.path(), "input.pdf");
    Some(Setup {
        tools,
        module: token().module().display().to_string(),
        dir,
        input,
    })
}

#[test]
fn rsa_pkcs1_pss_and_p256_token_keys_sign_pdfs_that_pyhanko_and_pdfsig_accept() {
    let Some(Setup {
        tools,
        module,
        dir,
        input,
    }) = setup("token_keys_sign_pdfs", &VALIDATORS)
    else {
        return;
    };
    let cases: [(&str, &[&str], &str); 3] = [
        ("rsa.pdf", &["--key-label", "rsa"], "signer-rsa.pem"),
        (
            "rsa-pss.pdf",
            &["--key-id", "01", "--pss", "--digest", "sha512"],
            "signer-rsa.pem",
        ),
        ("ec.pdf", &["--key-label", "ec"], "signer-ec.pem"),
    ];
    for (name, key, _) in &cases {
        let output = dir.path().join(name);
        let mut args = sign_args(&input, &output, &module, TOKEN);
        args.extend_from_slice(key);
        let out = vanthu(&args, Some(PIN));
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for (name, _, certificate) in &cases {
        let signer = common_name(&dev_cert(certificate));
        assert_valid(&tools, &dir.path().join(name), &signer);
    }

    // Many files in one run share the token's login and its pool of sessions.
    let out_dir = dir.path().join("batch");
    std::fs::create_dir(&out_dir).unwrap();
    let inputs: Vec<PathBuf> = (0..6)
        .map(|i| make_input(dir.path(), &format!("letter-{i}.pdf")))
        .collect();
    let mut args = vec![
        "sign",
        "--out-dir",
        p(&out_dir),
        "--jobs",
        "3",
        "--pkcs11-module",
        &module,
        "--token-label",
        TOKEN,
        "--key-label",
        "ec",
    ];
    args.extend(inputs.iter().map(|i| p(i)));
    let out = vanthu(&args, Some(PIN));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ec_cn = common_name(&dev_cert("signer-ec.pem"));
    for input in &inputs {
        assert_valid(&tools, &out_dir.join(input.file_name().unwrap()), &ec_cn);
    }
}

#[test]
fn a_certificate_file_stands_in_for_the_one_the_token_lacks() {
    let Some(Setup {
        tools,
        module,
        dir,
        input,
    }) = setup("a_certificate_file_stands_in", &VALIDATORS)
    else {
        return;
    };
    let output = dir.path().join("sealed.pdf");
    let mut base = sign_args(&input, &output, &module, TOKEN);
    base.extend(["--key-id", "03"]);
    let out = vanthu(&base, Some(PIN));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!(
            "vanthu: the PKCS#11 token \"{TOKEN}\" holds no certificate with id 03: give the \
             certificate file"
        )
    );
    let seal = cert_path("seal.pem");
    let chain = cert_path("issuing-ca.pem");
    let out = vanthu(
        &[&base[..], &["--cert", &seal, "--chain", &chain]].concat(),
        Some(PIN),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_valid(&tools, &output, &common_name(&dev_cert("seal.pem")));
}

#[test]
fn a_wrong_pin_token_key_or_module_is_one_line_and_writes_nothing() {
    let Some(Setup {
        module, dir, input, ..
    }) = setup("a_wrong_pin_token_key_or_module", &[Tool::SoftHsm])
    else {
        return;
    };
    let output = dir.path().join("out.pdf");
    let run = |module: &str, token_label: &str, key: &str, pin: Option<&str>| {
        let mut args = sign_args(&input, &output, module, token_label);
        args.extend(["--key-label", key]);
        let out = vanthu(&args, pin);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert!(!output.exists(), "a failed run left {}", output.display());
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        stderr.trim().to_owned()
    };
    assert_eq!(
        run(&module, TOKEN, "rsa", Some("000000")),
        format!("vanthu: wrong PIN for the PKCS#11 token \"{TOKEN}\"")
    );
    assert_eq!(
        run(&module, TOKEN, "rsa", None),
        format!(
            "vanthu: no PIN for the PKCS#11 token \"{TOKEN}\": set the environment variable \
             VANTHU_PKCS11_PIN"
        )
    );
    // The tokens present are named, in the module's slot order.
    let line = run(&module, "pulled-out", "rsa", Some(PIN));
    let seen = line
        .strip_prefix("vanthu: no PKCS#11 token labelled \"pulled-out\" is present (tokens seen: ")
        .and_then(|rest| rest.strip_suffix("); is it plugged in?"))
        .unwrap_or_else(|| panic!("{line}"));
    let mut seen: Vec<&str> = seen.split(", ").collect();
    seen.sort_unstable();
    assert_eq!(seen, [format!("\"{TOKEN}\""), format!("\"{SPARE_TOKEN}\"")]);
    assert_eq!(
        run(&module, TOKEN, "nobody", Some(PIN)),
        format!("vanthu: the PKCS#11 token \"{TOKEN}\" holds no private key with label \"nobody\"")
    );
    let missing = dir.path().join("libvendor-pkcs11.so");
    let line = run(p(&missing), TOKEN, "rsa", Some(PIN));
    assert!(
        line.starts_with(&format!(
            "vanthu: cannot load the PKCS#11 module {}: ",
            missing.display()
        )),
        "{line}"
    );
    // A PIN is never taken from the command line, and a module excludes the other key sources.
    let mut args = sign_args(&input, &output, &module, TOKEN);
    let p12 = cert_path("signer-rsa.p12");
    args.extend(["--key-label", "rsa", "--p12", &p12]);
    let out = vanthu(&args, Some(PIN));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
    assert!(!output.exists());
}

#[test]
fn a_revoked_certificate_refuses_to_sign_saying_since_when() {
    let Some(Setup {
        module, dir, input, ..
    }) = setup("a_revoked_certificate_refuses_to_sign", &[Tool::SoftHsm])
    else {
        return;
    };
    let output = dir.path().join("out.pdf");
    let crls = token::dev_file("");
    let run = |key: &str, extra: &[&str]| {
        let mut args = sign_args(&input, &output, &module, TOKEN);
        args.extend(["--key-label", key, "--check-revocation"]);
        args.extend_from_slice(extra);
        vanthu(&args, Some(PIN))
    };
    let out = run("revoked", &["--revocation", &crls]);
    assert_eq!(out.status.code(), Some(2));
    let line = String::from_utf8(out.stderr).unwrap();
    let revoked_cn = common_name(&dev_cert("revoked.pem"));
    assert!(
        line.starts_with("vanthu: refusing to sign: the certificate of ")
            && line.contains(&revoked_cn)
            && line.contains(" was revoked on 20")
            && line.contains("(according to its crl)"),
        "{line}"
    );
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(!output.exists());

    // A good certificate signs; without revocation data, hard-fail refuses and says so.
    let out = run("rsa", &["--revocation", &crls, "--revocation-hard-fail"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(&output).unwrap();
    let empty = dir.path().join("no-crls");
    std::fs::create_dir(&empty).unwrap();
    let out = run(
        "rsa",
        &["--revocation", p(&empty), "--revocation-hard-fail"],
    );
    assert_eq!(out.status.code(), Some(2));
    let line = String::from_utf8(out.stderr).unwrap();
    assert!(
        line.starts_with("vanthu: refusing to sign: no revocation data (CRL or OCSP) found for"),
        "{line}"
    );
    assert!(!output.exists());
    let out = run("rsa", &["--revocation", p(&empty)]);
    assert!(
        out.status.success(),
        "soft fail signs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
