//! `drivesync keys rotate` while a server runs: the running store picks up the rotated key
//! file, reads values re-encrypted under the new key, and seals new values under it.

use secrecy::{ExposeSecret, SecretString};
use store::{AuthKind, Keyring, NewLocation, RefreshedTokens, Store};

fn location(id: &str, token: &str) -> NewLocation {
    NewLocation {
        location_id: id.into(),
        company_id: None,
        name: None,
        auth: AuthKind::OAuth,
        user_type: ghl::UserType::Location,
        scopes: vec!["contacts.readonly".into()],
        access_token: SecretString::from(format!("access-{token}")),
        refresh_token: Some(SecretString::from(format!("refresh-{token}"))),
        expires_at_ms: Some(1),
    }
}

#[tokio::test]
async fn a_running_store_follows_a_key_rotation_made_elsewhere() {
    let db = testkit::TestDb::sqlite();
    let (dir, url) = (db.data_dir(), &db.url);
    let server = db.connect(db.keyring()).await;
    server
        .save_location(&location("locA", "one"))
        .await
        .unwrap();
    let old_id = server.keyring().current_id().to_string();

    // Another process: `keys rotate --remove-old`.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let rotated = Keyring::rotate_file(dir).unwrap();
    let new_id = rotated.current_id().to_string();
    let admin = Store::connect(url, rotated).await.unwrap();
    assert!(admin.reencrypt_all().await.unwrap() >= 2);
    Keyring::remove_key(dir, &old_id).unwrap();

    // The server reads what was re-encrypted, and seals what it writes with the new key.
    let rec = server.location("locA").await.unwrap().unwrap();
    assert_eq!(rec.access_token.expose_secret(), "access-one");
    assert_eq!(server.keyring().current_id(), new_id);
    let owner = "worker-1";
    assert!(server
        .try_lease_refresh("locA", owner, std::time::Duration::from_secs(30))
        .await
        .unwrap()
        .is_some());
    let fresh = RefreshedTokens {
        access_token: SecretString::from("access-two".to_string()),
        refresh_token: Some(SecretString::from("refresh-two".to_string())),
        expires_at_ms: 2,
        scopes: vec!["contacts.readonly".into()],
    };
    assert!(server.commit_refresh("locA", owner, &fresh).await.unwrap());
    let usage = admin.key_usage().await.unwrap();
    assert_eq!(
        usage.keys().cloned().collect::<Vec<_>>(),
        vec![new_id.clone()],
        "{usage:?}"
    );
    // And a third process that only knows the file reads everything.
    let later = Store::connect(url, Keyring::load_or_create_file(dir).unwrap())
        .await
        .unwrap();
    let rec = later.location("locA").await.unwrap().unwrap();
    assert_eq!(rec.access_token.expose_secret(), "access-two");
}
