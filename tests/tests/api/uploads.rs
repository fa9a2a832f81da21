//! Large imports: a presigned S3 upload URL, S3's notification on the
//! import-upload queue, and the ingest function starting the job.

use integration_tests::TestApp;
use serde_json::{Value, json};

async fn upload(app: &TestApp, url: &str, body: &'static [u8]) {
    let response = app
        .client
        .put(url)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .expect("the upload is sent");
    assert!(response.status().is_success(), "upload answered {}", response.status());
}

async fn job(app: &TestApp, key: &str, id: &str) -> Value {
    app.get(&format!("/v1/imports/{id}"), key).await.ok(200).clone()
}

fn counts(job: &Value) -> (Option<u64>, Option<u64>, Option<u64>, Option<u64>) {
    (
        job["total_rows"].as_u64(),
        job["created"].as_u64(),
        job["duplicates"].as_u64(),
        job["invalid"].as_u64(),
    )
}

#[tokio::test]
async fn a_file_put_to_the_upload_url_is_imported_once() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Q1").await;
    let ticket = app
        .post(
            &format!("/v1/campaigns/{campaign}/imports/upload-url"),
            key,
            json!({"mapping": {"Contact": "email", "Who": "first_name"}}),
        )
        .await;
    let ticket = ticket.ok(201).clone();
    assert_eq!(ticket["status"], "awaiting_upload");
    assert_eq!(ticket["method"], "PUT");
    let id = ticket["id"].as_str().unwrap().to_string();
    assert_eq!(job(&app, key, &id).await["status"], "awaiting_upload");

    upload(
        &app,
        ticket["upload_url"].as_str().unwrap(),
        b"Contact,Who,Plan\nann@acme.com,Ann,pro\nbob@globex.com,Bob,free\nANN@acme.com,Again,x\nnot-an-email,Nope,y\n",
    )
    .await;
    // S3 also sent its test message when the notification was configured.
    assert!(app.deliver_upload_notifications().await >= 1);
    assert_eq!(job(&app, key, &id).await["status"], "queued");
    app.deliver_lead_batches().await;
    let done = job(&app, key, &id).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(counts(&done), (Some(4), Some(2), Some(1), Some(1)));
    let leads = app
        .collect_all(&format!("/v1/campaigns/{campaign}/leads"), key, 100)
        .await;
    let ann = leads
        .iter()
        .find(|l| l["email"] == "ann@acme.com")
        .expect("ann was imported");
    assert_eq!(ann["first_name"], "Ann");
    assert_eq!(ann["custom_fields"]["Plan"], "pro");

    // The file is removed once its rows are queued.
    let s3 = cc_store::S3Files::client(&app.config);
    let listed = s3
        .list_objects_v2()
        .bucket(app.stack.bucket("ImportUploadBucket").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(0));

    // A repeated notification for the same object changes nothing.
    let repeated = json!({"Records": [{
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": app.stack.bucket("ImportUploadBucket").unwrap()},
               "object": {"key": format!("uploads/{}/{id}.csv", tenant.id), "size": 10}}
    }]});
    app.sqs
        .send_message()
        .queue_url(app.stack.queue_url("ImportUploadQueue").unwrap())
        .message_body(repeated.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(app.deliver_upload_notifications().await, 1);
    assert_eq!(app.deliver_lead_batches().await, 0, "no batch queued twice");
    assert_eq!(counts(&job(&app, key, &id).await), counts(&done));
}

#[tokio::test]
async fn an_upload_that_is_not_csv_fails_its_job_with_the_reason() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Q1").await;
    let ticket = app
        .post(&format!("/v1/campaigns/{campaign}/imports/upload-url"), key, json!({}))
        .await;
    let ticket = ticket.ok(201).clone();
    upload(
        &app,
        ticket["upload_url"].as_str().unwrap(),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00binary",
    )
    .await;
    assert!(app.deliver_upload_notifications().await >= 1);
    let failed = job(&app, key, ticket["id"].as_str().unwrap()).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"].as_str().unwrap().contains("not CSV"), "{failed}");
    assert_eq!(app.deliver_lead_batches().await, 0);
}

#[tokio::test]
async fn upload_urls_check_the_campaign_the_caller_and_the_mapping() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("A").await;
    let b = app.create_tenant("B").await;
    let campaign = app.create_campaign(&a.admin_key, "Q1").await;
    let path = format!("/v1/campaigns/{campaign}/imports/upload-url");
    app.post(&path, &b.admin_key, json!({})).await.problem(404);
    let viewer = app.create_key(&a, "viewer").await;
    app.post(&path, &viewer, json!({})).await.problem(403);
    let bad = app
        .post(&path, &a.admin_key, json!({"mapping": {"Contact": "e-mail-address"}}))
        .await;
    assert_eq!(bad.problem(400)["errors"][0]["field"], "mapping");
    let ticket = app.post(&path, &a.admin_key, json!({})).await;
    let id = ticket.ok(201)["id"].as_str().unwrap().to_string();
    app.get(&format!("/v1/imports/{id}"), &b.admin_key).await.problem(404);
}
