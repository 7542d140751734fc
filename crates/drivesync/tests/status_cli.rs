//! `drivesync status` against a real store: a location whose webhooks verified once and now
//! all fail their signature is flagged loudly, refusals are listed by reason, scopes the
//! connection lacks are named, and a reconcile's cost is shown (estimated until measured).

use std::process::Command;

fn status(dir: &std::path::Path, json: bool) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_drivesync"));
    cmd.arg("status").arg("--data-dir").arg(dir);
    if json {
        cmd.arg("--json");
    }
    let out = cmd
        .env_remove("DRIVESYNC_MASTER_KEY")
        .env_remove("DRIVESYNC_DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn signature_failures_scopes_and_reconcile_cost_are_shown() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = format!("sqlite://{}", d.join("drivesync.db").display());
    let keyring = store::Keyring::load_or_create_file(d).unwrap();
    let store = store::Store::connect(&url, keyring).await.unwrap();
    store
        .save_location(&store::NewLocation {
            location_id: "locA".into(),
            company_id: None,
            name: Some("Agency A".into()),
            auth: store::AuthKind::PrivateIntegration,
            user_type: "Location".into(),
            scopes: vec!["contacts.readonly".into(), "contacts.write".into()],
            access_token: "pit-test".to_string().into(),
            refresh_token: None,
            expires_at_ms: None,
        })
        .await
        .unwrap();
    store
        .ensure_sync_state("locA", 60_000, 86_400_000)
        .await
        .unwrap();
    store
        .record_event_applied("locA", Some(40), false)
        .await
        .unwrap();
    let later = chrono::Utc::now().timestamp_millis() + 1_000;
    store
        .add_webhook_refusals(&[
            store::RefusalCount {
                scope: "locA".into(),
                reason: "bad_signature".into(),
                count: 4,
                first_ms: later,
                last_ms: later + 500,
            },
            store::RefusalCount {
                scope: String::new(),
                reason: "no_key_for_signature".into(),
                count: 2,
                first_ms: later,
                last_ms: later,
            },
        ])
        .await
        .unwrap();

    let (ok, out, err) = status(d, false);
    assert!(ok, "{err}");
    assert!(out.contains("!! WEBHOOKS REFUSED"), "{out}");
    assert!(out.contains("refused        bad_signature 4"), "{out}");
    assert!(
        out.contains(
            "webhooks refused that name no location delivering here: no_key_for_signature 2"
        ),
        "{out}"
    );
    assert!(
        out.contains("missing scopes ") && out.contains("locations/tasks.readonly"),
        "{out}"
    );
    assert!(
        out.contains("reconcile cost 9 requests")
            && out.contains("estimated from the records held"),
        "{out}"
    );

    let (ok, out, err) = status(d, true);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let row = &v["locations"][0];
    assert_eq!(row["webhooks_refused"]["bad_signature"]["count"], 4);
    assert!(row["signatures_failing_since_ms"].as_i64().is_some());
    assert_eq!(
        v["webhooks_refused_unattributed"]["no_key_for_signature"]["count"],
        2
    );

    // A webhook verified and applied after the refusals: the alarm is over.
    tokio::time::sleep(std::time::Duration::from_millis(1_600)).await;
    store
        .record_event_applied("locA", Some(40), false)
        .await
        .unwrap();
    let (ok, out, _) = status(d, false);
    assert!(ok && !out.contains("WEBHOOKS REFUSED"), "{out}");
    assert!(out.contains("refused        bad_signature 4"), "{out}");
}
