//! AWS adapters for the domain's ports: DynamoDB storage, SQS queues, S3 files
//! and SES sender identities.
//!
//! One table holds everything (single-table design, see docs/data-model.md).
//! Keys are built in [`keys`] only, and only from a `TenantId`.

mod cursor;
mod dynamo;
pub mod keys;
mod queue;
mod s3;
mod ses;

pub use dynamo::DynamoStore;
pub use queue::{SqsQueue, park_undecodable};
pub use s3::S3Files;
pub use ses::{SesIdentities, SesMailer};
