//! Every HighLevel operation the client speaks, with the scope `shared/ghl/apps/*.json` gives
//! it and whether a retry after a lost answer is safe. A test holds this table against the
//! spec files. The scopes an installation asks for are [`crate::scopes::DEFAULT_SCOPES`].

use reqwest::Method;

/// Whether repeating a request whose answer was lost can change anything twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Reads, PUTs, DELETEs, and POSTs with set semantics (add a tag, upsert by email):
    /// repeating them leaves HighLevel as one call would.
    Safe,
    /// POSTs that create a record: a repeat after a lost answer could create a duplicate, so
    /// only answers that prove nothing happened (429, connection refused) are retried.
    CreatesRecord,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub id: &'static str,
    pub method: &'static str,
    pub path: &'static str,
    pub scope: &'static str,
    pub retry: Retry,
}

impl Operation {
    pub fn http_method(&self) -> Method {
        Method::from_bytes(self.method.as_bytes()).unwrap_or(Method::GET)
    }

    pub fn is_write(&self) -> bool {
        self.scope.ends_with(".write")
    }

    /// Whether HighLevel wants the location as a `locationId` query parameter (the spec
    /// marks it required): [`crate::api::Location::call`] adds it when it is not given.
    pub fn location_in_query(&self) -> bool {
        LOCATION_IN_QUERY.contains(&self.id)
    }

    /// The names of the `{param}`s in the path, in order.
    pub fn path_params(&self) -> Vec<&'static str> {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect()
    }
}

const READ: &str = "contacts.readonly";
const WRITE: &str = "contacts.write";
const EV_READ: &str = "calendars/events.readonly";
const EV_WRITE: &str = "calendars/events.write";
const CALENDARS_READ: &str = "calendars.readonly";
const LOCATION_READ: &str = "locations.readonly";
const FIELDS_READ: &str = "locations/customFields.readonly";
const TASKS_READ: &str = "locations/tasks.readonly";
const USERS_READ: &str = "users.readonly";

/// The operations whose spec has a required `locationId` query parameter.
const LOCATION_IN_QUERY: &[&str] = &[
    "get-duplicate-contact",
    "get-contacts-by-businessId",
    "get-contacts",
    "get-calendar-events",
    "get-calendars",
    "get-user-by-location",
];

macro_rules! op {
    ($id:literal, $m:literal, $p:literal, $s:expr, $r:ident) => {
        Operation {
            id: $id,
            method: $m,
            path: $p,
            scope: $s,
            retry: Retry::$r,
        }
    };
}

pub const OPERATIONS: &[Operation] = &[
    op!(
        "search-contacts-advanced",
        "POST",
        "/contacts/search",
        READ,
        Safe
    ),
    op!(
        "get-duplicate-contact",
        "GET",
        "/contacts/search/duplicate",
        READ,
        Safe
    ),
    op!(
        "get-all-tasks",
        "GET",
        "/contacts/{contactId}/tasks",
        READ,
        Safe
    ),
    op!(
        "create-task",
        "POST",
        "/contacts/{contactId}/tasks",
        WRITE,
        CreatesRecord
    ),
    op!(
        "get-task",
        "GET",
        "/contacts/{contactId}/tasks/{taskId}",
        READ,
        Safe
    ),
    op!(
        "update-task",
        "PUT",
        "/contacts/{contactId}/tasks/{taskId}",
        WRITE,
        Safe
    ),
    op!(
        "delete-task",
        "DELETE",
        "/contacts/{contactId}/tasks/{taskId}",
        WRITE,
        Safe
    ),
    op!(
        "update-task-completed",
        "PUT",
        "/contacts/{contactId}/tasks/{taskId}/completed",
        WRITE,
        Safe
    ),
    op!(
        "get-appointments-for-contact",
        "GET",
        "/contacts/{contactId}/appointments",
        READ,
        Safe
    ),
    op!(
        "add-tags",
        "POST",
        "/contacts/{contactId}/tags",
        WRITE,
        Safe
    ),
    op!(
        "remove-tags",
        "DELETE",
        "/contacts/{contactId}/tags",
        WRITE,
        Safe
    ),
    op!(
        "get-all-notes",
        "GET",
        "/contacts/{contactId}/notes",
        READ,
        Safe
    ),
    op!(
        "create-note",
        "POST",
        "/contacts/{contactId}/notes",
        WRITE,
        CreatesRecord
    ),
    op!(
        "get-note",
        "GET",
        "/contacts/{contactId}/notes/{id}",
        READ,
        Safe
    ),
    op!(
        "update-note",
        "PUT",
        "/contacts/{contactId}/notes/{id}",
        WRITE,
        Safe
    ),
    op!(
        "delete-note",
        "DELETE",
        "/contacts/{contactId}/notes/{id}",
        WRITE,
        Safe
    ),
    op!(
        "create-association",
        "POST",
        "/contacts/bulk/tags/update/{type}",
        WRITE,
        Safe
    ),
    op!(
        "add-remove-contact-from-business",
        "POST",
        "/contacts/bulk/business",
        WRITE,
        Safe
    ),
    op!("get-contact", "GET", "/contacts/{contactId}", READ, Safe),
    op!(
        "update-contact",
        "PUT",
        "/contacts/{contactId}",
        WRITE,
        Safe
    ),
    op!(
        "delete-contact",
        "DELETE",
        "/contacts/{contactId}",
        WRITE,
        Safe
    ),
    op!("upsert-contact", "POST", "/contacts/upsert", WRITE, Safe),
    op!(
        "get-contacts-by-businessId",
        "GET",
        "/contacts/business/{businessId}",
        READ,
        Safe
    ),
    op!(
        "add-followers-contact",
        "POST",
        "/contacts/{contactId}/followers",
        WRITE,
        Safe
    ),
    op!(
        "remove-followers-contact",
        "DELETE",
        "/contacts/{contactId}/followers",
        WRITE,
        Safe
    ),
    op!(
        "add-contact-to-campaign",
        "POST",
        "/contacts/{contactId}/campaigns/{campaignId}",
        WRITE,
        Safe
    ),
    op!(
        "remove-contact-from-campaign",
        "DELETE",
        "/contacts/{contactId}/campaigns/{campaignId}",
        WRITE,
        Safe
    ),
    op!(
        "remove-contact-from-every-campaign",
        "DELETE",
        "/contacts/{contactId}/campaigns/removeAll",
        WRITE,
        Safe
    ),
    op!(
        "add-contact-to-workflow",
        "POST",
        "/contacts/{contactId}/workflow/{workflowId}",
        WRITE,
        Safe
    ),
    op!(
        "delete-contact-from-workflow",
        "DELETE",
        "/contacts/{contactId}/workflow/{workflowId}",
        WRITE,
        Safe
    ),
    op!("create-contact", "POST", "/contacts/", WRITE, CreatesRecord),
    op!("get-contacts", "GET", "/contacts/", READ, Safe),
    op!(
        "get-appointment",
        "GET",
        "/calendars/events/appointments/{eventId}",
        EV_READ,
        Safe
    ),
    op!(
        "create-appointment",
        "POST",
        "/calendars/events/appointments",
        EV_WRITE,
        CreatesRecord
    ),
    op!(
        "edit-appointment",
        "PUT",
        "/calendars/events/appointments/{eventId}",
        EV_WRITE,
        Safe
    ),
    op!(
        "get-calendar-events",
        "GET",
        "/calendars/events",
        EV_READ,
        Safe
    ),
    op!(
        "delete-event",
        "DELETE",
        "/calendars/events/{eventId}",
        EV_WRITE,
        Safe
    ),
    op!(
        "get-appointment-notes",
        "GET",
        "/calendars/appointments/{appointmentId}/notes",
        EV_READ,
        Safe
    ),
    op!(
        "create-appointment-note",
        "POST",
        "/calendars/appointments/{appointmentId}/notes",
        EV_WRITE,
        CreatesRecord
    ),
    op!(
        "update-appointment-note",
        "PUT",
        "/calendars/appointments/{appointmentId}/notes/{noteId}",
        EV_WRITE,
        Safe
    ),
    op!(
        "delete-appointment-note",
        "DELETE",
        "/calendars/appointments/{appointmentId}/notes/{noteId}",
        EV_WRITE,
        Safe
    ),
    op!("get-calendars", "GET", "/calendars/", CALENDARS_READ, Safe),
    op!(
        "get-location",
        "GET",
        "/locations/{locationId}",
        LOCATION_READ,
        Safe
    ),
    op!(
        "get-custom-fields",
        "GET",
        "/locations/{locationId}/customFields",
        FIELDS_READ,
        Safe
    ),
    // A search: a POST that reads, so repeating it is as safe as repeating a GET.
    op!(
        "task-search",
        "POST",
        "/locations/{locationId}/tasks/search",
        TASKS_READ,
        Safe
    ),
    op!("get-user-by-location", "GET", "/users/", USERS_READ, Safe),
];

pub fn operation(id: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| o.id == id)
}

/// Looks an operation up by id; the panic names the id, and only code (never input) calls it.
pub(crate) fn op(id: &str) -> &'static Operation {
    operation(id).unwrap_or_else(|| panic!("operation {id} is missing from OPERATIONS"))
}
