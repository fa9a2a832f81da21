//! AWS adapters for the domain's ports: DynamoDB storage, SQS queues and S3 files.
//!
//! One table holds everything (single-table design, see docs/data-model.md).
//! Keys are built in [`keys`] only, and only from a `TenantId`.

mod cursor;
mod dynamo;
pub mod keys;
mod queue;
mod s3;

pub use dynamo::DynamoStore;
pub use queue::SqsQueue;
pub use s3::S3Files;
