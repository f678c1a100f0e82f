//! Keys in PKCS#11 tokens as the command line names them: the module, the token's label, the
//! key's label or id, and the environment variable holding the user PIN (never a flag: a
//! command line is visible to every user of the machine).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, Context};
use clap::Args;
use vanthu_pades::signer::{read_certificates, SignerOptions};
use vanthu_pkcs11::{KeyRef, Pkcs11Error, Pkcs11Signer, Token};

/// Where `vanthu sign` finds a key held in a PKCS#11 token.
#[derive(Debug, Clone, Args)]
pub struct Pkcs11Args {
    /// PKCS#11 module of the token or HSM (the vendor's library), e.g.
    /// /usr/lib/softhsm/libsofthsm2.so
    #[arg(long, value_name = "PATH", conflicts_with_all = ["p12", "key"], requires = "token_label")]
    pub pkcs11_module: Option<PathBuf>,

    /// Label of the token in the module (slot numbers change as tokens come and go)
    #[arg(long, value_name = "LABEL", requires = "pkcs11_module")]
    pub token_label: Option<String>,

    /// Label of the private key on the token; its certificate is the certificate object of
    /// the same label, unless --cert gives one
    #[arg(
        long,
        value_name = "LABEL",
        requires = "pkcs11_module",
        conflicts_with = "key_id"
    )]
    pub key_label: Option<String>,

    /// Id of the private key on the token (CKA_ID, hexadecimal); its certificate is the
    /// certificate object of the same id, unless --cert gives one
    #[arg(long, value_name = "HEX", requires = "pkcs11_module")]
    pub key_id: Option<String>,

    /// Environment variable holding the token's user PIN
    #[arg(long, value_name = "VAR", default_value = "VANTHU_PKCS11_PIN")]
    pub pin_env: String,
}

impl Pkcs11Args {
    /// The signer of the key these options name, or `None` when no module is given.
    /// `certificate` and `chain` are PEM files that take the place of the token's own
    /// certificate and complete its chain.
    pub fn signer(
        &self,
        certificate: Option<&Path>,
        chain: Option<&Path>,
        options: SignerOptions,
    ) -> anyhow::Result<Option<Pkcs11Signer>> {
        let Some(module) = &self.pkcs11_module else {
            return Ok(None);
        };
        let label = self
            .token_label
            .as_deref()
            .ok_or_else(|| anyhow!("--pkcs11-module needs --token-label"))?;
        let key = match (&self.key_label, &self.key_id) {
            (Some(label), None) => KeyRef::Label(label.clone()),
            (None, Some(hex)) => KeyRef::id_from_hex(hex).map_err(|e| anyhow!("--key-id: {e}"))?,
            _ => {
                return Err(anyhow!(
                    "name the key on the token: --key-label LABEL or --key-id HEX"
                ))
            }
        };
        let token = open(module, label, &self.pin_env)?;
        let mut certs = match certificate {
            Some(path) => read_certificates(path)?,
            None => Vec::new(),
        };
        if let Some(chain) = chain {
            certs.extend(read_certificates(chain)?);
        }
        let der = |c: &openssl::x509::X509| c.to_der().context("cannot encode a certificate");
        let (own, issuers) = match certificate {
            Some(_) if !certs.is_empty() => {
                let own = der(&certs.remove(0))?;
                (Some(own), certs.iter().map(der).collect::<Result<_, _>>()?)
            }
            _ => (None, certs.iter().map(der).collect::<Result<_, _>>()?),
        };
        Ok(Some(Pkcs11Signer::open(token, key, own, issuers, options)?))
    }
}

/// Opens and logs in the token labelled `label`, the PIN read from the environment variable
/// `pin_env`.
pub fn open(module: &Path, label: &str, pin_env: &str) -> Result<Arc<Token>, Pkcs11Error> {
    let pin = std::env::var(pin_env).map_err(|_| Pkcs11Error::NoPin {
        token: label.to_owned(),
        variable: pin_env.to_owned(),
    })?;
    Token::open(module, label, &pin)
}
