//! The feed's controls: the filter form (kind, contact, member; a plain GET form, so it works
//! without JavaScript and htmx boosts it) and the member's mutes (shown and undone on the feed
//! page), and the action that saves a mute.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use store::Member;

use super::components::csrf;
use super::flash;
use crate::feed_filter::{FeedFilter, FeedKind, FeedParams};
use crate::reads::{self, Names};
use crate::session::{Ctx, Posted};
use crate::{Error, Shared};

/// The filter form. `contacts` are the contacts a person can pick: those on the page and the
/// one filtered for (a workspace may have thousands; the feed's own lines are the ones a
/// person wants to narrow down to).
pub(crate) fn filter_form(
    path: &str,
    f: &FeedFilter,
    contacts: &Names,
    members: &[Member],
) -> Markup {
    let mut contacts: Vec<(&String, &String)> = contacts.iter().collect();
    contacts.sort_by(|a, b| {
        a.1.to_lowercase()
            .cmp(&b.1.to_lowercase())
            .then(a.0.cmp(b.0))
    });
    let active = f.kind.is_some() || f.contact.is_some() || f.member.is_some();
    let member_id = f.member.as_ref().map(|m| m.user_id);
    html! {
        form.filters #feed-filter method="get" action=(path) aria-label="Filter the feed" {
            div.field {
                label for="feed-kind" { "Kind" }
                select #feed-kind name="kind" {
                    option value="" selected[f.kind.is_none()] { "Everything" }
                    @for k in FeedKind::ALL {
                        option value=(k.as_str()) selected[f.kind == Some(k)] {
                            (k.label()) @if f.muted.contains(&k) { " (muted)" }
                        }
                    }
                }
            }
            div.field {
                label for="feed-contact" { "Contact" }
                select #feed-contact name="contact" {
                    option value="" selected[f.contact.is_none()] { "Any contact" }
                    @for (id, name) in &contacts {
                        option value=(id) selected[f.contact.as_deref() == Some(id.as_str())] { (name) }
                    }
                }
            }
            div.field {
                label for="feed-member" { "Posted or asked by" }
                select #feed-member name="member" {
                    option value="" selected[member_id.is_none()] { "Anyone" }
                    @for m in members {
                        option value=(m.user_id) selected[member_id == Some(m.user_id)] { (m.display_name) }
                    }
                }
            }
            button.btn type="submit" data-testid="apply-feed-filter" { "Filter" }
            @if active { a.btn.ghost #clear-feed-filter href=(path) { "Clear" } }
        }
    }
}

/// What the member muted, each with its undo, and a mute button per kind still shown.
pub(crate) fn mutes_panel(ctx: &Ctx, path: &str, f: &FeedFilter) -> Markup {
    let action = format!("{path}/mutes");
    let button = |k: FeedKind, mute: bool| {
        html! {
            form.inline method="post" action=(action) {
                (csrf(ctx))
                input type="hidden" name="kind" value=(k.as_str());
                input type="hidden" name="muted" value=(if mute { "1" } else { "0" });
                @if mute {
                    button.btn.small.ghost type="submit" data-mute=(k.as_str()) { "Mute " (k.label().to_lowercase()) }
                } @else {
                    button.btn.small type="submit" data-unmute=(k.as_str()) { "Unmute " (k.label().to_lowercase()) }
                }
            }
        }
    };
    html! {
        details.mutes #feed-mutes open[!f.muted.is_empty()] {
            summary {
                @if f.muted.is_empty() { "Mute kinds of change" }
                @else {
                    "Muted in your feed: "
                    span #muted-kinds {
                        (f.muted.iter().map(|k| k.label()).collect::<Vec<_>>().join(", "))
                    }
                }
            }
            p.sub { "Only your feed is quieted; others see every change. People's messages cannot be muted." }
            div.row {
                @for k in FeedKind::MUTABLE { (button(k, !f.muted.contains(&k))) }
            }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct MuteForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    muted: String,
}

/// Mutes or unmutes a kind of change in the member's own feed of this workspace.
pub(crate) async fn set_mute(
    State(app): State<Shared>,
    Path(ws): Path<String>,
    posted: Posted<MuteForm>,
) -> Result<Response, Error> {
    // Any member mutes their own feed; entering checks they belong to the workspace.
    let ctx = posted.who.enter(&app, &ws).await?;
    let to = format!("{}/feed", ctx.base());
    let f = &posted.form;
    let result = async {
        let kind = FeedKind::parse_mutable(f.kind.trim())?;
        let muted = match f.muted.as_str() {
            "1" => true,
            "0" => false,
            other => {
                return Err(Error::BadRequest(format!(
                    "muted must be 1 (mute) or 0 (unmute), not {other:?}"
                )))
            }
        };
        app.store
            .set_feed_mute(ctx.user.id, ctx.loc(), kind.as_str(), muted)
            .await?;
        let what = kind.label();
        Ok(if muted {
            format!("{what} are muted in your feed.")
        } else {
            format!("{what} are shown in your feed again.")
        })
    }
    .await;
    Ok(flash::after_action(&app.config, &to, result))
}

/// The filter `params` ask for, with the member's mutes; the name of the contact filtered for
/// (the first of the names a page shows) and the workspace's members (whom the form offers).
/// A contact that is not the workspace's is refused like any other bad value.
pub(crate) async fn asked(
    app: &Shared,
    ctx: &Ctx,
    params: &FeedParams,
) -> Result<(FeedFilter, Names, Vec<Member>), Error> {
    let members = app.store.workspace_members(ctx.loc()).await?;
    let filter = FeedFilter::parse(params, &members, muted(app, ctx).await?)?;
    let names = match &filter.contact {
        Some(c) => {
            let names = reads::names_of(app, ctx.loc(), &[c.as_str()]).await?;
            if names.is_empty() {
                return Err(Error::BadRequest(format!(
                    "contact {c:?} is not one of this workspace's contacts; pick one from the list"
                )));
            }
            names
        }
        None => Names::new(),
    };
    Ok((filter, names, members))
}

/// The kinds `ctx`'s member muted in this workspace (a kind this version does not know is
/// ignored).
async fn muted(app: &Shared, ctx: &Ctx) -> Result<Vec<FeedKind>, Error> {
    Ok(app
        .store
        .feed_mutes(ctx.user.id, ctx.loc())
        .await?
        .iter()
        .filter_map(|k| FeedKind::parse(k))
        .filter(|k| FeedKind::MUTABLE.contains(k))
        .collect())
}
