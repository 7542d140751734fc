//! The operations table held against HighLevel's own spec files: every operation of
//! `apps/contacts.json`, the nine appointment operations and the calendar listing of
//! `apps/calendars.json`, and the location-wide reads of `apps/locations.json` and
//! `apps/users.json`, with the spec's method, path and scope, and nothing else. And the
//! models of the location-wide reads against the spec's schemas and examples.

mod common;

use ghl::api::TaskSearchRequest;
use ghl::models::{Calendar, CustomFieldDef, LocationDetails, User};
use ghl::operations::{operation, Retry, OPERATIONS};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

const APPOINTMENT_OPS: &[&str] = &[
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

/// The calendar listing, read for the ids the location-wide event listing takes.
const CALENDAR_OPS: &[&str] = &["get-calendars"];
/// The location's profile, custom field definitions and task search.
const LOCATION_OPS: &[&str] = &["get-location", "get-custom-fields", "task-search"];
/// The location's users.
const USER_OPS: &[&str] = &["get-user-by-location"];

/// The two bulk operations the spec lists without security; the table (and the sandbox)
/// require `contacts.write` for them.
const UNSECURED_BULK: &[&str] = &["create-association", "add-remove-contact-from-business"];

#[derive(Debug, Clone, PartialEq, Eq)]
struct SpecOp {
    method: String,
    path: String,
    /// `None` when the spec gives the operation no security.
    scope: Option<String>,
    path_params: BTreeSet<String>,
}

fn spec_ops(file: &str) -> BTreeMap<String, SpecOp> {
    let spec = common::read_spec(file);
    let mut out = BTreeMap::new();
    for (path, methods) in spec["paths"].as_object().expect("paths") {
        let shared_params = methods.get("parameters").cloned().unwrap_or(Value::Null);
        for (method, op) in methods.as_object().unwrap() {
            let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            // Location-Access and Agency-Access may name the same scope: one scope, twice.
            let scopes: BTreeSet<String> = op
                .get("security")
                .and_then(Value::as_array)
                .map(|reqs| {
                    reqs.iter()
                        .filter_map(Value::as_object)
                        .flat_map(|o| o.values())
                        .filter_map(Value::as_array)
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            assert!(
                scopes.len() <= 1,
                "{file} {id} has several scopes: {scopes:?}"
            );
            let declared: BTreeSet<String> = [op.get("parameters"), Some(&shared_params)]
                .into_iter()
                .flatten()
                .filter_map(Value::as_array)
                .flatten()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str().map(str::to_string))
                .collect();
            // The template is the truth: `create-association` uses `{type}` without declaring it.
            let path_params: BTreeSet<String> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .map(str::to_string)
                .collect();
            assert!(
                declared.is_subset(&path_params),
                "{file} {id} declares path parameters {declared:?} its path {path} lacks"
            );
            let prev = out.insert(
                id.to_string(),
                SpecOp {
                    method: method.to_ascii_uppercase(),
                    path: path.clone(),
                    scope: scopes.into_iter().next(),
                    path_params,
                },
            );
            assert!(prev.is_none(), "{file} has operationId {id} twice");
        }
    }
    out
}

/// What the table must hold: every contacts operation, the nine appointment operations, the
/// calendar listing and the location-wide reads.
fn expected() -> BTreeMap<String, SpecOp> {
    let contacts = spec_ops("apps/contacts.json");
    assert_eq!(contacts.len(), 32, "contacts.json has 32 operations");
    let mut want = contacts;
    for (file, ids) in [
        ("apps/calendars.json", APPOINTMENT_OPS),
        ("apps/calendars.json", CALENDAR_OPS),
        ("apps/locations.json", LOCATION_OPS),
        ("apps/users.json", USER_OPS),
    ] {
        let ops = spec_ops(file);
        for id in ids {
            let op = ops
                .get(*id)
                .unwrap_or_else(|| panic!("{file} has no operation {id}"));
            want.insert(id.to_string(), op.clone());
        }
    }
    assert_eq!(want.len(), 46);
    want
}

#[test]
fn table_has_every_spec_operation_with_its_method_path_and_scope() {
    let want = expected();
    for (id, spec) in &want {
        let op = operation(id).unwrap_or_else(|| panic!("OPERATIONS lacks {id}"));
        assert_eq!(op.method, spec.method, "method of {id}");
        assert_eq!(op.path, spec.path, "path of {id}");
        if UNSECURED_BULK.contains(&id.as_str()) {
            // The spec is silent; writing tags or businesses of contacts is a contacts write.
            assert_eq!(
                spec.scope, None,
                "{id} now has security in the spec: {spec:?}"
            );
            assert_eq!(op.scope, "contacts.write", "scope of {id}");
        } else {
            assert_eq!(Some(op.scope), spec.scope.as_deref(), "scope of {id}");
        }
        let params: BTreeSet<String> = op.path_params().into_iter().map(str::to_string).collect();
        assert_eq!(params, spec.path_params, "path parameters of {id}");
    }
}

#[test]
fn the_only_operations_without_security_are_the_two_bulk_ones() {
    let unsecured: Vec<String> = expected()
        .into_iter()
        .filter(|(_, s)| s.scope.is_none())
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        unsecured,
        vec!["add-remove-contact-from-business", "create-association"]
    );
}

#[test]
fn table_has_nothing_else_and_no_operation_twice() {
    let want = expected();
    let ids: Vec<&str> = OPERATIONS.iter().map(|o| o.id).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(
        unique.len(),
        ids.len(),
        "an operation id appears twice in {ids:?}"
    );
    let extra: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| !want.contains_key(*id))
        .collect();
    assert!(
        extra.is_empty(),
        "OPERATIONS holds operations the spec files lack: {extra:?}"
    );
    assert_eq!(OPERATIONS.len(), 46);
    let routes: BTreeSet<(&str, &str)> = OPERATIONS.iter().map(|o| (o.method, o.path)).collect();
    assert_eq!(
        routes.len(),
        OPERATIONS.len(),
        "two operations share a method and path"
    );
}

#[test]
fn only_record_creating_posts_are_unsafe_to_retry() {
    let creates: BTreeSet<&str> = OPERATIONS
        .iter()
        .filter(|o| o.retry == Retry::CreatesRecord)
        .map(|o| o.id)
        .collect();
    assert_eq!(
        creates,
        BTreeSet::from([
            "create-appointment",
            "create-appointment-note",
            "create-contact",
            "create-note",
            "create-task",
        ])
    );
    for op in OPERATIONS {
        if op.method != "POST" {
            assert_eq!(op.retry, Retry::Safe, "{} {} {}", op.id, op.method, op.path);
        }
        assert_eq!(op.http_method().as_str(), op.method, "{}", op.id);
        assert_eq!(op.is_write(), op.scope.ends_with(".write"), "{}", op.id);
    }
}

#[test]
fn location_in_query_is_exactly_the_spec_required_location_id_query() {
    let mut specs: BTreeMap<String, Value> = BTreeMap::new();
    for file in [
        "apps/contacts.json",
        "apps/calendars.json",
        "apps/locations.json",
        "apps/users.json",
    ] {
        let spec = common::read_spec(file);
        for methods in spec["paths"].as_object().expect("paths").values() {
            for op in methods.as_object().expect("methods").values() {
                if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                    specs.entry(id.to_string()).or_insert_with(|| op.clone());
                }
            }
        }
    }
    for op in OPERATIONS {
        let spec = &specs[op.id];
        let required = spec["parameters"].as_array().is_some_and(|ps| {
            ps.iter()
                .any(|p| p["name"] == "locationId" && p["in"] == "query" && p["required"] == true)
        });
        assert_eq!(op.location_in_query(), required, "{}", op.id);
    }
}

#[test]
fn default_scopes_are_exactly_the_scopes_of_the_table() {
    let used: BTreeSet<&str> = OPERATIONS.iter().map(|o| o.scope).collect();
    let asked: BTreeSet<&str> = ghl::DEFAULT_SCOPES.iter().copied().collect();
    assert_eq!(asked.len(), ghl::DEFAULT_SCOPES.len(), "a scope twice");
    assert_eq!(used, asked);
    let granted = common::scopes(&["contacts.readonly", "contacts.write"]);
    let missing = ghl::missing_scopes(&granted);
    assert_eq!(
        missing,
        [
            "calendars.readonly",
            "calendars/events.readonly",
            "calendars/events.write",
            "locations.readonly",
            "locations/customFields.readonly",
            "users.readonly",
            "locations/tasks.readonly",
        ]
    );
    for id in [
        "get-location",
        "get-custom-fields",
        "task-search",
        "get-user-by-location",
    ] {
        let scope = operation(id).expect("in the table").scope;
        assert!(missing.contains(&scope), "{id} needs {scope}");
    }
}

#[test]
fn task_search_is_a_post_that_reads_and_is_retried() {
    let op = operation("task-search").expect("in the table");
    assert_eq!((op.method, op.retry), ("POST", Retry::Safe));
    assert!(!op.is_write());
}

/// A schema of `file`'s components, `$ref`s resolved.
fn schema(spec: &Value, name: &str) -> Value {
    let s = &spec["components"]["schemas"][name];
    assert!(s.is_object(), "no schema {name}");
    s.clone()
}

fn resolve<'a>(spec: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("a $ref outside the file: {r}"));
            &spec["components"]["schemas"][name]
        }
        None => s,
    }
}

/// An object made of every property's `example` (nested objects built the same way): what
/// HighLevel documents the answer to look like, every field filled.
fn example(spec: &Value, s: &Value) -> Value {
    let s = resolve(spec, s);
    if let Some(e) = s.get("example") {
        return e.clone();
    }
    match s.get("properties").and_then(Value::as_object) {
        Some(props) => Value::Object(
            props
                .iter()
                .filter_map(|(k, p)| {
                    let v = example(spec, p);
                    (!v.is_null()).then(|| (k.clone(), v))
                })
                .collect::<Map<String, Value>>(),
        ),
        None => Value::Null,
    }
}

/// The schema of the 200 answer of `method path`, `$ref` resolved.
fn answer_schema(spec: &Value, path: &str, method: &str) -> Value {
    let s =
        &spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"];
    resolve(spec, s).clone()
}

fn str_of(v: &Value, k: &str) -> Option<String> {
    v[k].as_str().map(str::to_string)
}

#[test]
fn location_details_read_the_documented_answer() {
    let spec = common::read_spec("apps/locations.json");
    let answer = answer_schema(&spec, "/locations/{locationId}", "get");
    assert!(answer["properties"]["location"].is_object(), "{answer}");
    let body = json!({ "location": example(&spec, &answer["properties"]["location"]) });
    let ex = &body["location"];
    // The example carries nested objects (business, social, settings) the model ignores.
    assert!(
        ex["business"].is_object() || ex["settings"].is_object(),
        "{ex}"
    );
    let d: LocationDetails = serde_json::from_value(ex.clone()).expect("reads");
    assert_eq!(d.id, "ve9EPM428h8vShlRW1KT");
    for (got, key) in [
        (&d.name, "name"),
        (&d.timezone, "timezone"),
        (&d.address, "address"),
        (&d.city, "city"),
        (&d.state, "state"),
        (&d.country, "country"),
        (&d.postal_code, "postalCode"),
        (&d.email, "email"),
        (&d.phone, "phone"),
        (&d.website, "website"),
    ] {
        assert!(got.is_some(), "{key} is in the example");
        assert_eq!(*got, str_of(ex, key), "{key}");
    }
    // Every field but the id may be missing, and numbers stand in for strings.
    let sparse: LocationDetails =
        serde_json::from_value(json!({ "id": 42, "timezone": null })).expect("reads");
    assert_eq!(
        (sparse.id.as_str(), sparse.name, sparse.timezone),
        ("42", None, None)
    );
}

#[test]
fn custom_field_definitions_read_the_documented_answer() {
    let spec = common::read_spec("apps/locations.json");
    let answer = answer_schema(&spec, "/locations/{locationId}/customFields", "get");
    let item = &answer["properties"]["customFields"]["items"];
    let ex = example(&spec, item);
    let d: CustomFieldDef = serde_json::from_value(ex.clone()).expect("reads");
    assert_eq!(d.id, "3sv6UEo51C9Bmpo1cKTq");
    assert_eq!(d.name, str_of(&ex, "name"));
    assert_eq!(d.field_key.as_deref(), Some("contact.pincode"));
    assert_eq!(d.data_type.as_deref(), Some("TEXT"));
    assert_eq!(d.picklist_options, ["first option"]);
    assert_eq!(d.placeholder, str_of(&ex, "placeholder"));
    assert_eq!(d.position, ex["position"].as_u64());
    assert_eq!(d.model, str_of(&ex, "model"));
    let tolerant: CustomFieldDef = serde_json::from_value(json!({
        "id": "f1", "picklistOptions": null, "position": "3", "unknown": {"x": 1}
    }))
    .expect("reads");
    assert!(tolerant.picklist_options.is_empty());
    assert_eq!(tolerant.position, Some(3));
}

#[test]
fn users_read_the_documented_answer() {
    let spec = common::read_spec("apps/users.json");
    let answer = answer_schema(&spec, "/users/", "get");
    let item = &answer["properties"]["users"]["items"];
    let ex = example(&spec, item);
    let u: User = serde_json::from_value(ex.clone()).expect("reads");
    assert_eq!(u.id, "0IHuJvc2ofPAAA8GzTRi");
    for (got, key) in [
        (&u.name, "name"),
        (&u.first_name, "firstName"),
        (&u.last_name, "lastName"),
        (&u.email, "email"),
        (&u.phone, "phone"),
    ] {
        assert!(got.is_some(), "{key} is in the example");
        assert_eq!(*got, str_of(&ex, key), "{key}");
    }
    assert_eq!(u.display_name(), "John Deo");
    let nameless: User = serde_json::from_value(json!({
        "id": "u1", "name": " ", "firstName": "Ada", "lastName": null, "email": "a@b.c"
    }))
    .expect("reads");
    assert_eq!(nameless.display_name(), "Ada");
    let bare: User = serde_json::from_value(json!({ "id": "u2" })).expect("reads");
    assert_eq!(bare.display_name(), "u2");
}

#[test]
fn calendars_read_the_documented_answer() {
    let spec = common::read_spec("apps/calendars.json");
    let answer = answer_schema(&spec, "/calendars/", "get");
    let item = &answer["properties"]["calendars"]["items"];
    let required: BTreeSet<&str> = resolve(&spec, item)["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(required, BTreeSet::from(["id", "locationId", "name"]));
    let ex = example(&spec, item);
    let c: Calendar = serde_json::from_value(ex.clone()).expect("reads");
    assert_eq!(c.id, "0TkCdp9PfvLeWKYRRvIz");
    assert_eq!(c.name, "test calendar");
    assert_eq!(c.location_id, str_of(&ex, "locationId"));
    assert_eq!(c.group_id, str_of(&ex, "groupId"));
    assert_eq!(c.description, str_of(&ex, "description"));
    // `isActive` has a default but no example: absent reads as the default, active.
    assert_eq!(
        resolve(&spec, item)["properties"]["isActive"]["default"],
        true
    );
    assert!(c.is_active);
    let draft: Calendar =
        serde_json::from_value(json!({ "id": "c", "name": "n", "isActive": "false" }))
            .expect("reads");
    assert!(!draft.is_active);
}

#[test]
fn task_search_bodies_use_only_the_spec_fields_with_their_types() {
    let spec = common::read_spec("apps/locations.json");
    let params = schema(&spec, "TaskSearchParamsDto");
    let props = params["properties"].as_object().expect("properties");
    let full = TaskSearchRequest::new()
        .skip(50)
        .limit(10)
        .contact_ids(["dSMo5jnqkJyh8YeGXM7k", "j5WESpmRj816VtyUuWwh"])
        .assigned_to(["0004Mtfsd11SBU1mBPgd"])
        .completed(true)
        .query("Task Name")
        .body();
    let body = full.as_object().expect("object");
    for (k, v) in body {
        let p = props
            .get(k)
            .unwrap_or_else(|| panic!("{k} is not a field of TaskSearchParamsDto"));
        let ty = p["type"].as_str().expect("type");
        let ok = match ty {
            "array" => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            "boolean" => v.is_boolean(),
            "number" => v.is_number(),
            "string" => v.is_string(),
            other => panic!("unexpected type {other}"),
        };
        assert!(ok, "{k} = {v} is not a {ty}");
        // The examples are the spec's own; the body built from them says them back.
        if k != "skip" && k != "limit" {
            assert_eq!(*v, p["example"], "{k}");
        }
    }
    assert_eq!(body.len(), 6, "every filter set is sent: {full}");
    // Open filters are left out; paging is always sent, the spec's default page size when
    // not told.
    let open = TaskSearchRequest::new().body();
    assert_eq!(
        open,
        json!({ "skip": 0, "limit": props["limit"]["default"] })
    );
}
