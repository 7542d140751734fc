//! The location's users (Users API): what `assignedTo` and `userId` ids point at.

use serde::Deserialize;

use super::Location;
use crate::error::Result;
use crate::models::User;

#[derive(Deserialize)]
struct Users {
    #[serde(default)]
    users: Vec<User>,
}

impl Location {
    /// `GET /users/?locationId=` (scope `users.readonly`): every user of the location, in one
    /// answer (the operation has no paging).
    pub async fn users(&self) -> Result<Vec<User>> {
        let q = [("locationId".to_string(), self.id.clone())];
        let r: Users = self
            .get("get-user-by-location", "/users/".into(), &q)
            .await?;
        Ok(r.users)
    }
}
