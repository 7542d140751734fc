//! What a page or API answer needs to show ids as people know them: the workspace location's
//! context (its HighLevel users, custom field definitions, time zone — saved by the sync
//! engine, see `store::context`), the zone this member reads times in, and the HighLevel user
//! this member is (matched by email). Loaded once per request.
//!
//! Everything falls back: an id nobody knows (the token lacks `users.readonly`, or the user
//! was added since the last refresh) shows as the id, a zone that is not set or not known
//! as UTC.

use chrono_tz::Tz;
use serde_json::Value;
use store::{ChatUser, HlUser, LocationContext, Store};

use crate::{zone, Error};

/// Where the member's time zone came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ZoneFrom {
    /// Their own setting.
    Member,
    /// The location's time zone in HighLevel.
    Location,
    /// Neither is set (or known): UTC.
    Default,
}

/// The location's context as seen by one member.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) location: LocationContext,
    /// The zone every time is shown in and every typed time is read in.
    pub(crate) zone: Tz,
    pub(crate) zone_from: ZoneFrom,
    /// The HighLevel user whose email is the member's, if any.
    pub(crate) me: Option<HlUser>,
}

impl Seen {
    pub(crate) async fn load(
        store: &Store,
        location_id: &str,
        user: &ChatUser,
    ) -> Result<Seen, Error> {
        Ok(Seen::new(store.location_context(location_id).await?, user))
    }

    pub(crate) fn new(location: LocationContext, user: &ChatUser) -> Seen {
        let own = user.timezone.as_deref().and_then(zone::parse);
        let located = location.timezone().and_then(zone::parse);
        let (zone, zone_from) = match (own, located) {
            (Some(z), _) => (z, ZoneFrom::Member),
            (None, Some(z)) => (z, ZoneFrom::Location),
            (None, None) => (Tz::UTC, ZoneFrom::Default),
        };
        let me = location.user_by_email(&user.email).cloned();
        Seen {
            location,
            zone,
            zone_from,
            me,
        }
    }

    /// The HighLevel user id of the member, when their email matches one.
    pub(crate) fn me_id(&self) -> Option<&str> {
        self.me.as_ref().map(|u| u.id.as_str())
    }

    /// The name of HighLevel user `id`, or `id` itself when unknown.
    pub(crate) fn user_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.location
            .user(id)
            .map(|u| u.name.as_str())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(id)
    }

    /// [`Seen::user_name`] of an optional id.
    pub(crate) fn user_label(&self, id: Option<&str>) -> Option<String> {
        id.map(str::trim)
            .filter(|i| !i.is_empty())
            .map(|i| self.user_name(i).to_string())
    }

    /// Choices for an "assigned to" select: the location's users by name, then any id in
    /// `in_use` that is not one of them (shown as the id), each as (id, label).
    pub(crate) fn assignee_choices(&self, in_use: &[String]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .location
            .users
            .iter()
            .map(|u| (u.id.clone(), self.user_name(&u.id).to_string()))
            .collect();
        for id in in_use {
            if !out.iter().any(|(known, _)| known == id) {
                out.push((id.clone(), id.clone()));
            }
        }
        out
    }

    /// The zone's name, e.g. `America/New_York`.
    pub(crate) fn zone_name(&self) -> &'static str {
        self.zone.name()
    }

    /// An instant in the member's zone: "Tue 10 Mar 2026, 14:05 EDT".
    pub(crate) fn when(&self, ms: i64) -> String {
        zone::when(ms, self.zone)
    }

    /// The time part of [`Seen::when`]: "14:05 EDT".
    pub(crate) fn clock(&self, ms: i64) -> String {
        zone::clock(ms, self.zone)
    }

    /// The member's local day holding `ms` as a heading: "Tue 10 Mar".
    pub(crate) fn day(&self, ms: i64, now: i64) -> String {
        zone::day(ms, self.zone, now)
    }

    /// The contact's own zone (their `timezone` in HighLevel), when set and known.
    pub(crate) fn contact_zone(data: &Value) -> Option<Tz> {
        data.get("timezone")
            .and_then(Value::as_str)
            .and_then(zone::parse)
    }

    /// The instant as a contact in zone `theirs` reads it, when that differs from the
    /// member's reading: "Tue 10 Mar 2026, 23:35 IST".
    pub(crate) fn contact_when(&self, ms: i64, theirs: Option<Tz>) -> Option<String> {
        let shown = zone::when(ms, theirs?);
        (shown != self.when(ms)).then_some(shown)
    }

    /// The instant a member means by `day` (`YYYY-MM-DD`) and `clock` (`HH:MM`) in their zone.
    pub(crate) fn local_to_utc(&self, day: &str, clock: &str) -> Result<i64, Error> {
        zone::local_to_utc(self.zone, day, clock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use store::LocationProfile;

    fn member(email: &str, tz: Option<&str>) -> ChatUser {
        ChatUser {
            id: 1,
            email: email.into(),
            display_name: "Ana".into(),
            password_hash: String::new(),
            timezone: tz.map(Into::into),
        }
    }

    fn location(tz: Option<&str>) -> LocationContext {
        LocationContext {
            profile: Some(LocationProfile {
                name: None,
                timezone: tz.map(Into::into),
                address: None,
            }),
            users: vec![HlUser {
                id: "u1".into(),
                name: "Ana Bell".into(),
                first_name: None,
                last_name: None,
                email: Some("Ana@Example.com".into()),
            }],
            ..LocationContext::default()
        }
    }

    #[test]
    fn the_zone_is_the_members_then_the_locations_then_utc() {
        let s = Seen::new(
            location(Some("Europe/Paris")),
            &member("x@y", Some("Asia/Tokyo")),
        );
        assert_eq!(
            (s.zone_name(), s.zone_from),
            ("Asia/Tokyo", ZoneFrom::Member)
        );
        let s = Seen::new(location(Some("Europe/Paris")), &member("x@y", None));
        assert_eq!(
            (s.zone_name(), s.zone_from),
            ("Europe/Paris", ZoneFrom::Location)
        );
        let s = Seen::new(location(Some("Nowhere/Land")), &member("x@y", None));
        assert_eq!((s.zone_name(), s.zone_from), ("UTC", ZoneFrom::Default));
        let s = Seen::new(LocationContext::default(), &member("x@y", None));
        assert_eq!(s.zone_from, ZoneFrom::Default);
    }

    #[test]
    fn names_fall_back_to_ids_and_members_match_by_email() {
        let s = Seen::new(location(None), &member("ana@example.COM", None));
        assert_eq!(s.me_id(), Some("u1"));
        assert_eq!(s.user_name("u1"), "Ana Bell");
        assert_eq!(s.user_name("u9"), "u9");
        assert_eq!(s.user_label(Some(" ")), None);
        assert_eq!(
            s.assignee_choices(&["u9".into(), "u1".into()]),
            vec![
                ("u1".to_string(), "Ana Bell".to_string()),
                ("u9".to_string(), "u9".to_string())
            ]
        );
        let s = Seen::new(location(None), &member("bob@example.com", None));
        assert_eq!(s.me_id(), None);
    }

    #[test]
    fn a_contact_in_another_zone_sees_its_own_time() {
        let s = Seen::new(location(Some("America/New_York")), &member("x@y", None));
        let ms = s.local_to_utc("2026-03-09", "17:00").unwrap();
        let zone_of = |data: serde_json::Value| Seen::contact_zone(&data);
        assert_eq!(
            s.contact_when(ms, zone_of(json!({ "timezone": "Asia/Kolkata" })))
                .as_deref(),
            Some("Tue 10 Mar 2026, 02:30 IST")
        );
        assert_eq!(
            s.contact_when(ms, zone_of(json!({ "timezone": "America/New_York" }))),
            None
        );
        assert_eq!(
            s.contact_when(ms, zone_of(json!({ "timezone": "Nowhere" }))),
            None
        );
        assert_eq!(s.contact_when(ms, zone_of(json!({}))), None);
    }
}
