//! Typed HighLevel records, derived from `shared/ghl/apps/*.json` and the webhook schemas,
//! read leniently (unknown fields ignored, dates in several formats, numbers as strings).

mod contact;
pub mod de;
mod location;
mod records;
mod webhook;

pub use contact::{Contact, ContactInput, CustomFieldInput, CustomFieldValue, DndSetting};
pub use location::{Calendar, CustomFieldDef, LocationDetails, User};
pub use records::{
    Appointment, AppointmentInput, AppointmentNote, NewTask, Note, NoteInput, Task, TaskUpdate,
};
pub use webhook::{
    AppointmentEvent, ContactEvent, InstallEvent, NoteEvent, TaskEvent, UninstallEvent,
    WebhookEnvelope, WebhookEvent, WebhookParseError,
};
