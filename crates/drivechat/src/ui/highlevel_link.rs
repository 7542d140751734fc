//! "Open in HighLevel": where a record lives in HighLevel's own web app, for the moment a
//! person needs what Drive Chat does not show (conversations, workflows, the full history).
//!
//! HighLevel documents no deep links into its app. The contact page's address is the one
//! seen throughout public integrations (`/v2/location/{location}/contacts/detail/{contact}`),
//! and so is the calendar view (`/v2/location/{location}/calendars/view`). Assumptions, until
//! HighLevel publishes more: a task has no page of its own (it opens in a panel of its
//! contact's page, where HighLevel lists the contact's tasks), so a task links to its
//! contact's page; an appointment opens in a pop-up of the calendar view, so it links there.

use maud::{html, Markup};

/// The contact's page in HighLevel's app at `app_url` (see `Config::highlevel_app_url`).
pub(crate) fn contact(app_url: &str, location_id: &str, contact_id: &str) -> String {
    format!(
        "{}/v2/location/{location_id}/contacts/detail/{contact_id}",
        app_url.trim_end_matches('/')
    )
}

/// Where a task is seen in HighLevel: its contact's page (see the module's note).
pub(crate) fn task(app_url: &str, location_id: &str, contact_id: &str) -> String {
    contact(app_url, location_id, contact_id)
}

/// Where an appointment is seen in HighLevel: the location's calendar view (see the module's
/// note).
pub(crate) fn appointment(app_url: &str, location_id: &str) -> String {
    format!(
        "{}/v2/location/{location_id}/calendars/view",
        app_url.trim_end_matches('/')
    )
}

/// A small "Open in HighLevel" link to `href`, opened in a new tab; `what` names the record
/// for screen readers ("task 'Call back'").
pub(crate) fn small(href: &str, what: &str) -> Markup {
    html! {
        a.open-in-highlevel href=(href) target="_blank" rel="noopener noreferrer"
            aria-label=(format!("Open {what} in HighLevel (new tab)")) {
            "Open in HighLevel ↗"
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn links_name_the_location_and_record() {
        assert_eq!(
            super::contact("https://app.gohighlevel.com/", "L1", "c1"),
            "https://app.gohighlevel.com/v2/location/L1/contacts/detail/c1"
        );
        assert_eq!(
            super::task("https://app.gohighlevel.com", "L1", "c1"),
            "https://app.gohighlevel.com/v2/location/L1/contacts/detail/c1"
        );
        assert_eq!(
            super::appointment("https://app.gohighlevel.com/", "L1"),
            "https://app.gohighlevel.com/v2/location/L1/calendars/view"
        );
    }
}
