//! What the job queue holds, named in one place: every kind of job ([`JobKind`], the text of
//! the `jobs.kind` column) and every ordering key jobs are queued under (the `*_key`
//! constructors). The store queues webhook and write-back jobs itself and the sync engine
//! queues the rest, so both crates build them here rather than each spelling its own strings:
//! a new kind of work is a variant here and a handler in the engine.
//!
//! Jobs sharing an ordering key run one at a time, in the order queued ([`crate::queue`]).
//! The keys, and what shares them:
//!
//! | key | jobs |
//! | --- | --- |
//! | [`contact_key`] `contact:<id>` | a contact's webhooks (its own, its tasks', its notes') and Drive Chat's commands on it |
//! | [`appointment_key`] `appointment:<id>` | an appointment's webhooks |
//! | [`location_key`] `location:<id>` | webhooks of no contact or appointment, and commands of no contact |
//! | [`company_key`] `company:<id>` | an agency-level (Company) install, which names no location |
//! | [`poll_key`] `poll:<location>` | a location's polls, reconciles and open-task searches |
//! | [`context_key`] `context:<location>` | refreshes of a location's context |
//! | [`settle_key`] `settle:contact:<id>` | a contact's settle reads (apart from its webhooks, which they must not hold up) |

/// A kind of job. The strings are what `jobs.kind` holds: they never change, or jobs queued
/// by an older drivesync would no longer be recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Apply one stored webhook (the job's `event_id`); queued with it by
    /// [`crate::Store::accept_webhook`].
    Webhook,
    /// An incremental poll of a location: `{}`.
    Poll,
    /// A full reconcile of a location: `{}`.
    Reconcile,
    /// A search of a location's open tasks: `{}`.
    TaskPoll,
    /// A refresh of a location's context (profile, users, custom fields): `{}`.
    RefreshContext,
    /// Read a contact: `{ "contactId": … }`.
    ReadContact,
    /// Read a contact's notes: `{ "contactId": … }`.
    ReadNotes,
    /// Carry out one Drive Chat outbox command: `{ "outbox_id": N }`; queued with it by
    /// [`crate::Store::enqueue_command`].
    WriteBack,
}

impl JobKind {
    /// Every kind, so a registry can be checked to run them all.
    pub const ALL: [JobKind; 8] = [
        JobKind::Webhook,
        JobKind::Poll,
        JobKind::Reconcile,
        JobKind::TaskPoll,
        JobKind::RefreshContext,
        JobKind::ReadContact,
        JobKind::ReadNotes,
        JobKind::WriteBack,
    ];

    /// The text stored in `jobs.kind`.
    pub const fn as_str(self) -> &'static str {
        match self {
            JobKind::Webhook => "webhook",
            JobKind::Poll => "poll",
            JobKind::Reconcile => "reconcile",
            JobKind::TaskPoll => "task_poll",
            JobKind::RefreshContext => "refresh_context",
            JobKind::ReadContact => "read_contact",
            JobKind::ReadNotes => "read_notes",
            JobKind::WriteBack => "write_back",
        }
    }

    /// The kind a stored `jobs.kind` names; `None` for one this drivesync does not know (a
    /// newer one may have queued it).
    pub fn parse(kind: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == kind)
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<JobKind> for String {
    fn from(kind: JobKind) -> String {
        kind.as_str().to_string()
    }
}

/// The key of a contact's webhooks and of Drive Chat's commands on it.
pub fn contact_key(contact_id: &str) -> String {
    format!("contact:{contact_id}")
}

/// The key of an appointment's webhooks.
pub fn appointment_key(appointment_id: &str) -> String {
    format!("appointment:{appointment_id}")
}

/// The key of what concerns a location as a whole (webhooks of no contact or appointment,
/// commands of no contact).
pub fn location_key(location_id: &str) -> String {
    format!("location:{location_id}")
}

/// The key of an agency-level (Company) install, which names a company and no location.
pub fn company_key(company_id: &str) -> String {
    format!("company:{company_id}")
}

/// The key of a location's polls, reconciles and open-task searches: one at a time, however
/// many processes schedule them.
pub fn poll_key(location_id: &str) -> String {
    format!("poll:{location_id}")
}

/// The key of a location's context refreshes.
pub fn context_key(location_id: &str) -> String {
    format!("context:{location_id}")
}

/// The key of a contact's settle reads: their own, not the contact's webhooks' — a read
/// waiting on the rate limit must not hold up the contact's next webhooks.
pub fn settle_key(contact_id: &str) -> String {
    format!("settle:contact:{contact_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_text() {
        for kind in JobKind::ALL {
            assert_eq!(JobKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(JobKind::parse("backfill_page"), None);
    }

    #[test]
    fn the_stored_texts_stay_as_they_were() {
        let texts: Vec<&str> = JobKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            texts,
            [
                "webhook",
                "poll",
                "reconcile",
                "task_poll",
                "refresh_context",
                "read_contact",
                "read_notes",
                "write_back"
            ]
        );
        assert_eq!(contact_key("c1"), "contact:c1");
        assert_eq!(settle_key("c1"), "settle:contact:c1");
        assert_eq!(poll_key("L"), "poll:L");
    }
}
