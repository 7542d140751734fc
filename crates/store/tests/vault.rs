//! The store's behaviour, run identically on SQLite and on PostgreSQL (see `on_both_backends!`):
//! tokens round-trip and are never stored in plaintext, ciphertexts are bound to their row and
//! field, the refresh lease has exactly one holder across tasks and processes, key rotation
//! keeps everything readable, and nothing secret shows in Debug output or errors.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{oauth_location, private_location, Env};
use store::{
    ExposeSecret, Keyring, LocationRecord, LocationState, NewLocation, RefreshedTokens,
    SecretString, Store, StoreError,
};

on_both_backends!(
    save_and_read_round_trip,
    plaintext_never_reaches_the_database,
    swapped_ciphertexts_fail_to_decrypt,
    lease_has_one_winner_among_50_tasks,
    lease_has_one_winner_across_two_processes,
    expired_lease_is_taken_over_and_stale_commit_writes_nothing,
    commit_refresh_is_durable,
    release_lease_frees_it_for_its_owner_only,
    rotation_reencrypts_everything,
    removing_the_old_key_before_reencrypting_is_a_typed_error,
    state_changes,
    remove_location,
    secrets_round_trip,
    debug_output_has_no_secrets,
);

const LONG: Duration = Duration::from_secs(60);

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn text(secret: &SecretString) -> &str {
    secret.expose_secret()
}

fn assert_matches_saved(got: &LocationRecord, want: &NewLocation) {
    assert_eq!(got.location_id, want.location_id);
    assert_eq!(got.company_id, want.company_id);
    assert_eq!(got.name, want.name);
    assert_eq!(got.auth, want.auth);
    assert_eq!(got.user_type, want.user_type);
    assert_eq!(got.scopes, want.scopes);
    assert_eq!(text(&got.access_token), text(&want.access_token));
    assert_eq!(
        got.refresh_token.as_ref().map(text),
        want.refresh_token.as_ref().map(text)
    );
    assert_eq!(got.expires_at_ms, want.expires_at_ms);
}

fn refreshed(tag: &str) -> RefreshedTokens {
    RefreshedTokens {
        access_token: SecretString::from(format!("PLAINTEXT-ROTATED-ACCESS-{tag}")),
        refresh_token: Some(SecretString::from(format!(
            "PLAINTEXT-ROTATED-REFRESH-{tag}"
        ))),
        expires_at_ms: 1_950_000_000_000,
        scopes: vec!["contacts.readonly".into()],
    }
}

async fn save_and_read_round_trip(env: Env) {
    let store = env.store().await;
    let a = oauth_location("locA");
    let b = private_location("locB");
    store.save_location(&b).await.unwrap();
    store.save_location(&a).await.unwrap();

    let got = store.location("locA").await.unwrap().expect("locA stored");
    assert_matches_saved(&got, &a);
    assert_eq!(got.state, LocationState::Ok);
    assert_eq!(got.token_version, 1);
    assert_eq!(
        (got.lease_owner.as_deref(), got.lease_until_ms),
        (None, None)
    );
    assert!(got.updated_at_ms > now_ms() - 60_000);
    assert_matches_saved(&store.location("locB").await.unwrap().unwrap(), &b);
    assert!(store.location("elsewhere").await.unwrap().is_none());
    let ids: Vec<String> = store
        .locations()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.location_id)
        .collect();
    assert_eq!(ids, ["locA", "locB"]);

    // Saving again (a new authorization) replaces tokens and metadata, makes the location
    // usable again, supersedes a refresh in flight and counts as a new token version.
    store
        .set_state("locA", LocationState::NeedsReauth)
        .await
        .unwrap();
    assert_eq!(
        store
            .try_lease_refresh("locA", "refresher", LONG)
            .await
            .unwrap(),
        Some(1)
    );
    let mut again = oauth_location("locA");
    again.access_token = SecretString::from("PLAINTEXT-ACCESS-locA-second");
    again.refresh_token = Some(SecretString::from("PLAINTEXT-REFRESH-locA-second"));
    again.scopes = vec!["locations.readonly".into()];
    again.name = None;
    store.save_location(&again).await.unwrap();
    let got = store.location("locA").await.unwrap().unwrap();
    assert_matches_saved(&got, &again);
    assert_eq!(got.state, LocationState::Ok);
    assert_eq!(got.token_version, 2);
    assert_eq!(got.lease_owner, None);
    assert!(!store
        .commit_refresh("locA", "refresher", &refreshed("superseded"))
        .await
        .unwrap());

    // Another process (a new pool, a keyring loaded from the same key file) reads the same.
    store.close().await;
    let other = env.store().await;
    assert_matches_saved(&other.location("locA").await.unwrap().unwrap(), &again);

    // An OAuth location without a refresh token is refused before anything is written.
    let mut broken = oauth_location("locC");
    broken.refresh_token = None;
    assert!(matches!(
        other.save_location(&broken).await,
        Err(StoreError::InvalidArgument(_))
    ));
    assert!(other.location("locC").await.unwrap().is_none());
}

async fn plaintext_never_reaches_the_database(env: Env) {
    let store = env.store().await;
    store.save_location(&oauth_location("locA")).await.unwrap();
    store
        .save_location(&private_location("locB"))
        .await
        .unwrap();
    store
        .put_secret(
            "oauth_client_secret",
            &SecretString::from("PLAINTEXT-CLIENT-SECRET-42"),
        )
        .await
        .unwrap();
    store
        .try_lease_refresh("locA", "me", LONG)
        .await
        .unwrap()
        .unwrap();
    assert!(store
        .commit_refresh("locA", "me", &refreshed("one"))
        .await
        .unwrap());

    let raw = env.raw_contents().await;
    let contains = |needle: &[u8]| raw.windows(needle.len()).any(|w| w == needle);
    // The scan does see the rows (ids are stored in clear) and the sealed values ...
    assert!(contains(b"locA") && contains(b"oauth_client_secret"));
    let sealed_prefix = format!("v1:{}:", store.keyring().current_id());
    assert!(contains(sealed_prefix.as_bytes()));
    // ... but no token or secret in plaintext, not even a fragment of one.
    for needle in [
        "PLAINTEXT",
        "ACCESS-locA",
        "REFRESH-locA",
        "PIT-locB",
        "CLIENT-SECRET",
        "ROTATED",
    ] {
        assert!(
            !contains(needle.as_bytes()),
            "{needle} found in raw {:?} storage",
            env.backend
        );
    }
}

async fn swapped_ciphertexts_fail_to_decrypt(env: Env) {
    let store = env.store().await;
    store.save_location(&oauth_location("locA")).await.unwrap();
    store.save_location(&oauth_location("locB")).await.unwrap();
    store
        .put_secret("first", &SecretString::from("PLAINTEXT-FIRST"))
        .await
        .unwrap();
    store
        .put_secret("second", &SecretString::from("PLAINTEXT-SECOND"))
        .await
        .unwrap();

    // locB's access token copied over locA's: valid ciphertext, same key, wrong row.
    env.exec(
        "UPDATE locations SET access_token_enc = \
         (SELECT access_token_enc FROM locations WHERE location_id = 'locB') \
         WHERE location_id = 'locA'",
    )
    .await;
    let err = store.location("locA").await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Decrypt { aad } if aad == "locA:access"),
        "{err:?}"
    );
    assert!(!err.to_string().contains("PLAINTEXT") && !format!("{err:?}").contains("PLAINTEXT"));
    assert!(matches!(
        store.locations().await,
        Err(StoreError::Decrypt { .. })
    ));

    // Access and refresh swapped within one row: right row, wrong field.
    env.exec(
        "UPDATE locations SET access_token_enc = refresh_token_enc, \
         refresh_token_enc = access_token_enc WHERE location_id = 'locB'",
    )
    .await;
    assert!(matches!(
        store.location("locB").await,
        Err(StoreError::Decrypt { aad }) if aad == "locB:access"
    ));

    // Two secrets swapped.
    env.exec(
        "UPDATE secrets SET value_enc = \
         (SELECT value_enc FROM secrets WHERE name = 'second') WHERE name = 'first'",
    )
    .await;
    assert!(matches!(
        store.secret("first").await,
        Err(StoreError::Decrypt { aad }) if aad == "secret:first"
    ));
    assert_eq!(
        text(&store.secret("second").await.unwrap().unwrap()),
        "PLAINTEXT-SECOND"
    );
}

async fn lease_has_one_winner_among_50_tasks(env: Env) {
    let store = env.store().await;
    store.save_location(&oauth_location("locL")).await.unwrap();
    let start = Arc::new(tokio::sync::Barrier::new(50));
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = store.clone();
            let start = start.clone();
            tokio::spawn(async move {
                let owner = format!("task-{i}");
                start.wait().await;
                let won = store
                    .try_lease_refresh("locL", &owner, LONG)
                    .await
                    .expect("try_lease_refresh");
                won.map(|version| (owner, version))
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        winners.extend(task.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "exactly one winner: {winners:?}");
    let (winner, version) = &winners[0];
    assert_eq!(*version, 1);
    let rec = store.location("locL").await.unwrap().unwrap();
    assert_eq!(rec.lease_owner.as_deref(), Some(winner.as_str()));
    assert!(rec.lease_until_ms.unwrap() > now_ms() + 30_000);
    // Still held: a latecomer does not get it either.
    assert_eq!(
        store.try_lease_refresh("locL", "late", LONG).await.unwrap(),
        None
    );
}

/// Set in a child process to make `lease_child_process` race for a lease (see below).
const CHILD_MODE_ENV: &str = "STORE_TEST_LEASE_CHILD";

async fn lease_has_one_winner_across_two_processes(env: Env) {
    let store = env.store().await;
    store.save_location(&oauth_location("locP")).await.unwrap();
    // Both children connect first, then start hammering at the same instant.
    let start_at = now_ms() + 2_000;
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = ["proc-a", "proc-b"]
        .into_iter()
        .map(|owner| {
            let child = tokio::process::Command::new(&exe)
                .args(["--exact", "lease_child_process", "--nocapture"])
                .env(CHILD_MODE_ENV, "1")
                .env("STORE_TEST_CHILD_URL", &env.url)
                .env("STORE_TEST_CHILD_DATA_DIR", env.data_dir())
                .env("STORE_TEST_CHILD_OWNER", owner)
                .env("STORE_TEST_CHILD_START_AT_MS", start_at.to_string())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .expect("spawn the test binary as a child");
            (owner, child)
        })
        .collect();
    let mut wins = Vec::new();
    for (owner, child) in children {
        let out = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output())
            .await
            .expect("child finished in time")
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child {owner} failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("LEASE_CHILD "))
            .unwrap_or_else(|| panic!("child {owner} reported nothing: {stdout}"));
        let (who, n) = line.split_once(" wins=").unwrap();
        assert_eq!(who, format!("owner={owner}"));
        wins.push((owner, n.parse::<u32>().unwrap()));
    }
    let total: u32 = wins.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 1, "exactly one win across both processes: {wins:?}");
    let winner = wins.iter().find(|(_, n)| *n == 1).unwrap().0;
    let rec = store.location("locP").await.unwrap().unwrap();
    assert_eq!(rec.lease_owner.as_deref(), Some(winner));
}

/// The child half of `lease_has_one_winner_across_two_processes`: a no-op in a normal test
/// run; in a child, it waits for the agreed instant, then tries to take the lease over and
/// over for 400 ms and reports how many times it succeeded.
#[test]
fn lease_child_process() {
    if std::env::var_os(CHILD_MODE_ENV).is_none() {
        return;
    }
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is set"));
    let url = var("STORE_TEST_CHILD_URL");
    let owner = var("STORE_TEST_CHILD_OWNER");
    let start_at: i64 = var("STORE_TEST_CHILD_START_AT_MS").parse().unwrap();
    let keyring = Keyring::load_or_create_file(var("STORE_TEST_CHILD_DATA_DIR").as_ref()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Store::connect(&url, keyring).await.unwrap();
        let wait = start_at - now_ms();
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        }
        let deadline = Instant::now() + Duration::from_millis(400);
        let mut wins = 0;
        while Instant::now() < deadline {
            if store
                .try_lease_refresh("locP", &owner, LONG)
                .await
                .unwrap()
                .is_some()
            {
                wins += 1;
            }
        }
        println!("LEASE_CHILD owner={owner} wins={wins}");
        store.close().await;
    });
}

async fn expired_lease_is_taken_over_and_stale_commit_writes_nothing(env: Env) {
    let store = env.store().await;
    let saved = oauth_location("locE");
    store.save_location(&saved).await.unwrap();

    assert_eq!(
        store
            .try_lease_refresh("locE", "slow", Duration::from_millis(1_000))
            .await
            .unwrap(),
        Some(1)
    );
    // (A TTL of a second leaves room for a loaded machine between these two calls.)
    assert_eq!(
        store.try_lease_refresh("locE", "fast", LONG).await.unwrap(),
        None,
        "held"
    );
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(
        store.try_lease_refresh("locE", "fast", LONG).await.unwrap(),
        Some(1),
        "an expired lease can be taken over"
    );

    // The slow refresher's lease was stolen: its commit is refused and writes nothing.
    assert!(!store
        .commit_refresh("locE", "slow", &refreshed("stale"))
        .await
        .unwrap());
    let rec = store.location("locE").await.unwrap().unwrap();
    assert_matches_saved(&rec, &saved);
    assert_eq!(rec.token_version, 1);
    assert_eq!(rec.lease_owner.as_deref(), Some("fast"));

    // The holder's commit goes through: new tokens, version bumped, lease cleared.
    let fresh = refreshed("fresh");
    assert!(store.commit_refresh("locE", "fast", &fresh).await.unwrap());
    let rec = store.location("locE").await.unwrap().unwrap();
    assert_eq!(text(&rec.access_token), text(&fresh.access_token));
    assert_eq!(
        rec.refresh_token.as_ref().map(text),
        fresh.refresh_token.as_ref().map(text)
    );
    assert_eq!(rec.expires_at_ms, Some(fresh.expires_at_ms));
    assert_eq!(rec.scopes, fresh.scopes);
    assert_eq!(rec.token_version, 2);
    assert_eq!((rec.lease_owner, rec.lease_until_ms), (None, None));
    assert!(
        !store.commit_refresh("locE", "fast", &fresh).await.unwrap(),
        "a lease is good for one commit"
    );

    // An expired lease nobody took over is not good enough either.
    assert_eq!(
        store
            .try_lease_refresh("locE", "dawdler", Duration::from_millis(100))
            .await
            .unwrap(),
        Some(2),
        "the version seen when acquired"
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(!store
        .commit_refresh("locE", "dawdler", &refreshed("late"))
        .await
        .unwrap());
    let rec = store.location("locE").await.unwrap().unwrap();
    assert_eq!(text(&rec.access_token), text(&fresh.access_token));
    assert_eq!(rec.token_version, 2);

    // Never leased at all.
    assert!(!store
        .commit_refresh("locE", "stranger", &refreshed("x"))
        .await
        .unwrap());
    assert_eq!(
        store.location("locE").await.unwrap().unwrap().token_version,
        2
    );
}

async fn commit_refresh_is_durable(env: Env) {
    let store = env.store().await;
    store.save_location(&oauth_location("locD")).await.unwrap();
    store
        .try_lease_refresh("locD", "me", LONG)
        .await
        .unwrap()
        .unwrap();
    let fresh = refreshed("durable");
    assert!(store.commit_refresh("locD", "me", &fresh).await.unwrap());
    // Read back through a brand-new pool, as another process would.
    let other = env.store().await;
    let rec = other.location("locD").await.unwrap().unwrap();
    assert_eq!(
        rec.refresh_token.as_ref().map(text),
        fresh.refresh_token.as_ref().map(text)
    );
    assert_eq!(rec.token_version, 2);
}

async fn release_lease_frees_it_for_its_owner_only(env: Env) {
    let store = env.store().await;
    store.save_location(&oauth_location("locR")).await.unwrap();
    store
        .try_lease_refresh("locR", "holder", LONG)
        .await
        .unwrap()
        .unwrap();
    store.release_lease("locR", "someone-else").await.unwrap();
    assert_eq!(
        store.try_lease_refresh("locR", "next", LONG).await.unwrap(),
        None
    );
    store.release_lease("locR", "holder").await.unwrap();
    let rec = store.location("locR").await.unwrap().unwrap();
    assert_eq!((rec.lease_owner, rec.lease_until_ms), (None, None));
    assert_eq!(
        store.try_lease_refresh("locR", "next", LONG).await.unwrap(),
        Some(1)
    );
    assert!(!store
        .commit_refresh("locR", "holder", &refreshed("after-release"))
        .await
        .unwrap());
}

async fn rotation_reencrypts_everything(env: Env) {
    let first = env.keyring();
    let old = first.current_id().to_string();
    let store = env.store_with(first).await;
    let a = oauth_location("locA");
    let b = private_location("locB");
    store.save_location(&a).await.unwrap();
    store.save_location(&b).await.unwrap();
    store
        .put_secret("client", &SecretString::from("PLAINTEXT-CLIENT"))
        .await
        .unwrap();
    assert_eq!(
        store
            .key_usage()
            .await
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        [(old.clone(), 4)]
    );

    let rotated = Keyring::rotate_file(env.data_dir()).unwrap();
    let new = rotated.current_id().to_string();
    assert_ne!(new, old);
    assert_eq!(rotated.ids(), [old.as_str(), new.as_str()]);
    let store = env.store_with(rotated).await;
    // Readable under the old key until moved; new writes use the new key.
    assert_matches_saved(&store.location("locA").await.unwrap().unwrap(), &a);
    assert_eq!(store.reencrypt_all().await.unwrap(), 4);
    assert_eq!(
        store.reencrypt_all().await.unwrap(),
        0,
        "nothing left to move"
    );
    assert_eq!(
        store
            .key_usage()
            .await
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        [(new.clone(), 4)]
    );

    let pruned = Keyring::remove_key(env.data_dir(), &old).unwrap();
    assert_eq!(pruned.ids(), [new.as_str()]);
    let store = env.store_with(pruned).await;
    assert_matches_saved(&store.location("locA").await.unwrap().unwrap(), &a);
    assert_matches_saved(&store.location("locB").await.unwrap().unwrap(), &b);
    assert_eq!(store.locations().await.unwrap().len(), 2);
    assert_eq!(
        text(&store.secret("client").await.unwrap().unwrap()),
        "PLAINTEXT-CLIENT"
    );
    let raw = env.raw_contents().await;
    let old_prefix = format!("v1:{old}:");
    assert!(!raw
        .windows(old_prefix.len())
        .any(|w| w == old_prefix.as_bytes()));
}

async fn removing_the_old_key_before_reencrypting_is_a_typed_error(env: Env) {
    let first = env.keyring();
    let old = first.current_id().to_string();
    let store = env.store_with(first).await;
    store.save_location(&oauth_location("locA")).await.unwrap();
    store
        .put_secret("client", &SecretString::from("PLAINTEXT-CLIENT"))
        .await
        .unwrap();

    Keyring::rotate_file(env.data_dir()).unwrap();
    let pruned = Keyring::remove_key(env.data_dir(), &old).unwrap();
    let store = env.store_with(pruned).await;
    let err = store.location("locA").await.unwrap_err();
    assert!(
        matches!(&err, StoreError::UnknownKey { key_id, .. } if *key_id == old),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&old) && msg.contains("restore") && msg.contains("DRIVESYNC_MASTER_KEY"),
        "{msg}"
    );
    assert!(matches!(
        store.secret("client").await,
        Err(StoreError::UnknownKey { .. })
    ));
    assert!(matches!(
        store.reencrypt_all().await,
        Err(StoreError::UnknownKey { .. })
    ));
    // Values written after the loss are unaffected.
    store
        .save_location(&private_location("locB"))
        .await
        .unwrap();
    assert!(store.location("locB").await.unwrap().is_some());
}

async fn state_changes(env: Env) {
    let store = env.store().await;
    store.save_location(&oauth_location("locS")).await.unwrap();
    for state in [
        LocationState::NeedsReauth,
        LocationState::BudgetExhausted,
        LocationState::Ok,
        LocationState::NeedsReauth,
    ] {
        store.set_state("locS", state).await.unwrap();
        assert_eq!(store.location("locS").await.unwrap().unwrap().state, state);
    }
    assert_eq!(LocationState::BudgetExhausted.as_str(), "budget_exhausted");
    assert!(matches!(
        store.set_state("nowhere", LocationState::Ok).await,
        Err(StoreError::LocationNotFound { location_id }) if location_id == "nowhere"
    ));
}

async fn remove_location(env: Env) {
    let store = env.store().await;
    store.save_location(&oauth_location("locX")).await.unwrap();
    store.save_location(&oauth_location("locY")).await.unwrap();
    assert!(store.remove_location("locX").await.unwrap());
    assert!(!store.remove_location("locX").await.unwrap());
    assert!(store.location("locX").await.unwrap().is_none());
    assert_eq!(store.locations().await.unwrap().len(), 1);
    assert!(matches!(
        store.try_lease_refresh("locX", "me", LONG).await,
        Err(StoreError::LocationNotFound { .. })
    ));
    assert!(!store
        .commit_refresh("locX", "me", &refreshed("gone"))
        .await
        .unwrap());
    assert!(store.location("locX").await.unwrap().is_none());
}

async fn secrets_round_trip(env: Env) {
    let store = env.store().await;
    assert!(store.secret("oauth_client_secret").await.unwrap().is_none());
    store
        .put_secret("oauth_client_secret", &SecretString::from("PLAINTEXT-ONE"))
        .await
        .unwrap();
    store
        .put_secret("oauth_client_secret", &SecretString::from("PLAINTEXT-TWO"))
        .await
        .unwrap();
    assert_eq!(
        text(&store.secret("oauth_client_secret").await.unwrap().unwrap()),
        "PLAINTEXT-TWO"
    );
    assert!(matches!(
        store.put_secret("a:b", &SecretString::from("x")).await,
        Err(StoreError::InvalidArgument(_))
    ));
}

async fn debug_output_has_no_secrets(env: Env) {
    let store = env.store().await;
    let new = oauth_location("locA");
    store.save_location(&new).await.unwrap();
    let rec = store.location("locA").await.unwrap().unwrap();
    let shown = format!(
        "{rec:?}\n{new:?}\n{:?}\n{:?}\n{store:?}",
        refreshed("dbg"),
        store.keyring()
    );
    assert!(
        shown.contains("locA") && shown.contains("REDACTED"),
        "{shown}"
    );
    assert!(!shown.contains("PLAINTEXT"), "{shown}");
    assert!(shown.contains(store.keyring().current_id()));
    // Nor any key material from the key file.
    let key_file = std::fs::read_to_string(Keyring::key_file_path(env.data_dir())).unwrap();
    for line in key_file.lines() {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap();
        let key = entry["key"].as_str().unwrap();
        assert!(!shown.contains(key), "key material in Debug output");
    }
}
