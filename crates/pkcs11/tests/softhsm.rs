//! The PKCS#11 signer against a real module: SoftHSM2 with a token made for this process, the
//! development PKI's RSA-2048 and P-256 keys imported, their signatures checked by OpenSSL.

#[path = "../../../tests/common/tools.rs"]
mod tools;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use openssl::pkey::PKey;
use openssl::x509::X509;
use tools::{require, Tool};
use vanthu_pades::signer::{
    DigestAlgorithm, SignatureAlgorithm, Signer, SignerError, SignerOptions,
};
use vanthu_pkcs11::softhsm::SoftHsm;
use vanthu_pkcs11::{KeyRef, Pkcs11Error, Pkcs11Signer, Token};

const PIN: &str = "246810";
const PERSONAL_PIN: &str = "735102";

fn dev(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../certs-dev")
        .join(name)
}

fn cert(name: &str) -> X509 {
    X509::from_pem(&std::fs::read(dev(name)).unwrap()).unwrap()
}

/// This process's tokens: "vanthu-test" with the RSA and P-256 signers (certificates stored
/// beside them, and the issuing CA), a key without a certificate; "vanthu-doomed" to pull out.
struct Fixture {
    hsm: SoftHsm,
    doomed: SoftHsm,
    personal: SoftHsm,
}

fn fixture(test: &str) -> Option<&'static Fixture> {
    require(test, &[Tool::SoftHsm])?;
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    Some(FIXTURE.get_or_init(|| {
        let hsm = SoftHsm::create("vanthu-test", PIN).unwrap();
        // A second token in the same folder: SoftHSM2 lists the tokens of the folder that
        // SOFTHSM2_CONF names, so both must exist before the module loads.
        let doomed = SoftHsm::create_beside(&hsm, "vanthu-doomed", PIN).unwrap();
        // A person's own token, its user PIN theirs; only ever opened for one use.
        let personal = SoftHsm::create_beside(&hsm, "district.leader", PERSONAL_PIN).unwrap();
        hsm.use_in_this_process();
        let key =
            |name: &str| PKey::private_key_from_pem(&std::fs::read(dev(name)).unwrap()).unwrap();
        // Keys first, by softhsm2-util: a module already loaded would not see them.
        hsm.import_key("rsa", &[1], &key("signer-rsa.key")).unwrap();
        hsm.import_key("ec", &[2], &key("signer-ec.key")).unwrap();
        hsm.import_key("bare", &[3], &key("seal.key")).unwrap();
        doomed
            .import_key("rsa", &[1], &key("signer-rsa.key"))
            .unwrap();
        personal
            .import_key("district.leader", &[1], &key("signer-rsa.key"))
            .unwrap();
        hsm.store_certificate("rsa", &[1], &cert("signer-rsa.pem"))
            .unwrap();
        hsm.store_certificate("ec", &[2], &cert("signer-ec.pem"))
            .unwrap();
        hsm.store_certificate("issuing-ca", &[0x10], &cert("issuing-ca.pem"))
            .unwrap();
        Fixture {
            hsm,
            doomed,
            personal,
        }
    }))
}

fn token(f: &Fixture) -> Arc<Token> {
    Token::open(f.hsm.module(), f.hsm.label(), PIN).unwrap()
}

/// The signer of `key` on the test token, its certificate from the token.
fn open(f: &Fixture, key: KeyRef, options: SignerOptions) -> Result<Pkcs11Signer, Pkcs11Error> {
    Pkcs11Signer::open(token(f), key, None, Vec::new(), options)
}

fn verify(signer: &dyn Signer, data: &[u8], signature: &[u8]) -> bool {
    let cert = X509::from_der(signer.certificate()).unwrap();
    let key = cert.public_key().unwrap();
    let digest = signer.digest().message_digest();
    let mut v = openssl::sign::Verifier::new(digest, &key).unwrap();
    if signer.signature_algorithm() == SignatureAlgorithm::RsaPss {
        v.set_rsa_padding(openssl::rsa::Padding::PKCS1_PSS).unwrap();
        v.set_rsa_pss_saltlen(openssl::sign::RsaPssSaltlen::DIGEST_LENGTH)
            .unwrap();
        v.set_rsa_mgf1_md(digest).unwrap();
    }
    v.update(data).unwrap();
    v.verify(signature).unwrap()
}

#[test]
fn rsa_keys_sign_pkcs1_and_pss_with_the_certificate_and_chain_from_the_token() {
    let Some(f) = fixture("rsa_keys_sign_pkcs1_and_pss") else {
        return;
    };
    let signer = open(f, KeyRef::Label("rsa".into()), SignerOptions::default()).unwrap();
    assert_eq!(
        signer.signature_algorithm(),
        SignatureAlgorithm::RsaPkcs1v15
    );
    assert_eq!(
        signer.certificate(),
        cert("signer-rsa.pem").to_der().unwrap()
    );
    assert_eq!(signer.chain(), [cert("issuing-ca.pem").to_der().unwrap()]);
    let sig = signer.sign(b"to be signed").unwrap();
    assert_eq!(sig.len(), 256);
    assert!(verify(&signer, b"to be signed", &sig));
    assert!(!verify(&signer, b"to be signed!", &sig));

    let pss = open(
        f,
        KeyRef::Id(vec![1]),
        SignerOptions {
            digest: Some(DigestAlgorithm::Sha384),
            pss: true,
        },
    )
    .unwrap();
    assert_eq!(pss.signature_algorithm(), SignatureAlgorithm::RsaPss);
    let sig = pss.sign(b"pss").unwrap();
    assert!(verify(&pss, b"pss", &sig));
}

#[test]
fn p256_keys_sign_ecdsa_as_der() {
    let Some(f) = fixture("p256_keys_sign_ecdsa_as_der") else {
        return;
    };
    let signer = open(f, KeyRef::Label("ec".into()), SignerOptions::default()).unwrap();
    assert_eq!(signer.signature_algorithm(), SignatureAlgorithm::Ecdsa);
    assert_eq!(signer.digest(), DigestAlgorithm::Sha256);
    for i in 0..20u8 {
        let data = [i; 40];
        let sig = signer.sign(&data).unwrap();
        openssl::ecdsa::EcdsaSig::from_der(&sig).expect("a DER ECDSA-Sig-Value");
        assert!(sig.len() <= signer.max_signature_len());
        assert!(verify(&signer, &data, &sig));
    }
}

#[test]
fn many_threads_sign_at_once_through_the_session_pool() {
    let Some(f) = fixture("many_threads_sign_at_once") else {
        return;
    };
    let signer = open(f, KeyRef::Label("ec".into()), SignerOptions::default()).unwrap();
    std::thread::scope(|scope| {
        for t in 0..8u8 {
            let signer = &signer;
            scope.spawn(move || {
                for i in 0..10u8 {
                    let data = [t, i];
                    assert!(verify(signer, &data, &signer.sign(&data).unwrap()));
                }
            });
        }
    });
}

#[test]
fn a_wrong_pin_label_or_key_is_one_line_naming_it() {
    let Some(f) = fixture("a_wrong_pin_label_or_key") else {
        return;
    };
    let module = f.hsm.module();
    let e = Token::open(module, "no-such-token", PIN).unwrap_err();
    assert!(matches!(e, Pkcs11Error::NoToken { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("\"no-such-token\"") && text.contains("\"vanthu-test\""),
        "{text}"
    );
    let e = Token::open(module, "vanthu-doomed", "999999").unwrap_err();
    assert!(matches!(e, Pkcs11Error::WrongPin(_)), "{e}");
    assert_eq!(
        e.to_string(),
        "wrong PIN for the PKCS#11 token \"vanthu-doomed\""
    );

    let refusal = |key: KeyRef, cert: Option<Vec<u8>>| {
        Pkcs11Signer::open(token(f), key, cert, Vec::new(), SignerOptions::default())
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        refusal(KeyRef::Label("nobody".into()), None),
        "the PKCS#11 token \"vanthu-test\" holds no private key with label \"nobody\""
    );
    assert_eq!(
        refusal(KeyRef::Id(vec![0x7f]), None),
        "the PKCS#11 token \"vanthu-test\" holds no private key with id 7f"
    );
    assert!(refusal(KeyRef::Label("bare".into()), None)
        .contains("holds no certificate with label \"bare\""),);
    // The seal's key with a signer's certificate: the probe signature does not verify.
    let other = cert("signer-rsa.pem").to_der().unwrap();
    assert_eq!(
        refusal(KeyRef::Label("bare".into()), Some(other)),
        "the key with label \"bare\" on the PKCS#11 token \"vanthu-test\" does not match its certificate"
    );
    // With its own certificate given as a file, the bare key signs.
    let seal = cert("seal.pem").to_der().unwrap();
    let signer = Pkcs11Signer::open(
        token(f),
        KeyRef::Label("bare".into()),
        Some(seal),
        Vec::new(),
        SignerOptions::default(),
    )
    .unwrap();
    assert!(verify(&signer, b"x", &signer.sign(b"x").unwrap()));
    // ECDSA keys cannot do PSS: the signing rules apply to token keys as to files.
    let e = open(
        f,
        KeyRef::Label("ec".into()),
        SignerOptions {
            digest: None,
            pss: true,
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Pkcs11Error::Unusable {
                source: SignerError::PssNeedsRsa,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn a_removed_token_is_named_when_signing() {
    let Some(f) = fixture("a_removed_token_is_named_when_signing") else {
        return;
    };
    let token = Token::open(f.doomed.module(), f.doomed.label(), PIN).unwrap();
    let signer = Pkcs11Signer::open(
        token,
        KeyRef::Label("rsa".into()),
        Some(cert("signer-rsa.pem").to_der().unwrap()),
        Vec::new(),
        SignerOptions::default(),
    )
    .unwrap();
    assert!(verify(&signer, b"before", &signer.sign(b"before").unwrap()));
    f.doomed.remove().unwrap();
    let e = signer.sign(b"after").unwrap_err();
    assert_eq!(
        e.to_string(),
        "signing failed: the PKCS#11 token \"vanthu-doomed\" was removed or stopped answering"
    );
}

#[test]
fn a_token_opened_for_one_use_needs_its_pin_again_and_is_never_shared() {
    let Some(f) = fixture("a_token_opened_for_one_use") else {
        return;
    };
    let (module, label) = (f.personal.module(), f.personal.label());
    let open_signer = |token: Arc<Token>| {
        let der = cert("signer-rsa.pem").to_der().unwrap();
        Pkcs11Signer::open(
            token,
            KeyRef::Label(label.to_owned()),
            Some(der),
            Vec::new(),
            SignerOptions::default(),
        )
    };
    let wrong = Token::open_for_one_use(module, label, "000000").unwrap_err();
    assert_eq!(
        wrong.to_string(),
        format!("wrong PIN for the PKCS#11 token \"{label}\"")
    );

    let signer =
        open_signer(Token::open_for_one_use(module, label, PERSONAL_PIN).unwrap()).unwrap();
    let signature = signer.sign(b"to be signed").unwrap();
    assert!(verify(&signer, b"to be signed", &signature));
    // While it lasts, nothing else in the process opens the token: not another single use
    // (whose PIN the token, logged in already, could not check), nor a shared login.
    for busy in [
        Token::open_for_one_use(module, label, "000000").map(|_| ()),
        Token::open_for_one_use(module, label, PERSONAL_PIN).map(|_| ()),
        Token::open(module, label, "000000").map(|_| ()),
    ] {
        let Err(Pkcs11Error::Busy(named)) = busy else {
            panic!("{busy:?}");
        };
        assert_eq!(named, label);
    }
    drop(signer);

    // Logged out with the signer gone: a wrong PIN is refused again, not let through by a
    // login still held, and the right one opens it anew.
    let wrong = Token::open_for_one_use(module, label, "000000").map(|_| ());
    assert!(matches!(wrong, Err(Pkcs11Error::WrongPin(_))), "{wrong:?}");
    let again = open_signer(Token::open_for_one_use(module, label, PERSONAL_PIN).unwrap()).unwrap();
    assert!(verify(&again, b"x", &again.sign(b"x").unwrap()));

    // A token the process shares (the seal's) is not lent for one use.
    let _shared = token(f);
    let busy = Token::open_for_one_use(f.hsm.module(), f.hsm.label(), PIN).map(|_| ());
    assert!(matches!(busy, Err(Pkcs11Error::Busy(_))), "{busy:?}");
}
