//! Contract tests: the sandbox held against HighLevel's own OpenAPI files in `shared/ghl/`
//! (`apps/contacts.json`, `apps/calendars.json`, `apps/oauth.json` and the error bodies of
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

const SPEC_FILES: [&str; 3] = [
    "apps/contacts.json",
    "apps/calendars.json",
    "apps/oauth.json",
];
const COMMON_FILE: &str = "common/common-schemas.json";

/// The appointment operations of `calendars.json` the sandbox serves (the rest of that file is
/// calendars, groups and resources, which the sandbox does not emulate).
const CALENDAR_OPS: [&str; 9] = [
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
fn patch_known_defects(file: &str, spec: &mut Value) {
    match file {
        "apps/calendars.json" => {
            for field in ["startTime", "endTime", "dateAdded", "dateUpdated"] {
                retype(spec, "CalendarEventDTO", field, "object", json!("string"));
            }
        }
        "apps/contacts.json" => {
            for dto in ["CreateContactDto", "UpdateContactDto", "UpsertContactDto"] {
                retype(spec, dto, "dateOfBirth", "object", json!("string"));
            }
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
                let with_both = contacts
                    .iter()
                    .find(|c| !c.tasks.is_empty() && !c.notes.is_empty())?;
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
                    custom_field: l.custom_field_ids.first()?.to_string(),
                    contact: with_both.id.to_string(),
                    task: with_both.tasks[0].id.to_string(),
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
    assert_eq!(bodies[0]["event"]["id"], json!(fx.appointment));
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
