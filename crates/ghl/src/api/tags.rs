use serde::Deserialize;
use serde_json::{json, Value};

use super::contacts::strings;
use super::{encode, Location};
use crate::error::Result;

/// What a bulk tag update reports.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkResult {
    #[serde(
        default,
        alias = "succeded",
        deserialize_with = "crate::models::de::bool"
    )]
    pub succeeded: bool,
    #[serde(default, deserialize_with = "crate::models::de::opt_u64")]
    pub error_count: Option<u64>,
    /// One object per contact (`contactId`, `type`, `message`, `oldTags`, …), as HighLevel's
    /// example shows, although its schema says strings.
    #[serde(default, deserialize_with = "values")]
    pub responses: Vec<Value>,
}

/// A list of anything, where `null` or a lone value may arrive.
fn values<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => Vec::new(),
        Some(v) => vec![v],
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkTagAction {
    Add,
    Remove,
}

impl Location {
    /// Adds tags; returns the contact's tags after.
    pub async fn add_tags(&self, contact_id: &str, tags: &[String]) -> Result<Vec<String>> {
        let path = format!("/contacts/{}/tags", encode(contact_id));
        let r: Value = self
            .with_body("add-tags", path, json!({ "tags": tags }))
            .await?;
        Ok(strings(&r["tags"]))
    }

    /// Removes tags; returns the contact's tags after.
    pub async fn remove_tags(&self, contact_id: &str, tags: &[String]) -> Result<Vec<String>> {
        let path = format!("/contacts/{}/tags", encode(contact_id));
        let r: Value = self
            .with_body("remove-tags", path, json!({ "tags": tags }))
            .await?;
        Ok(strings(&r["tags"]))
    }

    pub async fn bulk_tags(
        &self,
        action: BulkTagAction,
        contact_ids: &[String],
        tags: &[String],
        remove_all: bool,
    ) -> Result<BulkResult> {
        let kind = match action {
            BulkTagAction::Add => "add",
            BulkTagAction::Remove => "remove",
        };
        let body = json!({ "contacts": contact_ids, "tags": tags, "locationId": self.id, "removeAllTags": remove_all });
        self.with_body(
            "create-association",
            format!("/contacts/bulk/tags/update/{kind}"),
            body,
        )
        .await
    }

    /// Puts contacts in a business (or out of any, with `None`); returns the ids changed.
    pub async fn bulk_business(
        &self,
        contact_ids: &[String],
        business_id: Option<&str>,
    ) -> Result<Vec<String>> {
        let body = json!({ "locationId": self.id, "ids": contact_ids, "businessId": business_id });
        let r: Value = self
            .with_body(
                "add-remove-contact-from-business",
                "/contacts/bulk/business".into(),
                body,
            )
            .await?;
        Ok(strings(&r["ids"]))
    }
}
