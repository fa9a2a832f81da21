//! AWS adapters for the domain's ports: DynamoDB storage and SQS queues.
//!
//! One table holds everything (single-table design, see docs/data-model.md).
//! Keys are built in [`keys`] only, and only from a `TenantId`.

mod cursor;
mod dynamo;
pub mod keys;
mod queue;

pub use dynamo::DynamoStore;
pub use queue::SqsQueue;
