//! Wrapping a PKCS#8 private key for storage: under a key derived from the owner's signing
//! PIN (Argon2id), or under the installation's key-encryption key.

use std::fmt;
use std::str::FromStr;

use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use vanthu_domain::{UnitId, UserId};
use zeroize::Zeroizing;

use crate::aead::{self, KEY_LEN};
use crate::{Kek, KeyError, SigningPin};

/// Length of the random Argon2id salt in bytes.
const SALT_LEN: usize = 16;

/// Whom a wrapped key belongs to; part of the associated data of every seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOwner {
    /// A person's own signing key.
    User(UserId),
    /// An organisation's seal key.
    Unit(UnitId),
    /// A key of the installation itself (the audit log's).
    Installation,
}

/// What a wrapped key is bound to: its owner and its certificate. A ciphertext moved onto a
/// row with another owner or certificate fails to open, as if the PIN were wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBinding {
    owner: KeyOwner,
    certificate_sha256: [u8; 32],
}

impl KeyBinding {
    /// Binds a key to `owner` and to the certificate (DER) it belongs to.
    pub fn new(owner: KeyOwner, certificate_der: &[u8]) -> KeyBinding {
        KeyBinding {
            owner,
            certificate_sha256: openssl::sha::sha256(certificate_der),
        }
    }

    /// The associated data for a seal of kind `kind`: a version label, the kind, the owner
    /// and the certificate's digest, each delimited so no two bindings share a byte string.
    pub(crate) fn aad(&self, kind: &str) -> Vec<u8> {
        let owner = match self.owner {
            KeyOwner::User(u) => format!("user:{u}"),
            KeyOwner::Unit(u) => format!("unit:{u}"),
            KeyOwner::Installation => "installation".to_owned(),
        };
        let mut aad = format!("vanthu-key-v1\0{kind}\0{owner}\0").into_bytes();
        aad.extend_from_slice(&self.certificate_sha256);
        aad
    }
}

/// Argon2id cost parameters, stored with each PIN-wrapped key so they can be raised for new
/// keys while old ones still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl KdfParams {
    /// 64 MiB, 3 passes, 1 lane: about 0.1 to 0.3 s on one core of a server, memory-hard
    /// enough that a copy of the database does not give up six-digit PINs cheaply (RFC 9106
    /// second recommended option, with the memory OWASP suggests for interactive use).
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 1,
    };

    fn argon2(&self) -> Result<Argon2<'static>, KeyError> {
        let params = Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(KEY_LEN),
        )
        .map_err(|e| KeyError::Kdf(format!("{self}: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Derives the key-wrapping key from `pin` and `salt`.
    fn derive(&self, pin: &SigningPin, salt: &[u8]) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        self.argon2()?
            .hash_password_into(pin.as_bytes(), salt, key.as_mut())
            .map_err(|e| KeyError::Kdf(format!("{self}: {e}")))?;
        Ok(key)
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams::DEFAULT
    }
}

/// `argon2id$v=19$m=65536,t=3,p=1`, the parameter part of a PHC string.
impl fmt::Display for KdfParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "argon2id$v=19$m={},t={},p={}",
            self.memory_kib, self.iterations, self.parallelism
        )
    }
}

impl FromStr for KdfParams {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let bad = || KeyError::Kdf(format!("'{s}' are not argon2id$v=19$m=..,t=..,p=.."));
        let rest = s.strip_prefix("argon2id$v=19$").ok_or_else(bad)?;
        let mut values = [None; 3];
        for part in rest.split(',') {
            let (name, value) = part.split_once('=').ok_or_else(bad)?;
            let slot = match name {
                "m" => 0,
                "t" => 1,
                "p" => 2,
                _ => return Err(bad()),
            };
            if values[slot].is_some() {
                return Err(bad());
            }
            values[slot] = Some(value.parse::<u32>().map_err(|_| bad())?);
        }
        let [Some(memory_kib), Some(iterations), Some(parallelism)] = values else {
            return Err(bad());
        };
        let params = KdfParams {
            memory_kib,
            iterations,
            parallelism,
        };
        params.argon2()?;
        Ok(params)
    }
}

/// How a stored key is wrapped.
#[derive(Clone, PartialEq, Eq)]
pub enum WrapKind {
    /// Under a key derived from the owner's signing PIN.
    Pin {
        /// The Argon2id parameters used.
        kdf: KdfParams,
        /// The random salt.
        salt: Vec<u8>,
    },
    /// Under the installation's key-encryption key.
    Kek,
}

impl WrapKind {
    /// `pin` or `kek`, as stored.
    pub fn name(&self) -> &'static str {
        match self {
            WrapKind::Pin { .. } => "pin",
            WrapKind::Kek => "kek",
        }
    }
}

/// A PKCS#8 private key sealed with AES-256-GCM, as stored. `Debug` shows only lengths.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// What the sealing key is.
    pub kind: WrapKind,
    /// The 96-bit GCM nonce.
    pub nonce: Vec<u8>,
    /// The sealed PKCS#8 DER with its 16-byte tag appended.
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedKey")
            .field("kind", &self.kind.name())
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

impl WrappedKey {
    /// Seals `pkcs8` (DER) under a key derived from `pin` with a fresh salt.
    pub fn seal_with_pin(
        pkcs8: &[u8],
        pin: &SigningPin,
        binding: &KeyBinding,
        kdf: KdfParams,
    ) -> Result<WrappedKey, KeyError> {
        let mut salt = vec![0u8; SALT_LEN];
        rand::rng().fill_bytes(&mut salt);
        let key = kdf.derive(pin, &salt)?;
        let kind = WrapKind::Pin { kdf, salt };
        let sealed = aead::seal(&key, &binding.aad(kind.name()), pkcs8)?;
        Ok(WrappedKey {
            kind,
            nonce: sealed.nonce.to_vec(),
            ciphertext: sealed.ciphertext,
        })
    }

    /// Seals `pkcs8` (DER) under the key-encryption key.
    pub fn seal_with_kek(
        pkcs8: &[u8],
        kek: &Kek,
        binding: &KeyBinding,
    ) -> Result<WrappedKey, KeyError> {
        let kind = WrapKind::Kek;
        let sealed = aead::seal(kek.bytes(), &binding.aad(kind.name()), pkcs8)?;
        Ok(WrappedKey {
            kind,
            nonce: sealed.nonce.to_vec(),
            ciphertext: sealed.ciphertext,
        })
    }

    /// Opens a PIN-wrapped key: [`KeyError::WrongPin`] when `pin` (or the binding) is not
    /// the one it was sealed with. Takes the time of one Argon2id derivation.
    pub fn open_with_pin(
        &self,
        pin: &SigningPin,
        binding: &KeyBinding,
    ) -> Result<Unwrapped, KeyError> {
        let WrapKind::Pin { kdf, salt } = &self.kind else {
            return Err(KeyError::Damaged("the key is not wrapped under a PIN"));
        };
        let key = kdf.derive(pin, salt)?;
        aead::open(
            &key,
            &binding.aad(self.kind.name()),
            &self.nonce,
            &self.ciphertext,
        )?
        .map(Unwrapped)
        .ok_or(KeyError::WrongPin)
    }

    /// Opens a key wrapped under the key-encryption key.
    pub fn open_with_kek(&self, kek: &Kek, binding: &KeyBinding) -> Result<Unwrapped, KeyError> {
        if self.kind != WrapKind::Kek {
            return Err(KeyError::Damaged("the key is not wrapped under the KEK"));
        }
        aead::open(
            kek.bytes(),
            &binding.aad(self.kind.name()),
            &self.nonce,
            &self.ciphertext,
        )?
        .map(Unwrapped)
        .ok_or(KeyError::WrongKek)
    }
}

/// An unwrapped PKCS#8 private key (DER), wiped from memory when dropped. `Debug` hides it.
pub struct Unwrapped(pub(crate) Zeroizing<Vec<u8>>);

impl Unwrapped {
    /// The PKCS#8 DER, to hand to the signer.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Unwrapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Unwrapped(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters: these tests check the wrapping, not the cost.
    const FAST: KdfParams = KdfParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    fn user(id: i64) -> KeyOwner {
        KeyOwner::User(UserId::new(id).unwrap())
    }

    #[test]
    fn a_pin_wrapped_key_opens_with_its_pin_owner_and_certificate_only() {
        let pin = SigningPin::parse("246810").unwrap();
        let binding = KeyBinding::new(user(7), b"certificate");
        let key = b"0\x82pkcs8 private key";
        let wrapped = WrappedKey::seal_with_pin(key, &pin, &binding, FAST).unwrap();
        assert!(!wrapped
            .ciphertext
            .windows(key.len())
            .any(|w| w == key.as_slice()));
        assert_eq!(
            wrapped.open_with_pin(&pin, &binding).unwrap().pkcs8_der(),
            key
        );

        let wrong = SigningPin::parse("135790").unwrap();
        assert!(matches!(
            wrapped.open_with_pin(&wrong, &binding),
            Err(KeyError::WrongPin)
        ));
        let other_user = KeyBinding::new(user(8), b"certificate");
        assert!(matches!(
            wrapped.open_with_pin(&pin, &other_user),
            Err(KeyError::WrongPin)
        ));
        let other_cert = KeyBinding::new(user(7), b"another certificate");
        assert!(matches!(
            wrapped.open_with_pin(&pin, &other_cert),
            Err(KeyError::WrongPin)
        ));
        let again = WrappedKey::seal_with_pin(key, &pin, &binding, FAST).unwrap();
        assert_ne!(again, wrapped, "fresh salt and nonce");
        assert!(!format!("{wrapped:?}").contains("ciphertext:"));
    }

    #[test]
    fn a_kek_wrapped_key_opens_with_that_kek_only() {
        let kek = Kek::generate();
        let unit = KeyOwner::Unit(UnitId::new(3).unwrap());
        let binding = KeyBinding::new(unit, b"seal certificate");
        let wrapped = WrappedKey::seal_with_kek(b"seal key", &kek, &binding).unwrap();
        assert_eq!(
            wrapped.open_with_kek(&kek, &binding).unwrap().pkcs8_der(),
            b"seal key"
        );
        assert!(matches!(
            wrapped.open_with_kek(&Kek::generate(), &binding),
            Err(KeyError::WrongKek)
        ));
        let pin = SigningPin::parse("246810").unwrap();
        assert!(matches!(
            wrapped.open_with_pin(&pin, &binding),
            Err(KeyError::Damaged(_))
        ));
    }

    #[test]
    fn kdf_parameters_round_trip_and_are_checked() {
        assert_eq!(
            KdfParams::DEFAULT.to_string(),
            "argon2id$v=19$m=65536,t=3,p=1"
        );
        assert_eq!(
            "argon2id$v=19$m=65536,t=3,p=1"
                .parse::<KdfParams>()
                .unwrap(),
            KdfParams::DEFAULT
        );
        for bad in [
            "argon2i$v=19$m=65536,t=3,p=1",
            "argon2id$v=19$m=65536,t=3",
            "argon2id$v=19$m=65536,t=3,p=1,p=1",
            "argon2id$v=19$m=x,t=3,p=1",
            "argon2id$v=19$m=65536,t=0,p=1",
        ] {
            assert!(bad.parse::<KdfParams>().is_err(), "{bad}");
        }
    }
}
