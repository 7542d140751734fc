use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{encode, to_value, Location, Succeeded};
use crate::error::{GhlError, Result};
use crate::models::{Appointment, AppointmentInput, AppointmentNote, Calendar, NoteInput};

#[derive(Deserialize)]
struct Calendars {
    #[serde(default)]
    calendars: Vec<Calendar>,
}

#[derive(Deserialize)]
struct OneEvent {
    event: Appointment,
}

#[derive(Deserialize)]
struct Events {
    #[serde(default)]
    events: Vec<Appointment>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotesPage {
    #[serde(default)]
    notes: Vec<AppointmentNote>,
    #[serde(default, deserialize_with = "crate::models::de::bool")]
    has_more: bool,
}

#[derive(Deserialize)]
struct OneNote {
    note: AppointmentNote,
}

/// Events in a time range, for a calendar, a group or a user (HighLevel wants one of them).
#[derive(Debug, Clone, Default)]
pub struct EventsQuery {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub calendar_id: Option<String>,
    pub group_id: Option<String>,
    pub user_id: Option<String>,
}

fn notes_path(appointment_id: &str) -> String {
    format!("/calendars/appointments/{}/notes", encode(appointment_id))
}

impl Location {
    /// `GET /calendars/?locationId=` (scope `calendars.readonly`): every calendar of the
    /// location, drafts included (HighLevel's default; see [`Calendar::is_active`]). Their ids
    /// are what [`EventsQuery::calendar_id`] takes to list a calendar's events.
    pub async fn calendars(&self) -> Result<Vec<Calendar>> {
        let q = [("locationId".to_string(), self.id.clone())];
        let r: Calendars = self.get("get-calendars", "/calendars/".into(), &q).await?;
        Ok(r.calendars)
    }

    pub async fn appointment(&self, id: &str) -> Result<Appointment> {
        let path = format!("/calendars/events/appointments/{}", encode(id));
        let r: OneEvent = self.get("get-appointment", path, &[]).await?;
        Ok(r.event)
    }

    /// Not retried after a lost answer: a repeat could book twice.
    pub async fn create_appointment(&self, input: &AppointmentInput) -> Result<Appointment> {
        let mut body = to_value(input)?;
        body["locationId"] = Value::String(self.id.clone());
        self.with_body(
            "create-appointment",
            "/calendars/events/appointments".into(),
            body,
        )
        .await
    }

    pub async fn edit_appointment(
        &self,
        id: &str,
        input: &AppointmentInput,
    ) -> Result<Appointment> {
        let mut body = to_value(input)?;
        if let Some(o) = body.as_object_mut() {
            o.remove("locationId");
            o.remove("contactId");
        }
        let path = format!("/calendars/events/appointments/{}", encode(id));
        self.with_body("edit-appointment", path, body).await
    }

    pub async fn delete_event(&self, id: &str) -> Result<bool> {
        let path = format!("/calendars/events/{}", encode(id));
        let r: Succeeded = self
            .with_body("delete-event", path, serde_json::json!({}))
            .await?;
        Ok(r.succeeded)
    }

    pub async fn calendar_events(&self, q: &EventsQuery) -> Result<Vec<Appointment>> {
        let (Some(start), Some(end)) = (q.start, q.end) else {
            return Err(GhlError::InvalidInput(
                "calendar events need a start and an end".into(),
            ));
        };
        let mut query = vec![
            ("locationId".to_string(), self.id.clone()),
            ("startTime".into(), start.timestamp_millis().to_string()),
            ("endTime".into(), end.timestamp_millis().to_string()),
        ];
        for (k, v) in [
            ("calendarId", &q.calendar_id),
            ("groupId", &q.group_id),
            ("userId", &q.user_id),
        ] {
            if let Some(v) = v {
                query.push((k.to_string(), v.clone()));
            }
        }
        let r: Events = self
            .get("get-calendar-events", "/calendars/events".into(), &query)
            .await?;
        Ok(r.events)
    }

    /// One page of an appointment's notes and whether more follow.
    pub async fn appointment_notes(
        &self,
        appointment_id: &str,
        limit: u32,
        offset: u32,
    ) -> Result<(Vec<AppointmentNote>, bool)> {
        let q = vec![
            ("limit".to_string(), limit.to_string()),
            ("offset".to_string(), offset.to_string()),
        ];
        let r: NotesPage = self
            .get("get-appointment-notes", notes_path(appointment_id), &q)
            .await?;
        Ok((r.notes, r.has_more))
    }

    /// Every note of an appointment, page by page.
    pub async fn all_appointment_notes(
        &self,
        appointment_id: &str,
    ) -> Result<Vec<AppointmentNote>> {
        let mut out = Vec::new();
        loop {
            let (page, more) = self
                .appointment_notes(appointment_id, 100, out.len() as u32)
                .await?;
            let got = page.len();
            out.extend(page);
            if !more || got == 0 {
                return Ok(out);
            }
        }
    }

    /// Not retried after a lost answer: a repeat could add the note twice.
    pub async fn create_appointment_note(
        &self,
        appointment_id: &str,
        note: &NoteInput,
    ) -> Result<AppointmentNote> {
        let r: OneNote = self
            .with_body(
                "create-appointment-note",
                notes_path(appointment_id),
                to_value(note)?,
            )
            .await?;
        Ok(r.note)
    }

    pub async fn update_appointment_note(
        &self,
        appointment_id: &str,
        note_id: &str,
        note: &NoteInput,
    ) -> Result<AppointmentNote> {
        let path = format!("{}/{}", notes_path(appointment_id), encode(note_id));
        let r: OneNote = self
            .with_body("update-appointment-note", path, to_value(note)?)
            .await?;
        Ok(r.note)
    }

    pub async fn delete_appointment_note(
        &self,
        appointment_id: &str,
        note_id: &str,
    ) -> Result<bool> {
        let path = format!("{}/{}", notes_path(appointment_id), encode(note_id));
        let r: Succeeded = self.no_body("delete-appointment-note", path).await?;
        Ok(r.succeeded)
    }
}
