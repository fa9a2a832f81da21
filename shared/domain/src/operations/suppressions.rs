//! The suppression list (add, remove, list) and the recipient's one-click
//! unsubscribe, which needs no API key: its signed token is the authority.

use super::with_optimistic_retry;
use crate::api_key::{Capability, Principal};
use crate::error::DomainError;
use crate::ids::{LeadId, TenantId};
use crate::lead::LeadStatus;
use crate::page::{Page, PageRequest};
use crate::ports::{AlreadyExists, Store};
use crate::suppression::{NewSuppression, Suppression, SuppressionSource, SuppressionTarget};
use crate::unsubscribe::LinkSigner;
use chrono::{DateTime, Utc};

const NOT_FOUND: DomainError = DomainError::NotFound { entity: "suppression" };
/// What an unsubscribe token that does not verify answers: the link cannot exist.
pub const INVALID_LINK: DomainError = DomainError::NotFound {
    entity: "unsubscribe link",
};
/// Leads read per page while an unsubscribe marks them.
const LEADS_PER_PAGE: u32 = 100;

/// Adds an entry (or replaces the one for the same target).
pub async fn add(
    store: &dyn Store,
    caller: &Principal,
    input: NewSuppression,
    now: DateTime<Utc>,
) -> Result<Suppression, DomainError> {
    caller.require(Capability::WriteData)?;
    let entry = Suppression::create(caller.tenant_id, input, SuppressionSource::Api, now)?;
    store.add_suppression(&entry).await?;
    tracing::info!(tenant_id = %caller.tenant_id, reason = ?entry.reason, "suppression added");
    Ok(entry)
}

/// Removes the entry for `value` (an address or a domain). Mail to it may
/// start again; leads already unsubscribed or bounced stay so.
pub async fn remove(store: &dyn Store, caller: &Principal, value: &str) -> Result<(), DomainError> {
    caller.require(Capability::WriteData)?;
    // A value that is neither an address nor a domain cannot be on the list.
    let target = SuppressionTarget::parse(value).map_err(|_| NOT_FOUND)?;
    if store.remove_suppression(caller.tenant_id, &target).await? {
        Ok(())
    } else {
        Err(NOT_FOUND)
    }
}

/// Addresses first, then domains, each in alphabetical order.
pub async fn list(store: &dyn Store, caller: &Principal, page: &PageRequest) -> Result<Page<Suppression>, DomainError> {
    caller.require(Capability::Read)?;
    Ok(store.list_suppressions(caller.tenant_id, page).await?)
}

/// What an unsubscribe did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsubscribed {
    /// The address is on the tenant's list; `leads_changed` leads moved to
    /// `unsubscribed` just now (0 on a repeat).
    Done { tenant: TenantId, leads_changed: usize },
    /// The token was valid but its lead is gone, so its address is unknown:
    /// nothing to change. The recipient still sees success (their lead, and
    /// so their address, is no longer mailed by this link's sequence).
    LeadGone,
}

/// The recipient's unsubscribe (RFC 8058 one-click or the confirmation page):
/// puts the address of the token's lead on the tenant's suppression list and
/// marks every lead of the tenant with that address `unsubscribed`.
/// Idempotent; safe to retry after a failure half-way.
pub async fn unsubscribe(
    store: &dyn Store,
    signer: &LinkSigner,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Unsubscribed, DomainError> {
    let token = signer.verify(token).map_err(|_| INVALID_LINK)?;
    let Some(lead) = store.get_lead(token.tenant, token.lead).await? else {
        tracing::info!(tenant_id = %token.tenant, lead_id = %token.lead, "unsubscribe for a lead that is gone");
        return Ok(Unsubscribed::LeadGone);
    };
    let Some(address) = lead.email else {
        // The lead's address was removed since the mail went out (phone only now): no address to
        // suppress, but the lead itself asked to hear no more.
        let leads_changed = usize::from(mark_unsubscribed(store, token.tenant, lead.id, now).await?);
        tracing::info!(tenant_id = %token.tenant, lead_id = %token.lead, email_id = %token.email, leads_changed, "unsubscribed a lead without an address");
        return Ok(Unsubscribed::Done {
            tenant: token.tenant,
            leads_changed,
        });
    };
    // An entry the tenant made for this address (bounced, do-not-contact, a
    // note) stays as it is; a domain entry does not cover the person's own wish.
    let existing = store.suppressed(token.tenant, &address).await?;
    if !existing.is_some_and(|e| matches!(e.target, SuppressionTarget::Address(_))) {
        store
            .add_suppression(&Suppression::unsubscribed(token.tenant, address.clone(), now))
            .await?;
    }
    let mut leads_changed = 0;
    let mut page = PageRequest::first(LEADS_PER_PAGE);
    loop {
        let found = store.find_leads_by_email(token.tenant, &address, &page).await?;
        for lead in found.items.iter().filter(|l| !l.status.is_final()) {
            if mark_unsubscribed(store, token.tenant, lead.id, now).await? {
                leads_changed += 1;
            }
        }
        match found.next_cursor {
            Some(cursor) => page.cursor = Some(crate::page::Cursor(cursor)),
            None => break,
        }
    }
    tracing::info!(tenant_id = %token.tenant, lead_id = %token.lead, email_id = %token.email, leads_changed, "unsubscribed");
    Ok(Unsubscribed::Done {
        tenant: token.tenant,
        leads_changed,
    })
}

/// Moves one lead to `unsubscribed` unless it is final already (bounced
/// stays bounced); `true` when it changed. Re-reads on a lost version race.
async fn mark_unsubscribed(
    store: &dyn Store,
    tenant: TenantId,
    id: LeadId,
    now: DateTime<Utc>,
) -> Result<bool, DomainError> {
    with_optimistic_retry(|| async {
        let Some(previous) = store.get_lead(tenant, id).await? else {
            return Ok(false);
        };
        if previous.status.is_final() {
            return Ok(false);
        }
        let mut lead = previous.clone();
        lead.change_status(LeadStatus::Unsubscribed)?;
        lead.updated_at = now;
        lead.version += 1;
        store
            .replace_lead(&lead, &previous)
            .await?
            // The address does not change, so no other lead can hold it.
            .map_err(|AlreadyExists(_)| crate::error::StoreError::VersionConflict)?;
        Ok(true)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::NewCampaign;
    use crate::email::EmailAddress;
    use crate::ids::{CampaignId, EmailId};
    use crate::lead::Lead;
    use crate::memory::MemoryStore;
    use crate::operations::test_support::{admin, now};
    use crate::operations::{campaigns, leads};
    use crate::ports::{LeadStore, SuppressionStore};
    use crate::suppression::SuppressionReason;
    use serde_json::json;

    fn signer() -> LinkSigner {
        LinkSigner::new(&[9; 32]).unwrap()
    }

    fn input(value: serde_json::Value) -> NewSuppression {
        crate::input::decode(value, "").unwrap()
    }

    async fn campaign(store: &dyn Store, caller: &Principal) -> CampaignId {
        let input = NewCampaign {
            name: "Q1".into(),
            description: None,
            settings: Default::default(),
        };
        campaigns::create(store, caller, input, now()).await.unwrap().id
    }

    async fn lead(store: &dyn Store, caller: &Principal, campaign: CampaignId, email: &str) -> Lead {
        let outcomes = leads::add(
            store,
            caller,
            campaign,
            vec![json!({ "email": email })],
            leads::Addressing::Single,
            now(),
        )
        .await
        .unwrap();
        match outcomes.into_iter().next().unwrap() {
            leads::LeadOutcome::Created(lead) => *lead,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn entries_are_added_once_per_target_listed_and_removed() {
        let store = MemoryStore::new();
        let (caller, _) = admin(&store).await;
        add(&store, &caller, input(json!({"email": "Ann@acme.com"})), now())
            .await
            .unwrap();
        add(
            &store,
            &caller,
            input(json!({"email": "ann@ACME.com", "note": "again"})),
            now(),
        )
        .await
        .unwrap();
        add(&store, &caller, input(json!({"domain": "globex.com"})), now())
            .await
            .unwrap();
        let listed = list(&store, &caller, &PageRequest::first(10)).await.unwrap();
        let values: Vec<String> = listed.items.iter().map(|e| e.target.key()).collect();
        assert_eq!(values, ["ann@acme.com", "globex.com"]);
        assert_eq!(
            listed.items[0].note.as_deref(),
            Some("again"),
            "the later entry replaced the first"
        );

        let suppressed = store
            .suppressed(caller.tenant_id, &EmailAddress::parse("bob@globex.com").unwrap())
            .await
            .unwrap();
        assert_eq!(suppressed.map(|e| e.target.key()), Some("globex.com".into()));

        remove(&store, &caller, "ANN@acme.com").await.unwrap();
        assert!(matches!(
            remove(&store, &caller, "ann@acme.com").await,
            Err(DomainError::NotFound { .. })
        ));
        assert!(matches!(
            remove(&store, &caller, "not a value").await,
            Err(DomainError::NotFound { .. })
        ));
        let (other, _) = admin(&store).await;
        assert!(matches!(
            remove(&store, &other, "globex.com").await,
            Err(DomainError::NotFound { .. })
        ));
        assert!(
            list(&store, &other, &PageRequest::first(10))
                .await
                .unwrap()
                .items
                .is_empty()
        );
    }

    #[tokio::test]
    async fn unsubscribing_marks_every_lead_with_the_address_once() {
        let store = MemoryStore::new();
        let (caller, _) = admin(&store).await;
        let (first, second) = (campaign(&store, &caller).await, campaign(&store, &caller).await);
        let ann = lead(&store, &caller, first, "ann@acme.com").await;
        let ann_again = lead(&store, &caller, second, "ANN@acme.com").await;
        let bob = lead(&store, &caller, first, "bob@acme.com").await;
        let (other, _) = admin(&store).await;
        let elsewhere = lead(&store, &other, campaign(&store, &other).await, "ann@acme.com").await;

        let token = signer().token(caller.tenant_id, ann.id, EmailId::generate());
        let outcome = unsubscribe(&store, &signer(), &token, now()).await.unwrap();
        assert_eq!(
            outcome,
            Unsubscribed::Done {
                tenant: caller.tenant_id,
                leads_changed: 2
            }
        );
        for (id, status) in [
            (ann.id, LeadStatus::Unsubscribed),
            (ann_again.id, LeadStatus::Unsubscribed),
            (bob.id, LeadStatus::New),
        ] {
            assert_eq!(
                store.get_lead(caller.tenant_id, id).await.unwrap().unwrap().status,
                status
            );
        }
        let changed = store.get_lead(caller.tenant_id, ann.id).await.unwrap().unwrap();
        assert_eq!(changed.version, ann.version + 1);
        let entry = store
            .suppressed(caller.tenant_id, ann.email.as_ref().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (entry.reason, entry.source),
            (SuppressionReason::Unsubscribed, SuppressionSource::OneClick)
        );
        let untouched = store.get_lead(other.tenant_id, elsewhere.id).await.unwrap().unwrap();
        assert_eq!(untouched.status, LeadStatus::New);
        assert!(
            store
                .suppressed(other.tenant_id, ann.email.as_ref().unwrap())
                .await
                .unwrap()
                .is_none()
        );

        // A repeat (a client that posts twice) answers the same and changes nothing.
        let again = unsubscribe(&store, &signer(), &token, now()).await.unwrap();
        assert!(matches!(again, Unsubscribed::Done { leads_changed: 0, .. }));
        assert_eq!(
            store.get_lead(caller.tenant_id, ann.id).await.unwrap().unwrap().version,
            changed.version
        );
    }

    #[tokio::test]
    async fn an_entry_the_tenant_made_is_kept_and_bounced_leads_stay_bounced() {
        let store = MemoryStore::new();
        let (caller, _) = admin(&store).await;
        let ann = lead(&store, &caller, campaign(&store, &caller).await, "ann@acme.com").await;
        let mut bounced = ann.clone();
        bounced.change_status(LeadStatus::Bounced).unwrap();
        bounced.version += 1;
        store.replace_lead(&bounced, &ann).await.unwrap().unwrap();
        add(
            &store,
            &caller,
            input(json!({"email": "ann@acme.com", "reason": "bounced", "note": "hard"})),
            now(),
        )
        .await
        .unwrap();

        let token = signer().token(caller.tenant_id, ann.id, EmailId::generate());
        let outcome = unsubscribe(&store, &signer(), &token, now()).await.unwrap();
        assert!(matches!(outcome, Unsubscribed::Done { leads_changed: 0, .. }));
        let entry = store
            .suppressed(caller.tenant_id, ann.email.as_ref().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (entry.reason, entry.note.as_deref()),
            (SuppressionReason::Bounced, Some("hard"))
        );
        let stored = store.get_lead(caller.tenant_id, ann.id).await.unwrap().unwrap();
        assert_eq!(stored.status, LeadStatus::Bounced);
    }

    #[tokio::test]
    async fn bad_tokens_change_nothing_and_a_gone_lead_still_succeeds() {
        let store = MemoryStore::new();
        let (caller, _) = admin(&store).await;
        let ann = lead(&store, &caller, campaign(&store, &caller).await, "ann@acme.com").await;
        let token = signer().token(caller.tenant_id, ann.id, EmailId::generate());
        let forged = LinkSigner::new(&[8; 32])
            .unwrap()
            .token(caller.tenant_id, ann.id, EmailId::generate());
        for bad in [forged.as_str(), "garbage", &token[1..]] {
            assert!(matches!(
                unsubscribe(&store, &signer(), bad, now()).await,
                Err(DomainError::NotFound { .. })
            ));
        }
        assert_eq!(
            store.get_lead(caller.tenant_id, ann.id).await.unwrap().unwrap().status,
            LeadStatus::New
        );
        assert!(
            store
                .suppressed(caller.tenant_id, ann.email.as_ref().unwrap())
                .await
                .unwrap()
                .is_none()
        );

        let gone = signer().token(caller.tenant_id, LeadId::generate(), EmailId::generate());
        assert_eq!(
            unsubscribe(&store, &signer(), &gone, now()).await.unwrap(),
            Unsubscribed::LeadGone
        );
    }
}
