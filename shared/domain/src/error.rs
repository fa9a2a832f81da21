//! The domain's error boundary. Adapters report [`StoreError`]; operations
//! report [`DomainError`], which keeps the storage cause in its chain. The api
//! function maps `DomainError` to HTTP in exactly one place.

use serde::Serialize;

/// One problem with one field of the input, addressed by a JSON Pointer
/// (RFC 6901) into the request body, e.g. `/leads/3/email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl ToString) -> Self {
        Self {
            field: field.into(),
            message: message.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("not a valid {kind} id")]
pub struct InvalidId {
    pub kind: &'static str,
}

/// What a storage adapter can report.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The item changed since it was read (optimistic locking).
    #[error("the item was changed concurrently")]
    VersionConflict,
    /// A pagination cursor that this tenant and listing did not issue.
    #[error("the cursor is not valid for this listing")]
    InvalidCursor,
    /// Anything the backend itself failed at; the source keeps the SDK error.
    #[error("storage backend failure: {context}")]
    Backend {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored item that no longer decodes into the domain type.
    #[error("stored item is corrupt: {context}")]
    Corrupt {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    pub fn backend(context: &'static str, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend {
            context,
            source: Box::new(source),
        }
    }

    pub fn corrupt(context: &'static str, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Corrupt {
            context,
            source: Box::new(source),
        }
    }
}

/// Why an operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("no credentials were presented")]
    MissingCredentials,
    #[error("the credentials are not valid")]
    InvalidCredentials,
    #[error("this key's role may not {action}")]
    Forbidden { action: &'static str },
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    #[error("the input is not valid")]
    Validation(Vec<FieldError>),
    #[error("{message}")]
    Conflict {
        message: String,
        existing_id: Option<String>,
    },
    #[error("a {status} campaign cannot {action}")]
    InvalidTransition {
        status: crate::campaign::CampaignStatus,
        action: &'static str,
    },
    #[error("the cursor is not valid for this listing")]
    InvalidCursor,
    /// An uploaded file that cannot be read as what it should be.
    #[error("{0}")]
    BadFile(String),
    /// Some leads lack variables that a step needs and has no fallback for.
    #[error("{} leads cannot be mailed: some steps lack variables", .0.blocked_leads.len())]
    LaunchBlocked(Box<crate::operations::launch::LaunchReport>),
    #[error("storage failure")]
    Store(#[source] StoreError),
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl ToString) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

impl From<StoreError> for DomainError {
    fn from(value: StoreError) -> Self {
        match value {
            StoreError::InvalidCursor => Self::InvalidCursor,
            other => Self::Store(other),
        }
    }
}
