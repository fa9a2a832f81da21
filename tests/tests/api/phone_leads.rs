//! Leads without an email: known in their campaign by their phone in E.164,
//! through CSV imports, the leads API and a launch (which skips them).

use integration_tests::{TestApp, fields};
use serde_json::{Value, json};

/// A campaign whose national numbers are read as German ones.
async fn german_campaign(app: &TestApp, key: &str) -> String {
    let answer = app
        .post(
            "/v1/campaigns",
            key,
            json!({"name": "Calls", "settings": {"default_country": "DE"}}),
        )
        .await;
    answer.ok(201);
    answer.id()
}

fn by_phone<'a>(leads: &'a [Value], phone: &str) -> Vec<&'a Value> {
    leads.iter().filter(|l| l["phone"] == phone).collect()
}

/// Rows 2–4 are one number in three formats (international with spaces, national read in the
/// campaign's country, national read in the row's own country); row 5 has an email, so its
/// phone is no repeat; row 6 has neither; row 7's number is not valid; row 8 is Austrian.
const PHONE_CSV: &str = "Name,Mobile,Email,Country\n\
Ann,+49 151 1234 5678,,\n\
Ann again,015112345678,,\n\
Ann thrice,0151 12345678,,DE\n\
Bob,+49 151 1234 5678,bob@acme-phones.com,\n\
Nobody,,,DE\n\
Bad,12345,,\n\
Cem,0664 1234567,,AT\n";

#[tokio::test]
async fn a_csv_with_phone_only_rows_deduplicates_them_by_e164() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Phones").await;
    let key = &tenant.admin_key;
    let campaign = german_campaign(&app, key).await;
    let import = app.import_csv(key, &campaign, PHONE_CSV, "").await;
    import.ok(202);
    let import = import.id();
    app.deliver_lead_batches().await;
    let job = app.get(&format!("/v1/imports/{import}"), key).await.ok(200).clone();
    assert_eq!(job["status"], "completed");
    assert_eq!(
        (&job["total_rows"], &job["created"], &job["duplicates"], &job["invalid"]),
        (&json!(7), &json!(3), &json!(2), &json!(2)),
        "{job}"
    );
    let (_, _, errors) = app.get_text(&format!("/v1/imports/{import}/errors"), key).await;
    let lines: Vec<&str> = errors.lines().collect();
    assert_eq!(lines[0], "row,reason");
    assert!(
        lines[1].starts_with("3,duplicate: row 2 already has this phone"),
        "{errors}"
    );
    assert!(
        lines[2].starts_with("4,duplicate: row 2 already has this phone"),
        "{errors}"
    );
    assert!(
        lines[3].starts_with("6,") && lines[3].contains("email or a phone"),
        "{errors}"
    );
    assert!(lines[4].starts_with("7,") && lines[4].contains("phone"), "{errors}");

    let leads = app
        .collect_all(&format!("/v1/campaigns/{campaign}/leads"), key, 50)
        .await;
    assert_eq!(leads.len(), 3, "{leads:?}");
    let ann = by_phone(&leads, "+4915112345678");
    assert_eq!(ann.len(), 2, "Ann by phone, Bob by email with the same phone");
    let ann = ann.iter().find(|l| l["email"].is_null()).expect("Ann has no email");
    assert_eq!(ann["first_name"], "Ann");
    assert_eq!(ann["organization_id"], Value::Null);
    assert!(
        ann["score_reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains("no email address")),
        "{ann}"
    );
    assert_eq!(by_phone(&leads, "+436641234567")[0]["email"], Value::Null);
    // A phone-only lead reads back on its own; it is in no email's index.
    let read = app
        .get(&format!("/v1/leads/{}", ann["id"].as_str().unwrap()), key)
        .await;
    assert_eq!(read.ok(200)["email"], Value::Null);
    let found = app.get("/v1/leads?email=bob@acme-phones.com", key).await;
    assert_eq!(found.ok(200)["items"].as_array().unwrap().len(), 1);

    // Importing the same numbers again finds every one of them.
    let again = app
        .import_csv(key, &campaign, "Phone\n+4915112345678\n+43 664 1234567\n", "")
        .await;
    let again = again.id();
    app.deliver_lead_batches().await;
    let job = app.get(&format!("/v1/imports/{again}"), key).await.ok(200).clone();
    assert_eq!((&job["created"], &job["duplicates"]), (&json!(0), &json!(2)), "{job}");
}

#[tokio::test]
async fn the_leads_api_takes_phone_only_leads_once_per_campaign() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Phones").await;
    let key = &tenant.admin_key;
    let campaign = german_campaign(&app, key).await;

    let created = app
        .add_leads(
            key,
            &campaign,
            json!({"phone": "+49 151 1234 5678", "first_name": "Ann"}),
        )
        .await;
    let ann = created.ok(201).clone();
    assert_eq!((&ann["email"], &ann["phone"]), (&Value::Null, &json!("+4915112345678")));
    let ann_id = ann["id"].as_str().unwrap().to_string();
    // The national format in the campaign's country is the same lead.
    let repeat = app.add_leads(key, &campaign, json!({"phone": "015112345678"})).await;
    assert_eq!(repeat.problem(409)["existing_id"], ann_id.as_str());
    // Neither an email nor a phone: 422 naming the email.
    let neither = app.add_leads(key, &campaign, json!({"first_name": "Nobody"})).await;
    let problem = neither.problem(422);
    assert_eq!(fields(problem), ["/email"]);

    let batch = app
        .add_leads(
            key,
            &campaign,
            json!({"leads": [
                {"phone": "0151 12345678"},
                {"phone": "+49 30 901820", "first_name": "Berlin"},
                {"phone": "030 901820"},
                {"first_name": "Nobody"},
                {"email": "ann@acme-phones.com", "phone": "+4915112345678"}
            ]}),
        )
        .await;
    let body = batch.ok(200);
    let statuses: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["duplicate", "created", "duplicate", "invalid", "created"]);
    assert_eq!(body["results"][0]["id"], ann_id.as_str());
    assert_eq!(body["results"][2]["id"], body["results"][1]["id"]);
    assert_eq!(body["results"][3]["errors"][0]["field"], "/leads/3/email");

    // The same number is welcome in another campaign and in another tenant.
    let other = german_campaign(&app, key).await;
    app.add_leads(key, &other, json!({"phone": "+4915112345678"}))
        .await
        .ok(201);
    let stranger = app.create_tenant("Elsewhere").await;
    let theirs = german_campaign(&app, &stranger.admin_key).await;
    app.add_leads(&stranger.admin_key, &theirs, json!({"phone": "+4915112345678"}))
        .await
        .ok(201);

    // Ann gains an email: her number is free for a newcomer, her address is hers.
    let patched = app
        .patch(
            &format!("/v1/leads/{ann_id}"),
            key,
            json!({"email": "ann.lee@acme-phones.com"}),
        )
        .await;
    assert_eq!(patched.ok(200)["email"], "ann.lee@acme-phones.com");
    let newcomer = app.add_leads(key, &campaign, json!({"phone": "+4915112345678"})).await;
    let newcomer_id = newcomer.ok(201)["id"].as_str().unwrap().to_string();
    assert_ne!(newcomer_id, ann_id);
    let by_address = app
        .add_leads(key, &campaign, json!({"email": "ANN.LEE@acme-phones.com"}))
        .await;
    assert_eq!(by_address.problem(409)["existing_id"], ann_id.as_str());
    // Taking the newcomer's number back while keeping no email is refused: it is the newcomer's now.
    let clash = app
        .patch(&format!("/v1/leads/{ann_id}"), key, json!({"email": null}))
        .await;
    assert_eq!(clash.problem(409)["existing_id"], newcomer_id.as_str());
    // Clearing the last way to reach a lead is refused, naming the field.
    let cleared = app
        .patch(&format!("/v1/leads/{newcomer_id}"), key, json!({"phone": null}))
        .await;
    assert_eq!(fields(cleared.problem(422)), ["/phone"]);
    // Deleting the newcomer frees the number again.
    app.delete(&format!("/v1/leads/{newcomer_id}"), key).await.ok(204);
    let again = app.add_leads(key, &campaign, json!({"phone": "015112345678"})).await;
    again.ok(201);
}

#[tokio::test]
async fn a_launch_skips_phone_only_leads_and_says_why() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Phones").await;
    let key = &tenant.admin_key;
    let campaign = german_campaign(&app, key).await;
    app.make_launchable(key, &campaign).await;
    let added = app
        .add_leads(
            key,
            &campaign,
            json!([{"email": "ann@prospect.io", "first_name": "Ann"}, {"phone": "+4915112345678", "first_name": "Phil"}]),
        )
        .await;
    let phone_lead = added.ok(200)["results"][1]["id"].as_str().unwrap().to_string();

    let dry_run = app
        .post(
            &format!("/v1/campaigns/{campaign}/activate?dry_run=true"),
            key,
            json!({}),
        )
        .await;
    let report = dry_run.ok(200).clone();
    assert_eq!(report["ready"], true, "{report}");
    assert_ne!(report["preview"]["lead_id"], phone_lead.as_str());

    let launched = app
        .post(&format!("/v1/campaigns/{campaign}/activate"), key, json!({}))
        .await;
    let body = launched.ok(200);
    assert_eq!(body["status"], "active");
    let report = &body["launch"];
    assert_eq!(report["scheduled"], 1, "{report}");
    assert_eq!(report["skipped_leads"], 1, "{report}");
    assert_eq!(report["skipped"], json!({"stopped": 0, "no_email": 1}), "{report}");
    let emails = app.get(&format!("/v1/leads/{phone_lead}/emails"), key).await;
    assert!(emails.ok(200)["items"].as_array().unwrap().is_empty());
    let phil = app.get(&format!("/v1/leads/{phone_lead}"), key).await;
    assert_eq!(phil.ok(200)["status"], "new");
}
