//! Content-addressed storage of document files.
//!
//! A blob is named by the SHA-256 of its content, so identical files are stored once and a
//! name always promises its content. The file system implementation never lets a partial
//! write appear under a final name: content goes to a temporary file, is flushed to disk, and
//! only then renamed into place.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;
use vanthu_domain::Sha256Digest;

/// Failure of a blob store.
#[derive(Debug, Error)]
pub enum BlobError {
    /// No blob has this digest.
    #[error("no stored file has the digest {0}")]
    NotFound(Sha256Digest),
    /// Reading the input or the storage failed.
    #[error("file storage error at {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> BlobError + '_ {
    move |source| BlobError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A stored blob: its name and length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlobRef {
    /// SHA-256 of the content.
    pub sha256: Sha256Digest,
    /// Length in bytes.
    pub size: u64,
}

/// Where document files live. The file system is the first implementation; object storage
/// can follow behind the same trait.
pub trait BlobStore: Send + Sync {
    /// Stores everything `reader` yields and returns its digest and size. Storing content that
    /// is already present leaves the existing blob as it is.
    fn put(&self, reader: &mut dyn Read) -> Result<BlobRef, BlobError>;

    /// [`put`](Self::put) for content already in memory: hashed first, so content that is
    /// already present is not written again at all.
    fn put_bytes(&self, bytes: &[u8]) -> Result<BlobRef, BlobError>;

    /// Opens a blob for reading.
    fn open(&self, sha256: &Sha256Digest) -> Result<Box<dyn Read + Send>, BlobError>;

    /// Whether a blob with this digest is stored.
    fn exists(&self, sha256: &Sha256Digest) -> Result<bool, BlobError>;

    /// Every stored digest, sorted.
    fn list(&self) -> Result<Vec<Sha256Digest>, BlobError>;

    /// Re-reads a blob and tells whether its content still hashes to its name.
    fn verify(&self, sha256: &Sha256Digest) -> Result<bool, BlobError>;

    /// Names of unfinished writes left behind by a crash.
    fn temp_leftovers(&self) -> Result<Vec<String>, BlobError>;

    /// Removes unfinished writes left behind by a crash; returns how many were removed. Call
    /// it only while no write is in progress (e.g. at start-up).
    fn cleanup_temp(&self) -> Result<usize, BlobError>;
}

/// Blobs as files under a directory: `<dir>/sha256/ab/cdef...` (the first two hex digits
/// name a subdirectory so no directory grows too large) and in-progress writes in
/// `<dir>/tmp/`.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    /// Opens (creating if needed) a blob store rooted at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Result<FsBlobStore, BlobError> {
        let store = FsBlobStore { root: dir.into() };
        // Temporary files are created 0600 by `tempfile` and keep that mode when renamed.
        for d in [store.root.clone(), store.objects_dir(), store.tmp_dir()] {
            crate::private::create_dir(&d).map_err(io_at(&d))?;
        }
        Ok(store)
    }

    /// The directory the store lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn objects_dir(&self) -> PathBuf {
        self.root.join("sha256")
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Where the blob with this digest lives (whether or not it exists).
    pub fn path_of(&self, sha256: &Sha256Digest) -> PathBuf {
        let hex = sha256.as_str();
        self.objects_dir().join(&hex[..2]).join(&hex[2..])
    }
}

/// Makes a rename or a new directory entry durable: on Linux a rename is only on disk once
/// the directory holding it is synced.
fn sync_dir(dir: &Path) -> Result<(), BlobError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_at(dir))
}

fn hash_reader(
    reader: &mut dyn Read,
    mut sink: impl Write,
    path: &Path,
) -> Result<BlobRef, BlobError> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_at(path)(e)),
        };
        hasher.update(&buf[..n]);
        sink.write_all(&buf[..n]).map_err(io_at(path))?;
        size += n as u64;
    }
    sink.flush().map_err(io_at(path))?;
    Ok(BlobRef {
        sha256: Sha256Digest::from_bytes(&hasher.finalize().into()),
        size,
    })
}

impl FsBlobStore {
    /// A new temporary file for a write, locked until it is closed (or the process dies) so
    /// that another server instance sharing this folder can tell a live upload from a
    /// crashed one. Dropped (and deleted) on every error path; only a crash leaves it behind.
    fn temp_file(&self) -> Result<tempfile::NamedTempFile, BlobError> {
        let tmp_dir = self.tmp_dir();
        let tmp = tempfile::Builder::new()
            .prefix("upload-")
            .suffix(".part")
            .tempfile_in(&tmp_dir)
            .map_err(io_at(&tmp_dir))?;
        tmp.as_file().lock().map_err(io_at(tmp.path()))?;
        Ok(tmp)
    }

    /// Puts the written `tmp` in place as `blob`: flushed to disk first, then renamed, then
    /// the rename made durable. Content already stored stays as it is.
    fn persist(&self, tmp: tempfile::NamedTempFile, blob: &BlobRef) -> Result<(), BlobError> {
        let final_path = self.path_of(&blob.sha256);
        if final_path.exists() {
            return Ok(());
        }
        tmp.as_file().sync_all().map_err(io_at(tmp.path()))?;
        let shard = final_path
            .parent()
            .expect("blob paths have a shard directory");
        if !shard.exists() {
            crate::private::create_dir(shard).map_err(io_at(shard))?;
            sync_dir(&self.objects_dir())?;
        }
        tmp.persist(&final_path)
            .map_err(|e| io_at(&final_path)(e.error))?;
        sync_dir(shard)
    }
}

impl BlobStore for FsBlobStore {
    fn put(&self, reader: &mut dyn Read) -> Result<BlobRef, BlobError> {
        let mut tmp = self.temp_file()?;
        let tmp_path = tmp.path().to_owned();
        let blob = hash_reader(reader, io::BufWriter::new(tmp.as_file_mut()), &tmp_path)?;
        self.persist(tmp, &blob)?;
        Ok(blob)
    }

    /// Hashed once, then written in one piece.
    fn put_bytes(&self, bytes: &[u8]) -> Result<BlobRef, BlobError> {
        let blob = BlobRef {
            sha256: Sha256Digest::from_bytes(&Sha256::digest(bytes).into()),
            size: bytes.len() as u64,
        };
        if self.exists(&blob.sha256)? {
            return Ok(blob);
        }
        let mut tmp = self.temp_file()?;
        tmp.as_file_mut()
            .write_all(bytes)
            .map_err(io_at(tmp.path()))?;
        self.persist(tmp, &blob)?;
        Ok(blob)
    }

    fn open(&self, sha256: &Sha256Digest) -> Result<Box<dyn Read + Send>, BlobError> {
        let path = self.path_of(sha256);
        match File::open(&path) {
            Ok(f) => Ok(Box::new(f)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(BlobError::NotFound(sha256.clone()))
            }
            Err(e) => Err(io_at(&path)(e)),
        }
    }

    fn exists(&self, sha256: &Sha256Digest) -> Result<bool, BlobError> {
        let path = self.path_of(sha256);
        path.try_exists().map_err(io_at(&path))
    }

    fn list(&self) -> Result<Vec<Sha256Digest>, BlobError> {
        let objects = self.objects_dir();
        let mut out = Vec::new();
        for shard in fs::read_dir(&objects).map_err(io_at(&objects))? {
            let shard = shard.map_err(io_at(&objects))?;
            let prefix = shard.file_name().to_string_lossy().into_owned();
            if prefix.len() != 2 || !shard.path().is_dir() {
                continue;
            }
            let shard_path = shard.path();
            for entry in fs::read_dir(&shard_path).map_err(io_at(&shard_path))? {
                let entry = entry.map_err(io_at(&shard_path))?;
                let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
                // Anything not named like a digest was not written by this store.
                if let Ok(digest) = Sha256Digest::parse(&name) {
                    if digest.as_str() == name {
                        out.push(digest);
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn verify(&self, sha256: &Sha256Digest) -> Result<bool, BlobError> {
        let mut reader = self.open(sha256)?;
        let path = self.path_of(sha256);
        let actual = hash_reader(&mut reader, io::sink(), &path)?;
        Ok(&actual.sha256 == sha256)
    }

    fn temp_leftovers(&self) -> Result<Vec<String>, BlobError> {
        let tmp = self.tmp_dir();
        let mut names: Vec<String> = fs::read_dir(&tmp)
            .map_err(io_at(&tmp))?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()
            .map_err(io_at(&tmp))?;
        names.sort();
        Ok(names)
    }

    fn cleanup_temp(&self) -> Result<usize, BlobError> {
        let mut removed = 0;
        for name in self.temp_leftovers()? {
            let path = self.tmp_dir().join(name);
            let file = match File::open(&path) {
                Ok(file) => file,
                // Finished (renamed or deleted) by its writer in the meantime.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_at(&path)(e)),
            };
            match file.try_lock() {
                Ok(()) => {}
                // Another live process is still writing it.
                Err(fs::TryLockError::WouldBlock) => continue,
                Err(fs::TryLockError::Error(e)) => return Err(io_at(&path)(e)),
            }
            fs::remove_file(&path).map_err(io_at(&path))?;
            removed += 1;
        }
        if removed > 0 {
            tracing::info!(removed, "removed unfinished uploads");
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn store() -> (tempfile::TempDir, FsBlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::new(dir.path().join("blobs")).unwrap();
        (dir, store)
    }

    fn read_all(store: &FsBlobStore, sha: &Sha256Digest) -> Vec<u8> {
        let mut out = Vec::new();
        store.open(sha).unwrap().read_to_end(&mut out).unwrap();
        out
    }

    /// Yields some bytes and then fails, like a client that disconnects mid-upload.
    struct BrokenReader {
        sent: bool,
    }

    impl Read for BrokenReader {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.sent {
                Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "client went away",
                ))
            } else {
                self.sent = true;
                buf[..4].copy_from_slice(b"%PDF");
                Ok(4)
            }
        }
    }

    #[test]
    fn content_is_stored_under_its_digest() {
        let (_dir, store) = store();
        let content = b"%PDF-1.7\nhello".repeat(10_000);
        let blob = store.put(&mut Cursor::new(&content)).unwrap();
        let expected = Sha256Digest::from_bytes(&Sha256::digest(&content).into());
        assert_eq!(
            blob,
            BlobRef {
                sha256: expected.clone(),
                size: content.len() as u64
            }
        );
        let hex = expected.as_str();
        let path = store.root().join("sha256").join(&hex[..2]).join(&hex[2..]);
        assert_eq!(store.path_of(&expected), path);
        assert_eq!(fs::read(&path).unwrap(), content);
        assert_eq!(read_all(&store, &expected), content);
        assert!(store.exists(&expected).unwrap());
        assert!(store.verify(&expected).unwrap());

        // Identical content is kept once.
        assert_eq!(store.put(&mut Cursor::new(&content)).unwrap(), blob);
        let empty = store.put(&mut io::empty()).unwrap();
        assert_eq!(empty.size, 0);
        assert_eq!(
            empty.sha256.as_str(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut all = vec![expected, empty.sha256];
        all.sort();
        assert_eq!(store.list().unwrap(), all);
        assert!(store.temp_leftovers().unwrap().is_empty());
    }

    #[test]
    fn bytes_in_memory_are_stored_alike_and_not_rewritten() {
        let (_dir, store) = store();
        let content = b"%PDF-1.7\nin memory".repeat(1_000);
        let blob = store.put_bytes(&content).unwrap();
        assert_eq!(blob, store.put(&mut Cursor::new(&content)).unwrap());
        assert_eq!(read_all(&store, &blob.sha256), content);

        // Present content is recognised by its digest and not written again: with the
        // folder of unfinished writes replaced by a plain file, writing is impossible (for
        // root too), yet storing the same bytes again succeeds.
        let tmp = store.root().join("tmp");
        fs::rename(&tmp, store.root().join("tmp.away")).unwrap();
        fs::write(&tmp, b"not a folder").unwrap();
        let again = store.put_bytes(&content);
        let other = store.put_bytes(b"other content");
        fs::remove_file(&tmp).unwrap();
        fs::rename(store.root().join("tmp.away"), &tmp).unwrap();
        assert_eq!(again.unwrap(), blob);
        assert!(
            other.is_err(),
            "new content needs the folder of unfinished writes"
        );
    }

    #[test]
    fn missing_and_damaged_blobs_are_reported() {
        let (_dir, store) = store();
        let absent = Sha256Digest::from_bytes(&[7; 32]);
        assert!(!store.exists(&absent).unwrap());
        assert!(matches!(store.open(&absent), Err(BlobError::NotFound(d)) if d == absent));
        assert!(matches!(store.verify(&absent), Err(BlobError::NotFound(_))));

        let blob = store.put(&mut Cursor::new(b"original")).unwrap();
        fs::write(store.path_of(&blob.sha256), b"tampered").unwrap();
        assert!(!store.verify(&blob.sha256).unwrap());
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let (_dir, store) = store();
        let err = store.put(&mut BrokenReader { sent: false }).unwrap_err();
        assert!(err.to_string().contains("client went away"), "{err}");
        assert!(store.list().unwrap().is_empty());
        assert!(store.temp_leftovers().unwrap().is_empty());
    }

    /// Set in the child process of [`a_killed_writer_leaves_no_partial_blob`].
    const CRASH_DIR_ENV: &str = "VANTHU_BLOB_CRASH_DIR";

    /// Feeds data forever, slowly, so the writer is always mid-write when it is killed.
    struct EndlessReader;

    impl Read for EndlessReader {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            std::thread::sleep(std::time::Duration::from_millis(1));
            buf.fill(b'x');
            Ok(buf.len())
        }
    }

    #[test]
    #[ignore = "helper: a_killed_writer_leaves_no_partial_blob runs it in a child process"]
    fn crash_child_writer() {
        if let Ok(dir) = std::env::var(CRASH_DIR_ENV) {
            let store = FsBlobStore::new(dir).unwrap();
            store.put(&mut EndlessReader).unwrap();
        }
    }

    #[test]
    fn a_killed_writer_leaves_no_partial_blob() {
        let (_dir, store) = store();
        let kept = store
            .put(&mut Cursor::new(b"stored before the crash"))
            .unwrap();
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "blob::tests::crash_child_writer",
                "--ignored",
                "--nocapture",
            ])
            .env(CRASH_DIR_ENV, store.root())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let tmp = store.root().join("tmp");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let written = || {
            fs::read_dir(&tmp)
                .unwrap()
                .filter_map(Result::ok)
                .map(|e| e.metadata().map_or(0, |m| m.len()))
                .sum::<u64>()
        };
        while written() < 1024 * 1024 {
            assert!(
                std::time::Instant::now() < deadline,
                "the child never started writing"
            );
            assert!(
                child.try_wait().unwrap().is_none(),
                "the child exited early"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // SIGKILL: no destructor, no cleanup.
        child.kill().unwrap();
        child.wait().unwrap();

        assert_eq!(store.list().unwrap(), vec![kept.sha256.clone()]);
        assert!(store.verify(&kept.sha256).unwrap());
        assert_eq!(store.temp_leftovers().unwrap().len(), 1);
        assert_eq!(store.cleanup_temp().unwrap(), 1);
        assert!(store.temp_leftovers().unwrap().is_empty());
        // The store still works after the crash.
        let after = store.put(&mut Cursor::new(b"after")).unwrap();
        assert!(store.verify(&after.sha256).unwrap());
    }

    #[test]
    fn cleanup_spares_an_upload_still_being_written() {
        let (_dir, store) = store();
        let live = store.root().join("tmp").join("upload-live.part");
        let writer = File::create(&live).unwrap();
        writer.lock().unwrap();
        // Another handle, as another server instance sharing the folder would have.
        assert_eq!(store.cleanup_temp().unwrap(), 0);
        assert!(live.exists());
        // Unlock explicitly: a child process forked by a concurrent test holds a copy of this
        // descriptor until it execs, and would keep the lock alive past a mere close.
        writer.unlock().unwrap();
        drop(writer);
        assert_eq!(store.cleanup_temp().unwrap(), 1);
        assert!(!live.exists());
    }

    #[test]
    fn crash_leftovers_are_listed_and_cleaned() {
        let (_dir, store) = store();
        store.put(&mut Cursor::new(b"kept")).unwrap();
        fs::write(store.root().join("tmp").join("upload-x.part"), b"half a fi").unwrap();
        // Stray files that are not blobs are not listed as blobs.
        fs::write(store.root().join("sha256").join("README"), b"not a blob").unwrap();
        assert_eq!(
            store.temp_leftovers().unwrap(),
            vec!["upload-x.part".to_string()]
        );
        assert_eq!(store.list().unwrap().len(), 1);
        assert_eq!(store.cleanup_temp().unwrap(), 1);
        assert!(store.temp_leftovers().unwrap().is_empty());
        assert_eq!(store.list().unwrap().len(), 1);
        // Re-opening an existing store keeps its content.
        let reopened = FsBlobStore::new(store.root()).unwrap();
        assert_eq!(reopened.list().unwrap(), store.list().unwrap());
    }
}
