//! The integration-test harness: one emulator per test process (started on a
//! free loopback port on first use, gone when the process exits), and for each
//! test its own tables provisioned from template.yaml, its own API server on a
//! free port, and its own operator key. Tests therefore never share data.

use aws_config::SdkConfig;
use cc_domain::api_key::OperatorKey;
use cc_domain::clock::ManualClock;
use cc_domain::unsubscribe::LinkSigner;
use cc_store::DynamoStore;
use devstack::{Emulator, LocalFunctions, LocalStack, Template, Wiring};
use rand::Rng;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};

static EMULATOR: OnceLock<Emulator> = OnceLock::new();

/// The emulator endpoint: `CC_EMULATOR_ENDPOINT` if set, else one started for this process.
pub fn emulator_endpoint() -> String {
    if let Ok(endpoint) = std::env::var("CC_EMULATOR_ENDPOINT") {
        return endpoint;
    }
    EMULATOR
        .get_or_init(|| {
            let log = std::env::temp_dir().join(format!("cc-emulator-{}.log", std::process::id()));
            Emulator::start(&devstack::project_root(), 0, Some(&log), None).expect("the emulator starts")
        })
        .endpoint()
        .to_string()
}

pub fn unique_prefix() -> String {
    format!("t{:08x}-", rand::rng().random::<u32>())
}

pub async fn emulator_config() -> SdkConfig {
    devstack::sdk_config(&emulator_endpoint()).await
}

pub fn project_template() -> Template {
    Template::load(&devstack::project_root().join("template.yaml")).expect("template.yaml loads")
}

fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The `field` of each error of a problem body, in order.
pub fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// A header of a raw message, unfolded.
pub fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next().unwrap_or(raw);
    let mut found: Option<String> = None;
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(value) = found.as_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if found.is_some() {
            break;
        }
        if let Some((key, value)) = line.split_once(':')
            && key.eq_ignore_ascii_case(name)
        {
            found = Some(value.trim().to_string());
        }
    }
    found
}

/// One API server on its own tables.
pub struct TestApp {
    pub base_url: String,
    pub client: reqwest::Client,
    pub operator_key: String,
    pub stack: LocalStack,
    pub config: SdkConfig,
    pub store: Arc<DynamoStore>,
    pub sqs: aws_sdk_sqs::Client,
    /// The ingest function's handler, wired as in Lambda.
    pub ingest: ingest::Ingest,
    /// The scheduler function's tick, wired as in Lambda.
    pub scheduler: scheduler::Scheduler,
    pub functions: LocalFunctions,
    /// The functions' clock: it stands still until a test sets or advances it.
    pub clock: ManualClock,
    /// The key the stack signs unsubscribe links with.
    pub link_key: String,
}

/// A tenant made through the API, with its admin key.
#[derive(Debug, Clone)]
pub struct TestTenant {
    pub id: String,
    pub admin_key: String,
}

/// An HTTP answer: status, content type and JSON body (Null when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

impl Answer {
    pub fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", self.body))
            .to_string()
    }

    /// Asserts a problem+json answer with this status; returns the body.
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.content_type, "application/problem+json", "body: {}", self.body);
        assert_eq!(self.body["status"], status);
        &self.body
    }

    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        &self.body
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        // Server-side warnings and errors show up in a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("warn")
            .try_init();
        let config = emulator_config().await;
        let template = project_template();
        let stack = devstack::provision(&config, &template, &unique_prefix())
            .await
            .expect("provisioning works");
        let operator_key = OperatorKey::generate_secret();
        let link_key = LinkSigner::generate_key();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let address = listener.local_addr().unwrap();
        let clock = ManualClock::at(chrono::Utc::now());
        let wiring = Wiring {
            operator_key: operator_key.clone(),
            link_key: link_key.clone(),
            public_url: format!("http://{address}"),
            clock: Arc::new(clock.clone()),
        };
        let functions = LocalFunctions::wire(&config, &template, &stack, &wiring).expect("the functions wire up");
        // With the SES simulator's opens and clicks, as `make dev` serves them.
        let router = api::router(functions.api.clone())
            .merge(devstack::dev_routes::simulate_routes(functions.ses_simulator.clone()))
            .merge(devstack::dev_routes::inbound_routes(functions.clone()));
        tokio::spawn(async move { axum::serve(listener, router).await.expect("the server runs") });
        Self {
            base_url: format!("http://{address}"),
            client: reqwest::Client::new(),
            operator_key,
            stack,
            config,
            store: functions.store.clone(),
            sqs: functions.sqs.clone(),
            ingest: functions.ingest.clone(),
            scheduler: functions.scheduler.clone(),
            functions,
            clock,
            link_key,
        }
    }

    pub fn lead_batch_queue(&self) -> (String, String) {
        (
            self.stack.queue_url("LeadBatchQueue").expect("provisioned").to_string(),
            self.stack.queue_arn("LeadBatchQueue").expect("provisioned").to_string(),
        )
    }

    /// Runs the ingest function on the lead-batch queue until it is empty
    /// (failed records are retried at once); returns the records handled.
    pub async fn deliver_lead_batches(&self) -> usize {
        self.deliver_to_ingest("LeadBatchQueue").await
    }

    /// Runs the ingest function on the import-upload queue (S3's notifications) until it is empty.
    pub async fn deliver_upload_notifications(&self) -> usize {
        self.deliver_to_ingest("ImportUploadQueue").await
    }

    async fn deliver_to_ingest(&self, queue: &str) -> usize {
        let trigger = self
            .functions
            .ingest_trigger(queue)
            .unwrap_or_else(|| panic!("{queue} triggers the ingest function"))
            .clone();
        let mut handled = 0;
        for _ in 0..10_000 {
            let delivery = self
                .functions
                .deliver_to_ingest(&trigger, 0, 0)
                .await
                .expect("the queue is reachable");
            if delivery.received == 0 {
                return handled;
            }
            handled += delivery.received;
        }
        panic!("{queue} never emptied");
    }

    /// Receives one lead-batch message and keeps it in flight, as a function
    /// that is still working on it (or crashed) would.
    pub async fn take_lead_batch_message(&self) -> aws_sdk_sqs::types::Message {
        let (url, _) = self.lead_batch_queue();
        let received = self
            .sqs
            .receive_message()
            .queue_url(&url)
            .send()
            .await
            .expect("the queue is reachable");
        received.messages().first().expect("a lead batch is queued").clone()
    }

    /// Makes a message taken with `take_lead_batch_message` deliverable again
    /// at once (Lambda would wait for the visibility timeout).
    pub async fn return_lead_batch_message(&self, message: &aws_sdk_sqs::types::Message) {
        let (url, _) = self.lead_batch_queue();
        self.sqs
            .change_message_visibility()
            .queue_url(&url)
            .receipt_handle(message.receipt_handle().expect("a received message"))
            .visibility_timeout(0)
            .send()
            .await
            .expect("the queue is reachable");
    }

    /// Sends a CSV to a campaign's import route.
    pub async fn import_csv(&self, key: &str, campaign: &str, csv: &str, query: &str) -> Answer {
        let response = self
            .client
            .post(format!("{}/v1/campaigns/{campaign}/imports{query}", self.base_url))
            .bearer_auth(key)
            .header("content-type", "text/csv")
            .body(csv.to_string())
            .send()
            .await
            .expect("the request is sent");
        Self::answer(response).await
    }

    /// A plain-text answer (e.g. CSV).
    pub async fn get_text(&self, path: &str, key: &str) -> (StatusCode, String, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base_url))
            .bearer_auth(key)
            .send()
            .await
            .expect("sent");
        let status = response.status();
        let content_type = content_type(&response);
        (status, content_type, response.text().await.expect("a body"))
    }

    /// Sends a request with `key` as a bearer token (or none) and a JSON body (or none).
    pub async fn call(&self, method: Method, path: &str, key: Option<&str>, body: Option<Value>) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.base_url));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::answer(request.send().await.expect("the request is sent")).await
    }

    pub async fn answer(response: reqwest::Response) -> Answer {
        let status = response.status();
        let content_type = content_type(&response);
        let text = response.text().await.expect("a body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Answer {
            status,
            content_type,
            body,
        }
    }

    pub async fn get(&self, path: &str, key: &str) -> Answer {
        self.call(Method::GET, path, Some(key), None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(key), Some(body)).await
    }

    pub async fn patch(&self, path: &str, key: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(key), Some(body)).await
    }

    pub async fn put(&self, path: &str, key: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(key), Some(body)).await
    }

    /// One minute of the deployed stack at the clock's time: a scheduler tick,
    /// then the send queue to the sender until it is empty. The sends handled.
    pub async fn run_minute(&self) -> usize {
        self.functions.run_minute().await.expect("the tick and the sends run")
    }

    /// Delivers the SES events queue to the ses-events function until it is
    /// empty (what the devstack's loop does); the records handled.
    pub async fn deliver_ses_events(&self) -> usize {
        self.functions
            .drain_ses_events()
            .await
            .expect("the SES events queue drains")
    }

    /// `POST /dev/simulate/open`, then the events delivered.
    pub async fn simulate_open(&self, email_id: &str) -> Answer {
        let answer = self
            .call(
                Method::POST,
                "/dev/simulate/open",
                None,
                Some(json!({ "email_id": email_id })),
            )
            .await;
        self.deliver_ses_events().await;
        answer
    }

    /// `POST /dev/simulate/click`, then the events delivered.
    pub async fn simulate_click(&self, email_id: &str, link: &str) -> Answer {
        let answer = self
            .call(
                Method::POST,
                "/dev/simulate/click",
                None,
                Some(json!({ "email_id": email_id, "link": link })),
            )
            .await;
        self.deliver_ses_events().await;
        answer
    }

    /// A raw message received on the reply domain through `POST /dev/inbound`
    /// (S3 + SNS → SQS), then the inbound queue delivered to the function.
    pub async fn receive_mail(&self, raw: &str) -> Answer {
        let response = self
            .client
            .post(format!("{}/dev/inbound", self.base_url))
            .header("content-type", "message/rfc822")
            .body(raw.to_string())
            .send()
            .await
            .expect("the devstack answers");
        let answer = Self::answer(response).await;
        self.functions.drain_inbound().await.expect("the inbound queue drains");
        answer
    }

    /// Sets the clock and runs that minute.
    pub async fn run_at(&self, at: chrono::DateTime<chrono::Utc>) -> usize {
        self.clock.set(at);
        self.run_minute().await
    }

    /// What the emulator's SES accepted from `source`, oldest first (the
    /// emulator's SES is shared by every test: each uses its own sender).
    pub async fn sent_from(&self, source: &str) -> Vec<devstack::dev_routes::OutboxItem> {
        let mut items = devstack::dev_routes::read_outbox(&self.client, &emulator_endpoint())
            .await
            .expect("the outbox reads");
        items.retain(|m| m.source.eq_ignore_ascii_case(source));
        items.reverse();
        items
    }

    /// The item stored under `key` in the main table, as DynamoDB holds it.
    pub async fn stored_item(
        &self,
        key: cc_store::keys::Key,
    ) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        use aws_sdk_dynamodb::types::AttributeValue;
        aws_sdk_dynamodb::Client::new(&self.config)
            .get_item()
            .table_name(self.stack.table("MainTable").expect("a main table"))
            .key("PK", AttributeValue::S(key.pk))
            .key("SK", AttributeValue::S(key.sk))
            .send()
            .await
            .expect("GetItem works")
            .item
    }

    pub async fn delete(&self, path: &str, key: &str) -> Answer {
        self.call(Method::DELETE, path, Some(key), None).await
    }

    pub async fn create_tenant(&self, name: &str) -> TestTenant {
        let answer = self
            .post("/v1/tenants", &self.operator_key.clone(), json!({ "name": name }))
            .await;
        let body = answer.ok(201);
        TestTenant {
            id: answer.id(),
            admin_key: body["admin_api_key"].as_str().unwrap().to_string(),
        }
    }

    /// A key of `role` for `tenant`.
    pub async fn create_key(&self, tenant: &TestTenant, role: &str) -> String {
        let answer = self
            .post(
                "/v1/api-keys",
                &tenant.admin_key,
                json!({"name": format!("{role} key"), "role": role}),
            )
            .await;
        answer.ok(201)["key"].as_str().unwrap().to_string()
    }

    pub async fn create_campaign(&self, key: &str, name: &str) -> String {
        let answer = self.post("/v1/campaigns", key, json!({ "name": name })).await;
        answer.ok(201);
        answer.id()
    }

    /// Gives a campaign what a launch needs: a verified mailbox of its own
    /// and a one-step sequence.
    pub async fn make_launchable(&self, key: &str, campaign: &str) {
        let email = format!("launch-{}@send-test.example.com", uuid::Uuid::new_v4().simple());
        let mailbox = self
            .post("/v1/mailboxes", key, json!({"email": email, "timezone": "UTC"}))
            .await;
        mailbox.ok(201);
        let mailbox = mailbox.id();
        self.get(&format!("/v1/mailboxes/{mailbox}"), key).await.ok(200);
        let template = self
            .post(
                "/v1/templates",
                key,
                json!({"name": "Intro", "subject": "Hello", "text": "Hi {{ first_name | default(\"there\") }}"}),
            )
            .await;
        template.ok(201);
        let template = template.id();
        self.patch(
            &format!("/v1/campaigns/{campaign}"),
            key,
            json!({"settings": {"mailbox_ids": [mailbox]}}),
        )
        .await
        .ok(200);
        self.put(
            &format!("/v1/campaigns/{campaign}/sequence"),
            key,
            json!({"steps": [{"variants": [{"template_id": template}]}]}),
        )
        .await
        .ok(200);
    }

    pub async fn create_organization(&self, key: &str, domain: &str) -> String {
        let answer = self
            .post("/v1/organizations", key, json!({ "email_domain": domain }))
            .await;
        answer.ok(201);
        answer.id()
    }

    pub async fn add_leads(&self, key: &str, campaign: &str, leads: Value) -> Answer {
        self.post(&format!("/v1/campaigns/{campaign}/leads"), key, leads).await
    }

    /// Every item of a listing, following `next_cursor` to the end.
    pub async fn collect_all(&self, path: &str, key: &str, limit: u32) -> Vec<Value> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10_000 {
            let url = match &cursor {
                Some(c) => format!("{path}{separator}limit={limit}&cursor={c}"),
                None => format!("{path}{separator}limit={limit}"),
            };
            let page = self.get(&url, key).await;
            let body = page.ok(200);
            items.extend(body["items"].as_array().unwrap().iter().cloned());
            match body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => return items,
            }
        }
        panic!("the listing never ended");
    }
}

/// A tenant with a verified mailbox and a campaign ready to launch (see `sending_campaign`).
#[derive(Debug, Clone)]
pub struct SendingCampaign {
    pub tenant: String,
    pub key: String,
    pub id: String,
    pub sender: String,
}

impl TestApp {
    /// A tenant with a verified mailbox (UTC, no gap between sends), a two-step
    /// sequence (the second two days later) and a campaign with `settings` on top.
    pub async fn sending_campaign(&self, settings: Value) -> SendingCampaign {
        let app = self;
        let tenant = app.create_tenant("Sending").await;
        let key = tenant.admin_key;
        let tenant = tenant.id;
        let sender = format!("campaign-{}@send-test.example.com", uuid::Uuid::new_v4().simple());
        let mailbox = app
            .post(
                "/v1/mailboxes",
                &key,
                json!({"email": sender, "timezone": "UTC", "daily_cap": 100, "min_gap_seconds": 0}),
            )
            .await;
        mailbox.ok(201);
        let mailbox = mailbox.id();
        app.get(&format!("/v1/mailboxes/{mailbox}"), &key).await.ok(200);
        let template = app
            .post(
                "/v1/templates",
                &key,
                json!({"name": "Intro", "subject": "Hello", "text": "Hi {{ first_name | default(\"there\") }}"}),
            )
            .await;
        template.ok(201);
        let template = template.id();
        let mut all = json!({"mailbox_ids": [mailbox]});
        for (k, v) in settings.as_object().unwrap() {
            all[k] = v.clone();
        }
        let id = app
            .post("/v1/campaigns", &key, json!({"name": "Stats", "settings": all}))
            .await
            .ok(201)["id"]
            .as_str()
            .unwrap()
            .to_string();
        let step = json!({"variants": [{"template_id": template}]});
        let mut second = step.clone();
        second["delay_days"] = json!(2);
        app.put(
            &format!("/v1/campaigns/{id}/sequence"),
            &key,
            json!({"steps": [step, second]}),
        )
        .await
        .ok(200);
        SendingCampaign {
            tenant,
            key,
            id,
            sender,
        }
    }
}
