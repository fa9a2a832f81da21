//! Mailboxes: create (and ask SES to verify the address), read (refreshing a
//! pending verification from SES), change, pause/resume, delete.

use super::with_optimistic_retry;
use crate::api_key::{Capability, Principal};
use crate::error::{DomainError, StoreError};
use crate::ids::MailboxId;
use crate::mailbox::{IdentityVerification, Mailbox, MailboxAction, MailboxPatch, NewMailbox};
use crate::page::{Page, PageRequest};
use crate::ports::{AddressTaken, SenderIdentities, Store};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

const NOT_FOUND: DomainError = DomainError::NotFound { entity: "mailbox" };

/// SES answers at most this many identities per status call.
const IDENTITIES_PER_CALL: usize = 100;

fn email_taken(existing: MailboxId) -> DomainError {
    DomainError::Conflict {
        message: format!("mailbox {existing} already has this email"),
        existing_id: Some(existing.to_string()),
    }
}

/// Creates a mailbox and starts the verification of its address. An address
/// SES already reports verified (another mailbox of the account had it) is
/// verified at once and its owner gets no second link. If SES cannot be
/// asked, the mailbox is removed again and the call fails (safe to retry).
pub async fn create(
    store: &dyn Store,
    identities: &dyn SenderIdentities,
    caller: &Principal,
    input: NewMailbox,
    now: DateTime<Utc>,
) -> Result<Mailbox, DomainError> {
    caller.require(Capability::WriteData)?;
    let mut mailbox = Mailbox::create(caller.tenant_id, input, now)?;
    store.insert_mailbox(&mailbox).await?.map_err(|taken| match taken {
        AddressTaken::Mailbox(existing) => email_taken(existing),
        AddressTaken::OtherTenant => DomainError::Conflict {
            message: "this address is a sending address of another account; ask support if it is yours".into(),
            existing_id: None,
        },
    })?;
    match start_verification(identities, &mut mailbox, now).await {
        Ok(()) => {}
        Err(err) => {
            store.delete_mailbox(&mailbox).await?;
            return Err(err.into());
        }
    }
    if mailbox.version > 1 {
        store.replace_mailbox(&mailbox, 1).await?;
    }
    // The tenant's emails name its configuration set; it must exist before the first send.
    identities.ensure_configuration_set(caller.tenant_id).await?;
    Ok(mailbox)
}

/// Asks SES about the address; requests verification unless it is verified already.
async fn start_verification(
    identities: &dyn SenderIdentities,
    mailbox: &mut Mailbox,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let known = identities
        .verification_status(std::slice::from_ref(&mailbox.email))
        .await?;
    if known.get(&mailbox.email) == Some(&IdentityVerification::Verified) {
        mailbox.observe_verification(IdentityVerification::Verified, now);
        return Ok(());
    }
    identities.request_verification(&mailbox.email).await
}

/// Reads a mailbox; a pending one is first brought up to date with SES.
pub async fn get(
    store: &dyn Store,
    identities: &dyn SenderIdentities,
    caller: &Principal,
    id: MailboxId,
    now: DateTime<Utc>,
) -> Result<Mailbox, DomainError> {
    caller.require(Capability::Read)?;
    let mailbox = store.get_mailbox(caller.tenant_id, id).await?.ok_or(NOT_FOUND)?;
    let mut refreshed = refresh(store, identities, vec![mailbox], now).await?;
    Ok(refreshed.pop().expect("one in, one out"))
}

/// Lists mailboxes (oldest first); pending ones on the page are brought up to
/// date with SES in one call per 100.
pub async fn list(
    store: &dyn Store,
    identities: &dyn SenderIdentities,
    caller: &Principal,
    page: &PageRequest,
    now: DateTime<Utc>,
) -> Result<Page<Mailbox>, DomainError> {
    caller.require(Capability::Read)?;
    let page = store.list_mailboxes(caller.tenant_id, page).await?;
    let items = refresh(store, identities, page.items, now).await?;
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
    })
}

/// Moves pending mailboxes to what SES says now and stores the ones that
/// changed. Best effort: when SES does not answer (its identity API allows
/// about one call a second), the stored status is given and a warning logged.
async fn refresh(
    store: &dyn Store,
    identities: &dyn SenderIdentities,
    mut mailboxes: Vec<Mailbox>,
    now: DateTime<Utc>,
) -> Result<Vec<Mailbox>, DomainError> {
    let mut pending: Vec<_> = mailboxes
        .iter()
        .filter(|m| m.awaits_verification())
        .map(|m| m.email.clone())
        .collect();
    pending.sort_by_key(|e| e.as_str().to_string());
    pending.dedup();
    if pending.is_empty() {
        return Ok(mailboxes);
    }
    let mut verdicts = HashMap::new();
    for chunk in pending.chunks(IDENTITIES_PER_CALL) {
        match identities.verification_status(chunk).await {
            Ok(found) => verdicts.extend(found),
            Err(err) => {
                tracing::warn!(
                    error = %error_chain(&err),
                    "could not refresh mailbox verification; answering the stored status"
                );
                return Ok(mailboxes);
            }
        }
    }
    for mailbox in &mut mailboxes {
        let Some(verdict) = verdicts.get(&mailbox.email).copied() else {
            continue;
        };
        let expected = mailbox.version;
        if !mailbox.observe_verification(verdict, now) {
            continue;
        }
        match store.replace_mailbox(mailbox, expected).await {
            Ok(()) => {
                tracing::info!(
                    tenant_id = %mailbox.tenant_id,
                    mailbox_id = %mailbox.id,
                    status = %mailbox.status,
                    "mailbox verification changed"
                );
            }
            // Someone changed it meanwhile (perhaps this very refresh): answer what is stored.
            Err(StoreError::VersionConflict) => {
                if let Some(stored) = store.get_mailbox(mailbox.tenant_id, mailbox.id).await? {
                    *mailbox = stored;
                }
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok(mailboxes)
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub async fn update(
    store: &dyn Store,
    caller: &Principal,
    id: MailboxId,
    patch: MailboxPatch,
    now: DateTime<Utc>,
) -> Result<Mailbox, DomainError> {
    caller.require(Capability::WriteData)?;
    with_optimistic_retry(|| async {
        let mut mailbox = store.get_mailbox(caller.tenant_id, id).await?.ok_or(NOT_FOUND)?;
        let expected = mailbox.version;
        mailbox.apply(patch.clone(), now)?;
        store.replace_mailbox(&mailbox, expected).await?;
        Ok(mailbox)
    })
    .await
}

/// Pauses or resumes a mailbox, or asks SES again to verify its address.
pub async fn transition(
    store: &dyn Store,
    identities: &dyn SenderIdentities,
    caller: &Principal,
    id: MailboxId,
    action: MailboxAction,
    now: DateTime<Utc>,
) -> Result<Mailbox, DomainError> {
    caller.require(Capability::WriteData)?;
    let mailbox = with_optimistic_retry(|| async {
        let mut mailbox = store.get_mailbox(caller.tenant_id, id).await?.ok_or(NOT_FOUND)?;
        let expected = mailbox.version;
        mailbox.transition(action, now)?;
        store.replace_mailbox(&mailbox, expected).await?;
        Ok(mailbox)
    })
    .await?;
    if action == MailboxAction::Verify {
        identities.request_verification(&mailbox.email).await?;
        // Also completes the tenant's configuration sets (e.g. made before a set was added).
        identities.ensure_configuration_set(caller.tenant_id).await?;
    }
    Ok(mailbox)
}

/// Deletes a mailbox and frees its address within the tenant. The SES
/// identity stays: it belongs to the AWS account, and other tenants' mailboxes
/// may use the same address.
pub async fn delete(store: &dyn Store, caller: &Principal, id: MailboxId) -> Result<(), DomainError> {
    caller.require(Capability::WriteData)?;
    let mailbox = store.get_mailbox(caller.tenant_id, id).await?.ok_or(NOT_FOUND)?;
    store.delete_mailbox(&mailbox).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api_key::{NewApiKey, Role};
    use crate::mailbox::MailboxStatus;
    use crate::memory::{MemoryIdentities, MemoryStore};
    use crate::operations::auth;

    use crate::operations::test_support::now;

    async fn admin(store: &MemoryStore) -> Principal {
        crate::operations::test_support::admin(store).await.0
    }

    fn input(email: &str) -> NewMailbox {
        crate::input::decode(serde_json::json!({ "email": email }), "").unwrap()
    }

    #[tokio::test]
    async fn a_new_mailbox_is_pending_until_ses_verifies_it() {
        let store = MemoryStore::new();
        let ses = MemoryIdentities::default();
        let caller = admin(&store).await;
        let created = create(&store, &ses, &caller, input("ann@acme.com"), now())
            .await
            .unwrap();
        assert_eq!(created.status, MailboxStatus::PendingVerification);
        assert_eq!(ses.requests(), ["ann@acme.com"]);
        // Its emails will name the tenant's configuration set, so it exists now.
        assert!(ses.configuration_sets.lock().unwrap().contains(&caller.tenant_id));

        let read = get(&store, &ses, &caller, created.id, now()).await.unwrap();
        assert_eq!(read.status, MailboxStatus::PendingVerification);

        ses.set(&created.email, IdentityVerification::Verified);
        let read = get(&store, &ses, &caller, created.id, now()).await.unwrap();
        assert_eq!((read.status, read.version), (MailboxStatus::Verified, 2));
        assert!(read.can_send());
        // Stored, so the next read needs no SES call.
        ses.fail(true);
        let listed = list(&store, &ses, &caller, &PageRequest::first(10), now())
            .await
            .unwrap();
        assert_eq!(listed.items[0].status, MailboxStatus::Verified);
    }

    #[tokio::test]
    async fn an_unreachable_ses_leaves_reads_working_and_creates_nothing() {
        let store = MemoryStore::new();
        let ses = MemoryIdentities::default();
        let caller = admin(&store).await;
        let created = create(&store, &ses, &caller, input("ann@acme.com"), now())
            .await
            .unwrap();
        ses.set(&created.email, IdentityVerification::Verified);
        ses.fail(true);
        let read = get(&store, &ses, &caller, created.id, now()).await.unwrap();
        assert_eq!(read.status, MailboxStatus::PendingVerification);
        assert!(matches!(
            create(&store, &ses, &caller, input("bob@acme.com"), now()).await,
            Err(DomainError::Store(_))
        ));
        ses.fail(false);
        // The failed attempt left no claim behind.
        create(&store, &ses, &caller, input("bob@acme.com"), now())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_already_verified_address_is_verified_at_once_and_addresses_are_unique() {
        let store = MemoryStore::new();
        let ses = MemoryIdentities::default();
        let caller = admin(&store).await;
        let email = crate::email::EmailAddress::parse("ann@acme.com").unwrap();
        ses.set(&email, IdentityVerification::Verified);
        let created = create(&store, &ses, &caller, input("ann@acme.com"), now())
            .await
            .unwrap();
        assert_eq!(created.status, MailboxStatus::Verified);
        assert!(ses.requests().is_empty(), "no second link for a verified address");
        let stored = get(&store, &ses, &caller, created.id, now()).await.unwrap();
        assert_eq!(stored, created);

        let again = create(&store, &ses, &caller, input("ANN@acme.com"), now()).await;
        assert!(
            matches!(again, Err(DomainError::Conflict { existing_id: Some(id), .. }) if id == created.id.to_string())
        );
        delete(&store, &caller, created.id).await.unwrap();
        create(&store, &ses, &caller, input("ANN@acme.com"), now())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn failed_verification_can_be_restarted_and_viewers_only_read() {
        let store = MemoryStore::new();
        let ses = MemoryIdentities::default();
        let caller = admin(&store).await;
        let created = create(&store, &ses, &caller, input("ann@acme.com"), now())
            .await
            .unwrap();
        ses.set(&created.email, IdentityVerification::Failed);
        assert_eq!(
            get(&store, &ses, &caller, created.id, now()).await.unwrap().status,
            MailboxStatus::Failed
        );
        let again = transition(&store, &ses, &caller, created.id, MailboxAction::Verify, now())
            .await
            .unwrap();
        assert_eq!(again.status, MailboxStatus::PendingVerification);
        assert_eq!(ses.requests().len(), 2);

        let viewer = auth::issue_key(
            &store,
            &caller,
            NewApiKey {
                name: "v".into(),
                role: Role::Viewer,
            },
            now(),
        )
        .await
        .unwrap();
        let viewer = auth::authenticate(&store, viewer.secret.expose(), now()).await.unwrap();
        assert!(matches!(
            create(&store, &ses, &viewer, input("x@acme.com"), now()).await,
            Err(DomainError::Forbidden { .. })
        ));
        assert!(get(&store, &ses, &viewer, created.id, now()).await.is_ok());
    }
}
