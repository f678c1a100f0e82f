//! How a package reaches an agency: one trait, two transports. HTTPS to another vanthu
//! installation's inbox lives with the server (it needs an HTTP client); the folder pair is
//! here: a package is written to the agency's outbox folder under a temporary name,
//! fsynced, then renamed, so the connector beside vanthu never reads half a package; and
//! the packages the connector leaves in an inbox folder are received in name order.

use std::io::Write;
use std::path::Path;

use super::Agency;

/// What became of a delivery the transport completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The recipient (or the connector) took the package.
    Taken,
    /// The recipient refused the package, with its reason; trying again will not help.
    Refused(String),
}

/// A way of delivering packages. An `Err` is a failure worth retrying (the recipient
/// unreachable, busy, or failing), with what went wrong.
pub trait Transport: Send + Sync {
    /// Delivers `xml`, named `name` (unique per package, stable across retries), to `agency`.
    fn deliver(&self, agency: &Agency, name: &str, xml: &[u8]) -> Result<Delivery, String>;
}

/// The sending side of the folder pair.
#[derive(Debug, Default, Clone, Copy)]
pub struct FolderTransport;

impl Transport for FolderTransport {
    fn deliver(&self, agency: &Agency, name: &str, xml: &[u8]) -> Result<Delivery, String> {
        let super::Endpoint::Folder(dir) = &agency.endpoint else {
            return Err(format!("{} has no outbox folder", agency.code));
        };
        write_atomically(dir, name, xml)
            .map_err(|e| format!("cannot write {name} in {}: {e}", dir.display()))?;
        Ok(Delivery::Taken)
    }
}

/// Writes `dir/name` whole or not at all: a hidden temporary name beside it, fsynced,
/// renamed, and the folder fsynced so the rename survives a crash. Writing the same package
/// again replaces it with the same bytes.
fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let temporary = dir.join(format!(".{name}.partial"));
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, dir.join(name))?;
    std::fs::File::open(dir)?.sync_all()
}

/// A package met in an inbox folder, and what became of it: the lines of its receipt, or
/// why it was refused.
#[derive(Debug)]
pub struct Drained {
    /// Its file name.
    pub name: String,
    /// The receipt's lines, or the refusal.
    pub outcome: Result<Vec<String>, String>,
}

/// Receives every `*.edxml` of `inbox` in name order with `receive`, telling `report` of
/// each; a received package moves to `done/`, a refused one to `refused/` beside a
/// `.reason` file; other files stay. A package moves only after `receive` returned, so one
/// met again after a crash is received again, which the receipt takes as the same package.
/// An `Err` of `receive` (the installation failing, not the package) stops the drain and
/// leaves that package where it is.
pub fn drain_folder<E: From<std::io::Error>>(
    inbox: &Path,
    mut receive: impl FnMut(&[u8]) -> Result<Result<Vec<String>, String>, E>,
    mut report: impl FnMut(Drained),
) -> Result<(), E> {
    let (done, refused) = (inbox.join("done"), inbox.join("refused"));
    for dir in [&done, &refused] {
        std::fs::create_dir_all(dir)?;
    }
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(inbox)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "edxml"))
        .collect();
    files.sort();
    for file in files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = std::fs::read(&file)?;
        let outcome = receive(&bytes)?;
        match &outcome {
            Ok(_) => std::fs::rename(&file, done.join(&name))?,
            Err(why) => {
                std::fs::write(refused.join(format!("{name}.reason")), format!("{why}\n"))?;
                std::fs::rename(&file, refused.join(&name))?;
            }
        }
        report(Drained { name, outcome });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_appears_whole_under_its_name_and_again_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let agency = Agency {
            name: "Sở Nội vụ".into(),
            code: vanthu_domain::UnitCode::parse("000.00.12.H56").unwrap(),
            endpoint: super::super::Endpoint::Folder(dir.path().join("out")),
            secret: None,
            seal_sha256: None,
        };
        for _ in 0..2 {
            assert_eq!(
                FolderTransport.deliver(&agency, "000000000001.edxml", b"<edXML/>"),
                Ok(Delivery::Taken)
            );
        }
        let names: Vec<String> = std::fs::read_dir(dir.path().join("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["000000000001.edxml"]);
        assert_eq!(
            std::fs::read(dir.path().join("out/000000000001.edxml")).unwrap(),
            b"<edXML/>"
        );
    }
}
