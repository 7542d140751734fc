//! The SQLite database, its `-wal` and `-shm`, the master key and the directories drivesync
//! makes are readable by their owner only (issue #13: the probe found them 0644), and a
//! database file an older release left readable by others is narrowed.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use store::{Keyring, Store};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

async fn open_and_write(dir: &Path) -> Store {
    // The store makes the directories (before any key file does).
    let url = format!("sqlite://{}", dir.join("drivesync.db").display());
    let store = Store::connect(&url, Keyring::generate())
        .await
        .expect("store");
    Keyring::load_or_create_file(dir).expect("a key file");
    // A write, so the WAL and shared-memory files exist.
    store
        .put_secret("probe", &secrecy::SecretString::from("x"))
        .await
        .unwrap();
    store
}

#[tokio::test]
async fn database_key_and_data_directory_are_owner_only() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data").join("nested");
    let store = open_and_write(&data).await;
    for d in [tmp.path().join("data"), data.clone()] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
    for f in [
        "drivesync.db",
        "drivesync.db-wal",
        "drivesync.db-shm",
        "master.key",
    ] {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
    store.close().await;
}

#[tokio::test]
async fn a_readable_database_left_by_an_older_release_is_narrowed() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open_and_write(tmp.path()).await;
    store.close().await;
    let db = tmp.path().join("drivesync.db");
    for f in ["drivesync.db", "drivesync.db-wal", "drivesync.db-shm"] {
        let p = tmp.path().join(f);
        if p.exists() {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    let store = open_and_write(tmp.path()).await;
    assert_eq!(mode(&db), 0o600);
    for f in ["drivesync.db-wal", "drivesync.db-shm"] {
        assert_eq!(mode(&tmp.path().join(f)), 0o600, "{f}");
    }
    store.close().await;
}
