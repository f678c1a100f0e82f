//! The `vanthu` command line: help, configuration precedence, demo seeding, and the refusal
//! to run on development keys without saying so.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{status_json, wait_exit, Server, TestEnv};
use vanthu_domain::access::VisibleScope;
use vanthu_domain::{PageRequest, UnitCode};

#[test]
fn help_documents_every_option() {
    let env = TestEnv::new();
    let top = env.run(&["--help"]);
    assert!(top.status.success());
    let top = String::from_utf8(top.stdout).unwrap();
    for word in [
        "serve",
        "check",
        "vanthu.toml",
        "--listen",
        "VANTHU_LISTEN",
        "--data",
        "VANTHU_DATA",
        "DATABASE_URL",
        "--token-ttl",
        "--max-body",
        "--max-upload",
        "--log-format",
        "--demo",
        "--dev",
    ] {
        assert!(top.contains(word), "vanthu --help lacks {word}:\n{top}");
    }
    let serve = env.run(&["serve", "--help"]);
    assert!(serve.status.success());
    let serve = String::from_utf8(serve.stdout).unwrap();
    for word in [
        "--listen",
        "VANTHU_LISTEN",
        "--data",
        "VANTHU_DATA",
        "--database-url",
        "DATABASE_URL",
        "--config",
        "VANTHU_CONFIG",
        "--log-format",
        "VANTHU_LOG_FORMAT",
        "--token-ttl",
        "VANTHU_TOKEN_TTL",
        "--max-body",
        "VANTHU_MAX_BODY",
        "--max-upload",
        "VANTHU_MAX_UPLOAD",
        "--demo",
        "--dev",
        "127.0.0.1:8080",
        "./data",
    ] {
        assert!(
            serve.contains(word),
            "vanthu serve --help lacks {word}:\n{serve}"
        );
    }
    let check = String::from_utf8(env.run(&["check", "--help"]).stdout).unwrap();
    assert!(
        check.contains("--json") && check.contains("--data"),
        "{check}"
    );
}

#[test]
fn flags_beat_environment_beat_file() {
    let env = TestEnv::new();
    let root = env.dir.path();
    std::fs::write(
        root.join("vanthu.toml"),
        "listen = \"127.0.0.1:0\"\ndata = \"toml-data\"\ntoken_ttl = \"1h\"\n",
    )
    .unwrap();

    // Only the file: its listen address and data directory are used.
    let mut cmd = env.command();
    cmd.env_remove("VANTHU_DATA").arg("serve");
    let server = Server::start(cmd);
    assert!(root.join("toml-data").join("blobs").is_dir());
    drop(server);

    // The environment overrides the file, a flag overrides the environment.
    std::fs::write(
        root.join("vanthu.toml"),
        "listen = \"this is not an address\"\ndata = \"toml-data-2\"\n",
    )
    .unwrap();
    let mut cmd = env.command();
    cmd.env("VANTHU_LISTEN", "127.0.0.1:0")
        .env("VANTHU_DATA", root.join("env-data"))
        .args(["serve", "--data"])
        .arg(root.join("flag-data"));
    let server = Server::start(cmd);
    assert!(root.join("flag-data").join("blobs").is_dir());
    assert!(!root.join("env-data").exists());
    assert!(!root.join("toml-data-2").exists());
    drop(server);

    // --config names another file.
    let other = root.join("other.toml");
    std::fs::write(&other, "listen = \"127.0.0.1:0\"\ndata = \"other-data\"\n").unwrap();
    let mut cmd = env.command();
    cmd.env_remove("VANTHU_DATA")
        .arg("serve")
        .arg("--config")
        .arg(&other);
    let server = Server::start(cmd);
    assert!(root.join("other-data").is_dir());
    drop(server);
}

#[test]
fn bad_configuration_fails_with_one_line() {
    let env = TestEnv::new();
    std::fs::write(
        env.dir.path().join("vanthu.toml"),
        "listn = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let out = env.run(&["serve"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("listn"), "{stderr}");
    std::fs::remove_file(env.dir.path().join("vanthu.toml")).unwrap();

    for (args, needle) in [
        (vec!["serve", "--token-ttl", "soon"], "soon"),
        (vec!["serve", "--log-format", "xml"], "xml"),
    ] {
        let out = env.run(&args);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    let out = env
        .command()
        .env("DATABASE_URL", "mysql://root:hunter2@db/vanthu")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unsupported database URL"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password leaked: {stderr}");
}

/// Counts of units, users and certificates in the demo tree, read straight from the database.
#[test]
fn command_line_mistakes_fail_with_one_line() {
    let env = TestEnv::new();
    for (args, needle) in [
        (vec!["serve", "--lisen", "127.0.0.1:0"], "--lisen"),
        (vec!["verify"], "<FILE>"),
        (vec!["sign", "in.pdf"], "--output"),
        (vec!["frobnicate"], "frobnicate"),
    ] {
        let out = env.run(&args);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

fn demo_counts(env: &TestEnv) -> (u64, u64, usize) {
    let db = env.db.connect();
    let province = db
        .get_unit_by_code(&UnitCode::parse("000.00.00.H56").unwrap())
        .expect("the demo province exists");
    let scope = VisibleScope::Subtree(province.path);
    let page = PageRequest::new(1, 200).unwrap();
    (
        db.list_units(&scope, page).unwrap().total,
        db.list_users(&scope, page).unwrap().total,
        db.all_certificates().unwrap().len(),
    )
}

#[test]
fn demo_seeding_is_idempotent_and_prints_how_to_sign_in() {
    let env = TestEnv::new();
    let server = env.serve_demo(&[]);
    let printed = server.stdout_until("API documentation").join("\n");
    assert!(printed.contains("vanthu-demo"), "{printed}");
    assert!(
        printed.contains("signing PIN: 246810") && printed.contains("for show"),
        "{printed}"
    );
    assert!(
        printed.contains("district.clerk") && printed.contains("commune.admin"),
        "{printed}"
    );
    assert!(
        printed.contains(&format!(
            "curl -s -X POST {}/api/v1/auth/login",
            server.base_url
        )),
        "{printed}"
    );
    drop(server);
    let first = demo_counts(&env);
    // A province, a district with two departments and three communes; ten accounts; a seal
    // for the district and each commune plus a personal certificate for each leader.
    assert_eq!(first, (7, 10, 6));

    let server = env.serve_demo(&[]);
    server.demo_login("commune.specialist");
    drop(server);
    assert_eq!(demo_counts(&env), first);

    // Keys are stored sealed: leaders' under the demo signing PIN, seals under the
    // configured key-encryption key; never in clear, never under the login password.
    let kek = vanthu_keys::Kek::read_file(&env.kek_file()).unwrap();
    let pin = vanthu_keys::SigningPin::parse("246810").unwrap();
    let login_password = vanthu_keys::SigningPin::parse("vanthu-demo").unwrap();
    let db = env.db.connect();
    let issuer =
        openssl::x509::X509::from_pem(include_bytes!("../certs-dev/issuing-ca.pem")).unwrap();
    for certificate in db.all_certificates().unwrap() {
        let key = db.signing_key_of(certificate.owner).unwrap();
        assert_eq!(key.certificate, certificate);
        let cert = openssl::x509::X509::from_pem(certificate.cert_pem.as_bytes()).unwrap();
        let owner = match certificate.owner {
            vanthu_store::CertificateOwner::User(u) => vanthu_keys::KeyOwner::User(u),
            vanthu_store::CertificateOwner::Unit(u) => vanthu_keys::KeyOwner::Unit(u),
            vanthu_store::CertificateOwner::System => panic!("no installation keys in the demo"),
        };
        let binding = vanthu_keys::KeyBinding::new(owner, &cert.to_der().unwrap());
        let opened = match certificate.purpose {
            vanthu_store::CertificatePurpose::Personal => {
                assert!(key
                    .wrapped
                    .open_with_pin(&login_password, &binding)
                    .is_err());
                key.wrapped.open_with_pin(&pin, &binding).unwrap()
            }
            _ => key.wrapped.open_with_kek(&kek, &binding).unwrap(),
        };
        assert!(openssl::pkey::PKey::private_key_from_der(&key.wrapped.ciphertext).is_err());
        let private = openssl::pkey::PKey::private_key_from_der(opened.pkcs8_der()).unwrap();
        assert!(cert.public_key().unwrap().public_eq(&private));
        assert!(
            cert.verify(&issuer.public_key().unwrap()).unwrap(),
            "issued by the development CA"
        );
        assert_eq!(
            openssl::x509::X509::stack_from_pem(certificate.chain_pem.as_bytes()).unwrap()[0]
                .to_der()
                .unwrap(),
            issuer.to_der().unwrap()
        );
    }
}

#[test]
fn serve_needs_a_key_encryption_key_outside_the_data_directory() {
    let env = TestEnv::new();
    let refused = |configure: &dyn Fn(&mut Command)| -> String {
        let mut cmd = env.command();
        configure(&mut cmd);
        let child = cmd
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = wait_exit(child, Duration::from_secs(60));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(!out.status.success(), "{stderr}");
        assert!(!String::from_utf8(out.stdout).unwrap().contains("listening"));
        stderr.lines().last().unwrap_or_default().to_owned()
    };
    let none = refused(&|cmd| {
        cmd.env_remove("VANTHU_KEK_FILE");
    });
    assert!(
        none.contains("no key-encryption key") && none.contains("--kek-file"),
        "{none}"
    );

    std::fs::create_dir_all(env.data_dir()).unwrap();
    let inside = env.data_dir().join("kek");
    std::fs::copy(env.kek_file(), &inside).unwrap();
    let reason = refused(&|cmd| {
        cmd.env("VANTHU_KEK_FILE", &inside);
    });
    assert!(reason.contains("inside the data directory"), "{reason}");

    use std::os::unix::fs::PermissionsExt;
    let readable = env.dir.path().join("kek-readable");
    std::fs::copy(env.kek_file(), &readable).unwrap();
    std::fs::set_permissions(&readable, std::fs::Permissions::from_mode(0o644)).unwrap();
    let reason = refused(&|cmd| {
        cmd.env("VANTHU_KEK_FILE", &readable);
    });
    assert!(reason.contains("chmod 600"), "{reason}");

    let reason = refused(&|cmd| {
        cmd.env_remove("VANTHU_KEK_FILE")
            .env("VANTHU_KEK", "c2hvcnQ=");
    });
    assert!(reason.contains("VANTHU_KEK"), "{reason}");

    // The key itself in the environment works, and so does --dev without any key, with a
    // demonstration key in the data directory and a loud warning.
    let text = std::fs::read_to_string(env.kek_file()).unwrap();
    let mut cmd = env.command();
    cmd.env_remove("VANTHU_KEK_FILE")
        .env("VANTHU_KEK", text.trim());
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    let server = Server::start(cmd);
    assert!(server.stderr().contains("key-encryption key loaded"));
    drop(server);
    // The audit key was sealed under that key: another one does not open it, and says so.
    let other = env.dir.path().join("other-kek");
    let mut bytes = [0u8; 32];
    openssl::rand::rand_bytes(&mut bytes).unwrap();
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    std::fs::write(&other, format!("{encoded}\n")).unwrap();
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o600)).unwrap();
    let reason = refused(&|cmd| {
        cmd.env("VANTHU_KEK_FILE", &other);
    });
    assert!(
        reason.contains("audit key") && reason.contains("does not open"),
        "{reason}"
    );

    // In a data directory of its own: the one above holds an audit key sealed under the
    // configured key, which the demonstration key does not open.
    let dev_data = env.dir.path().join("data-dev");
    let mut cmd = env.command();
    cmd.env_remove("VANTHU_KEK_FILE")
        .env("VANTHU_DATA", &dev_data)
        .args(["serve", "--listen", "127.0.0.1:0", "--dev"]);
    let server = Server::start(cmd);
    let log = server.stderr();
    drop(server);
    assert!(log.contains("DEMO KEY-ENCRYPTION KEY"), "{log}");
    let demo_kek = dev_data.join("demo-kek");
    let mode = std::fs::metadata(&demo_kek).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let demo_text = std::fs::read_to_string(&demo_kek).unwrap();
    assert!(!log.contains(demo_text.trim()) && !log.contains(text.trim()));
}

#[test]
fn development_keys_need_demo_or_dev() {
    let env = TestEnv::new();
    drop(env.serve_demo(&[]));

    let child = env
        .command()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_exit(child, Duration::from_secs(60));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success(), "{stderr}");
    let reason = stderr.lines().last().unwrap_or_default();
    assert!(reason.contains("refusing to start"), "{stderr}");
    assert!(reason.contains("development PKI"), "{stderr}");
    assert!(reason.contains("--dev"), "{stderr}");
    assert!(!String::from_utf8(out.stdout).unwrap().contains("listening"));

    let server = env.serve(&["--dev"]);
    let (status, _) = status_json(server.client.get(server.url("/readyz")).send().unwrap());
    assert_eq!(status, 200);
    assert!(server.stderr().contains("development keys allowed"));
}

#[test]
fn seal_key_installs_an_organisations_key_under_the_kek() {
    let env = TestEnv::new();
    let db = env.db.connect();
    let unit = db
        .insert_unit(
            None,
            &vanthu_store::NewUnit {
                parent_id: None,
                code: UnitCode::parse("000.00.31.H56").unwrap(),
                name: vanthu_domain::Name::parse("Ủy ban nhân dân huyện Yên Lạc").unwrap(),
                level: vanthu_domain::UnitLevel::District,
            },
        )
        .unwrap();
    let p12 = concat!(env!("CARGO_MANIFEST_DIR"), "/../../certs-dev/seal.p12");
    let install = |code: &str, password: &str, configure: &dyn Fn(&mut Command)| {
        let mut cmd = env.command();
        configure(&mut cmd);
        cmd.args(["seal-key", "--unit", code, "--p12", p12])
            .env("VANTHU_P12_PASSWORD", password)
            .output()
            .unwrap()
    };
    let one_line_failure = |out: std::process::Output, needle: &str| {
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(!out.status.success(), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(needle), "{needle}: {stderr}");
    };
    one_line_failure(
        install("000.00.99.H56", "vanthu-dev", &|_| {}),
        "no organisation",
    );
    one_line_failure(install("000.00.31.H56", "wrong", &|_| {}), "password");
    one_line_failure(
        install("000.00.31.H56", "vanthu-dev", &|cmd| {
            cmd.env_remove("VANTHU_KEK_FILE");
        }),
        "no key-encryption key",
    );
    let owner = vanthu_store::CertificateOwner::Unit(unit.id);
    assert!(db.signing_key_of(owner).is_err(), "nothing installed yet");

    let out = install("000.00.31.H56", "vanthu-dev", &|_| {});
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("seal key of Ủy ban nhân dân huyện Yên Lạc"),
        "{stdout}"
    );
    let key = db.signing_key_of(owner).unwrap();
    let cert = openssl::x509::X509::from_pem(key.certificate.cert_pem.as_bytes()).unwrap();
    let binding = vanthu_keys::KeyBinding::new(
        vanthu_keys::KeyOwner::Unit(unit.id),
        &cert.to_der().unwrap(),
    );
    let kek = vanthu_keys::Kek::read_file(&env.kek_file()).unwrap();
    let opened = key.wrapped.open_with_kek(&kek, &binding).unwrap();
    let private = openssl::pkey::PKey::private_key_from_der(opened.pkcs8_der()).unwrap();
    assert!(cert.public_key().unwrap().public_eq(&private));
    assert!(key
        .wrapped
        .open_with_kek(&vanthu_keys::Kek::generate(), &binding)
        .is_err());
}
