//! The router answers real API Gateway HTTP API (payload v2) events from
//! events/, decoded by lambda_http exactly as on Lambda (storage in memory).

use api::AppState;
use axum::body::to_bytes;
use cc_domain::api_key::OperatorKey;
use tower::ServiceExt;

async fn answer(event_file: &str) -> (u16, String, serde_json::Value) {
    let path = format!("{}/../../events/{event_file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let request = lambda_http::request::from_str(&text).expect("a valid HTTP API v2 event");
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
    (status, content_type, serde_json::from_slice(&bytes).unwrap())
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
