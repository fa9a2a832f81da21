//! Fixtures shared by the operations' tests: a fixed clock and a new tenant's admin.

use crate::api_key::Principal;
use crate::operations::{auth, tenants};
use crate::ports::Store;
use crate::tenant::NewTenant;
use chrono::{DateTime, TimeZone, Utc};

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
}

/// A new tenant's admin: the principal and its secret key.
pub async fn admin(store: &dyn Store) -> (Principal, String) {
    let (_, key) = tenants::create_tenant(store, NewTenant { name: "Acme".into() }, now())
        .await
        .unwrap();
    let principal = auth::authenticate(store, key.secret.expose(), now()).await.unwrap();
    (principal, key.secret.expose().to_string())
}
