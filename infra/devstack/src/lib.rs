//! The local stack: the pinned AWS emulator (moto server, from the project's
//! virtualenv) on loopback, provisioned from template.yaml itself, and the
//! helpers the devstack binary and the integration tests share.

pub mod dev_routes;
pub mod emulator;
pub mod functions;
pub mod iam;
pub mod inbound_mail;
pub mod provision;
pub mod request_counts;
pub mod ses_simulator;
pub mod sqs_driver;
pub mod template;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use std::path::PathBuf;

pub use emulator::Emulator;
pub use functions::{LocalFunctions, QueueTrigger, Wiring};
pub use provision::{LocalStack, provision};
pub use template::Template;

#[derive(Debug, thiserror::Error)]
pub enum DevstackError {
    #[error("the project virtualenv is missing ({0}); run `make venv` (make dev and make test do it for you)")]
    MissingVenv(PathBuf),
    #[error("could not start the emulator: {0}")]
    EmulatorStart(String),
    #[error("could not read template.yaml")]
    TemplateRead(#[source] std::io::Error),
    #[error("template.yaml is not valid YAML")]
    TemplateParse(#[source] serde_norway::Error),
    #[error("template.yaml: {0}")]
    Template(String),
    #[error("provisioning {resource} failed")]
    Provision {
        resource: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The repository root: `CC_PROJECT_ROOT`, or where this crate was built from.
pub fn project_root() -> PathBuf {
    if let Some(root) = std::env::var_os("CC_PROJECT_ROOT") {
        return PathBuf::from(root);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the project root exists")
}

/// SDK configuration pointing every client at the emulator.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("local", "local", None, None, "devstack"))
        .load()
        .await
}
