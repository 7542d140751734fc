//! `drivesync users list|remove|set-role|reset-password` and `drivesync tokens list|revoke`
//! against a real store: the same rules as the settings page (a workspace keeps an admin),
//! refusals that say what to do, and token lists that never show a token.

use secrecy::ExposeSecret as _;
use store::{AuthKind, NewLocation, Role, SecretString};

fn run(args: &[&str], dir: &std::path::Path, password: Option<&str>) -> (bool, String, String) {
    let mut c = testkit::process::drivesync(env!("CARGO_BIN_EXE_drivesync"));
    c.args(args).arg("--data-dir").arg(dir);
    if let Some(p) = password {
        c.env("DRIVESYNC_USER_PASSWORD", p);
    }
    let out = c.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const PW: &str = "correct horse battery";

#[tokio::test]
async fn users_and_tokens_are_listed_changed_and_revoked() {
    let db = testkit::TestDb::sqlite();
    let d = db.data_dir();
    let store = db.connect(db.keyring()).await;
    store
        .save_location(&NewLocation {
            location_id: "locA".into(),
            company_id: None,
            name: Some("Acme".into()),
            auth: AuthKind::PrivateIntegration,
            user_type: store::UserType::Location,
            scopes: vec![],
            access_token: SecretString::from("pit"),
            refresh_token: None,
            expires_at_ms: None,
        })
        .await
        .unwrap();
    drivechat::admin::ensure_workspace(&store, "locA", "Acme")
        .await
        .unwrap();
    for (email, role) in [
        ("ana@example.com", Role::Admin),
        ("ben@example.com", Role::Member),
    ] {
        drivechat::admin::add_user(
            &store,
            email,
            SecretString::from(PW),
            "P",
            &[("locA".into(), role)],
        )
        .await
        .unwrap();
    }
    let ben = store
        .chat_user_by_email("ben@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let token = drivechat::admin::create_api_token(&store, "ben@example.com", "locA")
        .await
        .unwrap();
    store
        .create_session(&"a".repeat(64), ben, i64::MAX)
        .await
        .unwrap();

    let (ok, out, err) = run(&["users", "list"], d, None);
    assert!(ok, "{err}");
    assert!(out.contains("ana@example.com\tP\tlocA:admin"), "{out}");
    assert!(out.contains("ben@example.com\tP\tlocA:member"), "{out}");

    // Tokens are listed by id, never shown.
    let (ok, out, err) = run(&["tokens", "list", "--workspace", "locA"], d, None);
    assert!(ok, "{err}");
    assert!(
        out.contains("ben@example.com") && out.contains("never used"),
        "{out}"
    );
    assert!(!out.contains(token.expose_secret()), "no secret in {out}");
    let id = out.split('\t').next().unwrap().trim().to_string();
    assert_eq!(id.len(), 16, "{out}");

    // The last admin stays, with a reason.
    let (ok, _, err) = run(
        &[
            "users",
            "set-role",
            "--email",
            "ana@example.com",
            "--workspace",
            "locA",
            "--role",
            "viewer",
        ],
        d,
        None,
    );
    assert!(!ok);
    assert!(
        err.contains("last admin of Acme") && err.contains("make another member an admin first"),
        "{err}"
    );
    let (ok, _, err) = run(
        &[
            "users",
            "set-role",
            "--email",
            "ben@example.com",
            "--workspace",
            "locA",
            "--role",
            "owner",
        ],
        d,
        None,
    );
    assert!(!ok && err.contains("use admin, member or viewer"), "{err}");
    let (ok, out, err) = run(
        &[
            "users",
            "set-role",
            "--email",
            "BEN@example.com",
            "--workspace",
            "locA",
            "--role",
            "viewer",
        ],
        d,
        None,
    );
    assert!(
        ok && out.contains("ben@example.com is now viewer in locA"),
        "{out}{err}"
    );
    assert_eq!(
        store.membership(ben, "locA").await.unwrap().unwrap().role,
        Role::Viewer
    );

    // Revoking a token; a second time it is not found.
    let (ok, out, err) = run(&["tokens", "revoke", &id], d, None);
    assert!(ok && out.contains("revoked"), "{out}{err}");
    let (ok, _, err) = run(&["tokens", "revoke", &id], d, None);
    assert!(!ok && err.contains("API token not found"), "{err}");
    assert!(store
        .api_token_owner(&"x".repeat(64))
        .await
        .unwrap()
        .is_none());

    // A password reset ends the person's sessions.
    let (ok, _, err) = run(
        &["users", "reset-password", "--email", "ben@example.com"],
        d,
        Some("short"),
    );
    assert!(!ok && err.contains("at least 8 characters"), "{err}");
    let (ok, out, err) = run(
        &["users", "reset-password", "--email", "ben@example.com"],
        d,
        Some("another good one"),
    );
    assert!(ok && out.contains("sessions ended"), "{out}{err}");
    assert!(store.user_sessions(ben).await.unwrap().is_empty());

    // Removing; the unknown email says how to add one.
    let (ok, out, err) = run(
        &[
            "users",
            "remove",
            "--email",
            "ben@example.com",
            "--workspace",
            "locA",
        ],
        d,
        None,
    );
    assert!(
        ok && out.contains("Removed ben@example.com from locA"),
        "{out}{err}"
    );
    assert!(store.membership(ben, "locA").await.unwrap().is_none());
    let (ok, _, err) = run(
        &[
            "users",
            "remove",
            "--email",
            "ben@example.com",
            "--workspace",
            "locA",
        ],
        d,
        None,
    );
    assert!(!ok && err.contains("member not found"), "{err}");
    let (ok, _, err) = run(
        &[
            "users",
            "remove",
            "--email",
            "zed@example.com",
            "--workspace",
            "locA",
        ],
        d,
        None,
    );
    assert!(!ok && err.contains("drivesync users add"), "{err}");
    let (ok, out, _) = run(&["users", "list", "--workspace", "locA"], d, None);
    assert!(ok && !out.contains("ben@example.com"), "{out}");
}
