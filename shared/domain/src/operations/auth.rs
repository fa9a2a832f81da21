use crate::api_key::{ApiKeyView, Capability, IssuedKey, MAX_KEY_NAME, NewApiKey, PresentedKey, Principal, Role};
use crate::error::DomainError;
use crate::ids::ApiKeyId;
use crate::input;
use crate::page::{Page, PageRequest};
use crate::ports::Store;
use chrono::{DateTime, Duration, Utc};

/// How stale `last_used_at` may get before a request refreshes it.
const LAST_USED_RESOLUTION: Duration = Duration::seconds(60);

/// Checks a presented tenant key and says who is calling.
pub async fn authenticate(store: &dyn Store, presented: &str, now: DateTime<Utc>) -> Result<Principal, DomainError> {
    let presented = PresentedKey::parse(presented).ok_or(DomainError::InvalidCredentials)?;
    let stored = store
        .get_api_key(presented.tenant_id, presented.key_id)
        .await?
        .ok_or(DomainError::InvalidCredentials)?;
    if !presented.matches(&stored) {
        return Err(DomainError::InvalidCredentials);
    }
    let stale = stored.last_used_at.is_none_or(|at| at < now - LAST_USED_RESOLUTION);
    if stale {
        store
            .record_api_key_use(stored.tenant_id, stored.id, now, now - LAST_USED_RESOLUTION)
            .await?;
    }
    Ok(Principal {
        tenant_id: stored.tenant_id,
        key_id: stored.id,
        role: stored.role,
    })
}

pub async fn issue_key(
    store: &dyn Store,
    caller: &Principal,
    input: NewApiKey,
    now: DateTime<Utc>,
) -> Result<IssuedKey, DomainError> {
    caller.require(Capability::ManageKeys)?;
    let name = input::required_text(&input.name, MAX_KEY_NAME).map_err(|m| DomainError::invalid("/name", m))?;
    let issued = IssuedKey::generate(caller.tenant_id, name, input.role, now);
    store.insert_api_key(&issued.record).await?;
    Ok(issued)
}

pub async fn list_keys(
    store: &dyn Store,
    caller: &Principal,
    page: &PageRequest,
) -> Result<Page<ApiKeyView>, DomainError> {
    caller.require(Capability::ManageKeys)?;
    Ok(store.list_api_keys(caller.tenant_id, page).await?.map(ApiKeyView::from))
}

/// Revokes a key at once. The tenant's last admin key cannot be revoked: that
/// would lock the tenant out of key management for good.
pub async fn revoke_key(store: &dyn Store, caller: &Principal, id: ApiKeyId) -> Result<(), DomainError> {
    caller.require(Capability::ManageKeys)?;
    let key = store
        .get_api_key(caller.tenant_id, id)
        .await?
        .ok_or(DomainError::NotFound { entity: "api key" })?;
    if key.role == Role::Admin {
        let mut admins = 0;
        let mut page = PageRequest::first(crate::page::MAX_PAGE_SIZE);
        loop {
            let listed = store.list_api_keys(caller.tenant_id, &page).await?;
            admins += listed.items.iter().filter(|k| k.role == Role::Admin).count();
            match listed.next_cursor {
                Some(cursor) if admins < 2 => page.cursor = Some(crate::page::Cursor(cursor)),
                _ => break,
            }
        }
        if admins < 2 {
            return Err(DomainError::Conflict {
                message: "this is the tenant's last admin key; create another admin key first".into(),
                existing_id: None,
            });
        }
    }
    if !store.delete_api_key(caller.tenant_id, id).await? {
        return Err(DomainError::NotFound { entity: "api key" });
    }
    Ok(())
}
