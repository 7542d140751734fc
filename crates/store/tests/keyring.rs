//! The key file and `DRIVESYNC_MASTER_KEY`: creation with private permissions, rotation,
//! removal, interoperation between the two sources, and errors that never echo key material.
//! (`Keyring::from_env_or_file` itself reads the process environment, so these tests call
//! the two sources it chooses between directly, to stay independent of the caller's shell.)

use std::path::Path;

use store::vault::{KeyOrigin, KEY_FILE_NAME};
use store::{Keyring, StoreError};

fn key_lines(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join(KEY_FILE_NAME))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn key_file_is_created_private_on_first_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nested").join("data");
    let ring = Keyring::load_or_create_file(&dir).unwrap();
    let path = Keyring::key_file_path(&dir);
    assert_eq!(path, dir.join("master.key"));
    #[cfg(unix)]
    assert_eq!(
        mode(&path),
        0o600,
        "master.key must be readable by its owner only"
    );

    let lines = key_lines(&dir);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["id"], ring.current_id());
    assert!(lines[0]["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(ring.origin(), &KeyOrigin::File(path.clone()));

    // The next run reads the same key rather than making another.
    let again = Keyring::load_or_create_file(&dir).unwrap();
    assert_eq!(again.ids(), ring.ids());
    let sealed = ring.encrypt(b"token", "loc:access").unwrap();
    assert_eq!(&*again.decrypt(&sealed, "loc:access").unwrap(), b"token");
}

#[test]
fn concurrent_first_runs_agree_on_one_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let ids: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    Keyring::load_or_create_file(&dir)
                        .unwrap()
                        .current_id()
                        .to_string()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(key_lines(&dir).len(), 1);
}

#[test]
fn rotate_appends_a_new_current_key_and_remove_prunes_old_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let first = Keyring::load_or_create_file(dir).unwrap();
    let old = first.current_id().to_string();
    let sealed_old = first.encrypt(b"old", "x:access").unwrap();

    let rotated = Keyring::rotate_file(dir).unwrap();
    let new = rotated.current_id().to_string();
    assert_ne!(old, new);
    assert_eq!(rotated.ids(), [old.as_str(), new.as_str()]);
    assert_eq!(
        key_lines(dir).last().unwrap()["id"],
        new.as_str(),
        "last line is current"
    );
    #[cfg(unix)]
    assert_eq!(mode(&Keyring::key_file_path(dir)), 0o600);
    assert!(rotated
        .encrypt(b"new", "x:access")
        .unwrap()
        .starts_with(&format!("v1:{new}:")));
    assert_eq!(&*rotated.decrypt(&sealed_old, "x:access").unwrap(), b"old");

    // The current key cannot be removed; an unknown id is named with the known ones.
    assert!(matches!(
        Keyring::remove_key(dir, &new),
        Err(StoreError::RemoveCurrentKey { id }) if id == new
    ));
    let err = Keyring::remove_key(dir, "nope").unwrap_err();
    assert!(matches!(err, StoreError::KeyNotFound { .. }));
    assert!(err.to_string().contains(&old) && err.to_string().contains(&new));

    let pruned = Keyring::remove_key(dir, &old).unwrap();
    assert_eq!(pruned.ids(), [new.as_str()]);
    assert_eq!(key_lines(dir).len(), 1);
    #[cfg(unix)]
    assert_eq!(mode(&Keyring::key_file_path(dir)), 0o600);
    let err = pruned.decrypt(&sealed_old, "x:access").unwrap_err();
    assert!(matches!(err, StoreError::UnknownKey { ref key_id, .. } if *key_id == old));
    // No lock or temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["master.key"]);
}

#[test]
fn env_keys_and_file_keys_interoperate() {
    let tmp = tempfile::tempdir().unwrap();
    let from_file = Keyring::load_or_create_file(tmp.path()).unwrap();
    let key = key_lines(tmp.path())[0]["key"]
        .as_str()
        .unwrap()
        .to_string();

    // Moving the file's key into DRIVESYNC_MASTER_KEY keeps its id, so ciphertexts still open.
    let from_env = Keyring::from_env_value(&key).unwrap();
    assert_eq!(from_env.current_id(), from_file.current_id());
    assert_eq!(from_env.origin(), &KeyOrigin::Env);
    let sealed = from_file.encrypt(b"tok", "l:refresh").unwrap();
    assert_eq!(&*from_env.decrypt(&sealed, "l:refresh").unwrap(), b"tok");

    // With explicit ids, the first entry is current and the others still open old values.
    let other = Keyring::generate();
    let fresh = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let both =
        Keyring::from_env_value(&format!("next:{fresh},{}:{key}", from_file.current_id())).unwrap();
    assert_eq!(both.current_id(), "next");
    assert_eq!(&*both.decrypt(&sealed, "l:refresh").unwrap(), b"tok");
    assert!(matches!(
        other.decrypt(&sealed, "l:refresh"),
        Err(StoreError::UnknownKey { .. })
    ));
}

#[test]
fn broken_key_files_are_explained_without_echoing_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let path = Keyring::key_file_path(tmp.path());
    for (content, needle) in [
        (
            "{\"id\":\"a\",\"key\":\"SEKRIT-MATERIAL\"}\n",
            "line 1 is not",
        ),
        (
            "{\"id\":\"a\",\"key\":\"U0VLUklULU1BVEVSSUFM\",\"created_at\":\"x\"}\n",
            "not 32",
        ),
        ("\n\n", "holds no keys"),
    ] {
        std::fs::write(&path, content).unwrap();
        let err = Keyring::load_or_create_file(tmp.path()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, StoreError::KeyFile { .. }), "{msg}");
        assert!(msg.contains(needle), "{msg}");
        assert!(
            !msg.contains("SEKRIT") && !msg.contains("U0VLUklU"),
            "{msg}"
        );
    }
}
