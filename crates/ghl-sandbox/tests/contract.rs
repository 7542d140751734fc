//! Contract tests: the sandbox held against HighLevel's own OpenAPI files in `shared/ghl/`
//! (`apps/contacts.json`, `apps/calendars.json`, `apps/oauth.json`, the location's context from
//! `apps/locations.json` and `apps/users.json`, and the error bodies of
//! `common/common-schemas.json`), not against our client.
//!
//! Every call is built from the spec itself: the method and path template, the `Version` the
//! operation declares, its required query parameters and its request body (which must validate
//! against the operation's request schema, so the table below really sends valid data). The
//! answer must carry the 2xx status the spec documents and a body that validates against that
//! response's schema.
//!
//! OpenAPI 3.0 schemas are turned into self-contained JSON Schema (draft 4, the dialect OpenAPI
//! 3.0 extends) by `Specs::json_schema`; the few places where HighLevel's files contradict what
//! HighLevel documents and sends are patched in `patch_known_defects`, and nowhere else.

mod common;

use reqwest::Method;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

const SPEC_FILES: [&str; 5] = [
    "apps/contacts.json",
    "apps/calendars.json",
    "apps/oauth.json",
    "apps/locations.json",
    "apps/users.json",
];
const COMMON_FILE: &str = "common/common-schemas.json";

/// The operations of `calendars.json` the sandbox serves: the calendar list and the
/// appointment operations (the rest of that file, calendar and group management, resources,
/// schedules, is not emulated).
const CALENDAR_OPS: [&str; 10] = [
    "get-calendars",
    "get-appointment",
    "create-appointment",
    "edit-appointment",
    "delete-event",
    "get-calendar-events",
    "get-appointment-notes",
    "create-appointment-note",
    "update-appointment-note",
    "delete-appointment-note",
];

/// The operations of `locations.json` and `users.json` the sandbox serves: the location's
/// context (profile, custom field definitions, users) and task search across the location.
const CONTEXT_OPS: [&str; 4] = [
    "get-location",
    "get-custom-fields",
    "task-search",
    "get-user-by-location",
];

// ---- known defects of HighLevel's spec files ---------------------------------------------

/// Every place where HighLevel's spec files contradict what HighLevel itself documents and
/// sends, patched before any schema is built. Each patch first checks that the defect is still
/// there, so a corrected spec file fails here and the patch gets removed instead of lingering.
///
/// 1. `calendars.json` `CalendarEventDTO.startTime`, `endTime`, `dateAdded`, `dateUpdated` are
///    typed `object`, but each one documents the example `"2023-09-25T16:00:00+05:30"` and
///    HighLevel sends ISO 8601 strings (the `Appointment*` webhooks and `GetEventSchema` of
///    `contacts.json` type the same fields `string`). Patched to `string`.
/// 2. `contacts.json` `CreateContactDto`, `UpdateContactDto` and `UpsertContactDto`
///    `.dateOfBirth` are typed `object` (nullable), but the description lists the accepted
///    formats as strings (`YYYY-MM-DD`, `MM/DD/YYYY`, …) and the example is `"1990-09-25"`.
///    Patched to `string` (still nullable). Request side only: it lets the table send a
///    documented birth date.
/// 3. `contacts.json` `UpdateTagsResponseDTO.responses` (bulk tag update) types its items
///    `string`, but the documented example is an array of objects
///    `{contactId, message, type: "success"|"error", oldTags, tagsAdded, tagsRemoved}`, one
///    per contact processed. Patched to that object shape, with `contactId`, `message` and
///    `type` required (every example item has them) and the tag lists typed as in the example.
/// 4. `locations.json` `LocationTaskListSuccessfulResponseDto.tasks` (task search) types its
///    items `array` (a list of lists), with no item schema at all. A task search answers
///    tasks; the sandbox sends each as the Contacts API's `TaskSchema` (`contacts.json`), which
///    already carries `contactId`. Patched to that schema, with `id`, `title`, `contactId`,
///    `completed` and `dueDate` required so the shape is really checked.
/// 5. `contacts.json` `CustomFieldSchema.value` (a contact's custom field values, as get,
///    create and search answer them) is typed `string`, but the same file's request side
///    takes numbers (`NumericField`, `MonetoryField`) and string lists (`CheckboxField`,
///    `MultiSelectField`) for those field types, and HighLevel's contact webhook schemas type
///    the same `customFields[].value` `["string", "number", "array", "object"]`. The sandbox
///    answers values typed by the field's `dataType`. Patched to string, number or array.
fn patch_known_defects(file: &str, spec: &mut Value) {
    match file {
        "apps/locations.json" => {
            let items = spec
                .pointer_mut(
                    "/components/schemas/LocationTaskListSuccessfulResponseDto/properties/tasks/items",
                )
                .expect("LocationTaskListSuccessfulResponseDto.tasks.items");
            assert_eq!(
                *items,
                json!({"type": "array"}),
                "task search's item schema changed in the spec: review patch 4"
            );
            *items = json!({
                "allOf": [{"$ref": "contacts.json#/components/schemas/TaskSchema"}],
                "required": ["id", "title", "contactId", "completed", "dueDate"]
            });
        }
        "apps/calendars.json" => {
            for field in ["startTime", "endTime", "dateAdded", "dateUpdated"] {
                retype(spec, "CalendarEventDTO", field, "object", json!("string"));
            }
        }
        "apps/contacts.json" => {
            for dto in ["CreateContactDto", "UpdateContactDto", "UpsertContactDto"] {
                retype(spec, dto, "dateOfBirth", "object", json!("string"));
            }
            retype(
                spec,
                "CustomFieldSchema",
                "value",
                "string",
                json!(["string", "number", "array"]),
            );
            let responses = spec
                .pointer_mut("/components/schemas/UpdateTagsResponseDTO/properties/responses")
                .expect("UpdateTagsResponseDTO.responses");
            assert_eq!(
                responses["items"],
                json!({"type": "string"}),
                "UpdateTagsResponseDTO.responses changed in the spec: review patch 3"
            );
            assert!(
                responses["example"][0]["contactId"].is_string(),
                "UpdateTagsResponseDTO.responses example changed: review patch 3"
            );
            responses["items"] = json!({
                "type": "object",
                "properties": {
                    "contactId": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string", "enum": ["success", "error"]},
                    "oldTags": {"type": "array", "items": {"type": "string"}},
                    "tagsAdded": {"type": "array", "items": {"type": "string"}},
                    "tagsRemoved": {"type": "array", "items": {"type": "string"}}
                },
                "required": ["contactId", "message", "type"]
            });
        }
        _ => {}
    }
}

/// Changes the `type` of `schema.properties.prop` from `from` (asserted) to `to`.
fn retype(spec: &mut Value, schema: &str, prop: &str, from: &str, to: Value) {
    let p = spec
        .pointer_mut(&format!("/components/schemas/{schema}/properties/{prop}"))
        .unwrap_or_else(|| panic!("{schema}.{prop} is gone from the spec: review its patch"));
    assert_eq!(
        p["type"], from,
        "{schema}.{prop} is no longer typed `{from}` in the spec: review its patch"
    );
    p["type"] = to;
}

// ---- spec loading: OpenAPI 3.0 schema -> self-contained JSON Schema -------------------

struct Specs {
    /// Patched spec files by their path under `shared/ghl/`.
    files: BTreeMap<&'static str, Value>,
}

/// One operation of a spec file.
struct Op<'a> {
    id: String,
    file: &'static str,
    method: Method,
    path: String,
    def: &'a Value,
}

impl Op<'_> {
    /// The single 2xx status the spec documents.
    fn success_status(&self) -> String {
        let ok: Vec<&String> = self.def["responses"]
            .as_object()
            .expect("responses")
            .keys()
            .filter(|k| k.starts_with('2'))
            .collect();
        assert_eq!(
            ok.len(),
            1,
            "{}: expected one 2xx response, found {ok:?}",
            self.id
        );
        ok[0].clone()
    }

    fn parameters(&self) -> Vec<Value> {
        self.def["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Specs {
    fn load() -> Specs {
        let mut files = BTreeMap::new();
        for f in SPEC_FILES.into_iter().chain([COMMON_FILE]) {
            let mut spec = common::read_json(f);
            patch_known_defects(f, &mut spec);
            files.insert(f, spec);
        }
        Specs { files }
    }

    fn ops(&self, file: &'static str) -> Vec<Op<'_>> {
        let mut out = Vec::new();
        for (path, item) in self.files[file]["paths"].as_object().expect("paths") {
            for (method, def) in item.as_object().expect("path item") {
                let Some(id) = def.get("operationId").and_then(Value::as_str) else {
                    continue;
                };
                out.push(Op {
                    id: id.to_string(),
                    file,
                    method: Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    path: path.clone(),
                    def,
                });
            }
        }
        out
    }

    /// The operation with this id; it must exist in exactly one of the spec files.
    fn op(&self, id: &str) -> Op<'_> {
        let mut found: Vec<Op<'_>> = SPEC_FILES
            .into_iter()
            .flat_map(|f| self.ops(f))
            .filter(|o| o.id == id)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "operationId {id} found {} times",
            found.len()
        );
        found.remove(0)
    }

    /// A self-contained JSON Schema for an OpenAPI schema object that appears in `file`.
    fn json_schema(&self, file: &str, schema: &Value) -> Value {
        self.convert(file, schema, &mut Vec::new())
    }

    fn convert(&self, file: &str, schema: &Value, stack: &mut Vec<String>) -> Value {
        let Value::Object(m) = schema else {
            return schema.clone();
        };
        // OpenAPI 3.0: a `$ref` replaces the whole object; siblings are ignored.
        if let Some(r) = m.get("$ref").and_then(Value::as_str) {
            let (target_file, pointer) = resolve_ref(file, r);
            let key = format!("{target_file}#{pointer}");
            assert!(
                !stack.contains(&key),
                "recursive $ref {key} cannot be inlined (via {stack:?})"
            );
            let target = self
                .files
                .get(target_file.as_str())
                .unwrap_or_else(|| panic!("$ref {r} in {file}: no spec file {target_file}"))
                .pointer(&pointer)
                .unwrap_or_else(|| panic!("$ref {r} in {file}: {pointer} not found"));
            stack.push(key);
            let out = self.convert(&target_file, target, stack);
            stack.pop();
            return out;
        }
        let mut out = Map::new();
        for (k, v) in m {
            let converted = match k.as_str() {
                // OpenAPI-only keywords: annotations a JSON Schema validator must not see
                // (`nullable` is applied below).
                "nullable" | "example" | "discriminator" | "xml" | "externalDocs" => continue,
                "properties" | "patternProperties" => Value::Object(
                    v.as_object()
                        .expect("properties is an object")
                        .iter()
                        .map(|(name, s)| (name.clone(), self.convert(file, s, stack)))
                        .collect(),
                ),
                "items" | "additionalProperties" | "not" => self.convert(file, v, stack),
                "allOf" | "anyOf" | "oneOf" => Value::Array(
                    v.as_array()
                        .expect("a list of schemas")
                        .iter()
                        .map(|s| self.convert(file, s, stack))
                        .collect(),
                ),
                _ => v.clone(),
            };
            out.insert(k.clone(), converted);
        }
        if m.get("nullable") == Some(&Value::Bool(true)) {
            return nullable(out);
        }
        Value::Object(out)
    }

    /// Every way `instance` breaks the OpenAPI schema `schema` (found in `file`).
    fn errors(&self, file: &str, schema: &Value, instance: &Value) -> Vec<String> {
        let js = self.json_schema(file, schema);
        let validator = jsonschema::draft4::options()
            .should_validate_formats(true)
            .build(&js)
            .unwrap_or_else(|e| panic!("schema does not compile: {e}\n{js:#}"));
        validator
            .iter_errors(instance)
            .map(|e| format!("{e} (at `{}`, schema `{}`)", e.instance_path, e.schema_path))
            .collect()
    }
}

/// OpenAPI 3.0 `nullable: true`: `null` is also allowed.
fn nullable(mut schema: Map<String, Value>) -> Value {
    match schema.get_mut("type") {
        Some(Value::String(t)) => {
            let t = t.clone();
            schema.insert("type".into(), json!([t, "null"]));
        }
        Some(Value::Array(types)) => {
            if !types.contains(&json!("null")) {
                types.push(json!("null"));
            }
        }
        _ => return json!({ "anyOf": [Value::Object(schema), {"type": "null"}] }),
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        if !values.contains(&Value::Null) {
            values.push(Value::Null);
        }
    }
    Value::Object(schema)
}

/// A `$ref` found in `file`: the file it points into (relative to `file`'s folder) and the
/// JSON pointer within it.
fn resolve_ref(file: &str, reference: &str) -> (String, String) {
    let (doc, pointer) = reference.split_once('#').unwrap_or((reference, ""));
    if doc.is_empty() {
        return (file.to_string(), pointer.to_string());
    }
    let mut parts: Vec<&str> = file.split('/').collect();
    parts.pop();
    for seg in doc.split('/') {
        match seg {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            s => parts.push(s),
        }
    }
    (parts.join("/"), pointer.to_string())
}

// ---- the operation table -----------------------------------------------------------------

enum Payload {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
}

/// How to call one operation with valid data.
struct Case {
    op: &'static str,
    params: Vec<(&'static str, String)>,
    query: Vec<(&'static str, String)>,
    payload: Payload,
    token: Option<String>,
    /// A JSON pointer into the answer that must be a non-empty array, so the schema of its
    /// items is exercised too.
    nonempty: Option<&'static str>,
}

fn call(op: &'static str, token: &str) -> Case {
    Case {
        op,
        params: Vec::new(),
        query: Vec::new(),
        payload: Payload::None,
        token: (!token.is_empty()).then(|| token.to_string()),
        nonempty: None,
    }
}

impl Case {
    fn path(mut self, name: &'static str, value: &str) -> Self {
        self.params.push((name, value.to_string()));
        self
    }

    fn query(mut self, name: &'static str, value: &str) -> Self {
        self.query.push((name, value.to_string()));
        self
    }

    fn json(mut self, body: Value) -> Self {
        self.payload = Payload::Json(body);
        self
    }

    fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        self.payload = Payload::Form(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        self
    }

    fn nonempty(mut self, pointer: &'static str) -> Self {
        self.nonempty = Some(pointer);
        self
    }
}

/// Seeded records every case can use, all from one location of the seed-7 sandbox.
struct Fixture {
    loc: String,
    token: String,
    user: String,
    custom_field: String,
    /// A contact with at least one task and one note.
    contact: String,
    task: String,
    /// The assignee, state and title of `task`, for a task search that must find it.
    task_assignee: String,
    task_completed: bool,
    task_title: String,
    note: String,
    /// The contact of `appointment`.
    appt_contact: String,
    /// A business some contact belongs to.
    business: String,
    /// An email address a contact of the location has.
    email: String,
    /// A contact no other case touches, for delete-contact.
    spare: String,
    calendar: String,
    /// An appointment with at least one note.
    appointment: String,
    appointment_start: i64,
    appointment_end: i64,
    appointment_note: String,
    /// Another appointment, for delete-event.
    doomed: String,
}

async fn fixture(sb: &common::TestSandbox) -> Fixture {
    let mut fx = sb
        .running
        .sandbox
        .read(|w| {
            w.locations.values().find_map(|l| {
                let contacts: Vec<_> = l
                    .by_added
                    .iter()
                    .filter_map(|(_, id)| l.contacts.get(id))
                    .collect();
                let mut appts: Vec<_> = l.appointments.values().collect();
                appts.sort_by(|a, b| a.id.cmp(&b.id));
                let appt = appts.iter().find(|a| {
                    l.appointment_notes
                        .get(&a.id)
                        .is_some_and(|n| !n.is_empty())
                })?;
                let doomed = appts.iter().find(|a| a.id != appt.id)?;
                let with_both = contacts.iter().find(|c| {
                    !c.tasks.is_empty() && !c.notes.is_empty() && c.tasks[0].assigned_to.is_some()
                })?;
                let in_business = contacts.iter().find(|c| c.business_id.is_some())?;
                let with_email = contacts.iter().find(|c| c.email.is_some())?;
                let used = [
                    &with_both.id,
                    &appt.contact_id,
                    &in_business.id,
                    &with_email.id,
                ];
                let spare = contacts.iter().rev().find(|c| !used.contains(&&c.id))?;
                Some(Fixture {
                    loc: l.id.to_string(),
                    token: String::new(),
                    user: l.users.first()?.to_string(),
                    custom_field: l.custom_fields.first()?.id.to_string(),
                    contact: with_both.id.to_string(),
                    task: with_both.tasks[0].id.to_string(),
                    task_assignee: with_both.tasks[0].assigned_to.clone()?.to_string(),
                    task_completed: with_both.tasks[0].completed,
                    task_title: with_both.tasks[0].title.to_string(),
                    note: with_both.notes[0].id.to_string(),
                    appt_contact: appt.contact_id.to_string(),
                    business: in_business.business_id.clone()?.to_string(),
                    email: with_email.email.clone()?.to_string(),
                    spare: spare.id.to_string(),
                    calendar: appt.calendar_id.to_string(),
                    appointment: appt.id.to_string(),
                    appointment_start: appt.start_time,
                    appointment_end: appt.end_time,
                    appointment_note: l.appointment_notes[&appt.id][0].id.to_string(),
                    doomed: doomed.id.to_string(),
                })
            })
        })
        .expect("the seed-7 sandbox has a location with everything the contract table needs");
    fx.token = sb.pit(&fx.loc, None).await;
    fx
}

/// Every operation of `contacts.json`, in an order where nothing needed later is deleted
/// first.
fn contacts_cases(fx: &Fixture) -> Vec<Case> {
    let t = fx.token.as_str();
    let (loc, cid) = (fx.loc.as_str(), fx.contact.as_str());
    vec![
        call("create-contact", t).json(json!({
            "locationId": loc,
            "firstName": "Rosan",
            "lastName": "Deo",
            "email": "rosan.contract@example.com",
            "phone": "+1 888-555-0101",
            "companyName": "DGS VolMAX",
            "address1": "3535 1st St N",
            "city": "Dolomite",
            "state": "AL",
            "postalCode": "35061",
            "country": "US",
            "website": "https://www.tesla.com",
            "timezone": "America/Chihuahua",
            "source": "public api",
            "dateOfBirth": "1990-09-25",
            "dnd": false,
            "dndSettings": {"Email": {"status": "active", "message": "asked", "code": "u1"}},
            "tags": ["contract"],
            "customFields": [{"id": fx.custom_field, "field_value": "from the contract test"}],
            "assignedTo": fx.user,
        })),
        call("get-contacts", t)
            .query("locationId", loc)
            .query("limit", "5")
            .nonempty("/contacts"),
        call("search-contacts-advanced", t).json(json!({
            "locationId": loc,
            "page": 1,
            "pageLimit": 5,
            "filters": [{"field": "dateAdded", "operator": "range", "value": {"gt": 0}}],
            "sort": [{"field": "dateAdded", "direction": "desc"}],
        })),
        call("get-duplicate-contact", t)
            .query("locationId", loc)
            .query("email", &fx.email),
        call("get-contact", t).path("contactId", cid),
        call("update-contact", t)
            .path("contactId", cid)
            .json(json!({
                "firstName": "Renamed",
                "dateOfBirth": "1991-01-02",
                "dndSettings": {"SMS": {"status": "inactive"}},
                "tags": ["contract", "updated"],
            })),
        call("upsert-contact", t).json(json!({
            "locationId": loc,
            "email": fx.email,
            "firstName": "Upserted",
        })),
        call("upsert-contact", t).json(json!({
            "locationId": loc,
            "email": "new.upsert@example.com",
            "name": "New Upsert",
        })),
        call("get-contacts-by-businessId", t)
            .path("businessId", &fx.business)
            .query("locationId", loc)
            .query("limit", "10")
            .nonempty("/contacts"),
        call("add-remove-contact-from-business", t).json(json!({
            "locationId": loc,
            "ids": [cid],
            "businessId": fx.business,
        })),
        call("create-association", t)
            .path("type", "add")
            .json(json!({
                "locationId": loc,
                "contacts": [cid, "not-a-contact"],
                "tags": ["bulk-added"],
            })),
        call("add-tags", t)
            .path("contactId", cid)
            .json(json!({"tags": ["vip"]})),
        call("remove-tags", t)
            .path("contactId", cid)
            .json(json!({"tags": ["vip"]})),
        call("get-all-tasks", t)
            .path("contactId", cid)
            .nonempty("/tasks"),
        call("create-task", t).path("contactId", cid).json(json!({
            "title": "Call back",
            "body": "About the contract",
            "dueDate": "2031-01-01T09:00:00Z",
            "completed": false,
            "assignedTo": fx.user,
        })),
        call("get-task", t)
            .path("contactId", cid)
            .path("taskId", &fx.task),
        call("update-task", t)
            .path("contactId", cid)
            .path("taskId", &fx.task)
            .json(json!({"title": "Call back later", "dueDate": "2031-02-01T09:00:00Z"})),
        call("update-task-completed", t)
            .path("contactId", cid)
            .path("taskId", &fx.task)
            .json(json!({"completed": true})),
        call("get-all-notes", t)
            .path("contactId", cid)
            .nonempty("/notes"),
        call("create-note", t)
            .path("contactId", cid)
            .json(json!({"body": "Met at the fair", "userId": fx.user})),
        call("get-note", t)
            .path("contactId", cid)
            .path("id", &fx.note),
        call("update-note", t)
            .path("contactId", cid)
            .path("id", &fx.note)
            .json(json!({"body": "Met at the spring fair", "userId": fx.user})),
        call("get-appointments-for-contact", t)
            .path("contactId", &fx.appt_contact)
            .nonempty("/events"),
        call("add-followers-contact", t)
            .path("contactId", cid)
            .json(json!({"followers": [fx.user]})),
        call("remove-followers-contact", t)
            .path("contactId", cid)
            .json(json!({"followers": [fx.user]})),
        call("add-contact-to-campaign", t)
            .path("contactId", cid)
            .path("campaignId", "contract-campaign")
            .json(json!({})),
        call("remove-contact-from-campaign", t)
            .path("contactId", cid)
            .path("campaignId", "contract-campaign"),
        call("remove-contact-from-every-campaign", t).path("contactId", cid),
        call("add-contact-to-workflow", t)
            .path("contactId", cid)
            .path("workflowId", "contract-workflow")
            .json(json!({"eventStartTime": "2031-01-01T09:00:00+05:30"})),
        call("delete-contact-from-workflow", t)
            .path("contactId", cid)
            .path("workflowId", "contract-workflow")
            .json(json!({"eventStartTime": "2031-01-01T09:00:00+05:30"})),
        call("delete-task", t)
            .path("contactId", cid)
            .path("taskId", &fx.task),
        call("delete-note", t)
            .path("contactId", cid)
            .path("id", &fx.note),
        call("delete-contact", t).path("contactId", &fx.spare),
    ]
}

/// The appointment operations of `calendars.json`.
fn calendar_cases(fx: &Fixture) -> Vec<Case> {
    let t = fx.token.as_str();
    let appt = fx.appointment.as_str();
    vec![
        call("get-calendars", t)
            .query("locationId", &fx.loc)
            .nonempty("/calendars"),
        call("get-appointment", t).path("eventId", appt),
        call("get-calendar-events", t)
            .query("locationId", &fx.loc)
            .query("calendarId", &fx.calendar)
            .query("startTime", &(fx.appointment_start - 1).to_string())
            .query("endTime", &(fx.appointment_end + 1).to_string())
            .nonempty("/events"),
        call("create-appointment", t).json(json!({
            "calendarId": fx.calendar,
            "locationId": fx.loc,
            "contactId": fx.contact,
            "startTime": "2031-03-04T10:00:00+05:30",
            "endTime": "2031-03-04T10:30:00+05:30",
            "title": "Contract review",
            "meetingLocationType": "custom",
            "appointmentStatus": "confirmed",
            "assignedUserId": fx.user,
            "address": "Zoom",
            "ignoreDateRange": false,
            "toNotify": false,
            "ignoreFreeSlotValidation": true,
        })),
        call("edit-appointment", t)
            .path("eventId", appt)
            .json(json!({
                "title": "Moved",
                "appointmentStatus": "showed",
                "startTime": "2031-03-05T10:00:00+05:30",
                "endTime": "2031-03-05T11:00:00+05:30",
            })),
        call("get-appointment-notes", t)
            .path("appointmentId", appt)
            .query("limit", "10")
            .query("offset", "0")
            .nonempty("/notes"),
        call("create-appointment-note", t)
            .path("appointmentId", appt)
            .json(json!({"body": "Bring the contract", "userId": fx.user})),
        call("update-appointment-note", t)
            .path("appointmentId", appt)
            .path("noteId", &fx.appointment_note)
            .json(json!({"body": "Bring the signed contract", "userId": fx.user})),
        call("delete-appointment-note", t)
            .path("appointmentId", appt)
            .path("noteId", &fx.appointment_note),
        call("delete-event", t)
            .path("eventId", &fx.doomed)
            .json(json!({})),
    ]
}

/// The location's context from `locations.json` and `users.json`: all reads.
fn context_cases(fx: &Fixture) -> Vec<Case> {
    let t = fx.token.as_str();
    let loc = fx.loc.as_str();
    vec![
        call("get-location", t).path("locationId", loc),
        call("get-custom-fields", t)
            .path("locationId", loc)
            .query("model", "contact")
            .nonempty("/customFields"),
        call("task-search", t)
            .path("locationId", loc)
            .json(json!({"skip": 0, "limit": 100}))
            .nonempty("/tasks"),
        call("task-search", t)
            .path("locationId", loc)
            .json(json!({
                "contactId": [fx.contact],
                "assignedTo": [fx.task_assignee],
                "completed": fx.task_completed,
                "query": fx.task_title,
                "limit": 10,
                "skip": 0,
            }))
            .nonempty("/tasks"),
        call("get-user-by-location", t)
            .query("locationId", loc)
            .nonempty("/users"),
    ]
}

/// What the OAuth cases need: an authorization code for `loc`, and a company token pair from
/// another code (itself obtained through `get-access-token`, checked like any case).
struct OAuthFixture {
    loc: String,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    app_id: String,
    company_id: String,
    code: String,
    company_access: String,
    company_refresh: String,
}

/// The install page approved at once: a redirect back to the redirect URI with `code` and
/// `state`.
async fn authorize(sb: &common::TestSandbox, loc: &str) -> String {
    let app = &sb.running.sandbox.config.app;
    let redirect = &app.redirect_uris[0];
    let r = sb
        .http
        .get(sb.url("/oauth/chooselocation"))
        .query(&[
            ("response_type", "code"),
            ("client_id", app.client_id.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("scope", app.scopes.join(" ").as_str()),
            ("state", "xyz"),
            ("location_id", loc),
            ("approve", "1"),
        ])
        .send()
        .await
        .unwrap();
    // HighLevel's docs only say the browser "is redirected"; the sandbox answers 303 (axum's
    // `Redirect::to`), RFC 6749 shows 302. Either is a redirect a browser follows with a GET.
    let status = r.status().as_u16();
    assert!(
        status == 302 || status == 303,
        "chooselocation answered {status}, not a redirect"
    );
    let target = r.headers()["location"].to_str().unwrap();
    assert!(
        target.starts_with(redirect.as_str()),
        "redirected to {target}, not {redirect}"
    );
    let url = reqwest::Url::parse(target).unwrap();
    let q: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q.get("state").map(String::as_str), Some("xyz"), "{target}");
    q.get("code").cloned().expect("a code in the redirect")
}

fn code_exchange(ox: &OAuthFixture, code: &str, user_type: &str) -> Case {
    call("get-access-token", "").form(&[
        ("client_id", ox.client_id.as_str()),
        ("client_secret", ox.client_secret.as_str()),
        ("grant_type", "authorization_code"),
        ("code", code),
        ("user_type", user_type),
        ("redirect_uri", ox.redirect_uri.as_str()),
    ])
}

async fn oauth_fixture(sb: &common::TestSandbox, specs: &Specs) -> OAuthFixture {
    let app = &sb.running.sandbox.config.app;
    let loc = sb.location_ids()[0].clone();
    let mut ox = OAuthFixture {
        loc: loc.clone(),
        client_id: app.client_id.clone(),
        client_secret: app.client_secret.clone(),
        redirect_uri: app.redirect_uris[0].clone(),
        app_id: app.app_id.clone(),
        company_id: sb
            .running
            .sandbox
            .read(|w| w.company_id.clone())
            .to_string(),
        code: authorize(sb, &loc).await,
        company_access: String::new(),
        company_refresh: String::new(),
    };
    let company_code = authorize(sb, &loc).await;
    let company = check(sb, specs, &code_exchange(&ox, &company_code, "Company"))
        .await
        .unwrap_or_else(|e| panic!("company code exchange: {e}"));
    assert_eq!(company["userType"], "Company", "{company}");
    assert_eq!(company["companyId"], json!(ox.company_id), "{company}");
    assert!(
        company["approvedLocations"]
            .as_array()
            .is_some_and(|l| l.contains(&json!(loc))),
        "{company}"
    );
    ox.company_access = company["access_token"].as_str().unwrap().to_string();
    ox.company_refresh = company["refresh_token"].as_str().unwrap().to_string();
    ox
}

/// Every operation of `oauth.json` (the company authorization-code exchange runs in
/// `oauth_fixture`); the refresh comes last, as it spends the company refresh token.
fn oauth_cases(ox: &OAuthFixture) -> Vec<Case> {
    let company = ox.company_access.as_str();
    vec![
        code_exchange(ox, &ox.code, "Location"),
        call("get-location-access-token", company).form(&[
            ("companyId", ox.company_id.as_str()),
            ("locationId", ox.loc.as_str()),
        ]),
        call("get-installed-location", company)
            .query("companyId", &ox.company_id)
            .query("appId", &ox.app_id)
            .query("isInstalled", "true")
            .nonempty("/locations"),
        call("get-access-token", "").form(&[
            ("client_id", ox.client_id.as_str()),
            ("client_secret", ox.client_secret.as_str()),
            ("grant_type", "refresh_token"),
            ("refresh_token", ox.company_refresh.as_str()),
            ("user_type", "Company"),
        ]),
    ]
}

// ---- running a case ------------------------------------------------------------------------

/// Sends a case the way its spec describes the operation and checks the answer: the
/// documented 2xx status and a body that validates against that response's schema. Returns
/// the body, or every problem found.
async fn check(sb: &common::TestSandbox, specs: &Specs, case: &Case) -> Result<Value, String> {
    let op = specs.op(case.op);
    let name = format!("{} ({} {})", op.id, op.method, op.path);
    let mut problems = Vec::new();

    let mut path = op.path.clone();
    for (k, v) in &case.params {
        let placeholder = format!("{{{k}}}");
        if !path.contains(&placeholder) {
            problems.push(format!(
                "the table fills {{{k}}}, which the path does not have"
            ));
        }
        path = path.replace(&placeholder, v);
    }
    if path.contains('{') {
        problems.push(format!("a path parameter is left unfilled: {path}"));
    }

    let params = op.parameters();
    let declared = |name: &str, place: &str| {
        params
            .iter()
            .find(|p| p["in"] == place && p["name"] == name)
            .cloned()
    };
    for p in params
        .iter()
        .filter(|p| p["in"] == "query" && p["required"] == true)
    {
        let n = p["name"].as_str().unwrap();
        if !case.query.iter().any(|(k, _)| *k == n) {
            problems.push(format!("the required query parameter {n} is not sent"));
        }
    }
    for (k, _) in &case.query {
        if declared(k, "query").is_none() {
            problems.push(format!("the query parameter {k} is not in the spec"));
        }
    }
    let version = declared("Version", "header").map(|p| {
        p["schema"]["enum"][0]
            .as_str()
            .unwrap_or(common::VERSION)
            .to_string()
    });

    let request_body = op.def.get("requestBody");
    let sent = match (&case.payload, request_body) {
        (Payload::None, Some(rb)) if rb["required"] == true => {
            problems.push("the spec requires a request body".into());
            None
        }
        (Payload::None, _) => None,
        (_, None) => {
            problems.push("the table sends a body the spec does not describe".into());
            None
        }
        (Payload::Json(v), Some(rb)) => Some(("application/json", v.clone(), rb)),
        (Payload::Form(pairs), Some(rb)) => {
            let v = pairs
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect::<Map<_, _>>();
            Some(("application/x-www-form-urlencoded", Value::Object(v), rb))
        }
    };
    if let Some((ctype, instance, rb)) = &sent {
        match rb["content"].get(*ctype) {
            None => problems.push(format!("the spec takes no {ctype} body")),
            Some(content) => {
                for e in specs.errors(op.file, &content["schema"], instance) {
                    problems.push(format!("request body: {e}"));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(format!(
            "{name}: the table entry is invalid:\n  {}",
            problems.join("\n  ")
        ));
    }

    let mut req = sb
        .http
        .request(op.method.clone(), sb.url(&path))
        .query(&case.query);
    if let Some(v) = &version {
        req = req.header("Version", v);
    }
    if let Some(t) = &case.token {
        req = req.bearer_auth(t);
    }
    req = match &case.payload {
        Payload::None => req,
        Payload::Json(v) => req.json(v),
        Payload::Form(pairs) => req.form(pairs),
    };
    let res = req.send().await.map_err(|e| format!("{name}: {e}"))?;
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));

    if status == 404
        && body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Cannot "))
    {
        return Err(format!("{name}: the sandbox has no such route: {body}"));
    }
    let expected = op.success_status();
    if status.to_string() != expected {
        return Err(format!(
            "{name}: answered {status}, the spec documents {expected}: {body}"
        ));
    }
    if !body.is_object() {
        return Err(format!("{name}: the answer is not a JSON object: {body}"));
    }
    let schema = op.def["responses"][&expected]["content"]["application/json"].get("schema");
    if let Some(schema) = schema {
        let errors = specs.errors(op.file, schema, &body);
        if !errors.is_empty() {
            return Err(format!(
                "{name}: the {status} body does not match the spec:\n  {}\nbody: {body:#}",
                errors.join("\n  ")
            ));
        }
    }
    if let Some(ptr) = case.nonempty {
        let items = body.pointer(ptr).and_then(Value::as_array);
        if items.is_none_or(Vec::is_empty) {
            return Err(format!(
                "{name}: expected a non-empty array at {ptr}: {body}"
            ));
        }
    }
    Ok(body)
}

/// Runs the cases in order; fails with every broken one, each named by its operationId.
async fn check_all(sb: &common::TestSandbox, specs: &Specs, cases: &[Case]) -> Vec<Value> {
    let mut failures = Vec::new();
    let mut bodies = Vec::new();
    for case in cases {
        match check(sb, specs, case).await {
            Ok(b) => bodies.push(b),
            Err(e) => {
                failures.push(e);
                bodies.push(Value::Null);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} calls broke the contract:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
    bodies
}

// ---- tests -------------------------------------------------------------------------------

#[test]
fn schema_loader_inlines_refs_and_nullable() {
    let specs = Specs::load();
    let contacts = specs.op("get-contact");
    let schema = &contacts.def["responses"]["200"]["content"]["application/json"]["schema"];
    let js = specs.json_schema(contacts.file, schema);
    let text = js.to_string();
    assert!(!text.contains("$ref"), "a $ref survived: {text}");
    assert!(!text.contains("\"nullable\""), "nullable survived");
    let attribution = &js["properties"]["contact"]["properties"]["attributionSource"];
    assert_eq!(
        attribution["properties"]["campaign"]["type"],
        json!(["string", "null"])
    );
    // A cross-file reference: `../common/common-schemas.json#/components/schemas/...`.
    let err = &contacts.def["responses"]["401"]["content"]["application/json"]["schema"];
    assert_eq!(
        specs.json_schema(contacts.file, err),
        specs.json_schema(
            COMMON_FILE,
            &specs.files[COMMON_FILE]["components"]["schemas"]["UnauthorizedDTO"]
        )
    );
    // The validator really validates: a wrong type and a missing required field are caught.
    let event = specs.op("get-appointment");
    let schema = &event.def["responses"]["200"]["content"]["application/json"]["schema"];
    let errors = specs.errors(event.file, schema, &json!({"event": {"id": 5}}));
    assert!(
        errors.iter().any(|e| e.contains("is not of type")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("required")), "{errors:?}");
}

#[tokio::test]
async fn every_spec_operation_has_a_table_entry() {
    let specs = Specs::load();
    let sb = common::start().await;
    let fx = fixture(&sb).await;
    let ox = oauth_fixture(&sb, &specs).await;
    let table: BTreeSet<&str> = contacts_cases(&fx)
        .iter()
        .chain(calendar_cases(&fx).iter())
        .chain(context_cases(&fx).iter())
        .chain(oauth_cases(&ox).iter())
        .map(|c| c.op)
        // The company code exchange is made in `oauth_fixture`, through the same operation.
        .chain(["get-access-token"])
        .collect();

    let mut required: BTreeSet<String> = BTreeSet::new();
    for file in ["apps/contacts.json", "apps/oauth.json"] {
        required.extend(specs.ops(file).into_iter().map(|o| o.id));
    }
    let calendars: BTreeSet<String> = specs
        .ops("apps/calendars.json")
        .into_iter()
        .map(|o| o.id)
        .collect();
    for id in CALENDAR_OPS {
        assert!(
            calendars.contains(id),
            "calendars.json has no operation {id}"
        );
        required.insert(id.to_string());
    }
    let context: BTreeSet<String> = ["apps/locations.json", "apps/users.json"]
        .into_iter()
        .flat_map(|f| specs.ops(f))
        .map(|o| o.id)
        .collect();
    for id in CONTEXT_OPS {
        assert!(
            context.contains(id),
            "locations.json / users.json have no operation {id}"
        );
        required.insert(id.to_string());
    }
    assert_eq!(
        specs.ops("apps/contacts.json").len(),
        32,
        "contacts.json no longer has 32 operations"
    );
    assert_eq!(specs.ops("apps/oauth.json").len(), 3);

    let missing: Vec<&String> = required
        .iter()
        .filter(|id| !table.contains(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "operations with no table entry: {missing:?}"
    );
    let unknown: Vec<&&str> = table.iter().filter(|id| !required.contains(**id)).collect();
    assert!(
        unknown.is_empty(),
        "table entries for no spec operation: {unknown:?}"
    );
}

#[tokio::test]
async fn contacts_operations_answer_as_the_spec_says() {
    let specs = Specs::load();
    let sb = common::start().await;
    let fx = fixture(&sb).await;
    let cases = contacts_cases(&fx);
    let bodies = check_all(&sb, &specs, &cases).await;
    let answer = |op: &str| {
        let i = cases.iter().position(|c| c.op == op).unwrap();
        &bodies[i]
    };
    // The checks above are on shapes; a few on meaning, so the shapes are not empty.
    assert_eq!(
        answer("create-contact")["contact"]["dateOfBirth"],
        "1990-09-25T00:00:00.000Z"
    );
    assert_eq!(answer("upsert-contact")["new"], false);
    assert_eq!(
        answer("get-duplicate-contact")["contact"]["email"],
        json!(fx.email)
    );
    let bulk = answer("create-association");
    assert_eq!(bulk["errorCount"], 1, "{bulk}");
    assert_eq!(bulk["responses"][0]["type"], "success", "{bulk}");
    assert_eq!(bulk["responses"][1]["type"], "error", "{bulk}");
    sb.running.sandbox.read(|w| {
        let l = &w.locations[fx.loc.as_str()];
        assert!(
            !l.contacts.contains_key(fx.spare.as_str()),
            "delete-contact left the contact"
        );
        let c = &l.contacts[fx.contact.as_str()];
        assert!(
            c.tasks.iter().all(|t| t.id != fx.task),
            "delete-task left the task"
        );
        assert!(
            c.notes.iter().all(|n| n.id != fx.note),
            "delete-note left the note"
        );
    });
}

#[tokio::test]
async fn calendar_operations_answer_as_the_spec_says() {
    let specs = Specs::load();
    let sb = common::start().await;
    let fx = fixture(&sb).await;
    let cases = calendar_cases(&fx);
    let bodies = check_all(&sb, &specs, &cases).await;
    assert_eq!(bodies[1]["event"]["id"], json!(fx.appointment));
    sb.running.sandbox.read(|w| {
        let l = &w.locations[fx.loc.as_str()];
        assert!(
            !l.appointments.contains_key(fx.doomed.as_str()),
            "delete-event left the event"
        );
        let notes = l.appointment_notes.get(fx.appointment.as_str());
        assert!(
            notes.is_none_or(|n| n.iter().all(|n| n.id != fx.appointment_note)),
            "delete-appointment-note left the note"
        );
    });
}

#[tokio::test]
async fn oauth_operations_answer_as_the_spec_says() {
    let specs = Specs::load();
    let sb = common::start().await;
    let ox = oauth_fixture(&sb, &specs).await;
    let cases = oauth_cases(&ox);
    let bodies = check_all(&sb, &specs, &cases).await;
    let location = &bodies[0];
    assert_eq!(location["userType"], "Location", "{location}");
    assert_eq!(location["locationId"], json!(ox.loc), "{location}");
    assert_eq!(bodies[1]["locationId"], json!(ox.loc), "{}", bodies[1]);
    assert_eq!(bodies[3]["userType"], "Company", "{}", bodies[3]);
    // Tokens from the code exchange and from locationToken both open the location's API.
    let contact = sb.some_contact(&ox.loc);
    for body in [&bodies[0], &bodies[1]] {
        let token = body["access_token"].as_str().unwrap();
        let (status, _, answer) = sb
            .call(Method::GET, &format!("/contacts/{contact}"), token, None)
            .await;
        assert_eq!(status, 200, "{answer}");
    }
}

/// Sends a request by hand (for error cases a valid table entry cannot make).
async fn raw(
    sb: &common::TestSandbox,
    method: Method,
    path: &str,
    version: bool,
    token: Option<&str>,
    body: Option<(&str, &str)>,
) -> (u16, Value) {
    let mut req = sb.http.request(method, sb.url(path));
    if version {
        req = req.header("Version", common::VERSION);
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some((ctype, b)) = body {
        req = req.header("content-type", ctype).body(b.to_string());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Checks an error answer of `op` against what the spec documents for that status: a
/// reference to the common `dto`, whose schema the body must satisfy, with its `statusCode`
/// equal to the status and every property the DTO lists present.
fn error_problems(specs: &Specs, op: &str, status: u16, dto: &str, body: &Value) -> Vec<String> {
    let op = specs.op(op);
    let what = format!("{} answering {status}", op.id);
    let Some(response) = op.def["responses"].get(status.to_string()) else {
        return vec![format!("{what}: the spec documents no {status}")];
    };
    let schema = &response["content"]["application/json"]["schema"];
    let want = format!("../common/common-schemas.json#/components/schemas/{dto}");
    if schema["$ref"] != want.as_str() {
        return vec![format!("{what}: the spec's schema is {schema}, not {want}")];
    }
    let mut problems: Vec<String> = specs
        .errors(op.file, schema, body)
        .into_iter()
        .map(|e| format!("{what}: {e}"))
        .collect();
    if body["statusCode"] != status {
        problems.push(format!("{what}: statusCode is {}", body["statusCode"]));
    }
    let props = specs.files[COMMON_FILE]["components"]["schemas"][dto]["properties"]
        .as_object()
        .unwrap();
    for p in props.keys() {
        if body.get(p).is_none() {
            problems.push(format!("{what}: no `{p}` in {body}"));
        }
    }
    problems
}

#[tokio::test]
async fn error_bodies_match_the_common_schemas() {
    let specs = Specs::load();
    let sb = common::start().await;
    let fx = fixture(&sb).await;
    let readonly = sb.pit(&fx.loc, Some(&["contacts.readonly"][..])).await;
    let tasks = format!("/contacts/{}/tasks", fx.contact);
    let contact = format!("/contacts/{}", fx.contact);
    let task = r#"{"title": "t", "dueDate": "2031-01-01T00:00:00Z", "completed": false}"#;
    let json = "application/json";
    let form = "application/x-www-form-urlencoded";
    let app = &sb.running.sandbox.config.app;
    let bad_secret = format!(
        "client_id={}&client_secret=wrong&grant_type=refresh_token&refresh_token=x",
        app.client_id
    );
    let no_grant = format!(
        "client_id={}&client_secret={}",
        app.client_id, app.client_secret
    );

    let mut answers = Vec::new();
    // 401: no bearer, an unknown bearer, a token without the scope, bad client credentials.
    let r = raw(&sb, Method::POST, &tasks, true, None, Some((json, task))).await;
    answers.push(("create-task", 401, "UnauthorizedDTO", r));
    let r = raw(
        &sb,
        Method::GET,
        &contact,
        true,
        Some("sbx-at-unknown"),
        None,
    )
    .await;
    answers.push(("get-contact", 401, "UnauthorizedDTO", r));
    let r = raw(
        &sb,
        Method::POST,
        &tasks,
        true,
        Some(&readonly),
        Some((json, task)),
    )
    .await;
    answers.push(("create-task", 401, "UnauthorizedDTO", r));
    let r = raw(
        &sb,
        Method::POST,
        "/oauth/token",
        false,
        None,
        Some((form, bad_secret.as_str())),
    )
    .await;
    answers.push(("get-access-token", 401, "UnauthorizedDTO", r));
    // 422: required fields missing.
    let r = raw(
        &sb,
        Method::POST,
        &tasks,
        true,
        Some(&fx.token),
        Some((json, "{}")),
    )
    .await;
    answers.push(("create-task", 422, "UnprocessableDTO", r));
    let r = raw(
        &sb,
        Method::POST,
        "/oauth/token",
        false,
        None,
        Some((form, no_grant.as_str())),
    )
    .await;
    answers.push(("get-access-token", 422, "UnprocessableDTO", r));
    // 400: malformed JSON, a missing Version header.
    let malformed = Some((json, r#"{"title": "#));
    let r = raw(&sb, Method::POST, &tasks, true, Some(&fx.token), malformed).await;
    answers.push(("create-task", 400, "BadRequestDTO", r));
    let r = raw(&sb, Method::GET, &contact, false, Some(&fx.token), None).await;
    answers.push(("get-contact", 400, "BadRequestDTO", r));

    let mut problems = Vec::new();
    for (op, status, dto, (got, body)) in &answers {
        if got != status {
            problems.push(format!("{op}: expected {status}, got {got}: {body}"));
            continue;
        }
        problems.extend(error_problems(&specs, op, *status, dto, body));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The 422 names the missing fields, one message each.
    let messages = &answers[4].3 .1["message"];
    for field in ["title", "dueDate", "completed"] {
        assert!(
            messages
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m.as_str().unwrap().starts_with(field)),
            "{messages}"
        );
    }
}

// ---- the location's context ----------------------------------------------------------------

/// Every id seeded records point at as a user: contacts' and tasks' `assignedTo`,
/// appointments' `assignedUserId`, notes' and appointment notes' `userId`.
fn referenced_users(l: &ghl_sandbox::world::LocationData) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for c in l.contacts.values() {
        ids.extend(c.assigned_to.iter().map(|s| s.to_string()));
        for t in &c.tasks {
            ids.extend(t.assigned_to.iter().map(|s| s.to_string()));
        }
        for n in &c.notes {
            ids.extend(n.user_id.iter().map(|s| s.to_string()));
        }
    }
    for a in l.appointments.values() {
        ids.insert(a.assigned_user_id.to_string());
    }
    for notes in l.appointment_notes.values() {
        for n in notes {
            ids.extend(n.user_id.iter().map(|s| s.to_string()));
        }
    }
    ids
}

#[tokio::test]
async fn context_operations_answer_as_the_spec_says() {
    let specs = Specs::load();
    let sb = common::start().await;
    let fx = fixture(&sb).await;
    let cases = context_cases(&fx);
    let bodies = check_all(&sb, &specs, &cases).await;
    let (location, fields, tasks, found, users) =
        (&bodies[0], &bodies[1], &bodies[2], &bodies[3], &bodies[4]);

    // The location: its own id, and every field the brief of the route names, filled.
    let l = &location["location"];
    assert_eq!(l["id"], json!(fx.loc), "{l}");
    for k in [
        "name",
        "timezone",
        "address",
        "city",
        "state",
        "country",
        "postalCode",
        "email",
        "phone",
        "website",
    ] {
        assert!(
            l[k].as_str().is_some_and(|v| !v.is_empty()),
            "location.{k} is empty: {l}"
        );
    }
    // Each seeded location has its own IANA zone.
    let mut zones = BTreeSet::new();
    for id in sb.location_ids() {
        let token = sb.pit(&id, Some(&["locations.readonly"][..])).await;
        let (status, _, body) = sb
            .call(Method::GET, &format!("/locations/{id}"), &token, None)
            .await;
        assert_eq!(status, 200, "{body}");
        let tz = body["location"]["timezone"].as_str().unwrap().to_string();
        let (area, city) = tz.split_once('/').expect("an Area/City zone");
        assert!(
            ["America", "Europe", "Australia", "Asia", "Africa"].contains(&area)
                && !city.is_empty(),
            "{tz} is not an IANA zone name"
        );
        zones.insert(tz);
    }
    assert_eq!(zones.len(), sb.location_ids().len(), "zones: {zones:?}");

    // Custom fields: exactly the ids seeded contacts carry, each value typed by its dataType.
    let defs: BTreeMap<String, &Value> = fields["customFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap().to_string(), f))
        .collect();
    let (carried, problems) = sb.running.sandbox.read(|w| {
        let l = w.location(&fx.loc).unwrap();
        let mut carried = BTreeSet::new();
        let mut problems = Vec::new();
        for c in l.contacts.values() {
            for f in c.to_json()["customFields"].as_array().unwrap() {
                let id = f["id"].as_str().unwrap().to_string();
                let value = &f["value"];
                let Some(def) = defs.get(&id) else {
                    problems.push(format!("no definition for {id}"));
                    continue;
                };
                let options: Vec<&Value> = def["picklistOptions"]
                    .as_array()
                    .map(|o| o.iter().collect())
                    .unwrap_or_default();
                let ok = match def["dataType"].as_str().unwrap() {
                    "TEXT" => value.is_string(),
                    "NUMERICAL" => value.is_number(),
                    "DATE" => value
                        .as_str()
                        .is_some_and(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok()),
                    "SINGLE_OPTIONS" => options.contains(&value),
                    "MULTIPLE_OPTIONS" | "CHECKBOX" => value
                        .as_array()
                        .is_some_and(|v| !v.is_empty() && v.iter().all(|x| options.contains(&x))),
                    other => {
                        problems.push(format!("unexpected dataType {other}"));
                        true
                    }
                };
                if !ok {
                    problems.push(format!("{id} ({}) holds {value}", def["dataType"]));
                }
                carried.insert(id);
            }
        }
        (carried, problems)
    });
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(carried, defs.keys().cloned().collect::<BTreeSet<_>>());
    let types: BTreeSet<&str> = defs
        .values()
        .map(|d| d["dataType"].as_str().unwrap())
        .collect();
    for t in [
        "TEXT",
        "NUMERICAL",
        "DATE",
        "SINGLE_OPTIONS",
        "MULTIPLE_OPTIONS",
        "CHECKBOX",
    ] {
        assert!(types.contains(t), "no {t} field: {types:?}");
    }
    for d in defs.values() {
        let key = d["fieldKey"].as_str().unwrap();
        assert!(key.starts_with("contact."), "{d}");
        assert_eq!(d["model"], "contact", "{d}");
    }

    // Users: exactly the ids seeded records point at, with names and distinct emails.
    let listed: BTreeMap<String, &Value> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["id"].as_str().unwrap().to_string(), u))
        .collect();
    let referenced = sb
        .running
        .sandbox
        .read(|w| referenced_users(w.location(&fx.loc).unwrap()));
    assert_eq!(listed.keys().cloned().collect::<BTreeSet<_>>(), referenced);
    let emails: BTreeSet<&str> = listed
        .values()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), listed.len(), "emails repeat: {emails:?}");
    for u in listed.values() {
        let name = u["name"].as_str().unwrap();
        assert_eq!(
            name,
            format!(
                "{} {}",
                u["firstName"].as_str().unwrap(),
                u["lastName"].as_str().unwrap()
            ),
            "{u}"
        );
        assert!(u["email"].as_str().unwrap().contains('@'), "{u}");
        assert_eq!(u["roles"]["locationIds"], json!([fx.loc]), "{u}");
    }

    // Task search: every task carries its contact; the filtered search finds the task.
    assert!(tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["contactId"].is_string()));
    assert!(
        found["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == json!(fx.task)),
        "{found}"
    );
}

#[tokio::test]
async fn calendars_list_and_events_cover_every_appointment_per_calendar() {
    let sb = common::start().await;
    let loc = sb.location_ids()[0].clone();
    let token = sb.pit(&loc, None).await;
    let (status, _, body) = sb
        .call(
            Method::GET,
            &format!("/calendars/?locationId={loc}"),
            &token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (cal_ids, users, by_calendar) = sb.running.sandbox.read(|w| {
        let l = w.location(&loc).unwrap();
        let mut by: BTreeMap<String, Vec<(i64, i64, String)>> = BTreeMap::new();
        for a in l.appointments.values() {
            by.entry(a.calendar_id.to_string()).or_default().push((
                a.start_time,
                a.end_time,
                a.id.to_string(),
            ));
        }
        let ids: Vec<String> = l.calendars.iter().map(|c| c.id.to_string()).collect();
        let users: BTreeSet<String> = l.users.iter().map(|u| u.to_string()).collect();
        (ids, users, by)
    });
    let listed = body["calendars"].as_array().unwrap();
    let listed_ids: Vec<&str> = listed.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(listed_ids, cal_ids);
    for c in listed {
        assert_eq!(c["locationId"], json!(loc), "{c}");
        for m in c["teamMembers"].as_array().unwrap() {
            assert!(users.contains(m["userId"].as_str().unwrap()), "{m}");
        }
    }
    // One group's calendars only with groupId.
    let group = listed[0]["groupId"].as_str().unwrap();
    let (_, _, one) = sb
        .call(
            Method::GET,
            &format!("/calendars/?locationId={loc}&groupId={group}"),
            &token,
            None,
        )
        .await;
    assert_eq!(one["calendars"].as_array().unwrap().len(), 1, "{one}");

    // Every appointment of a calendar, from one events call over its whole span.
    assert!(by_calendar.len() >= 2, "both calendars have appointments");
    for (cal, appts) in &by_calendar {
        let start = appts.iter().map(|a| a.0).min().unwrap();
        let end = appts.iter().map(|a| a.1).max().unwrap();
        let path = format!(
            "/calendars/events?locationId={loc}&calendarId={cal}&startTime={start}&endTime={end}"
        );
        let (status, _, body) = sb.call(Method::GET, &path, &token, None).await;
        assert_eq!(status, 200, "{body}");
        let got: BTreeSet<&str> = body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect();
        let want: BTreeSet<&str> = appts.iter().map(|a| a.2.as_str()).collect();
        assert_eq!(got, want, "calendar {cal}");
    }
}

/// Every task of a location, oldest first (dateAdded, then id), from the sandbox's data.
fn tasks_in_order(sb: &common::TestSandbox, loc: &str) -> Vec<(i64, String)> {
    let mut all: Vec<(i64, String)> = sb.running.sandbox.read(|w| {
        w.location(loc)
            .unwrap()
            .contacts
            .values()
            .flat_map(|c| c.tasks.iter())
            .map(|t| (t.date_added, t.id.to_string()))
            .collect()
    });
    all.sort();
    all
}

/// Pages through a search with `limit`, returning the ids in the order served.
async fn search_all(
    sb: &common::TestSandbox,
    loc: &str,
    token: &str,
    filter: Value,
    limit: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    for page in 0.. {
        let mut body = filter.clone();
        body["skip"] = json!(page * limit);
        body["limit"] = json!(limit);
        let path = format!("/locations/{loc}/tasks/search");
        let (status, _, answer) = sb.call(Method::POST, &path, token, Some(body)).await;
        assert_eq!(status, 200, "{answer}");
        let tasks = answer["tasks"].as_array().unwrap();
        out.extend(tasks.iter().map(|t| t["id"].as_str().unwrap().to_string()));
        if tasks.len() < limit {
            break;
        }
    }
    out
}

#[tokio::test]
async fn task_search_pages_through_every_task_while_tasks_are_added_and_filters() {
    let sb = common::start().await;
    let loc = sb.location_ids()[0].clone();
    let token = sb.pit(&loc, None).await;
    let before = tasks_in_order(&sb, &loc);
    assert!(before.len() > 20, "the seed has tasks to page through");
    let contact = sb.some_contact(&loc);

    // Page with a task created after every page: the pages are all tasks, each once, in order.
    let limit = 7;
    let mut seen: Vec<String> = Vec::new();
    for page in 0.. {
        let path = format!("/locations/{loc}/tasks/search");
        let body = json!({"skip": page * limit, "limit": limit});
        let (status, _, answer) = sb.call(Method::POST, &path, &token, Some(body)).await;
        assert_eq!(status, 200, "{answer}");
        let tasks = answer["tasks"].as_array().unwrap();
        seen.extend(tasks.iter().map(|t| t["id"].as_str().unwrap().to_string()));
        if tasks.len() < limit {
            break;
        }
        if page < 3 {
            let (status, _, _) = sb
                .call(
                    Method::POST,
                    &format!("/contacts/{contact}/tasks"),
                    &token,
                    Some(json!({"title": format!("Added during page {page}"),
                                "dueDate": "2031-01-01T00:00:00Z", "completed": false})),
                )
                .await;
            assert_eq!(status, 201);
        }
    }
    let after: Vec<String> = tasks_in_order(&sb, &loc)
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert_eq!(after.len(), before.len() + 3);
    assert_eq!(seen, after, "pages cover every task once, oldest first");

    // Filters, each against the sandbox's own data.
    let (assignee, business, contacts) = sb.running.sandbox.read(|w| {
        let l = w.location(&loc).unwrap();
        let assignee = l.users[1].to_string();
        let business = l
            .contacts
            .values()
            .find_map(|c| c.business_id.clone().filter(|_| !c.tasks.is_empty()))
            .unwrap()
            .to_string();
        let mut with_tasks: Vec<String> = l
            .contacts
            .values()
            .filter(|c| !c.tasks.is_empty())
            .map(|c| c.id.to_string())
            .collect();
        with_tasks.sort();
        (assignee, business, with_tasks[..2].to_vec())
    });
    let expect =
        |pred: &dyn Fn(&ghl_sandbox::model::Contact, &ghl_sandbox::model::Task) -> bool| {
            let mut ids: Vec<(i64, String)> = sb.running.sandbox.read(|w| {
                w.location(&loc)
                    .unwrap()
                    .contacts
                    .values()
                    .flat_map(|c| c.tasks.iter().map(move |t| (c, t)))
                    .filter(|(c, t)| pred(c, t))
                    .map(|(_, t)| (t.date_added, t.id.to_string()))
                    .collect()
            });
            ids.sort();
            ids.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
        };
    let cases: Vec<(Value, Vec<String>)> = vec![
        (
            json!({"contactId": contacts}),
            expect(&|c, _| contacts.iter().any(|x| x == c.id.as_str())),
        ),
        (
            json!({"assignedTo": [assignee]}),
            expect(&|_, t| t.assigned_to.as_deref() == Some(assignee.as_str())),
        ),
        (json!({"completed": true}), expect(&|_, t| t.completed)),
        (json!({"completed": false}), expect(&|_, t| !t.completed)),
        (
            json!({"query": "DEMO"}),
            expect(&|_, t| {
                t.title.to_lowercase().contains("demo")
                    || t.body
                        .as_ref()
                        .is_some_and(|b| b.to_lowercase().contains("demo"))
            }),
        ),
        (
            json!({"businessId": business}),
            expect(&|c, _| c.business_id.as_deref() == Some(business.as_str())),
        ),
        (
            json!({"assignedTo": [assignee], "completed": false}),
            expect(&|_, t| !t.completed && t.assigned_to.as_deref() == Some(assignee.as_str())),
        ),
    ];
    for (filter, want) in cases {
        assert!(!want.is_empty(), "{filter} matches no seeded task");
        let got = search_all(&sb, &loc, &token, filter.clone(), 10).await;
        assert_eq!(got, want, "{filter}");
    }

    // The default page is 25; limits outside 1..=100 and a bad skip are refused with a 422.
    let path = format!("/locations/{loc}/tasks/search");
    let (_, _, page) = sb.call(Method::POST, &path, &token, Some(json!({}))).await;
    assert_eq!(page["tasks"].as_array().unwrap().len(), 25);
    let (_, _, page) = sb
        .call(Method::POST, &path, &token, Some(json!({"limit": 100})))
        .await;
    assert_eq!(
        page["tasks"].as_array().unwrap().len(),
        100.min(after.len())
    );
    let specs = Specs::load();
    for bad in [
        json!({"limit": 101}),
        json!({"limit": 0}),
        json!({"skip": -1}),
        json!({"limit": "ten"}),
        json!({"contactId": "not-a-list"}),
    ] {
        let (status, _, body) = sb
            .call(Method::POST, &path, &token, Some(bad.clone()))
            .await;
        assert_eq!(status, 422, "{bad}: {body}");
        let problems = error_problems(&specs, "task-search", 422, "UnprocessableDTO", &body);
        assert!(problems.is_empty(), "{bad}: {problems:?}");
    }
}

/// A new route, how to call it, and the scope it needs.
struct Route {
    op: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    scope: &'static str,
    /// The name the sandbox counts it under in `GET /_sandbox/counters`.
    counted: &'static str,
}

fn context_routes(loc: &str) -> Vec<Route> {
    vec![
        Route {
            op: "get-location",
            method: Method::GET,
            path: format!("/locations/{loc}"),
            body: None,
            scope: "locations.readonly",
            counted: "GET /locations/{locationId}",
        },
        Route {
            op: "get-custom-fields",
            method: Method::GET,
            path: format!("/locations/{loc}/customFields"),
            body: None,
            scope: "locations/customFields.readonly",
            counted: "GET /locations/{locationId}/customFields",
        },
        Route {
            op: "task-search",
            method: Method::POST,
            path: format!("/locations/{loc}/tasks/search"),
            body: Some(json!({"limit": 5})),
            scope: "locations/tasks.readonly",
            counted: "POST /locations/{locationId}/tasks/search",
        },
        Route {
            op: "get-user-by-location",
            method: Method::GET,
            path: format!("/users/?locationId={loc}"),
            body: None,
            scope: "users.readonly",
            counted: "GET /users/",
        },
        Route {
            op: "get-calendars",
            method: Method::GET,
            path: format!("/calendars/?locationId={loc}"),
            body: None,
            scope: "calendars.readonly",
            counted: "GET /calendars/",
        },
    ]
}

#[tokio::test]
async fn context_routes_refuse_count_and_rate_limit_like_every_api_route() {
    let specs = Specs::load();
    let sb = common::start().await;
    let ox = oauth_fixture(&sb, &specs).await;
    let loc = ox.loc.clone();
    let other = sb.location_ids().into_iter().find(|l| *l != loc).unwrap();
    let other_token = sb.pit(&other, None).await;
    let contact = sb.some_contact(&loc);
    let all_scopes = ghl_sandbox::config::ALL_SCOPES;

    // What an existing route answers to a token of another location and to an agency token.
    let (s, _, theirs) = sb
        .call(
            Method::GET,
            &format!("/contacts/?locationId={loc}"),
            &other_token,
            None,
        )
        .await;
    assert_eq!(s, 403, "{theirs}");
    let (s, _, agency) = sb
        .call(
            Method::GET,
            &format!("/contacts/{contact}"),
            &ox.company_access,
            None,
        )
        .await;
    assert_eq!(s, 401, "{agency}");

    let mut problems = Vec::new();
    for r in context_routes(&loc) {
        let send = |token: String| {
            let (method, path, body) = (r.method.clone(), r.path.clone(), r.body.clone());
            let sb = &sb;
            async move { sb.call(method, &path, &token, body).await }
        };
        // Every scope but its own: refused, naming the scope.
        let without: Vec<&str> = all_scopes
            .iter()
            .copied()
            .filter(|s| *s != r.scope)
            .collect();
        let (status, _, body) = send(sb.pit(&loc, Some(&without)).await).await;
        if status != 401 || body["requiredScope"] != r.scope {
            problems.push(format!("{}: without {}: {status} {body}", r.op, r.scope));
        } else {
            problems.extend(error_problems(&specs, r.op, 401, "UnauthorizedDTO", &body));
        }
        // Its own scope alone is enough.
        let (status, _, body) = send(sb.pit(&loc, Some(&[r.scope])).await).await;
        if status != 200 {
            problems.push(format!("{}: with only {}: {status} {body}", r.op, r.scope));
        }
        // Another location's token: refused as the contacts routes refuse it.
        let (status, _, body) = send(other_token.clone()).await;
        if status != 403 || body["message"] != theirs["message"] {
            problems.push(format!("{}: other location: {status} {body}", r.op));
        }
        // An agency token: refused as every location route refuses it.
        let (status, _, body) = send(ox.company_access.clone()).await;
        if status != 401 || body["message"] != agency["message"] {
            problems.push(format!("{}: agency token: {status} {body}", r.op));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Counted per route and location: two answers each under `loc` (the 401 and the 200)
    // and one under `other`.
    let counters = sb.admin_get("/_sandbox/counters").await;
    for r in context_routes(&loc) {
        assert_eq!(
            counters["requests"][r.counted][loc.as_str()],
            2,
            "{}: {}",
            r.counted,
            counters["requests"]
        );
        assert_eq!(counters["requests"][r.counted][other.as_str()], 1);
    }

    // Rate-limited like every API route: a burst of 2, then 429 with HighLevel's headers.
    let token = sb.pit(&loc, None).await;
    for r in context_routes(&loc) {
        sb.admin(
            "/_sandbox/limits",
            json!({"burst": 2, "intervalMs": 60_000}),
        )
        .await;
        let mut statuses = Vec::new();
        for _ in 0..3 {
            let (status, headers, _) = sb
                .call(r.method.clone(), &r.path, &token, r.body.clone())
                .await;
            assert_eq!(headers["x-ratelimit-max"], "2", "{}", r.op);
            statuses.push(status);
        }
        assert_eq!(statuses, [200, 200, 429], "{}", r.op);
    }
}
