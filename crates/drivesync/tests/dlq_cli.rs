//! `drivesync dlq` against a real store holding a job that failed every attempt.

use std::time::Duration;

fn run(args: &[&str], dir: &std::path::Path) -> (bool, String, String) {
    let out = testkit::process::drivesync(env!("CARGO_BIN_EXE_drivesync"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn dead_letters_are_listed_shown_replayed_and_dropped() {
    let db = testkit::TestDb::sqlite();
    let d = db.data_dir();
    let (ok, out, _) = run(&["dlq", "list"], d);
    assert!(ok && out.contains("No dead letters."), "{out}");

    let store = db.connect(db.keyring()).await;
    let policy = store::RetryPolicy {
        max_attempts: 1,
        base: Duration::from_millis(1),
        cap: Duration::from_millis(1),
    };
    let mut ids = Vec::new();
    for n in 0..2 {
        let job = store::NewJob::new(
            "poll",
            "locA",
            format!("contact:c{n}"),
            serde_json::json!({"n": n}),
        );
        let id = store.enqueue(&job).await.unwrap();
        let claimed = store
            .claim_jobs("w1", 10, Duration::from_secs(30))
            .await
            .unwrap();
        assert!(claimed.iter().any(|j| j.id == id));
        store
            .fail_job(
                id,
                "w1",
                "HighLevel answered 500 (server error) after 5 attempts",
                &policy,
            )
            .await
            .unwrap();
        ids.push(id.to_string());
    }

    let (ok, out, err) = run(&["dlq", "list"], d);
    assert!(ok, "{err}");
    assert!(out.contains(&ids[0]) && out.contains(&ids[1]), "{out}");
    assert!(out.contains("HighLevel answered 500"), "{out}");
    let (ok, out, _) = run(&["dlq", "show", &ids[0]], d);
    assert!(
        ok && out.contains("\"n\": 0") && out.contains("contact:c0"),
        "{out}"
    );
    let (ok, out, _) = run(&["dlq", "replay", &ids[0]], d);
    assert!(ok && out.contains("queued again"), "{out}");
    let (ok, out, _) = run(&["dlq", "drop", &ids[1]], d);
    assert!(ok && out.contains("dropped"), "{out}");
    let (ok, out, _) = run(&["dlq", "list"], d);
    assert!(ok && out.contains("No dead letters."), "{out}");
    let (ok, _, err) = run(&["dlq", "show", "99999"], d);
    assert!(
        !ok && err.contains("no dead letter 99999; `drivesync dlq list` shows them"),
        "{err}"
    );
    let depth = store.queue_depth(Some("locA")).await.unwrap();
    assert_eq!(depth.pending, 1, "the replayed job waits in its queue");
}
