//! One record of a workspace as a page or an action needs it: a record HighLevel deleted is
//! told apart from one that never existed here, so a page open on it can say "deleted in
//! HighLevel" and an action on it can be refused with that reason instead of "not found".

use store::{Record, RecordKind};

use crate::{App, Error};

/// What a record kind is called in messages.
pub(crate) fn noun(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Contact => "contact",
        RecordKind::Task => "task",
        RecordKind::Note => "note",
        RecordKind::Appointment => "appointment",
        RecordKind::AppointmentNote => "appointment note",
    }
}

/// The record, deleted or not; 404 when this workspace never had it.
pub(crate) async fn known(
    app: &App,
    location_id: &str,
    kind: RecordKind,
    id: &str,
) -> Result<Record, Error> {
    app.store
        .record(location_id, kind, id)
        .await?
        .ok_or(Error::NotFound(noun(kind)))
}

/// The record when it is live; [`Error::Deleted`] when HighLevel deleted it.
pub(crate) async fn live(
    app: &App,
    location_id: &str,
    kind: RecordKind,
    id: &str,
) -> Result<Record, Error> {
    let r = known(app, location_id, kind, id).await?;
    if r.is_deleted() {
        return Err(Error::Deleted(noun(kind)));
    }
    Ok(r)
}
