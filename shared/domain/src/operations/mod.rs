//! The operations the api function calls: one per route, each taking the
//! caller, the parsed input and the time, and deciding everything else.

pub mod auth;
pub mod campaigns;
pub mod emails;
pub mod exports;
pub mod imports;
pub mod launch;
pub mod lead_sources;
pub mod leads;
pub mod mailboxes;
pub mod organizations;
pub mod replies;
pub mod sending;
pub mod ses_events;
pub mod sheets;
pub mod stats;
pub mod suppressions;
pub mod templates;
pub mod tenants;
#[cfg(test)]
mod test_support;

use crate::error::{DomainError, StoreError};
use std::future::Future;

/// How often a read-modify-write is retried after losing a version race.
const OPTIMISTIC_ATTEMPTS: usize = 3;

/// Runs a read-modify-write until it wins the version race (or gives up with a 409).
pub(crate) async fn with_optimistic_retry<T, F, Fut>(mut attempt: F) -> Result<T, DomainError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DomainError>>,
{
    for _ in 1..OPTIMISTIC_ATTEMPTS {
        match attempt().await {
            Err(DomainError::Store(StoreError::VersionConflict)) => continue,
            other => return other,
        }
    }
    attempt().await.map_err(|err| match err {
        DomainError::Store(StoreError::VersionConflict) => DomainError::Conflict {
            message: "the item is being changed by another request; try again".into(),
            existing_id: None,
        },
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api_key::{NewApiKey, Principal, Role};
    use crate::campaign::{CampaignAction, NewCampaign};
    use crate::memory::MemoryStore;
    use crate::operations::leads::{Addressing, LeadOutcome};
    use crate::ports::Store;
    use serde_json::json;

    use super::test_support::{admin, now};

    async fn campaign(store: &dyn Store, caller: &Principal) -> crate::ids::CampaignId {
        let input = NewCampaign {
            name: "Q1".into(),
            description: None,
            settings: Default::default(),
        };
        campaigns::create(store, caller, input, now()).await.unwrap().id
    }

    #[tokio::test]
    async fn adding_leads_answers_each_item_and_stores_the_good_ones() {
        let store = MemoryStore::new();
        let (caller, _) = admin(&store).await;
        let campaign = campaign(&store, &caller).await;
        let items = vec![
            json!({"email": "a@x.io"}),
            json!({"email": "A@X.io"}),
            json!({"email": "bad"}),
            json!({"email": "b@x.io"}),
        ];
        let outcomes = leads::add(&store, &caller, campaign, items, Addressing::Batch, now())
            .await
            .unwrap();
        let LeadOutcome::Created(first) = &outcomes[0] else {
            panic!("{outcomes:?}")
        };
        assert!(matches!(outcomes[1], LeadOutcome::Duplicate(id) if id == first.id));
        assert!(matches!(&outcomes[2], LeadOutcome::Invalid(e) if e[0].field == "/leads/2/email"));
        assert!(matches!(outcomes[3], LeadOutcome::Created(_)));
        let again = leads::add(
            &store,
            &caller,
            campaign,
            vec![json!({"email": "a@X.IO"})],
            Addressing::Single,
            now(),
        )
        .await
        .unwrap();
        assert!(matches!(again[0], LeadOutcome::Duplicate(id) if id == first.id));
        let listed = leads::list_in_campaign(&store, &caller, campaign, None, &crate::page::PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!(listed.items.len(), 2);
    }

    #[tokio::test]
    async fn a_campaign_with_leads_cannot_be_deleted_and_archived_takes_none() {
        let store = MemoryStore::new();
        let (caller, _) = admin(&store).await;
        let campaign = campaign(&store, &caller).await;
        leads::add(
            &store,
            &caller,
            campaign,
            vec![json!({"email": "a@x.io"})],
            Addressing::Single,
            now(),
        )
        .await
        .unwrap();
        assert!(matches!(
            campaigns::delete(&store, &caller, campaign).await,
            Err(DomainError::Conflict { .. })
        ));
        campaigns::transition(&store, &caller, campaign, CampaignAction::Archive, now())
            .await
            .unwrap();
        let refused = leads::add(
            &store,
            &caller,
            campaign,
            vec![json!({"email": "b@x.io"})],
            Addressing::Single,
            now(),
        )
        .await;
        assert!(matches!(refused, Err(DomainError::InvalidTransition { .. })));
    }

    #[tokio::test]
    async fn revoked_keys_stop_working_and_the_last_admin_stays() {
        let store = MemoryStore::new();
        let (caller, admin_secret) = admin(&store).await;
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
        let viewer_principal = auth::authenticate(&store, viewer.secret.expose(), now()).await.unwrap();
        assert!(matches!(
            auth::issue_key(
                &store,
                &viewer_principal,
                NewApiKey {
                    name: "x".into(),
                    role: Role::Admin
                },
                now()
            )
            .await,
            Err(DomainError::Forbidden { .. })
        ));
        auth::revoke_key(&store, &caller, viewer.record.id).await.unwrap();
        assert!(matches!(
            auth::authenticate(&store, viewer.secret.expose(), now()).await,
            Err(DomainError::InvalidCredentials)
        ));
        assert!(matches!(
            auth::revoke_key(&store, &caller, caller.key_id).await,
            Err(DomainError::Conflict { .. })
        ));
        assert!(auth::authenticate(&store, &admin_secret, now()).await.is_ok());
    }

    #[tokio::test]
    async fn optimistic_retry_gives_up_with_a_conflict() {
        let mut calls = 0;
        let result: Result<(), DomainError> = with_optimistic_retry(|| {
            calls += 1;
            async { Err(DomainError::Store(StoreError::VersionConflict)) }
        })
        .await;
        assert_eq!(calls, OPTIMISTIC_ATTEMPTS);
        assert!(matches!(result, Err(DomainError::Conflict { .. })));
    }
}

#[cfg(test)]
mod import_tests {
    use super::*;
    use crate::campaign::NewCampaign;
    use crate::import::ImportStatus;
    use crate::memory::{MemoryQueue, MemoryStore};
    use crate::tenant::NewTenant;
    use chrono::Utc;
    use std::collections::BTreeMap;

    const FILE: &str = "\u{feff}Email;First Name;Company\r\nann@acme.com;Ann;Acme\r\nnot-an-email;Bad;X\r\nbob@acme.com;Bob;\"Acme\r\nLabs\"\r\nANN@acme.com;Ann again;Acme\r\n;NoEmail;X\r\n";

    #[tokio::test]
    async fn a_csv_import_is_counted_once_whatever_is_redelivered() {
        let store = MemoryStore::new();
        let queue = MemoryQueue::default();
        let (_, key) = tenants::create_tenant(&store, NewTenant { name: "Acme".into() }, Utc::now())
            .await
            .unwrap();
        let caller = auth::authenticate(&store, key.secret.expose(), Utc::now())
            .await
            .unwrap();
        let input = NewCampaign {
            name: "Q1".into(),
            description: None,
            settings: Default::default(),
        };
        let campaign = campaigns::create(&store, &caller, input, Utc::now()).await.unwrap();

        let job = imports::start_csv_import(
            &store,
            &queue,
            &caller,
            campaign.id,
            FILE.as_bytes(),
            &BTreeMap::new(),
            Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!((job.total_rows, job.duplicates, job.invalid), (5, 1, 1));
        let batches = queue.take();
        assert_eq!(batches.len(), 1);
        for _ in 0..3 {
            imports::ingest_batch(&store, batches[0].clone(), Utc::now())
                .await
                .unwrap();
        }
        let job = imports::get(&store, &caller, job.id).await.unwrap();
        assert_eq!(job.status, ImportStatus::Completed);
        assert_eq!((job.created, job.duplicates, job.invalid), (2, 1, 2));
        assert_eq!(job.progress(), 100);
        let errors = imports::errors_csv(&store, &caller, job.id).await.unwrap();
        let rows: Vec<&str> = errors.lines().map(|l| l.split(',').next().unwrap()).collect();
        assert_eq!(rows, ["row", "3", "5", "6"]);
        let listed = leads::list_in_campaign(&store, &caller, campaign.id, None, &crate::page::PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!(listed.items.len(), 2);
        assert!(
            listed
                .items
                .iter()
                .any(|lead| lead.company_name.as_deref() == Some("Acme\r\nLabs")),
            "the quoted newline survives"
        );
    }
}
