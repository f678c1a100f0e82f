//! A leader's server-held key seen as a CSC credential: its identifier, the algorithms it
//! signs with, its certificate as `credentials/info` describes it, and the signature of a
//! hash the client computed (`signatures/signHash` receives digests, not data).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use openssl::md::Md;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::x509::X509;
use vanthu_keys::Unwrapped;
use vanthu_pades::signer::DigestAlgorithm;
use vanthu_pades::trust::display_name;
use vanthu_remote::csc::messages::{
    CertInfo, KeyInfo, ECDSA_WITH_SHA256, ECDSA_WITH_SHA384, ECDSA_WITH_SHA512, RSA_ENCRYPTION,
    SHA256, SHA256_WITH_RSA, SHA384, SHA384_WITH_RSA, SHA512, SHA512_WITH_RSA,
};
use vanthu_store::SigningKey;

use super::error::CscError;
use crate::error::ApiError;
use crate::signing_keys::certificate_ders;

/// OID of the NIST P-256 curve.
const P256: &str = "1.2.840.10045.3.1.7";
/// OID of the NIST P-384 curve.
const P384: &str = "1.2.840.10045.3.1.34";

/// The identifier of `key` as a credential: its row id. A user holds one key at a time, so
/// enrolling a new one gives a new identifier and the old one stops working.
pub fn credential_id(key: &SigningKey) -> String {
    key.id.to_string()
}

/// Whether a key is RSA (PKCS#1 v1.5) or ECDSA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Rsa,
    Ecdsa,
}

/// The signature algorithms a family offers, most specific first, with the digest each
/// implies (`None`: `hashAlgo` names it).
fn algorithms(family: Family) -> &'static [(&'static str, Option<DigestAlgorithm>)] {
    match family {
        Family::Rsa => &[
            (SHA256_WITH_RSA, Some(DigestAlgorithm::Sha256)),
            (SHA384_WITH_RSA, Some(DigestAlgorithm::Sha384)),
            (SHA512_WITH_RSA, Some(DigestAlgorithm::Sha512)),
            (RSA_ENCRYPTION, None),
        ],
        Family::Ecdsa => &[
            (ECDSA_WITH_SHA256, Some(DigestAlgorithm::Sha256)),
            (ECDSA_WITH_SHA384, Some(DigestAlgorithm::Sha384)),
            (ECDSA_WITH_SHA512, Some(DigestAlgorithm::Sha512)),
        ],
    }
}

/// The digest of a `hashAlgo` OID.
pub fn digest_of_oid(oid: &str) -> Option<DigestAlgorithm> {
    match oid {
        SHA256 => Some(DigestAlgorithm::Sha256),
        SHA384 => Some(DigestAlgorithm::Sha384),
        SHA512 => Some(DigestAlgorithm::Sha512),
        _ => None,
    }
}

/// The certificate of a stored key and what `credentials/info` says of it.
pub struct Described {
    certificate: X509,
    chain: Vec<Vec<u8>>,
    der: Vec<u8>,
    family: Family,
    bits: u32,
    curve: Option<&'static str>,
    not_after: DateTime<Utc>,
}

impl Described {
    /// Reads the certificate of `key`.
    pub fn of(key: &SigningKey) -> Result<Described, ApiError> {
        let (der, chain) = certificate_ders(&key.certificate)?;
        let certificate = X509::from_der(&der).map_err(ApiError::internal)?;
        let public = certificate.public_key().map_err(ApiError::internal)?;
        let (family, curve) = match public.id() {
            Id::RSA => (Family::Rsa, None),
            Id::EC => {
                let ec = public.ec_key().map_err(ApiError::internal)?;
                let curve = match ec.group().curve_name() {
                    Some(Nid::X9_62_PRIME256V1) => Some(P256),
                    Some(Nid::SECP384R1) => Some(P384),
                    _ => None,
                };
                (Family::Ecdsa, curve)
            }
            _ => {
                return Err(ApiError::UnusableCertificate(
                    "the key is neither RSA nor ECDSA".into(),
                ))
            }
        };
        Ok(Described {
            bits: public.bits(),
            certificate,
            chain,
            der,
            family,
            curve,
            not_after: key.certificate.not_after,
        })
    }

    /// The key's part of `credentials/info`; `blocked` when wrong PINs disabled it.
    pub fn key_info(&self, blocked: bool) -> KeyInfo {
        KeyInfo {
            status: if blocked { "disabled" } else { "enabled" }.into(),
            algo: algorithms(self.family)
                .iter()
                .map(|(oid, _)| (*oid).to_owned())
                .collect(),
            len: self.bits,
            curve: self.curve.map(str::to_owned),
        }
    }

    /// The certificate's part: `certificates` is `none`, `single` or `chain`; `details` adds
    /// the names, serial and validity.
    pub fn cert_info(&self, certificates: &str, details: bool) -> Result<CertInfo, CscError> {
        let b64 = |der: &Vec<u8>| STANDARD.encode(der);
        let certificates = match certificates {
            "none" => Vec::new(),
            "single" => vec![b64(&self.der)],
            "chain" => std::iter::once(&self.der)
                .chain(&self.chain)
                .map(b64)
                .collect(),
            _ => {
                return Err(CscError::invalid_parameter(
                    "certificates",
                    "must be none, single or chain",
                ))
            }
        };
        let mut info = CertInfo {
            status: Some(
                if self.not_after <= Utc::now() {
                    "expired"
                } else {
                    "valid"
                }
                .into(),
            ),
            certificates,
            ..CertInfo::default()
        };
        if details {
            let time = |t: &openssl::asn1::Asn1TimeRef| generalized_time(&t.to_string());
            info.issuer_dn = Some(display_name(self.certificate.issuer_name()));
            info.subject_dn = Some(display_name(self.certificate.subject_name()));
            info.serial_number = self
                .certificate
                .serial_number()
                .to_bn()
                .and_then(|bn| bn.to_hex_str().map(|h| h.to_string()))
                .ok();
            info.valid_from = time(self.certificate.not_before());
            info.valid_to = time(self.certificate.not_after());
        }
        Ok(info)
    }

    /// The digest a signature in `sign_algo` (with `hash_algo`, when the algorithm does not
    /// imply one) is over, when the key offers the algorithm.
    pub fn digest_for(
        &self,
        sign_algo: &str,
        hash_algo: Option<&str>,
    ) -> Result<DigestAlgorithm, CscError> {
        let Some((_, implied)) = algorithms(self.family)
            .iter()
            .find(|(oid, _)| *oid == sign_algo)
        else {
            return Err(CscError::invalid_parameter(
                "signAlgo",
                "the credential does not sign with this algorithm; credentials/info lists \
                 those it does (key.algo)",
            ));
        };
        let named = match hash_algo {
            Some(oid) => Some(digest_of_oid(oid).ok_or_else(|| {
                CscError::invalid_parameter("hashAlgo", "must be SHA-256, SHA-384 or SHA-512")
            })?),
            None => None,
        };
        match (implied, named) {
            (Some(implied), Some(named)) if *implied != named => Err(CscError::invalid_parameter(
                "hashAlgo",
                "does not match the digest signAlgo names",
            )),
            (Some(implied), _) => Ok(*implied),
            (None, Some(named)) => Ok(named),
            (None, None) => Err(CscError::invalid_request(
                "Missing string parameter hashAlgo: signAlgo rsaEncryption names no digest",
            )),
        }
    }
}

/// `YYYYMMDDHHMMSSZ` from OpenSSL's `Mon DD HH:MM:SS YYYY GMT`.
fn generalized_time(openssl_text: &str) -> Option<String> {
    chrono::NaiveDateTime::parse_from_str(openssl_text, "%b %e %H:%M:%S %Y GMT")
        .ok()
        .map(|t| t.format("%Y%m%d%H%M%SZ").to_string())
}

/// Signs the digests `hashes` (already decoded, each of `digest`'s length) with the unlocked
/// key: PKCS#1 v1.5 over the DigestInfo for RSA, DER `ECDSA-Sig-Value` for ECDSA, as CMS
/// takes them.
pub fn sign_digests(
    pkcs8: &Unwrapped,
    digest: DigestAlgorithm,
    hashes: &[Vec<u8>],
) -> Result<Vec<Vec<u8>>, ApiError> {
    let key: PKey<Private> =
        PKey::private_key_from_pkcs8(pkcs8.pkcs8_der()).map_err(ApiError::internal)?;
    sign_with(&key, digest, hashes).map_err(ApiError::internal)
}

fn sign_with(
    key: &PKey<Private>,
    digest: DigestAlgorithm,
    hashes: &[Vec<u8>],
) -> Result<Vec<Vec<u8>>, openssl::error::ErrorStack> {
    let md = match digest {
        DigestAlgorithm::Sha256 => Md::sha256(),
        DigestAlgorithm::Sha384 => Md::sha384(),
        DigestAlgorithm::Sha512 => Md::sha512(),
    };
    hashes
        .iter()
        .map(|hash| {
            let mut ctx = PkeyCtx::new(key)?;
            ctx.sign_init()?;
            if key.id() == Id::RSA {
                ctx.set_rsa_padding(Padding::PKCS1)?;
            }
            ctx.set_signature_md(md)?;
            let mut signature = Vec::new();
            ctx.sign_to_vec(hash, &mut signature)?;
            Ok(signature)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_times_become_generalized_time() {
        assert_eq!(
            generalized_time("Dec  2 14:09:17 2026 GMT").as_deref(),
            Some("20261202140917Z")
        );
        assert_eq!(
            generalized_time("Jan 31 00:00:00 2027 GMT").as_deref(),
            Some("20270131000000Z")
        );
        assert_eq!(generalized_time("yesterday"), None);
    }

    #[test]
    fn digests_are_signed_as_the_certificate_verifies_them() {
        for key in [
            PKey::from_ec_key(
                openssl::ec::EcKey::generate(
                    &openssl::ec::EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap(),
                )
                .unwrap(),
            )
            .unwrap(),
            PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap(),
        ] {
            let data = b"signed attributes";
            let hash = DigestAlgorithm::Sha256.digest(data);
            let signatures = sign_with(&key, DigestAlgorithm::Sha256, &[hash]).unwrap();
            let mut verifier =
                openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
            verifier.update(data).unwrap();
            assert!(verifier.verify(&signatures[0]).unwrap(), "{:?}", key.id());
        }
    }
}
