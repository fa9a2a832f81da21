//! Who is calling: the platform operator or a tenant key.

use crate::AppState;
use crate::problem::Problem;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use cc_domain::DomainError;
use cc_domain::api_key::Principal;
use cc_domain::operations::auth;

/// The bearer token, or the `X-Api-Key` header (what n8n's header auth sends).
pub(crate) fn presented_key(parts: &Parts) -> Option<String> {
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
        });
    bearer
        .or_else(|| {
            parts
                .headers
                .get("x-api-key")
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_string())
        })
        .filter(|k| !k.is_empty())
}

/// A request made with a valid tenant API key.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let key = presented_key(parts).ok_or(DomainError::MissingCredentials)?;
        let principal = auth::authenticate(state.store.as_ref(), &key, state.clock.now()).await?;
        tracing::Span::current().record("tenant_id", tracing::field::display(principal.tenant_id));
        Ok(Caller(principal))
    }
}

/// Either the platform operator or a tenant key.
pub enum OperatorOrCaller {
    Operator,
    Tenant(Principal),
}

impl FromRequestParts<AppState> for OperatorOrCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let key = presented_key(parts).ok_or(DomainError::MissingCredentials)?;
        if state.operator_key.matches(&key) {
            return Ok(OperatorOrCaller::Operator);
        }
        Caller::from_request_parts(parts, state)
            .await
            .map(|Caller(p)| OperatorOrCaller::Tenant(p))
    }
}

/// A request made with the platform operator's key.
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let key = presented_key(parts).ok_or(DomainError::MissingCredentials)?;
        if state.operator_key.matches(&key) {
            return Ok(Operator);
        }
        // A valid tenant key is authenticated but not allowed here: 403, not 401.
        match auth::authenticate(state.store.as_ref(), &key, state.clock.now()).await {
            Ok(_) => Err(DomainError::Forbidden {
                action: "manage tenants (platform operator only)",
            }
            .into()),
            Err(DomainError::InvalidCredentials) => Err(Problem::operator_only()),
            Err(other) => Err(other.into()),
        }
    }
}
