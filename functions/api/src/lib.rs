//! The `api` function: every REST route under /v1, as one axum `Router` that
//! lambda_http runs on Lambda and the devstack serves on a local port.
//!
//! Handlers are thin: extract the caller and the input, call one domain
//! operation, map the result. Errors map to problem+json in `problem` only.

mod auth;
mod extract;
pub mod openapi;
mod problem;
mod routes;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use cc_domain::api_key::OperatorKey;
use cc_domain::clock::{Clock, SystemClock};
use cc_domain::ports::{ImportFiles, LeadBatchQueue, SenderIdentities, Store};
use cc_domain::unsubscribe::LinkSigner;
use std::sync::Arc;

pub use problem::Problem;

/// Request bodies above this are refused with 413. Lambda's synchronous
/// payload limit is 6 MB; a bulk call of 1,000 leads is well below it.
pub const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

/// What every handler can reach; built once per cold start.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub operator_key: OperatorKey,
    /// Where import files go, in batches, for the ingest function.
    pub lead_batches: Arc<dyn LeadBatchQueue>,
    /// Where files too large for a request body are uploaded.
    pub import_files: Arc<dyn ImportFiles>,
    /// The mail service's sender identities (SES), which verify mailbox addresses.
    pub identities: Arc<dyn SenderIdentities>,
    /// The time: the system clock on Lambda, a settable one in the devstack and tests.
    pub clock: Arc<dyn Clock>,
    /// Signs and checks the unsubscribe links in outgoing mail.
    pub link_signer: Arc<LinkSigner>,
    /// The reply domain's signed addresses, when the stack receives replies.
    pub reply_addresses: Option<Arc<cc_domain::reply_address::ReplyAddresses>>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        operator_key: OperatorKey,
        lead_batches: Arc<dyn LeadBatchQueue>,
        import_files: Arc<dyn ImportFiles>,
        identities: Arc<dyn SenderIdentities>,
        link_signer: LinkSigner,
    ) -> Self {
        Self {
            store,
            operator_key,
            lead_batches,
            import_files,
            identities,
            clock: Arc::new(SystemClock),
            link_signer: Arc::new(link_signer),
            reply_addresses: None,
        }
    }

    /// The same state with the reply domain's addresses (`REPLY_DOMAIN` set).
    pub fn with_reply_addresses(mut self, addresses: cc_domain::reply_address::ReplyAddresses) -> Self {
        self.reply_addresses = Some(Arc::new(addresses));
        self
    }

    /// The same state reading the time from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    routes::routes()
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(routes::observe))
        .with_state(state)
}
