//! HighLevel's own reference files — the apps' OpenAPI documents and webhook schemas under
//! `shared/ghl/` — that the contract tests hold the client and the sandbox to.

use std::path::PathBuf;

use serde_json::Value;

/// `shared/ghl/` beside the repository (`../shared/ghl` from the workspace root), or
/// `shared/ghl` inside it.
pub fn ghl_dir() -> PathBuf {
    // This crate sits two levels below the workspace root, as every crate does.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    for candidate in [root.join("../shared/ghl"), root.join("shared/ghl")] {
        if candidate.join("apps/contacts.json").exists() {
            return candidate;
        }
    }
    panic!(
        "HighLevel's reference files were not found at ../shared/ghl beside the repository \
         nor at shared/ghl inside it"
    );
}

/// A JSON file under [`ghl_dir`], by its relative path.
pub fn read_json(rel: &str) -> Value {
    let path = ghl_dir().join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}
