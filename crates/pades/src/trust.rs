//! Trust anchors, certification path validation at a point in time (RFC 5280 through OpenSSL),
//! revocation status from CRLs and OCSP responses, and key-usage rules for signers and
//! time-stamping authorities.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use chrono::{DateTime, Utc};
use openssl::asn1::Asn1TimeRef;
use openssl::hash::MessageDigest;
use openssl::ocsp::{OcspCertId, OcspCertStatus, OcspFlag, OcspResponse, OcspResponseStatus};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{CrlStatus, X509Crl, X509StoreContext, X509};
use x509_parser::prelude::FromDer;

use crate::certificate::{is_self_issued, issued_by, names_equal, parse_certificates};
// Kept at this path for callers: the helpers live in `certificate` now.
pub use crate::certificate::{display_name, subject_label};

/// Most anchors read from one folder.
const MAX_ANCHOR_FILES: usize = 10_000;

// OpenSSL X509_V_ERR_* codes (stable across OpenSSL versions).
const ERR_UNABLE_TO_GET_ISSUER_CERT: i32 = 2;
const ERR_CERT_SIGNATURE_FAILURE: i32 = 7;
const ERR_CERT_NOT_YET_VALID: i32 = 9;
const ERR_CERT_HAS_EXPIRED: i32 = 10;
const ERR_DEPTH_ZERO_SELF_SIGNED_CERT: i32 = 18;
const ERR_SELF_SIGNED_CERT_IN_CHAIN: i32 = 19;
const ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: i32 = 20;
const ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: i32 = 21;

/// Failures reading trust anchors.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// A file or folder could not be read.
    #[error("cannot read trust anchors from {path}: {reason}")]
    Read {
        /// The path given.
        path: String,
        /// Why.
        reason: String,
    },
}

/// The certificates a verifier trusts as path ends (roots, or any CA the operator chooses),
/// each optionally in a named trust list (a trust domain such as `public` for the National
/// Root CA of NEAC, or `government` for the Government Certification Authority of Ban Cơ
/// yếu Chính phủ), so that a report can say which domain a signer's path ended in.
#[derive(Clone, Default)]
pub struct TrustAnchors {
    certs: Vec<X509>,
    /// The DER of each of `certs`, in the same order, for comparisons.
    ders: Vec<Vec<u8>>,
    /// The trust list of each of `certs`, in the same order; `None` for anchors given
    /// without one (`--trust`).
    domains: Vec<Option<String>>,
}

impl std::fmt::Debug for TrustAnchors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self
            .certs
            .iter()
            .map(|c| display_name(c.subject_name()))
            .collect();
        f.debug_struct("TrustAnchors")
            .field("subjects", &names)
            .finish()
    }
}

impl TrustAnchors {
    /// No anchors: every signature is untrusted.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Adds the certificates of a PEM bundle (or one DER certificate) held in memory.
    pub fn add_bytes(&mut self, bytes: &[u8]) -> Result<usize, &'static str> {
        let certs = parse_certificates(bytes)?;
        let n = certs.len();
        for c in certs {
            self.add(c);
        }
        Ok(n)
    }

    /// Adds one certificate (ignored when already present).
    pub fn add(&mut self, cert: X509) {
        self.add_in(cert, None);
    }

    /// Adds one certificate to trust list `domain` (`None`: to no list). A certificate
    /// already present keeps the list it came with.
    fn add_in(&mut self, cert: X509, domain: Option<&str>) {
        let Ok(der) = cert.to_der() else { return };
        if !self.ders.contains(&der) {
            self.certs.push(cert);
            self.ders.push(der);
            self.domains.push(domain.map(str::to_owned));
        }
    }

    /// Adds the certificates of a file or folder (as [`TrustAnchors::add_path`]) as the
    /// trust list `domain`.
    pub fn add_domain_path(&mut self, domain: &str, path: &Path) -> Result<usize, TrustError> {
        let list = Self::from_path(path)?;
        let n = list.len();
        for cert in list.certs {
            self.add_in(cert, Some(domain));
        }
        Ok(n)
    }

    /// The trust list `anchor` belongs to, when it is an anchor given in one.
    pub fn domain_of(&self, anchor: &X509) -> Option<&str> {
        let der = anchor.to_der().ok()?;
        let i = self.ders.iter().position(|d| *d == der)?;
        self.domains[i].as_deref()
    }

    /// Adds a PEM bundle file, or every certificate file (.pem .crt .cer .der) in a folder.
    pub fn add_path(&mut self, path: &Path) -> Result<usize, TrustError> {
        let err = |reason: String| TrustError::Read {
            path: path.display().to_string(),
            reason,
        };
        if path.is_dir() {
            let mut files: Vec<_> = std::fs::read_dir(path)
                .map_err(|e| err(e.to_string()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                        matches!(
                            e.to_ascii_lowercase().as_str(),
                            "pem" | "crt" | "cer" | "der"
                        )
                    })
                })
                .take(MAX_ANCHOR_FILES)
                .collect();
            files.sort();
            let mut n = 0;
            for f in files {
                n += self.add_path(&f)?;
            }
            if n == 0 {
                return Err(err("no certificates in the folder".into()));
            }
            Ok(n)
        } else {
            let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
            self.add_bytes(&bytes).map_err(|r| err(r.to_string()))
        }
    }

    /// Anchors from a file or folder.
    pub fn from_path(path: &Path) -> Result<Self, TrustError> {
        let mut a = Self::empty();
        a.add_path(path)?;
        Ok(a)
    }

    /// Number of anchors.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// No anchors at all.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    /// The anchor certificates.
    pub fn certificates(&self) -> &[X509] {
        &self.certs
    }

    fn contains(&self, cert: &X509) -> bool {
        cert.to_der().is_ok_and(|der| self.ders.contains(&der))
    }
}

/// Outcome of building and validating a certification path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathStatus {
    /// A path to an anchor exists and every certificate is valid at the time asked.
    Valid,
    /// No path to any anchor (unknown issuer, self-signed, no anchors).
    NoChain(String),
    /// A certificate of the path had expired at the time asked.
    Expired(String),
    /// A certificate of the path was not yet valid at the time asked.
    NotYetValid(String),
    /// Any other path failure (bad signature on a certificate, constraints).
    Invalid(String),
}

/// A validated (or failed) path.
#[derive(Clone, Debug)]
pub struct PathValidation {
    /// The path from the leaf to the anchor when one was built (leaf first).
    pub chain: Vec<X509>,
    /// Result.
    pub status: PathStatus,
    /// The trust list of the anchor a valid path ended in, when it was given in one.
    pub domain: Option<String>,
}

/// Builds a path from `leaf` to one of `anchors`, using `intermediates` as untrusted helpers,
/// and validates it at `at` (certificate validity periods are judged at that moment).
pub fn validate_path(
    anchors: &TrustAnchors,
    leaf: &X509,
    intermediates: &[X509],
    at: DateTime<Utc>,
) -> PathValidation {
    let fail = |status| PathValidation {
        chain: vec![leaf.clone()],
        status,
        domain: None,
    };
    if anchors.is_empty() {
        return fail(PathStatus::NoChain("no trust anchors configured".into()));
    }
    let run = || -> Result<PathValidation, openssl::error::ErrorStack> {
        let mut store = X509StoreBuilder::new()?;
        for a in &anchors.certs {
            store.add_cert(a.clone())?;
        }
        let mut param = X509VerifyParam::new()?;
        param.set_time(at.timestamp() as _);
        // Any configured certificate may end a path, not only self-signed roots.
        param.set_flags(X509VerifyFlags::PARTIAL_CHAIN | X509VerifyFlags::USE_CHECK_TIME)?;
        store.set_param(&param)?;
        let store = store.build();
        let mut untrusted = Stack::new()?;
        for c in intermediates {
            untrusted.push(c.clone())?;
        }
        let mut ctx = X509StoreContext::new()?;
        ctx.init(&store, leaf, &untrusted, |ctx| {
            let ok = ctx.verify_cert()?;
            let chain: Vec<X509> = ctx
                .chain()
                .map(|s| s.iter().map(|c| c.to_owned()).collect())
                .unwrap_or_else(|| vec![leaf.clone()]);
            let status = if ok {
                PathStatus::Valid
            } else {
                let err = ctx.error();
                let subject = ctx
                    .current_cert()
                    .map(|c| display_name(c.subject_name()))
                    .unwrap_or_default();
                let text = format!("{} ({subject})", err.error_string());
                match err.as_raw() {
                    ERR_CERT_HAS_EXPIRED => PathStatus::Expired(text),
                    ERR_CERT_NOT_YET_VALID => PathStatus::NotYetValid(text),
                    ERR_UNABLE_TO_GET_ISSUER_CERT
                    | ERR_DEPTH_ZERO_SELF_SIGNED_CERT
                    | ERR_SELF_SIGNED_CERT_IN_CHAIN
                    | ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
                    | ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE => PathStatus::NoChain(text),
                    ERR_CERT_SIGNATURE_FAILURE => PathStatus::Invalid(text),
                    _ => PathStatus::Invalid(text),
                }
            };
            let domain = match status {
                PathStatus::Valid => chain
                    .last()
                    .and_then(|anchor| anchors.domain_of(anchor))
                    .map(str::to_owned),
                _ => None,
            };
            Ok(PathValidation {
                chain,
                status,
                domain,
            })
        })
    };
    run().unwrap_or_else(|e| fail(PathStatus::Invalid(e.to_string())))
}

/// Revocation state of one certificate at a point in time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevocationStatus {
    /// Not revoked according to `source` ("crl" or "ocsp").
    Good {
        /// Which kind of data said so.
        source: &'static str,
        /// Revoked after the time asked (the signature predates it).
        revoked_later: Option<DateTime<Utc>>,
    },
    /// Revoked at `time`, on or before the time asked.
    Revoked {
        /// Revocation time.
        time: DateTime<Utc>,
        /// Which kind of data said so.
        source: &'static str,
    },
    /// No usable CRL or OCSP response covers the certificate.
    Unknown,
}

/// The revocation state of one certificate of a path.
#[derive(Clone, Debug)]
pub struct CertificateRevocation {
    /// Subject of the certificate.
    pub subject: String,
    /// What the data says.
    pub status: RevocationStatus,
}

/// OpenSSL prints every ASN.1 time as "Mmm dd hh:mm:ss yyyy GMT"; both UTCTime and
/// GeneralizedTime go through that text since openssl-rs offers no direct conversion for the
/// latter.
fn openssl_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim().trim_end_matches(" GMT");
    chrono::NaiveDateTime::parse_from_str(text, "%b %e %H:%M:%S %Y")
        .ok()
        .map(|n| n.and_utc())
}

fn asn1_to_chrono(t: &Asn1TimeRef) -> Option<DateTime<Utc>> {
    openssl_time(&t.to_string())
}

/// Checks each certificate of `chain` (leaf first; the anchor and self-issued certificates are
/// skipped) against the CRLs and OCSP responses given, as of `at`.
pub fn check_revocation(
    chain: &[X509],
    anchors: &TrustAnchors,
    crls: &[Vec<u8>],
    ocsps: &[Vec<u8>],
    at: DateTime<Utc>,
) -> Vec<CertificateRevocation> {
    let parsed_crls: Vec<X509Crl> = crls
        .iter()
        .filter_map(|c| X509Crl::from_der(c).ok())
        .collect();
    let parsed_ocsps: Vec<OcspResponse> = ocsps
        .iter()
        .filter_map(|o| OcspResponse::from_der(o).ok())
        .filter(|o| o.status() == OcspResponseStatus::SUCCESSFUL)
        .collect();
    let mut out = Vec::new();
    for (i, cert) in chain.iter().enumerate() {
        if is_self_issued(cert) || (anchors.contains(cert) && i + 1 == chain.len()) {
            continue;
        }
        let Some(issuer) = chain.get(i + 1).filter(|iss| issued_by_cached(cert, iss)) else {
            out.push(CertificateRevocation {
                subject: display_name(cert.subject_name()),
                status: RevocationStatus::Unknown,
            });
            continue;
        };
        let status = ocsp_status(cert, issuer, chain, anchors, &parsed_ocsps, at)
            .or_else(|| crl_status(cert, issuer, &parsed_crls, at))
            .unwrap_or(RevocationStatus::Unknown);
        out.push(CertificateRevocation {
            subject: display_name(cert.subject_name()),
            status,
        });
    }
    out
}

/// Most certificate pairs [`issued_by_cached`] remembers; it starts over when full.
const MAX_CACHED_ISSUERS: usize = 1024;

/// [`issued_by`] remembered per exact pair of certificates (keyed by both DER encodings): the
/// signature check behind it is an OpenSSL verification each time, and the same signer and CA
/// pairs come back document after document.
fn issued_by_cached(cert: &X509, issuer: &X509) -> bool {
    type Pairs = HashMap<(Vec<u8>, Vec<u8>), bool>;
    static CACHE: OnceLock<Mutex<Pairs>> = OnceLock::new();
    let (Ok(cert_der), Ok(issuer_der)) = (cert.to_der(), issuer.to_der()) else {
        return issued_by(cert, issuer);
    };
    let cache = CACHE.get_or_init(Mutex::default);
    let lock = || {
        cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    let key = (cert_der, issuer_der);
    if let Some(known) = lock().get(&key) {
        return *known;
    }
    let result = issued_by(cert, issuer);
    let mut map = lock();
    if map.len() >= MAX_CACHED_ISSUERS {
        map.clear();
    }
    map.insert(key, result);
    result
}

fn judge(
    revoked_at: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
    source: &'static str,
) -> RevocationStatus {
    match revoked_at {
        Some(t) if t <= at => RevocationStatus::Revoked { time: t, source },
        later => RevocationStatus::Good {
            source,
            revoked_later: later,
        },
    }
}

fn crl_status(
    cert: &X509,
    issuer: &X509,
    crls: &[X509Crl],
    at: DateTime<Utc>,
) -> Option<RevocationStatus> {
    let key = issuer.public_key().ok()?;
    let mut found = None;
    for crl in crls {
        if !names_equal(crl.issuer_name(), cert.issuer_name()) || !crl.verify(&key).unwrap_or(false)
        {
            continue;
        }
        match crl.get_by_serial(cert.serial_number()) {
            CrlStatus::Revoked(r) | CrlStatus::RemoveFromCrl(r) => {
                let status = judge(asn1_to_chrono(r.revocation_date()), at, "crl");
                if matches!(status, RevocationStatus::Revoked { .. }) {
                    return Some(status);
                }
                found = Some(status);
            }
            CrlStatus::NotRevoked => {
                found.get_or_insert(RevocationStatus::Good {
                    source: "crl",
                    revoked_later: None,
                });
            }
        }
    }
    found
}

fn ocsp_status(
    cert: &X509,
    issuer: &X509,
    chain: &[X509],
    anchors: &TrustAnchors,
    responses: &[OcspResponse],
    at: DateTime<Utc>,
) -> Option<RevocationStatus> {
    let mut certs = Stack::new().ok()?;
    for c in chain {
        certs.push(c.clone()).ok()?;
    }
    let mut store = X509StoreBuilder::new().ok()?;
    for a in anchors.certificates() {
        store.add_cert(a.clone()).ok()?;
    }
    store.add_cert(issuer.clone()).ok()?;
    let store = store.build();
    for resp in responses {
        let Ok(basic) = resp.basic() else { continue };
        // The responder is the issuer or a delegate it certified for OCSP signing.
        if basic.verify(&certs, &store, OcspFlag::empty()).is_err() {
            continue;
        }
        for md in [MessageDigest::sha1(), MessageDigest::sha256()] {
            let Ok(id) = OcspCertId::from_cert(md, cert, issuer) else {
                continue;
            };
            let Some(status) = basic.find_status(&id) else {
                continue;
            };
            return Some(match status.status {
                OcspCertStatus::GOOD => RevocationStatus::Good {
                    source: "ocsp",
                    revoked_later: None,
                },
                OcspCertStatus::REVOKED => {
                    let when = status
                        .revocation_time
                        .and_then(|t| openssl_time(&t.to_string()));
                    judge(when.or(Some(DateTime::<Utc>::MIN_UTC)), at, "ocsp")
                }
                _ => RevocationStatus::Unknown,
            });
        }
    }
    None
}

/// What a certificate is used for, for key-usage checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usage {
    /// Signing documents: digitalSignature or nonRepudiation when keyUsage is present.
    DocumentSigning,
    /// Time-stamping: extended key usage timeStamping (RFC 3161 2.3).
    TimeStamping,
}

/// Checks key usage and extended key usage for `usage`; the error says what is missing.
pub fn check_usage(cert: &X509, usage: Usage) -> Result<(), String> {
    let der = cert.to_der().map_err(|e| e.to_string())?;
    let (_, parsed) =
        x509_parser::certificate::X509Certificate::from_der(&der).map_err(|e| e.to_string())?;
    let ku = parsed.key_usage().map_err(|e| e.to_string())?;
    let eku = parsed.extended_key_usage().map_err(|e| e.to_string())?;
    match usage {
        Usage::DocumentSigning => {
            if let Some(ku) = ku {
                if !ku.value.digital_signature() && !ku.value.non_repudiation() {
                    return Err("the certificate's key usage does not allow signing".into());
                }
            }
            Ok(())
        }
        Usage::TimeStamping => match eku {
            Some(e) if e.value.time_stamping => Ok(()),
            _ => Err(
                "the time-stamp authority's certificate lacks the timeStamping extended key usage"
                    .into(),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signer::tests::dev;

    fn cert(name: &str) -> X509 {
        X509::from_pem(&std::fs::read(dev(name)).unwrap()).unwrap()
    }

    #[test]
    fn remembered_issuers_give_the_same_answers() {
        let (signer, ca, root) = (
            cert("signer-rsa.pem"),
            cert("issuing-ca.pem"),
            cert("root-ca.pem"),
        );
        for _ in 0..2 {
            assert!(issued_by_cached(&signer, &ca));
            assert!(issued_by_cached(&ca, &root));
            assert!(!issued_by_cached(&ca, &signer));
            assert!(!issued_by_cached(&signer, &root));
            assert!(!issued_by_cached(&signer, &signer));
        }
    }

    fn anchors() -> TrustAnchors {
        TrustAnchors::from_path(&dev("root-ca.pem")).unwrap()
    }

    #[test]
    fn a_valid_path_names_the_trust_list_of_its_anchor() {
        let leaf = cert("signer-rsa.pem");
        let inter = [cert("issuing-ca.pem")];
        assert_eq!(
            validate_path(&anchors(), &leaf, &inter, Utc::now()).domain,
            None,
            "an anchor of --trust is in no list"
        );
        let mut listed = TrustAnchors::empty();
        assert_eq!(
            listed
                .add_domain_path("government", &dev("root-ca.pem"))
                .unwrap(),
            1
        );
        // The same root given again without a list keeps its list.
        listed.add_path(&dev("root-ca.pem")).unwrap();
        assert_eq!(listed.len(), 1);
        let path = validate_path(&listed, &leaf, &inter, Utc::now());
        assert_eq!(path.status, PathStatus::Valid);
        assert_eq!(path.domain.as_deref(), Some("government"));
        let past = validate_path(
            &listed,
            &leaf,
            &inter,
            Utc::now() - chrono::Duration::days(3650),
        );
        assert_eq!(past.domain, None, "no valid path, no domain");
        assert!(listed
            .add_domain_path("public", &dev("no-such-folder"))
            .is_err());
    }

    #[test]
    fn dev_signer_chains_to_root_now_but_not_before_or_after_validity() {
        let leaf = cert("signer-rsa.pem");
        let inter = [cert("issuing-ca.pem")];
        let ok = validate_path(&anchors(), &leaf, &inter, Utc::now());
        assert_eq!(ok.status, PathStatus::Valid);
        assert_eq!(ok.chain.len(), 3);
        let past = validate_path(
            &anchors(),
            &leaf,
            &inter,
            DateTime::from_timestamp(0, 0).unwrap(),
        );
        assert!(
            matches!(past.status, PathStatus::NotYetValid(_)),
            "{:?}",
            past.status
        );
        let future = validate_path(
            &anchors(),
            &leaf,
            &inter,
            Utc::now() + chrono::Duration::days(365 * 30),
        );
        assert!(
            matches!(future.status, PathStatus::Expired(_)),
            "{:?}",
            future.status
        );
    }

    #[test]
    fn missing_intermediate_or_anchor_means_no_chain() {
        let leaf = cert("signer-rsa.pem");
        let r = validate_path(&anchors(), &leaf, &[], Utc::now());
        assert!(matches!(r.status, PathStatus::NoChain(_)), "{:?}", r.status);
        let r = validate_path(
            &TrustAnchors::empty(),
            &leaf,
            &[cert("issuing-ca.pem")],
            Utc::now(),
        );
        assert!(matches!(r.status, PathStatus::NoChain(_)));
        let root = cert("root-ca.pem");
        let self_signed = validate_path(
            &TrustAnchors::from_path(&dev("issuing-ca.pem")).unwrap(),
            &root,
            &[],
            Utc::now(),
        );
        assert!(
            matches!(self_signed.status, PathStatus::NoChain(_)),
            "{:?}",
            self_signed.status
        );
    }

    #[test]
    fn anchors_from_folder_and_intermediate_anchor() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(dev("issuing-ca.pem"), dir.path().join("a.pem")).unwrap();
        std::fs::write(dir.path().join("readme.txt"), "x").unwrap();
        let a = TrustAnchors::from_path(dir.path()).unwrap();
        assert_eq!(a.len(), 1);
        let r = validate_path(&a, &cert("seal.pem"), &[], Utc::now());
        assert_eq!(r.status, PathStatus::Valid);
        assert!(TrustAnchors::from_path(&dev("nope.pem")).is_err());
    }

    #[test]
    fn crl_says_revoked_for_the_revoked_signer_only() {
        let crls = vec![
            std::fs::read(dev("issuing-ca.crl")).unwrap(),
            std::fs::read(dev("root-ca.crl")).unwrap(),
        ];
        let inter = [cert("issuing-ca.pem")];
        let path = validate_path(&anchors(), &cert("revoked.pem"), &inter, Utc::now());
        let r = check_revocation(&path.chain, &anchors(), &crls, &[], Utc::now());
        assert_eq!(r.len(), 2, "leaf and issuing CA; the root is skipped");
        assert!(
            matches!(r[0].status, RevocationStatus::Revoked { source: "crl", .. }),
            "{:?}",
            r[0]
        );
        assert!(matches!(r[1].status, RevocationStatus::Good { .. }));
        // Before the revocation date the certificate was good.
        let early = DateTime::from_timestamp(1_000_000_000, 0).unwrap();
        let r = check_revocation(&path.chain, &anchors(), &crls, &[], early);
        assert!(
            matches!(
                r[0].status,
                RevocationStatus::Good {
                    revoked_later: Some(_),
                    ..
                }
            ),
            "{:?}",
            r[0]
        );

        let path = validate_path(&anchors(), &cert("signer-ec.pem"), &inter, Utc::now());
        let r = check_revocation(&path.chain, &anchors(), &crls, &[], Utc::now());
        assert!(r
            .iter()
            .all(|c| matches!(c.status, RevocationStatus::Good { .. })));
        let r = check_revocation(&path.chain, &anchors(), &[], &[], Utc::now());
        assert!(r.iter().all(|c| c.status == RevocationStatus::Unknown));
    }

    #[test]
    fn ocsp_responses_say_good_and_revoked() {
        // `openssl ocsp` acts as the issuing CA's responder.
        let test = "ocsp_responses_say_good_and_revoked";
        if crate::test_tools::require(test, &[crate::test_tools::Tool::Openssl]).is_none() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let serial = |name: &str| {
            cert(name)
                .serial_number()
                .to_bn()
                .unwrap()
                .to_hex_str()
                .unwrap()
                .to_string()
        };
        let index = format!(
            "V\t311121000000Z\t\t{}\tunknown\t/CN=a\nR\t311121000000Z\t260101000000Z,keyCompromise\t{}\tunknown\t/CN=b\n",
            serial("signer-rsa.pem"),
            serial("revoked.pem")
        );
        std::fs::write(dir.path().join("index.txt"), index).unwrap();
        let openssl = |args: &[&str]| {
            std::process::Command::new("openssl")
                .current_dir(dir.path())
                .args(args)
                .output()
        };
        let (issuer, key) = (dev("issuing-ca.pem"), dev("issuing-ca.key"));
        let (issuer, key) = (issuer.to_str().unwrap(), key.to_str().unwrap());
        let (good, bad) = (dev("signer-rsa.pem"), dev("revoked.pem"));
        let request = openssl(&[
            "ocsp",
            "-issuer",
            issuer,
            "-cert",
            good.to_str().unwrap(),
            "-cert",
            bad.to_str().unwrap(),
            "-reqout",
            "req.der",
            "-no_nonce",
        ]);
        let request = request.expect("run openssl ocsp");
        assert!(request.status.success());
        let response = openssl(&[
            "ocsp",
            "-index",
            "index.txt",
            "-rsigner",
            issuer,
            "-rkey",
            key,
            "-CA",
            issuer,
            "-reqin",
            "req.der",
            "-respout",
            "resp.der",
            "-ndays",
            "1",
        ])
        .unwrap();
        assert!(
            response.status.success(),
            "{}",
            String::from_utf8_lossy(&response.stderr)
        );
        let ocsp = vec![std::fs::read(dir.path().join("resp.der")).unwrap()];
        let inter = [cert("issuing-ca.pem")];

        let path = validate_path(&anchors(), &cert("signer-rsa.pem"), &inter, Utc::now());
        let r = check_revocation(&path.chain, &anchors(), &[], &ocsp, Utc::now());
        assert_eq!(
            r[0].status,
            RevocationStatus::Good {
                source: "ocsp",
                revoked_later: None
            }
        );
        assert_eq!(
            r[1].status,
            RevocationStatus::Unknown,
            "no data for the issuing CA"
        );

        let path = validate_path(&anchors(), &cert("revoked.pem"), &inter, Utc::now());
        let r = check_revocation(&path.chain, &anchors(), &[], &ocsp, Utc::now());
        assert!(
            matches!(
                r[0].status,
                RevocationStatus::Revoked { source: "ocsp", .. }
            ),
            "{:?}",
            r[0]
        );
        let before = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let r = check_revocation(&path.chain, &anchors(), &[], &ocsp, before);
        assert!(
            matches!(
                r[0].status,
                RevocationStatus::Good {
                    revoked_later: Some(_),
                    ..
                }
            ),
            "{:?}",
            r[0]
        );

        // A response whose signed part was altered (producedAt, the first GeneralizedTime) is
        // ignored.
        let mut forged = ocsp[0].clone();
        let at = forged.windows(2).position(|w| w == [0x18, 0x0f]).unwrap() + 5;
        forged[at] = if forged[at] == b'1' { b'2' } else { b'1' };
        let path = validate_path(&anchors(), &cert("revoked.pem"), &inter, Utc::now());
        let r = check_revocation(&path.chain, &anchors(), &[], &[forged], Utc::now());
        assert_eq!(r[0].status, RevocationStatus::Unknown);
    }

    #[test]
    fn usages() {
        assert!(check_usage(&cert("tsa.pem"), Usage::TimeStamping).is_ok());
        assert!(check_usage(&cert("signer-rsa.pem"), Usage::TimeStamping).is_err());
        assert!(check_usage(&cert("signer-rsa.pem"), Usage::DocumentSigning).is_ok());
        assert!(check_usage(&cert("issuing-ca.pem"), Usage::DocumentSigning).is_err());
    }
}
