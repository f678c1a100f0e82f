//! A private key in a token as a `Signer`: the data is hashed here and the token signs the
//! digest (`CKM_RSA_PKCS` over a DigestInfo, `CKM_RSA_PKCS_PSS`, `CKM_ECDSA`), the mechanisms
//! every token offers, rather than the hash-and-sign ones that many USB tokens lack.

use std::fmt;
use std::sync::Arc;

use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{ObjectClass, ObjectHandle};
use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::x509::X509;
use vanthu_pades::signer::{
    scheme_for, DigestAlgorithm, SignatureAlgorithm, Signer, SignerError, SignerOptions,
};

use crate::{KeyRef, Pkcs11Error, Token};

/// What is signed once when a key is opened, to prove it belongs to the certificate.
const PROBE: &[u8] = b"vanthu: does this token key match its certificate?";
/// Longest chain gathered from the token's certificates.
const MAX_CHAIN: usize = 8;

/// A key held in a PKCS#11 token, with its certificate and the issuers known.
pub struct Pkcs11Signer {
    token: Arc<Token>,
    key: ObjectHandle,
    name: KeyRef,
    certificate: Vec<u8>,
    chain: Vec<Vec<u8>>,
    digest: DigestAlgorithm,
    algorithm: SignatureAlgorithm,
}

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("token", &self.token.label())
            .field("key", &self.name.to_string())
            .field("digest", &self.digest)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Signer {
    /// The private key named `key` on `token`, with `certificate` (DER) or else the token's
    /// certificate object of the same label or id. The chain is `chain` (DER, issuer first)
    /// completed with the issuers found among the token's certificates. One signature is
    /// made and checked against the certificate before the signer is returned, so a key that
    /// does not match fails here rather than in a validator's report.
    pub fn open(
        token: Arc<Token>,
        key: KeyRef,
        certificate: Option<Vec<u8>>,
        chain: Vec<Vec<u8>>,
        options: SignerOptions,
    ) -> Result<Self, Pkcs11Error> {
        let label = token.label().to_owned();
        let handle = token.private_key(&key)?;
        let no_certificate = || Pkcs11Error::NoCertificate {
            token: label.clone(),
            key: key.to_string(),
        };
        let certificate = match certificate {
            Some(der) => der,
            None => {
                let object = token
                    .find(ObjectClass::CERTIFICATE, &key)?
                    .ok_or_else(no_certificate)?;
                token.certificate(object)?.ok_or_else(no_certificate)?
            }
        };
        let unusable = |source: SignerError| Pkcs11Error::Unusable {
            token: label.clone(),
            key: key.to_string(),
            source,
        };
        let cert = X509::from_der(&certificate).map_err(|_| {
            unusable(SignerError::Read {
                what: "certificate",
                path: format!("token \"{label}\""),
                reason: "not a DER X.509 certificate".into(),
            })
        })?;
        let public = cert
            .public_key()
            .map_err(|_| unusable(SignerError::UnsupportedKeyType))?;
        let (algorithm, digest) = scheme_for(&public, options).map_err(unusable)?;
        let chain = complete_chain(&cert, chain, &token.certificates()?);
        let signer = Self {
            token,
            key: handle,
            name: key,
            certificate,
            chain,
            digest,
            algorithm,
        };
        let probe = signer.sign_data(PROBE)?;
        if !verifies(&cert, digest, algorithm, PROBE, &probe) {
            return Err(Pkcs11Error::KeyMismatch {
                token: label,
                key: signer.name.to_string(),
            });
        }
        Ok(signer)
    }

    /// The token the key lives in.
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The key's label or id.
    pub fn key(&self) -> &KeyRef {
        &self.name
    }

    /// Hashes `data` and has the token sign the digest.
    fn sign_data(&self, data: &[u8]) -> Result<Vec<u8>, Pkcs11Error> {
        let hash = self.digest.digest(data);
        let (mechanism, input) = match self.algorithm {
            SignatureAlgorithm::RsaPkcs1v15 => {
                let mut info = digest_info_prefix(self.digest).to_vec();
                info.extend_from_slice(&hash);
                (Mechanism::RsaPkcs, info)
            }
            SignatureAlgorithm::RsaPss => {
                let (hash_alg, mgf) = match self.digest {
                    DigestAlgorithm::Sha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
                    DigestAlgorithm::Sha384 => (MechanismType::SHA384, PkcsMgfType::MGF1_SHA384),
                    DigestAlgorithm::Sha512 => (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512),
                };
                let params = PkcsPssParams {
                    hash_alg,
                    mgf,
                    s_len: (self.digest.output_len() as u64).into(),
                };
                (Mechanism::RsaPkcsPss(params), hash.clone())
            }
            SignatureAlgorithm::Ecdsa => (Mechanism::Ecdsa, hash.clone()),
        };
        let signature = self.token.with_session("the signature", |session| {
            session.sign(&mechanism, self.key, &input)
        })?;
        match self.algorithm {
            SignatureAlgorithm::Ecdsa => ecdsa_der(&signature).ok_or_else(|| Pkcs11Error::Token {
                token: self.token.label().to_owned(),
                what: "the signature",
                reason: format!("an ECDSA signature of odd length {}", signature.len()),
            }),
            _ => Ok(signature),
        }
    }
}

impl Signer for Pkcs11Signer {
    fn certificate(&self) -> &[u8] {
        &self.certificate
    }
    fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }
    fn digest(&self) -> DigestAlgorithm {
        self.digest
    }
    fn signature_algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.sign_data(data)
            .map_err(|e| SignerError::Sign(e.to_string()))
    }
}

/// The DER DigestInfo header (RFC 8017 9.2, note 1) that precedes the digest in a PKCS#1 v1.5
/// signature: fixed bytes per digest algorithm.
fn digest_info_prefix(digest: DigestAlgorithm) -> &'static [u8] {
    match digest {
        DigestAlgorithm::Sha256 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        DigestAlgorithm::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        DigestAlgorithm::Sha512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
    }
}

/// A PKCS#11 ECDSA signature (r and s, each the field's size, concatenated) as the DER
/// `ECDSA-Sig-Value` that CMS carries.
fn ecdsa_der(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return None;
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let sig =
        EcdsaSig::from_private_components(BigNum::from_slice(r).ok()?, BigNum::from_slice(s).ok()?)
            .ok()?;
    sig.to_der().ok()
}

/// Whether `signature` over `data` verifies with the certificate's key.
fn verifies(
    cert: &X509,
    digest: DigestAlgorithm,
    algorithm: SignatureAlgorithm,
    data: &[u8],
    signature: &[u8],
) -> bool {
    let check = || -> Result<bool, openssl::error::ErrorStack> {
        let key = cert.public_key()?;
        let mut verifier = openssl::sign::Verifier::new(digest.message_digest(), &key)?;
        if algorithm == SignatureAlgorithm::RsaPss {
            verifier.set_rsa_padding(openssl::rsa::Padding::PKCS1_PSS)?;
            verifier.set_rsa_pss_saltlen(openssl::sign::RsaPssSaltlen::DIGEST_LENGTH)?;
            verifier.set_rsa_mgf1_md(digest.message_digest())?;
        }
        verifier.update(data)?;
        verifier.verify(signature)
    };
    check().unwrap_or(false)
}

/// `given` (issuer first), then the issuers of the last certificate found among the token's
/// certificates, up to a self-signed root or [`MAX_CHAIN`]; each certificate once and never
/// the signer's own.
fn complete_chain(cert: &X509, given: Vec<Vec<u8>>, on_token: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let own = cert.to_der().unwrap_or_default();
    let mut chain: Vec<Vec<u8>> = Vec::new();
    for der in given {
        if der != own && !chain.contains(&der) {
            chain.push(der);
        }
    }
    let candidates: Vec<(Vec<u8>, X509)> = on_token
        .iter()
        .filter_map(|der| X509::from_der(der).ok().map(|c| (der.clone(), c)))
        .collect();
    let mut last = chain
        .last()
        .and_then(|der| X509::from_der(der).ok())
        .unwrap_or_else(|| cert.clone());
    while chain.len() < MAX_CHAIN {
        let self_signed = last
            .issuer_name()
            .try_cmp(last.subject_name())
            .is_ok_and(|o| o.is_eq());
        if self_signed {
            break;
        }
        let issuer = candidates.iter().find(|(der, c)| {
            *der != own
                && !chain.contains(der)
                && c.subject_name()
                    .try_cmp(last.issuer_name())
                    .is_ok_and(|o| o.is_eq())
                && c.public_key()
                    .and_then(|k| last.verify(&k))
                    .unwrap_or(false)
        });
        let Some((der, c)) = issuer else { break };
        chain.push(der.clone());
        last = c.clone();
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_ecdsa_becomes_der_and_odd_lengths_are_refused() {
        let mut raw = vec![0u8; 64];
        raw[31] = 5;
        raw[32] = 0x80; // s needs a leading zero byte in DER
        raw[63] = 1;
        let der = ecdsa_der(&raw).unwrap();
        let sig = EcdsaSig::from_der(&der).unwrap();
        assert_eq!(sig.r().to_vec(), vec![5]);
        assert_eq!(sig.s().to_vec().len(), 32);
        assert!(ecdsa_der(&raw[..63]).is_none());
        assert!(ecdsa_der(&[]).is_none());
    }

    #[test]
    fn digest_info_headers_name_their_digest_and_length() {
        for d in [
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha384,
            DigestAlgorithm::Sha512,
        ] {
            let prefix = digest_info_prefix(d);
            assert_eq!(usize::from(prefix[prefix.len() - 1]), d.output_len());
            assert_eq!(usize::from(prefix[1]), prefix.len() - 2 + d.output_len());
            let oid = der::Encode::to_der(&d.oid()).unwrap();
            assert!(prefix.windows(oid.len()).any(|w| w == oid), "{d:?}");
        }
    }
}
