use serde::Deserialize;
use serde_json::json;

use super::{encode, to_value, Location, Succeeded};
use crate::error::Result;
use crate::models::{NewTask, Note, NoteInput, Task, TaskUpdate};

#[derive(Deserialize)]
struct Tasks {
    #[serde(default)]
    tasks: Vec<Task>,
}

#[derive(Deserialize)]
struct OneTask {
    task: Task,
}

#[derive(Deserialize)]
struct Notes {
    #[serde(default)]
    notes: Vec<Note>,
}

#[derive(Deserialize)]
struct OneNote {
    note: Note,
}

fn tasks_path(contact_id: &str) -> String {
    format!("/contacts/{}/tasks", encode(contact_id))
}

fn task_path(contact_id: &str, task_id: &str) -> String {
    format!("{}/{}", tasks_path(contact_id), encode(task_id))
}

fn notes_path(contact_id: &str) -> String {
    format!("/contacts/{}/notes", encode(contact_id))
}

impl Location {
    pub async fn tasks(&self, contact_id: &str) -> Result<Vec<Task>> {
        let r: Tasks = self
            .get("get-all-tasks", tasks_path(contact_id), &[])
            .await?;
        Ok(fill_contact(r.tasks, contact_id))
    }

    pub async fn task(&self, contact_id: &str, task_id: &str) -> Result<Task> {
        let r: OneTask = self
            .get("get-task", task_path(contact_id, task_id), &[])
            .await?;
        Ok(fill_contact(vec![r.task], contact_id).remove(0))
    }

    /// Not retried after a lost answer: a repeat could create the task twice.
    pub async fn create_task(&self, contact_id: &str, task: &NewTask) -> Result<Task> {
        let r: OneTask = self
            .with_body("create-task", tasks_path(contact_id), to_value(task)?)
            .await?;
        Ok(fill_contact(vec![r.task], contact_id).remove(0))
    }

    pub async fn update_task(
        &self,
        contact_id: &str,
        task_id: &str,
        update: &TaskUpdate,
    ) -> Result<Task> {
        let r: OneTask = self
            .with_body(
                "update-task",
                task_path(contact_id, task_id),
                to_value(update)?,
            )
            .await?;
        Ok(fill_contact(vec![r.task], contact_id).remove(0))
    }

    /// Completes (or reopens) a task.
    pub async fn set_task_completed(
        &self,
        contact_id: &str,
        task_id: &str,
        completed: bool,
    ) -> Result<Task> {
        let path = format!("{}/completed", task_path(contact_id, task_id));
        let r: OneTask = self
            .with_body(
                "update-task-completed",
                path,
                json!({ "completed": completed }),
            )
            .await?;
        Ok(fill_contact(vec![r.task], contact_id).remove(0))
    }

    pub async fn delete_task(&self, contact_id: &str, task_id: &str) -> Result<bool> {
        let r: Succeeded = self
            .no_body("delete-task", task_path(contact_id, task_id))
            .await?;
        Ok(r.succeeded)
    }

    pub async fn notes(&self, contact_id: &str) -> Result<Vec<Note>> {
        let r: Notes = self
            .get("get-all-notes", notes_path(contact_id), &[])
            .await?;
        Ok(r.notes)
    }

    pub async fn note(&self, contact_id: &str, note_id: &str) -> Result<Note> {
        let path = format!("{}/{}", notes_path(contact_id), encode(note_id));
        let r: OneNote = self.get("get-note", path, &[]).await?;
        Ok(r.note)
    }

    /// Not retried after a lost answer: a repeat could add the note twice.
    pub async fn create_note(&self, contact_id: &str, note: &NoteInput) -> Result<Note> {
        let r: OneNote = self
            .with_body("create-note", notes_path(contact_id), to_value(note)?)
            .await?;
        Ok(r.note)
    }

    pub async fn update_note(
        &self,
        contact_id: &str,
        note_id: &str,
        note: &NoteInput,
    ) -> Result<Note> {
        let path = format!("{}/{}", notes_path(contact_id), encode(note_id));
        let r: OneNote = self.with_body("update-note", path, to_value(note)?).await?;
        Ok(r.note)
    }

    pub async fn delete_note(&self, contact_id: &str, note_id: &str) -> Result<bool> {
        let path = format!("{}/{}", notes_path(contact_id), encode(note_id));
        let r: Succeeded = self.no_body("delete-note", path).await?;
        Ok(r.succeeded)
    }
}

/// The task routes are under the contact; a task read there belongs to it even when the body
/// leaves `contactId` out.
fn fill_contact(mut tasks: Vec<Task>, contact_id: &str) -> Vec<Task> {
    for t in &mut tasks {
        t.contact_id.get_or_insert_with(|| contact_id.to_string());
    }
    tasks
}
