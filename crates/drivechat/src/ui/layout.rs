//! The page shell: head, the sidebar with the workspace switcher and navigation, the flash
//! message, and the main column. Everything interpolated goes through maud, which escapes it.

use axum::http::StatusCode;
use axum::response::Html;
use maud::{html, Markup, DOCTYPE};

use super::assets;
use super::flash::Flash;
use crate::session::{Ctx, CSRF_FIELD};

/// Which navigation entry is current.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Contacts,
    Tasks,
    Meetings,
    Feed,
    Alerts,
    Settings,
    Dashboard,
    Audit,
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light";
            // Under the CSP (no inline style or script, see `headers`): htmx must not inject
            // its indicator <style> (app.css has those rules), eval, or run scripts in
            // swapped content.
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}"#;
            title { (title) " · Drive Chat" }
            link rel="stylesheet" href=(assets::url("app.css"));
            link rel="icon" href=(assets::url("icon.svg")) type="image/svg+xml";
            script src=(assets::url("htmx.min.js")) defer {}
            script src=(assets::url("app.js")) defer {}
        }
    }
}

/// A workspace page.
pub(crate) fn page(
    ctx: &Ctx,
    nav: Nav,
    title: &str,
    flash: &Flash,
    content: Markup,
) -> Html<String> {
    let base = ctx.base();
    let hx_headers = format!(r#"{{"x-csrf-token": "{}"}}"#, ctx.csrf);
    let item = |n: Nav, href: &str, label: &str, testid: &str| {
        html! {
            a.nav-item.active[n == nav] href=(format!("{base}{href}")) data-testid=(testid)
                aria-current=[(n == nav).then_some("page")] { (label) }
        }
    };
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body hx-boost="true" hx-headers=(hx_headers) data-live=(format!("{base}/live")) {
                // The first stop of the Tab key: straight to the page, past the navigation.
                a.skip-link href="#main" hx-boost="false" data-testid="skip-link" { "Skip to content" }
                div.shell {
                    aside.sidebar {
                        a.brand href="/" { span.logo { "◆" } " Drive Chat" }
                        details.switcher #workspace-switcher {
                            summary data-testid="current-workspace" {
                                span.ws-name { (ctx.ws.name) }
                                span.ws-role { (ctx.role.as_str()) }
                            }
                            ul {
                                @for m in &ctx.memberships {
                                    li {
                                        a href=(format!("/w/{}/contacts", m.workspace.location_id))
                                            data-workspace-id=(m.workspace.location_id)
                                            .current[m.workspace.location_id == ctx.ws.location_id] {
                                            (m.workspace.name)
                                        }
                                    }
                                }
                            }
                        }
                        nav.nav {
                            (item(Nav::Contacts, "/contacts", "Contacts", "nav-contacts"))
                            (item(Nav::Tasks, "/tasks", "Tasks", "nav-tasks"))
                            (item(Nav::Meetings, "/meetings", "Meetings", "nav-meetings"))
                            (item(Nav::Feed, "/feed", "Feed", "nav-feed"))
                            (item(Nav::Alerts, "/alerts", "#alerts", "nav-alerts"))
                            (item(Nav::Settings, "/settings", "Settings", "nav-settings"))
                            @if ctx.role == store::Role::Admin {
                                (item(Nav::Dashboard, "/dashboard", "Dashboard", "nav-dashboard"))
                                (item(Nav::Audit, "/audit", "Audit trail", "nav-audit"))
                            }
                        }
                        div.me {
                            span.me-name data-testid="me" { (ctx.user.display_name) }
                            form method="post" action="/signout" {
                                input type="hidden" name=(CSRF_FIELD) value=(ctx.csrf);
                                button.link type="submit" #signout { "Sign out" }
                            }
                        }
                    }
                    main.main #main tabindex="-1" {
                        (flash.render(&base))
                        (content)
                    }
                }
            }
        }
    };
    Html(markup.into_string())
}

/// A page outside any workspace (sign-in, errors).
pub(crate) fn bare(title: &str, content: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                (head(title))
                body.bare {
                    main.card-page {
                        a.brand href="/" { span.logo { "◆" } " Drive Chat" }
                        (content)
                    }
                }
            }
        }
        .into_string(),
    )
}

pub(crate) fn error_page(status: StatusCode, message: &str) -> Html<String> {
    let title = status.canonical_reason().unwrap_or("Error");
    bare(
        title,
        html! {
            h1 { (title) }
            p.error #error-message data-testid="error-message" { (message) }
            p { a href="/" { "Back to Drive Chat" } }
        },
    )
}
