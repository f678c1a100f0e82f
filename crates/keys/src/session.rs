//! Signing sessions: a correct PIN unlocks the key once (slowly, by design), and the key is
//! sealed again under a random 256-bit secret that only the client receives, inside its
//! [`SessionToken`]. The server keeps the [`SealedSessionKey`] and the session's limits in
//! the database, shared by every server instance, and cannot open it without the token; the
//! client sends the token with each signature instead of the PIN.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use zeroize::Zeroizing;

use crate::aead::{self, KEY_LEN};
use crate::{KeyBinding, KeyError, Unwrapped};

const ID_LEN: usize = 16;

/// The public name of a signing session: 16 random bytes, shown as 32 hex digits. It is no
/// secret (the database holds it); it names the session to end or to look up.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId([u8; ID_LEN]);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

impl FromStr for SessionId {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let mut id = [0u8; ID_LEN];
        hex::decode_to_slice(s, &mut id).map_err(|_| KeyError::MalformedToken)?;
        Ok(SessionId(id))
    }
}

/// What the client holds: the session's id and the secret that opens its sealed key, as
/// 64 characters of base64url. `Debug` shows only the id.
pub struct SessionToken {
    id: SessionId,
    secret: Zeroizing<[u8; KEY_LEN]>,
}

/// A session's key sealed under its token's secret, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSessionKey {
    /// The 96-bit GCM nonce.
    pub nonce: Vec<u8>,
    /// The sealed PKCS#8 DER with its tag.
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for SealedSessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedSessionKey")
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

impl SessionToken {
    /// A new session's token: fresh random id and secret.
    pub fn generate() -> SessionToken {
        let mut id = [0u8; ID_LEN];
        rand::rng().fill_bytes(&mut id);
        let mut secret = Zeroizing::new([0u8; KEY_LEN]);
        rand::rng().fill_bytes(secret.as_mut());
        SessionToken {
            id: SessionId(id),
            secret,
        }
    }

    /// Reads a token as [`SessionToken::to_text`] wrote it.
    pub fn parse(text: &str) -> Result<SessionToken, KeyError> {
        let bytes = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(text.trim())
                .map_err(|_| KeyError::MalformedToken)?,
        );
        if bytes.len() != ID_LEN + KEY_LEN {
            return Err(KeyError::MalformedToken);
        }
        let (id, secret) = bytes.split_at(ID_LEN);
        let mut token = SessionToken {
            id: SessionId([0u8; ID_LEN]),
            secret: Zeroizing::new([0u8; KEY_LEN]),
        };
        token.id.0.copy_from_slice(id);
        token.secret.copy_from_slice(secret);
        Ok(token)
    }

    /// The token as the client receives it.
    pub fn to_text(&self) -> String {
        let mut bytes = Zeroizing::new(Vec::with_capacity(ID_LEN + KEY_LEN));
        bytes.extend_from_slice(&self.id.0);
        bytes.extend_from_slice(self.secret.as_ref());
        URL_SAFE_NO_PAD.encode(bytes.as_slice())
    }

    /// The session's public id.
    pub fn id(&self) -> SessionId {
        self.id
    }

    fn aad(&self, binding: &KeyBinding) -> Vec<u8> {
        let mut aad = format!("vanthu-signing-session-v1\0{}\0", self.id).into_bytes();
        aad.extend_from_slice(&binding.aad("session"));
        aad
    }

    /// Seals an unlocked key for this session; `binding` is the key's own.
    pub fn seal(
        &self,
        key: &Unwrapped,
        binding: &KeyBinding,
    ) -> Result<SealedSessionKey, KeyError> {
        let sealed = aead::seal(&self.secret, &self.aad(binding), key.pkcs8_der())?;
        Ok(SealedSessionKey {
            nonce: sealed.nonce.to_vec(),
            ciphertext: sealed.ciphertext,
        })
    }

    /// What shows, without opening it again, that this token opens `sealed` for `binding`:
    /// SHA-256 over the token's secret, the binding and the sealed copy. A process that keeps
    /// a key it opened serves it again only to a token giving the same value (compared in
    /// constant time); another secret, sealed copy or binding gives another.
    pub fn proof(&self, sealed: &SealedSessionKey, binding: &KeyBinding) -> [u8; 32] {
        let mut hasher = openssl::sha::Sha256::new();
        hasher.update(b"vanthu-signing-session-proof-v1\0");
        hasher.update(self.secret.as_ref());
        hasher.update(&self.aad(binding));
        hasher.update(&sealed.nonce);
        hasher.update(&sealed.ciphertext);
        hasher.finish()
    }

    /// Opens the session's key: [`KeyError::WrongSessionSecret`] unless this token sealed it
    /// for this binding.
    pub fn open(
        &self,
        sealed: &SealedSessionKey,
        binding: &KeyBinding,
    ) -> Result<Unwrapped, KeyError> {
        aead::open(
            &self.secret,
            &self.aad(binding),
            &sealed.nonce,
            &sealed.ciphertext,
        )?
        .map(Unwrapped)
        .ok_or(KeyError::WrongSessionSecret)
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionToken({}, <redacted>)", self.id)
    }
}

#[cfg(test)]
mod tests {
    use vanthu_domain::UserId;

    use super::*;
    use crate::KeyOwner;

    #[test]
    fn a_session_opens_with_its_own_token_only() {
        let binding = KeyBinding::new(KeyOwner::User(UserId::new(4).unwrap()), b"cert");
        let key = Unwrapped(Zeroizing::new(b"pkcs8".to_vec()));
        let token = SessionToken::generate();
        let sealed = token.seal(&key, &binding).unwrap();

        let text = token.to_text();
        assert_eq!(text.len(), 64);
        let back = SessionToken::parse(&text).unwrap();
        assert_eq!(back.id(), token.id());
        assert_eq!(back.open(&sealed, &binding).unwrap().pkcs8_der(), b"pkcs8");

        assert_eq!(
            back.proof(&sealed, &binding),
            token.proof(&sealed, &binding)
        );
        let resealed = token.seal(&key, &binding).unwrap();
        assert_ne!(
            token.proof(&resealed, &binding),
            token.proof(&sealed, &binding)
        );

        let other = SessionToken::generate();
        assert_ne!(
            other.proof(&sealed, &binding),
            token.proof(&sealed, &binding)
        );
        assert!(matches!(
            other.open(&sealed, &binding),
            Err(KeyError::WrongSessionSecret)
        ));
        let someone_else = KeyBinding::new(KeyOwner::User(UserId::new(5).unwrap()), b"cert");
        assert_ne!(
            token.proof(&sealed, &someone_else),
            token.proof(&sealed, &binding)
        );
        assert!(matches!(
            token.open(&sealed, &someone_else),
            Err(KeyError::WrongSessionSecret)
        ));

        assert!(!format!("{token:?}").contains(&text));
        assert_eq!(
            token.id().to_string().parse::<SessionId>().unwrap(),
            token.id()
        );
        for bad in ["", "short", &text[..63], &format!("{text}AA")] {
            assert!(
                matches!(SessionToken::parse(bad), Err(KeyError::MalformedToken)),
                "{bad}"
            );
        }
        assert!("zz".parse::<SessionId>().is_err());
    }
}
