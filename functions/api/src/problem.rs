//! RFC 9457 problem details, and the one mapping from errors to HTTP.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cc_domain::{DomainError, FieldError};
use serde::Serialize;

/// `application/problem+json` body. `errors` names each bad field with a JSON
/// Pointer into the request; `existing_id` and `current_status` explain 409s.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_status: Option<String>,
    /// A refused launch: the leads some step cannot be rendered for, and the variables they lack.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_leads: Option<Vec<cc_domain::operations::launch::BlockedLead>>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("/problems/{slug}"),
            title: title.into(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            existing_id: None,
            current_status: None,
            blocked_leads: None,
        }
    }

    pub fn malformed_json(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            "The body is not valid JSON",
            detail,
        )
    }

    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!("{} fields are not valid", many.len()),
        };
        Self {
            errors,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "The input is not valid",
                detail,
            )
        }
    }

    pub fn bad_query(field: &str, message: impl ToString) -> Self {
        Self {
            errors: vec![FieldError::new(field, message.to_string())],
            ..Self::new(
                StatusCode::BAD_REQUEST,
                "bad-query",
                "A query parameter is not valid",
                message.to_string(),
            )
        }
    }

    pub fn body_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "The body is too large",
            format!(
                "send at most {} bytes; use an import for large files",
                crate::MAX_BODY_BYTES
            ),
        )
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported content type",
            "send the body as application/json",
        )
    }

    pub fn operator_only() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Operator credentials required",
            "send the platform operator key as Authorization: Bearer <key>",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let unauthorized = status == StatusCode::UNAUTHORIZED;
        let mut response = (status, axum::Json(self)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if unauthorized {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The one mapping from domain outcomes to HTTP.
impl From<DomainError> for Problem {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::MissingCredentials => Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "API key required",
                "send a key as Authorization: Bearer <key> or X-Api-Key: <key>",
            ),
            DomainError::InvalidCredentials => Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Invalid API key",
                "the key is unknown or revoked",
            ),
            DomainError::Forbidden { action } => Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Not allowed for this key's role",
                format!("this key's role may not {action}"),
            ),
            DomainError::NotFound { entity } => Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                format!("no such {entity}"),
            ),
            // Fields named as JSON Pointers are in the body (422); bare names are query parameters (400).
            DomainError::Validation(errors)
                if !errors.is_empty() && errors.iter().all(|e| !e.field.starts_with('/')) =>
            {
                Problem {
                    errors: errors.clone(),
                    ..Problem::bad_query(&errors[0].field, &errors[0].message)
                }
            }
            DomainError::Validation(errors) => Problem::invalid(errors),
            DomainError::Conflict { message, existing_id } => Problem {
                existing_id,
                ..Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", message)
            },
            DomainError::InvalidTransition { status, action } => Problem {
                current_status: Some(status.to_string()),
                ..Problem::new(
                    StatusCode::CONFLICT,
                    "invalid-transition",
                    "Not possible in the current status",
                    format!("a {status} campaign cannot {action}"),
                )
            },
            DomainError::LaunchBlocked(report) => {
                let blocked = &report.blocked_leads;
                let errors = blocked
                    .iter()
                    .take(100)
                    .map(|lead| {
                        let gaps: Vec<String> = lead
                            .missing
                            .iter()
                            .map(|m| format!("step {} lacks {}", m.step, m.variables.join(", ")))
                            .collect();
                        FieldError::new(format!("/leads/{}", lead.lead_id), gaps.join("; "))
                    })
                    .collect();
                Problem {
                    errors,
                    blocked_leads: Some(blocked.clone()),
                    ..Problem::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "missing-variables",
                        "Some leads lack variables the sequence needs",
                        format!(
                            "{} leads lack variables with no fallback; fill them in or add a fallback such as {{{{ first_name | default(\"there\") }}}}",
                            blocked.len()
                        ),
                    )
                }
            }
            DomainError::InvalidCursor => Problem::bad_query("cursor", "the cursor is not valid for this listing"),
            DomainError::BadFile(detail) => Problem::new(
                StatusCode::BAD_REQUEST,
                "bad-file",
                "The file cannot be imported",
                detail,
            ),
            DomainError::Store(source) => {
                tracing::error!(error = %cc_runtime::ErrorChain(&source), "storage failure");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "the request could not be completed; it is safe to retry",
                )
            }
        }
    }
}

pub async fn not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        "no such route; see /v1/openapi.json",
    )
}

pub async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "this route does not take that method; see /v1/openapi.json",
    )
}
