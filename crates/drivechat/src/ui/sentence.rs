//! A HighLevel change as a sentence naming its contact: "Tagged Ana Ivanova with vip",
//! "Task 'Call back' created for Ana Ivanova, due …", "Appointment 'Consultation' with Ana
//! Ivanova deleted". The one place a feed line's words are put around the contact's name,
//! for every list (the feed, a contact's thread) and every live-appended line.
//!
//! The sync engine stores each change's summary without the contact (it describes one record,
//! and a task or appointment record does not carry its contact's name; a contact may also be
//! renamed later). Here the summary, whose shapes `sync::describe` writes (pinned by
//! drivechat's `feed` tests, which run that describer), is split where the contact's current
//! name goes. A summary of a shape not known here keeps its words, with the contact after it.

use store::{Change, RecordKind};

/// A change's words around its contact: `before`, the contact's name (a link), `after`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sentence {
    pub(crate) before: String,
    pub(crate) after: String,
}

/// Splits `summary` (the change's summary, its times already in the reader's zone) where
/// the contact's name goes. `None` when the change is about no contact.
pub(crate) fn around_contact(c: &Change, summary: &str) -> Option<Sentence> {
    c.contact_id.as_ref()?;
    Some(known_shape(c, summary).unwrap_or_else(|| Sentence {
        before: format!("{summary} · "),
        after: String::new(),
    }))
}

fn known_shape(c: &Change, s: &str) -> Option<Sentence> {
    let action = c.action.as_str();
    match c.kind {
        RecordKind::Contact => contact(action, s),
        // "Task 'Call back' created for Ana, due …"; "Task 'Call back' for Ana completed".
        RecordKind::Task => match action {
            "created" => after_verb(s, " created", " for "),
            _ => before_verb(s, task_verb(action, s)?, " for "),
        },
        // "Appointment 'Demo' with Ana booked for …"
        RecordKind::Appointment => {
            let verb = match action {
                "created" => " booked for ",
                "rescheduled" => " moved to ",
                "updated" => " updated: ",
                "deleted" => " deleted",
                // "Appointment 'Demo' confirmed for <time>": the status is the word before.
                "status" => {
                    let at = s.rfind(" for ")?;
                    let word = s[..at].rfind(' ')?;
                    return Some(split(s, word, " with ", ""));
                }
                _ => return None,
            };
            before_verb(s, verb, " with ")
        }
        // "Note added to Ana by Bob: …"; "Note on Ana edited: …"; "Note 'x' on Ana deleted".
        RecordKind::Note => match action {
            "created" => after_prefix(s, "Note added", " to "),
            "updated" => {
                let rest = s.strip_prefix("Note edited")?;
                Some(Sentence {
                    before: "Note on ".into(),
                    after: format!(" edited{rest}"),
                })
            }
            "deleted" => before_verb(s, " deleted", " on "),
            _ => None,
        },
        RecordKind::AppointmentNote => match action {
            "created" => after_prefix(s, "Meeting note added", " for "),
            "updated" => {
                let rest = s.strip_prefix("Meeting note edited")?;
                Some(Sentence {
                    before: "Meeting note for ".into(),
                    after: format!(" edited{rest}"),
                })
            }
            "deleted" => before_verb(s, " deleted", " for "),
            _ => None,
        },
    }
}

/// A contact's own changes name it where the stored summary had its name then.
fn contact(action: &str, s: &str) -> Option<Sentence> {
    let sentence = |before: &str, after: &str| Sentence {
        before: before.into(),
        after: after.into(),
    };
    match action {
        "created" => s
            .starts_with("New contact ")
            .then(|| sentence("New contact ", "")),
        "deleted" => (s.starts_with("Contact ") && s.ends_with(" deleted"))
            .then(|| sentence("Contact ", " deleted")),
        "tagged" => {
            let tags = s.strip_prefix("Tagged ")?;
            Some(sentence("Tagged ", &format!(" with {tags}")))
        }
        "untagged" => {
            let tags = s.strip_prefix("Untagged ")?;
            let word = if tags.contains(", ") { "tags" } else { "tag" };
            Some(sentence(&format!("Removed {word} {tags} from "), ""))
        }
        "dnd" | "updated" => {
            let at = [
                " set to Do Not Disturb",
                " no longer on Do Not Disturb",
                " updated: ",
            ]
            .iter()
            .filter_map(|v| s.rfind(v))
            .max()?;
            Some(sentence("", &s[at..]))
        }
        _ => None,
    }
}

/// Where a task summary's verb starts, by its action.
fn task_verb(action: &str, s: &str) -> Option<&'static str> {
    Some(match action {
        "completed" => " completed",
        "reopened" => " reopened",
        "deleted" => " deleted",
        "updated" if s.contains(" now due ") => " now due ",
        "updated" => " updated: ",
        _ => return None,
    })
}

/// The contact between the record's name and the last `verb`, after `word`.
fn before_verb(s: &str, verb: &str, word: &str) -> Option<Sentence> {
    let at = s.rfind(verb)?;
    Some(split(s, at, word, ""))
}

/// The contact right after the last `verb`, after `word`.
fn after_verb(s: &str, verb: &str, word: &str) -> Option<Sentence> {
    let at = s.rfind(verb)? + verb.len();
    Some(split(s, at, word, ""))
}

/// The contact right after the summary's opening `prefix`, after `word`.
fn after_prefix(s: &str, prefix: &str, word: &str) -> Option<Sentence> {
    s.starts_with(prefix)
        .then(|| split(s, prefix.len(), word, ""))
}

/// `s` cut at byte `at`, with `word` before the contact and `tail` after it.
fn split(s: &str, at: usize, word: &str, tail: &str) -> Sentence {
    Sentence {
        before: format!("{}{word}", &s[..at]),
        after: format!("{tail}{}", &s[at..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(kind: RecordKind, action: &str, summary: &str) -> Change {
        Change {
            id: 1,
            location_id: "L".into(),
            kind,
            record_id: "r".into(),
            contact_id: Some("c".into()),
            action: action.into(),
            summary: summary.into(),
            detail: json!({}),
            origin: "webhook".into(),
            actor: None,
            at_ms: 0,
        }
    }

    fn read(kind: RecordKind, action: &str, summary: &str) -> String {
        let c = change(kind, action, summary);
        let s = around_contact(&c, summary).unwrap();
        format!("{}Ana{}", s.before, s.after)
    }

    #[test]
    fn lines_name_the_contact_as_a_sentence() {
        use RecordKind::*;
        let cases = [
            (
                Contact,
                "tagged",
                "Tagged follow-up",
                "Tagged Ana with follow-up",
            ),
            (
                Contact,
                "untagged",
                "Untagged a, b",
                "Removed tags a, b from Ana",
            ),
            (
                Contact,
                "created",
                "New contact Old Name",
                "New contact Ana",
            ),
            (
                Contact,
                "updated",
                "Old Name updated: city",
                "Ana updated: city",
            ),
            (
                Contact,
                "dnd",
                "Old set to Do Not Disturb",
                "Ana set to Do Not Disturb",
            ),
            (
                Contact,
                "deleted",
                "Contact Old deleted",
                "Contact Ana deleted",
            ),
            (
                Task,
                "created",
                "Task 'Call back' created",
                "Task 'Call back' created for Ana",
            ),
            (
                Task,
                "created",
                "Task 'x' created, due Tue 25 Nov",
                "Task 'x' created for Ana, due Tue 25 Nov",
            ),
            (
                Task,
                "completed",
                "Task 'x' completed",
                "Task 'x' for Ana completed",
            ),
            (
                Task,
                "updated",
                "Task 'x' now due Tue",
                "Task 'x' for Ana now due Tue",
            ),
            (
                Appointment,
                "deleted",
                "Appointment 'Consultation' deleted",
                "Appointment 'Consultation' with Ana deleted",
            ),
            (
                Appointment,
                "status",
                "Appointment 'Demo' confirmed for Tue",
                "Appointment 'Demo' with Ana confirmed for Tue",
            ),
            (
                Note,
                "created",
                "Note added by Bo: hi",
                "Note added to Ana by Bo: hi",
            ),
            (Note, "updated", "Note edited: hi", "Note on Ana edited: hi"),
            (
                AppointmentNote,
                "created",
                "Meeting note added: hi",
                "Meeting note added for Ana: hi",
            ),
            (Task, "odd", "Something else", "Something else · Ana"),
        ];
        for (kind, action, summary, want) in cases {
            assert_eq!(read(kind, action, summary), want, "{kind:?} {action}");
        }
    }

    #[test]
    fn a_change_about_no_contact_is_its_summary() {
        let mut c = change(RecordKind::Task, "created", "Task 'x' created");
        c.contact_id = None;
        assert_eq!(around_contact(&c, &c.summary), None);
    }
}
