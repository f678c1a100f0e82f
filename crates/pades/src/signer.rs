//! Signing keys behind one trait, so a PEM key, a PKCS#12 file, and later a PKCS#11 token or a
//! remote signing service all plug into the CMS builder the same way.

use std::fmt;
use std::path::Path;

use der::oid::ObjectIdentifier;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private};
use openssl::rsa::Padding;
use openssl::sign::RsaPssSaltlen;
use openssl::x509::X509;

// Kept at this path for callers: the helper lives in `certificate` now.
pub use crate::certificate::parse_certificates;

/// Smallest RSA modulus accepted for signing (ETSI TS 119 312 and the floor).
pub const MIN_RSA_BITS: u32 = 2048;

/// Why a key or certificate cannot be used, or a signature could not be made.
///
/// Messages never carry key material: only what the clerk or operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// A key, certificate or PKCS#12 file could not be read.
    #[error("cannot read {what} from {path}: {reason}")]
    Read {
        /// Which file role (key, certificate, chain, PKCS#12).
        what: &'static str,
        /// The path as given.
        path: String,
        /// What went wrong, without any file content.
        reason: String,
    },
    /// The PKCS#12 password is wrong or the file is damaged.
    #[error("cannot open PKCS#12 file {0}: wrong password or damaged file")]
    Pkcs12(String),
    /// The PKCS#12 file lacks a key or a certificate.
    #[error("PKCS#12 file {0} holds no private key and certificate pair")]
    Pkcs12Incomplete(String),
    /// The private key does not belong to the certificate.
    #[error("the private key does not match the certificate")]
    KeyMismatch,
    /// RSA keys below [`MIN_RSA_BITS`].
    #[error("RSA key of {0} bits is too short: at least 2048 bits are required")]
    RsaTooShort(u32),
    /// An elliptic curve other than P-256 or P-384.
    #[error("unsupported elliptic curve {0}: use P-256 or P-384")]
    UnsupportedCurve(String),
    /// A key type other than RSA or ECDSA.
    #[error("unsupported key type: use RSA (2048 bits or more) or ECDSA P-256/P-384")]
    UnsupportedKeyType,
    /// PSS was asked for with a non-RSA key.
    #[error("RSASSA-PSS needs an RSA key")]
    PssNeedsRsa,
    /// The cryptographic operation itself failed.
    #[error("signing failed: {0}")]
    Sign(String),
}

/// Message digest used for the document, the signed attributes and the signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DigestAlgorithm {
    /// SHA-256 (OID 2.16.840.1.101.3.4.2.1).
    Sha256,
    /// SHA-384 (OID 2.16.840.1.101.3.4.2.2).
    Sha384,
    /// SHA-512 (OID 2.16.840.1.101.3.4.2.3).
    Sha512,
}

impl DigestAlgorithm {
    /// The algorithm's object identifier.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha256 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1"),
            Self::Sha384 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2"),
            Self::Sha512 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3"),
        }
    }

    /// Looks an algorithm up by OID; `None` for anything this crate does not accept.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        [Self::Sha256, Self::Sha384, Self::Sha512]
            .into_iter()
            .find(|d| d.oid() == *oid)
    }

    /// Digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// The OpenSSL digest.
    pub fn message_digest(self) -> MessageDigest {
        match self {
            Self::Sha256 => MessageDigest::sha256(),
            Self::Sha384 => MessageDigest::sha384(),
            Self::Sha512 => MessageDigest::sha512(),
        }
    }

    /// Hashes `data` in one go.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        // Hashing with a fixed, supported digest cannot fail short of an allocation failure.
        openssl::hash::hash(self.message_digest(), data)
            .map(|d| d.to_vec())
            .unwrap_or_default()
    }

    /// A streaming hasher, for data that arrives in pieces (ByteRange parts).
    pub fn hasher(self) -> Result<openssl::hash::Hasher, openssl::error::ErrorStack> {
        openssl::hash::Hasher::new(self.message_digest())
    }

    /// Name as used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }
}

/// The signature scheme of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureAlgorithm {
    /// RSA with PKCS#1 v1.5 padding.
    RsaPkcs1v15,
    /// RSASSA-PSS, MGF1 with the same digest, salt as long as the digest.
    RsaPss,
    /// ECDSA; the signature is the DER `ECDSA-Sig-Value`.
    Ecdsa,
}

/// Something that can sign: the CMS builder asks it for certificates and a signature over the
/// DER of the signed attributes.
///
/// `sign` receives the data itself, not a digest, and hashes it with [`Signer::digest`]: a
/// PKCS#11 token or remote service that only signs digests hashes first and wraps the result.
pub trait Signer: Send + Sync {
    /// The signing certificate, DER.
    fn certificate(&self) -> &[u8];
    /// Issuer certificates (DER) from the signer's issuer upwards; the root may be omitted.
    fn chain(&self) -> &[Vec<u8>];
    /// The digest used for the document and the signed attributes.
    fn digest(&self) -> DigestAlgorithm;
    /// The signature scheme.
    fn signature_algorithm(&self) -> SignatureAlgorithm;
    /// Signs `data`, hashing it with [`Signer::digest`] first.
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignerError>;
    /// Upper bound of the signature value's length in bytes, for sizing placeholders.
    fn max_signature_len(&self) -> usize {
        signature_len_bound(self.certificate()).unwrap_or(1024)
    }
}

/// A shared signer signs as the one it shares (e.g. a key kept open between signatures).
impl<S: Signer + ?Sized> Signer for std::sync::Arc<S> {
    fn certificate(&self) -> &[u8] {
        (**self).certificate()
    }
    fn chain(&self) -> &[Vec<u8>] {
        (**self).chain()
    }
    fn digest(&self) -> DigestAlgorithm {
        (**self).digest()
    }
    fn signature_algorithm(&self) -> SignatureAlgorithm {
        (**self).signature_algorithm()
    }
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignerError> {
        (**self).sign(data)
    }
    fn max_signature_len(&self) -> usize {
        (**self).max_signature_len()
    }
}

/// Choices a caller may make about a software key.
#[derive(Clone, Copy, Debug, Default)]
pub struct SignerOptions {
    /// Digest; `None` picks SHA-256, or SHA-384 for P-384 keys.
    pub digest: Option<DigestAlgorithm>,
    /// Use RSASSA-PSS instead of PKCS#1 v1.5 (RSA keys only).
    pub pss: bool,
}

/// The signature scheme and digest a key signs with, from its public half (a certificate's
/// key): RSA of at least [`MIN_RSA_BITS`] with PKCS#1 v1.5, or PSS when asked for or when the
/// key is an id-RSASSA-PSS key; ECDSA on P-256 (SHA-256) or P-384 (SHA-384). Shared by every
/// signer, so a token or remote key is held to the same rules as a file.
pub fn scheme_for<T: HasPublic>(
    key: &PKeyRef<T>,
    options: SignerOptions,
) -> Result<(SignatureAlgorithm, DigestAlgorithm), SignerError> {
    let (algorithm, default_digest) = match key.id() {
        // An RSA-PSS key (id-RSASSA-PSS) can only make PSS signatures.
        Id::RSA | Id::RSA_PSS => {
            let bits = key.bits();
            if bits < MIN_RSA_BITS {
                return Err(SignerError::RsaTooShort(bits));
            }
            let alg = if options.pss || key.id() == Id::RSA_PSS {
                SignatureAlgorithm::RsaPss
            } else {
                SignatureAlgorithm::RsaPkcs1v15
            };
            (alg, DigestAlgorithm::Sha256)
        }
        Id::EC => {
            if options.pss {
                return Err(SignerError::PssNeedsRsa);
            }
            let ec = key.ec_key().map_err(|_| SignerError::UnsupportedKeyType)?;
            match ec.group().curve_name() {
                Some(Nid::X9_62_PRIME256V1) => (SignatureAlgorithm::Ecdsa, DigestAlgorithm::Sha256),
                Some(Nid::SECP384R1) => (SignatureAlgorithm::Ecdsa, DigestAlgorithm::Sha384),
                other => {
                    let name = other
                        .and_then(|n| n.short_name().ok())
                        .unwrap_or("unnamed curve");
                    return Err(SignerError::UnsupportedCurve(name.to_string()));
                }
            }
        }
        _ => {
            if options.pss {
                return Err(SignerError::PssNeedsRsa);
            }
            return Err(SignerError::UnsupportedKeyType);
        }
    };
    Ok((algorithm, options.digest.unwrap_or(default_digest)))
}

/// A private key held in memory by OpenSSL, with its certificate and chain.
struct SoftwareKey {
    key: PKey<Private>,
    certificate: Vec<u8>,
    chain: Vec<Vec<u8>>,
    digest: DigestAlgorithm,
    algorithm: SignatureAlgorithm,
}

impl fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareKey")
            .field("key", &"<redacted>")
            .field("certificate_len", &self.certificate.len())
            .field("chain_len", &self.chain.len())
            .field("digest", &self.digest)
            .field("algorithm", &self.algorithm)
            .finish()
    }
}

impl SoftwareKey {
    fn new(
        key: PKey<Private>,
        cert: &X509,
        chain: Vec<X509>,
        options: SignerOptions,
    ) -> Result<Self, SignerError> {
        let public = cert
            .public_key()
            .map_err(|_| SignerError::UnsupportedKeyType)?;
        if !public.public_eq(&key) {
            return Err(SignerError::KeyMismatch);
        }
        let (algorithm, digest) = scheme_for(&public, options)?;
        let to_der = |c: &X509| c.to_der().map_err(|e| SignerError::Sign(e.to_string()));
        let certificate = to_der(cert)?;
        // Drop the signer itself if a bundle repeats it, so the CMS holds each certificate once.
        let mut chain_der = Vec::with_capacity(chain.len());
        for c in &chain {
            let der = to_der(c)?;
            if der != certificate && !chain_der.contains(&der) {
                chain_der.push(der);
            }
        }
        Ok(Self {
            key,
            certificate,
            chain: chain_der,
            digest,
            algorithm,
        })
    }

    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignerError> {
        let err = |e: openssl::error::ErrorStack| SignerError::Sign(e.to_string());
        let mut signer =
            openssl::sign::Signer::new(self.digest.message_digest(), &self.key).map_err(err)?;
        if self.algorithm == SignatureAlgorithm::RsaPss {
            signer.set_rsa_padding(Padding::PKCS1_PSS).map_err(err)?;
            signer
                .set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
                .map_err(err)?;
            signer
                .set_rsa_mgf1_md(self.digest.message_digest())
                .map_err(err)?;
        }
        signer.update(data).map_err(err)?;
        signer.sign_to_vec().map_err(err)
    }
}

fn read_file(what: &'static str, path: &Path) -> Result<Vec<u8>, SignerError> {
    std::fs::read(path).map_err(|e| SignerError::Read {
        what,
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn bad_content(what: &'static str, path: &Path, reason: &str) -> SignerError {
    SignerError::Read {
        what,
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Reads every certificate in a PEM bundle (or a single DER certificate).
pub fn read_certificates(path: &Path) -> Result<Vec<X509>, SignerError> {
    let bytes = read_file("certificates", path)?;
    parse_certificates(&bytes).map_err(|r| bad_content("certificates", path, r))
}

/// A key and certificate from PEM files (PKCS#8, PKCS#1 or SEC1 key; unencrypted).
#[derive(Debug)]
pub struct PemSigner(SoftwareKey);

impl PemSigner {
    /// Loads the key, the certificate and an optional chain bundle.
    pub fn from_files(
        key: &Path,
        certificate: &Path,
        chain: Option<&Path>,
        options: SignerOptions,
    ) -> Result<Self, SignerError> {
        let key_bytes = read_file("private key", key)?;
        // The callback answers OpenSSL's pass-phrase request with nothing, so an encrypted
        // key fails here instead of OpenSSL prompting on the terminal.
        let pkey = PKey::private_key_from_pem_callback(&key_bytes, |_| Ok(0))
            .or_else(|_| PKey::private_key_from_der(&key_bytes))
            .map_err(|_| {
                let why = if contains(&key_bytes, b"ENCRYPTED") {
                    "an encrypted key: use a PKCS#12 file with --p12 and --p12-password-env"
                } else {
                    "not an unencrypted PEM or DER private key"
                };
                bad_content("private key", key, why)
            })?;
        let mut certs = read_certificates(certificate)?;
        let cert = certs.remove(0);
        // A certificate file that is itself a bundle contributes its remaining certificates.
        let mut issuers = certs;
        if let Some(chain) = chain {
            issuers.extend(read_certificates(chain)?);
        }
        SoftwareKey::new(pkey, &cert, issuers, options).map(Self)
    }
}

/// Both file-based signers are a [`SoftwareKey`] loaded in different ways.
macro_rules! software_signer {
    ($name:ident) => {
        impl Signer for $name {
            fn certificate(&self) -> &[u8] {
                &self.0.certificate
            }
            fn chain(&self) -> &[Vec<u8>] {
                &self.0.chain
            }
            fn digest(&self) -> DigestAlgorithm {
                self.0.digest
            }
            fn signature_algorithm(&self) -> SignatureAlgorithm {
                self.0.algorithm
            }
            fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignerError> {
                self.0.sign(data)
            }
        }
    };
}

software_signer!(PemSigner);

/// A key, certificate and chain from a PKCS#12 (.p12/.pfx) file.
#[derive(Debug)]
pub struct Pkcs12Signer(SoftwareKey);

impl Pkcs12Signer {
    /// Opens a PKCS#12 file with its password.
    pub fn from_file(
        path: &Path,
        password: &str,
        options: SignerOptions,
    ) -> Result<Self, SignerError> {
        let bytes = read_file("PKCS#12", path)?;
        Self::from_der(&bytes, password, options).map_err(|e| match e {
            SignerError::Pkcs12(_) => SignerError::Pkcs12(path.display().to_string()),
            SignerError::Pkcs12Incomplete(_) => {
                SignerError::Pkcs12Incomplete(path.display().to_string())
            }
            other => other,
        })
    }

    /// Opens PKCS#12 bytes held in memory.
    pub fn from_der(
        bytes: &[u8],
        password: &str,
        options: SignerOptions,
    ) -> Result<Self, SignerError> {
        let open = || Pkcs12::from_der(bytes).and_then(|p| p.parse2(password));
        // Files from older tools use RC2/3DES, which OpenSSL 3 keeps in its legacy provider:
        // load it only when needed, then try again.
        let parsed = open()
            .or_else(|e| {
                if load_legacy_provider() {
                    open()
                } else {
                    Err(e)
                }
            })
            .map_err(|_| SignerError::Pkcs12("<memory>".into()))?;
        let (Some(key), Some(cert)) = (parsed.pkey, parsed.cert) else {
            return Err(SignerError::Pkcs12Incomplete("<memory>".into()));
        };
        let chain = parsed
            .ca
            .map(|stack| stack.into_iter().collect())
            .unwrap_or_default();
        SoftwareKey::new(key, &cert, chain, options).map(Self)
    }
}

software_signer!(Pkcs12Signer);

/// A PKCS#8 key and its certificates held in memory as DER, e.g. a stored key just unwrapped.
#[derive(Debug)]
pub struct DerSigner(SoftwareKey);

impl DerSigner {
    /// Builds a signer from an unencrypted PKCS#8 key (DER), the signing certificate (DER)
    /// and its issuers (DER, from the signer's issuer upwards).
    pub fn from_der(
        pkcs8: &[u8],
        certificate: &[u8],
        chain: &[Vec<u8>],
        options: SignerOptions,
    ) -> Result<Self, SignerError> {
        let unreadable = |what: &'static str| SignerError::Read {
            what,
            path: "<memory>".into(),
            reason: "not valid DER".into(),
        };
        let cert = X509::from_der(certificate).map_err(|_| unreadable("certificate"))?;
        let issuers = chain
            .iter()
            .map(|der| X509::from_der(der).map_err(|_| unreadable("certificate chain")))
            .collect::<Result<Vec<_>, _>>()?;
        Self::with_certificates(pkcs8, &cert, issuers, options)
    }

    /// As [`from_der`](Self::from_der), with the certificates already parsed (a caller that
    /// keeps them parsed between signatures saves reading them again each time).
    pub fn with_certificates(
        pkcs8: &[u8],
        certificate: &X509,
        chain: Vec<X509>,
        options: SignerOptions,
    ) -> Result<Self, SignerError> {
        let key = PKey::private_key_from_pkcs8(pkcs8).map_err(|_| SignerError::Read {
            what: "private key",
            path: "<memory>".into(),
            reason: "not valid DER".into(),
        })?;
        SoftwareKey::new(key, certificate, chain, options).map(Self)
    }
}

software_signer!(DerSigner);

/// Loads OpenSSL's legacy provider (next to the default one) once per process; false when it is
/// not installed.
fn load_legacy_provider() -> bool {
    static LEGACY: std::sync::OnceLock<Option<openssl::provider::Provider>> =
        std::sync::OnceLock::new();
    LEGACY
        .get_or_init(|| openssl::provider::Provider::try_load(None, "legacy", true).ok())
        .is_some()
}

/// Largest signature the certificate's key can produce, in bytes.
pub fn signature_len_bound(certificate_der: &[u8]) -> Option<usize> {
    let key = crate::certificate::parse_certificate(certificate_der)?
        .public_key()
        .ok()?;
    match key.id() {
        Id::RSA | Id::RSA_PSS => Some(key.size()),
        // DER ECDSA-Sig-Value: two INTEGERs of the field size, each with a possible sign byte.
        Id::EC => Some(key.bits().div_ceil(8) as usize * 2 + 9),
        _ => Some(key.size().max(64) + 16),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::PathBuf;

    pub(crate) fn dev(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../certs-dev")
            .join(name)
    }

    pub(crate) fn rsa_signer() -> PemSigner {
        PemSigner::from_files(
            &dev("signer-rsa.key"),
            &dev("signer-rsa.pem"),
            Some(&dev("issuing-ca.pem")),
            SignerOptions::default(),
        )
        .unwrap()
    }

    fn verify(signer: &dyn Signer, data: &[u8], sig: &[u8]) -> bool {
        let cert = X509::from_der(signer.certificate()).unwrap();
        let key = cert.public_key().unwrap();
        let mut v = openssl::sign::Verifier::new(signer.digest().message_digest(), &key).unwrap();
        if signer.signature_algorithm() == SignatureAlgorithm::RsaPss {
            v.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
            v.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH).unwrap();
        }
        v.update(data).unwrap();
        v.verify(sig).unwrap()
    }

    #[test]
    fn pem_rsa_pkcs1_and_pss_sign_and_verify() {
        let s = rsa_signer();
        assert_eq!(s.signature_algorithm(), SignatureAlgorithm::RsaPkcs1v15);
        assert_eq!(s.chain().len(), 1);
        let sig = s.sign(b"hello").unwrap();
        assert_eq!(sig.len(), 256);
        assert!(verify(&s, b"hello", &sig));
        assert!(!verify(&s, b"hullo", &sig));

        let pss = PemSigner::from_files(
            &dev("signer-rsa.key"),
            &dev("signer-rsa.pem"),
            None,
            SignerOptions {
                digest: Some(DigestAlgorithm::Sha512),
                pss: true,
            },
        )
        .unwrap();
        let sig = pss.sign(b"hello").unwrap();
        assert!(verify(&pss, b"hello", &sig));
    }

    #[test]
    fn pkcs12_ec_keys_pick_curve_digest() {
        let p256 = Pkcs12Signer::from_file(
            &dev("signer-ec.p12"),
            "vanthu-dev",
            SignerOptions::default(),
        )
        .unwrap();
        assert_eq!(p256.digest(), DigestAlgorithm::Sha256);
        assert_eq!(p256.chain().len(), 1);
        let sig = p256.sign(b"data").unwrap();
        assert!(sig.len() <= p256.max_signature_len());
        assert!(verify(&p256, b"data", &sig));
        let p384 = Pkcs12Signer::from_file(
            &dev("signer-ec384.p12"),
            "vanthu-dev",
            SignerOptions::default(),
        )
        .unwrap();
        assert_eq!(p384.digest(), DigestAlgorithm::Sha384);
        assert!(verify(&p384, b"data", &p384.sign(b"data").unwrap()));
    }

    #[test]
    fn wrong_password_and_mismatched_key_are_clear_errors() {
        let e = Pkcs12Signer::from_file(&dev("signer-ec.p12"), "nope", SignerOptions::default())
            .unwrap_err();
        assert!(e.to_string().contains("wrong password"), "{e}");
        let e = PemSigner::from_files(
            &dev("seal.key"),
            &dev("signer-rsa.pem"),
            None,
            SignerOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(e, SignerError::KeyMismatch));
        let e = PemSigner::from_files(
            &dev("signer-ec.key"),
            &dev("signer-ec.pem"),
            None,
            SignerOptions {
                digest: None,
                pss: true,
            },
        )
        .unwrap_err();
        assert!(matches!(e, SignerError::PssNeedsRsa));
    }

    #[test]
    fn weak_rsa_and_other_curves_are_rejected_without_leaking_keys() {
        let dir = tempfile::tempdir().unwrap();
        let check = |key: PKey<Private>, expect: &str| {
            let cert = self_signed(&key, "weak");
            let kp = dir.path().join("k.pem");
            let cp = dir.path().join("c.pem");
            let pem = key.private_key_to_pem_pkcs8().unwrap();
            std::fs::write(&kp, &pem).unwrap();
            std::fs::write(&cp, cert.to_pem().unwrap()).unwrap();
            let e = PemSigner::from_files(&kp, &cp, None, SignerOptions::default()).unwrap_err();
            let text = e.to_string();
            assert!(text.contains(expect), "{text}");
            assert!(!format!("{e:?}").contains("PRIVATE"));
        };
        check(
            PKey::from_rsa(openssl::rsa::Rsa::generate(1024).unwrap()).unwrap(),
            "1024 bits is too short",
        );
        let group = openssl::ec::EcGroup::from_curve_name(Nid::SECP521R1).unwrap();
        check(
            PKey::from_ec_key(openssl::ec::EcKey::generate(&group).unwrap()).unwrap(),
            "unsupported elliptic curve",
        );
    }

    /// A one-day self-signed certificate for `key`, for keys the development PKI lacks.
    fn self_signed(key: &PKey<Private>, cn: &str) -> X509 {
        let mut b = openssl::x509::X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        let serial = openssl::bn::BigNum::from_u32(7)
            .unwrap()
            .to_asn1_integer()
            .unwrap();
        b.set_serial_number(&serial).unwrap();
        let mut name = openssl::x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", cn).unwrap();
        let name = name.build();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        b.set_pubkey(key).unwrap();
        b.sign(key, MessageDigest::sha256()).unwrap();
        b.build()
    }

    #[test]
    fn legacy_pkcs12_and_rsa_pss_keys_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let p12 = dir.path().join("legacy.p12");
        let test = "legacy_pkcs12_and_rsa_pss_keys_are_accepted";
        if crate::test_tools::require(test, &[crate::test_tools::Tool::Openssl]).is_some() {
            let made = std::process::Command::new("openssl")
                .args(["pkcs12", "-export", "-legacy", "-passout", "pass:cu"])
                .arg("-inkey")
                .arg(dev("seal.key"))
                .arg("-in")
                .arg(dev("seal.pem"))
                .arg("-out")
                .arg(&p12)
                .output()
                .expect("run openssl pkcs12");
            assert!(
                made.status.success(),
                "openssl pkcs12 -export -legacy: {}",
                String::from_utf8_lossy(&made.stderr)
            );
            let s = Pkcs12Signer::from_file(&p12, "cu", SignerOptions::default()).unwrap();
            assert!(verify(&s, b"x", &s.sign(b"x").unwrap()));
        }

        // An id-RSASSA-PSS key (OpenSSL's default size, 2048 bits) with a self-issued certificate.
        let mut ctx = openssl::pkey_ctx::PkeyCtx::new_id(Id::RSA_PSS).unwrap();
        ctx.keygen_init().unwrap();
        let key = ctx.keygen().unwrap();
        let cert = self_signed(&key, "pss");
        let (kp, cp) = (dir.path().join("pss.key"), dir.path().join("pss.pem"));
        std::fs::write(&kp, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
        std::fs::write(&cp, cert.to_pem().unwrap()).unwrap();
        let s = PemSigner::from_files(&kp, &cp, None, SignerOptions::default()).unwrap();
        assert_eq!(s.signature_algorithm(), SignatureAlgorithm::RsaPss);
        assert!(verify(&s, b"y", &s.sign(b"y").unwrap()));
    }

    #[test]
    fn der_keys_held_in_memory_sign() {
        let p12 = Pkcs12Signer::from_file(
            &dev("signer-ec.p12"),
            "vanthu-dev",
            SignerOptions::default(),
        )
        .unwrap();
        let pem = std::fs::read(dev("signer-ec.key")).unwrap();
        let key = PKey::private_key_from_pem(&pem).unwrap();
        let pkcs8 = key.private_key_to_pkcs8().unwrap();
        let s = DerSigner::from_der(
            &pkcs8,
            p12.certificate(),
            p12.chain(),
            SignerOptions::default(),
        )
        .unwrap();
        assert_eq!(s.chain(), p12.chain());
        assert!(verify(&s, b"z", &s.sign(b"z").unwrap()));
        let e = DerSigner::from_der(b"junk", p12.certificate(), &[], SignerOptions::default())
            .unwrap_err();
        assert!(e.to_string().contains("private key"), "{e}");
    }

    #[test]
    fn debug_output_redacts_the_key() {
        let s = rsa_signer();
        let text = format!("{s:?}");
        assert!(text.contains("<redacted>"));
        assert!(!text.contains("BEGIN"));
    }
}
