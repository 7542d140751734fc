//! The key file, `<data_dir>/master.key`: JSON lines `{"id", "key", "created_at"}`, the last
//! line being the current key. It is only ever replaced whole (write a private temporary
//! file, then link or rename it into place), so a crash never leaves half a key file, and it
//! is created with mode 0600 so no other user can read it.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use super::{decode_key, encode_key, key_id_for, random_key, KeyOrigin, Keyring};
use crate::StoreError;

/// How long to wait for another process that is rotating or pruning the same key file.
const LOCK_WAIT: Duration = Duration::from_secs(5);

#[derive(Serialize, Deserialize)]
struct KeyLine {
    id: String,
    key: String,
    created_at: String,
}

impl Drop for KeyLine {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl KeyLine {
    fn generate() -> KeyLine {
        let material = random_key();
        KeyLine {
            id: key_id_for(material.expose_secret()),
            key: encode_key(&material).to_string(),
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }
}

pub(super) fn load_or_create(path: &Path) -> Result<Keyring, StoreError> {
    if !path.exists() {
        let first = KeyLine::generate();
        if create_exclusive(path, &render(std::slice::from_ref(&first))?)? {
            tracing::info!(path = %path.display(), key_id = %first.id, "created a new master key file");
        }
        // Otherwise another process created it first: fall through and use its key.
    }
    load(path)
}

pub(super) fn rotate(path: &Path) -> Result<Keyring, StoreError> {
    let _lock = FileLock::acquire(path)?;
    let mut lines = if path.exists() {
        read_lines(path)?
    } else {
        Vec::new()
    };
    let added = KeyLine::generate();
    if lines.iter().any(|l| l.id == added.id) {
        // 32 bits of hash colliding means the RNG is broken; refuse rather than shadow a key.
        return Err(key_file_error(
            path,
            "a new key's id collides with an existing one",
        ));
    }
    let new_id = added.id.clone();
    lines.push(added);
    replace(path, &render(&lines)?)?;
    tracing::info!(path = %path.display(), key_id = %new_id, "added a new current master key");
    load(path)
}

pub(super) fn remove(path: &Path, id: &str) -> Result<Keyring, StoreError> {
    let _lock = FileLock::acquire(path)?;
    let mut lines = read_lines(path)?;
    let Some(index) = lines.iter().position(|l| l.id == id) else {
        return Err(StoreError::KeyNotFound {
            id: id.into(),
            path: path.into(),
            known: lines
                .iter()
                .map(|l| l.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    if index == lines.len() - 1 {
        return Err(StoreError::RemoveCurrentKey { id: id.into() });
    }
    lines.remove(index);
    replace(path, &render(&lines)?)?;
    tracing::info!(path = %path.display(), key_id = %id, "removed a master key");
    load(path)
}

fn load(path: &Path) -> Result<Keyring, StoreError> {
    warn_if_readable_by_others(path);
    let lines = read_lines(path)?;
    let mut keys = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        let material = decode_key(&line.key)
            .map_err(|reason| key_file_error(path, &format!("line {}: {reason}", index + 1)))?;
        keys.push((line.id.clone(), material));
    }
    let current = keys.len().saturating_sub(1);
    Keyring::new(keys, current, KeyOrigin::File(path.into()))
        .map_err(|reason| key_file_error(path, &reason))
}

fn read_lines(path: &Path) -> Result<Vec<KeyLine>, StoreError> {
    let text = Zeroizing::new(fs::read_to_string(path).map_err(io_error(path))?);
    let mut lines = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        // serde's message can quote the input, which is key material: give the line only.
        let parsed: KeyLine = serde_json::from_str(line).map_err(|_| {
            key_file_error(
                path,
                &format!(
                    "line {} is not {{\"id\": ..., \"key\": ..., \"created_at\": ...}}",
                    index + 1
                ),
            )
        })?;
        lines.push(parsed);
    }
    if lines.is_empty() {
        return Err(key_file_error(
            path,
            "it holds no keys; restore it from a backup, or delete it to start over (data \
             sealed with the lost key cannot be read again)",
        ));
    }
    Ok(lines)
}

fn render(lines: &[KeyLine]) -> Result<Zeroizing<String>, StoreError> {
    let mut out = Zeroizing::new(String::new());
    for line in lines {
        let json = Zeroizing::new(
            serde_json::to_string(line).expect("a KeyLine of strings always serialises"),
        );
        out.push_str(&json);
        out.push('\n');
    }
    Ok(out)
}

/// Puts `content` at `path` only if nothing is there yet (hard link: atomic and never
/// clobbers). Returns false when another process got there first.
fn create_exclusive(path: &Path, content: &str) -> Result<bool, StoreError> {
    ensure_private_dir(path)?;
    let tmp = write_temp(path, content)?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_dir(path);
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        // Some filesystems have no hard links; creating in place with create_new is still
        // exclusive, only not atomic against a crash mid-write.
        Err(_) => match private_file(path) {
            Ok(mut file) => {
                file.write_all(content.as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(io_error(path))?;
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(io_error(path)(e)),
        },
    }
}

/// Replaces the file at `path` with `content` atomically.
fn replace(path: &Path, content: &str) -> Result<(), StoreError> {
    ensure_private_dir(path)?;
    let tmp = write_temp(path, content)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(io_error(path)(e));
    }
    sync_dir(path);
    Ok(())
}

fn write_temp(path: &Path, content: &str) -> Result<PathBuf, StoreError> {
    let tmp = sibling(
        path,
        &format!(".tmp-{}-{}", std::process::id(), rand::random::<u64>()),
    );
    let mut file = private_file(&tmp).map_err(io_error(&tmp))?;
    let written = file
        .write_all(content.as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_error(&tmp)(e));
    }
    Ok(tmp)
}

/// A new file that only its owner can read or write.
fn private_file(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

fn ensure_private_dir(path: &Path) -> Result<(), StoreError> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    crate::private_fs::create_dir(dir).map_err(io_error(dir))
}

/// Makes a rename or link durable; best effort, as not every platform can open a directory.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format!("{mode:o}"),
                    "the master key file is accessible to other users; run chmod 600 on it"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// An exclusive lock on the key file for read-modify-write (rotate, remove), so two processes
/// rotating at once cannot each drop the other's new key. A lock file rather than `flock`
/// keeps to the workspace's minimum Rust version.
struct FileLock {
    path: PathBuf,
}

impl FileLock {
    fn acquire(key_file: &Path) -> Result<FileLock, StoreError> {
        ensure_private_dir(key_file)?;
        let path = sibling(key_file, ".lock");
        let started = Instant::now();
        loop {
            match private_file(&path) {
                Ok(_) => return Ok(FileLock { path }),
                Err(e) if e.kind() == ErrorKind::AlreadyExists && started.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    return Err(key_file_error(
                        key_file,
                        &format!(
                            "another process is changing it ({} exists); if none is, delete \
                             that lock file and retry",
                            path.display()
                        ),
                    ));
                }
                Err(e) => return Err(io_error(&path)(e)),
            }
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn key_file_error(path: &Path, reason: &str) -> StoreError {
    StoreError::KeyFile {
        path: path.into(),
        reason: reason.into(),
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::KeyFileIo { path, source }
}
