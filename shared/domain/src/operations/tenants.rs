use crate::api_key::{IssuedKey, Role};
use crate::error::DomainError;
use crate::ids::TenantId;
use crate::input;
use crate::ports::Store;
use crate::tenant::{MAX_TENANT_NAME, NewTenant, Tenant};
use chrono::{DateTime, Utc};

/// Creates a tenant and its first admin key (operator only; the caller has checked the operator key).
pub async fn create_tenant(
    store: &dyn Store,
    input: NewTenant,
    now: DateTime<Utc>,
) -> Result<(Tenant, IssuedKey), DomainError> {
    let name = input::required_text(&input.name, MAX_TENANT_NAME).map_err(|m| DomainError::invalid("/name", m))?;
    let tenant = Tenant {
        id: TenantId::generate(),
        name,
        created_at: now,
        updated_at: now,
    };
    let key = IssuedKey::generate(tenant.id, "admin (created with the tenant)".into(), Role::Admin, now);
    store.create_tenant(&tenant, &key.record).await?;
    Ok((tenant, key))
}

pub async fn get_tenant(store: &dyn Store, id: TenantId) -> Result<Tenant, DomainError> {
    store
        .get_tenant(id)
        .await?
        .ok_or(DomainError::NotFound { entity: "tenant" })
}
