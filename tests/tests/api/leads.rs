use integration_tests::TestApp;
use serde_json::{Value, json};
use std::collections::HashSet;

#[tokio::test]
async fn a_mixed_batch_stores_exactly_the_good_leads() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Q1").await;
    let existing = app.add_leads(key, &campaign, json!({"email": "old@acme.com"})).await;
    let existing_id = existing.id();

    let answer = app
        .add_leads(
            key,
            &campaign,
            json!({"leads": [
                {"email": "ann@acme.com", "first_name": "Ann", "custom_fields": {"plan": "pro"}, "personalization": {"icebreaker": "Saw your talk"}},
                {"email": "OLD@Acme.com"},
                {"email": "not-an-email", "first_name": "Broken"},
                {"email": "bob@globex.com", "score": 140},
                {"email": "ANN@acme.com"},
                {"email": "cat@initech.com", "favourite_colour": "red"},
                {"email": "dan@initech.com", "phone": "+1 415 555 0100"}
            ]}),
        )
        .await;
    let body = answer.ok(200).clone();
    let results = body["results"].as_array().unwrap();
    let statuses: Vec<_> = results.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        [
            "created",
            "duplicate",
            "invalid",
            "invalid",
            "duplicate",
            "invalid",
            "created"
        ]
    );
    assert_eq!(
        results[1]["id"],
        existing_id.as_str(),
        "a duplicate names the lead that has the address"
    );
    assert_eq!(
        results[4]["id"], results[0]["id"],
        "a repeat within the batch names the first"
    );
    assert_eq!(results[2]["errors"][0]["field"], "/leads/2/email");
    assert_eq!(results[3]["errors"][0]["field"], "/leads/3/score");
    assert_eq!(results[5]["errors"][0]["field"], "/leads/5/favourite_colour");
    assert_eq!(body["summary"], json!({"created": 2, "duplicate": 2, "invalid": 3}));

    let stored = app
        .collect_all(&format!("/v1/campaigns/{campaign}/leads"), key, 100)
        .await;
    let mut emails: Vec<_> = stored
        .iter()
        .map(|l| l["email"].as_str().unwrap().to_string())
        .collect();
    emails.sort();
    assert_eq!(emails, ["ann@acme.com", "dan@initech.com", "old@acme.com"]);
    let ann = stored.iter().find(|l| l["email"] == "ann@acme.com").unwrap();
    assert_eq!(ann["custom_fields"]["plan"], "pro");
    assert_eq!(ann["personalization"]["icebreaker"], "Saw your talk");
    assert_eq!(ann["status"], "new");
}

#[tokio::test]
async fn a_bare_array_is_a_batch_too() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let campaign = app.create_campaign(&tenant.admin_key, "Q1").await;
    let answer = app
        .add_leads(
            &tenant.admin_key,
            &campaign,
            json!([{"email": "a@b.co"}, {"email": "x"}]),
        )
        .await;
    let body = answer.ok(200);
    assert_eq!(body["results"][0]["status"], "created");
    assert_eq!(body["results"][1]["errors"][0]["field"], "/leads/1/email");
}

#[tokio::test]
async fn a_single_lead_is_created_or_refused_on_its_own() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Q1").await;
    let created = app
        .add_leads(key, &campaign, json!({"email": " Ann@ACME.com ", "job_title": "CTO"}))
        .await;
    let lead = created.ok(201).clone();
    assert_eq!(lead["email"], "Ann@acme.com");
    assert_eq!(lead["campaign_id"], campaign.as_str());
    let duplicate = app.add_leads(key, &campaign, json!({"email": "ann@acme.com"})).await;
    assert_eq!(duplicate.problem(409)["existing_id"], lead["id"]);
    let invalid = app.add_leads(key, &campaign, json!({"email": "ann@"})).await;
    assert_eq!(invalid.problem(422)["errors"][0]["field"], "/email");
    let wrong_type = app.add_leads(key, &campaign, json!({"email": ["a@b.co"]})).await;
    assert_eq!(wrong_type.problem(422)["errors"][0]["field"], "/email");
    app.add_leads(key, &campaign, json!("a@b.co")).await.problem(422);
    let unknown_campaign = app
        .add_leads(key, "00000000-0000-0000-0000-000000000000", json!({"email": "a@b.co"}))
        .await;
    unknown_campaign.problem(404);
}

#[tokio::test]
async fn the_same_address_may_be_in_several_campaigns_and_is_found_in_all() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let first = app.create_campaign(key, "One").await;
    let second = app.create_campaign(key, "Two").await;
    app.add_leads(key, &first, json!({"email": "ann@acme.com"}))
        .await
        .ok(201);
    app.add_leads(key, &second, json!({"email": "Ann@Acme.com"}))
        .await
        .ok(201);
    let found = app.collect_all("/v1/leads?email=ANN@acme.com", key, 10).await;
    let campaigns: HashSet<_> = found
        .iter()
        .map(|l| l["campaign_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(campaigns, HashSet::from([first, second]));
    app.get("/v1/leads?email=nope", key).await.problem(400);
    app.get("/v1/leads", key).await.problem(400);
}

#[tokio::test]
async fn pagination_walks_2500_leads_with_no_gaps_and_no_repeats() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Big").await;
    let mut created = HashSet::new();
    for chunk in 0..3 {
        let count = if chunk < 2 { 1000 } else { 500 };
        let leads: Vec<Value> = (0..count)
            .map(|n| json!({"email": format!("lead{chunk}-{n}@example.com")}))
            .collect();
        let answer = app.add_leads(key, &campaign, json!({ "leads": leads })).await;
        let body = answer.ok(200);
        assert_eq!(body["summary"]["created"], count);
        created.extend(
            body["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(created.len(), 2500);
    for limit in [500, 333] {
        let listed = app
            .collect_all(&format!("/v1/campaigns/{campaign}/leads"), key, limit)
            .await;
        let ids: Vec<_> = listed.iter().map(|l| l["id"].as_str().unwrap().to_string()).collect();
        let unique: HashSet<_> = ids.iter().cloned().collect();
        assert_eq!(ids.len(), 2500, "no repeats (limit {limit})");
        assert_eq!(unique, created, "no gaps (limit {limit})");
        let order: Vec<_> = listed
            .iter()
            .map(|l| {
                let created = chrono::DateTime::parse_from_rfc3339(l["created_at"].as_str().unwrap()).unwrap();
                (created, l["id"].as_str().unwrap().to_string())
            })
            .collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted, "oldest first (ties by id)");
    }
    app.get(&format!("/v1/campaigns/{campaign}/leads?limit=501"), key)
        .await
        .problem(400);
}

#[tokio::test]
async fn more_than_1000_leads_in_one_call_is_refused_whole() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Q1").await;
    let leads: Vec<Value> = (0..1001)
        .map(|n| json!({"email": format!("l{n}@example.com")}))
        .collect();
    let answer = app.add_leads(key, &campaign, json!({ "leads": leads })).await;
    assert_eq!(answer.problem(422)["errors"][0]["field"], "/leads");
    let listed = app.get(&format!("/v1/campaigns/{campaign}/leads"), key).await;
    assert!(listed.ok(200)["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let campaign = app.create_campaign(&tenant.admin_key, "Q1").await;
    let huge = "x".repeat(api::MAX_BODY_BYTES + 1);
    let answer = app
        .add_leads(&tenant.admin_key, &campaign, json!({"email": "a@b.co", "notes": huge}))
        .await;
    answer.problem(413);
}

#[tokio::test]
async fn leads_are_filtered_by_status_updated_and_deleted() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Q1").await;
    let org = app.create_organization(key, "acme.com").await;
    let ann = app
        .add_leads(key, &campaign, json!({"email": "ann@acme.com", "organization_id": org}))
        .await
        .id();
    let bob = app
        .add_leads(key, &campaign, json!({"email": "bob@acme.com"}))
        .await
        .id();

    let patched = app
        .patch(
            &format!("/v1/leads/{ann}"),
            key,
            json!({"status": "interested", "first_name": "Ann", "personalization": {"line": "Hi"}, "score": 80}),
        )
        .await;
    let patched = patched.ok(200);
    assert_eq!(patched["status"], "interested");
    assert_eq!(patched["score"], 80);
    let interested = app
        .get(&format!("/v1/campaigns/{campaign}/leads?status=interested"), key)
        .await;
    let items = interested.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], ann.as_str());
    let new = app
        .get(&format!("/v1/campaigns/{campaign}/leads?status=new"), key)
        .await;
    assert_eq!(new.ok(200)["items"][0]["id"], bob.as_str());

    // Changing the email to one the campaign already has is a conflict naming the holder.
    let clash = app
        .patch(&format!("/v1/leads/{ann}"), key, json!({"email": "BOB@acme.com"}))
        .await;
    assert_eq!(clash.problem(409)["existing_id"], bob.as_str());
    let moved = app
        .patch(&format!("/v1/leads/{ann}"), key, json!({"email": "ann@acme.io"}))
        .await;
    assert_eq!(moved.ok(200)["email"], "ann@acme.io");
    // The old address is free again in this campaign.
    app.add_leads(key, &campaign, json!({"email": "ann@acme.com"}))
        .await
        .ok(201);

    let bad = app
        .patch(
            &format!("/v1/leads/{bob}"),
            key,
            json!({"email": "broken", "score": 101}),
        )
        .await;
    assert_eq!(bad.problem(422)["errors"].as_array().unwrap().len(), 2);
    let unknown_org = app
        .patch(
            &format!("/v1/leads/{bob}"),
            key,
            json!({"organization_id": "00000000-0000-0000-0000-000000000000"}),
        )
        .await;
    assert_eq!(unknown_org.problem(422)["errors"][0]["field"], "/organization_id");

    // Unsubscribed is final.
    app.patch(&format!("/v1/leads/{bob}"), key, json!({"status": "unsubscribed"}))
        .await
        .ok(200);
    app.patch(&format!("/v1/leads/{bob}"), key, json!({"status": "new"}))
        .await
        .problem(409);

    app.delete(&format!("/v1/leads/{bob}"), key).await.ok(204);
    app.get(&format!("/v1/leads/{bob}"), key).await.problem(404);
    app.add_leads(key, &campaign, json!({"email": "bob@acme.com"}))
        .await
        .ok(201);
}

#[tokio::test]
async fn a_lead_may_only_point_at_an_organisation_of_its_tenant() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("A").await;
    let b = app.create_tenant("B").await;
    let foreign_org = app.create_organization(&b.admin_key, "globex.com").await;
    let campaign = app.create_campaign(&a.admin_key, "Q1").await;
    let answer = app
        .add_leads(
            &a.admin_key,
            &campaign,
            json!([{"email": "x@globex.com", "organization_id": foreign_org}]),
        )
        .await;
    assert_eq!(
        answer.ok(200)["results"][0]["errors"][0]["field"],
        "/leads/0/organization_id"
    );
}

#[tokio::test]
async fn a_created_lead_starts_its_timeline_with_lead_created() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Q1").await;
    let lead = app
        .add_leads(key, &campaign, json!({"email": "ann@acme.com", "source": "webinar"}))
        .await
        .id();
    // A duplicate adds nothing to anyone's timeline.
    app.add_leads(key, &campaign, json!([{"email": "ANN@acme.com"}]))
        .await
        .ok(200);
    let timeline = app.get(&format!("/v1/leads/{lead}/activities"), key).await;
    let items = timeline.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["kind"], "lead.created");
    assert_eq!(items[0]["lead_id"], lead.as_str());
    assert_eq!(items[0]["data"]["source"], "webinar");
    let other = app.create_tenant("Other").await;
    app.get(&format!("/v1/leads/{lead}/activities"), &other.admin_key)
        .await
        .problem(404);
}

#[tokio::test]
async fn addresses_stay_unique_through_changes_deletes_and_imports() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Q1").await;
    let first = app
        .add_leads(key, &campaign, json!({"email": "ann@acme.com"}))
        .await
        .id();
    app.patch(&format!("/v1/leads/{first}"), key, json!({"email": "ann.b@acme.com"}))
        .await
        .ok(200);
    // The old address is free, the new one is taken, whatever the case.
    let second = app.add_leads(key, &campaign, json!({"email": "Ann@Acme.com"})).await;
    let second = second.ok(201)["id"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    let taken = app.add_leads(key, &campaign, json!({"email": "ANN.B@acme.com"})).await;
    assert_eq!(taken.problem(409)["existing_id"], first.as_str());

    // The bulk path sees the same: both addresses are duplicates, a new one is created.
    let import = app
        .import_csv(
            key,
            &campaign,
            "email\nann@acme.com\nann.b@acme.com\ncid@acme.com\n",
            "",
        )
        .await
        .id();
    app.deliver_lead_batches().await;
    let job = app.get(&format!("/v1/imports/{import}"), key).await;
    assert_eq!(
        (job.body["created"].as_u64(), job.body["duplicates"].as_u64()),
        (Some(1), Some(2))
    );

    // Moving back onto an address another lead holds is a conflict naming it.
    let clash = app
        .patch(&format!("/v1/leads/{first}"), key, json!({"email": "ann@acme.com"}))
        .await;
    assert_eq!(clash.problem(409)["existing_id"], second.as_str());

    // Deleting the moved lead frees its address and keeps the other findable.
    app.delete(&format!("/v1/leads/{first}"), key).await.ok(204);
    let again = app.add_leads(key, &campaign, json!({"email": "ann@acme.com"})).await;
    assert_eq!(again.problem(409)["existing_id"], second.as_str());
    app.add_leads(key, &campaign, json!({"email": "ann.b@acme.com"}))
        .await
        .ok(201);
    let all = app
        .collect_all(&format!("/v1/campaigns/{campaign}/leads"), key, 100)
        .await;
    let mut emails: Vec<_> = all
        .iter()
        .map(|l| l["email"].as_str().unwrap().to_lowercase())
        .collect();
    emails.sort();
    assert_eq!(emails, ["ann.b@acme.com", "ann@acme.com", "cid@acme.com"]);
}

#[tokio::test]
async fn absent_fields_are_not_stored_and_read_back_as_absent() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Sparse").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Q1").await;
    let bare = app.add_leads(key, &campaign, json!({"email": "bare@gmail.com"})).await;
    let bare = bare.ok(201).clone();
    let full = app
        .add_leads(
            key,
            &campaign,
            json!({"email": "full@acme.com", "city": "Berlin", "custom_fields": {"plan": "pro"},
                   "personalization": {"icebreaker": "Saw your talk"}}),
        )
        .await;
    let full = full.ok(201).clone();

    let tenant_id = tenant.id.parse().unwrap();
    let stored = |lead: &Value| {
        let key = cc_store::keys::lead(tenant_id, lead["id"].as_str().unwrap().parse().unwrap());
        async { app.stored_item(key).await.expect("the lead is stored") }
    };
    let bare_item = stored(&bare).await;
    assert!(
        !bare_item.values().any(|v| matches!(v, AttributeValue::Null(_))),
        "no NULL attributes: {:?}",
        bare_item.keys().collect::<Vec<_>>()
    );
    for absent in ["city", "organization_id", "custom_fields", "personalization"] {
        assert!(!bare_item.contains_key(absent), "{absent} is not stored");
    }
    let full_item = stored(&full).await;
    for present in ["city", "custom_fields", "personalization"] {
        assert!(full_item.contains_key(present), "{present} is stored");
    }

    // Read back, both leads have every field, absent ones as null or empty.
    let bare_read = app
        .get(&format!("/v1/leads/{}", bare["id"].as_str().unwrap()), key)
        .await;
    let bare_read = bare_read.ok(200);
    assert_eq!(bare_read, &bare);
    assert_eq!(bare_read["city"], Value::Null);
    assert_eq!(bare_read["custom_fields"], json!({}));
    assert_eq!(bare_read["personalization"], json!({}));
    let full_read = app
        .get(&format!("/v1/leads/{}", full["id"].as_str().unwrap()), key)
        .await;
    let full_read = full_read.ok(200);
    assert_eq!(full_read, &full);
    assert_eq!(full_read["custom_fields"], json!({"plan": "pro"}));
}
