//! What every request to HighLevel shares, whoever sends it (the client, the OAuth app, the
//! error messages): the API version header, how a path joins the base URL, and how an answer's
//! body becomes a short message. A leaf: it knows nothing of the crate's other modules, so
//! each of them may use it.

use serde_json::Value;
use url::Url;

/// The `Version` header HighLevel's API expects.
pub const API_VERSION: &str = "2021-07-28";

/// `base` + `path`, keeping the base URL's own path (`https://proxy.example/ghl` + `/contacts/`
/// is `https://proxy.example/ghl/contacts/`).
pub(crate) fn join_path(base: &Url, path: &str) -> Result<Url, url::ParseError> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    base.join(path.trim_start_matches('/'))
}

/// HighLevel's `message` as one line, whether a string or an array.
pub(crate) fn message_of(v: &Value) -> Option<String> {
    match v.get("message") {
        Some(Value::String(s)) => Some(snippet(s)),
        Some(Value::Array(a)) => Some(snippet(
            &a.iter()
                .map(|m| {
                    m.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| m.to_string())
                })
                .collect::<Vec<_>>()
                .join("; "),
        )),
        _ => v
            .get("error_description")
            .or_else(|| v.get("error"))
            .and_then(Value::as_str)
            .map(snippet),
    }
}

/// Each of HighLevel's `message`s (a validation answer lists one per field), or `fallback`.
pub(crate) fn messages_of(v: &Value, fallback: &str) -> Vec<String> {
    match v.get("message") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|m| {
                snippet(
                    m.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| m.to_string())
                        .as_str(),
                )
            })
            .collect(),
        _ => vec![fallback.to_string()],
    }
}

/// At most 300 characters of `s` on one line: error bodies can be HTML pages or megabytes.
pub(crate) fn snippet(s: &str) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 300 {
        let cut: String = one_line.chars().take(300).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

#[cfg(test)]
mod url_tests {
    use super::*;

    #[test]
    fn a_base_url_keeps_its_path() {
        let j = |b: &str, p: &str| join_path(&Url::parse(b).unwrap(), p).unwrap().to_string();
        assert_eq!(
            j("https://services.leadconnectorhq.com", "/contacts/"),
            "https://services.leadconnectorhq.com/contacts/"
        );
        assert_eq!(
            j("https://proxy.example/ghl", "/contacts/x"),
            "https://proxy.example/ghl/contacts/x"
        );
        assert_eq!(
            j("https://proxy.example/ghl/", "/oauth/token"),
            "https://proxy.example/ghl/oauth/token"
        );
    }
}
