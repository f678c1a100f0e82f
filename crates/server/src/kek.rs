//! The key-encryption key, loaded once per command from the configured file or environment
//! variable, or, for demonstration installations only, from the data directory.

use std::path::Path;

use anyhow::{bail, Context};
use vanthu_keys::Kek;

use crate::configuration::KekSource;

/// Name of the demonstration key-encryption key's file in the data directory.
pub const DEMO_KEK_FILE: &str = "demo-kek";

/// The key-encryption key from `source`. Without one, only a demonstration installation
/// (`demo`: --demo or --dev) gets a key, kept in the data directory: a copy of that
/// directory then opens every seal key in it, which is acceptable for keys that are for
/// show only.
pub fn load(source: Option<&KekSource>, data_dir: &Path, demo: bool) -> anyhow::Result<Kek> {
    let kek = match source {
        Some(KekSource::File(path)) => {
            let inside = match (path.canonicalize(), data_dir.canonicalize()) {
                (Ok(file), Ok(data)) => file.starts_with(data),
                _ => false,
            };
            if inside {
                bail!(
                    "refusing to start: the key-encryption key file {} is inside the data \
                     directory {}; keep it elsewhere, so that a copy of the data does not \
                     carry the key that opens it",
                    path.display(),
                    data_dir.display()
                );
            }
            Kek::read_file(path).context("invalid setting kek_file")?
        }
        Some(KekSource::Environment(text)) => {
            Kek::from_base64(text).context("invalid environment variable VANTHU_KEK")?
        }
        None if demo => {
            let path = data_dir.join(DEMO_KEK_FILE);
            let kek = Kek::read_or_create_file(&path)?;
            tracing::warn!(
                path = %path.display(),
                kek = %kek.id(),
                "DEMO KEY-ENCRYPTION KEY in the data directory (--demo/--dev): seal keys \
                 stored here are for show only; configure --kek-file or VANTHU_KEK for real keys"
            );
            return Ok(kek);
        }
        None => bail!(
            "refusing to start: no key-encryption key is configured. Make one outside the \
             data directory with `openssl rand -base64 32 > /etc/vanthu/kek && chmod 600 \
             /etc/vanthu/kek` and start with --kek-file /etc/vanthu/kek (or VANTHU_KEK_FILE, \
             or the key itself in VANTHU_KEK); --demo and --dev use a demonstration key"
        ),
    };
    tracing::info!(kek = %kek.id(), "key-encryption key loaded");
    Ok(kek)
}
