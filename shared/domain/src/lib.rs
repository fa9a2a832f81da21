//! The Customer Center domain: validated value types, entities with their
//! state machines, the storage ports the adapters implement, and the
//! operations the functions call. Nothing here knows about HTTP, Lambda or AWS.

pub mod activity;
pub mod api_key;
pub mod campaign;
pub mod clock;
pub mod csv_import;
pub mod email;
pub mod engagement;
pub mod enrich;
pub mod error;
pub mod ids;
pub mod import;
pub mod inbound;
pub mod input;
pub mod lead;
pub mod lead_source;
pub mod mailbox;
#[cfg(any(test, feature = "memory"))]
pub mod memory;
pub mod message;
pub mod operations;
pub mod organization;
pub mod outbound;
pub mod page;
pub mod ports;
pub mod reply;
pub mod reply_address;
pub mod schedule;
pub mod scoring;
pub mod sequence;
pub mod ses_event;
pub mod ses_receipt;
pub mod stats;
pub mod suppression;
pub mod template;
pub mod tenant;
pub mod tracking;
pub mod unsubscribe;

pub use error::{DomainError, FieldError, StoreError};
