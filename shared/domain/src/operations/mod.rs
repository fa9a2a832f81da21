//! The operations the api function calls: one per route, each taking the
//! caller, the parsed input and the time, and deciding everything else.

pub mod auth;
pub mod campaigns;
pub mod leads;
pub mod organizations;
pub mod tenants;

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
