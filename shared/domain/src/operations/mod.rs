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
    async fn phone_only_leads_are_deduplicated_by_e164_within_their_campaign() {
        let store = MemoryStore::new();
        let (caller, _) = admin(&store).await;
        let input = NewCampaign {
            name: "Calls".into(),
            description: None,
            settings: json!({"default_country": "DE"}).as_object().unwrap().clone(),
        };
        let campaign = campaigns::create(&store, &caller, input, now()).await.unwrap().id;
        let items = vec![
            json!({"phone": "+49 151 1234 5678", "first_name": "Ann"}),
            json!({"phone": "015112345678"}),
            json!({"first_name": "Nobody"}),
            json!({"email": "ann@acme.com", "phone": "+4915112345678"}),
            json!({"phone": "030 901820"}),
        ];
        let outcomes = leads::add(&store, &caller, campaign, items, Addressing::Batch, now())
            .await
            .unwrap();
        let LeadOutcome::Created(ann) = &outcomes[0] else {
            panic!("{outcomes:?}")
        };
        assert_eq!(ann.email, None);
        assert!(matches!(outcomes[1], LeadOutcome::Duplicate(id) if id == ann.id));
        assert!(
            matches!(&outcomes[2], LeadOutcome::Invalid(e) if e[0].field == "/leads/2/email" && e[0].message.contains("email or a phone"))
        );
        // A lead with an email is known by it, whatever its phone.
        assert!(matches!(outcomes[3], LeadOutcome::Created(_)));
        assert!(matches!(outcomes[4], LeadOutcome::Created(_)));
        // A later call, in yet another format, finds the stored lead.
        let again = leads::add(
            &store,
            &caller,
            campaign,
            vec![json!({"phone": "+49 (0)151-1234-5678"})],
            Addressing::Single,
            now(),
        )
        .await
        .unwrap();
        assert!(
            matches!(again[0], LeadOutcome::Duplicate(id) if id == ann.id),
            "{again:?}"
        );
        // The same number in another campaign, or another tenant, is another lead.
        let other_campaign = super::tests::campaign(&store, &caller).await;
        let elsewhere = leads::add(
            &store,
            &caller,
            other_campaign,
            vec![json!({"phone": "+4915112345678"})],
            Addressing::Single,
            now(),
        )
        .await
        .unwrap();
        assert!(matches!(elsewhere[0], LeadOutcome::Created(_)));
        let (stranger, _) = admin(&store).await;
        let their_campaign = super::tests::campaign(&store, &stranger).await;
        let theirs = leads::add(
            &store,
            &stranger,
            their_campaign,
            vec![json!({"phone": "+4915112345678"})],
            Addressing::Single,
            now(),
        )
        .await
        .unwrap();
        assert!(matches!(theirs[0], LeadOutcome::Created(_)));
        // No organisation is made for a lead without a domain, and the email index does not list it.
        let stored = leads::get(&store, &caller, ann.id).await.unwrap();
        assert_eq!(stored.organization_id, None);
        let listed = leads::list_in_campaign(&store, &caller, campaign, None, &crate::page::PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!(listed.items.len(), 3);
    }

    #[tokio::test]
    async fn changing_a_phone_only_lead_moves_its_identity() {
        let store = MemoryStore::new();
        let (caller, _) = admin(&store).await;
        let campaign = campaign(&store, &caller).await;
        let add =
            |items: Vec<serde_json::Value>| leads::add(&store, &caller, campaign, items, Addressing::Batch, now());
        let outcomes = add(vec![
            json!({"phone": "+4915112345678"}),
            json!({"phone": "+4915199999999"}),
        ])
        .await
        .unwrap();
        let (LeadOutcome::Created(first), LeadOutcome::Created(second)) = (&outcomes[0], &outcomes[1]) else {
            panic!("{outcomes:?}")
        };
        let patch = |value: serde_json::Value| -> crate::lead::LeadPatch { crate::input::decode(value, "").unwrap() };
        // Taking another lead's number is a conflict naming it.
        let taken = leads::update(
            &store,
            &caller,
            first.id,
            patch(json!({"phone": "+4915199999999"})),
            now(),
        )
        .await;
        assert!(
            matches!(taken, Err(DomainError::Conflict { existing_id: Some(id), .. }) if id == second.id.to_string())
        );
        // Gaining an email frees the number for a newcomer.
        leads::update(
            &store,
            &caller,
            first.id,
            patch(json!({"email": "ann@acme.com"})),
            now(),
        )
        .await
        .unwrap();
        let newcomer = add(vec![
            json!({"phone": "+4915112345678"}),
            json!({"email": "ANN@acme.com"}),
        ])
        .await
        .unwrap();
        assert!(matches!(newcomer[0], LeadOutcome::Created(_)), "{newcomer:?}");
        assert!(matches!(newcomer[1], LeadOutcome::Duplicate(id) if id == first.id));
        // Deleting the moved lead leaves both the newcomer and the address's chain usable.
        leads::delete(&store, &caller, first.id).await.unwrap();
        let again = add(vec![
            json!({"email": "ann@acme.com"}),
            json!({"phone": "+4915112345678"}),
        ])
        .await
        .unwrap();
        assert!(matches!(again[0], LeadOutcome::Created(_)), "{again:?}");
        assert!(matches!(again[1], LeadOutcome::Duplicate(_)), "{again:?}");
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
    async fn a_csv_of_phone_numbers_imports_leads_known_by_their_phone() {
        let store = MemoryStore::new();
        let queue = MemoryQueue::default();
        let (caller, _) = super::test_support::admin(&store).await;
        let input = NewCampaign {
            name: "Calls".into(),
            description: None,
            settings: Default::default(),
        };
        let campaign = campaigns::create(&store, &caller, input, Utc::now()).await.unwrap();
        // Rows 2 and 3 are one number; row 4 repeats an email's lead by phone, which is no repeat;
        // row 5 has neither, row 6 an unreadable number.
        let file = "Phone,Email,Country,Name\n+49 151 1234 5678,,,Ann\n015112345678,,DE,Ann again\n+4915112345678,ann@acme.com,,Ann Lee\n,,DE,Nobody\n12,,,Bad\n";
        let job = imports::start_csv_import(
            &store,
            &queue,
            &caller,
            campaign.id,
            file.as_bytes(),
            &BTreeMap::new(),
            Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!((job.total_rows, job.duplicates, job.invalid), (5, 1, 1));
        for batch in queue.take() {
            imports::ingest_batch(&store, batch.clone(), Utc::now()).await.unwrap();
            imports::ingest_batch(&store, batch, Utc::now()).await.unwrap();
        }
        let job = imports::get(&store, &caller, job.id).await.unwrap();
        assert_eq!((job.created, job.duplicates, job.invalid), (2, 1, 2));
        let errors = imports::errors_csv(&store, &caller, job.id).await.unwrap();
        assert!(errors.contains("3,duplicate: row 2 already has this phone"), "{errors}");
        assert!(
            errors.contains("5,the email is missing (a lead needs an email or a phone)"),
            "{errors}"
        );
        assert!(errors.contains("6,\"phone: not a phone number"), "{errors}");
        let listed = leads::list_in_campaign(&store, &caller, campaign.id, None, &crate::page::PageRequest::first(10))
            .await
            .unwrap();
        let mut identities: Vec<String> = listed.items.iter().map(crate::lead::Lead::identity).collect();
        identities.sort();
        assert_eq!(identities, ["ann@acme.com", "tel:+4915112345678"]);
        // A file with a phone column and no email column is a lead file too.
        let job = imports::start_csv_import(
            &store,
            &queue,
            &caller,
            campaign.id,
            b"Mobile\n+4915112345678\n",
            &BTreeMap::new(),
            Utc::now(),
        )
        .await
        .unwrap();
        for batch in queue.take() {
            imports::ingest_batch(&store, batch, Utc::now()).await.unwrap();
        }
        let job = imports::get(&store, &caller, job.id).await.unwrap();
        assert_eq!((job.created, job.duplicates, job.invalid), (0, 1, 0));
        let errors = imports::errors_csv(&store, &caller, job.id).await.unwrap();
        assert!(errors.contains("already has this phone"), "{errors}");
    }

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
