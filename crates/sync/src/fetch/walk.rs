//! A walk of a whole location: every contact, page by page, with what is under it, and the
//! location-wide listings ([`super::listing`]) for the rest — what the reconcile and `verify`
//! read, one page in memory at a time.

use futures::{Stream, StreamExt as _, TryStreamExt as _};
use store::Record;

use super::listing;
use super::{notes_of, walk_contact};
use crate::error::SyncError;

/// Every contact of the location, oldest added first (contacts added during the walk come
/// at its end), one page in memory at a time.
pub fn all_contacts(
    handle: &ghl::api::Location,
) -> impl Stream<Item = Result<ghl::models::Contact, SyncError>> + Send + 'static {
    let req = ghl::api::SearchRequest::new()
        .page_limit(100)
        .sort_by("dateAdded", false);
    handle.search_stream(req).map_err(SyncError::from)
}

/// What a full walk hands its visitor.
#[derive(Debug, Clone)]
pub enum Visit {
    /// Records read from HighLevel, all by requests sent no earlier than `read_at_ms`.
    Records {
        records: Vec<Record>,
        read_at_ms: i64,
    },
    /// A contact the search listed whose notes HighLevel then answered 404 for: deleted
    /// while the walk ran.
    ContactGone { contact_id: String },
}

/// Every record of the location, read the economical way: every contact (search pages) with
/// its notes (one request each), every task (task search pages), every appointment in
/// `window` (calendar events) with its notes (one request each). A token without the scope of
/// task search or of the calendar list reads those per contact instead, as before: dearer on
/// the budget, but the walk is whole. `visit` gets each batch as it
/// is read; memory holds a page at a time. `started_ms` is when the walk began (the
/// contacts' read time: their search pages are requested after it).
pub async fn everything<F, Fut>(
    handle: &ghl::api::Location,
    concurrency: usize,
    window: listing::AppointmentWindow,
    started_ms: i64,
    stop: &tokio::sync::watch::Receiver<bool>,
    visit: F,
) -> Result<(), SyncError>
where
    F: Fn(Visit) -> Fut,
    Fut: std::future::Future<Output = Result<(), SyncError>>,
{
    let visit = &visit;
    let listings = listing::Listings::probe(handle).await?;
    let parts = listings.per_contact_parts();
    for_each_contact(
        handle,
        all_contacts(handle),
        concurrency,
        stop,
        |h, c| async move {
            let Some(w) = walk_contact(&h, &c, parts).await? else {
                return Ok(());
            };
            let Some(children) = w.children else {
                return visit(Visit::ContactGone {
                    contact_id: w.contact.record_id,
                })
                .await;
            };
            visit(Visit::Records {
                records: vec![w.contact],
                read_at_ms: started_ms,
            })
            .await?;
            visit(Visit::Records {
                records: children,
                read_at_ms: w.read_at_ms,
            })
            .await
        },
    )
    .await?;
    let interrupted = || *stop.borrow();
    if listings.task_search {
        listing::for_each_task_page(handle, None, 0, |page| async move {
            if interrupted() {
                return Err(SyncError::Interrupted);
            }
            visit(Visit::Records {
                records: page.records,
                read_at_ms: page.read_at_ms,
            })
            .await
        })
        .await?;
    }
    let Some(calendars) = &listings.calendars else {
        return Ok(());
    };
    listing::for_each_appointment_page(handle, calendars, window, |page| async move {
        if interrupted() {
            return Err(SyncError::Interrupted);
        }
        let read_at_ms = chrono::Utc::now().timestamp_millis();
        // Owned records: a closure lending `&Record` to the futures it makes would leave
        // them Send only for one lifetime, which a spawned task cannot use.
        let notes = futures::stream::iter(page.records.clone())
            .map(|a| async move { notes_of(handle, &a).await })
            .buffer_unordered(concurrency.max(1))
            .collect::<Vec<_>>()
            .await;
        let mut listed = Vec::new();
        for n in notes {
            listed.extend(n?.unwrap_or_default());
        }
        visit(Visit::Records {
            records: page.records,
            read_at_ms: page.read_at_ms,
        })
        .await?;
        visit(Visit::Records {
            records: listed,
            read_at_ms,
        })
        .await
    })
    .await?;
    Ok(())
}

/// Runs `f` over the contact stream with `concurrency` contacts in flight, stopping at the
/// first error or when `stop` turns true.
pub async fn for_each_contact<F, Fut>(
    handle: &ghl::api::Location,
    stream: impl Stream<Item = Result<ghl::models::Contact, SyncError>> + Send,
    concurrency: usize,
    stop: &tokio::sync::watch::Receiver<bool>,
    f: F,
) -> Result<(), SyncError>
where
    F: Fn(ghl::api::Location, ghl::models::Contact) -> Fut,
    Fut: std::future::Future<Output = Result<(), SyncError>>,
{
    let mut runs = std::pin::pin!(stream
        .map_ok(|c| f(handle.clone(), c))
        .try_buffer_unordered(concurrency.max(1)));
    while let Some(r) = runs.next().await {
        r?;
        if *stop.borrow() {
            return Err(SyncError::Interrupted);
        }
    }
    Ok(())
}
