//! Per-campaign open and click tracking, through the real sender and the
//! local SES simulator: the sender marks links `ses:no-track` and picks the
//! tenant's configuration set without Open (and Click) events when the
//! campaign does not track them; the simulator's opens and clicks happen only
//! where SES would have tracked them and land on the email through
//! SNS → SQS → ses-events.

use cc_domain::tracking::html_links;
use chrono::{DateTime, Utc};
use devstack::ses_simulator::html_part;
use integration_tests::{TestApp, fields};
use serde_json::{Value, json};

pub(crate) fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

pub(crate) const DEMO: &str = "https://acme.example/demo?utm_source=mail&ref=1";

/// A verified mailbox that may send at any hour; its address.
pub(crate) async fn mailbox(app: &TestApp, key: &str) -> (String, String) {
    let email = format!("track-{}@send-test.example.com", uuid::Uuid::new_v4().simple());
    let answer = app
        .post(
            "/v1/mailboxes",
            key,
            json!({"email": email, "daily_cap": 100, "min_gap_seconds": 0, "timezone": "UTC",
                   "window": {"days": ["mon","tue","wed","thu","fri","sat","sun"], "start": "00:00", "end": "23:59"}}),
        )
        .await;
    answer.ok(201);
    let id = answer.id();
    assert_eq!(
        app.get(&format!("/v1/mailboxes/{id}"), key).await.ok(200)["status"],
        "verified"
    );
    (id, email)
}

/// A launched one-step campaign with an HTML template linking to DEMO, mailing `leads`.
pub(crate) async fn launched(app: &TestApp, key: &str, mailbox: &str, settings: Value, leads: &[&str]) -> String {
    let template = app
        .post(
            "/v1/templates",
            key,
            json!({"name": "Intro", "subject": "Hello {{ first_name }}", "text": "Hi {{ first_name }}",
                   "html": format!("<p>Hi {{{{ first_name }}}}, see <a href=\"{}\">our demo</a>.</p>",
                                   DEMO.replace('&', "&amp;"))}),
        )
        .await;
    template.ok(201);
    let mut all = json!({"mailbox_ids": [mailbox]});
    for (k, v) in settings.as_object().unwrap() {
        all[k] = v.clone();
    }
    let campaign = app
        .post("/v1/campaigns", key, json!({"name": "Tracking", "settings": all}))
        .await;
    campaign.ok(201);
    let campaign = campaign.id();
    app.put(
        &format!("/v1/campaigns/{campaign}/sequence"),
        key,
        json!({"steps": [{"variants": [{"template_id": template.id()}]}]}),
    )
    .await
    .ok(200);
    let leads: Vec<Value> = leads.iter().map(|e| json!({"email": e, "first_name": "Pat"})).collect();
    app.add_leads(key, &campaign, json!({ "leads": leads })).await.ok(200);
    app.post(&format!("/v1/campaigns/{campaign}/activate"), key, json!({}))
        .await
        .ok(200);
    campaign
}

/// The campaign's only email (as the API shows it).
async fn only_email(app: &TestApp, key: &str, campaign: &str) -> Value {
    let emails = app.get(&format!("/v1/campaigns/{campaign}/emails"), key).await;
    let items = emails.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "{items:?}");
    items[0].clone()
}

#[tokio::test]
async fn each_tracking_choice_reaches_ses_and_only_tracked_opens_and_clicks_land() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = tenant.admin_key;
    let (mailbox, sender) = mailbox(&app, &key).await;
    app.clock.set(at("2026-03-02T07:00:00Z"));
    // (track_opens, track_clicks) → the set's suffix.
    let choices = [
        (true, true, ""),
        (true, false, ""),
        (false, true, "-noopen"),
        (false, false, "-notrack"),
    ];
    let mut campaigns = Vec::new();
    for (n, (opens, clicks, _)) in choices.iter().enumerate() {
        let lead = format!("lead{n}@prospect.io");
        let settings = json!({"track_opens": opens, "track_clicks": clicks});
        campaigns.push(launched(&app, &key, &mailbox, settings, &[&lead]).await);
    }
    app.run_at(at("2026-03-02T09:00:00Z")).await;
    let sent = app.sent_from(&sender).await;
    assert_eq!(sent.len(), 4);

    for ((opens, clicks, suffix), campaign) in choices.iter().zip(&campaigns) {
        let case = format!("track_opens={opens} track_clicks={clicks}");
        let email = only_email(&app, &key, campaign).await;
        assert_eq!(email["status"], "delivered", "{case}: {email}");
        let email_id = email["id"].as_str().unwrap();

        // What SES was handed: the HTML part's links and the configuration set.
        let raw = &sent.iter().find(|m| m.id == email["ses_message_id"]).unwrap().raw;
        let links = html_links(&html_part(raw.as_bytes()).expect("an HTML part"));
        let demo = links.iter().find(|l| l.href == DEMO).expect("the demo link");
        assert_eq!(demo.tracked, *clicks, "{case}: {links:?}");
        let unsubscribe = links
            .iter()
            .find(|l| l.href.contains("/v1/u/"))
            .expect("the unsubscribe link");
        assert!(!unsubscribe.tracked, "{case}: opting out is never tracked");
        let set = app
            .functions
            .ses_simulator
            .sent(email_id)
            .and_then(|m| m.configuration_set)
            .expect("sent through a configuration set");
        assert!(set.ends_with(&format!("{}{suffix}", tenant.id)), "{case}: {set}");

        // A person opens it, then clicks the demo link, a minute after delivery.
        let open = app.simulate_open(email_id).await;
        if *opens {
            assert_eq!(open.ok(202)["event_type"], "Open", "{case}");
        } else {
            let problem = open.problem(409);
            assert!(
                problem["detail"].as_str().unwrap().contains("does not track opens"),
                "{case}: {problem}"
            );
        }
        let click = app.simulate_click(email_id, DEMO).await;
        if *clicks {
            click.ok(202);
        } else {
            let problem = click.problem(409);
            assert!(
                problem["detail"].as_str().unwrap().contains("does not track clicks"),
                "{case}: {problem}"
            );
        }
        // The unsubscribe link is not rewritten by SES, whatever the campaign says.
        app.simulate_click(email_id, &unsubscribe.href).await.problem(409);

        let email = only_email(&app, &key, campaign).await;
        let expected_status = match (opens, clicks) {
            (_, true) => "clicked",
            (true, false) => "opened",
            (false, false) => "delivered",
        };
        assert_eq!(email["status"], expected_status, "{case}: {email}");
        assert_eq!(email["events"]["opens"], u32::from(*opens), "{case}");
        assert_eq!(email["events"]["clicks"], u32::from(*clicks), "{case}");
        assert_eq!(
            email["events"]["machine_opens"], 0,
            "{case}: a person's, not a machine's"
        );
        assert_eq!(email["events"]["machine_clicks"], 0, "{case}");
        if *clicks {
            assert_eq!(email["events"]["clicked_links"], json!([DEMO]), "{case}");
        }
    }

    // The lead's view shows the same.
    let leads = app.get(&format!("/v1/campaigns/{}/leads", campaigns[0]), &key).await;
    let lead = leads.ok(200)["items"][0]["id"].as_str().unwrap().to_string();
    let emails = app.get(&format!("/v1/leads/{lead}/emails"), &key).await;
    let email = &emails.ok(200)["items"][0];
    assert_eq!(email["status"], "clicked");
    assert!(time(&email["events"]["first_opened_at"]) > time(&email["events"]["delivered_at"]));
    // A second open counts again; the status stays where it is.
    app.simulate_open(email["id"].as_str().unwrap()).await.ok(202);
    let again = only_email(&app, &key, &campaigns[0]).await;
    assert_eq!(
        (again["events"]["opens"].as_u64(), again["status"].as_str()),
        (Some(2), Some("clicked"))
    );
}

fn time(value: &Value) -> DateTime<Utc> {
    at(value.as_str().unwrap_or_else(|| panic!("not a time: {value}")))
}

#[tokio::test]
async fn simulator_addresses_behave_as_on_ses_and_bad_simulate_requests_are_refused() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = tenant.admin_key;
    let (mailbox, _) = mailbox(&app, &key).await;
    app.clock.set(at("2026-03-02T07:00:00Z"));
    let addresses = [
        "ooto@simulator.amazonses.com",
        "suppressionlist@simulator.amazonses.com",
        "success@simulator.amazonses.com",
    ];
    let campaign = launched(
        &app,
        &key,
        &mailbox,
        json!({"track_opens": true, "track_clicks": true}),
        &addresses,
    )
    .await;
    app.run_at(at("2026-03-02T09:00:00Z")).await;
    let mut by_address = std::collections::HashMap::new();
    for lead in app
        .collect_all(&format!("/v1/campaigns/{campaign}/leads"), &key, 100)
        .await
    {
        let emails = app
            .get(&format!("/v1/leads/{}/emails", lead["id"].as_str().unwrap()), &key)
            .await;
        let email = emails.ok(200)["items"][0].clone();
        by_address.insert(lead["email"].as_str().unwrap().to_string(), (lead, email));
    }
    let (_, ooto) = &by_address[addresses[0]];
    assert_eq!(ooto["status"], "delivered", "an out-of-office auto-reply is no bounce");
    let (lead, suppressed) = &by_address[addresses[1]];
    assert_eq!(suppressed["status"], "bounced");
    assert_eq!(suppressed["events"]["bounce"]["kind"], "hard");
    assert_eq!(suppressed["events"]["bounce"]["subtype"], "OnAccountSuppressionList");
    let lead = app
        .get(&format!("/v1/leads/{}", lead["id"].as_str().unwrap()), &key)
        .await;
    assert_eq!(lead.ok(200)["status"], "bounced");

    // Nobody opens mail that never arrived.
    let problem = app.simulate_open(suppressed["id"].as_str().unwrap()).await;
    assert!(
        problem.problem(409)["detail"]
            .as_str()
            .unwrap()
            .contains("not delivered")
    );

    let (_, success) = &by_address[addresses[2]];
    let email_id = success["id"].as_str().unwrap();
    let unknown = uuid::Uuid::now_v7().to_string();
    assert_eq!(fields(app.simulate_open(&unknown).await.problem(404)), ["/email_id"]);
    assert_eq!(fields(app.simulate_open("not-an-id").await.problem(422)), ["/email_id"]);
    for (body, field) in [
        (json!({}), "/email_id"),
        (json!({"email_id": email_id, "at": "now"}), "/at"),
        (json!({"email_id": 7}), "/email_id"),
    ] {
        let answer = app
            .call(reqwest::Method::POST, "/dev/simulate/open", None, Some(body))
            .await;
        assert_eq!(fields(answer.problem(422)), [field]);
    }
    for link in [
        "",
        "javascript:alert(1)",
        "ftp://acme.example/demo",
        "acme.example/demo",
    ] {
        let answer = app.simulate_click(email_id, link).await;
        assert_eq!(fields(answer.problem(422)), ["/link"], "{link}");
    }
    // A well-formed URL that is not in the email.
    let answer = app.simulate_click(email_id, "https://elsewhere.example/").await;
    assert_eq!(fields(answer.problem(422)), ["/link"]);
    // Nothing of that reached the email.
    let emails = app.get(&format!("/v1/campaigns/{campaign}/emails"), &key).await;
    let email = emails.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == email_id)
        .cloned()
        .unwrap();
    assert_eq!(
        (email["status"].as_str(), email["events"]["opens"].as_u64()),
        (Some("delivered"), Some(0))
    );
}
