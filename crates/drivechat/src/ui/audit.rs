//! The audit trail for admins (`/w/{ws}/audit`): every write to HighLevel and every admin
//! action in the workspaces they administer, and the installation's own (key rotations),
//! filtered by actor, kind, workspace, outcome and dates, a page at a time; and the same
//! selection as CSV (`audit.csv`) or JSON lines (`audit.jsonl`).

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use store::audit::{AuditQuery, AuditRecord, AuditScope, Outcome};

use super::flash::Flash;
use super::layout::{self, Nav};
use crate::session::{Ctx, SignedIn};
use crate::{time, zone, Error, Shared};

/// Entries per page on screen.
const PAGE: u32 = 50;
/// The most entries one export holds: past this, narrow the dates.
const EXPORT_MAX: usize = 100_000;
/// The `location` filter value for the installation's own entries.
const INSTANCE: &str = "-";

/// The filters, as the form and the links send them (empty: no filter).
#[derive(Deserialize, Default, Clone)]
pub(crate) struct AuditFilter {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    outcome: String,
    /// `YYYY-MM-DD`, in the member's time zone: from its start ...
    #[serde(default)]
    from: String,
    /// ... to its end.
    #[serde(default)]
    to: String,
    before: Option<i64>,
}

impl AuditFilter {
    /// The filters as query parameters (without the page), for links that keep them.
    fn params(&self) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("actor", &self.actor),
            ("kind", &self.kind),
            ("location", &self.location),
            ("outcome", &self.outcome),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, v.as_str()))
        .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }

    /// The store query for `ctx`: entries of the workspaces the member administers and of
    /// the installation. A filter that cannot be read is refused with what to type.
    fn query(&self, ctx: &Ctx, limit: u32) -> Result<AuditQuery, Error> {
        let some = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let day = |s: &str, which: &str| -> Result<Option<i64>, Error> {
            match some(s) {
                None => Ok(None),
                Some(d) => zone::parse_day(&d, ctx.seen.zone).map(Some).ok_or_else(|| {
                    Error::BadRequest(format!("the {which} date must be YYYY-MM-DD, not {d:?}"))
                }),
            }
        };
        let outcome = match some(&self.outcome) {
            None => None,
            Some(o) => Some(Outcome::parse(&o).ok_or_else(|| {
                Error::BadRequest(format!(
                    "the outcome must be ok, refused or failed, not {o:?}"
                ))
            })?),
        };
        let location = some(&self.location).map(|l| if l == INSTANCE { String::new() } else { l });
        Ok(AuditQuery {
            scope: AuditScope {
                locations: ctx.admin_locations(),
                instance: true,
            },
            location,
            actor: some(&self.actor),
            kind: some(&self.kind),
            outcome,
            from_ms: day(&self.from, "from")?,
            to_ms: day(&self.to, "to")?.map(|t| zone::days_later(t, ctx.seen.zone, 1)),
            before_id: self.before,
            limit,
        })
    }
}

/// The workspace a location is, by name, for the member (their own workspaces only).
fn workspace_name<'a>(ctx: &'a Ctx, location: Option<&'a str>) -> &'a str {
    match location {
        None => "installation",
        Some(l) => ctx
            .memberships
            .iter()
            .find(|m| m.workspace.location_id == l)
            .map_or(l, |m| m.workspace.name.as_str()),
    }
}

pub(crate) async fn page(
    State(app): State<Shared>,
    who: SignedIn,
    Path(ws): Path<String>,
    Query(f): Query<AuditFilter>,
    flash: Flash,
) -> Result<Html<String>, Error> {
    let ctx = who.enter(&app, &ws).await?;
    let q = f.query(&ctx, PAGE)?;
    let page = app.store.audit_page(&q).await?;
    let (actors, kinds) = app.store.audit_facets(&q.scope).await?;
    let base = format!("{}/audit", ctx.base());
    let params = f.params();
    let with = |path: &str, extra: &str| {
        let q = [params.as_str(), extra]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("&");
        if q.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{q}")
        }
    };
    let admin_of: Vec<&store::Membership> = ctx
        .memberships
        .iter()
        .filter(|m| m.role == store::Role::Admin)
        .collect();
    let content = html! {
        div.page-head {
            div {
                h1 { "Audit trail" }
                p { "Every change Drive Chat asked HighLevel for, with HighLevel's answer, and every admin action — in the workspaces you administer and on this installation." }
            }
            div.exports {
                a.btn.ghost #export-csv data-testid="export-csv" href=(with(&format!("{base}.csv"), "")) hx-boost="false" { "Download CSV" }
                a.btn.ghost #export-jsonl data-testid="export-jsonl" href=(with(&format!("{base}.jsonl"), "")) hx-boost="false" { "Download JSON lines" }
            }
        }
        form.panel.filters #audit-filters method="get" action=(base) {
            div.field {
                label for="f-actor" { "Who" }
                select #f-actor name="actor" {
                    option value="" { "Anyone" }
                    @for a in &actors { option value=(a) selected[*a == f.actor] { (a) } }
                }
            }
            div.field {
                label for="f-kind" { "What" }
                select #f-kind name="kind" {
                    option value="" { "Anything" }
                    @for k in &kinds { option value=(k) selected[*k == f.kind] { (k) } }
                }
            }
            div.field {
                label for="f-location" { "Workspace" }
                select #f-location name="location" {
                    option value="" { "All yours" }
                    @for m in &admin_of {
                        option value=(m.workspace.location_id) selected[m.workspace.location_id == f.location] { (m.workspace.name) }
                    }
                    option value=(INSTANCE) selected[f.location == INSTANCE] { "Installation (command line)" }
                }
            }
            div.field {
                label for="f-outcome" { "Outcome" }
                select #f-outcome name="outcome" {
                    option value="" { "Any" }
                    @for o in Outcome::ALL { option value=(o.as_str()) selected[o.as_str() == f.outcome] { (o.as_str()) } }
                }
            }
            div.field { label for="f-from" { "From" } input #f-from type="date" name="from" value=(f.from); }
            div.field { label for="f-to" { "To" } input #f-to type="date" name="to" value=(f.to); }
            div.field.actions {
                button.btn.small type="submit" data-testid="apply-filters" { "Filter" }
                a.btn.ghost.small href=(base) { "Clear" }
            }
        }
        div.panel {
            table.audit #audit-entries data-testid="audit-entries" {
                thead { tr { th { "When (" (ctx.seen.zone_name()) ")" } th { "Who" } th { "What" } th { "Workspace" } th { "Outcome" } th { "HighLevel" } } }
                tbody {
                    @for e in &page.entries {
                        tr data-audit-id=(e.id) data-kind=(e.kind) data-outcome=(e.outcome.as_str()) {
                            td.nowrap { (ctx.seen.when(e.at_ms)) }
                            td { (e.actor_name) div.sub { (e.actor_kind.as_str()) } }
                            td {
                                code { (e.kind) }
                                @if let Some(t) = &e.target { div.sub { (t) } }
                            }
                            td { (workspace_name(&ctx, e.location_id.as_deref())) }
                            td { span class=(format!("badge outcome-{}", e.outcome.as_str())) { (e.outcome.as_str()) }
                                 @if let Some(m) = &e.message { div.sub { (m) } } }
                            td {
                                @if let Some(s) = e.status { "HTTP " (s) }
                                @if let Some(t) = &e.trace_id { div.sub { "traceId " code.trace-id { (t) } } }
                            }
                        }
                    }
                    @if page.entries.is_empty() { tr { td.empty colspan="6" { "Nothing recorded matches these filters." } } }
                }
            }
            @if let Some(next) = page.next_before {
                nav.pager { a.btn.ghost #next-page data-testid="next-page" href=(with(&base, &format!("before={next}"))) { "Older →" } }
            }
        }
    };
    Ok(layout::page(
        &ctx,
        Nav::Audit,
        "Audit trail",
        &flash,
        content,
    ))
}

/// Every entry the filters select (at most [`EXPORT_MAX`]), newest first.
async fn all_selected(app: &Shared, ctx: &Ctx, f: &AuditFilter) -> Result<Vec<AuditRecord>, Error> {
    let mut q = f.query(ctx, store::audit::MAX_PAGE)?;
    let mut out = Vec::new();
    loop {
        let page = app.store.audit_page(&q).await?;
        out.extend(page.entries);
        match page.next_before {
            Some(next) if out.len() < EXPORT_MAX => q.before_id = Some(next),
            _ => break,
        }
    }
    out.truncate(EXPORT_MAX);
    Ok(out)
}

fn download(content_type: &str, file: String, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
        .into_response()
}

pub(crate) async fn csv(
    State(app): State<Shared>,
    who: SignedIn,
    Path(ws): Path<String>,
    Query(f): Query<AuditFilter>,
) -> Result<Response, Error> {
    let ctx = who.enter(&app, &ws).await?;
    let entries = all_selected(&app, &ctx, &f).await?;
    Ok(download(
        "text/csv; charset=utf-8",
        format!("audit-{}.csv", ctx.loc()),
        to_csv(&entries),
    ))
}

pub(crate) async fn jsonl(
    State(app): State<Shared>,
    who: SignedIn,
    Path(ws): Path<String>,
    Query(f): Query<AuditFilter>,
) -> Result<Response, Error> {
    let ctx = who.enter(&app, &ws).await?;
    let entries = all_selected(&app, &ctx, &f).await?;
    Ok(download(
        "application/x-ndjson",
        format!("audit-{}.jsonl", ctx.loc()),
        to_jsonl(&entries),
    ))
}

const CSV_HEADER: [&str; 13] = [
    "id",
    "time",
    "actor_kind",
    "actor_id",
    "actor",
    "kind",
    "location_id",
    "target",
    "outcome",
    "status",
    "message",
    "trace_id",
    "detail",
];

/// RFC 4180 CSV with a header line; every cell made safe to open in a spreadsheet.
pub(crate) fn to_csv(entries: &[AuditRecord]) -> String {
    let mut out = CSV_HEADER.join(",");
    out.push_str("\r\n");
    for e in entries {
        let cells = [
            e.id.to_string(),
            time::rfc3339(e.at_ms),
            e.actor_kind.as_str().to_string(),
            e.actor_id.clone().unwrap_or_default(),
            e.actor_name.clone(),
            e.kind.clone(),
            e.location_id.clone().unwrap_or_default(),
            e.target.clone().unwrap_or_default(),
            e.outcome.as_str().to_string(),
            e.status.map(|s| s.to_string()).unwrap_or_default(),
            e.message.clone().unwrap_or_default(),
            e.trace_id.clone().unwrap_or_default(),
            if e.detail.is_null() {
                String::new()
            } else {
                e.detail.to_string()
            },
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One CSV cell. Text a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
/// a tab or a carriage return: a member's note can say anything) gets a leading `'`, so it
/// is shown, not run; then a cell with a comma, quote or line break is quoted, quotes doubled.
pub(crate) fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// One JSON object per line: the entry as stored, with its time also in RFC 3339.
pub(crate) fn to_jsonl(entries: &[AuditRecord]) -> String {
    let mut out = String::new();
    for e in entries {
        let mut v = serde_json::to_value(e).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("time".into(), time::rfc3339(e.at_ms).into());
        }
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_never_formulas() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("\tx"), "'\tx");
        assert_eq!(csv_cell(""), "");
    }
}
