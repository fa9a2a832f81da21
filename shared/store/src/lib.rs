//! DynamoDB adapters for the domain's storage ports.
//!
//! One table holds everything (single-table design, see docs/data-model.md).
//! Keys are built in [`keys`] only, and only from a `TenantId`.

mod cursor;
mod dynamo;
pub mod keys;

pub use dynamo::DynamoStore;
