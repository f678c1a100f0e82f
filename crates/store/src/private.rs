//! Files and directories only the server's own user may read: the database, the blobs and the
//! keys are confidential documents. Modes are set explicitly rather than left to the umask,
//! which a service manager or a shell may have made permissive.

use std::fs::{self, DirBuilder, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of every directory the store creates: owner only.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file the store creates: owner read and write.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` and any missing parents as owner-only directories, and makes `dir` itself
/// owner-only even if it existed (the umask can only narrow the mode given at creation).
pub fn create_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))
}

/// Creates `file` empty and owner-only unless it exists; an existing file is left as it is.
pub fn create_file(file: &Path) -> io::Result<()> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(file)
    {
        Ok(created) => created.set_permissions(Permissions::from_mode(FILE_MODE)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn modes_are_private_and_existing_files_untouched() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a").join("b");
        create_dir(&dir).unwrap();
        assert_eq!(mode(&dir), DIR_MODE);
        assert_eq!(mode(&root.path().join("a")), DIR_MODE);
        let file = dir.join("f");
        create_file(&file).unwrap();
        assert_eq!(mode(&file), FILE_MODE);
        fs::write(&file, b"kept").unwrap();
        create_file(&file).unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"kept");
    }
}
