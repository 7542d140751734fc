//! The location itself: its profile and its custom field definitions (Locations API).

use serde::Deserialize;

use super::{encode, Location};
use crate::error::Result;
use crate::models::{CustomFieldDef, LocationDetails};

#[derive(Deserialize)]
struct OneLocation {
    location: LocationDetails,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CustomFields {
    #[serde(default)]
    custom_fields: Vec<CustomFieldDef>,
}

impl Location {
    /// `GET /locations/{locationId}` (scope `locations.readonly`): name, time zone, address.
    pub async fn location_details(&self) -> Result<LocationDetails> {
        let path = format!("/locations/{}", encode(&self.id));
        let r: OneLocation = self.get("get-location", path, &[]).await?;
        Ok(r.location)
    }

    /// `GET /locations/{locationId}/customFields` (scope `locations/customFields.readonly`):
    /// the definitions of the location's contact custom fields — HighLevel's answer without a
    /// `model` parameter.
    pub async fn custom_fields(&self) -> Result<Vec<CustomFieldDef>> {
        let path = format!("/locations/{}/customFields", encode(&self.id));
        let r: CustomFields = self.get("get-custom-fields", path, &[]).await?;
        Ok(r.custom_fields)
    }
}
