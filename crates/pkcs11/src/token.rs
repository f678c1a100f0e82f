//! A module loaded once per process, a token found by label and logged in once, and the pool
//! of sessions that signatures borrow.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use sha2::{Digest, Sha256};

use crate::Pkcs11Error;

/// Idle sessions kept per token: enough for the threads that sign at once (two per core in
/// `vanthu sign`, actix's blocking pool in the server); more are opened on demand and closed
/// after use.
const MAX_IDLE_SESSIONS: usize = 32;

/// How a key is named on its token: by `CKA_LABEL` or by `CKA_ID`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyRef {
    /// The object's label.
    Label(String),
    /// The object's id, the bytes that `--key-id` gives in hexadecimal.
    Id(Vec<u8>),
}

impl KeyRef {
    /// A key id from its hexadecimal form (`0a1b`, upper or lower case).
    pub fn id_from_hex(hex: &str) -> Result<Self, String> {
        let bytes = hex::decode(hex.trim()).map_err(|_| {
            format!("the key id {hex:?} is not hexadecimal (two digits per byte, e.g. 01a2)")
        })?;
        if bytes.is_empty() {
            return Err("the key id is empty".into());
        }
        Ok(Self::Id(bytes))
    }

    fn attribute(&self) -> Attribute {
        match self {
            Self::Label(label) => Attribute::Label(label.as_bytes().to_vec()),
            Self::Id(id) => Attribute::Id(id.clone()),
        }
    }
}

impl fmt::Display for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Label(label) => write!(f, "label \"{label}\""),
            Self::Id(id) => write!(f, "id {}", hex::encode(id)),
        }
    }
}

/// A logged-in token and its idle sessions.
///
/// PKCS#11 logs in the application, not a session: the first session's login holds for every
/// session opened on the token since, as long as one stays open. `_login` is that session, kept
/// for the token's life and never lent out.
pub struct Token {
    module: PathBuf,
    label: String,
    pkcs11: Pkcs11,
    slot: Slot,
    idle: Mutex<Vec<Session>>,
    _login: Mutex<Session>,
    pin_digest: [u8; 32],
    /// For a token logged in for one use ([`Token::open_for_one_use`]): its claim, released
    /// after the logout when the token is dropped.
    one_use: Option<Claim>,
}

impl Drop for Token {
    fn drop(&mut self) {
        if self.one_use.is_some() {
            // Closing the last session would log out as well; saying so costs nothing and
            // does not depend on every idle session being gone first.
            let _ = self
                ._login
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .logout();
        }
    }
}

/// Tokens logged in for one use, by module and label: nothing else in the process may open
/// them meanwhile, since PKCS#11 logs in the application and another session would find
/// the token logged in without giving a PIN.
fn claims() -> MutexGuard<'static, std::collections::HashSet<(PathBuf, String)>> {
    static CLAIMS: OnceLock<Mutex<std::collections::HashSet<(PathBuf, String)>>> = OnceLock::new();
    CLAIMS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A token's claim for one use, released when dropped.
struct Claim((PathBuf, String));

impl Drop for Claim {
    fn drop(&mut self) {
        claims().remove(&self.0);
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("module", &self.module)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// Tokens already logged in by this process, by module and label: a second signer on the same
/// token (the seal and the audit key, or many files of one run) shares its login and pool.
type OpenTokens = Mutex<HashMap<(PathBuf, String), Arc<Token>>>;

fn open_tokens() -> MutexGuard<'static, HashMap<(PathBuf, String), Arc<Token>>> {
    static TOKENS: OnceLock<OpenTokens> = OnceLock::new();
    TOKENS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The module at `path`, loaded and initialised the first time this process asks for it.
/// Loading a module twice would initialise it twice, which PKCS#11 refuses.
fn module(path: &Path) -> Result<(PathBuf, Pkcs11), Pkcs11Error> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let failed = |reason: String| Pkcs11Error::Module {
        path: path.display().to_string(),
        reason,
    };
    let canonical = path.canonicalize().map_err(|e| failed(e.to_string()))?;
    let mut modules = MODULES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(loaded) = modules.get(&canonical) {
        return Ok((canonical, loaded.clone()));
    }
    let pkcs11 = Pkcs11::new(&canonical).map_err(|e| failed(e.to_string()))?;
    // The module may use the operating system's locks: sessions are used from many threads.
    match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(failed(format!("C_Initialize: {e}"))),
    }
    modules.insert(canonical.clone(), pkcs11.clone());
    Ok((canonical, pkcs11))
}

impl Token {
    /// Opens the token labelled `label` in the module at `module` and logs in with the user
    /// PIN, once per process: asking again for the same token with the same PIN returns the
    /// same token; with another PIN, the PIN is checked by the token again.
    pub fn open(module_path: &Path, label: &str, pin: &str) -> Result<Arc<Token>, Pkcs11Error> {
        let (module, pkcs11) = module(module_path)?;
        let pin_digest: [u8; 32] = Sha256::digest(pin.as_bytes()).into();
        let key = (module.clone(), label.to_owned());
        let mut open = open_tokens();
        if claims().contains(&key) {
            return Err(Pkcs11Error::Busy(label.to_owned()));
        }
        if let Some(token) = open.get(&key) {
            if token.pin_digest == pin_digest {
                return Ok(Arc::clone(token));
            }
            // The token took the first PIN, and has one user PIN. Another C_Login could not
            // tell: it answers "already logged in" whatever the PIN.
            return Err(Pkcs11Error::WrongPin(label.to_owned()));
        }
        let token = Arc::new(Self::login(module, pkcs11, label, pin, pin_digest, None)?);
        tracing::info!(module = %token.module.display(), token = label, "PKCS#11 token logged in");
        open.insert(key, Arc::clone(&token));
        Ok(token)
    }

    /// Opens the token labelled `label` and logs in with `pin` for this one use: the login
    /// ends when the token (and every signer holding it) is dropped, and is never shared.
    /// For a person's own token whose user PIN they give for a signature: the next use
    /// needs the PIN again. While one use lasts, the token is not opened again in this
    /// process ([`Pkcs11Error::Busy`]), since a second login would find it logged in
    /// already and could not check its PIN.
    pub fn open_for_one_use(
        module_path: &Path,
        label: &str,
        pin: &str,
    ) -> Result<Arc<Token>, Pkcs11Error> {
        let (module, pkcs11) = module(module_path)?;
        let key = (module.clone(), label.to_owned());
        let claim = {
            let shared = open_tokens();
            let mut claimed = claims();
            if shared.contains_key(&key) || !claimed.insert(key.clone()) {
                return Err(Pkcs11Error::Busy(label.to_owned()));
            }
            Claim(key)
        };
        let pin_digest: [u8; 32] = Sha256::digest(pin.as_bytes()).into();
        Ok(Arc::new(Self::login(
            module,
            pkcs11,
            label,
            pin,
            pin_digest,
            Some(claim),
        )?))
    }

    /// The labels of the tokens present in the module at `module_path`, without logging in:
    /// a server finds its users' tokens by their labels.
    pub fn labels(module_path: &Path) -> Result<Vec<String>, Pkcs11Error> {
        let (_, pkcs11) = module(module_path)?;
        let slots = pkcs11
            .get_slots_with_initialized_token()
            .map_err(|e| Pkcs11Error::from_token("", "the list of slots", e))?;
        Ok(slots
            .into_iter()
            .filter_map(|slot| pkcs11.get_token_info(slot).ok())
            .map(|info| info.label().trim_end().to_owned())
            .collect())
    }

    /// The value of the certificate object labelled `object` on the token labelled `label`,
    /// read without logging in: certificates are public objects, so the server can learn a
    /// person's certificate (and list it) before they give the PIN. `None` when the token
    /// holds no such certificate; `NoToken` when no token has the label.
    pub fn public_certificate(
        module_path: &Path,
        label: &str,
        object: &str,
    ) -> Result<Option<Vec<u8>>, Pkcs11Error> {
        let (_, pkcs11) = module(module_path)?;
        let slot = find_slot(&pkcs11, label)?;
        let session = pkcs11
            .open_ro_session(slot)
            .map_err(|e| Pkcs11Error::from_token(label, "a session", e))?;
        let template = [
            Attribute::Class(ObjectClass::CERTIFICATE),
            Attribute::Label(object.as_bytes().to_vec()),
        ];
        let found = session
            .find_objects(&template)
            .map_err(|e| Pkcs11Error::from_token(label, "a search for certificates", e))?;
        match found.first() {
            Some(handle) => value_of(&session, *handle)
                .map_err(|e| Pkcs11Error::from_token(label, "reading a certificate", e)),
            None => Ok(None),
        }
    }

    /// The session that logs the token in, and the token around it.
    fn login(
        module: PathBuf,
        pkcs11: Pkcs11,
        label: &str,
        pin: &str,
        pin_digest: [u8; 32],
        one_use: Option<Claim>,
    ) -> Result<Token, Pkcs11Error> {
        let slot = find_slot(&pkcs11, label)?;
        let session = pkcs11
            .open_ro_session(slot)
            .map_err(|e| Pkcs11Error::from_token(label, "a session", e))?;
        match session.login(UserType::User, Some(&AuthPin::from(pin.to_owned()))) {
            Ok(()) => {}
            // Another application's login (or one left by a crash of this process's
            // module user) holds: a shared login may use it, a single use may not, since
            // the PIN it was given would go unchecked.
            Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) if one_use.is_none() => {}
            Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {
                return Err(Pkcs11Error::Busy(label.to_owned()))
            }
            Err(e) => return Err(Pkcs11Error::from_token(label, "the login", e)),
        }
        Ok(Token {
            module,
            label: label.to_owned(),
            pkcs11,
            slot,
            idle: Mutex::new(Vec::new()),
            _login: Mutex::new(session),
            pin_digest,
            one_use,
        })
    }

    /// The token's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The module's path.
    pub fn module(&self) -> &Path {
        &self.module
    }

    /// The module, for what the pool does not cover (storing objects).
    pub(crate) fn pkcs11(&self) -> &Pkcs11 {
        &self.pkcs11
    }

    /// The token's slot now.
    pub(crate) fn slot(&self) -> Slot {
        self.slot
    }

    /// Runs `work` on a session of the pool (one opened if none is idle) and gives the session
    /// back unless the token went away meanwhile.
    pub(crate) fn with_session<R>(
        &self,
        what: &'static str,
        work: impl FnOnce(&Session) -> Result<R, CkError>,
    ) -> Result<R, Pkcs11Error> {
        let idle = self.lock_idle().pop();
        let session = match idle {
            Some(session) => session,
            None => self
                .pkcs11
                .open_ro_session(self.slot)
                .map_err(|e| Pkcs11Error::from_token(&self.label, what, e))?,
        };
        let outcome = work(&session).map_err(|e| match e {
            // The objects of a token that was pulled out and another (or none) put in.
            CkError::Pkcs11(RvError::ObjectHandleInvalid | RvError::KeyHandleInvalid, _)
                if !self.present() =>
            {
                Pkcs11Error::Removed(self.label.clone())
            }
            e => Pkcs11Error::from_token(&self.label, what, e),
        });
        let keep = match &outcome {
            Ok(_) => true,
            Err(e) => e.session_survives(),
        };
        if keep {
            let mut idle = self.lock_idle();
            if idle.len() < MAX_IDLE_SESSIONS {
                idle.push(session);
            }
        }
        if matches!(outcome, Err(Pkcs11Error::Removed(_))) {
            // Every idle session is as dead as this one; a token put back needs a new login.
            self.lock_idle().clear();
            open_tokens().retain(|_, t| !std::ptr::eq(Arc::as_ptr(t), self));
        }
        outcome
    }

    /// Whether the token is still in its slot.
    fn present(&self) -> bool {
        find_slot(&self.pkcs11, &self.label).is_ok_and(|slot| slot == self.slot)
    }

    fn lock_idle(&self) -> MutexGuard<'_, Vec<Session>> {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The handle of the one object of `class` named by `key`, if there is one.
    pub(crate) fn find(
        &self,
        class: ObjectClass,
        key: &KeyRef,
    ) -> Result<Option<ObjectHandle>, Pkcs11Error> {
        let found = self.with_session("a search for objects", |session| {
            Ok(session
                .find_objects(&[Attribute::Class(class), key.attribute()])?
                .into_iter()
                .next())
        })?;
        // A token pulled out may still answer searches from what the module remembers, with
        // nothing: that is no missing key.
        if found.is_none() && !self.present() {
            return Err(Pkcs11Error::Removed(self.label.clone()));
        }
        Ok(found)
    }

    /// The handle of the private key named by `key`, or the error naming it.
    pub(crate) fn private_key(&self, key: &KeyRef) -> Result<ObjectHandle, Pkcs11Error> {
        self.find(ObjectClass::PRIVATE_KEY, key)?
            .ok_or_else(|| Pkcs11Error::NoKey {
                token: self.label.clone(),
                key: key.to_string(),
            })
    }

    /// The DER of every X.509 certificate the token holds, for building the chain.
    pub(crate) fn certificates(&self) -> Result<Vec<Vec<u8>>, Pkcs11Error> {
        self.with_session("a search for certificates", |session| {
            let mut all = Vec::new();
            for handle in session.find_objects(&[Attribute::Class(ObjectClass::CERTIFICATE)])? {
                all.extend(value_of(session, handle)?);
            }
            Ok(all)
        })
    }

    /// Every X.509 certificate the token holds with its label, for an inventory.
    pub fn labelled_certificates(&self) -> Result<Vec<(String, Vec<u8>)>, Pkcs11Error> {
        self.with_session("a search for certificates", |session| {
            let mut all = Vec::new();
            for handle in session.find_objects(&[Attribute::Class(ObjectClass::CERTIFICATE)])? {
                let mut label = None;
                let mut value = None;
                for attribute in
                    session.get_attributes(handle, &[AttributeType::Label, AttributeType::Value])?
                {
                    match attribute {
                        Attribute::Label(l) => {
                            label = Some(String::from_utf8_lossy(&l).into_owned())
                        }
                        Attribute::Value(v) => value = Some(v),
                        _ => {}
                    }
                }
                if let (Some(label), Some(value)) = (label, value) {
                    all.push((label, value));
                }
            }
            Ok(all)
        })
    }

    /// The `CKA_VALUE` of a certificate object.
    pub(crate) fn certificate(&self, handle: ObjectHandle) -> Result<Option<Vec<u8>>, Pkcs11Error> {
        self.with_session("reading a certificate", |session| value_of(session, handle))
    }
}

fn value_of(session: &Session, handle: ObjectHandle) -> Result<Option<Vec<u8>>, CkError> {
    Ok(session
        .get_attributes(handle, &[AttributeType::Value])?
        .into_iter()
        .find_map(|a| match a {
            Attribute::Value(v) => Some(v),
            _ => None,
        }))
}

/// The slot whose initialised token has this label (labels are padded with spaces to 32
/// bytes); a blank token has no label worth naming.
fn find_slot(pkcs11: &Pkcs11, label: &str) -> Result<Slot, Pkcs11Error> {
    let slots = pkcs11
        .get_slots_with_initialized_token()
        .map_err(|e| Pkcs11Error::from_token(label, "the list of slots", e))?;
    let mut seen = Vec::new();
    for slot in slots {
        let Ok(info) = pkcs11.get_token_info(slot) else {
            continue;
        };
        let found = info.label().trim_end().to_owned();
        if found == label.trim_end() {
            return Ok(slot);
        }
        seen.push(format!("\"{found}\""));
    }
    Err(Pkcs11Error::NoToken {
        label: label.to_owned(),
        seen: if seen.is_empty() {
            "none".into()
        } else {
            seen.join(", ")
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_are_hex_and_named_in_messages() {
        assert_eq!(
            KeyRef::id_from_hex("0A1b").unwrap(),
            KeyRef::Id(vec![10, 27])
        );
        assert!(KeyRef::id_from_hex("xyz")
            .unwrap_err()
            .contains("hexadecimal"));
        assert!(KeyRef::id_from_hex("").is_err());
        assert_eq!(KeyRef::Id(vec![1, 0xa2]).to_string(), "id 01a2");
        assert_eq!(KeyRef::Label("seal".into()).to_string(), "label \"seal\"");
    }

    #[test]
    fn a_missing_module_is_named() {
        let e = Token::open(Path::new("/nonexistent/libnothing.so"), "t", "1234").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("/nonexistent/libnothing.so"), "{text}");
        assert!(text.starts_with("cannot load the PKCS#11 module"), "{text}");
    }
}
