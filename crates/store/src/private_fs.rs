//! Files and directories only their owner can read: the database holds contacts, password
//! hashes and webhook bodies, the data directory the master key. Directories drivesync makes
//! are 0700 and database files 0600 (SQLite gives its `-wal` and `-shm` files the mode of the
//! database file). An existing database file readable by others (made by an older release)
//! is narrowed to 0600; an existing directory is left as the operator made it, because it
//! may be shared (`.`, a home directory).

use std::path::Path;

/// Creates `dir` and any missing parents, each new one owner-only (0700).
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Makes sure the SQLite database at `path` exists owner-only before SQLite opens it, so the
/// files SQLite makes beside it are owner-only too; narrows an existing one (and its `-wal`
/// and `-shm`) that others can read.
pub(crate) fn prepare_database_file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.as_os_str().to_os_string();
            name.push(suffix);
            let file = Path::new(&name);
            let Ok(meta) = std::fs::metadata(file) else {
                continue;
            };
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode & 0o700))?;
                tracing::info!(path = %file.display(), was = format!("{mode:o}"),
                    "database file was readable by other users; now owner-only");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
