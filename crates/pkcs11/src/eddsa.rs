//! An Ed25519 key in a token (`CKK_EC_EDWARDS` on the edwards25519 curve), signing with
//! `CKM_EDDSA`: the audit log's checkpoint key. It has no certificate; its public key is the
//! public key object stored beside it, and one signature is checked against that before use.

use std::fmt;
use std::sync::Arc;

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use openssl::pkey::{Id, PKey};
use openssl::sign::Verifier;

use crate::{KeyRef, Pkcs11Error, Token};

/// What is signed once when the key is opened, to prove it matches its public key object.
const PROBE: &[u8] = b"vanthu: does this token's Ed25519 key match its public key?";

/// `CKA_EC_PARAMS` of Ed25519, either form PKCS#11 3.0 allows: the DER of the object
/// identifier id-Ed25519 (1.3.101.112, RFC 8410), or the PrintableString "edwards25519".
const ED25519_OID: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
const ED25519_NAME: &[u8] = b"\x13\x0cedwards25519";

/// A private Ed25519 key held in a token, with its 32-byte public key.
pub struct Pkcs11Ed25519 {
    token: Arc<Token>,
    key: ObjectHandle,
    name: KeyRef,
    public: [u8; 32],
}

impl fmt::Debug for Pkcs11Ed25519 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Ed25519")
            .field("token", &self.token.label())
            .field("key", &self.name.to_string())
            .finish_non_exhaustive()
    }
}

impl Pkcs11Ed25519 {
    /// The Ed25519 private key named `key` on `token`. Refused, each with its own message:
    /// a token without `CKM_EDDSA`, no such private key, a key of another type or curve, no
    /// public key object of the same label or id, and a public key its private key's
    /// signatures do not verify with.
    pub fn open(token: Arc<Token>, key: KeyRef) -> Result<Self, Pkcs11Error> {
        let label = token.label().to_owned();
        // Asked of this one mechanism: the whole list holds vendor mechanisms that the
        // binding does not know.
        match token
            .pkcs11()
            .get_mechanism_info(token.slot(), MechanismType::EDDSA)
        {
            Ok(info) if info.sign() => {}
            Ok(_) | Err(CkError::Pkcs11(RvError::MechanismInvalid, _)) => {
                return Err(no_eddsa(&label))
            }
            Err(e) => {
                return Err(Pkcs11Error::from_token(
                    &label,
                    "the mechanism's details",
                    e,
                ))
            }
        }
        let handle = token.private_key(&key)?;
        let not_ed25519 = |found: String| Pkcs11Error::NotEd25519 {
            token: label.clone(),
            key: key.to_string(),
            found,
        };
        let (key_type, params) = token.with_session("reading the key's type", |session| {
            let mut key_type = None;
            let mut params = None;
            for attribute in session
                .get_attributes(handle, &[AttributeType::KeyType, AttributeType::EcParams])?
            {
                match attribute {
                    Attribute::KeyType(t) => key_type = Some(t),
                    Attribute::EcParams(p) => params = Some(p),
                    _ => {}
                }
            }
            Ok((key_type, params))
        })?;
        match key_type {
            Some(t) if t == KeyType::EC_EDWARDS => {}
            Some(t) => return Err(not_ed25519(format!("it is a {t} key"))),
            None => return Err(not_ed25519("its key type is not readable".into())),
        }
        if !params.as_deref().is_some_and(is_ed25519) {
            return Err(not_ed25519(
                "it is on another Edwards curve (Ed448?)".into(),
            ));
        }
        let public_handle =
            token
                .find(ObjectClass::PUBLIC_KEY, &key)?
                .ok_or_else(|| Pkcs11Error::NoPublicKey {
                    token: label.clone(),
                    key: key.to_string(),
                })?;
        let point = token.with_session("reading the public key", |session| {
            Ok(session
                .get_attributes(public_handle, &[AttributeType::EcPoint])?
                .into_iter()
                .find_map(|a| match a {
                    Attribute::EcPoint(p) => Some(p),
                    _ => None,
                }))
        })?;
        let public = point
            .as_deref()
            .and_then(raw_point)
            .ok_or_else(|| not_ed25519("its public key is not 32 bytes".into()))?;
        let signer = Self {
            token,
            key: handle,
            name: key,
            public,
        };
        let probe = signer.sign(PROBE)?;
        if !verifies(&signer.public, PROBE, &probe) {
            return Err(Pkcs11Error::NotEd25519 {
                token: label,
                key: signer.name.to_string(),
                found: "its signatures do not verify with the public key stored beside it".into(),
            });
        }
        Ok(signer)
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// The token the key lives in.
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The key's label or id.
    pub fn key(&self) -> &KeyRef {
        &self.name
    }

    /// The pure Ed25519 signature of `message`, made in the token. Ed25519 hashes the whole
    /// message twice, so the message itself crosses to the token (a checkpoint body is about
    /// a hundred bytes).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Pkcs11Error> {
        let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
        let mut refused = false;
        let outcome = self.token.with_session("the Ed25519 signature", |session| {
            session
                .sign(&mechanism, self.key, message)
                .inspect_err(|e| {
                    refused = matches!(e, CkError::Pkcs11(RvError::MechanismInvalid, _));
                })
        });
        if refused {
            // A token may describe a mechanism it is configured not to perform.
            return Err(no_eddsa(self.token.label()));
        }
        outcome
    }
}

fn no_eddsa(token: &str) -> Pkcs11Error {
    Pkcs11Error::NoMechanism {
        token: token.to_owned(),
        mechanism: "CKM_EDDSA (Ed25519 signatures)",
    }
}

/// Whether `CKA_EC_PARAMS` names Ed25519.
fn is_ed25519(params: &[u8]) -> bool {
    params == ED25519_OID || params == ED25519_NAME
}

/// The 32 bytes of an Ed25519 `CKA_EC_POINT`: DER OCTET STRING as PKCS#11 3.0 says, or the
/// raw bytes some modules give.
fn raw_point(point: &[u8]) -> Option<[u8; 32]> {
    let raw = match point {
        [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest,
        raw => raw,
    };
    raw.try_into().ok()
}

fn verifies(public: &[u8; 32], message: &[u8], signature: &[u8]) -> bool {
    PKey::public_key_from_raw_bytes(public, Id::ED25519)
        .and_then(|key| Verifier::new_without_digest(&key)?.verify_oneshot(signature, message))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_read_in_both_encodings_and_curves_told_apart() {
        let mut der = vec![0x04, 0x20];
        der.extend([7u8; 32]);
        assert_eq!(raw_point(&der), Some([7u8; 32]));
        assert_eq!(raw_point(&[9u8; 32]), Some([9u8; 32]));
        assert_eq!(raw_point(&der[..33]), None);
        assert!(is_ed25519(ED25519_OID));
        assert!(is_ed25519(ED25519_NAME));
        // id-Ed448 (1.3.101.113) is not Ed25519.
        assert!(!is_ed25519(&[0x06, 0x03, 0x2b, 0x65, 0x71]));
    }
}
