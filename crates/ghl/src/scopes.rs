//! The OAuth scopes drivesync asks HighLevel for, and which of them a connection lacks.
//!
//! Each listed scope is the one `shared/ghl/apps/*.json` gives an operation the sync uses
//! (see [`crate::operations::OPERATIONS`]); a test holds the two together. A connection made
//! before a scope was added still works for everything else: the client refuses only the
//! operations that need the missing scope ([`crate::GhlError::ScopeMissing`] names it).

/// What an install asks for (space-joined in the authorize URL's `scope`).
pub const DEFAULT_SCOPES: &[&str] = &[
    "contacts.readonly",
    "contacts.write",
    "calendars.readonly",
    "calendars/events.readonly",
    "calendars/events.write",
    "locations.readonly",
    "locations/customFields.readonly",
    "users.readonly",
    "locations/tasks.readonly",
];

/// The scopes of [`DEFAULT_SCOPES`] that `granted` lacks, in [`DEFAULT_SCOPES`] order: what
/// to add when the location is reconnected. Scopes are compared exactly, as HighLevel
/// compares them.
pub fn missing_scopes(granted: &[String]) -> Vec<&'static str> {
    DEFAULT_SCOPES
        .iter()
        .copied()
        .filter(|want| !granted.iter().any(|g| g == want))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_is_what_granted_lacks_in_default_order() {
        let granted: Vec<String> = ["contacts.write", "users.readonly", "other.scope"]
            .map(String::from)
            .to_vec();
        let missing = missing_scopes(&granted);
        assert_eq!(missing.len(), DEFAULT_SCOPES.len() - 2);
        assert_eq!(missing[0], "contacts.readonly");
        assert!(!missing.contains(&"users.readonly"));
        let all: Vec<String> = DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect();
        assert!(missing_scopes(&all).is_empty());
        assert_eq!(missing_scopes(&[]), DEFAULT_SCOPES);
    }
}
