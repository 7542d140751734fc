//! The contract between the parts of drivesync that ask HighLevel for a change (Drive Chat
//! today, flows soon) and the sync engine's write-back, which carries it out: one typed
//! command, built by the asker, stored in the [outbox](crate::outbox), executed by
//! `sync::writeback`.
//!
//! A command is stored in two outbox columns, `kind` (`"complete_task"`, `"add_note"`, ...)
//! and `command` (its arguments as a JSON object). The serde representation is adjacently
//! tagged with exactly those two names, so the enum below *is* the stored form: the variant's
//! name is the `kind` column and its fields are the `command` object. Rows written before
//! this type existed read back unchanged; renaming a variant or a field changes what is
//! stored, so each is spelled out and pinned by the tests at the end of this file.
//!
//! The fields are plain text, lists and maps rather than `ghl` models: the stored names are
//! Drive Chat's (`due_date`, `assigned_to`) while HighLevel's requests are camelCase, and the
//! stored form must not change when the HighLevel client's models do. Checking the content
//! (a due date that parses, at least one tag) is the executor's job; this type only gives it a
//! shape, and reading a stored row is total: anything that does not fit is a
//! [`CommandError`], never a panic.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Everything drivesync may be asked to change in HighLevel, with what it needs to do it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "command")]
pub enum HighLevelCommand {
    /// Mark a contact's task completed.
    #[serde(rename = "complete_task")]
    CompleteTask { contact_id: String, task_id: String },
    /// Mark a contact's completed task open again.
    #[serde(rename = "reopen_task")]
    ReopenTask { contact_id: String, task_id: String },
    /// Create a task on a contact.
    #[serde(rename = "create_task")]
    CreateTask {
        contact_id: String,
        title: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        /// An RFC 3339 time, as the asker wrote it (Drive Chat: `2030-01-15T09:30:00.000Z`);
        /// kept as text so a stored command reads back exactly, and parsed by the executor.
        due_date: String,
        /// The HighLevel user the task is for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assigned_to: Option<String>,
    },
    /// Add a note to a contact.
    #[serde(rename = "add_note")]
    AddNote {
        contact_id: String,
        body: String,
        /// The HighLevel user the member who wrote it is (HighLevel shows them as the
        /// author; sent as the note's `userId`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
    },
    /// Add tags to a contact.
    #[serde(rename = "add_tag")]
    AddTag {
        contact_id: String,
        tags: Vec<String>,
    },
    /// Remove tags from a contact.
    #[serde(rename = "remove_tag")]
    RemoveTag {
        contact_id: String,
        tags: Vec<String>,
    },
    /// Change a contact's fields: HighLevel's own (camelCase) field names and values, sent as
    /// they are.
    #[serde(rename = "update_contact")]
    UpdateContact {
        contact_id: String,
        fields: Map<String, Value>,
    },
}

/// Why a command cannot be read from, or written to, its stored form. The message is the
/// sentence the command fails with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The `kind` column names a command this drivesync does not have (a newer one wrote it).
    #[error("drivesync does not know the command {kind:?}; upgrade drivesync or report it")]
    UnknownKind { kind: String },
    /// A known kind whose arguments do not fit it (a field missing, text where a list
    /// belongs, ...).
    #[error(
        "Drive Chat sent a {kind} command drivesync cannot read ({reason}); this is a bug — \
         report it"
    )]
    Unreadable { kind: String, reason: String },
}

impl HighLevelCommand {
    /// Every kind there is, as stored in the outbox's `kind` column.
    pub const KINDS: [&'static str; 7] = [
        "complete_task",
        "reopen_task",
        "create_task",
        "add_note",
        "add_tag",
        "remove_tag",
        "update_contact",
    ];

    /// The outbox's `kind` column for this command (the serde tag).
    pub fn kind(&self) -> &'static str {
        match self {
            HighLevelCommand::CompleteTask { .. } => "complete_task",
            HighLevelCommand::ReopenTask { .. } => "reopen_task",
            HighLevelCommand::CreateTask { .. } => "create_task",
            HighLevelCommand::AddNote { .. } => "add_note",
            HighLevelCommand::AddTag { .. } => "add_tag",
            HighLevelCommand::RemoveTag { .. } => "remove_tag",
            HighLevelCommand::UpdateContact { .. } => "update_contact",
        }
    }

    /// The contact the command changes or adds to. Every command is about one today; a
    /// location-wide one (flows) would answer `None` and be ordered with its location.
    pub fn contact_id(&self) -> Option<&str> {
        match self {
            HighLevelCommand::CompleteTask { contact_id, .. }
            | HighLevelCommand::ReopenTask { contact_id, .. }
            | HighLevelCommand::CreateTask { contact_id, .. }
            | HighLevelCommand::AddNote { contact_id, .. }
            | HighLevelCommand::AddTag { contact_id, .. }
            | HighLevelCommand::RemoveTag { contact_id, .. }
            | HighLevelCommand::UpdateContact { contact_id, .. } => Some(contact_id),
        }
    }

    /// The existing record the command changes, other than the contact (the task to
    /// complete); `None` for a command that creates its record or changes the contact.
    pub fn record_id(&self) -> Option<&str> {
        match self {
            HighLevelCommand::CompleteTask { task_id, .. }
            | HighLevelCommand::ReopenTask { task_id, .. } => Some(task_id),
            HighLevelCommand::CreateTask { .. }
            | HighLevelCommand::AddNote { .. }
            | HighLevelCommand::AddTag { .. }
            | HighLevelCommand::RemoveTag { .. }
            | HighLevelCommand::UpdateContact { .. } => None,
        }
    }

    /// The outbox's `command` column: the arguments, without the kind.
    pub fn arguments(&self) -> Value {
        // Serializing strings, lists and string-keyed maps into a `Value` cannot fail; the
        // fallback only keeps this total.
        match serde_json::to_value(self) {
            Ok(Value::Object(mut tagged)) => tagged.remove("command").unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }

    /// Reads a command back from the outbox's `kind` and `command` columns.
    pub fn from_stored(kind: &str, arguments: &Value) -> Result<HighLevelCommand, CommandError> {
        if !HighLevelCommand::KINDS.contains(&kind) {
            return Err(CommandError::UnknownKind { kind: kind.into() });
        }
        let tagged = serde_json::json!({ "kind": kind, "command": arguments });
        serde_json::from_value(tagged).map_err(|e| CommandError::Unreadable {
            kind: kind.into(),
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// One of each kind, and the JSON Drive Chat stored for it before this type existed
    /// (written out literally, as `drivechat::actions` built it with `json!`).
    fn every_kind() -> Vec<(HighLevelCommand, &'static str, Value)> {
        let fields = json!({"companyName": "Harbor Law", "city": "Lisbon"});
        vec![
            (
                HighLevelCommand::CompleteTask {
                    contact_id: "c1".into(),
                    task_id: "t1".into(),
                },
                "complete_task",
                json!({"contact_id": "c1", "task_id": "t1"}),
            ),
            (
                HighLevelCommand::ReopenTask {
                    contact_id: "c1".into(),
                    task_id: "t1".into(),
                },
                "reopen_task",
                json!({"contact_id": "c1", "task_id": "t1"}),
            ),
            (
                HighLevelCommand::CreateTask {
                    contact_id: "c1".into(),
                    title: "Call back".into(),
                    body: Some("About the quote".into()),
                    due_date: "2030-01-15T09:30:00.000Z".into(),
                    assigned_to: Some("u7".into()),
                },
                "create_task",
                json!({"contact_id": "c1", "title": "Call back", "due_date": "2030-01-15T09:30:00.000Z",
                       "body": "About the quote", "assigned_to": "u7"}),
            ),
            (
                HighLevelCommand::CreateTask {
                    contact_id: "c1".into(),
                    title: "Call back".into(),
                    body: None,
                    due_date: "2030-01-15T09:30:00.000Z".into(),
                    assigned_to: None,
                },
                "create_task",
                json!({"contact_id": "c1", "title": "Call back", "due_date": "2030-01-15T09:30:00.000Z"}),
            ),
            (
                HighLevelCommand::AddNote {
                    contact_id: "c1".into(),
                    body: "Spoke to Dana".into(),
                    user_id: Some("hl-alice".into()),
                },
                "add_note",
                json!({"contact_id": "c1", "body": "Spoke to Dana", "user_id": "hl-alice"}),
            ),
            (
                HighLevelCommand::AddNote {
                    contact_id: "c1".into(),
                    body: "Spoke to Dana".into(),
                    user_id: None,
                },
                "add_note",
                json!({"contact_id": "c1", "body": "Spoke to Dana"}),
            ),
            (
                HighLevelCommand::AddTag {
                    contact_id: "c1".into(),
                    tags: vec!["vip".into(), "lead".into()],
                },
                "add_tag",
                json!({"contact_id": "c1", "tags": ["vip", "lead"]}),
            ),
            (
                HighLevelCommand::RemoveTag {
                    contact_id: "c1".into(),
                    tags: vec!["vip".into()],
                },
                "remove_tag",
                json!({"contact_id": "c1", "tags": ["vip"]}),
            ),
            (
                HighLevelCommand::UpdateContact {
                    contact_id: "c1".into(),
                    fields: fields.as_object().cloned().unwrap_or_default(),
                },
                "update_contact",
                json!({"contact_id": "c1", "fields": {"companyName": "Harbor Law", "city": "Lisbon"}}),
            ),
        ]
    }

    #[test]
    fn every_kind_is_stored_as_before_and_reads_back() {
        for (command, kind, stored) in every_kind() {
            assert_eq!(command.kind(), kind);
            assert_eq!(command.arguments(), stored, "{kind}");
            // The stored text, as the outbox writes it, reads back as the same command.
            let text = command.arguments().to_string();
            let column: Value = serde_json::from_str(&text).expect("JSON");
            assert_eq!(
                HighLevelCommand::from_stored(kind, &column),
                Ok(command.clone())
            );
            // The serde tag is the `kind` column.
            let tagged = serde_json::to_value(&command).expect("serialize");
            assert_eq!(tagged, json!({ "kind": kind, "command": stored }));
            assert_eq!(
                serde_json::from_value::<HighLevelCommand>(tagged).expect("deserialize"),
                command
            );
        }
    }

    #[test]
    fn kinds_lists_every_kind_once() {
        let mut seen: Vec<&str> = every_kind().iter().map(|(c, _, _)| c.kind()).collect();
        seen.sort_unstable();
        seen.dedup();
        let mut all = HighLevelCommand::KINDS.to_vec();
        all.sort_unstable();
        assert_eq!(seen, all);
    }

    #[test]
    fn contact_and_record_follow_from_the_command() {
        for (command, kind, stored) in every_kind() {
            assert_eq!(
                command.contact_id(),
                stored["contact_id"].as_str(),
                "{kind}"
            );
            assert_eq!(command.record_id(), stored["task_id"].as_str(), "{kind}");
        }
    }

    #[test]
    fn blank_optional_fields_read_as_given() {
        // A stored null reads as absent; the executor decides what blank text means.
        let c = HighLevelCommand::from_stored(
            "add_note",
            &json!({"contact_id": "c1", "body": " ", "user_id": null, "extra": 1}),
        )
        .expect("readable");
        assert_eq!(
            c,
            HighLevelCommand::AddNote {
                contact_id: "c1".into(),
                body: " ".into(),
                user_id: None
            }
        );
    }

    #[test]
    fn unknown_kinds_and_bad_arguments_are_typed_errors() {
        assert_eq!(
            HighLevelCommand::from_stored("delete_everything", &json!({"contact_id": "c"})),
            Err(CommandError::UnknownKind {
                kind: "delete_everything".into()
            })
        );
        let bad = [
            ("complete_task", json!({"task_id": "t"}), "contact_id"),
            (
                "add_tag",
                json!({"contact_id": "c", "tags": "vip"}),
                "sequence",
            ),
            ("add_tag", json!({"contact_id": "c", "tags": [1]}), "string"),
            (
                "update_contact",
                json!({"contact_id": "c", "fields": []}),
                "map",
            ),
            (
                "create_task",
                json!({"contact_id": "c", "title": 3}),
                "string",
            ),
            ("add_note", json!("not an object"), "add_note"),
            ("add_note", Value::Null, "add_note"),
        ];
        for (kind, args, mentions) in bad {
            match HighLevelCommand::from_stored(kind, &args) {
                Err(e @ CommandError::Unreadable { .. }) => {
                    let sentence = e.to_string();
                    assert!(sentence.contains(mentions), "{kind} {args}: {sentence}");
                    assert!(sentence.contains("cannot read"), "{sentence}");
                }
                other => panic!("{kind} {args}: {other:?}"),
            }
        }
    }
}
