//! Templates through the HTTP API: versions, syntax errors, previews.

use integration_tests::{TestApp, fields};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn every_change_is_a_new_version_and_old_versions_stay_readable() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let created = app
        .post(
            "/v1/templates",
            key,
            json!({"name": "Intro", "category": "marketing", "subject": "Hello {{ first_name }}",
                   "html": "<p>First</p>", "text": "First"}),
        )
        .await;
    let body = created.ok(201).clone();
    assert_eq!(
        (body["version"].clone(), body["category"].clone()),
        (json!(1), json!("marketing"))
    );
    assert!(body.get("tenant_id").is_none());
    let id = created.id();
    let path = format!("/v1/templates/{id}");

    let second = app
        .patch(
            &path,
            key,
            json!({"subject": "{Hi|Hello} {{ first_name }}", "html": "<p>Second</p>"}),
        )
        .await;
    assert_eq!(second.ok(200)["version"], 2);
    let third = app
        .patch(
            &path,
            key,
            json!({"name": "Intro v3", "text": null, "category": "welcome"}),
        )
        .await;
    let third = third.ok(200);
    assert_eq!(third["version"], 3);
    assert_eq!(third["text"], Value::Null);
    assert_eq!(app.get(&path, key).await.ok(200)["name"], "Intro v3");

    let versions = app.collect_all(&format!("{path}/versions"), key, 2).await;
    let numbers: Vec<_> = versions.iter().map(|v| v["version"].clone()).collect();
    assert_eq!(numbers, [json!(3), json!(2), json!(1)], "newest first");
    let expected = [
        (
            1,
            "Intro",
            "Hello {{ first_name }}",
            json!("<p>First</p>"),
            json!("First"),
            "marketing",
        ),
        (
            2,
            "Intro",
            "{Hi|Hello} {{ first_name }}",
            json!("<p>Second</p>"),
            json!("First"),
            "marketing",
        ),
        (
            3,
            "Intro v3",
            "{Hi|Hello} {{ first_name }}",
            json!("<p>Second</p>"),
            Value::Null,
            "welcome",
        ),
    ];
    for (version, name, subject, html, text, category) in expected {
        let answer = app.get(&format!("{path}/versions/{version}"), key).await;
        let v = answer.ok(200);
        assert_eq!(v["template_id"], id.as_str());
        assert_eq!(v["version"], version);
        assert_eq!(v["name"], name);
        assert_eq!(v["subject"], subject);
        assert_eq!(
            (v["html"].clone(), v["text"].clone()),
            (html, text),
            "version {version}"
        );
        assert_eq!(v["category"], category);
        assert_eq!(&versions[3 - version as usize], v);
    }
    app.get(&format!("{path}/versions/4"), key).await.problem(404);
    app.get(&format!("{path}/versions/zero"), key).await.problem(404);

    let listed = app.get("/v1/templates", key).await;
    let items = listed.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["version"], 3);

    app.delete(&path, key).await.ok(204);
    app.get(&path, key).await.problem(404);
    app.get(&format!("{path}/versions"), key).await.problem(404);
    app.get(&format!("{path}/versions/1"), key).await.problem(404);
    app.patch(&path, key, json!({"name": "x"})).await.problem(404);
}

#[tokio::test]
async fn syntax_errors_are_422_naming_the_part_and_change_nothing() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let answer = app
        .post(
            "/v1/templates",
            key,
            json!({"name": "Broken", "subject": "Hi {{ first_name ", "html": "<p>ok</p>"}),
        )
        .await;
    let problem = answer.problem(422);
    assert_eq!(fields(problem), ["/subject"]);
    assert!(
        problem["errors"][0]["message"].as_str().unwrap().starts_with("line 1:"),
        "{problem}"
    );
    let answer = app
        .post(
            "/v1/templates",
            key,
            json!({"name": "Broken", "subject": "Hi", "html": "<p>\n{% if first_name %}open</p>"}),
        )
        .await;
    assert_eq!(fields(answer.problem(422)), ["/html"]);
    let answer = app
        .post(
            "/v1/templates",
            key,
            json!({"name": "", "subject": "Hi", "category": "spam", "text": "x"}),
        )
        .await;
    assert_eq!(fields(answer.problem(422)), ["/category"]);
    let answer = app
        .post("/v1/templates", key, json!({"name": "No body", "subject": "Hi"}))
        .await;
    assert_eq!(fields(answer.problem(422)), ["/html"]);
    assert!(
        app.get("/v1/templates", key).await.ok(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let id = app
        .post(
            "/v1/templates",
            key,
            json!({"name": "Good", "subject": "Hi", "text": "x"}),
        )
        .await
        .id();
    let path = format!("/v1/templates/{id}");
    let answer = app
        .patch(
            &path,
            key,
            json!({"html": "<p>{{ first_name </p>", "subject": "{% endif %}"}),
        )
        .await;
    assert_eq!(fields(answer.problem(422)), ["/subject", "/html"]);
    let current = app.get(&path, key).await;
    assert_eq!(current.ok(200)["version"], 1, "a refused change makes no version");
    let versions = app.get(&format!("{path}/versions"), key).await;
    assert_eq!(versions.ok(200)["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_preview_names_what_a_lead_lacks_and_a_fallback_renders() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Q1").await;
    let lead = app
        .add_leads(
            key,
            &campaign,
            json!({"email": "ann@acme-preview.example.com", "company_name": "Acme",
                   "custom_fields": {"Team": "Sales"}}),
        )
        .await
        .id();
    let id = app
        .post(
            "/v1/templates",
            key,
            json!({"name": "Intro",
                   "subject": "Hi {{ first_name | default(\"there\") }}",
                   "html": "<p>{{ company }} and {{ custom_fields.industry }}</p>",
                   "text": "{{ company }} ({{ custom_fields.Team }}) and {{ custom_fields.industry }}"}),
        )
        .await
        .id();
    let preview = format!("/v1/templates/{id}/preview");

    let answer = app.post(&preview, key, json!({"lead_id": lead})).await;
    let body = answer.ok(200);
    assert_eq!(body["missing_variables"], json!(["custom_fields.industry"]));
    assert_eq!(body["subject"], Value::Null);
    assert!(
        body["error"].as_str().unwrap().contains("custom_fields.industry"),
        "{body}"
    );
    assert_eq!(body["version"], 1);

    // Sample data fills the gap without changing the template.
    let answer = app
        .post(
            &preview,
            key,
            json!({"lead_id": lead, "data": {"custom_fields": {"industry": "logistics", "Team": "Ops"}}}),
        )
        .await;
    let body = answer.ok(200);
    assert_eq!(body["missing_variables"], json!([]));
    assert_eq!(body["subject"], "Hi there");
    assert_eq!(body["text"], "Acme (Ops) and logistics");

    // A fallback in the template itself unblocks the lead.
    app.patch(
        &format!("/v1/templates/{id}"),
        key,
        json!({"html": "<p>{{ company }} and {{ custom_fields.industry | default(\"your industry\") }}</p>",
               "text": null}),
    )
    .await
    .ok(200);
    let answer = app.post(&preview, key, json!({"lead_id": lead})).await;
    let body = answer.ok(200);
    assert_eq!(body["missing_variables"], json!([]));
    assert_eq!(body["error"], Value::Null);
    assert_eq!(body["subject"], "Hi there");
    assert_eq!(body["html"], "<p>Acme and your industry</p>");
    assert_eq!(body["text"], "Acme and your industry", "text derived from html");
    assert_eq!(body["version"], 2);
    // The first version still lacks it.
    let answer = app.post(&preview, key, json!({"lead_id": lead, "version": 1})).await;
    assert_eq!(answer.ok(200)["missing_variables"], json!(["custom_fields.industry"]));

    // Sample data alone, and a lead that does not exist.
    let answer = app
        .post(
            &preview,
            key,
            json!({"data": {"first_name": "Bo", "company": "Initech"}}),
        )
        .await;
    assert_eq!(answer.ok(200)["subject"], "Hi Bo");
    let missing = app
        .post(&preview, key, json!({"lead_id": uuid::Uuid::now_v7().to_string()}))
        .await;
    assert_eq!(fields(missing.problem(422)), ["/lead_id"]);
    let bad = app.post(&preview, key, json!({"lead_id": "nope"})).await;
    assert_eq!(fields(bad.problem(422)), ["/lead_id"]);
}

#[tokio::test]
async fn another_tenant_finds_nothing_and_viewers_only_read_and_preview() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("A").await;
    let b = app.create_tenant("B").await;
    let id = app
        .post(
            "/v1/templates",
            &a.admin_key,
            json!({"name": "Secret", "subject": "Hi", "text": "x"}),
        )
        .await
        .id();
    let path = format!("/v1/templates/{id}");
    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, path.clone(), None),
        (Method::PATCH, path.clone(), Some(json!({"name": "stolen"}))),
        (Method::DELETE, path.clone(), None),
        (Method::GET, format!("{path}/versions"), None),
        (Method::GET, format!("{path}/versions/1"), None),
        (Method::POST, format!("{path}/preview"), Some(json!({}))),
    ];
    for (method, path, body) in attempts {
        let answer = app.call(method.clone(), &path, Some(&b.admin_key), body).await;
        assert_eq!(answer.status, 404, "{method} {path}: {}", answer.body);
    }
    assert!(
        app.get("/v1/templates", &b.admin_key).await.ok(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let current = app.get(&path, &a.admin_key).await;
    assert_eq!(
        (current.ok(200)["name"].clone(), current.body["version"].clone()),
        (json!("Secret"), json!(1))
    );

    let viewer = app.create_key(&a, "viewer").await;
    app.post(
        "/v1/templates",
        &viewer,
        json!({"name": "n", "subject": "s", "text": "t"}),
    )
    .await
    .problem(403);
    app.patch(&path, &viewer, json!({"name": "x"})).await.problem(403);
    app.delete(&path, &viewer).await.problem(403);
    app.get(&format!("{path}/versions"), &viewer).await.ok(200);
    let preview = app.post(&format!("{path}/preview"), &viewer, json!({})).await;
    assert_eq!(preview.ok(200)["subject"], "Hi");
    app.call(Method::GET, "/v1/templates", None, None).await.problem(401);
}
