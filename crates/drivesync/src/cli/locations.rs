//! `drivesync locations`: what is connected, with scopes, token expiry and state.

use clap::Args;

use super::common::StoreArgs;

#[derive(Debug, Args)]
pub struct LocationsArgs {
    #[command(flatten)]
    store: StoreArgs,
}

pub async fn run(args: LocationsArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    let all = store.locations().await?;
    if all.is_empty() {
        println!("No location is connected; run `drivesync connect`.");
        return Ok(());
    }
    println!(
        "{:<22} {:<6} {:<16} {:<26} SCOPES",
        "LOCATION", "AUTH", "STATE", "TOKEN EXPIRES"
    );
    let now = chrono::Utc::now().timestamp_millis();
    for l in all {
        let expiry = match l.expires_at_ms {
            None => "never".to_string(),
            Some(t) if t <= now => "expired (refreshes on use)".to_string(),
            Some(t) => {
                let mins = (t - now) / 60_000;
                format!("in {}h{:02}m", mins / 60, mins % 60)
            }
        };
        let auth = match (l.auth, l.user_type) {
            (store::AuthKind::OAuth, ghl::UserType::Company) => "agency",
            (store::AuthKind::OAuth, _) => "oauth",
            (store::AuthKind::PrivateIntegration, _) => "pit",
            (store::AuthKind::CompanyDerived, _) => "minted",
        };
        let scopes = if l.scopes.is_empty() {
            "(as set on the token)".to_string()
        } else {
            l.scopes.join(" ")
        };
        println!(
            "{:<22} {:<6} {:<16} {:<26} {}",
            l.location_id,
            auth,
            l.state.as_str(),
            expiry,
            scopes
        );
        if !l.scopes.is_empty() && l.user_type != ghl::UserType::Company {
            say_missing_scopes(&l.scopes);
        }
    }
    Ok(())
}

/// What a connection without some of drivesync's scopes misses, and what to do.
pub fn say_missing_scopes(granted: &[String]) {
    let missing = ghl::missing_scopes(granted);
    if missing.is_empty() {
        return;
    }
    println!(
        "  missing scopes: {} — names, custom field labels and the time zone fall back to ids \
         and UTC, and tasks and appointments are read contact by contact (dearer on the daily \
         budget); reconnect the location (`drivesync connect`) granting them",
        missing.join(" ")
    );
}
