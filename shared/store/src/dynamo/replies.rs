//! The inbox in DynamoDB: one item per inbound message in the tenant's inbox
//! partition (newest first by id, a UUIDv7 of its arrival), in the lead's
//! thread index (GSI2) when matched.

use super::*;
use cc_domain::ids::ReplyId;
use cc_domain::ports::{ReplyCommit, ReplyStore};
use cc_domain::reply::{Reply, ReplyFilter};
use cc_domain::stats::StatsDelta;

const REPLY: &str = "reply";
/// Inbox items read per Query while filling a filtered page.
const INBOX_READ_BATCH: i32 = 200;

impl DynamoStore {
    fn reply_item(reply: &Reply) -> Result<Item, StoreError> {
        let key = keys::reply(reply.tenant_id, reply.id);
        let mut item = entity_item(reply, reply.tenant_id, &key, REPLY)?;
        // The raw MIME's S3 key is kept, though the API does not show it.
        item.insert("object_key".into(), s(&reply.object_key));
        if let Some(full) = &reply.full_text {
            item.insert("full_text".into(), s(full));
        }
        if let Some(lead) = reply.lead_id {
            item.insert(GSI2.pk.into(), s(keys::lead_replies(reply.tenant_id, lead)));
            item.insert(GSI2.sk.into(), s(reply.id.to_string()));
        }
        Ok(item)
    }

    fn decode_reply(item: Item) -> Result<Reply, StoreError> {
        decode(item, REPLY)
    }
}

#[async_trait]
impl ReplyStore for DynamoStore {
    async fn commit_reply(&self, commit: &ReplyCommit) -> Result<bool, StoreError> {
        let tenant = commit.reply.tenant_id;
        let mut actions = vec![put(&self.table, Self::reply_item(&commit.reply)?, IS_NEW, None)?];
        if let Some((email, expected)) = &commit.email {
            actions.push(put(
                &self.table,
                Self::email_item(email)?,
                HAS_VERSION,
                Some(version_values(*expected)),
            )?);
        }
        for activity in &commit.activities {
            actions.push(put_always(&self.table, Self::activity_item(activity)?)?);
        }
        actions.extend(self.counter_actions(tenant, &commit.stats)?);
        match self.transact(actions).await? {
            TransactOutcome::Committed => Ok(true),
            // The reply exists: a redelivery, nothing written.
            TransactOutcome::ConditionsFailed(failed) if failed.first() == Some(&true) => Ok(false),
            TransactOutcome::ConditionsFailed(_) => Err(StoreError::VersionConflict),
        }
    }

    async fn get_reply(&self, tenant: TenantId, id: ReplyId) -> Result<Option<Reply>, StoreError> {
        match self.get(&keys::reply(tenant, id)).await? {
            Some(item) => Self::decode_reply(item).map(Some),
            None => Ok(None),
        }
    }

    async fn list_replies(
        &self,
        tenant: TenantId,
        filter: &ReplyFilter,
        page: &PageRequest,
    ) -> Result<Page<Reply>, StoreError> {
        // Newest first; filters are applied to what is read (an inbox is read
        // by people, page by page), resuming after the last item returned.
        let partition = keys::inbox(tenant);
        let scope = format!("inbox|{partition}");
        let mut start = match &page.cursor {
            Some(text) => Some(cursor::decode(tenant, &scope, PK, &partition, &text.0)?),
            None => None,
        };
        let limit = page.limit as usize;
        let mut items = Vec::new();
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(&partition))
                .expression_attribute_values(":prefix", s(keys::REPLY_PREFIX))
                .scan_index_forward(false)
                .limit(INBOX_READ_BATCH)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(backend("Query"))?;
            let mut last_key = out.last_evaluated_key;
            for item in out.items.unwrap_or_default() {
                let position: Item = [PK, SK]
                    .into_iter()
                    .filter_map(|n| item.get(n).map(|v| (n.to_string(), v.clone())))
                    .collect();
                let reply = Self::decode_reply(item)?;
                if !filter.accepts(&reply) {
                    continue;
                }
                items.push(reply);
                if items.len() == limit {
                    // Full: resume after this one (whether or not more match).
                    last_key = Some(position);
                    return Ok(Page {
                        items,
                        next_cursor: last_key.map(|key| cursor::encode(tenant, &scope, &key)),
                    });
                }
            }
            match last_key {
                Some(key) => start = Some(key),
                None => {
                    return Ok(Page {
                        items,
                        next_cursor: None,
                    });
                }
            }
        }
    }

    async fn lead_replies(&self, tenant: TenantId, lead: LeadId) -> Result<Vec<Reply>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI2.name)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", GSI2.pk)
            .expression_attribute_values(":pk", s(keys::lead_replies(tenant, lead)))
            .send()
            .await
            .map_err(backend("Query"))?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(Self::decode_reply)
            .collect()
    }

    async fn save_reply(&self, reply: &Reply, expected_version: u64, stats: &StatsDelta) -> Result<(), StoreError> {
        let mut actions = vec![put(
            &self.table,
            Self::reply_item(reply)?,
            HAS_VERSION,
            Some(version_values(expected_version)),
        )?];
        actions.extend(self.counter_actions(reply.tenant_id, stats)?);
        match self.transact(actions).await? {
            TransactOutcome::Committed => Ok(()),
            TransactOutcome::ConditionsFailed(_) => Err(StoreError::VersionConflict),
        }
    }

    async fn record_unrouted(
        &self,
        ses_message_id: &str,
        object_key: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut item = key_item(&keys::unrouted_message(at.date_naive(), ses_message_id));
        item.insert("entity".into(), s("unrouted_message"));
        item.insert("object_key".into(), s(object_key));
        item.insert("received_at".into(), s(at.to_rfc3339()));
        self.batch_put(vec![item]).await
    }
}
