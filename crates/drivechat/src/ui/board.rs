//! The task board: every task of the workspace in one list, filtered by due date (overdue,
//! today, this week), assignee and status (both filters apply: Overdue + Done lists done
//! tasks that were due before today, never open ones; see `reads::Due`), sorted by due date or title, one page at a time
//! by keyset cursor (a page costs the same at task 100,000 as at task 1).

use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::{Html, Response};
use maud::html;
use serde::Deserialize;
use store::RecordKind;

use super::components::{self};
use super::contacts::{act, Common};
use super::flash::Flash;
use super::layout::{self, Nav};
use super::{live_region, self_url};
use crate::actions::Action;
use crate::context::Seen;
use crate::reads::{self, BoardFilter, BoardSort, Due, StatusFilter};
use crate::session::{Ctx, Posted, SignedIn};
use crate::{time, Error, Shared};

/// The `assignee` value that means the member asking.
pub(crate) const ME: &str = "me";

/// The board's query parameters, as the page and the API take them.
pub(crate) fn board_query(
    due: Option<String>,
    assignee: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    after: Option<String>,
) -> BoardQuery {
    BoardQuery {
        due,
        assignee,
        status,
        sort,
        after,
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct BoardQuery {
    due: Option<String>,
    assignee: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    after: Option<String>,
}

impl BoardQuery {
    /// The filter asked for, as member `seen` means it: days are theirs, and `assignee=me`
    /// is their HighLevel user. Unknown values are refused rather than silently ignored, so
    /// a mistyped link does not show a different list than it claims.
    pub(crate) fn filter_as(&self, limit: u32, seen: &Seen) -> Result<BoardFilter, Error> {
        let mut filter = self.parsed(limit)?;
        filter.zone = seen.zone;
        if filter.assignee.as_deref() == Some(ME) {
            let me = seen.me_id().ok_or_else(|| {
                Error::BadRequest(
                    "\"assigned to me\" needs a HighLevel user of this location with your \
                     email address, and there is none (or the location's users could not be \
                     read); pick a person instead"
                        .into(),
                )
            })?;
            filter.assignee = Some(me.to_string());
        }
        Ok(filter)
    }

    /// The values asked for, checked, before they are read as a member means them.
    fn parsed(&self, limit: u32) -> Result<BoardFilter, Error> {
        let pick = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let due = match pick(&self.due) {
            None => None,
            Some(d) => Some(Due::parse(&d).ok_or_else(|| {
                Error::BadRequest(format!("due must be overdue, today or week, not {d:?}"))
            })?),
        };
        let status = match pick(&self.status) {
            None => StatusFilter::default(),
            Some(s) => StatusFilter::parse(&s).ok_or_else(|| {
                Error::BadRequest(format!("status must be open, done or all, not {s:?}"))
            })?,
        };
        let sort = match pick(&self.sort) {
            None => BoardSort::default(),
            Some(s) => BoardSort::parse(&s).ok_or_else(|| {
                Error::BadRequest(format!("sort must be due, due_desc or title, not {s:?}"))
            })?,
        };
        Ok(BoardFilter {
            due,
            assignee: pick(&self.assignee),
            status,
            sort,
            after: pick(&self.after),
            limit,
            zone: chrono_tz::Tz::UTC,
        })
    }
}

pub(crate) async fn page(
    State(app): State<Shared>,
    who: SignedIn,
    Path(ws): Path<String>,
    Query(bq): Query<BoardQuery>,
    uri: Uri,
    flash: Flash,
) -> Result<Html<String>, Error> {
    let ctx = who.enter(&app, &ws).await?;
    let now = time::now_ms();
    let filter = bq.filter_as(app.config.page_size, &ctx.seen)?;
    let page = reads::board(&app, ctx.loc(), &filter, now).await?;
    let total = app
        .store
        .board_count(&filter.query(ctx.loc(), now), reads::BOARD_COUNT_CAP)
        .await?;
    let total = if total > i64::from(reads::BOARD_COUNT_CAP) {
        format!("{}+ tasks", reads::BOARD_COUNT_CAP)
    } else {
        super::words::counted(total, "task")
    };
    let assignees = ctx
        .seen
        .assignee_choices(&app.store.assignees(ctx.loc(), RecordKind::Task).await?);
    let here = self_url(&uri);
    let path = format!("{}/tasks", ctx.base());
    let due = bq.due.clone().unwrap_or_default();
    let status = bq.status.clone().unwrap_or_else(|| "open".into());
    let assignee = bq.assignee.clone().unwrap_or_default();
    let sort = filter.sort;
    let params = |sort: &str| {
        vec![
            ("due", due.clone()),
            ("status", status.clone()),
            ("assignee", assignee.clone()),
            ("sort", sort.to_string()),
        ]
    };
    let sort_link = |label: &str, asc: BoardSort, desc: Option<BoardSort>| {
        let next = match desc {
            Some(d) if sort == asc => d,
            _ => asc,
        };
        let q: Vec<(&str, String)> = params(next.as_str())
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let arrow = if sort == asc {
            " ↑"
        } else if Some(sort) == desc {
            " ↓"
        } else {
            ""
        };
        html! {
            a href=(format!("{path}?{}", serde_urlencoded::to_string(&q).unwrap_or_default())) data-sort=(asc.as_str()) { (label) (arrow) }
        }
    };
    let board = html! {
        div.panel.table-wrap {
            table #board data-testid="board" {
                thead {
                    tr {
                        th { (sort_link("Task", BoardSort::Title, None)) }
                        th { "Contact" }
                        th { (sort_link("Due", BoardSort::DueAsc, Some(BoardSort::DueDesc))) }
                        th.assignee { "Assignee" }
                        th { "" }
                    }
                }
                tbody {
                    @for row in &page.items { (components::task_row(&ctx, row, now, &here, true, &app.config.highlevel_app_url)) }
                    @if page.items.is_empty() { tr { td.empty colspan="5" { "No tasks match these filters." } } }
                }
            }
        }
        (components::next_link(&path, &params(sort.as_str()), page.next.as_deref()))
    };
    let content = html! {
        div.page-head {
            div { h1 { "Tasks" } p.count #task-count { (total) } }
            @if ctx.seen.me.is_some() {
                a.btn.ghost #assigned-to-me href=(format!("{path}?assignee={ME}")) { "Assigned to me" }
            }
        }
        form.filters #board-filters method="get" action=(path) {
            div.field {
                label for="board-due" { "Due" }
                select #board-due name="due" {
                    option value="" selected[due.is_empty()] { "Any time" }
                    option value="overdue" selected[due == "overdue"] { "Overdue" }
                    option value="today" selected[due == "today"] { "Today" }
                    option value="week" selected[due == "week"] { "This week" }
                }
            }
            div.field {
                label for="board-status" { "Status" }
                select #board-status name="status" {
                    option value="open" selected[status == "open"] { "Open" }
                    option value="done" selected[status == "done"] { "Done" }
                    option value="all" selected[status == "all"] { "All" }
                }
            }
            div.field {
                label for="board-assignee" { "Assigned to" }
                select #board-assignee name="assignee" {
                    option value="" { "Anyone" }
                    @if let Some(me) = &ctx.seen.me {
                        option value=(ME) selected[assignee == ME] data-testid="assigned-to-me" {
                            "Me (" (me.name) ")"
                        }
                    }
                    @for (id, name) in &assignees {
                        option value=(id) selected[*id == assignee] { (name) }
                    }
                }
            }
            input type="hidden" name="sort" value=(sort.as_str());
            button.btn type="submit" { "Apply" }
        }
        (live_region("board-region", &here, None, board))
    };
    Ok(layout::page(&ctx, Nav::Tasks, "Tasks", &flash, content))
}

pub(crate) async fn complete(
    State(app): State<Shared>,
    Path((ws, task_id)): Path<(String, String)>,
    posted: Posted<Common>,
) -> Result<Response, Error> {
    let fallback = |ctx: &Ctx| format!("{}/tasks", ctx.base());
    act(&app, posted.who, &ws, &posted.form, fallback, |_| {
        Ok(Action::CompleteTask {
            task_id: task_id.clone(),
        })
    })
    .await
}

pub(crate) async fn reopen(
    State(app): State<Shared>,
    Path((ws, task_id)): Path<(String, String)>,
    posted: Posted<Common>,
) -> Result<Response, Error> {
    let fallback = |ctx: &Ctx| format!("{}/tasks", ctx.base());
    act(&app, posted.who, &ws, &posted.form, fallback, |_| {
        Ok(Action::ReopenTask {
            task_id: task_id.clone(),
        })
    })
    .await
}
