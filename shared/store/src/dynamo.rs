//! The DynamoDB implementation of every storage port.

mod emails;
mod replies;
mod stats;

use crate::cursor;
use crate::keys::{self, GSI1, GSI2, GSI3, GSI4, Index, Key, PK, SK};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, PutRequest, ReturnValue, TransactWriteItem, WriteRequest,
};
use cc_domain::StoreError;
use cc_domain::api_key::ApiKey;
use cc_domain::campaign::{Campaign, CampaignStatus};
use cc_domain::email::{EmailAddress, EmailDomain};
use cc_domain::ids::{
    ApiKeyId, CampaignId, ImportJobId, LeadId, LeadSourceId, MailboxId, OrganizationId, TemplateId, TenantId,
};
use cc_domain::import::{BatchOutcome, ImportJob, ImportStatus, RowError};
use cc_domain::lead::{Lead, LeadStatus};
use cc_domain::lead_source::LeadSource;
use cc_domain::mailbox::Mailbox;
use cc_domain::organization::Organization;
use cc_domain::page::{Page, PageRequest};
use cc_domain::ports::{
    AddressTaken, AlreadyExists, ApiKeyStore, CampaignStore, ImportStore, LeadInsert, LeadSourceStore, LeadStore,
    MailboxStore, OrganizationStore, StatsStore, TemplateStore, TenantStore,
};
use cc_domain::stats::StatsDelta;
use cc_domain::template::{Template, TemplateVersion};
use cc_domain::tenant::Tenant;
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

#[path = "suppressions.rs"]
mod suppressions;

type Item = HashMap<String, AttributeValue>;

const KEYS_PER_BATCH_GET: usize = 100;
const ITEMS_PER_BATCH_WRITE: usize = 25;
/// Tries of a transaction that another transaction's items conflicted with.
const TRANSACTION_CONFLICT_ATTEMPTS: u32 = 4;
/// DynamoDB's limit on the actions of one TransactWriteItems.
const MAX_TRANSACTION_ITEMS: usize = 100;
const MAX_BATCH_ATTEMPTS: u32 = 8;
/// BatchWriteItem requests one bulk write keeps in flight.
const CONCURRENT_BATCH_WRITES: usize = 4;
/// How far along an identity's id chain a lead may land (see `LeadId::for_identity`).
/// Each step past the first needs a lead whose address changed away from this one.
const MAX_PROBES: u8 = 8;
const LEAD: &str = "lead";
/// Holds a changed address for a lead whose id sits on another address's chain.
const LEAD_ALIAS: &str = "lead_alias";
/// Keeps a deleted moved lead's id occupied, so that the chain it sat on stays unbroken.
const LEAD_TOMBSTONE: &str = "lead_tombstone";

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn key_item(key: &Key) -> Item {
    HashMap::from([(PK.to_string(), s(&key.pk)), (SK.to_string(), s(&key.sk))])
}

/// An entity as an item: its fields, its tenant, its key and its kind.
/// Absent fields (`None`) are left out rather than stored as NULL: they decode
/// the same, and a smaller item costs less to write and read.
fn entity_item<T: Serialize>(entity: &T, tenant: TenantId, key: &Key, kind: &str) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(entity).map_err(|e| StoreError::corrupt("encoding an item", e))?;
    item.retain(|_, value| !matches!(value, AttributeValue::Null(_)));
    item.insert("tenant_id".into(), s(tenant.to_string()));
    item.insert("entity".into(), s(kind));
    item.extend(key_item(key));
    Ok(item)
}

/// Leaves out the named attributes when they are an empty list or map; the
/// entity's fields must decode as empty without them (`#[serde(default)]`).
fn drop_empty_collections(item: &mut Item, names: &[&str]) {
    for name in names {
        let empty = match item.get(*name) {
            Some(AttributeValue::M(map)) => map.is_empty(),
            Some(AttributeValue::L(list)) => list.is_empty(),
            _ => false,
        };
        if empty {
            item.remove(*name);
        }
    }
}

fn decode<T: DeserializeOwned>(item: Item, what: &'static str) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::corrupt(what, e))
}

fn backend<E>(context: &'static str) -> impl FnOnce(E) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |err| StoreError::backend(context, err)
}

fn put(table: &str, item: Item, condition: &str, values: Option<Item>) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition)
        .set_expression_attribute_values(values)
        .build()
        .map_err(backend("building a transactional put"))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// A transactional put without a condition (an idempotent overwrite).
fn put_always(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .build()
        .map_err(backend("building a transactional put"))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn delete(table: &str, key: &Key, condition: Option<(&str, Item)>) -> Result<TransactWriteItem, StoreError> {
    let (condition, values) = match condition {
        Some((c, v)) => (Some(c.to_string()), Some(v)),
        None => (None, None),
    };
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key_item(key)))
        .set_condition_expression(condition)
        .set_expression_attribute_values(values)
        .build()
        .map_err(backend("building a transactional delete"))?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

fn attribute_text(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn version_values(version: u64) -> Item {
    HashMap::from([(":expected".to_string(), AttributeValue::N(version.to_string()))])
}

const IS_NEW: &str = "attribute_not_exists(PK)";
const HAS_VERSION: &str = "version = :expected";

/// A uniqueness claim moving from one value to another.
struct ClaimMove {
    new_claim: Item,
    new_key: Key,
    old_key: Key,
    /// The claim's attribute naming the entity that holds it.
    holder_attribute: &'static str,
}

/// Which conditions of a cancelled transaction failed, by action index.
enum TransactOutcome {
    Committed,
    ConditionsFailed(Vec<bool>),
}

/// A listing: which partition of which index, optionally a sort-key prefix.
struct Listing {
    index: Option<Index>,
    partition: String,
    sort_prefix: Option<&'static str>,
    /// Only sort keys below this one (e.g. a lead's timeline, not its emails).
    sort_below: Option<&'static str>,
    /// Descending sort-key order (e.g. template versions, newest first).
    newest_first: bool,
}

impl Listing {
    fn table(partition: String, sort_prefix: &'static str) -> Self {
        Self {
            index: None,
            partition,
            sort_prefix: Some(sort_prefix),
            sort_below: None,
            newest_first: false,
        }
    }

    /// Every item of a table partition.
    fn partition(partition: String) -> Self {
        Self {
            index: None,
            partition,
            sort_prefix: None,
            sort_below: None,
            newest_first: false,
        }
    }

    fn index(index: Index, partition: String) -> Self {
        Self {
            index: Some(index),
            partition,
            sort_prefix: None,
            sort_below: None,
            newest_first: false,
        }
    }

    /// The same listing limited to sort keys below `bound`.
    fn below(self, bound: &'static str) -> Self {
        Self {
            sort_below: Some(bound),
            ..self
        }
    }

    /// The same listing in descending sort-key order.
    fn newest_first(self) -> Self {
        Self {
            newest_first: true,
            ..self
        }
    }

    fn partition_attr(&self) -> &'static str {
        self.index.map_or(PK, |i| i.pk)
    }

    fn sort_attr(&self) -> &'static str {
        self.index.map_or(SK, |i| i.sk)
    }

    fn scope(&self) -> String {
        format!(
            "{}|{}|{}{}",
            self.index.map_or("table", |i| i.name),
            self.partition,
            self.sort_prefix.unwrap_or(""),
            if self.newest_first { "|desc" } else { "" }
        ) + self.sort_below.map_or("", |_| "|below")
    }

    /// The attributes that place an item in this listing (what a cursor must hold).
    fn position_of(&self, item: &Item) -> Item {
        let mut names = vec![PK, SK];
        if let Some(index) = self.index {
            names.extend([index.pk, index.sk]);
        }
        names
            .into_iter()
            .filter_map(|n| item.get(n).map(|v| (n.to_string(), v.clone())))
            .collect()
    }
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend("GetItem"))?;
        Ok(out.item)
    }

    async fn get_entity<T: DeserializeOwned>(&self, key: &Key, what: &'static str) -> Result<Option<T>, StoreError> {
        self.get(key).await?.map(|item| decode(item, what)).transpose()
    }

    /// Puts an item if `condition` holds; `Ok(false)` when it did not.
    async fn put_if(&self, item: Item, condition: &str, values: Option<Item>) -> Result<bool, StoreError> {
        self.put_if_named(item, condition, None, values).await
    }

    /// `put_if` with attribute names (for conditions on reserved words such as `status`).
    async fn put_if_named(
        &self,
        item: Item,
        condition: &str,
        names: Option<HashMap<String, String>>,
        values: Option<Item>,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(StoreError::backend("PutItem", err)),
        }
    }

    async fn delete_existing(&self, key: &Key) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(backend("DeleteItem"))?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn transact(&self, actions: Vec<TransactWriteItem>) -> Result<TransactOutcome, StoreError> {
        let count = actions.len();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(TransactOutcome::Committed),
                Err(err) => err,
            };
            let Some(cancelled) = err.as_service_error().and_then(|e| match e {
                aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => Some(c),
                _ => None,
            }) else {
                return Err(StoreError::backend("TransactWriteItems", err));
            };
            let reasons = cancelled.cancellation_reasons();
            let code = |i: usize| reasons.get(i).and_then(|r| r.code());
            let failed: Vec<bool> = (0..count).map(|i| code(i) == Some("ConditionalCheckFailed")).collect();
            if failed.iter().any(|f| *f) {
                return Ok(TransactOutcome::ConditionsFailed(failed));
            }
            // Another transaction held one of the items (e.g. a counter shard two
            // batches add to at once): nothing was written, so the same request
            // is tried again after a short, jittered pause.
            let conflicted = (0..count).any(|i| code(i) == Some("TransactionConflict"));
            if conflicted && attempt < TRANSACTION_CONFLICT_ATTEMPTS {
                let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % 50;
                tokio::time::sleep(std::time::Duration::from_millis(25 * u64::from(attempt) + jitter)).await;
                continue;
            }
            return Err(StoreError::backend("TransactWriteItems", err));
        }
    }

    async fn query_page<T: DeserializeOwned>(
        &self,
        tenant: TenantId,
        listing: Listing,
        page: &PageRequest,
        what: &'static str,
    ) -> Result<Page<T>, StoreError> {
        let raw = self.query_items(tenant, listing, page).await?;
        let items = raw
            .items
            .into_iter()
            .map(|item| decode(item, what))
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            next_cursor: raw.next_cursor,
        })
    }

    /// One page of a listing's raw items.
    async fn query_items(
        &self,
        tenant: TenantId,
        listing: Listing,
        page: &PageRequest,
    ) -> Result<Page<Item>, StoreError> {
        let limit = page.limit as usize;
        let scope = listing.scope();
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(listing.index.map(|i| i.name.to_string()))
            .expression_attribute_names("#pk", listing.partition_attr())
            .expression_attribute_values(":pk", s(&listing.partition))
            .scan_index_forward(!listing.newest_first)
            // One more than asked tells whether another page exists.
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX));
        query = match (listing.sort_prefix, listing.sort_below) {
            (Some(prefix), _) => query
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#sk", listing.sort_attr())
                .expression_attribute_values(":prefix", s(prefix)),
            (None, Some(bound)) => query
                .key_condition_expression("#pk = :pk AND #sk < :below")
                .expression_attribute_names("#sk", listing.sort_attr())
                .expression_attribute_values(":below", s(bound)),
            (None, None) => query.key_condition_expression("#pk = :pk"),
        };
        if let Some(text) = &page.cursor {
            let start = cursor::decode(tenant, &scope, listing.partition_attr(), &listing.partition, &text.0)?;
            query = query.set_exclusive_start_key(Some(start));
        }
        let out = query.send().await.map_err(backend("Query"))?;
        let mut items = out.items.unwrap_or_default();
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items
                .last()
                .map(|last| cursor::encode(tenant, &scope, &listing.position_of(last)))
        } else {
            // DynamoDB stopped early (1 MB per call) with more to read.
            out.last_evaluated_key.map(|key| cursor::encode(tenant, &scope, &key))
        };
        Ok(Page { items, next_cursor })
    }

    fn campaign_item(campaign: &Campaign) -> Result<Item, StoreError> {
        let key = keys::campaign(campaign.tenant_id, campaign.id);
        let mut item = entity_item(campaign, campaign.tenant_id, &key, "campaign")?;
        item.insert(
            GSI1.pk.into(),
            s(keys::campaigns_with_status(campaign.tenant_id, campaign.status)),
        );
        item.insert(GSI1.sk.into(), s(keys::campaign_sort(campaign.id)));
        Ok(item)
    }

    fn lead_item(lead: &Lead) -> Result<Item, StoreError> {
        let key = keys::lead(lead.tenant_id, lead.id);
        let mut item = entity_item(lead, lead.tenant_id, &key, "lead")?;
        // Most leads have neither; the fields decode as empty without them.
        drop_empty_collections(&mut item, &["custom_fields", "personalization"]);
        let sort = s(keys::lead_sort(lead.created_at, lead.id));
        item.insert(
            GSI1.pk.into(),
            s(keys::campaign_leads(lead.tenant_id, lead.campaign_id)),
        );
        item.insert(GSI1.sk.into(), sort.clone());
        item.insert(
            GSI2.pk.into(),
            s(keys::campaign_leads_with_status(
                lead.tenant_id,
                lead.campaign_id,
                lead.status,
            )),
        );
        item.insert(GSI2.sk.into(), sort.clone());
        // Only leads with an address are in the "leads by email" index.
        if let Some(email) = &lead.email {
            item.insert(GSI3.pk.into(), s(keys::leads_with_email(lead.tenant_id, email)));
            item.insert(GSI3.sk.into(), sort);
        }
        item.insert(IDENTITY.into(), s(lead.identity()));
        // The lead item is its own `lead.created` entry in the live feed.
        item.insert(
            GSI4.pk.into(),
            s(keys::feed_day(lead.tenant_id, lead.created_at.date_naive())),
        );
        item.insert(
            GSI4.sk.into(),
            s(cc_domain::activity::feed_position(lead.created_at, *lead.id.as_uuid())),
        );
        if let Some(origin) = origin_ref(lead) {
            item.insert(ORIGIN_REF.into(), s(origin));
        }
        Ok(item)
    }

    /// The item that holds `identity` for `lead`, at `id` on that identity's chain.
    fn lead_alias_item(lead: &Lead, id: LeadId) -> Item {
        let mut item = key_item(&keys::lead(lead.tenant_id, id));
        item.insert("entity".into(), s(LEAD_ALIAS));
        item.insert("tenant_id".into(), s(lead.tenant_id.to_string()));
        item.insert(IDENTITY.into(), s(lead.identity()));
        item.insert("lead_id".into(), s(lead.id.to_string()));
        item
    }

    fn organization_item(organization: &Organization) -> Result<Item, StoreError> {
        let key = keys::organization(organization.tenant_id, organization.id);
        let mut item = entity_item(organization, organization.tenant_id, &key, "organization")?;
        // Organisations made by imports have none; the fields decode as empty without them.
        drop_empty_collections(&mut item, &["technologies", "social_profiles", "custom_fields"]);
        Ok(item)
    }

    fn organization_domain_item(organization: &Organization) -> Item {
        let mut item = key_item(&keys::organization_domain(
            organization.tenant_id,
            &organization.email_domain,
        ));
        item.insert("organization_id".into(), s(organization.id.to_string()));
        item.insert("tenant_id".into(), s(organization.tenant_id.to_string()));
        item.insert("entity".into(), s("organization_domain"));
        item
    }

    /// Who holds a claim item (`lead_id` / `organization_id` attribute), if anyone.
    async fn claim_holder(&self, key: &Key, attribute: &str) -> Result<Option<String>, StoreError> {
        Ok(self.get(key).await?.and_then(|item| attribute_text(&item, attribute)))
    }

    async fn organization_holder(
        &self,
        tenant: TenantId,
        domain: &EmailDomain,
    ) -> Result<Option<OrganizationId>, StoreError> {
        let key = keys::organization_domain(tenant, domain);
        Ok(self
            .claim_holder(&key, "organization_id")
            .await?
            .and_then(|id| id.parse().ok()))
    }

    /// Replaces a version-checked entity. When its unique value changed, the
    /// claim moves in the same transaction, and a taken value names its holder.
    async fn replace_claiming<Id: std::str::FromStr>(
        &self,
        item: Item,
        expected_version: u64,
        moved_claim: Option<ClaimMove>,
    ) -> Result<Result<(), AlreadyExists<Id>>, StoreError> {
        let versioned = Some(version_values(expected_version));
        let Some(claim) = moved_claim else {
            return if self.put_if(item, HAS_VERSION, versioned).await? {
                Ok(Ok(()))
            } else {
                Err(StoreError::VersionConflict)
            };
        };
        let actions = vec![
            put(&self.table, claim.new_claim, IS_NEW, None)?,
            put(&self.table, item, HAS_VERSION, versioned)?,
            delete(&self.table, &claim.old_key, None)?,
        ];
        match self.transact(actions).await? {
            TransactOutcome::Committed => Ok(Ok(())),
            TransactOutcome::ConditionsFailed(failed) if failed[0] => {
                match self
                    .claim_holder(&claim.new_key, claim.holder_attribute)
                    .await?
                    .and_then(|id| id.parse().ok())
                {
                    Some(holder) => Ok(Err(AlreadyExists(holder))),
                    None => Err(StoreError::VersionConflict),
                }
            }
            TransactOutcome::ConditionsFailed(_) => Err(StoreError::VersionConflict),
        }
    }

    /// Deletes an entity and the claim item of its unique value together.
    async fn delete_with_claim(&self, item: &Key, claim: &Key) -> Result<(), StoreError> {
        let actions = vec![delete(&self.table, item, None)?, delete(&self.table, claim, None)?];
        match self.transact(actions).await? {
            TransactOutcome::Committed => Ok(()),
            TransactOutcome::ConditionsFailed(_) => Err(StoreError::VersionConflict),
        }
    }

    /// Sends a conditional UpdateItem: `Some(attributes)` (what ReturnValues
    /// asked for) when it was applied, `None` when its condition did not hold.
    async fn update_if(
        &self,
        request: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    ) -> Result<Option<Item>, StoreError> {
        match request.send().await {
            Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(err) => Err(StoreError::backend("UpdateItem", err)),
        }
    }

    /// Reads items by key, 100 per BatchGetItem, retrying unprocessed keys.
    async fn batch_get(&self, keys: Vec<Item>, projection: Option<&str>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(KEYS_PER_BATCH_GET) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                attempt += 1;
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .set_projection_expression(projection.map(str::to_string))
                    .consistent_read(true)
                    .build()
                    .map_err(backend("building BatchGetItem"))?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(backend("BatchGetItem"))?;
                found.extend(
                    out.responses
                        .and_then(|mut r| r.remove(&self.table))
                        .unwrap_or_default(),
                );
                if let Some(unprocessed) = out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                    if attempt >= MAX_BATCH_ATTEMPTS {
                        return Err(StoreError::backend("BatchGetItem", Throttled));
                    }
                    backoff(attempt).await;
                    pending = unprocessed.keys;
                }
            }
        }
        Ok(found)
    }

    /// Writes items, 25 per BatchWriteItem (a few requests in flight at
    /// once), retrying unprocessed ones.
    async fn batch_put(&self, items: Vec<Item>) -> Result<(), StoreError> {
        let mut chunks: Vec<Vec<Item>> = Vec::with_capacity(items.len().div_ceil(ITEMS_PER_BATCH_WRITE));
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            chunks.push(items.by_ref().take(ITEMS_PER_BATCH_WRITE).collect());
        }
        let results: Vec<Result<(), StoreError>> = stream::iter(chunks)
            .map(|chunk| self.batch_put_chunk(chunk))
            .buffer_unordered(CONCURRENT_BATCH_WRITES)
            .collect()
            .await;
        results.into_iter().collect()
    }

    async fn batch_put_chunk(&self, chunk: Vec<Item>) -> Result<(), StoreError> {
        let mut pending: Vec<WriteRequest> = chunk
            .into_iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(backend("building PutRequest"))?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<_, StoreError>>()?;
        let mut attempt = 0;
        while !pending.is_empty() {
            attempt += 1;
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, std::mem::take(&mut pending))
                .send()
                .await
                .map_err(backend("BatchWriteItem"))?;
            if let Some(unprocessed) = out.unprocessed_items.and_then(|mut u| u.remove(&self.table)) {
                if attempt >= MAX_BATCH_ATTEMPTS {
                    return Err(StoreError::backend("BatchWriteItem", Throttled));
                }
                backoff(attempt).await;
                pending = unprocessed;
            }
        }
        Ok(())
    }

    /// Walks the id chain of `identity` in `lead`'s campaign for a lead
    /// changing to it: where it stands, and where an alias would go.
    async fn chain_position(&self, lead: &Lead, identity: &str) -> Result<ChainPosition, StoreError> {
        let mut passed_own_item = false;
        for probe in 0..MAX_PROBES {
            let id = LeadId::for_identity(lead.campaign_id, identity, probe);
            let Some(item) = self.get(&keys::lead(lead.tenant_id, id)).await? else {
                // The lead's own item, met before any free id, holds the identity itself.
                return Ok(if passed_own_item {
                    ChainPosition::Own
                } else {
                    ChainPosition::Free(id)
                });
            };
            if attribute_text(&item, IDENTITY).as_deref() == Some(identity) {
                let holder = holder_of(&item, id);
                return Ok(if holder == lead.id {
                    ChainPosition::Own
                } else {
                    ChainPosition::Taken(holder)
                });
            }
            passed_own_item |= id == lead.id;
        }
        Err(StoreError::backend("lead id chain", ChainTooLong))
    }

    /// The alias that holds `lead`'s current identity, if it has one.
    async fn alias_of(&self, lead: &Lead) -> Result<Option<Key>, StoreError> {
        let identity = lead.identity();
        for probe in 0..MAX_PROBES {
            let id = lead.id_for_probe(probe);
            let Some(item) = self.get(&keys::lead(lead.tenant_id, id)).await? else {
                return Ok(None);
            };
            if attribute_text(&item, IDENTITY).as_deref() == Some(identity.as_str()) {
                let is_ours =
                    attribute_text(&item, "entity").as_deref() == Some(LEAD_ALIAS) && holder_of(&item, id) == lead.id;
                return Ok(is_ours.then(|| keys::lead(lead.tenant_id, id)));
            }
        }
        Ok(None)
    }
}

/// Where a lead changing its address would stand on the new address's chain.
enum ChainPosition {
    /// Its own item (or alias) already holds the address.
    Own,
    /// Another lead has the address.
    Taken(LeadId),
    /// Nobody has it; an alias at this id would hold it.
    Free(LeadId),
}

const IDENTITY: &str = "lead_identity";
const ORIGIN_REF: &str = "origin_ref";

fn origin_ref(lead: &Lead) -> Option<String> {
    lead.origin.map(|o| format!("{}:{}", o.import_id, o.row))
}

/// The lead an item at `id` stands for: itself, or an alias's lead.
fn holder_of(item: &Item, id: LeadId) -> LeadId {
    attribute_text(item, "lead_id")
        .and_then(|text| text.parse().ok())
        .unwrap_or(id)
}

#[derive(Debug, thiserror::Error)]
#[error("more than {MAX_PROBES} leads or organisations moved away from one address or domain")]
struct ChainTooLong;

#[derive(Debug, thiserror::Error)]
#[error("DynamoDB kept returning unprocessed items (throttled)")]
struct Throttled;

/// Fixed-width UTC timestamps, so that text order is time order in conditions.
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Exponential pause before retrying unprocessed batch keys.
async fn backoff(attempt: u32) {
    tokio::time::sleep(std::time::Duration::from_millis(25u64 << attempt.min(6))).await;
}

#[async_trait]
impl TenantStore for DynamoStore {
    async fn create_tenant(&self, tenant: &Tenant, admin_key: &ApiKey) -> Result<(), StoreError> {
        let actions = vec![
            put(
                &self.table,
                entity_item(tenant, tenant.id, &keys::tenant(tenant.id), "tenant")?,
                IS_NEW,
                None,
            )?,
            put(
                &self.table,
                entity_item(admin_key, tenant.id, &keys::api_key(tenant.id, admin_key.id), "api_key")?,
                IS_NEW,
                None,
            )?,
        ];
        match self.transact(actions).await? {
            TransactOutcome::Committed => Ok(()),
            TransactOutcome::ConditionsFailed(_) => Err(StoreError::VersionConflict),
        }
    }

    async fn get_tenant(&self, id: TenantId) -> Result<Option<Tenant>, StoreError> {
        self.get_entity(&keys::tenant(id), "tenant").await
    }
}

#[async_trait]
impl ApiKeyStore for DynamoStore {
    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let item = entity_item(key, key.tenant_id, &keys::api_key(key.tenant_id, key.id), "api_key")?;
        if self.put_if(item, IS_NEW, None).await? {
            Ok(())
        } else {
            Err(StoreError::VersionConflict)
        }
    }

    async fn get_api_key(&self, tenant: TenantId, id: ApiKeyId) -> Result<Option<ApiKey>, StoreError> {
        self.get_entity(&keys::api_key(tenant, id), "api key").await
    }

    async fn list_api_keys(&self, tenant: TenantId, page: &PageRequest) -> Result<Page<ApiKey>, StoreError> {
        let listing = Listing::table(keys::tenant_items(tenant), keys::API_KEY_PREFIX);
        self.query_page(tenant, listing, page, "api key").await
    }

    async fn delete_api_key(&self, tenant: TenantId, id: ApiKeyId) -> Result<bool, StoreError> {
        self.delete_existing(&keys::api_key(tenant, id)).await
    }

    async fn record_api_key_use(
        &self,
        tenant: TenantId,
        id: ApiKeyId,
        at: DateTime<Utc>,
        unless_after: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.update_if(self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::api_key(tenant, id))))
            .update_expression("SET last_used_at = :at")
            .condition_expression(
                "attribute_exists(PK) AND (attribute_not_exists(last_used_at) OR attribute_type(last_used_at, :null) OR last_used_at < :threshold)",
            )
            .expression_attribute_values(":at", s(timestamp(at)))
            .expression_attribute_values(":threshold", s(timestamp(unless_after)))
            .expression_attribute_values(":null", s("NULL"))).await?;
        // A condition that did not hold is fine: another request refreshed it first, or the key was just revoked.
        Ok(())
    }
}

#[async_trait]
impl CampaignStore for DynamoStore {
    async fn insert_campaign(&self, campaign: &Campaign) -> Result<(), StoreError> {
        if self.put_if(Self::campaign_item(campaign)?, IS_NEW, None).await? {
            Ok(())
        } else {
            Err(StoreError::VersionConflict)
        }
    }

    async fn get_campaign(&self, tenant: TenantId, id: CampaignId) -> Result<Option<Campaign>, StoreError> {
        self.get_entity(&keys::campaign(tenant, id), "campaign").await
    }

    async fn list_campaigns(
        &self,
        tenant: TenantId,
        status: Option<CampaignStatus>,
        page: &PageRequest,
    ) -> Result<Page<Campaign>, StoreError> {
        let listing = match status {
            None => Listing::table(keys::tenant_items(tenant), keys::CAMPAIGN_PREFIX),
            Some(status) => Listing::index(GSI1, keys::campaigns_with_status(tenant, status)),
        };
        self.query_page(tenant, listing, page, "campaign").await
    }

    async fn replace_campaign(&self, campaign: &Campaign, expected_version: u64) -> Result<(), StoreError> {
        let item = Self::campaign_item(campaign)?;
        if self
            .put_if(item, HAS_VERSION, Some(version_values(expected_version)))
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::VersionConflict)
        }
    }

    async fn delete_campaign(&self, tenant: TenantId, id: CampaignId) -> Result<bool, StoreError> {
        self.delete_existing(&keys::campaign(tenant, id)).await
    }

    async fn campaign_has_leads(&self, tenant: TenantId, id: CampaignId) -> Result<bool, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1.name)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", GSI1.pk)
            .expression_attribute_values(":pk", s(keys::campaign_leads(tenant, id)))
            .limit(1)
            .send()
            .await
            .map_err(backend("Query"))?;
        Ok(out.count > 0)
    }
}

#[async_trait]
impl OrganizationStore for DynamoStore {
    async fn insert_organization(
        &self,
        organization: &Organization,
    ) -> Result<Result<(), AlreadyExists<OrganizationId>>, StoreError> {
        let actions = vec![
            put(&self.table, Self::organization_domain_item(organization), IS_NEW, None)?,
            put(&self.table, Self::organization_item(organization)?, IS_NEW, None)?,
        ];
        match self.transact(actions).await? {
            TransactOutcome::Committed => Ok(Ok(())),
            TransactOutcome::ConditionsFailed(_) => {
                match self
                    .organization_holder(organization.tenant_id, &organization.email_domain)
                    .await?
                {
                    Some(holder) => Ok(Err(AlreadyExists(holder))),
                    None => Err(StoreError::VersionConflict),
                }
            }
        }
    }

    async fn insert_organizations(&self, organizations: &[Organization]) -> Result<Vec<OrganizationId>, StoreError> {
        // One BatchWriteItem stream for the organisations and their domain
        // claims: the caller has just read the claims (consistently) and found
        // none, and ids come from the domain, so a retried or concurrent
        // import writes the very same items. Only a claim made by another
        // writer in the milliseconds between that read and this write could be
        // overwritten (see docs/decisions.md).
        //
        // An organisation whose domain was changed keeps the id it was made
        // with, so that id is probed first and the next one taken when it is
        // held by an organisation of another domain: never overwritten.
        let mut organizations = organizations.to_vec();
        let mut pending: Vec<(usize, u8)> = (0..organizations.len()).map(|i| (i, 0)).collect();
        while !pending.is_empty() {
            let candidate = |organization: &Organization, probe: u8| {
                OrganizationId::for_domain_at(organization.tenant_id, organization.email_domain.as_str(), probe)
            };
            let wanted = pending
                .iter()
                .map(|&(i, probe)| {
                    let organization = &organizations[i];
                    key_item(&keys::organization(
                        organization.tenant_id,
                        candidate(organization, probe),
                    ))
                })
                .collect();
            let held: HashMap<String, Option<String>> = self
                .batch_get(wanted, Some("PK, email_domain"))
                .await?
                .into_iter()
                .filter_map(|item| Some((attribute_text(&item, PK)?, attribute_text(&item, "email_domain"))))
                .collect();
            let mut next = Vec::new();
            for (i, probe) in pending {
                let organization = &organizations[i];
                let id = candidate(organization, probe);
                match held.get(&keys::organization(organization.tenant_id, id).pk) {
                    Some(domain) if domain.as_deref() != Some(organization.email_domain.as_str()) => {
                        if probe + 1 >= MAX_PROBES {
                            return Err(StoreError::backend("organisation id chain", ChainTooLong));
                        }
                        next.push((i, probe + 1));
                    }
                    _ => organizations[i].id = id,
                }
            }
            pending = next;
        }
        let mut items = Vec::with_capacity(organizations.len() * 2);
        for organization in &organizations {
            items.push(Self::organization_item(organization)?);
            items.push(Self::organization_domain_item(organization));
        }
        self.batch_put(items).await?;
        Ok(organizations.iter().map(|o| o.id).collect())
    }

    async fn get_organization(&self, tenant: TenantId, id: OrganizationId) -> Result<Option<Organization>, StoreError> {
        self.get_entity(&keys::organization(tenant, id), "organization").await
    }

    async fn find_organization_by_domain(
        &self,
        tenant: TenantId,
        domain: &EmailDomain,
    ) -> Result<Option<Organization>, StoreError> {
        match self.organization_holder(tenant, domain).await? {
            Some(id) => self.get_organization(tenant, id).await,
            None => Ok(None),
        }
    }

    async fn list_organizations(&self, tenant: TenantId, page: &PageRequest) -> Result<Page<Organization>, StoreError> {
        let listing = Listing::table(keys::tenant_items(tenant), keys::ORGANIZATION_PREFIX);
        self.query_page(tenant, listing, page, "organization").await
    }

    async fn organization_ids_by_domain(
        &self,
        tenant: TenantId,
        domains: &[EmailDomain],
    ) -> Result<HashMap<EmailDomain, OrganizationId>, StoreError> {
        let claims: HashMap<String, &EmailDomain> = domains
            .iter()
            .map(|d| (keys::organization_domain(tenant, d).sk, d))
            .collect();
        let keys = domains
            .iter()
            .map(|d| key_item(&keys::organization_domain(tenant, d)))
            .collect();
        let mut found = HashMap::new();
        for item in self.batch_get(keys, Some("SK, organization_id")).await? {
            let domain = attribute_text(&item, SK).and_then(|sk| claims.get(&sk).copied());
            let holder = attribute_text(&item, "organization_id").and_then(|id| id.parse().ok());
            if let (Some(domain), Some(holder)) = (domain, holder) {
                found.insert(domain.clone(), holder);
            }
        }
        Ok(found)
    }

    async fn replace_organization(
        &self,
        organization: &Organization,
        previous: &Organization,
    ) -> Result<Result<(), AlreadyExists<OrganizationId>>, StoreError> {
        let moved = (organization.email_domain != previous.email_domain).then(|| ClaimMove {
            new_claim: Self::organization_domain_item(organization),
            new_key: keys::organization_domain(organization.tenant_id, &organization.email_domain),
            old_key: keys::organization_domain(previous.tenant_id, &previous.email_domain),
            holder_attribute: "organization_id",
        });
        self.replace_claiming(Self::organization_item(organization)?, previous.version, moved)
            .await
    }

    async fn delete_organization(&self, organization: &Organization) -> Result<(), StoreError> {
        self.delete_with_claim(
            &keys::organization(organization.tenant_id, organization.id),
            &keys::organization_domain(organization.tenant_id, &organization.email_domain),
        )
        .await
    }
}

#[async_trait]
impl LeadStore for DynamoStore {
    async fn insert_leads(&self, leads: &mut [Lead]) -> Result<Vec<LeadInsert>, StoreError> {
        // A lead's id comes from its identity, so whether the campaign has it
        // is one consistent read, and storing it is one unconditional put in a
        // BatchWriteItem: one write per lead, no claim items. An id held by
        // another identity (a lead whose address changed) sends the lead one
        // step further along its chain.
        let mut results: Vec<Option<LeadInsert>> = vec![None; leads.len()];
        let mut first_with_identity: HashMap<String, usize> = HashMap::new();
        let mut repeats = Vec::new();
        let mut pending = Vec::new();
        for (i, lead) in leads.iter().enumerate() {
            match first_with_identity.entry(lead.identity()) {
                std::collections::hash_map::Entry::Occupied(first) => repeats.push((i, *first.get())),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(i);
                    pending.push((i, 0u8));
                }
            }
        }
        let mut to_write = Vec::new();
        while !pending.is_empty() {
            let wanted: Vec<Item> = pending
                .iter()
                .map(|&(i, probe)| key_item(&keys::lead(leads[i].tenant_id, leads[i].id_for_probe(probe))))
                .collect();
            let found: HashMap<String, Item> = self
                .batch_get(wanted, Some("PK, entity, lead_identity, lead_id, origin_ref"))
                .await?
                .into_iter()
                .filter_map(|item| Some((attribute_text(&item, PK)?, item)))
                .collect();
            let mut next = Vec::new();
            for (i, probe) in pending {
                let lead = &mut leads[i];
                let id = lead.id_for_probe(probe);
                let Some(item) = found.get(&keys::lead(lead.tenant_id, id).pk) else {
                    lead.id = id;
                    to_write.push(i);
                    results[i] = Some(LeadInsert::Created);
                    continue;
                };
                if attribute_text(item, IDENTITY).as_deref() != Some(lead.identity().as_str()) {
                    if probe + 1 >= MAX_PROBES {
                        return Err(StoreError::backend("lead id chain", ChainTooLong));
                    }
                    next.push((i, probe + 1));
                    continue;
                }
                let stored_from_same_row = attribute_text(item, "entity").as_deref() == Some(LEAD)
                    && origin_ref(lead).is_some()
                    && attribute_text(item, ORIGIN_REF) == origin_ref(lead);
                results[i] = Some(if stored_from_same_row {
                    lead.id = id;
                    LeadInsert::Created
                } else {
                    LeadInsert::Duplicate(holder_of(item, id))
                });
            }
            pending = next;
        }
        for (i, first) in repeats {
            results[i] = Some(LeadInsert::Duplicate(leads[first].id));
        }
        let items = to_write
            .iter()
            .map(|&i| Self::lead_item(&leads[i]))
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_put(items).await?;
        // The status gauges, once per batch. A crash between the two writes
        // under-counts these leads (docs/data-model.md, "Counters").
        let mut gauges: HashMap<TenantId, StatsDelta> = HashMap::new();
        for &i in &to_write {
            let lead = &leads[i];
            gauges
                .entry(lead.tenant_id)
                .or_default()
                .merge(&StatsDelta::for_lead_change(None, Some(lead), lead.created_at));
        }
        for (tenant, delta) in gauges {
            self.add_stats(tenant, &delta).await?;
        }
        Ok(results
            .into_iter()
            .map(|r| r.expect("every lead was settled"))
            .collect())
    }

    async fn get_lead(&self, tenant: TenantId, id: LeadId) -> Result<Option<Lead>, StoreError> {
        match self.get(&keys::lead(tenant, id)).await? {
            Some(item) if attribute_text(&item, "entity").as_deref() == Some(LEAD) => decode(item, "lead").map(Some),
            _ => Ok(None),
        }
    }

    async fn list_campaign_leads(
        &self,
        tenant: TenantId,
        campaign: CampaignId,
        status: Option<LeadStatus>,
        page: &PageRequest,
    ) -> Result<Page<Lead>, StoreError> {
        let listing = match status {
            None => Listing::index(GSI1, keys::campaign_leads(tenant, campaign)),
            Some(status) => Listing::index(GSI2, keys::campaign_leads_with_status(tenant, campaign, status)),
        };
        self.query_page(tenant, listing, page, "lead").await
    }

    async fn find_leads_by_email(
        &self,
        tenant: TenantId,
        email: &EmailAddress,
        page: &PageRequest,
    ) -> Result<Page<Lead>, StoreError> {
        let listing = Listing::index(GSI3, keys::leads_with_email(tenant, email));
        self.query_page(tenant, listing, page, "lead").await
    }

    async fn replace_lead(
        &self,
        lead: &Lead,
        previous: &Lead,
    ) -> Result<Result<(), AlreadyExists<LeadId>>, StoreError> {
        let item = Self::lead_item(lead)?;
        let versioned = Some(version_values(previous.version));
        // A status change moves the gauges in the same transaction: counted exactly once.
        let gauges = StatsDelta::for_lead_change(Some(previous), Some(lead), lead.updated_at);
        // A changed identity (address, or the phone of a lead without one) moves along id chains.
        if lead.identity() == previous.identity() {
            if gauges.is_empty() {
                return if self.put_if(item, HAS_VERSION, versioned).await? {
                    Ok(Ok(()))
                } else {
                    Err(StoreError::VersionConflict)
                };
            }
            let mut actions = vec![put(&self.table, item, HAS_VERSION, versioned)?];
            actions.extend(self.counter_actions(lead.tenant_id, &gauges)?);
            return match self.transact(actions).await? {
                TransactOutcome::Committed => Ok(Ok(())),
                TransactOutcome::ConditionsFailed(_) => Err(StoreError::VersionConflict),
            };
        }
        let new_alias = match self.chain_position(lead, &lead.identity()).await? {
            ChainPosition::Taken(holder) => return Ok(Err(AlreadyExists(holder))),
            ChainPosition::Own => None,
            ChainPosition::Free(id) => Some(id),
        };
        let mut actions = vec![put(&self.table, item, HAS_VERSION, versioned)?];
        actions.extend(self.counter_actions(lead.tenant_id, &gauges)?);
        if let Some(id) = new_alias {
            actions.push(put(&self.table, Self::lead_alias_item(lead, id), IS_NEW, None)?);
        }
        if let Some(old_alias) = self.alias_of(previous).await? {
            actions.push(delete(&self.table, &old_alias, None)?);
        }
        match self.transact(actions).await? {
            TransactOutcome::Committed => Ok(Ok(())),
            // Someone took the address or changed the lead meanwhile: the caller reads and retries.
            TransactOutcome::ConditionsFailed(_) => match self.chain_position(lead, &lead.identity()).await? {
                ChainPosition::Taken(holder) => Ok(Err(AlreadyExists(holder))),
                _ => Err(StoreError::VersionConflict),
            },
        }
    }

    async fn delete_lead(&self, lead: &Lead) -> Result<(), StoreError> {
        let key = keys::lead(lead.tenant_id, lead.id);
        let on_own_chain = (0..MAX_PROBES).any(|probe| lead.id_for_probe(probe) == lead.id);
        let mut actions = vec![if on_own_chain {
            // Conditional, so a repeated delete cannot take the lead off the counters twice.
            delete(&self.table, &key, Some((HAS_VERSION, version_values(lead.version))))?
        } else {
            // Leads further along the chain of the address it was made with must stay findable.
            let mut tombstone = key_item(&key);
            tombstone.insert("entity".into(), s(LEAD_TOMBSTONE));
            tombstone.insert("tenant_id".into(), s(lead.tenant_id.to_string()));
            put(&self.table, tombstone, HAS_VERSION, Some(version_values(lead.version)))?
        }];
        if let Some(alias) = self.alias_of(lead).await? {
            actions.push(delete(&self.table, &alias, None)?);
        }
        let gauges = StatsDelta::for_lead_change(Some(lead), None, Utc::now());
        actions.extend(self.counter_actions(lead.tenant_id, &gauges)?);
        match self.transact(actions).await? {
            TransactOutcome::Committed => Ok(()),
            TransactOutcome::ConditionsFailed(_) => Err(StoreError::VersionConflict),
        }
    }
}

impl DynamoStore {
    fn import_error_items(tenant: TenantId, id: ImportJobId, errors: &[RowError]) -> Result<Vec<Item>, StoreError> {
        errors
            .iter()
            .map(|error| {
                entity_item(
                    error,
                    tenant,
                    &keys::import_error(tenant, id, error.row),
                    "import_error",
                )
            })
            .collect()
    }

    /// Completes a job whose every batch has been counted (once).
    async fn complete_import_if_done(&self, job: ImportJob, at: DateTime<Utc>) -> Result<ImportJob, StoreError> {
        if job.batches_done < job.batches_total || job.status == ImportStatus::Completed {
            return Ok(job);
        }
        let result = self
            .update_if(
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key_item(&keys::import_job(job.tenant_id, job.id))))
                    .update_expression("SET #status = :completed, finished_at = :at")
                    .condition_expression("#status <> :completed")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":completed", s("completed"))
                    .expression_attribute_values(":at", s(timestamp(at)))
                    .return_values(ReturnValue::AllNew),
            )
            .await?;
        match result {
            Some(attributes) => decode(attributes, "import job"),
            // Completed meanwhile by another delivery.
            None => self
                .get_import(job.tenant_id, job.id)
                .await?
                .ok_or(StoreError::VersionConflict),
        }
    }
}

#[async_trait]
impl ImportStore for DynamoStore {
    async fn insert_import(&self, job: &ImportJob, errors: &[RowError]) -> Result<(), StoreError> {
        let item = entity_item(job, job.tenant_id, &keys::import_job(job.tenant_id, job.id), "import")?;
        if !self.put_if(item, IS_NEW, None).await? {
            return Err(StoreError::VersionConflict);
        }
        self.batch_put(Self::import_error_items(job.tenant_id, job.id, errors)?)
            .await
    }

    async fn get_import(&self, tenant: TenantId, id: ImportJobId) -> Result<Option<ImportJob>, StoreError> {
        self.get_entity(&keys::import_job(tenant, id), "import job").await
    }

    async fn start_import(&self, job: &ImportJob, errors: &[RowError]) -> Result<bool, StoreError> {
        let item = entity_item(job, job.tenant_id, &keys::import_job(job.tenant_id, job.id), "import")?;
        let waiting = Item::from([
            (":awaiting".to_string(), s("awaiting_upload")),
            (":queued".to_string(), s("queued")),
        ]);
        let status = HashMap::from([("#status".to_string(), "status".to_string())]);
        if !self
            .put_if_named(item, "#status IN (:awaiting, :queued)", Some(status), Some(waiting))
            .await?
        {
            return Ok(false);
        }
        self.batch_put(Self::import_error_items(job.tenant_id, job.id, errors)?)
            .await?;
        Ok(true)
    }

    async fn fail_import(
        &self,
        tenant: TenantId,
        id: ImportJobId,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.update_if(
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_item(&keys::import_job(tenant, id))))
                .update_expression("SET #status = :failed, #error = :reason, finished_at = :at")
                .condition_expression("attribute_exists(PK)")
                .expression_attribute_names("#status", "status")
                .expression_attribute_names("#error", "error")
                .expression_attribute_values(":failed", s("failed"))
                .expression_attribute_values(":reason", s(reason))
                .expression_attribute_values(":at", s(timestamp(at))),
        )
        .await?;
        Ok(())
    }

    async fn mark_import_running(
        &self,
        tenant: TenantId,
        id: ImportJobId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.update_if(
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_item(&keys::import_job(tenant, id))))
                .update_expression("SET #status = :running, started_at = :at")
                .condition_expression("#status = :queued")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":running", s("running"))
                .expression_attribute_values(":queued", s("queued"))
                .expression_attribute_values(":at", s(timestamp(at))),
        )
        .await?;
        // A condition that did not hold is fine: another batch got there first.
        Ok(())
    }

    async fn record_import_batch(
        &self,
        tenant: TenantId,
        id: ImportJobId,
        outcome: &BatchOutcome,
        at: DateTime<Utc>,
    ) -> Result<ImportJob, StoreError> {
        // Errors first: their keys are per row, so writing them again is harmless.
        self.batch_put(Self::import_error_items(tenant, id, &outcome.errors)?)
            .await?;
        let number = |n: u64| AttributeValue::N(n.to_string());
        let result = self.update_if(self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::import_job(tenant, id))))
            .update_expression(
                "SET created = created + :created, duplicates = duplicates + :duplicates, \
                 invalid = invalid + :invalid, batches_done = batches_done + :one ADD counted_batches :batch_set",
            )
            .condition_expression(
                "attribute_exists(PK) AND (attribute_not_exists(counted_batches) OR NOT contains(counted_batches, :batch))",
            )
            .expression_attribute_values(":created", number(outcome.created))
            .expression_attribute_values(":duplicates", number(outcome.duplicates))
            .expression_attribute_values(":invalid", number(outcome.invalid))
            .expression_attribute_values(":one", number(1))
            .expression_attribute_values(":batch", number(u64::from(outcome.batch)))
            .expression_attribute_values(":batch_set", AttributeValue::Ns(vec![outcome.batch.to_string()]))
            .return_values(ReturnValue::AllNew)).await?;
        let job: ImportJob = match result {
            Some(attributes) => decode(attributes, "import job")?,
            // This batch was counted before (a redelivery): report the job as it is.
            None => self.get_import(tenant, id).await?.ok_or(StoreError::VersionConflict)?,
        };
        self.complete_import_if_done(job, at).await
    }

    async fn list_import_errors(
        &self,
        tenant: TenantId,
        id: ImportJobId,
        page: &PageRequest,
    ) -> Result<Page<RowError>, StoreError> {
        let listing = Listing::table(keys::import_errors(tenant, id), keys::IMPORT_ERROR_PREFIX);
        self.query_page(tenant, listing, page, "import error").await
    }
}

impl DynamoStore {
    /// A source item; a sheet with a next poll time sits in the due index.
    fn lead_source_item(source: &LeadSource) -> Result<Item, StoreError> {
        let key = keys::lead_source(source.tenant_id, source.id);
        let mut item = entity_item(source, source.tenant_id, &key, "lead_source")?;
        if let (cc_domain::lead_source::SourceType::GoogleSheet, Some(next)) = (source.kind, source.next_poll_at) {
            item.insert(GSI1.pk.into(), s(keys::due_sheets(keys::due_sheet_shard(source.id))));
            item.insert(GSI1.sk.into(), s(timestamp(next)));
        }
        Ok(item)
    }
}

#[async_trait]
impl LeadSourceStore for DynamoStore {
    async fn insert_lead_source(&self, source: &LeadSource) -> Result<(), StoreError> {
        if !self.put_if(Self::lead_source_item(source)?, IS_NEW, None).await? {
            return Err(StoreError::VersionConflict);
        }
        // The pointer last: until it exists the source simply is not callable yet.
        let mut pointer = key_item(&keys::lead_source_pointer(source.id));
        pointer.insert("tenant_id".into(), s(source.tenant_id.to_string()));
        pointer.insert("entity".into(), s("lead_source_pointer"));
        if self.put_if(pointer, IS_NEW, None).await? {
            Ok(())
        } else {
            Err(StoreError::VersionConflict)
        }
    }

    async fn due_sheet_sources(&self, now: DateTime<Utc>) -> Result<Vec<LeadSource>, StoreError> {
        let mut due = Vec::new();
        for shard in 0..keys::DUE_SHEET_SHARDS {
            let mut start = None;
            loop {
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(GSI1.name)
                    .key_condition_expression("#pk = :pk AND #sk <= :now")
                    .expression_attribute_names("#pk", GSI1.pk)
                    .expression_attribute_names("#sk", GSI1.sk)
                    .expression_attribute_values(":pk", s(keys::due_sheets(shard)))
                    .expression_attribute_values(":now", s(timestamp(now)))
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(backend("Query"))?;
                for item in out.items.unwrap_or_default() {
                    due.push(decode(item, "lead source")?);
                }
                match out.last_evaluated_key {
                    Some(key) => start = Some(key),
                    None => break,
                }
            }
        }
        Ok(due)
    }

    async fn save_lead_source(&self, source: &LeadSource) -> Result<(), StoreError> {
        // A source deleted meanwhile stays deleted: there is nothing to save.
        self.put_if(Self::lead_source_item(source)?, "attribute_exists(PK)", None)
            .await?;
        Ok(())
    }

    async fn get_lead_source(&self, tenant: TenantId, id: LeadSourceId) -> Result<Option<LeadSource>, StoreError> {
        self.get_entity(&keys::lead_source(tenant, id), "lead source").await
    }

    async fn find_lead_source(&self, id: LeadSourceId) -> Result<Option<LeadSource>, StoreError> {
        let tenant = self
            .claim_holder(&keys::lead_source_pointer(id), "tenant_id")
            .await?
            .and_then(|t| t.parse::<TenantId>().ok());
        match tenant {
            Some(tenant) => self.get_lead_source(tenant, id).await,
            None => Ok(None),
        }
    }

    async fn list_lead_sources(&self, tenant: TenantId, page: &PageRequest) -> Result<Page<LeadSource>, StoreError> {
        let listing = Listing::table(keys::tenant_items(tenant), keys::LEAD_SOURCE_PREFIX);
        self.query_page(tenant, listing, page, "lead source").await
    }

    async fn delete_lead_source(&self, source: &LeadSource) -> Result<(), StoreError> {
        // The pointer first: a half-done delete leaves nothing callable.
        self.delete_existing(&keys::lead_source_pointer(source.id)).await?;
        self.delete_existing(&keys::lead_source(source.tenant_id, source.id))
            .await?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Mailboxes and templates
// ---------------------------------------------------------------------------

const MAILBOX: &str = "mailbox";
const TEMPLATE: &str = "template";
const TEMPLATE_VERSION: &str = "template_version";

impl DynamoStore {
    fn mailbox_item(mailbox: &Mailbox) -> Result<Item, StoreError> {
        let key = keys::mailbox(mailbox.tenant_id, mailbox.id);
        entity_item(mailbox, mailbox.tenant_id, &key, MAILBOX)
    }

    fn mailbox_email_item(mailbox: &Mailbox) -> Item {
        let mut item = key_item(&keys::mailbox_email(mailbox.tenant_id, &mailbox.email));
        item.insert("mailbox_id".into(), s(mailbox.id.to_string()));
        item.insert("tenant_id".into(), s(mailbox.tenant_id.to_string()));
        item.insert("entity".into(), s("mailbox_email"));
        item
    }

    fn template_item(template: &Template) -> Result<Item, StoreError> {
        let key = keys::template(template.tenant_id, template.id);
        entity_item(template, template.tenant_id, &key, TEMPLATE)
    }

    fn template_version_item(version: &TemplateVersion) -> Result<Item, StoreError> {
        let key = keys::template_version(version.tenant_id, version.template_id, version.version);
        entity_item(version, version.tenant_id, &key, TEMPLATE_VERSION)
    }
}

#[async_trait]
impl MailboxStore for DynamoStore {
    async fn insert_mailbox(&self, mailbox: &Mailbox) -> Result<Result<(), AddressTaken>, StoreError> {
        let mut owner = key_item(&keys::sender_address(&mailbox.email));
        owner.insert("tenant_id".into(), s(mailbox.tenant_id.to_string()));
        owner.insert("entity".into(), s("sender_address"));
        // The same tenant may take its own address back (a delete that stopped half-way).
        let own = HashMap::from([(":tenant".to_string(), s(mailbox.tenant_id.to_string()))]);
        let actions = vec![
            put(&self.table, Self::mailbox_email_item(mailbox), IS_NEW, None)?,
            put(&self.table, Self::mailbox_item(mailbox)?, IS_NEW, None)?,
            put(
                &self.table,
                owner,
                "attribute_not_exists(PK) OR tenant_id = :tenant",
                Some(own),
            )?,
        ];
        match self.transact(actions).await? {
            TransactOutcome::Committed => Ok(Ok(())),
            TransactOutcome::ConditionsFailed(failed) => {
                let claim = keys::mailbox_email(mailbox.tenant_id, &mailbox.email);
                if let Some(holder) = self
                    .claim_holder(&claim, "mailbox_id")
                    .await?
                    .and_then(|id| id.parse().ok())
                {
                    return Ok(Err(AddressTaken::Mailbox(holder)));
                }
                if failed.get(2).copied().unwrap_or(false) {
                    return Ok(Err(AddressTaken::OtherTenant));
                }
                Err(StoreError::VersionConflict)
            }
        }
    }

    async fn get_mailbox(&self, tenant: TenantId, id: MailboxId) -> Result<Option<Mailbox>, StoreError> {
        self.get_entity(&keys::mailbox(tenant, id), MAILBOX).await
    }

    async fn list_mailboxes(&self, tenant: TenantId, page: &PageRequest) -> Result<Page<Mailbox>, StoreError> {
        let listing = Listing::table(keys::tenant_items(tenant), keys::MAILBOX_PREFIX);
        self.query_page(tenant, listing, page, MAILBOX).await
    }

    async fn replace_mailbox(&self, mailbox: &Mailbox, expected_version: u64) -> Result<(), StoreError> {
        let item = Self::mailbox_item(mailbox)?;
        if self
            .put_if(item, HAS_VERSION, Some(version_values(expected_version)))
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::VersionConflict)
        }
    }

    async fn delete_mailbox(&self, mailbox: &Mailbox) -> Result<(), StoreError> {
        self.delete_with_claim(
            &keys::mailbox(mailbox.tenant_id, mailbox.id),
            &keys::mailbox_email(mailbox.tenant_id, &mailbox.email),
        )
        .await?;
        // Last, and only this tenant's: until then the address stays this tenant's.
        let own = HashMap::from([(":tenant".to_string(), s(mailbox.tenant_id.to_string()))]);
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&keys::sender_address(&mailbox.email))))
            .condition_expression("tenant_id = :tenant")
            .set_expression_attribute_values(Some(own))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(StoreError::backend("DeleteItem", err)),
        }
    }
}

#[async_trait]
impl TemplateStore for DynamoStore {
    async fn insert_template(&self, template: &Template, first: &TemplateVersion) -> Result<(), StoreError> {
        let actions = vec![
            put(&self.table, Self::template_item(template)?, IS_NEW, None)?,
            put(&self.table, Self::template_version_item(first)?, IS_NEW, None)?,
        ];
        match self.transact(actions).await? {
            TransactOutcome::Committed => Ok(()),
            TransactOutcome::ConditionsFailed(_) => Err(StoreError::VersionConflict),
        }
    }

    async fn get_template(&self, tenant: TenantId, id: TemplateId) -> Result<Option<Template>, StoreError> {
        self.get_entity(&keys::template(tenant, id), TEMPLATE).await
    }

    async fn list_templates(&self, tenant: TenantId, page: &PageRequest) -> Result<Page<Template>, StoreError> {
        let listing = Listing::table(keys::tenant_items(tenant), keys::TEMPLATE_PREFIX);
        self.query_page(tenant, listing, page, TEMPLATE).await
    }

    async fn save_template_version(
        &self,
        template: &Template,
        snapshot: &TemplateVersion,
        expected_version: u32,
    ) -> Result<(), StoreError> {
        // The template (version-checked) and its new snapshot in one
        // transaction: a version item exists exactly when the template reached it.
        let actions = vec![
            put(
                &self.table,
                Self::template_item(template)?,
                HAS_VERSION,
                Some(version_values(expected_version.into())),
            )?,
            put(&self.table, Self::template_version_item(snapshot)?, IS_NEW, None)?,
        ];
        match self.transact(actions).await? {
            TransactOutcome::Committed => Ok(()),
            TransactOutcome::ConditionsFailed(_) => Err(StoreError::VersionConflict),
        }
    }

    async fn get_template_version(
        &self,
        tenant: TenantId,
        id: TemplateId,
        version: u32,
    ) -> Result<Option<TemplateVersion>, StoreError> {
        self.get_entity(&keys::template_version(tenant, id, version), TEMPLATE_VERSION)
            .await
    }

    async fn list_template_versions(
        &self,
        tenant: TenantId,
        id: TemplateId,
        page: &PageRequest,
    ) -> Result<Page<TemplateVersion>, StoreError> {
        let listing = Listing::table(keys::template_versions(tenant, id), keys::TEMPLATE_VERSION_PREFIX).newest_first();
        self.query_page(tenant, listing, page, TEMPLATE_VERSION).await
    }

    async fn delete_template(&self, tenant: TenantId, id: TemplateId) -> Result<bool, StoreError> {
        self.delete_existing(&keys::template(tenant, id)).await
    }
}
