//! One's own profile: name, time zone and password. Every member may change their own,
//! viewers included.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{html, Markup};
use secrecy::SecretString;
use serde::Deserialize;

use super::settings_url;
use crate::context::ZoneFrom;
use crate::session::{Ctx, Posted};
use crate::ui::components::csrf;
use crate::ui::flash;
use crate::{team, zone, Error, Shared};

/// The warning shown when the location's connection lacks scopes names come from.
pub(super) fn missing_scopes(ctx: &Ctx) -> Markup {
    let seen = &ctx.seen;
    html! {
        @if !seen.location.missing_scopes.is_empty() {
            div.panel.warning #missing-scopes data-testid="missing-scopes" {
                h2 { "HighLevel access is incomplete" }
                p {
                    "This location's connection was not granted these scopes, so Drive Chat shows ids where names, custom field labels or the location's time zone would be:"
                }
                ul { @for s in &seen.location.missing_scopes { li { code data-scope=(s) { (s) } } } }
                p { "Reconnect the location in HighLevel granting them (an admin runs " code { "drivesync connect" } " again and approves every scope); names appear after the next sync." }
            }
        }
    }
}

pub(super) fn panel_markup(ctx: &Ctx) -> Markup {
    let seen = &ctx.seen;
    let own = ctx.user.timezone.as_deref().and_then(zone::parse);
    let default_label = match seen.location.timezone().and_then(zone::parse) {
        Some(z) => format!("The location's time zone ({})", z.name()),
        None => "UTC (the location's time zone is not known)".to_string(),
    };
    let base = settings_url(ctx);
    html! {
        form #profile-form method="post" action=(format!("{base}/profile")) {
            (csrf(ctx))
            div.field {
                label for="display-name" { "Your name" }
                input #display-name type="text" name="name" value=(ctx.user.display_name) maxlength="100" required;
            }
            p.sub { "Signed in as " (ctx.user.email) "." }
            button.btn type="submit" data-testid="save-name" { "Save name" }
        }
        p.sub {
            "Times are shown, and times you type are read, in "
            strong #current-zone data-testid="current-zone" { (seen.zone_name()) }
            @match seen.zone_from {
                ZoneFrom::Member => " (your choice).",
                ZoneFrom::Location => " (the location's).",
                ZoneFrom::Default => " (no time zone is set for you or the location).",
            }
        }
        form #timezone-form method="post" action=(format!("{base}/timezone")) {
            (csrf(ctx))
            div.field {
                label for="timezone" { "Time zone" }
                select #timezone name="timezone" {
                    option value="" selected[own.is_none()] { (default_label) }
                    @for z in zone::all() {
                        option value=(z.name()) selected[own == Some(z)] { (z.name()) }
                    }
                }
            }
            button.btn type="submit" data-testid="save-timezone" { "Save" }
        }
        p.sub #highlevel-user {
            @if let Some(me) = &seen.me {
                "You are " strong { (me.name) } " in HighLevel: notes you add are written as you, and the board can show what is assigned to you."
            } @else {
                "No HighLevel user of this location has your email (" (ctx.user.email) "), so notes you add are written without an author and \"assigned to me\" is not available."
            }
        }
        form #password-form method="post" action=(format!("{base}/password")) {
            (csrf(ctx))
            div.field {
                label for="current-password" { "Current password" }
                input #current-password type="password" name="current" autocomplete="current-password" required;
            }
            div.field {
                label for="new-password" { "New password" }
                input #new-password type="password" name="new" autocomplete="new-password" minlength="8" required;
            }
            p.sub { "Changing it signs you out everywhere else." }
            button.btn type="submit" data-testid="change-password" { "Change password" }
        }
    }
}

pub(super) fn panel(ctx: &Ctx) -> Markup {
    super::panel("profile", "You", panel_markup(ctx))
}

#[derive(Deserialize)]
pub(crate) struct TimezoneForm {
    #[serde(default)]
    timezone: String,
}

/// Saves the member's own time zone (empty: the location's). An unknown name is refused.
pub(crate) async fn set_timezone(
    State(app): State<Shared>,
    Path(ws): Path<String>,
    posted: Posted<TimezoneForm>,
) -> Result<Response, Error> {
    let ctx = posted.who.enter(&app, &ws).await?;
    let asked = posted.form.timezone.trim();
    let result = async {
        let chosen = if asked.is_empty() {
            None
        } else {
            Some(zone::parse(asked).ok_or_else(|| {
                Error::BadRequest(format!(
                    "{asked:?} is not a time zone Drive Chat knows; pick one from the list (an \
                     IANA name such as America/New_York)"
                ))
            })?)
        };
        app.store
            .set_chat_user_timezone(ctx.user.id, chosen.map(|z| z.name()))
            .await?;
        app.store
            .record_audit(
                &store::AuditEntry::new(
                    store::Actor::member(ctx.user.id, &ctx.user.display_name),
                    "timezone.set",
                    Some(ctx.loc()),
                )
                .target(&ctx.user.email)
                .detail(serde_json::json!({ "timezone": chosen.map(|z| z.name()) })),
            )
            .await?;
        Ok(match chosen {
            Some(z) => format!("Times are now shown in {}.", z.name()),
            None => "Times are now shown in the location's time zone.".to_string(),
        })
    }
    .await;
    Ok(flash::after_action(
        &app.config,
        &settings_url(&ctx),
        result,
    ))
}

#[derive(Deserialize)]
pub(crate) struct NameForm {
    #[serde(default)]
    name: String,
}

/// Renames oneself.
pub(crate) async fn set_name(
    State(app): State<Shared>,
    Path(ws): Path<String>,
    posted: Posted<NameForm>,
) -> Result<Response, Error> {
    let ctx = posted.who.enter(&app, &ws).await?;
    let result = async {
        let name = team::display_name(&posted.form.name)?;
        app.store.set_display_name(ctx.user.id, name).await?;
        Ok(format!("Your name is now {name}."))
    }
    .await;
    Ok(flash::after_action(
        &app.config,
        &settings_url(&ctx),
        result,
    ))
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
}

/// Changes one's own password (the current one must be right) and ends one's other sessions.
pub(crate) async fn set_password(
    State(app): State<Shared>,
    Path(ws): Path<String>,
    posted: Posted<PasswordForm>,
) -> Result<Response, Error> {
    let ctx = posted.who.enter(&app, &ws).await?;
    let current = SecretString::from(posted.form.current);
    let new = SecretString::from(posted.form.new);
    let result = team::change_own_password(&app, ctx.user.id, &current, &new, &ctx.token_hash)
        .await
        .map(|()| "Password changed; your other sessions were signed out.".to_string());
    Ok(flash::after_action(
        &app.config,
        &settings_url(&ctx),
        result,
    ))
}
