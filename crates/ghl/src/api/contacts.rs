use serde::Deserialize;
use serde_json::{json, Value};

use super::{encode, to_value, Location, Succeeded};
use crate::error::Result;
use crate::models::{Appointment, Contact, ContactInput};

#[derive(Deserialize)]
struct One {
    contact: Contact,
}

#[derive(Deserialize)]
struct MaybeOne {
    #[serde(default)]
    contact: Option<Contact>,
}

#[derive(Deserialize)]
struct Upserted {
    #[serde(default, rename = "new", deserialize_with = "crate::models::de::bool")]
    is_new: bool,
    contact: Contact,
}

#[derive(Deserialize)]
struct Events {
    #[serde(default)]
    events: Vec<Appointment>,
}

#[derive(Deserialize)]
struct ContactsCount {
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default, deserialize_with = "crate::models::de::opt_u64")]
    count: Option<u64>,
}

impl Location {
    pub async fn get_contact(&self, id: &str) -> Result<Contact> {
        let r: One = self
            .get("get-contact", format!("/contacts/{}", encode(id)), &[])
            .await?;
        Ok(r.contact)
    }

    pub async fn create_contact(&self, input: &ContactInput) -> Result<Contact> {
        let mut body = to_value(input)?;
        body["locationId"] = json!(self.id);
        let r: One = self
            .with_body("create-contact", "/contacts/".into(), body)
            .await?;
        Ok(r.contact)
    }

    pub async fn update_contact(&self, id: &str, input: &ContactInput) -> Result<Contact> {
        let mut body = to_value(input)?;
        if let Some(o) = body.as_object_mut() {
            o.remove("locationId");
        }
        let r: One = self
            .with_body("update-contact", format!("/contacts/{}", encode(id)), body)
            .await?;
        Ok(r.contact)
    }

    pub async fn delete_contact(&self, id: &str) -> Result<bool> {
        let r: Succeeded = self
            .no_body("delete-contact", format!("/contacts/{}", encode(id)))
            .await?;
        Ok(r.succeeded)
    }

    /// Creates the contact, or updates the one of this location with the same email (else
    /// phone). Returns whether it is new.
    pub async fn upsert_contact(&self, input: &ContactInput) -> Result<(bool, Contact)> {
        let mut body = to_value(input)?;
        body["locationId"] = json!(self.id);
        let r: Upserted = self
            .with_body("upsert-contact", "/contacts/upsert".into(), body)
            .await?;
        Ok((r.is_new, r.contact))
    }

    pub async fn find_duplicate(
        &self,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Result<Option<Contact>> {
        let mut q = vec![("locationId".to_string(), self.id.clone())];
        if let Some(e) = email {
            q.push(("email".into(), e.into()));
        }
        if let Some(p) = phone {
            q.push(("number".into(), p.into()));
        }
        let r: MaybeOne = self
            .get(
                "get-duplicate-contact",
                "/contacts/search/duplicate".into(),
                &q,
            )
            .await?;
        Ok(r.contact.filter(|c| !c.id.is_empty()))
    }

    /// Contacts of a business, with the total count.
    pub async fn contacts_by_business(
        &self,
        business_id: &str,
        skip: u32,
        limit: u32,
        query: Option<&str>,
    ) -> Result<(Vec<Contact>, u64)> {
        let mut q = vec![
            ("locationId".to_string(), self.id.clone()),
            ("skip".into(), skip.to_string()),
            ("limit".into(), limit.to_string()),
        ];
        if let Some(s) = query {
            q.push(("query".into(), s.into()));
        }
        let path = format!("/contacts/business/{}", encode(business_id));
        let r: ContactsCount = self.get("get-contacts-by-businessId", path, &q).await?;
        let n = r.count.unwrap_or(r.contacts.len() as u64);
        Ok((r.contacts, n))
    }

    pub async fn contact_appointments(&self, contact_id: &str) -> Result<Vec<Appointment>> {
        let path = format!("/contacts/{}/appointments", encode(contact_id));
        let r: Events = self.get("get-appointments-for-contact", path, &[]).await?;
        Ok(r.events)
    }

    pub async fn add_followers(
        &self,
        contact_id: &str,
        followers: &[String],
    ) -> Result<Vec<String>> {
        self.followers("add-followers-contact", contact_id, followers)
            .await
    }

    pub async fn remove_followers(
        &self,
        contact_id: &str,
        followers: &[String],
    ) -> Result<Vec<String>> {
        self.followers("remove-followers-contact", contact_id, followers)
            .await
    }

    /// Adds or removes followers; returns the contact's followers after.
    async fn followers(
        &self,
        op: &str,
        contact_id: &str,
        followers: &[String],
    ) -> Result<Vec<String>> {
        let path = format!("/contacts/{}/followers", encode(contact_id));
        let r: Value = self
            .with_body(op, path, json!({ "followers": followers }))
            .await?;
        Ok(strings(&r["followers"]))
    }

    pub async fn add_to_campaign(&self, contact_id: &str, campaign_id: &str) -> Result<bool> {
        let path = format!(
            "/contacts/{}/campaigns/{}",
            encode(contact_id),
            encode(campaign_id)
        );
        let r: Succeeded = self
            .with_body("add-contact-to-campaign", path, json!({}))
            .await?;
        Ok(r.succeeded)
    }

    pub async fn remove_from_campaign(&self, contact_id: &str, campaign_id: &str) -> Result<bool> {
        let path = format!(
            "/contacts/{}/campaigns/{}",
            encode(contact_id),
            encode(campaign_id)
        );
        let r: Succeeded = self.no_body("remove-contact-from-campaign", path).await?;
        Ok(r.succeeded)
    }

    pub async fn remove_from_all_campaigns(&self, contact_id: &str) -> Result<bool> {
        let path = format!("/contacts/{}/campaigns/removeAll", encode(contact_id));
        let r: Succeeded = self
            .no_body("remove-contact-from-every-campaign", path)
            .await?;
        Ok(r.succeeded)
    }

    pub async fn add_to_workflow(
        &self,
        contact_id: &str,
        workflow_id: &str,
        event_start: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<bool> {
        let path = format!(
            "/contacts/{}/workflow/{}",
            encode(contact_id),
            encode(workflow_id)
        );
        let body = match event_start {
            Some(t) => json!({ "eventStartTime": t.to_rfc3339() }),
            None => json!({}),
        };
        let r: Succeeded = self
            .with_body("add-contact-to-workflow", path, body)
            .await?;
        Ok(r.succeeded)
    }

    pub async fn remove_from_workflow(&self, contact_id: &str, workflow_id: &str) -> Result<bool> {
        let path = format!(
            "/contacts/{}/workflow/{}",
            encode(contact_id),
            encode(workflow_id)
        );
        let r: Succeeded = self
            .with_body("delete-contact-from-workflow", path, json!({}))
            .await?;
        Ok(r.succeeded)
    }
}

pub(super) fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}
