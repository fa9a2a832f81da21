//! Request extractors that answer bad input with problem+json naming the field.

use crate::problem::Problem;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// A JSON body decoded into `T`. Syntax errors are 400; a wrong type, an
/// unknown field or a missing one is 422 with its JSON Pointer.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = json_value(req, state).await?;
        cc_domain::input::decode(value, "")
            .map(JsonBody)
            .map_err(|e| Problem::invalid(vec![e]))
    }
}

/// Reads a body as JSON (any shape), enforcing the media type and size limit.
pub async fn json_value<S: Send + Sync>(req: Request, state: &S) -> Result<serde_json::Value, Problem> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| {
            let essence = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
            essence == "application/json" || essence.ends_with("+json")
        })
        // n8n and curl users often omit the header: accept a body without one.
        .unwrap_or(true);
    if !is_json {
        return Err(Problem::unsupported_media_type());
    }
    let bytes = Bytes::from_request(req, state)
        .await
        .map_err(|rejection| match rejection {
            BytesRejection::FailedToBufferBody(_) => Problem::body_too_large(),
            other => Problem::malformed_json(other.body_text()),
        })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::malformed_json("the body is empty; send a JSON object"));
    }
    serde_json::from_slice(&bytes).map_err(|e| Problem::malformed_json(e.to_string()))
}

/// Query parameters decoded into `T`; a bad one is a 400 naming it.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| QueryParams(q.0))
            .map_err(|rejection: QueryRejection| {
                let text = rejection.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text)
                    .to_string();
                let field = detail
                    .split(':')
                    .next()
                    .filter(|f| !f.contains(' '))
                    .unwrap_or("query")
                    .to_string();
                Problem::bad_query(&field, detail)
            })
    }
}

/// An id from the path. One that does not even parse cannot exist: 404.
pub fn path_id<T: std::str::FromStr>(raw: &str, entity: &'static str) -> Result<T, cc_domain::DomainError> {
    raw.parse().map_err(|_| cc_domain::DomainError::NotFound { entity })
}
