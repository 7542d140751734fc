//! "Open in HighLevel": where a record lives in HighLevel's own web app, for the moment a
//! person needs what Drive Chat does not show (conversations, workflows, the full history).

/// The contact's page in HighLevel's app at `app_url` (see `Config::highlevel_app_url`).
pub(crate) fn contact(app_url: &str, location_id: &str, contact_id: &str) -> String {
    format!(
        "{}/v2/location/{location_id}/contacts/detail/{contact_id}",
        app_url.trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn contact_links_name_the_location_and_contact() {
        assert_eq!(
            super::contact("https://app.gohighlevel.com/", "L1", "c1"),
            "https://app.gohighlevel.com/v2/location/L1/contacts/detail/c1"
        );
    }
}
