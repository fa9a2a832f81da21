//! Templates: every change is a new version, and every version stays readable.
//! Previews render a template (or one of its versions) for a lead or for
//! sample data and name the variables that lead lacks.

use super::with_optimistic_retry;
use crate::api_key::{Capability, Principal};
use crate::error::{DomainError, StoreError};
use crate::ids::{LeadId, MailboxId, TemplateId};
use crate::page::{Page, PageRequest};
use crate::ports::Store;
use crate::template::{
    CompiledTemplate, NewTemplate, SenderInfo, Template, TemplateContent, TemplateContext, TemplatePatch,
    TemplateVersion,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

const NOT_FOUND: DomainError = DomainError::NotFound { entity: "template" };
const VERSION_NOT_FOUND: DomainError = DomainError::NotFound {
    entity: "template version",
};

/// What `unsubscribe_url` reads in a preview (the real one is signed per email).
pub const PREVIEW_UNSUBSCRIBE_URL: &str = "https://unsubscribe.example/v1/u/preview";

pub async fn create(
    store: &dyn Store,
    caller: &Principal,
    input: NewTemplate,
    now: DateTime<Utc>,
) -> Result<Template, DomainError> {
    caller.require(Capability::WriteData)?;
    let template = Template::create(caller.tenant_id, input, now)?;
    store.insert_template(&template, &template.snapshot()).await?;
    Ok(template)
}

pub async fn get(store: &dyn Store, caller: &Principal, id: TemplateId) -> Result<Template, DomainError> {
    caller.require(Capability::Read)?;
    store.get_template(caller.tenant_id, id).await?.ok_or(NOT_FOUND)
}

pub async fn list(store: &dyn Store, caller: &Principal, page: &PageRequest) -> Result<Page<Template>, DomainError> {
    caller.require(Capability::Read)?;
    Ok(store.list_templates(caller.tenant_id, page).await?)
}

/// Applies a PATCH as the next version; the previous versions stay as they were.
pub async fn update(
    store: &dyn Store,
    caller: &Principal,
    id: TemplateId,
    patch: TemplatePatch,
    now: DateTime<Utc>,
) -> Result<Template, DomainError> {
    caller.require(Capability::WriteData)?;
    with_optimistic_retry(|| async {
        let current = store.get_template(caller.tenant_id, id).await?.ok_or(NOT_FOUND)?;
        let (next, snapshot) = current.update(patch.clone(), now)?;
        store.save_template_version(&next, &snapshot, current.version).await?;
        Ok(next)
    })
    .await
}

/// Deletes a template; its versions stay stored for the emails rendered from them.
pub async fn delete(store: &dyn Store, caller: &Principal, id: TemplateId) -> Result<(), DomainError> {
    caller.require(Capability::WriteData)?;
    if !store.delete_template(caller.tenant_id, id).await? {
        return Err(NOT_FOUND);
    }
    Ok(())
}

/// Every version of a template, newest first.
pub async fn versions(
    store: &dyn Store,
    caller: &Principal,
    id: TemplateId,
    page: &PageRequest,
) -> Result<Page<TemplateVersion>, DomainError> {
    caller.require(Capability::Read)?;
    store.get_template(caller.tenant_id, id).await?.ok_or(NOT_FOUND)?;
    Ok(store.list_template_versions(caller.tenant_id, id, page).await?)
}

pub async fn version(
    store: &dyn Store,
    caller: &Principal,
    id: TemplateId,
    version: u32,
) -> Result<TemplateVersion, DomainError> {
    caller.require(Capability::Read)?;
    store.get_template(caller.tenant_id, id).await?.ok_or(NOT_FOUND)?;
    store
        .get_template_version(caller.tenant_id, id, version)
        .await?
        .ok_or(VERSION_NOT_FOUND)
}

/// `POST /v1/templates/{id}/preview` body. Everything is optional: with
/// nothing, the template is rendered without variables (and every variable
/// without a fallback is missing).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// A lead of the tenant whose variables (and organisation's) fill the template.
    pub lead_id: Option<LeadId>,
    /// The mailbox whose `sender.*` variables fill the template.
    pub mailbox_id: Option<MailboxId>,
    /// Sample variables; top-level keys replace the lead's (e.g. `{"first_name": "Ann"}`).
    #[schema(value_type = Option<Object>)]
    pub data: Option<Map<String, Value>>,
    /// A version to render instead of the current one.
    pub version: Option<u32>,
    /// Picks the spintax options (the same seed gives the same text); default 0.
    pub seed: Option<u64>,
}

/// A rendered template, or why it does not render.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TemplatePreview {
    pub template_id: TemplateId,
    /// The version rendered.
    pub version: u32,
    /// `null` when the template does not render for these variables (see `error`).
    pub subject: Option<String>,
    pub html: Option<String>,
    /// Derived from `html` when the template has no text part.
    pub text: Option<String>,
    /// Variables without a value and without a fallback: an email would not go out.
    pub missing_variables: Vec<String>,
    /// Every variable the template refers to.
    pub variables: Vec<String>,
    /// Why rendering failed, if it did.
    pub error: Option<String>,
}

/// Renders a template for a lead, a mailbox and/or sample data. Reading only:
/// viewers may preview.
pub async fn preview(
    store: &dyn Store,
    caller: &Principal,
    id: TemplateId,
    request: PreviewRequest,
) -> Result<TemplatePreview, DomainError> {
    caller.require(Capability::Read)?;
    let tenant = caller.tenant_id;
    let template = store.get_template(tenant, id).await?.ok_or(NOT_FOUND)?;
    let snapshot = match request.version {
        Some(v) if v != template.version => Some(
            store
                .get_template_version(tenant, id, v)
                .await?
                .ok_or(VERSION_NOT_FOUND)?,
        ),
        _ => None,
    };
    let (version, content): (u32, TemplateContent<'_>) = match &snapshot {
        Some(snapshot) => (snapshot.version, snapshot.content()),
        None => (template.version, template.content()),
    };

    let lead = match request.lead_id {
        Some(lead_id) => Some(
            store
                .get_lead(tenant, lead_id)
                .await?
                .ok_or_else(|| DomainError::invalid("/lead_id", "no such lead"))?,
        ),
        None => None,
    };
    let mailbox = match request.mailbox_id {
        Some(mailbox_id) => Some(
            store
                .get_mailbox(tenant, mailbox_id)
                .await?
                .ok_or_else(|| DomainError::invalid("/mailbox_id", "no such mailbox"))?,
        ),
        None => None,
    };
    let sender = SenderInfo {
        name: mailbox.as_ref().and_then(|m| m.display_name.as_deref()),
        email: mailbox.as_ref().map_or("", |m| m.email.as_str()),
    };
    let mut context = match &lead {
        Some(lead) => {
            let organization = match lead.organization_id {
                Some(org) => store.get_organization(tenant, org).await?,
                None => None,
            };
            TemplateContext::for_email(lead, organization.as_ref(), sender, PREVIEW_UNSUBSCRIBE_URL)
        }
        None => {
            let mut vars = Map::new();
            vars.insert("unsubscribe_url".into(), PREVIEW_UNSUBSCRIBE_URL.into());
            let mut from = Map::new();
            if let Some(name) = sender.name {
                from.insert("name".into(), name.into());
                if let Some(first) = name.split_whitespace().next() {
                    from.insert("first_name".into(), first.into());
                }
            }
            if !sender.email.is_empty() {
                from.insert("email".into(), sender.email.into());
            }
            vars.insert("sender".into(), Value::Object(from));
            TemplateContext::from_map(vars)
        }
    };
    for (key, value) in request.data.unwrap_or_default() {
        context.set(&key, value);
    }

    // Stored templates were checked when saved, so this only fails on a corrupt item.
    let compiled = CompiledTemplate::compile(content).map_err(|err| StoreError::corrupt("stored template", err))?;
    let missing_variables = compiled.missing_variables(&context);
    let variables = compiled.variables();
    let (rendered, error) = match compiled.render(&context, request.seed.unwrap_or(0)) {
        Ok(rendered) => (Some(rendered), None),
        Err(err) => (None, Some(err.to_string())),
    };
    Ok(TemplatePreview {
        template_id: id,
        version,
        subject: rendered.as_ref().map(|r| r.subject.clone()),
        html: rendered.as_ref().and_then(|r| r.html.clone()),
        text: rendered.and_then(|r| r.text),
        missing_variables,
        variables,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use crate::operations::campaigns;
    use crate::operations::leads::{self, Addressing, LeadOutcome};
    use serde_json::json;

    use crate::operations::test_support::now;

    async fn admin(store: &MemoryStore) -> Principal {
        crate::operations::test_support::admin(store).await.0
    }

    fn new_template(value: Value) -> NewTemplate {
        crate::input::decode(value, "").unwrap()
    }

    fn patch(value: Value) -> TemplatePatch {
        crate::input::decode(value, "").unwrap()
    }

    #[tokio::test]
    async fn every_update_is_a_version_and_versions_list_newest_first() {
        let store = MemoryStore::new();
        let caller = admin(&store).await;
        let t = create(
            &store,
            &caller,
            new_template(json!({"name": "Intro", "subject": "One", "text": "first"})),
            now(),
        )
        .await
        .unwrap();
        update(&store, &caller, t.id, patch(json!({"subject": "Two"})), now())
            .await
            .unwrap();
        let third = update(&store, &caller, t.id, patch(json!({"text": "third"})), now())
            .await
            .unwrap();
        assert_eq!((third.version, third.subject.as_str()), (3, "Two"));
        let listed = versions(&store, &caller, t.id, &PageRequest::first(2)).await.unwrap();
        assert_eq!(listed.items.iter().map(|v| v.version).collect::<Vec<_>>(), [3, 2]);
        let rest = PageRequest::parse(listed.next_cursor, Some(2)).unwrap();
        let listed = versions(&store, &caller, t.id, &rest).await.unwrap();
        assert_eq!(listed.items.iter().map(|v| v.version).collect::<Vec<_>>(), [1]);
        assert_eq!(listed.next_cursor, None);
        let first = version(&store, &caller, t.id, 1).await.unwrap();
        assert_eq!((first.subject.as_str(), first.text.as_deref()), ("One", Some("first")));
        assert!(matches!(
            version(&store, &caller, t.id, 4).await,
            Err(DomainError::NotFound { .. })
        ));
        delete(&store, &caller, t.id).await.unwrap();
        assert!(matches!(
            get(&store, &caller, t.id).await,
            Err(DomainError::NotFound { .. })
        ));
        assert!(matches!(
            versions(&store, &caller, t.id, &PageRequest::first(2)).await,
            Err(DomainError::NotFound { .. })
        ));
    }

    #[tokio::test]
    async fn previews_name_what_a_lead_lacks_and_fallbacks_fill_in() {
        let store = MemoryStore::new();
        let caller = admin(&store).await;
        let campaign = campaigns::create(
            &store,
            &caller,
            crate::campaign::NewCampaign {
                name: "Q1".into(),
                description: None,
                settings: Default::default(),
            },
            now(),
        )
        .await
        .unwrap();
        let outcome = leads::add(
            &store,
            &caller,
            campaign.id,
            vec![json!({"email": "ann@acme.com", "company_name": "Acme"})],
            Addressing::Single,
            now(),
        )
        .await
        .unwrap();
        let LeadOutcome::Created(lead) = &outcome[0] else {
            panic!("{outcome:?}")
        };
        let t = create(
            &store,
            &caller,
            new_template(json!({
                "name": "Intro",
                "subject": "Hi {{ first_name | default(\"there\") }}",
                "text": "About {{ company }} in {{ custom_fields.industry }}"
            })),
            now(),
        )
        .await
        .unwrap();
        let request = PreviewRequest {
            lead_id: Some(lead.id),
            ..Default::default()
        };
        let p = preview(&store, &caller, t.id, request.clone()).await.unwrap();
        assert_eq!(p.missing_variables, ["custom_fields.industry"]);
        assert_eq!((p.subject, p.error.is_some()), (None, true));

        update(
            &store,
            &caller,
            t.id,
            patch(json!({"text": "About {{ company }} in {{ custom_fields.industry | default(\"your field\") }}"})),
            now(),
        )
        .await
        .unwrap();
        let p = preview(&store, &caller, t.id, request.clone()).await.unwrap();
        assert!(p.missing_variables.is_empty());
        assert_eq!(p.subject.as_deref(), Some("Hi there"));
        assert_eq!(p.text.as_deref(), Some("About Acme in your field"));
        assert_eq!(p.version, 2);

        // Sample data on top of the lead, and an older version.
        let p = preview(
            &store,
            &caller,
            t.id,
            PreviewRequest {
                data: Some(json!({"first_name": "Ann"}).as_object().unwrap().clone()),
                version: Some(1),
                ..request
            },
        )
        .await
        .unwrap();
        assert_eq!((p.version, p.subject.as_deref()), (1, None));
        assert_eq!(p.missing_variables, ["custom_fields.industry"]);

        let unknown = preview(
            &store,
            &caller,
            t.id,
            PreviewRequest {
                lead_id: Some(LeadId::generate()),
                ..Default::default()
            },
        )
        .await;
        assert!(matches!(unknown, Err(DomainError::Validation(e)) if e[0].field == "/lead_id"));
    }
}
