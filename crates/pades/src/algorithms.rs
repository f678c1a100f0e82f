//! The digest and signature algorithms the verifier reads, and the policy saying which of them
//! still count. Other signers use more than this crate writes (SHA-3, SHAKE256, EdDSA,
//! SHA-224, and SHA-1 in old time-stamps), so reading has its own, wider list; the signing
//! side keeps [`crate::signer::DigestAlgorithm`].

use der::oid::ObjectIdentifier;
use openssl::error::ErrorStack;
use openssl::hash::{Hasher, MessageDigest};
use spki::AlgorithmIdentifierOwned;

use crate::signer::DigestAlgorithm;

/// sha1WithRSAEncryption.
pub const SHA1_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
/// sha224WithRSAEncryption.
pub const SHA224_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.14");
/// sha256WithRSAEncryption.
pub const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
/// sha384WithRSAEncryption.
pub const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
/// sha512WithRSAEncryption.
pub const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
/// id-rsassa-pkcs1-v1_5-with-sha3-224 (RFC 9688 and NIST's registry, as the three below).
pub const SHA3_224_WITH_RSA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.13");
/// id-rsassa-pkcs1-v1_5-with-sha3-256.
pub const SHA3_256_WITH_RSA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.14");
/// id-rsassa-pkcs1-v1_5-with-sha3-384.
pub const SHA3_384_WITH_RSA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.15");
/// id-rsassa-pkcs1-v1_5-with-sha3-512.
pub const SHA3_512_WITH_RSA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.16");
/// ecdsa-with-SHA1.
pub const ECDSA_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");
/// ecdsa-with-SHA224.
pub const ECDSA_SHA224: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.1");
/// ecdsa-with-SHA256.
pub const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// ecdsa-with-SHA384.
pub const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
/// ecdsa-with-SHA512.
pub const ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
/// id-ecdsa-with-sha3-224.
pub const ECDSA_SHA3_224: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.9");
/// id-ecdsa-with-sha3-256.
pub const ECDSA_SHA3_256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.10");
/// id-ecdsa-with-sha3-384.
pub const ECDSA_SHA3_384: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.11");
/// id-ecdsa-with-sha3-512.
pub const ECDSA_SHA3_512: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.12");
/// rsaEncryption (also used as a signature algorithm: the digest is the digestAlgorithm).
pub const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// id-ecPublicKey (also used as a signature algorithm, as rsaEncryption).
pub const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// id-RSASSA-PSS.
pub const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
/// id-mgf1.
pub const MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
/// id-Ed25519 (RFC 8410).
pub const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// id-Ed448 (RFC 8410).
pub const ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");

/// id-shake256 without parameters: 512 bits of output in CMS (RFC 8702).
const SHAKE256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.12");
/// id-shake256-len with the output length in bits as parameter (RFC 8419, for Ed448).
const SHAKE256_LEN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.18");

/// A digest algorithm found in a signature or time-stamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-1: read so that old time-stamps can be judged, but no longer accepted.
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
    /// SHA3-224.
    Sha3_224,
    /// SHA3-256.
    Sha3_256,
    /// SHA3-384.
    Sha3_384,
    /// SHA3-512.
    Sha3_512,
    /// SHAKE256 with 512 bits of output (Ed448 in CMS).
    Shake256,
}

impl HashAlgorithm {
    const ALL: [Self; 10] = [
        Self::Sha1,
        Self::Sha224,
        Self::Sha256,
        Self::Sha384,
        Self::Sha512,
        Self::Sha3_224,
        Self::Sha3_256,
        Self::Sha3_384,
        Self::Sha3_512,
        Self::Shake256,
    ];

    /// The algorithm's object identifier.
    pub fn oid(self) -> ObjectIdentifier {
        ObjectIdentifier::new_unwrap(match self {
            Self::Sha1 => "1.3.14.3.2.26",
            Self::Sha224 => "2.16.840.1.101.3.4.2.4",
            Self::Sha256 => "2.16.840.1.101.3.4.2.1",
            Self::Sha384 => "2.16.840.1.101.3.4.2.2",
            Self::Sha512 => "2.16.840.1.101.3.4.2.3",
            Self::Sha3_224 => "2.16.840.1.101.3.4.2.7",
            Self::Sha3_256 => "2.16.840.1.101.3.4.2.8",
            Self::Sha3_384 => "2.16.840.1.101.3.4.2.9",
            Self::Sha3_512 => "2.16.840.1.101.3.4.2.10",
            Self::Shake256 => "2.16.840.1.101.3.4.2.12",
        })
    }

    /// Looks an algorithm up by OID; `None` for anything unknown (and for id-shake256-len,
    /// whose output length only [`HashAlgorithm::from_identifier`] can check).
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.oid() == *oid)
    }

    /// Looks an algorithm up by its full identifier, parameters included.
    pub fn from_identifier(id: &AlgorithmIdentifierOwned) -> Option<Self> {
        if id.oid == SHAKE256_LEN {
            // ShakeOutputLen ::= INTEGER, in bits; CMS only uses 512.
            let bits: u32 = id.parameters.as_ref()?.decode_as().ok()?;
            return (bits == 512).then_some(Self::Shake256);
        }
        if id.oid == SHAKE256 && id.parameters.is_some() {
            return None;
        }
        Self::from_oid(&id.oid)
    }

    /// Name as used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "sha1",
            Self::Sha224 => "sha224",
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
            Self::Sha3_224 => "sha3-224",
            Self::Sha3_256 => "sha3-256",
            Self::Sha3_384 => "sha3-384",
            Self::Sha3_512 => "sha3-512",
            Self::Shake256 => "shake256",
        }
    }

    /// The algorithm's usual written name, for sentences a clerk reads.
    pub fn label(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA-1",
            Self::Sha224 => "SHA-224",
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
            Self::Sha3_224 => "SHA3-224",
            Self::Sha3_256 => "SHA3-256",
            Self::Sha3_384 => "SHA3-384",
            Self::Sha3_512 => "SHA3-512",
            Self::Shake256 => "SHAKE256",
        }
    }

    /// Whether the validation policy still accepts the algorithm. SHA-1 is not: collisions
    /// are practical, and ETSI TS 119 312 no longer lists it for signatures or time-stamps.
    /// A rejected algorithm is a policy result (INDETERMINATE / CRYPTO_CONSTRAINTS_FAILURE),
    /// never evidence that anything was changed.
    pub fn is_accepted(self) -> bool {
        self != Self::Sha1
    }

    /// Digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha224 | Self::Sha3_224 => 28,
            Self::Sha256 | Self::Sha3_256 => 32,
            Self::Sha384 | Self::Sha3_384 => 48,
            Self::Sha512 | Self::Sha3_512 | Self::Shake256 => 64,
        }
    }

    /// The OpenSSL digest.
    pub fn message_digest(self) -> MessageDigest {
        match self {
            Self::Sha1 => MessageDigest::sha1(),
            Self::Sha224 => MessageDigest::sha224(),
            Self::Sha256 => MessageDigest::sha256(),
            Self::Sha384 => MessageDigest::sha384(),
            Self::Sha512 => MessageDigest::sha512(),
            Self::Sha3_224 => MessageDigest::sha3_224(),
            Self::Sha3_256 => MessageDigest::sha3_256(),
            Self::Sha3_384 => MessageDigest::sha3_384(),
            Self::Sha3_512 => MessageDigest::sha3_512(),
            Self::Shake256 => MessageDigest::shake_256(),
        }
    }

    /// A streaming hasher, for data that arrives in pieces (ByteRange parts); end it with
    /// [`HashAlgorithm::finish`].
    pub fn hasher(self) -> Result<Hasher, ErrorStack> {
        Hasher::new(self.message_digest())
    }

    /// The digest of what `hasher` was fed (SHAKE256 is an extendable-output function and
    /// ends differently).
    pub fn finish(self, hasher: &mut Hasher) -> Result<Vec<u8>, ErrorStack> {
        if self == Self::Shake256 {
            let mut out = vec![0u8; self.output_len()];
            hasher.finish_xof(&mut out)?;
            return Ok(out);
        }
        Ok(hasher.finish()?.to_vec())
    }

    /// Hashes `data` in one go.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        // Hashing with a known digest cannot fail short of an allocation failure; an empty
        // result never equals a real digest.
        self.hasher()
            .and_then(|mut h| {
                h.update(data)?;
                self.finish(&mut h)
            })
            .unwrap_or_default()
    }
}

impl From<DigestAlgorithm> for HashAlgorithm {
    fn from(d: DigestAlgorithm) -> Self {
        match d {
            DigestAlgorithm::Sha256 => Self::Sha256,
            DigestAlgorithm::Sha384 => Self::Sha384,
            DigestAlgorithm::Sha512 => Self::Sha512,
        }
    }
}

/// The hash a signatureAlgorithm identifier names itself, for the schemes whose OID fixes
/// it (`None` for rsaEncryption, id-ecPublicKey, PSS and EdDSA, and unknown OIDs).
pub fn signature_hash(oid: &ObjectIdentifier) -> Option<HashAlgorithm> {
    Some(match *oid {
        SHA1_WITH_RSA | ECDSA_SHA1 => HashAlgorithm::Sha1,
        SHA224_WITH_RSA | ECDSA_SHA224 => HashAlgorithm::Sha224,
        SHA256_WITH_RSA | ECDSA_SHA256 => HashAlgorithm::Sha256,
        SHA384_WITH_RSA | ECDSA_SHA384 => HashAlgorithm::Sha384,
        SHA512_WITH_RSA | ECDSA_SHA512 => HashAlgorithm::Sha512,
        SHA3_224_WITH_RSA | ECDSA_SHA3_224 => HashAlgorithm::Sha3_224,
        SHA3_256_WITH_RSA | ECDSA_SHA3_256 => HashAlgorithm::Sha3_256,
        SHA3_384_WITH_RSA | ECDSA_SHA3_384 => HashAlgorithm::Sha3_384,
        SHA3_512_WITH_RSA | ECDSA_SHA3_512 => HashAlgorithm::Sha3_512,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_openssl_and_known_lengths() {
        for h in HashAlgorithm::ALL {
            let d = h.digest(b"abc");
            assert_eq!(d.len(), h.output_len(), "{}", h.name());
            assert_eq!(HashAlgorithm::from_oid(&h.oid()), Some(h));
            let mut streamed = h.hasher().unwrap();
            streamed.update(b"a").unwrap();
            streamed.update(b"bc").unwrap();
            assert_eq!(h.finish(&mut streamed).unwrap(), d);
        }
        // FIPS 202 test vector: SHA3-256("abc").
        assert_eq!(
            hex::encode(HashAlgorithm::Sha3_256.digest(b"abc")),
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
        );
        let len = AlgorithmIdentifierOwned {
            oid: SHAKE256_LEN,
            parameters: Some(der::Any::encode_from(&512u32).unwrap()),
        };
        assert_eq!(
            HashAlgorithm::from_identifier(&len),
            Some(HashAlgorithm::Shake256)
        );
        let short = AlgorithmIdentifierOwned {
            parameters: Some(der::Any::encode_from(&256u32).unwrap()),
            ..len
        };
        assert_eq!(HashAlgorithm::from_identifier(&short), None);
    }
}
