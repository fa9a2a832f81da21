use integration_tests::TestApp;
use serde_json::{Value, json};

#[tokio::test]
async fn organisations_are_unique_per_email_domain() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let created = app
        .post(
            "/v1/organizations",
            key,
            json!({"name": "Globex", "email_domain": "@Globex.COM", "employee_count": 120,
                   "technologies": ["HubSpot", "AWS"], "social_profiles": {"twitter": "@globex"}}),
        )
        .await;
    let body = created.ok(201).clone();
    assert_eq!(body["email_domain"], "globex.com");
    assert_eq!(body["technologies"], json!(["HubSpot", "AWS"]));
    let id = created.id();

    let again = app
        .post("/v1/organizations", key, json!({"email_domain": "globex.com"}))
        .await;
    let problem = again.problem(409);
    assert_eq!(problem["existing_id"], id.as_str());

    let found = app.get("/v1/organizations?email_domain=GLOBEX.com", key).await;
    let items = found.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id.as_str());
    let none = app.get("/v1/organizations?email_domain=initech.com", key).await;
    assert!(none.ok(200)["items"].as_array().unwrap().is_empty());

    // Another tenant may have the same domain.
    let other = app.create_tenant("Other").await;
    app.post(
        "/v1/organizations",
        &other.admin_key,
        json!({"email_domain": "globex.com"}),
    )
    .await
    .ok(201);
}

#[tokio::test]
async fn changing_the_domain_moves_the_claim() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let globex = app.create_organization(key, "globex.com").await;
    let initech = app.create_organization(key, "initech.com").await;
    let taken = app
        .patch(
            &format!("/v1/organizations/{globex}"),
            key,
            json!({"email_domain": "initech.com"}),
        )
        .await;
    assert_eq!(taken.problem(409)["existing_id"], initech.as_str());
    let moved = app
        .patch(
            &format!("/v1/organizations/{globex}"),
            key,
            json!({"email_domain": "globex.io", "industry": "Manufacturing"}),
        )
        .await;
    assert_eq!(moved.ok(200)["email_domain"], "globex.io");
    // The old domain is free again, the new one is held.
    app.post("/v1/organizations", key, json!({"email_domain": "globex.com"}))
        .await
        .ok(201);
    app.post("/v1/organizations", key, json!({"email_domain": "globex.io"}))
        .await
        .problem(409);
    let found = app.get("/v1/organizations?email_domain=globex.io", key).await;
    assert_eq!(found.ok(200)["items"][0]["industry"], "Manufacturing");
}

#[tokio::test]
async fn organisations_are_listed_read_and_deleted() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(app.create_organization(key, &format!("company{n}.com")).await);
    }
    let all = app.collect_all("/v1/organizations", key, 2).await;
    let listed: Vec<_> = all.iter().map(|o| o["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(listed, ids);
    app.get(&format!("/v1/organizations/{}", ids[0]), key).await.ok(200);
    app.delete(&format!("/v1/organizations/{}", ids[0]), key).await.ok(204);
    app.get(&format!("/v1/organizations/{}", ids[0]), key)
        .await
        .problem(404);
    // Its domain can be used again.
    app.post("/v1/organizations", key, json!({"email_domain": "company0.com"}))
        .await
        .ok(201);
}

#[tokio::test]
async fn bad_organisation_input_names_every_field() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let answer = app
        .post(
            "/v1/organizations",
            &tenant.admin_key,
            json!({"email_domain": "localhost", "website": "not a site"}),
        )
        .await;
    let fields: Vec<_> = answer.problem(422)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(fields, [json!("/email_domain"), json!("/website")]);
    let answer = app
        .post(
            "/v1/organizations",
            &tenant.admin_key,
            json!({"email_domain": "a.com", "employee_count": "many"}),
        )
        .await;
    assert_eq!(answer.problem(422)["errors"][0]["field"], "/employee_count");
    let listed = app.get("/v1/organizations", &tenant.admin_key).await;
    assert!(listed.ok(200)["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_lead_of_a_domain_whose_organisation_moved_away_never_overwrites_it() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Q1").await;
    let ann = app
        .add_leads(
            key,
            &campaign,
            json!({"email": "ann@globex.com", "company_name": "Globex"}),
        )
        .await;
    let globex = ann.ok(201)["organization_id"].as_str().unwrap().to_string();
    // The organisation the lead made moves to another domain, keeping its id.
    app.patch(
        &format!("/v1/organizations/{globex}"),
        key,
        json!({"email_domain": "globex.io", "industry": "Manufacturing"}),
    )
    .await
    .ok(200);

    // A new lead of the old domain makes an organisation of its own.
    let bob = app
        .add_leads(
            key,
            &campaign,
            json!({"email": "bob@globex.com", "company_name": "Globex Old"}),
        )
        .await;
    let newer = bob.ok(201)["organization_id"].as_str().unwrap().to_string();
    assert_ne!(newer, globex);
    let moved = app.get(&format!("/v1/organizations/{globex}"), key).await;
    let moved = moved.ok(200);
    assert_eq!(moved["email_domain"], "globex.io");
    assert_eq!(moved["name"], "Globex");
    assert_eq!(moved["industry"], "Manufacturing");
    let found = app.get("/v1/organizations?email_domain=globex.com", key).await;
    let found = found.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], newer.as_str());
    assert_eq!(found[0]["name"], "Globex Old");
    let found = app.get("/v1/organizations?email_domain=globex.io", key).await;
    assert_eq!(found.ok(200)["items"][0]["id"], globex.as_str());
}

#[tokio::test]
async fn empty_collections_are_not_stored_and_read_back_empty() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Sparse organisations").await;
    let key = &tenant.admin_key;
    let bare = app
        .post("/v1/organizations", key, json!({"email_domain": "bare.io"}))
        .await
        .ok(201)
        .clone();
    let full = app
        .post(
            "/v1/organizations",
            key,
            json!({"email_domain": "full.io", "technologies": ["rust"], "custom_fields": {"tier": "a"}}),
        )
        .await
        .ok(201)
        .clone();

    let tenant_id = tenant.id.parse().unwrap();
    let stored = |organization: &Value| {
        let id = organization["id"].as_str().unwrap().parse().unwrap();
        let key = cc_store::keys::organization(tenant_id, id);
        async { app.stored_item(key).await.expect("the organisation is stored") }
    };
    let bare_item = stored(&bare).await;
    for absent in ["technologies", "social_profiles", "custom_fields", "website"] {
        assert!(!bare_item.contains_key(absent), "{absent} is not stored");
    }
    let full_item = stored(&full).await;
    for present in ["technologies", "custom_fields"] {
        assert!(full_item.contains_key(present), "{present} is stored");
    }

    let bare_read = app
        .get(&format!("/v1/organizations/{}", bare["id"].as_str().unwrap()), key)
        .await;
    let bare_read = bare_read.ok(200);
    assert_eq!(bare_read, &bare);
    assert_eq!(bare_read["technologies"], json!([]));
    assert_eq!(bare_read["social_profiles"], json!({}));
    assert_eq!(bare_read["custom_fields"], json!({}));
    let full_read = app
        .get(&format!("/v1/organizations/{}", full["id"].as_str().unwrap()), key)
        .await;
    assert_eq!(full_read.ok(200), &full);
}
