//! The sandbox's data: locations with their contacts, tasks, notes and appointments, and every
//! change to them. Each change records the webhook event HighLevel would send for it in
//! `World::events`; the caller hands those to the webhook dispatcher once the lock is released.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::body::Patch;
use crate::context::{CustomFieldDef, Profile, User};
use crate::error::{ApiError, ApiResult};
use crate::ids::new_id;
use crate::model::{
    Appointment, AppointmentNote, Contact, CustomField, DndSetting, Note, Str, Task,
};
use crate::time::{now_ms, Millis};

/// A change HighLevel would announce by webhook: its `type` and the body's other fields.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: &'static str,
    pub location_id: String,
    pub fields: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub struct Calendar {
    pub id: Str,
    pub group_id: Str,
    pub name: String,
    pub slot_minutes: i64,
}

impl Calendar {
    /// `CalendarDTO`, as `GET /calendars/?locationId=` lists it; `team` are the users the
    /// calendar's appointments are assigned to.
    pub fn to_json(&self, location_id: &str, team: &[Str]) -> Value {
        let slug: String = self
            .name
            .to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("-");
        let members: Vec<Value> = team
            .iter()
            .enumerate()
            .map(|(i, u)| json!({"userId": u, "priority": 0.5, "isPrimary": i == 0}))
            .collect();
        json!({
            "id": self.id,
            "locationId": location_id,
            "groupId": self.group_id,
            "name": self.name,
            "description": format!("{} with our team", self.name),
            "slug": slug,
            "widgetSlug": slug,
            "calendarType": "round_robin",
            "eventType": "RoundRobin_OptimizeForAvailability",
            "widgetType": "classic",
            "eventTitle": "{{contact.name}}",
            "eventColor": "#039be5",
            "teamMembers": members,
            "slotDuration": self.slot_minutes,
            "slotDurationUnit": "mins",
            "slotInterval": self.slot_minutes,
            "slotIntervalUnit": "mins",
            "appoinmentPerSlot": 1,
            "autoConfirm": true,
            "allowReschedule": true,
            "allowCancellation": true,
            "isActive": true,
        })
    }
}

/// One location's data in the emulated HighLevel: its profile, users, calendars and custom
/// fields, and the contacts (with their tasks and notes) and appointments it holds. Named
/// apart from the client's `ghl::api::Location` (a request handle) and the `Location`
/// principal of a token.
#[derive(Debug, Default)]
pub struct LocationData {
    pub id: Str,
    pub name: String,
    pub company_id: Str,
    /// Address, time zone and contact details (`GET /locations/{locationId}`).
    pub profile: Profile,
    /// The ids of the location's users, in the order of `user_profiles` (kept as a plain id
    /// list for callers that only pick an assignee).
    pub users: Vec<Str>,
    /// The location's users (`GET /users/?locationId=`): every `assignedTo`, `assignedUserId`
    /// and note `userId` the seed writes is one of them.
    pub user_profiles: Vec<User>,
    pub calendars: Vec<Calendar>,
    /// Custom field definitions (`GET /locations/{locationId}/customFields`): exactly the ids
    /// seeded contacts' `customFields` carry.
    pub custom_fields: Vec<CustomFieldDef>,
    /// Boxed: the map's buckets stay small (a million contacts would otherwise leave hundreds
    /// of megabytes of empty, contact-sized slots in the table).
    pub contacts: HashMap<Str, Box<Contact>>,
    /// (dateAdded, id) and (dateUpdated, id): the orders search and listing page through.
    pub by_added: BTreeSet<(Millis, Str)>,
    pub by_updated: BTreeSet<(Millis, Str)>,
    pub(crate) emails: HashMap<Str, Str>,
    pub(crate) phones: HashMap<Str, Str>,
    pub appointments: HashMap<Str, Appointment>,
    pub appointment_notes: HashMap<Str, Vec<AppointmentNote>>,
}

impl LocationData {
    pub fn contact(&self, id: &str) -> ApiResult<&Contact> {
        self.contacts
            .get(id)
            .map(|c| &**c)
            .ok_or_else(|| ApiError::not_found("Contact"))
    }

    pub fn insert_contact(&mut self, c: Contact) {
        self.insert_boxed(Box::new(c));
    }

    fn insert_boxed(&mut self, c: Box<Contact>) {
        self.index(&c);
        self.contacts.insert(c.id.clone(), c);
    }

    fn index(&mut self, c: &Contact) {
        self.by_added.insert((c.date_added, c.id.clone()));
        self.by_updated.insert((c.date_updated, c.id.clone()));
        if let Some(e) = &c.email {
            self.emails.insert(e.to_lowercase(), c.id.clone());
        }
        if let Some(p) = &c.phone {
            self.phones.insert(normalize_phone(p), c.id.clone());
        }
    }

    fn unindex(&mut self, c: &Contact) {
        self.by_added.remove(&(c.date_added, c.id.clone()));
        self.by_updated.remove(&(c.date_updated, c.id.clone()));
        if let Some(e) = &c.email {
            if self.emails.get(&e.to_lowercase()) == Some(&c.id) {
                self.emails.remove(&e.to_lowercase());
            }
        }
        if let Some(p) = &c.phone {
            if self.phones.get(normalize_phone(p).as_str()) == Some(&c.id) {
                self.phones.remove(normalize_phone(p).as_str());
            }
        }
    }

    /// Changes a contact in place, keeping every index right.
    pub fn update<R>(&mut self, id: &str, f: impl FnOnce(&mut Contact) -> R) -> ApiResult<R> {
        let mut c = self
            .contacts
            .remove(id)
            .ok_or_else(|| ApiError::not_found("Contact"))?;
        self.unindex(&c);
        let r = f(&mut c);
        self.insert_boxed(c);
        Ok(r)
    }

    pub fn remove_contact(&mut self, id: &str) -> ApiResult<Contact> {
        let c = self
            .contacts
            .remove(id)
            .ok_or_else(|| ApiError::not_found("Contact"))?;
        self.unindex(&c);
        Ok(*c)
    }

    pub fn find_by_email(&self, email: &str) -> Option<&Contact> {
        self.emails
            .get(email.to_lowercase().as_str())
            .and_then(|id| self.contacts.get(id))
            .map(|c| &**c)
    }

    pub fn find_by_phone(&self, phone: &str) -> Option<&Contact> {
        self.phones
            .get(normalize_phone(phone).as_str())
            .and_then(|id| self.contacts.get(id))
            .map(|c| &**c)
    }

    pub fn appointment(&self, id: &str) -> ApiResult<&Appointment> {
        self.appointments
            .get(id)
            .ok_or_else(|| ApiError::not_found("Appointment"))
    }

    pub fn calendar(&self, id: &str) -> Option<&Calendar> {
        self.calendars.iter().find(|c| c.id == id)
    }

    /// One line: street, city, state, postal code, country (for the sandbox's own pages).
    pub fn address_line(&self) -> String {
        let p = &self.profile;
        [&p.address, &p.city, &p.state, &p.postal_code, &p.country]
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `GetLocationByIdSchema`, as `GET /locations/{locationId}` returns it.
    pub fn to_json(&self) -> Value {
        let p = &self.profile;
        json!({
            "id": self.id,
            "companyId": self.company_id,
            "name": self.name,
            "address": p.address,
            "city": p.city,
            "state": p.state,
            "country": p.country,
            "postalCode": p.postal_code,
            "website": p.website,
            "timezone": p.timezone,
            "email": p.email,
            "phone": p.phone,
        })
    }
}

/// Phones compare by their digits, so `+1 (555) 010-0000` finds `+15550100000`.
pub fn normalize_phone(p: &str) -> Str {
    p.chars().filter(char::is_ascii_digit).collect()
}

/// Normalises tags as HighLevel does: trimmed, lower-cased, no empties, no repeats.
pub fn normalize_tags<T: AsRef<str>>(tags: &[T]) -> Vec<Str> {
    let mut out: Vec<Str> = Vec::new();
    for t in tags {
        let t: Str = t.as_ref().trim().to_lowercase().into();
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// The fields a create, update or upsert may carry.
#[derive(Debug, Clone)]
pub struct ContactInput {
    pub first_name: Patch<Str>,
    pub last_name: Patch<Str>,
    pub email: Patch<Str>,
    pub phone: Patch<Str>,
    pub company_name: Patch<Str>,
    pub address1: Patch<Str>,
    pub city: Patch<Str>,
    pub state: Patch<Str>,
    pub country: Patch<Str>,
    pub postal_code: Patch<Str>,
    pub website: Patch<Str>,
    pub timezone: Patch<Str>,
    pub source: Patch<Str>,
    pub assigned_to: Patch<Str>,
    pub date_of_birth: Patch<Str>,
    pub dnd: Option<bool>,
    pub dnd_settings: Option<BTreeMap<Str, DndSetting>>,
    pub tags: Option<Vec<Str>>,
    pub custom_fields: Option<Vec<CustomField>>,
}

impl Default for ContactInput {
    fn default() -> Self {
        ContactInput {
            first_name: Patch::Absent,
            last_name: Patch::Absent,
            email: Patch::Absent,
            phone: Patch::Absent,
            company_name: Patch::Absent,
            address1: Patch::Absent,
            city: Patch::Absent,
            state: Patch::Absent,
            country: Patch::Absent,
            postal_code: Patch::Absent,
            website: Patch::Absent,
            timezone: Patch::Absent,
            source: Patch::Absent,
            assigned_to: Patch::Absent,
            date_of_birth: Patch::Absent,
            dnd: None,
            dnd_settings: None,
            tags: None,
            custom_fields: None,
        }
    }
}

/// Which kinds of webhook a contact change calls for.
#[derive(Debug, Default, Clone, Copy)]
pub struct ContactChanges {
    pub fields: bool,
    pub tags: bool,
    pub dnd: bool,
}

impl ContactInput {
    fn apply(self, c: &mut Contact) -> ContactChanges {
        let mut ch = ContactChanges::default();
        for (patch, slot) in [
            (self.first_name, &mut c.first_name),
            (self.last_name, &mut c.last_name),
            (self.email, &mut c.email),
            (self.phone, &mut c.phone),
            (self.company_name, &mut c.company_name),
            (self.address1, &mut c.address1),
            (self.city, &mut c.city),
            (self.state, &mut c.state),
            (self.country, &mut c.country),
            (self.postal_code, &mut c.postal_code),
            (self.website, &mut c.website),
            (self.timezone, &mut c.timezone),
            (self.source, &mut c.source),
            (self.assigned_to, &mut c.assigned_to),
            (self.date_of_birth, &mut c.date_of_birth),
        ] {
            ch.fields |= patch.apply(slot);
        }
        if let Some(cf) = self.custom_fields {
            for f in cf {
                match c.custom_fields.iter_mut().find(|x| x.id == f.id) {
                    Some(x) if x.value != f.value => {
                        x.value = f.value;
                        ch.fields = true;
                    }
                    Some(_) => {}
                    None => {
                        c.custom_fields.push(f);
                        ch.fields = true;
                    }
                }
            }
        }
        if let Some(tags) = self.tags {
            let tags = normalize_tags(&tags);
            if tags != c.tags {
                c.tags = tags;
                ch.tags = true;
            }
        }
        if let Some(d) = self.dnd {
            if d != c.dnd {
                c.dnd = d;
                ch.dnd = true;
            }
        }
        if let Some(s) = self.dnd_settings {
            for (k, v) in s {
                if c.dnd_settings.get(k.as_str()) != Some(&v) {
                    c.dnd_settings.insert(k, v);
                    ch.dnd = true;
                }
            }
        }
        ch
    }
}

#[derive(Debug, Clone, Default)]
pub struct TaskInput {
    pub title: Option<Str>,
    pub body: Patch<Str>,
    pub due_date: Option<Millis>,
    pub completed: Option<bool>,
    pub assigned_to: Patch<Str>,
}

#[derive(Debug, Clone, Default)]
pub struct NoteInput {
    pub body: Option<Str>,
    pub title: Patch<Str>,
    pub color: Patch<Str>,
    pub pinned: Option<bool>,
    pub user_id: Patch<Str>,
}

#[derive(Debug, Clone, Default)]
pub struct AppointmentInput {
    pub calendar_id: Option<Str>,
    pub contact_id: Option<Str>,
    pub title: Option<Str>,
    pub status: Option<Str>,
    pub assigned_user_id: Option<Str>,
    pub address: Option<Str>,
    pub meeting_location_type: Option<Str>,
    pub rrule: Option<Str>,
    pub start_time: Option<Millis>,
    pub end_time: Option<Millis>,
}

pub struct World {
    pub company_id: Str,
    pub company_name: String,
    pub locations: BTreeMap<Str, LocationData>,
    pub events: Vec<Event>,
    rng: ChaCha8Rng,
    last_ms: Millis,
}

impl World {
    pub fn new(company_id: Str, company_name: String, seed: u64) -> World {
        World {
            company_id,
            company_name,
            locations: BTreeMap::new(),
            events: Vec::new(),
            // Runtime ids come from their own stream so API traffic never shifts seeded data.
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_0fa1),
            last_ms: 0,
        }
    }

    /// Wall-clock milliseconds, strictly increasing, so `dateUpdated` orders every change.
    pub fn now(&mut self) -> Millis {
        self.last_ms = now_ms().max(self.last_ms + 1);
        self.last_ms
    }

    pub fn new_id(&mut self) -> Str {
        new_id(&mut self.rng)
    }

    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    pub fn location(&self, id: &str) -> ApiResult<&LocationData> {
        self.locations
            .get(id)
            .ok_or_else(|| ApiError::not_found("Location"))
    }

    pub fn location_mut(&mut self, id: &str) -> ApiResult<&mut LocationData> {
        self.locations
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found("Location"))
    }

    pub fn emit(&mut self, kind: &'static str, location_id: &str, fields: Map<String, Value>) {
        self.events.push(Event {
            kind,
            location_id: location_id.to_string(),
            fields,
        });
    }

    fn emit_contact_changes(&mut self, c: &Contact, ch: ContactChanges) {
        if ch.tags {
            self.emit("ContactTagUpdate", &c.location_id, c.webhook_fields(false));
        }
        if ch.dnd {
            self.emit("ContactDndUpdate", &c.location_id, c.webhook_fields(true));
        }
        if ch.fields {
            self.emit("ContactUpdate", &c.location_id, c.webhook_fields(false));
        }
    }

    // ---- contacts -------------------------------------------------------------------------

    /// Refuses a contact whose email or phone another contact of the location already has,
    /// as HighLevel does while "Allow duplicate contact" is off (its default).
    fn check_duplicate(
        &self,
        loc: &LocationData,
        input: &ContactInput,
        except: Option<&str>,
    ) -> ApiResult<()> {
        let dup = |c: &Contact, field: &str| {
            ApiError::bad_request("This location does not allow duplicated contacts.").with(
                "meta",
                json!({"contactName": c.full_name().unwrap_or_default(), "contactId": c.id, "matchingField": field}),
            )
        };
        if let Patch::Set(e) = &input.email {
            if let Some(c) = loc
                .find_by_email(e)
                .filter(|c| Some(c.id.as_str()) != except)
            {
                return Err(dup(c, "email"));
            }
        }
        if let Patch::Set(p) = &input.phone {
            if let Some(c) = loc
                .find_by_phone(p)
                .filter(|c| Some(c.id.as_str()) != except)
            {
                return Err(dup(c, "phone"));
            }
        }
        Ok(())
    }

    pub fn create_contact(&mut self, loc_id: &str, input: ContactInput) -> ApiResult<Contact> {
        self.check_duplicate(self.location(loc_id)?, &input, None)?;
        let now = self.now();
        let mut c = Contact {
            id: self.new_id(),
            location_id: loc_id.into(),
            contact_type: "lead".into(),
            date_added: now,
            date_updated: now,
            ..Contact::default()
        };
        input.apply(&mut c);
        self.location_mut(loc_id)?.insert_contact(c.clone());
        self.emit("ContactCreate", loc_id, c.webhook_fields(false));
        Ok(c)
    }

    pub fn update_contact(
        &mut self,
        loc_id: &str,
        id: &str,
        input: ContactInput,
    ) -> ApiResult<Contact> {
        let loc = self.location(loc_id)?;
        loc.contact(id)?;
        self.check_duplicate(loc, &input, Some(id))?;
        let now = self.now();
        let (c, ch) = self.location_mut(loc_id)?.update(id, |c| {
            let ch = input.apply(c);
            c.date_updated = now;
            (c.clone(), ch)
        })?;
        let ch = if ch.fields || ch.tags || ch.dnd {
            ch
        } else {
            // A PUT that changes nothing still touches the record, as HighLevel's does.
            ContactChanges { fields: true, ..ch }
        };
        self.emit_contact_changes(&c, ch);
        Ok(c)
    }

    pub fn delete_contact(&mut self, loc_id: &str, id: &str) -> ApiResult<()> {
        let c = self.location_mut(loc_id)?.remove_contact(id)?;
        self.emit("ContactDelete", loc_id, c.webhook_fields(false));
        Ok(())
    }

    /// Upsert: a contact of the location with the same email, else the same phone, is updated;
    /// otherwise one is created. Returns whether it is new.
    pub fn upsert_contact(
        &mut self,
        loc_id: &str,
        input: ContactInput,
    ) -> ApiResult<(bool, Contact)> {
        let loc = self.location(loc_id)?;
        let by_email = match &input.email {
            Patch::Set(e) => loc.find_by_email(e).map(|c| c.id.clone()),
            _ => None,
        };
        let by_phone = match &input.phone {
            Patch::Set(p) => loc.find_by_phone(p).map(|c| c.id.clone()),
            _ => None,
        };
        match by_email.or(by_phone) {
            Some(id) => Ok((false, self.update_contact(loc_id, &id, input)?)),
            None => Ok((true, self.create_contact(loc_id, input)?)),
        }
    }

    /// Changes a contact's tags; returns the tags it ends with.
    pub fn change_tags(
        &mut self,
        loc_id: &str,
        id: &str,
        add: &[Str],
        remove: &[Str],
        remove_all: bool,
    ) -> ApiResult<Vec<Str>> {
        let add = normalize_tags(add);
        let remove = normalize_tags(remove);
        let now = self.now();
        let (c, changed) = self.location_mut(loc_id)?.update(id, |c| {
            let before = c.tags.clone();
            if remove_all {
                c.tags.clear();
            }
            c.tags.retain(|t| !remove.contains(t));
            for t in &add {
                if !c.tags.contains(t) {
                    c.tags.push(t.clone());
                }
            }
            let changed = before != c.tags;
            if changed {
                c.date_updated = now;
            }
            (c.clone(), changed)
        })?;
        if changed {
            self.emit("ContactTagUpdate", loc_id, c.webhook_fields(false));
        }
        Ok(c.tags)
    }

    /// Applies `f` to a contact's list field (followers, campaigns, workflows) and, when it
    /// changed, marks the contact updated and announces it.
    pub fn change_list(
        &mut self,
        loc_id: &str,
        id: &str,
        f: impl FnOnce(&mut Contact) -> bool,
    ) -> ApiResult<Contact> {
        let now = self.now();
        let (c, changed) = self.location_mut(loc_id)?.update(id, |c| {
            let changed = f(c);
            if changed {
                c.date_updated = now;
            }
            (c.clone(), changed)
        })?;
        if changed {
            self.emit("ContactUpdate", loc_id, c.webhook_fields(false));
        }
        Ok(c)
    }

    pub fn set_business(
        &mut self,
        loc_id: &str,
        ids: &[Str],
        business_id: Option<Str>,
    ) -> ApiResult<Vec<Str>> {
        let mut done = Vec::new();
        for id in ids {
            let b = business_id.clone();
            if self.location(loc_id)?.contacts.contains_key(id.as_str()) {
                self.change_list(loc_id, id, |c| {
                    let changed = c.business_id != b;
                    c.business_id = b;
                    changed
                })?;
                done.push(id.clone());
            }
        }
        Ok(done)
    }

    // ---- tasks ----------------------------------------------------------------------------

    pub fn create_task(&mut self, loc_id: &str, contact_id: &str, t: TaskInput) -> ApiResult<Task> {
        self.location(loc_id)?.contact(contact_id)?;
        let now = self.now();
        let task = Task {
            id: self.new_id(),
            contact_id: contact_id.into(),
            title: t.title.unwrap_or_default(),
            body: match t.body {
                Patch::Set(b) => Some(b),
                _ => None,
            },
            assigned_to: match t.assigned_to {
                Patch::Set(a) => Some(a),
                _ => None,
            },
            due_date: t.due_date.unwrap_or(now),
            completed: t.completed.unwrap_or(false),
            date_added: now,
            date_updated: now,
        };
        let tc = task.clone();
        self.location_mut(loc_id)?
            .update(contact_id, move |c| c.tasks.push(tc))?;
        self.emit("TaskCreate", loc_id, task.webhook_fields(loc_id, true));
        Ok(task)
    }

    pub fn task(&self, loc_id: &str, contact_id: &str, task_id: &str) -> ApiResult<&Task> {
        self.location(loc_id)?
            .contact(contact_id)?
            .tasks
            .iter()
            .find(|t| t.id == task_id)
            .ok_or_else(|| ApiError::not_found("Task"))
    }

    pub fn update_task(
        &mut self,
        loc_id: &str,
        contact_id: &str,
        task_id: &str,
        t: TaskInput,
    ) -> ApiResult<Task> {
        self.task(loc_id, contact_id, task_id)?;
        let now = self.now();
        let (task, completed_now) = self.location_mut(loc_id)?.update(contact_id, |c| {
            let task = c
                .tasks
                .iter_mut()
                .find(|x| x.id == task_id)
                .expect("task checked above");
            let was = task.completed;
            if let Some(v) = t.title {
                task.title = v;
            }
            t.body.apply(&mut task.body);
            t.assigned_to.apply(&mut task.assigned_to);
            if let Some(d) = t.due_date {
                task.due_date = d;
            }
            if let Some(done) = t.completed {
                task.completed = done;
            }
            task.date_updated = now;
            (task.clone(), !was && task.completed)
        })?;
        // HighLevel has no TaskUpdate webhook: only completion is announced.
        if completed_now {
            self.emit("TaskComplete", loc_id, task.webhook_fields(loc_id, true));
        }
        Ok(task)
    }

    pub fn delete_task(&mut self, loc_id: &str, contact_id: &str, task_id: &str) -> ApiResult<()> {
        let task = self.task(loc_id, contact_id, task_id)?.clone();
        self.location_mut(loc_id)?
            .update(contact_id, |c| c.tasks.retain(|t| t.id != task_id))?;
        self.emit("TaskDelete", loc_id, task.webhook_fields(loc_id, true));
        Ok(())
    }

    // ---- notes ----------------------------------------------------------------------------

    pub fn note(&self, loc_id: &str, contact_id: &str, note_id: &str) -> ApiResult<&Note> {
        self.location(loc_id)?
            .contact(contact_id)?
            .notes
            .iter()
            .find(|n| n.id == note_id)
            .ok_or_else(|| ApiError::not_found("Note"))
    }

    pub fn create_note(&mut self, loc_id: &str, contact_id: &str, n: NoteInput) -> ApiResult<Note> {
        self.location(loc_id)?.contact(contact_id)?;
        let now = self.now();
        let some = |p: Patch<Str>| match p {
            Patch::Set(v) => Some(v),
            _ => None,
        };
        let note = Note {
            id: self.new_id(),
            contact_id: contact_id.into(),
            body: n.body.unwrap_or_default(),
            title: some(n.title),
            color: some(n.color),
            pinned: n.pinned.unwrap_or(false),
            user_id: some(n.user_id),
            date_added: now,
            date_updated: now,
        };
        let nc = note.clone();
        self.location_mut(loc_id)?
            .update(contact_id, move |c| c.notes.push(nc))?;
        self.emit("NoteCreate", loc_id, note.webhook_fields(loc_id));
        Ok(note)
    }

    pub fn update_note(
        &mut self,
        loc_id: &str,
        contact_id: &str,
        note_id: &str,
        n: NoteInput,
    ) -> ApiResult<Note> {
        self.note(loc_id, contact_id, note_id)?;
        let now = self.now();
        let note = self.location_mut(loc_id)?.update(contact_id, |c| {
            let note = c
                .notes
                .iter_mut()
                .find(|x| x.id == note_id)
                .expect("note checked above");
            if let Some(b) = n.body {
                note.body = b;
            }
            n.title.apply(&mut note.title);
            n.color.apply(&mut note.color);
            n.user_id.apply(&mut note.user_id);
            if let Some(p) = n.pinned {
                note.pinned = p;
            }
            note.date_updated = now;
            note.clone()
        })?;
        self.emit("NoteUpdate", loc_id, note.webhook_fields(loc_id));
        Ok(note)
    }

    pub fn delete_note(&mut self, loc_id: &str, contact_id: &str, note_id: &str) -> ApiResult<()> {
        let note = self.note(loc_id, contact_id, note_id)?.clone();
        self.location_mut(loc_id)?
            .update(contact_id, |c| c.notes.retain(|n| n.id != note_id))?;
        self.emit("NoteDelete", loc_id, note.webhook_fields(loc_id));
        Ok(())
    }

    // ---- appointments ---------------------------------------------------------------------

    fn emit_appointment(&mut self, kind: &'static str, a: &Appointment) {
        let mut m = Map::new();
        m.insert("locationId".into(), json!(a.location_id));
        m.insert("appointment".into(), a.webhook_json());
        self.emit(kind, &a.location_id.clone(), m);
    }

    pub fn create_appointment(
        &mut self,
        loc_id: &str,
        a: AppointmentInput,
    ) -> ApiResult<Appointment> {
        let loc = self.location(loc_id)?;
        let calendar_id = a.calendar_id.clone().unwrap_or_default();
        let contact_id = a.contact_id.clone().unwrap_or_default();
        let cal = loc.calendar(&calendar_id).cloned().ok_or_else(|| {
            ApiError::unprocessable(vec!["calendarId: no such calendar in this location".into()])
        })?;
        if !loc.contacts.contains_key(&contact_id) {
            return Err(ApiError::unprocessable(vec![
                "contactId: no such contact in this location".into(),
            ]));
        }
        let default_user = loc.users.first().cloned().unwrap_or_default();
        let now = self.now();
        let start = a.start_time.unwrap_or(now);
        let appt = Appointment {
            id: self.new_id(),
            location_id: loc_id.into(),
            calendar_id,
            group_id: cal.group_id.clone(),
            contact_id,
            title: a.title.unwrap_or_else(|| cal.name.as_str().into()),
            status: a.status.unwrap_or_else(|| "confirmed".into()),
            assigned_user_id: a.assigned_user_id.unwrap_or(default_user),
            address: a.address.unwrap_or_default(),
            meeting_location_type: a.meeting_location_type.unwrap_or_else(|| "default".into()),
            notes: Str::default(),
            source: "third_party".into(),
            rrule: a.rrule,
            start_time: start,
            end_time: a.end_time.unwrap_or(start + cal.slot_minutes * 60_000),
            date_added: now,
            date_updated: now,
        };
        self.location_mut(loc_id)?
            .appointments
            .insert(appt.id.clone(), appt.clone());
        self.emit_appointment("AppointmentCreate", &appt);
        Ok(appt)
    }

    pub fn update_appointment(
        &mut self,
        loc_id: &str,
        id: &str,
        a: AppointmentInput,
    ) -> ApiResult<Appointment> {
        let loc = self.location(loc_id)?;
        loc.appointment(id)?;
        let group =
            match &a.calendar_id {
                Some(cid) => Some(loc.calendar(cid).map(|c| c.group_id.clone()).ok_or_else(
                    || {
                        ApiError::unprocessable(vec![
                            "calendarId: no such calendar in this location".into(),
                        ])
                    },
                )?),
                None => None,
            };
        let now = self.now();
        let loc = self.location_mut(loc_id)?;
        let appt = loc.appointments.get_mut(id).expect("checked above");
        if let (Some(c), Some(g)) = (a.calendar_id, group) {
            appt.calendar_id = c;
            appt.group_id = g;
        }
        let set = |slot: &mut Str, v: Option<Str>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut appt.title, a.title);
        set(&mut appt.status, a.status);
        set(&mut appt.assigned_user_id, a.assigned_user_id);
        set(&mut appt.address, a.address);
        set(&mut appt.meeting_location_type, a.meeting_location_type);
        if a.rrule.is_some() {
            appt.rrule = a.rrule;
        }
        if let Some(s) = a.start_time {
            let len = appt.end_time - appt.start_time;
            appt.start_time = s;
            appt.end_time = a.end_time.unwrap_or(s + len);
        } else if let Some(e) = a.end_time {
            appt.end_time = e;
        }
        appt.date_updated = now;
        let appt = appt.clone();
        self.emit_appointment("AppointmentUpdate", &appt);
        Ok(appt)
    }

    pub fn delete_appointment(&mut self, loc_id: &str, id: &str) -> ApiResult<()> {
        let loc = self.location_mut(loc_id)?;
        let appt = loc
            .appointments
            .remove(id)
            .ok_or_else(|| ApiError::not_found("Appointment"))?;
        loc.appointment_notes.remove(id);
        self.emit_appointment("AppointmentDelete", &appt);
        Ok(())
    }

    pub fn create_appointment_note(
        &mut self,
        loc_id: &str,
        appt_id: &str,
        body: Str,
        user_id: Option<Str>,
    ) -> ApiResult<(AppointmentNote, Str)> {
        let contact = self
            .location(loc_id)?
            .appointment(appt_id)?
            .contact_id
            .clone();
        let now = self.now();
        let note = AppointmentNote {
            id: self.new_id(),
            appointment_id: appt_id.into(),
            body,
            user_id,
            date_added: now,
        };
        self.location_mut(loc_id)?
            .appointment_notes
            .entry(appt_id.into())
            .or_default()
            .push(note.clone());
        Ok((note, contact))
    }

    pub fn update_appointment_note(
        &mut self,
        loc_id: &str,
        appt_id: &str,
        note_id: &str,
        body: Str,
        user_id: Option<Str>,
    ) -> ApiResult<(AppointmentNote, Str)> {
        let contact = self
            .location(loc_id)?
            .appointment(appt_id)?
            .contact_id
            .clone();
        let loc = self.location_mut(loc_id)?;
        let note = loc
            .appointment_notes
            .get_mut(appt_id)
            .and_then(|v| v.iter_mut().find(|n| n.id == note_id))
            .ok_or_else(|| ApiError::not_found("Note"))?;
        note.body = body;
        if user_id.is_some() {
            note.user_id = user_id;
        }
        Ok((note.clone(), contact))
    }

    pub fn delete_appointment_note(
        &mut self,
        loc_id: &str,
        appt_id: &str,
        note_id: &str,
    ) -> ApiResult<()> {
        self.location(loc_id)?.appointment(appt_id)?;
        let notes = self
            .location_mut(loc_id)?
            .appointment_notes
            .entry(appt_id.into())
            .or_default();
        let before = notes.len();
        notes.retain(|n| n.id != note_id);
        if notes.len() == before {
            return Err(ApiError::not_found("Note"));
        }
        Ok(())
    }

    /// Finds any record by id in any location, for the admin inspector.
    pub fn inspect(&self, id: &str) -> Option<Value> {
        for loc in self.locations.values() {
            let found = |kind: &str, record: Value| {
                Some(json!({"kind": kind, "locationId": loc.id, "record": record}))
            };
            if let Some(c) = loc.contacts.get(id) {
                return found("contact", c.to_json());
            }
            if let Some(a) = loc.appointments.get(id) {
                return found("appointment", a.to_event_json());
            }
            for c in loc.contacts.values() {
                if let Some(t) = c.tasks.iter().find(|t| t.id == id) {
                    return found("task", t.to_json());
                }
                if let Some(n) = c.notes.iter().find(|n| n.id == id) {
                    return found("note", n.to_json());
                }
            }
            for (appt, notes) in &loc.appointment_notes {
                if let Some(n) = notes.iter().find(|n| n.id == id) {
                    let contact = loc
                        .appointments
                        .get(appt)
                        .map(|a| a.contact_id.as_str())
                        .unwrap_or_default();
                    return found("appointmentNote", n.to_json(contact));
                }
            }
        }
        None
    }
}
