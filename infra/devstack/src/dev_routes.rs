//! The devstack's own controls under `/dev`, served beside the API on the
//! local port only (they are not part of the api function, so they can never
//! be deployed):
//!
//! - `POST /dev/clock/advance` `{"seconds": N}` moves the functions' clock
//!   forward and runs every scheduler tick that falls due on the way, with the
//!   sends they queue, so a week-long sequence plays out in seconds;
//! - `GET /dev/outbox` lists what the emulator's SES accepted, newest first;
//! - `POST /dev/simulate/open` `{"email_id"}` and `POST /dev/simulate/click`
//!   `{"email_id", "link"}` make the local SES simulator publish a person's
//!   open or click of a sent email (SNS → SQS → ses-events), where SES would
//!   have tracked it ([`simulate_routes`]).

use crate::LocalFunctions;
use crate::ses_simulator::{SimulateError, SimulatedSes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cc_domain::clock::{Clock, OffsetClock};
use cc_domain::operations::sending::{self, Delays};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;

/// The longest single advance: a year.
const MAX_ADVANCE_SECONDS: i64 = 366 * 24 * 3600;
/// Ticks one advance may run before it stops (and says so).
const MAX_TICKS: usize = 20_000;

#[derive(Clone)]
pub struct DevControls {
    pub functions: LocalFunctions,
    pub clock: OffsetClock,
    pub emulator_endpoint: String,
    /// Held by every tick, so the real-time loop and an advance never overlap.
    pub ticking: Arc<tokio::sync::Mutex<()>>,
    pub http: reqwest::Client,
}

pub fn dev_routes(controls: DevControls) -> Router {
    Router::new()
        .route("/dev/clock/advance", post(advance))
        .route("/dev/clock", get(clock))
        .route("/dev/outbox", get(outbox))
        .with_state(controls.clone())
        .merge(simulate_routes(controls.functions.ses_simulator.clone()))
        .merge(inbound_routes(controls.functions.clone()))
}

/// `POST /dev/inbound` alone (the test harness serves it beside the API).
pub fn inbound_routes(functions: LocalFunctions) -> Router {
    Router::new()
        .route("/dev/inbound", post(inbound_mail))
        .with_state(functions)
}

/// Whether a body is an RFC 5322 message at all: a header field on its first line.
fn looks_like_a_message(raw: &[u8]) -> bool {
    let first = raw.split(|b| *b == b'\n').next().unwrap_or_default();
    first
        .iter()
        .position(|b| *b == b':')
        .is_some_and(|colon| colon > 0 && first[..colon].iter().all(|b| b.is_ascii_graphic()))
}

/// A raw RFC 5322 message received on the reply domain: stored in the
/// inbound bucket and announced on the inbound topic, as SES would; the
/// inbound function takes it from its queue.
async fn inbound_mail(
    State(functions): State<LocalFunctions>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !content_type.starts_with("message/rfc822") {
        return problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the raw message as Content-Type: message/rfc822",
            None,
        );
    }
    if body.is_empty() || !looks_like_a_message(&body) {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the body is not an RFC 5322 message (no header field on its first line)",
            Some("/"),
        );
    }
    match functions.receiving.receive(body.to_vec(), functions.clock.now()).await {
        Ok(ses_message_id) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({"ses_message_id": ses_message_id, "reply_domain": functions.receiving.domain()})),
        )
            .into_response(),
        Err(err) => problem(StatusCode::SERVICE_UNAVAILABLE, err.to_string(), None),
    }
}

/// `POST /dev/simulate/open` and `/dev/simulate/click` alone (the test
/// harness serves them beside the API without the clock controls).
pub fn simulate_routes(simulator: Arc<SimulatedSes>) -> Router {
    Router::new()
        .route("/dev/simulate/open", post(simulate_open))
        .route("/dev/simulate/click", post(simulate_click))
        .with_state(simulator)
}

fn problem(status: StatusCode, detail: impl Into<String>, field: Option<&str>) -> Response {
    let mut body = json!({
        "type": "/problems/dev",
        "title": "The devstack control failed",
        "status": status.as_u16(),
        "detail": detail.into(),
    });
    if let Some(field) = field {
        body["errors"] = json!([{"field": field, "message": body["detail"].clone()}]);
    }
    (status, [("content-type", "application/problem+json")], body.to_string()).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: i64,
}

#[derive(Serialize)]
struct Advanced {
    now: DateTime<Utc>,
    offset_seconds: i64,
    ticks: usize,
    sends_handled: usize,
}

async fn clock(State(dev): State<DevControls>) -> Json<Value> {
    Json(json!({"now": dev.clock.now(), "offset_seconds": dev.clock.offset().num_seconds()}))
}

/// Jumps from due time to due time (the earliest email in the due index),
/// running a tick and the send queue at each, then to the target.
async fn advance(State(dev): State<DevControls>, body: axum::body::Bytes) -> Response {
    let input: Advance = match serde_json::from_slice(&body) {
        Ok(input) => input,
        Err(err) => return problem(StatusCode::UNPROCESSABLE_ENTITY, err.to_string(), Some("/seconds")),
    };
    if !(0..=MAX_ADVANCE_SECONDS).contains(&input.seconds) {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("seconds must be 0–{MAX_ADVANCE_SECONDS}"),
            Some("/seconds"),
        );
    }
    let _ticking = dev.ticking.lock().await;
    let target = dev.clock.now() + TimeDelta::seconds(input.seconds);
    // Sends go as soon as a tick queues them: real seconds are not the clock's seconds here.
    let mut scheduler = dev.functions.scheduler.clone();
    scheduler.delays = Delays::None;
    let mut ticks = 0;
    let mut sends = 0;
    loop {
        let now = dev.clock.now();
        let next = match sending::earliest_due(dev.functions.store.as_ref()).await {
            Ok(next) => next,
            Err(err) => return problem(StatusCode::INTERNAL_SERVER_ERROR, err.to_string(), None),
        };
        let Some(due) = next.filter(|due| *due <= target) else {
            break;
        };
        if ticks >= MAX_TICKS {
            break;
        }
        // A tick hands out what falls due within its coming minute.
        let at = due - sending::LOOKAHEAD + TimeDelta::seconds(1);
        if at > now {
            dev.clock.advance(at - now);
        }
        match run_minute(&dev, &scheduler).await {
            Ok(handled) => sends += handled,
            Err(err) => return problem(StatusCode::INTERNAL_SERVER_ERROR, err, None),
        }
        ticks += 1;
    }
    let now = dev.clock.now();
    if target > now {
        dev.clock.advance(target - now);
    }
    match run_minute(&dev, &scheduler).await {
        Ok(handled) => sends += handled,
        Err(err) => return problem(StatusCode::INTERNAL_SERVER_ERROR, err, None),
    }
    Json(Advanced {
        now: dev.clock.now(),
        offset_seconds: dev.clock.offset().num_seconds(),
        ticks: ticks + 1,
        sends_handled: sends,
    })
    .into_response()
}

async fn run_minute(dev: &DevControls, scheduler: &scheduler::Scheduler) -> Result<usize, String> {
    dev.functions
        .run_minute_with(scheduler)
        .await
        .map_err(|e| e.to_string())
}

#[derive(Serialize)]
pub struct OutboxItem {
    pub id: String,
    pub source: String,
    pub destinations: Vec<String>,
    /// From the message's Date header (the emulator keeps no time).
    pub sent_at: Option<DateTime<Utc>>,
    pub raw: String,
}

/// The messages the emulator's SES accepted, newest first.
pub async fn read_outbox(http: &reqwest::Client, emulator: &str) -> Result<Vec<OutboxItem>, String> {
    let data = emulator_data(http, emulator).await?;
    let messages = data["ses"]["RawMessage"].as_array().cloned().unwrap_or_default();
    let mut items: Vec<OutboxItem> = messages
        .into_iter()
        .map(|m| {
            let raw = m["raw_data"].as_str().unwrap_or_default().to_string();
            OutboxItem {
                id: m["id"].as_str().unwrap_or_default().to_string(),
                source: m["source"].as_str().unwrap_or_default().to_string(),
                destinations: bare_addresses(&m["destinations"]),
                sent_at: date_header(&raw),
                raw,
            }
        })
        .collect();
    items.reverse();
    Ok(items)
}

/// The emulator's model dump. It walks every model of every service, so a
/// dump taken while other requests change models can fail; it is read again.
async fn emulator_data(http: &reqwest::Client, emulator: &str) -> Result<Value, String> {
    let mut last_error = String::new();
    for attempt in 0..6 {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
        }
        let response = match http
            .get(format!("{emulator}/moto-api/data.json?service=ses"))
            .send()
            .await
        {
            Ok(response) => response,
            Err(err) => {
                last_error = format!("the emulator: {err}");
                continue;
            }
        };
        match response.json::<Value>().await {
            Ok(data) => return Ok(data),
            Err(err) => last_error = format!("the emulator's data: {err}"),
        }
    }
    Err(last_error)
}

/// The emulator adds the To header's entries (`Name <address>`) to the
/// addresses SES was given; SES itself sends to the given ones only.
fn bare_addresses(value: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for entry in value.as_array().into_iter().flatten().filter_map(Value::as_str) {
        let address = match (entry.rfind('<'), entry.rfind('>')) {
            (Some(open), Some(close)) if open < close => &entry[open + 1..close],
            _ => entry,
        };
        let address = address.trim().to_string();
        if !out.iter().any(|a| a.eq_ignore_ascii_case(&address)) {
            out.push(address);
        }
    }
    out
}

fn date_header(raw: &str) -> Option<DateTime<Utc>> {
    raw.lines()
        .take_while(|line| !line.is_empty())
        .find_map(|line| line.strip_prefix("Date:").or_else(|| line.strip_prefix("date:")))
        .and_then(|value| DateTime::parse_from_rfc2822(value.trim()).ok())
        .map(|at| at.to_utc())
}

async fn outbox(State(dev): State<DevControls>) -> Response {
    match read_outbox(&dev.http, &dev.emulator_endpoint).await {
        Ok(items) => Json(json!({ "items": items })).into_response(),
        Err(err) => problem(StatusCode::BAD_GATEWAY, err, None),
    }
}

/// A bad simulate request: what is wrong, and the field.
struct Invalid(String, String);

impl Invalid {
    fn response(self) -> Response {
        problem(StatusCode::UNPROCESSABLE_ENTITY, self.0, Some(&self.1))
    }
}

/// The body of a simulate request: an object with exactly `fields`, each a string.
fn simulate_body<const N: usize>(body: &[u8], fields: [&str; N]) -> Result<[String; N], Invalid> {
    let invalid = |detail: String, field: &str| Invalid(detail, field.to_string());
    let value: Value =
        serde_json::from_slice(body).map_err(|err| invalid(format!("the body is not JSON: {err}"), "/"))?;
    let Some(object) = value.as_object() else {
        return Err(invalid("the body is a JSON object".into(), "/"));
    };
    if let Some(unknown) = object.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(invalid(format!("unknown field {unknown}"), &format!("/{unknown}")));
    }
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for (slot, field) in out.iter_mut().zip(fields) {
        match object.get(field).and_then(Value::as_str) {
            Some(text) if !text.trim().is_empty() => *slot = text.trim().to_string(),
            _ => return Err(invalid(format!("{field} is required (a string)"), &format!("/{field}"))),
        }
    }
    if out[0].parse::<cc_domain::ids::EmailId>().is_err() {
        return Err(invalid("email_id is not an email id".into(), "/email_id"));
    }
    Ok(out)
}

fn simulated(result: Result<DateTime<Utc>, SimulateError>, email_id: &str, kind: &str) -> Response {
    match result {
        Ok(at) => (
            StatusCode::ACCEPTED,
            Json(json!({"email_id": email_id, "event_type": kind, "timestamp": at})),
        )
            .into_response(),
        Err(err @ SimulateError::UnknownEmail) => problem(StatusCode::NOT_FOUND, err.to_string(), Some("/email_id")),
        Err(err @ (SimulateError::NotTracked(_) | SimulateError::NotDelivered)) => {
            problem(StatusCode::CONFLICT, err.to_string(), None)
        }
        Err(err @ SimulateError::NotALink(_)) => {
            problem(StatusCode::UNPROCESSABLE_ENTITY, err.to_string(), Some("/link"))
        }
        Err(err @ SimulateError::Publish(_)) => problem(StatusCode::BAD_GATEWAY, err.to_string(), None),
    }
}

/// A person opens the email: SES's Open event, a minute after delivery.
async fn simulate_open(State(simulator): State<Arc<SimulatedSes>>, body: axum::body::Bytes) -> Response {
    let [email_id] = match simulate_body(&body, ["email_id"]) {
        Ok(fields) => fields,
        Err(invalid) => return invalid.response(),
    };
    simulated(simulator.open(&email_id).await, &email_id, "Open")
}

/// A person clicks one of the email's links: SES's Click event.
async fn simulate_click(State(simulator): State<Arc<SimulatedSes>>, body: axum::body::Bytes) -> Response {
    let [email_id, link] = match simulate_body(&body, ["email_id", "link"]) {
        Ok(fields) => fields,
        Err(invalid) => return invalid.response(),
    };
    let web = reqwest::Url::parse(&link)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some());
    if web.is_none() {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "link is an http(s) URL of one of the email's links",
            Some("/link"),
        );
    }
    simulated(simulator.click(&email_id, &link).await, &email_id, "Click")
}
