use integration_tests::TestApp;
use serde_json::{Value, json};
use std::collections::HashSet;

/// A BOM, semicolons, a quoted newline, mixed-case headers, 3 invalid emails and 2 duplicates.
const MESSY_CSV: &str = "\u{feff}E-MAIL;first NAME;Company Name;Plan\r\n\
ann@acme.com;Ann;Acme;pro\r\n\
not-an-email;Broken;X;\r\n\
bob@globex.com;Bob;\"Globex\r\nLabs\";free\r\n\
\r\n\
ANN@Acme.com;Ann again;Acme;pro\r\n\
cat@@initech.com;Cat;Initech;\r\n\
dan@initech.com;Dan;Initech;\r\n\
bob@GLOBEX.com;Bob again;Globex;\r\n\
eve@;Eve;;\r\n\
fay@umbrella.io;Fay;Umbrella;trial\r\n";

async fn wait_for_completion(app: &TestApp, key: &str, import: &str) -> Value {
    app.deliver_lead_batches().await;
    let job = app.get(&format!("/v1/imports/{import}"), key).await;
    job.ok(200).clone()
}

#[tokio::test]
async fn a_messy_csv_imports_exactly_the_valid_unique_rows() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Q1").await;
    let started = app.import_csv(key, &campaign, MESSY_CSV, "").await;
    let body = started.ok(202).clone();
    assert_eq!(body["status"], "queued");
    let import = started.id();

    let job = wait_for_completion(&app, key, &import).await;
    assert_eq!(job["status"], "completed");
    assert_eq!(
        (job["total_rows"].as_u64(), job["created"].as_u64()),
        (Some(9), Some(4))
    );
    assert_eq!(
        (job["duplicates"].as_u64(), job["invalid"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(job["progress"], 100);
    assert!(job["started_at"].is_string() && job["finished_at"].is_string());

    let leads = app
        .collect_all(&format!("/v1/campaigns/{campaign}/leads"), key, 100)
        .await;
    let mut emails: Vec<_> = leads.iter().map(|l| l["email"].as_str().unwrap().to_string()).collect();
    emails.sort();
    assert_eq!(
        emails,
        ["ann@acme.com", "bob@globex.com", "dan@initech.com", "fay@umbrella.io"]
    );
    let bob = leads.iter().find(|l| l["email"] == "bob@globex.com").unwrap();
    assert_eq!(bob["company_name"], "Globex\r\nLabs");
    assert_eq!(bob["custom_fields"]["Plan"], "free");
    assert_eq!(bob["first_name"], "Bob");

    let (status, content_type, errors) = app.get_text(&format!("/v1/imports/{import}/errors"), key).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/csv"));
    let mut reader = csv_rows(&errors);
    assert_eq!(reader.remove(0), ["row", "reason"]);
    let rows: Vec<&str> = reader.iter().map(|r| r[0].as_str()).collect();
    // Header is row 1; the quoted newline keeps Bob on row 4; the blank line is not a row.
    assert_eq!(rows, ["3", "5", "6", "8", "9"]);
    assert!(reader[1][1].contains("duplicate"), "{reader:?}");
    assert!(reader[0][1].contains("email"), "{reader:?}");
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|line| {
            let (row, reason) = line.split_once(',').unwrap();
            vec![row.to_string(), reason.trim_matches('"').to_string()]
        })
        .collect()
}

#[tokio::test]
async fn a_redelivered_batch_changes_nothing() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Q1").await;
    let csv = "email,first_name\na@x.io,A\nb@x.io,B\nc@x.io,C\n";
    let import = app.import_csv(key, &campaign, csv, "").await.id();

    // Receive the batch and hand the same event to the function twice, as an
    // at-least-once queue may; then let the driver deliver it a third time.
    let message = app.take_lead_batch_message().await;
    let mut event = aws_lambda_events::sqs::SqsEvent::default();
    let mut record = aws_lambda_events::sqs::SqsMessage::default();
    record.message_id = message.message_id.clone();
    record.body = message.body.clone();
    event.records.push(record);
    for _ in 0..2 {
        let response = app.ingest.handle(event.clone()).await;
        assert!(response.batch_item_failures.is_empty());
    }
    app.return_lead_batch_message(&message).await;
    assert_eq!(app.deliver_lead_batches().await, 1);

    let job = app.get(&format!("/v1/imports/{import}"), key).await;
    let job = job.ok(200);
    assert_eq!(
        (
            job["created"].as_u64(),
            job["duplicates"].as_u64(),
            job["invalid"].as_u64()
        ),
        (Some(3), Some(0), Some(0))
    );
    let leads = app
        .collect_all(&format!("/v1/campaigns/{campaign}/leads"), key, 100)
        .await;
    assert_eq!(leads.len(), 3);
}

#[tokio::test]
async fn a_crash_half_way_through_a_batch_is_completed_by_the_retry() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Q1").await;
    let rows: String = (0..40).map(|n| format!("lead{n}@x.io,Lead {n}\n")).collect();
    let import = app
        .import_csv(key, &campaign, &format!("email,name\n{rows}not-an-email,Bad\n"), "")
        .await
        .id();

    // The state a crash leaves: half of the batch's leads written, the job not
    // told, the message still on the queue.
    let message = app.take_lead_batch_message().await;
    let batch: cc_domain::import::LeadBatch = serde_json::from_str(message.body().unwrap()).unwrap();
    let (leads, _) = cc_domain::operations::imports::leads_of_batch(batch, chrono::Utc::now());
    let mut half: Vec<_> = leads.into_iter().take(20).map(|(_, lead)| lead).collect();
    use cc_domain::ports::LeadStore;
    app.store.insert_leads(&mut half).await.unwrap();
    app.return_lead_batch_message(&message).await;

    assert_eq!(app.deliver_lead_batches().await, 1);
    let job = app.get(&format!("/v1/imports/{import}"), key).await;
    let job = job.ok(200);
    assert_eq!(job["status"], "completed");
    assert_eq!(
        (
            job["created"].as_u64(),
            job["duplicates"].as_u64(),
            job["invalid"].as_u64()
        ),
        (Some(40), Some(0), Some(1))
    );
    let leads = app
        .collect_all(&format!("/v1/campaigns/{campaign}/leads"), key, 500)
        .await;
    let emails: HashSet<_> = leads.iter().map(|l| l["email"].as_str().unwrap().to_string()).collect();
    assert_eq!((leads.len(), emails.len()), (40, 40), "no lead twice");
}

#[tokio::test]
async fn rows_already_in_the_campaign_are_duplicates_and_mapping_is_honoured() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Q1").await;
    let existing = app
        .add_leads(key, &campaign, json!({"email": "ann@acme.com"}))
        .await
        .id();
    let mapping = urlencode(r#"{"Contact": "email", "Who": "first_name", "Junk": "ignore"}"#);
    let csv = "Contact,Who,Junk\nANN@acme.com,Ann,x\nbob@acme.com,Bob,y\n";
    let import = app
        .import_csv(key, &campaign, csv, &format!("?mapping={mapping}"))
        .await
        .id();
    let job = wait_for_completion(&app, key, &import).await;
    assert_eq!(
        (job["created"].as_u64(), job["duplicates"].as_u64()),
        (Some(1), Some(1))
    );
    let (_, _, errors) = app.get_text(&format!("/v1/imports/{import}/errors"), key).await;
    assert!(
        errors.contains(&existing),
        "the duplicate names the lead that has the address: {errors}"
    );
    let bob = app.get("/v1/leads?email=bob@acme.com", key).await;
    let bob = &bob.ok(200)["items"][0];
    assert_eq!(bob["first_name"], "Bob");
    assert!(bob["custom_fields"].get("Junk").is_none());
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn what_is_not_an_importable_csv_is_refused_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Q1").await;
    let not_csv = app.import_csv(key, &campaign, "{\"leads\": []}", "").await;
    assert!(not_csv.problem(400)["detail"].as_str().unwrap().contains("email"));
    app.import_csv(key, &campaign, "", "").await.problem(400);
    let bad_mapping = app
        .import_csv(
            key,
            &campaign,
            "email\na@x.io\n",
            "?mapping=%7B%22nope%22%3A%22email%22%7D",
        )
        .await;
    assert_eq!(bad_mapping.problem(400)["errors"][0]["field"], "mapping");
    let json = app.add_leads(key, &campaign, json!([])).await;
    json.problem(422);
    let response = app
        .client
        .post(format!("{}/v1/campaigns/{campaign}/imports", app.base_url))
        .bearer_auth(key)
        .json(&json!({"email": "a@x.io"}))
        .send()
        .await
        .unwrap();
    TestApp::answer(response).await.problem(415);
    assert_eq!(app.deliver_lead_batches().await, 0, "nothing was queued");
}

#[tokio::test]
async fn an_import_of_tenant_a_is_404_for_tenant_b() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("A").await;
    let b = app.create_tenant("B").await;
    let campaign = app.create_campaign(&a.admin_key, "Q1").await;
    let import = app
        .import_csv(&a.admin_key, &campaign, "email\na@x.io\n", "")
        .await
        .id();
    app.get(&format!("/v1/imports/{import}"), &b.admin_key)
        .await
        .problem(404);
    let (status, _, _) = app
        .get_text(&format!("/v1/imports/{import}/errors"), &b.admin_key)
        .await;
    assert_eq!(status, 404);
    app.import_csv(&b.admin_key, &campaign, "email\nb@x.io\n", "")
        .await
        .problem(404);
    let viewer = app.create_key(&a, "viewer").await;
    app.import_csv(&viewer, &campaign, "email\nc@x.io\n", "")
        .await
        .problem(403);
    app.get(&format!("/v1/imports/{import}"), &viewer).await.ok(200);
}

#[tokio::test]
async fn an_undecodable_record_is_parked_on_the_dead_letter_queue() {
    let app = TestApp::spawn().await;
    let (url, _) = app.lead_batch_queue();
    app.sqs
        .send_message()
        .queue_url(&url)
        .message_body("this is not a lead batch")
        .send()
        .await
        .unwrap();
    assert_eq!(app.deliver_lead_batches().await, 1, "handled once, not retried");
    let dlq = app.stack.queue_url("LeadBatchDeadLetterQueue").unwrap();
    let parked = app
        .sqs
        .receive_message()
        .queue_url(dlq)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    let message = parked
        .messages()
        .first()
        .expect("the record is on the dead-letter queue");
    assert_eq!(message.body(), Some("this is not a lead batch"));
    assert!(
        message.message_attributes().unwrap()["reason"]
            .string_value()
            .unwrap()
            .contains("not a lead batch")
    );
}

#[tokio::test]
async fn imported_leads_join_the_organisation_of_their_business_domain() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Q1").await;
    let existing = app.create_organization(key, "globex.com").await;
    let csv = "email,company,title\nann@acme.com,Acme Inc,CEO\nbob@acme.com,Acme Inc,CTO\ncat@gmail.com,Cat Ltd,Owner\ndan@globex.com,Globex,VP Sales\n";
    let import = app.import_csv(key, &campaign, csv, "").await.id();
    assert_eq!(wait_for_completion(&app, key, &import).await["created"], 4);

    let acme = app.get("/v1/organizations?email_domain=acme.com", key).await;
    let acme = acme.ok(200)["items"][0].clone();
    assert_eq!(acme["name"], "Acme Inc");
    assert!(
        app.get("/v1/organizations?email_domain=gmail.com", key).await.ok(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let leads = app
        .collect_all(&format!("/v1/campaigns/{campaign}/leads"), key, 100)
        .await;
    let org_of = |email: &str| leads.iter().find(|l| l["email"] == email).unwrap()["organization_id"].clone();
    assert_eq!(org_of("ann@acme.com"), acme["id"]);
    assert_eq!(org_of("bob@acme.com"), acme["id"]);
    assert_eq!(org_of("dan@globex.com"), existing.as_str());
    assert!(org_of("cat@gmail.com").is_null());
    // Scores and flags came with them.
    let cat = leads.iter().find(|l| l["email"] == "cat@gmail.com").unwrap();
    assert_eq!(cat["email_flags"]["free_mail"], true);
    assert!(leads.iter().all(|l| l["score"].is_u64() && l["score_tier"].is_string()));

    // Another import reuses the organisation.
    let again = app.import_csv(key, &campaign, "email\neve@acme.com\n", "").await.id();
    wait_for_completion(&app, key, &again).await;
    let all = app.collect_all("/v1/organizations", key, 100).await;
    assert_eq!(all.len(), 2, "acme.com and globex.com, once each");
}
