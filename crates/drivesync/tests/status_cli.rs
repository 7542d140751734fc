//! `drivesync status` against a real store: a location whose webhooks verified once and now
//! all fail their signature is flagged loudly, refusals are listed by reason, scopes the
//! connection lacks are named, and a reconcile's cost is shown (estimated until measured).

fn status(dir: &std::path::Path, json: bool) -> (bool, String, String) {
    let mut cmd = testkit::process::drivesync(env!("CARGO_BIN_EXE_drivesync"));
    cmd.arg("status").arg("--data-dir").arg(dir);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn connect(store: &store::Store, id: &str) {
    store
        .save_location(&store::NewLocation {
            location_id: id.into(),
            company_id: None,
            name: Some(format!("Agency {id}")),
            auth: store::AuthKind::PrivateIntegration,
            user_type: ghl::UserType::Location,
            scopes: vec!["contacts.readonly".into(), "contacts.write".into()],
            access_token: "pit-test".to_string().into(),
            refresh_token: None,
            expires_at_ms: None,
        })
        .await
        .unwrap();
    store
        .ensure_sync_state(id, 60_000, 86_400_000)
        .await
        .unwrap();
}

fn refused(
    scope: &str,
    reason: &str,
    count: u64,
    first_ms: i64,
    last_ms: i64,
) -> store::RefusalCount {
    store::RefusalCount {
        scope: scope.into(),
        reason: reason.into(),
        count,
        first_ms,
        last_ms,
    }
}

#[tokio::test]
async fn signature_failures_scopes_and_reconcile_cost_are_shown() {
    let db = testkit::TestDb::sqlite();
    let d = db.data_dir();
    let store = db.connect(db.keyring()).await;
    connect(&store, "locA").await;
    connect(&store, "locB").await;
    let now = chrono::Utc::now().timestamp_millis();
    store
        .add_webhook_refusals(&[
            // Two minutes of refusals and nothing verified: a failing location.
            refused("locA", "bad_signature", 4, now - 120_000, now - 1_000),
            // Three forged requests within 30 ms: no alarm.
            refused("locB", "bad_signature", 3, now - 2_000, now - 1_970),
            refused("", "no_key_for_signature", 2, now - 5_000, now - 5_000),
        ])
        .await
        .unwrap();

    let (ok, out, err) = status(d, false);
    assert!(ok, "{err}");
    assert_eq!(out.matches("!! WEBHOOKS REFUSED").count(), 1, "{out}");
    assert!(out.contains("refused        bad_signature 4"), "{out}");
    assert!(out.contains("refused        bad_signature 3"), "{out}");
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
        out.contains("reconcile cost 9 requests each, 0.0 %")
            && out.contains("estimated from the records held"),
        "{out}"
    );

    let (ok, out, err) = status(d, true);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let row = |id: &str| {
        v["locations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["location"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(row("locA")["webhooks_refused"]["bad_signature"]["count"], 4);
    assert_eq!(
        row("locA")["signatures_failing_since_ms"].as_i64(),
        Some(now - 120_000)
    );
    assert!(row("locB")["signatures_failing_since_ms"].is_null());
    assert_eq!(
        v["webhooks_refused_unattributed"]["no_key_for_signature"]["count"],
        2
    );

    // A webhook verified and applied after the refusals: the alarm is over, the counts stay.
    store
        .record_event_applied("locA", Some(40), false)
        .await
        .unwrap();
    let (ok, out, _) = status(d, false);
    assert!(ok && !out.contains("WEBHOOKS REFUSED"), "{out}");
    assert!(out.contains("refused        bad_signature 4"), "{out}");
}
