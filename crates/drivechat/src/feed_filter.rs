//! What a member's feed shows: the kinds of line (a contact's changes, tasks, notes, tags,
//! appointments, people's messages), one contact, one member, and the kinds the member muted.
//! The one place a feed line's kind is decided, for the listing (as a store query) and for
//! the live stream (each event names its kind so the page appends only what it shows).

use store::{Change, ChangeFilter, Member, RecordKind};

use crate::Error;

/// A kind of feed line, as the filter and the mutes name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum FeedKind {
    /// A contact's own changes (new, renamed, do-not-disturb, deleted), tags aside.
    Contact,
    Task,
    /// Notes, on a contact or on a meeting.
    Note,
    /// A contact tagged or untagged.
    Tag,
    Appointment,
    /// What people posted.
    Message,
}

impl FeedKind {
    pub(crate) const ALL: [FeedKind; 6] = [
        FeedKind::Contact,
        FeedKind::Task,
        FeedKind::Note,
        FeedKind::Tag,
        FeedKind::Appointment,
        FeedKind::Message,
    ];

    /// The kinds a member can mute. People's messages are not among them: a colleague who
    /// writes to the team expects to be read, and the feed is where they write. Muting is for
    /// the stream of CRM changes, which can be loud; a member who wants only messages filters
    /// for them instead.
    pub(crate) const MUTABLE: [FeedKind; 5] = [
        FeedKind::Contact,
        FeedKind::Task,
        FeedKind::Note,
        FeedKind::Tag,
        FeedKind::Appointment,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FeedKind::Contact => "contact",
            FeedKind::Task => "task",
            FeedKind::Note => "note",
            FeedKind::Tag => "tag",
            FeedKind::Appointment => "appointment",
            FeedKind::Message => "message",
        }
    }

    /// The kind as a filter or a mute names it to a person.
    pub(crate) fn label(self) -> &'static str {
        match self {
            FeedKind::Contact => "Contact changes",
            FeedKind::Task => "Tasks",
            FeedKind::Note => "Notes",
            FeedKind::Tag => "Tags",
            FeedKind::Appointment => "Appointments",
            FeedKind::Message => "Messages",
        }
    }

    pub(crate) fn parse(v: &str) -> Option<FeedKind> {
        FeedKind::ALL.into_iter().find(|k| k.as_str() == v)
    }

    /// A kind a member may mute, from a form; anything else is refused with what is allowed.
    pub(crate) fn parse_mutable(v: &str) -> Result<FeedKind, Error> {
        FeedKind::parse(v)
            .filter(|k| FeedKind::MUTABLE.contains(k))
            .ok_or_else(|| {
                Error::BadRequest(format!(
                    "{v:?} is not a kind of change you can mute; choose one of {}",
                    names(&FeedKind::MUTABLE)
                ))
            })
    }

    /// The kind of a HighLevel change's line.
    pub(crate) fn of(c: &Change) -> FeedKind {
        match c.kind {
            RecordKind::Contact if is_tagging(&c.action) => FeedKind::Tag,
            RecordKind::Contact => FeedKind::Contact,
            RecordKind::Task => FeedKind::Task,
            RecordKind::Note | RecordKind::AppointmentNote => FeedKind::Note,
            RecordKind::Appointment => FeedKind::Appointment,
        }
    }
}

/// A contact's tags changed (the store's filter says the same in SQL).
fn is_tagging(action: &str) -> bool {
    matches!(action, "tagged" | "untagged")
}

fn names(kinds: &[FeedKind]) -> String {
    kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The member whose lines a feed is filtered to: what they posted, and the changes their
/// write-backs made (credited to them by name, as the sync engine records it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ByMember {
    pub(crate) user_id: i64,
    pub(crate) name: String,
}

/// What one member's feed shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FeedFilter {
    /// One kind only. Asking for a kind shows it even when muted: the mute quiets the
    /// everyday feed, the filter is an explicit question.
    pub(crate) kind: Option<FeedKind>,
    /// One contact's lines: its changes and its thread's messages (without it, the general
    /// channel's messages).
    pub(crate) contact: Option<String>,
    pub(crate) member: Option<ByMember>,
    /// The kinds the member muted.
    pub(crate) muted: Vec<FeedKind>,
}

/// The query parameters of a filtered feed, as typed (checked by [`FeedFilter::parse`]).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub(crate) struct FeedParams {
    pub(crate) kind: Option<String>,
    pub(crate) contact: Option<String>,
    pub(crate) member: Option<String>,
}

impl FeedParams {
    /// The parameters a link to the same filter carries (empty ones left out).
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("kind", &self.kind),
            ("contact", &self.contact),
            ("member", &self.member),
        ]
        .into_iter()
        .filter_map(|(k, v)| {
            let v = v.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
            Some((k, v.to_string()))
        })
        .collect()
    }
}

impl FeedFilter {
    /// One contact's thread: everything about it, nothing muted.
    pub(crate) fn thread(contact_id: &str) -> FeedFilter {
        FeedFilter {
            contact: Some(contact_id.to_string()),
            ..FeedFilter::default()
        }
    }

    /// The filter `p` asks for, among the workspace's `members`. A value this feed cannot
    /// filter by is refused with what it accepts. (Whether the contact is one of the
    /// workspace's is checked by the caller, which reads the store.)
    pub(crate) fn parse(
        p: &FeedParams,
        members: &[Member],
        muted: Vec<FeedKind>,
    ) -> Result<FeedFilter, Error> {
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let kind = match given(&p.kind) {
            Some(k) => Some(FeedKind::parse(&k).ok_or_else(|| {
                Error::BadRequest(format!(
                    "kind must be one of {}, not {k:?}",
                    names(&FeedKind::ALL)
                ))
            })?),
            None => None,
        };
        let member = match given(&p.member) {
            Some(m) => {
                let found = m
                    .parse::<i64>()
                    .ok()
                    .and_then(|id| members.iter().find(|x| x.user_id == id));
                let found = found.ok_or_else(|| {
                    Error::BadRequest(format!(
                        "member {m:?} is not a member of this workspace; pick one from the list"
                    ))
                })?;
                Some(ByMember {
                    user_id: found.user_id,
                    name: found.display_name.clone(),
                })
            }
            None => None,
        };
        Ok(FeedFilter {
            kind,
            contact: given(&p.contact),
            member,
            muted,
        })
    }

    /// The kinds of line shown.
    pub(crate) fn shown(&self) -> Vec<FeedKind> {
        match self.kind {
            Some(k) => vec![k],
            None => FeedKind::ALL
                .into_iter()
                .filter(|k| !self.muted.contains(k))
                .collect(),
        }
    }

    pub(crate) fn shows_messages(&self) -> bool {
        self.shown().contains(&FeedKind::Message)
    }

    /// The store's filter for the changes shown.
    pub(crate) fn changes(&self) -> ChangeFilter {
        let shown = self.shown();
        let mut kinds = Vec::new();
        for k in &shown {
            let record_kinds: &[RecordKind] = match k {
                FeedKind::Contact | FeedKind::Tag => &[RecordKind::Contact],
                FeedKind::Task => &[RecordKind::Task],
                FeedKind::Note => &[RecordKind::Note, RecordKind::AppointmentNote],
                FeedKind::Appointment => &[RecordKind::Appointment],
                FeedKind::Message => &[],
            };
            for rk in record_kinds {
                if !kinds.contains(rk) {
                    kinds.push(*rk);
                }
            }
        }
        let tagging = match (
            shown.contains(&FeedKind::Contact),
            shown.contains(&FeedKind::Tag),
        ) {
            (true, false) => Some(false),
            (false, true) => Some(true),
            _ => None,
        };
        ChangeFilter {
            contact_id: self.contact.clone(),
            kinds: (kinds.len() < RecordKind::ALL.len()).then_some(kinds),
            tagging,
            actor: self.member.as_ref().map(|m| m.name.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_becomes_record_kinds_and_tagging() {
        let f = FeedFilter {
            kind: Some(FeedKind::Tag),
            ..FeedFilter::default()
        };
        let c = f.changes();
        assert_eq!(c.kinds, Some(vec![RecordKind::Contact]));
        assert_eq!(c.tagging, Some(true));
        assert!(!f.shows_messages());
        let f = FeedFilter {
            muted: vec![FeedKind::Tag, FeedKind::Note],
            ..FeedFilter::default()
        };
        let c = f.changes();
        assert_eq!(c.tagging, Some(false));
        assert_eq!(
            c.kinds,
            Some(vec![
                RecordKind::Contact,
                RecordKind::Task,
                RecordKind::Appointment
            ])
        );
        assert!(f.shows_messages());
        assert_eq!(FeedFilter::default().changes(), ChangeFilter::default());
    }

    #[test]
    fn an_explicit_kind_shows_even_when_muted() {
        let f = FeedFilter {
            kind: Some(FeedKind::Task),
            muted: vec![FeedKind::Task],
            ..FeedFilter::default()
        };
        assert_eq!(f.shown(), vec![FeedKind::Task]);
    }

    #[test]
    fn messages_cannot_be_muted() {
        assert!(FeedKind::parse_mutable("message").is_err());
        assert_eq!(FeedKind::parse_mutable("tag").unwrap(), FeedKind::Tag);
    }
}
