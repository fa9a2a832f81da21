use integration_tests::{TestApp, fields};
use serde_json::json;

#[tokio::test]
async fn campaigns_are_created_read_updated_and_deleted() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let created = app
        .post(
            "/v1/campaigns",
            key,
            json!({"name": "Q1 SaaS founders", "description": "US only", "settings": {"track_opens": true}}),
        )
        .await;
    let body = created.ok(201).clone();
    assert_eq!(body["status"], "draft");
    assert_eq!(body["settings"]["track_opens"], true);
    assert!(body.get("tenant_id").is_none());
    let id = created.id();

    let patched = app
        .patch(
            &format!("/v1/campaigns/{id}"),
            key,
            json!({"name": "Q1 founders", "description": null, "settings": {"daily_cap": 50}}),
        )
        .await;
    let patched = patched.ok(200);
    assert_eq!(patched["name"], "Q1 founders");
    assert!(patched["description"].is_null());
    assert_eq!(patched["settings"], json!({"track_opens": true, "daily_cap": 50}));
    assert!(patched["updated_at"].as_str() >= body["updated_at"].as_str());

    let read = app.get(&format!("/v1/campaigns/{id}"), key).await;
    assert_eq!(read.ok(200)["name"], "Q1 founders");

    app.delete(&format!("/v1/campaigns/{id}"), key).await.ok(204);
    app.get(&format!("/v1/campaigns/{id}"), key).await.problem(404);
    app.delete(&format!("/v1/campaigns/{id}"), key).await.problem(404);
}

#[tokio::test]
async fn the_life_cycle_moves_only_along_its_arrows() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let id = app.create_campaign(key, "Flow").await;
    let step = |action: &'static str| {
        let path = format!("/v1/campaigns/{id}/{action}");
        let app = &app;
        async move { app.post(&path, key, json!({})).await }
    };
    let refused = step("pause").await;
    let problem = refused.problem(409);
    assert_eq!(problem["current_status"], "draft");
    // A campaign launches only with a sequence and a mailbox to send it from.
    assert_eq!(fields(step("activate").await.problem(422)), ["/sequence"]);
    app.make_launchable(key, &id).await;
    assert_eq!(step("activate").await.ok(200)["status"], "active");
    assert_eq!(step("pause").await.ok(200)["status"], "paused");
    assert_eq!(step("activate").await.ok(200)["status"], "active");
    assert_eq!(step("complete").await.ok(200)["status"], "completed");
    assert_eq!(step("activate").await.problem(409)["current_status"], "completed");
    assert_eq!(step("archive").await.ok(200)["status"], "archived");
    assert_eq!(step("archive").await.problem(409)["current_status"], "archived");
    // The refused moves changed nothing.
    assert_eq!(
        app.get(&format!("/v1/campaigns/{id}"), key).await.ok(200)["status"],
        "archived"
    );
}

#[tokio::test]
async fn listing_filters_by_status_and_pages_without_gaps() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let mut ids = Vec::new();
    for n in 0..7 {
        ids.push(app.create_campaign(key, &format!("C{n}")).await);
    }
    for id in &ids[..3] {
        app.make_launchable(key, id).await;
        app.post(&format!("/v1/campaigns/{id}/activate"), key, json!({}))
            .await
            .ok(200);
    }
    let all = app.collect_all("/v1/campaigns", key, 2).await;
    let listed: Vec<_> = all.iter().map(|c| c["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(listed, ids, "every campaign once, in creation order");
    let active = app.collect_all("/v1/campaigns?status=active", key, 2).await;
    let mut active_ids: Vec<_> = active.iter().map(|c| c["id"].as_str().unwrap().to_string()).collect();
    active_ids.sort();
    let mut expected = ids[..3].to_vec();
    expected.sort();
    assert_eq!(active_ids, expected);
    let drafts = app.collect_all("/v1/campaigns?status=draft", key, 50).await;
    assert_eq!(drafts.len(), 4);
}

#[tokio::test]
async fn bad_campaign_input_and_queries_are_refused() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let answer = app.post("/v1/campaigns", key, json!({"name": 42})).await;
    assert_eq!(answer.problem(422)["errors"][0]["field"], "/name");
    let answer = app
        .post("/v1/campaigns", key, json!({"name": "x", "status": "active"}))
        .await;
    assert_eq!(answer.problem(422)["errors"][0]["field"], "/status");
    app.get("/v1/campaigns?status=running", key).await.problem(400);
    app.get("/v1/campaigns?limit=0", key).await.problem(400);
    app.get("/v1/campaigns?limit=501", key).await.problem(400);
    app.get("/v1/campaigns?cursor=bm9wZQ", key).await.problem(400);
    let id = app.create_campaign(key, "Kept").await;
    let answer = app
        .patch(&format!("/v1/campaigns/{id}"), key, json!({"name": ""}))
        .await;
    assert_eq!(answer.problem(422)["errors"][0]["field"], "/name");
    assert_eq!(
        app.get(&format!("/v1/campaigns/{id}"), key).await.ok(200)["name"],
        "Kept"
    );
    let listed = app.get("/v1/campaigns", key).await;
    assert_eq!(
        listed.ok(200)["items"].as_array().unwrap().len(),
        1,
        "refused creates stored nothing"
    );
}

#[tokio::test]
async fn a_campaign_with_leads_is_archived_not_deleted() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let id = app.create_campaign(key, "Has leads").await;
    app.add_leads(key, &id, json!({"email": "ann@acme.com"})).await.ok(201);
    app.delete(&format!("/v1/campaigns/{id}"), key).await.problem(409);
    app.post(&format!("/v1/campaigns/{id}/archive"), key, json!({}))
        .await
        .ok(200);
    // An archived campaign takes no new leads.
    app.add_leads(key, &id, json!({"email": "bob@acme.com"}))
        .await
        .problem(409);
}

#[tokio::test]
async fn a_cursor_from_another_tenant_is_refused() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("A").await;
    let b = app.create_tenant("B").await;
    for n in 0..3 {
        app.create_campaign(&a.admin_key, &format!("A{n}")).await;
    }
    let page = app.get("/v1/campaigns?limit=1", &a.admin_key).await;
    let cursor = page.ok(200)["next_cursor"].as_str().unwrap().to_string();
    app.get(&format!("/v1/campaigns?limit=1&cursor={cursor}"), &b.admin_key)
        .await
        .problem(400);
}
