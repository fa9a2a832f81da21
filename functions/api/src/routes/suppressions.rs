use crate::AppState;
use crate::auth::Caller;
use crate::extract::{JsonBody, QueryParams};
use crate::problem::Problem;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use cc_domain::DomainError;
use cc_domain::operations::suppressions;
use cc_domain::page::{Page, PageRequest};
use cc_domain::suppression::{NewSuppression, Suppression};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/suppressions", get(list_suppressions).post(add_suppression))
        .route("/v1/suppressions/{value}", delete(remove_suppression))
        .route("/v1/u/{token}", get(unsubscribe_page).post(one_click_unsubscribe))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SuppressionListParams {
    pub cursor: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SuppressionList {
    pub items: Vec<Suppression>,
    pub next_cursor: Option<String>,
}

/// Suppress an address or a whole domain: the tenant never mails it again.
///
/// Exactly one of `email` and `domain`. Adding a target that is already on the
/// list replaces its entry (reason and note).
#[utoipa::path(post, path = "/v1/suppressions", tag = "suppressions", request_body = NewSuppression,
    responses((status = 201, body = Suppression), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn add_suppression(
    State(state): State<AppState>,
    Caller(caller): Caller,
    JsonBody(input): JsonBody<NewSuppression>,
) -> Result<(StatusCode, Json<Suppression>), Problem> {
    let entry = suppressions::add(state.store.as_ref(), &caller, input, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

/// List the suppression list: addresses, then domains, alphabetically.
#[utoipa::path(get, path = "/v1/suppressions", tag = "suppressions", params(SuppressionListParams),
    responses((status = 200, body = SuppressionList), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn list_suppressions(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryParams(params): QueryParams<SuppressionListParams>,
) -> Result<Json<Page<Suppression>>, Problem> {
    let page = PageRequest::parse(params.cursor, params.limit)?;
    Ok(Json(suppressions::list(state.store.as_ref(), &caller, &page).await?))
}

/// Take an address or a domain off the list (mail to it may start again).
#[utoipa::path(delete, path = "/v1/suppressions/{value}", tag = "suppressions",
    params(("value" = String, Path, description = "The entry's `value`: an address (any case) or a domain")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn remove_suppression(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(value): Path<String>,
) -> Result<StatusCode, Problem> {
    suppressions::remove(state.store.as_ref(), &caller, &value).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The unsubscribe link's page (no key): asks the recipient to confirm.
///
/// A GET never unsubscribes: mail scanners and link previews fetch links
/// unasked. The page's button POSTs to the same URL.
#[utoipa::path(get, path = "/v1/u/{token}", tag = "unsubscribe", security(()),
    params(("token" = String, Path, description = "The signed token from the email's unsubscribe link")),
    responses((status = 200, description = "Confirmation page", content_type = "text/html", body = String),
        (status = 404, description = "Not a valid link", content_type = "text/html", body = String)))]
pub async fn unsubscribe_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match state.link_signer.verify(&token) {
        Ok(_) => page(
            StatusCode::OK,
            "Unsubscribe",
            "Do you want to stop receiving these emails?",
            Some(FORM),
        ),
        Err(_) => invalid_link(),
    }
}

/// Unsubscribe (no key): RFC 8058 one-click, or the confirmation page's button.
///
/// Mail clients POST `List-Unsubscribe=One-Click` as a form; any body is
/// accepted. The lead's address goes on the tenant's suppression list and
/// every lead of the tenant with that address becomes `unsubscribed`.
/// Repeating it answers the same.
#[utoipa::path(post, path = "/v1/u/{token}", tag = "unsubscribe", security(()),
    params(("token" = String, Path, description = "The signed token from the email's unsubscribe link")),
    responses((status = 200, description = "Unsubscribed", content_type = "text/html", body = String),
        (status = 404, description = "Not a valid link; nothing changed", content_type = "text/html", body = String)))]
pub async fn one_click_unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match suppressions::unsubscribe(state.store.as_ref(), &state.link_signer, &token, state.clock.now()).await {
        Ok(outcome) => {
            if let suppressions::Unsubscribed::Done { tenant, .. } = outcome {
                tracing::Span::current().record("tenant_id", tracing::field::display(tenant));
            }
            page(
                StatusCode::OK,
                "You are unsubscribed",
                "You will not receive these emails any more.",
                None,
            )
        }
        Err(DomainError::NotFound { .. }) => invalid_link(),
        Err(other) => {
            // The recipient sees a page, not problem+json; the log names the cause, never the token.
            tracing::error!(error = %cc_runtime::ErrorChain(&other), "unsubscribe failed");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "We could not unsubscribe you just now. Please try again in a minute.",
                Some(FORM),
            )
        }
    }
}

const FORM: &str = r#"<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>"#;

fn invalid_link() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Link not valid",
        "This unsubscribe link is not valid. Nothing was changed. If you copied it, check that it is complete.",
        None,
    )
}

/// A small self-contained page: no scripts, no external assets, not framed,
/// not cached, and the token in its URL is not sent on as a referrer.
fn page(status: StatusCode, title: &str, message: &str, form: Option<&str>) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}}\
         button{{font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}}</style></head>\
         <body><h1>{title}</h1><p>{message}</p>{}</body></html>",
        form.unwrap_or_default()
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
