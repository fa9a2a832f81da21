//! The OpenAPI 3.1 document, generated from the handlers' annotations and the
//! domain types. docs/openapi.json is this document committed; a test keeps
//! the two equal (`make openapi` rewrites the file).

use crate::routes::*;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Customer Center API",
        description = "Multi-tenant cold-email backend. Authenticate with a tenant API key as \
            `Authorization: Bearer <key>` or `X-Api-Key: <key>`. Lists answer \
            `{\"items\": [...], \"next_cursor\": ...}`; errors are RFC 9457 `application/problem+json`.",
        version = "0.1.0"
    ),
    paths(
        health, openapi_document,
        create_tenant, get_tenant,
        create_api_key, list_api_keys, revoke_api_key,
        create_campaign, list_campaigns, get_campaign, update_campaign, delete_campaign,
        activate_campaign, pause_campaign, complete_campaign, archive_campaign,
        create_organization, list_organizations, get_organization, update_organization, delete_organization,
        add_leads, list_campaign_leads, find_leads, get_lead, update_lead, delete_lead, lead_activities,
        start_import, create_upload_url, get_import, import_errors,
        create_lead_source, list_lead_sources, get_lead_source, delete_lead_source, hook_leads, default_hook,
        create_mailbox, list_mailboxes, get_mailbox, update_mailbox, delete_mailbox,
        pause_mailbox, resume_mailbox, verify_mailbox,
        create_template, list_templates, get_template, update_template, delete_template,
        list_template_versions, get_template_version, preview_template,
        put_sequence, list_campaign_emails, lead_emails,
        export_campaign_csv,
        add_suppression, list_suppressions, remove_suppression, unsubscribe_page, one_click_unsubscribe,
        campaign_stats, campaign_daily_stats, stats_overview, activity_feed,
        list_replies, get_reply, update_reply, forwarding_address,
    ),
    components(schemas(crate::problem::Problem, cc_domain::FieldError, cc_domain::lead::NewLead)),
    modifiers(&Security),
    security(("bearer" = []), ("api_key" = [])),
    tags(
        (name = "meta", description = "Health and this document"),
        (name = "tenants", description = "Customer accounts (platform operator)"),
        (name = "api-keys", description = "Tenant API keys (admin role)"),
        (name = "campaigns", description = "Campaigns and their life cycle"),
        (name = "organizations", description = "Companies, one per email domain"),
        (name = "leads", description = "Prospects in campaigns"),
        (name = "imports", description = "CSV imports processed in the background"),
        (name = "lead-sources", description = "Webhooks and Google Sheets that feed campaigns"),
        (name = "mailboxes", description = "Sender identities, verified by SES, with their caps and sending windows"),
        (name = "templates", description = "Versioned email templates with variables, fallbacks and spintax"),
        (name = "emails", description = "Outbound emails of the sequences, from scheduled to delivered"),
        (name = "suppressions", description = "Addresses and domains the tenant never mails again"),
        (name = "replies", description = "The unified inbox: replies, auto-replies and bounces, classified"),
        (name = "stats", description = "KPIs from counters, and the live activity feed"),
        (name = "unsubscribe", description = "The recipients' signed unsubscribe links (RFC 8058 one-click); no key"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A tenant API key (cck_...)"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Api-Key",
                "A tenant API key (cck_...)",
            ))),
        );
        components.add_security_scheme(
            "operator",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The platform operator key"))
                    .build(),
            ),
        );
    }
}

/// The document as served and committed (pretty JSON, trailing newline).
pub fn document_json() -> String {
    let mut text = ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn committed_document_matches_the_code() {
        let committed = include_str!("../../../docs/openapi.json");
        assert!(
            committed == super::document_json(),
            "docs/openapi.json is out of date: run `make openapi` and commit it"
        );
    }

    #[test]
    fn document_is_openapi_3_1_and_covers_every_route() {
        let doc: serde_json::Value = serde_json::from_str(&super::document_json()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        for path in [
            "/v1/tenants",
            "/v1/api-keys/{id}",
            "/v1/campaigns/{id}/activate",
            "/v1/campaigns/{id}/leads",
            "/v1/leads/{id}",
            "/v1/organizations",
            "/v1/mailboxes/{id}",
            "/v1/templates/{id}/versions/{version}",
            "/v1/templates/{id}/preview",
            "/v1/suppressions/{value}",
            "/v1/u/{token}",
            "/v1/campaigns/{id}/export.csv",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path} missing");
        }
    }
}
