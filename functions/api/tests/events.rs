//! The router answers real API Gateway HTTP API (payload v2) events from
//! events/, decoded by lambda_http exactly as on Lambda (storage in memory).

use api::AppState;
use axum::body::to_bytes;
use cc_domain::api_key::OperatorKey;
use tower::ServiceExt;

async fn answer(event_file: &str) -> (u16, String, serde_json::Value) {
    let (status, content_type, text) = answer_text(&event(event_file)).await;
    (status, content_type, serde_json::from_str(&text).unwrap())
}

fn event(event_file: &str) -> String {
    let path = format!("{}/../../events/{event_file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap()
}

/// Runs one event's text through the router; the answer's body as text.
async fn answer_text(text: &str) -> (u16, String, String) {
    let request = lambda_http::request::from_str(text).expect("a valid HTTP API v2 event");
    let (parts, body) = request.into_parts();
    let request = axum::http::Request::from_parts(parts, axum::body::Body::from(body.to_vec()));
    let app = api::router(AppState::new(
        std::sync::Arc::new(cc_domain::memory::MemoryStore::new()),
        OperatorKey::new("operator"),
        std::sync::Arc::new(cc_domain::memory::MemoryQueue::default()),
        std::sync::Arc::new(cc_domain::memory::MemoryFiles::default()),
        std::sync::Arc::new(cc_domain::memory::MemoryIdentities::default()),
        cc_domain::unsubscribe::LinkSigner::new(&[7; 32]).unwrap(),
    ));
    let response = app.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, content_type, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn health_event_is_answered() {
    let (status, _, body) = answer("api-health.json").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn an_event_without_a_key_is_refused_as_problem_json() {
    let (status, content_type, body) = answer("api-create-campaign-without-key.json").await;
    assert_eq!(status, 401);
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(body["type"], "/problems/unauthorized");
}

/// The token in the event is signed with the test key ([7; 32]) for a lead
/// this empty store does not have: a valid link whose lead is gone succeeds.
#[tokio::test]
async fn a_one_click_unsubscribe_event_answers_html_without_a_key() {
    let text = event("api-unsubscribe-one-click.json");
    let (status, content_type, body) = answer_text(&text).await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(body.contains("You are unsubscribed"));

    // The same event with one character of the token changed: refused, as HTML.
    let tampered = text.replace("/v1/u/AZDz", "/v1/u/AZDy");
    assert_ne!(tampered, text);
    let (status, content_type, body) = answer_text(&tampered).await;
    assert_eq!(status, 404, "{body}");
    assert!(content_type.starts_with("text/html"));
    assert!(body.contains("not valid"));
}
