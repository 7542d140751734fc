//! The operations table held against HighLevel's own spec files: every operation of
//! `apps/contacts.json` and the nine appointment operations of `apps/calendars.json`, with the
//! spec's method, path and scope, and nothing else.

mod common;

use ghl::operations::{operation, Retry, OPERATIONS};
use serde_json::Value;
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
            let scopes: Vec<String> = op
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

/// What the table must hold: every contacts operation and the nine appointment operations.
fn expected() -> BTreeMap<String, SpecOp> {
    let contacts = spec_ops("apps/contacts.json");
    assert_eq!(contacts.len(), 32, "contacts.json has 32 operations");
    let calendars = spec_ops("apps/calendars.json");
    let mut want = contacts;
    for id in APPOINTMENT_OPS {
        let op = calendars
            .get(*id)
            .unwrap_or_else(|| panic!("calendars.json has no operation {id}"));
        want.insert(id.to_string(), op.clone());
    }
    assert_eq!(want.len(), 41);
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
    assert_eq!(OPERATIONS.len(), 41);
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
