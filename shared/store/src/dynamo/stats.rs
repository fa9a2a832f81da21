//! Counters (KPIs) and the activity timeline / live feed in DynamoDB.
//!
//! Counters: per campaign and per tenant, a `TOTAL#<shard>` item (every
//! slice: whole, step, variant) and a `D#<day>#<shard>` item per day (whole
//! only), updated with `ADD`. A writer picks one shard per write, so
//! concurrent batches spread over `STATS_SHARDS` items; readers sum them in
//! one Query.

use super::*;
use aws_sdk_dynamodb::types::Update;
use cc_domain::activity::{Activity, feed_position};
use cc_domain::ports::{ActivityStore, StatsStore};
use cc_domain::stats::{Counts, Scope, Slice, StatsDelta, Tally};
use chrono::NaiveDate;
use std::collections::BTreeMap;

const STATS: &str = "stats";
const ACTIVITY: &str = "activity";

/// Days of feed a poll reads back at most; an older cursor resumes there.
const FEED_DAYS_BACK: i64 = 7;

fn shard() -> u8 {
    uuid::Uuid::new_v4().as_bytes()[0] % keys::STATS_SHARDS
}

/// One counter update: `ADD` every non-zero count of `counts` (named by slice).
struct CounterUpdate {
    key: Key,
    expression: String,
    names: HashMap<String, String>,
    values: Item,
}

impl CounterUpdate {
    fn new(key: Key, tenant: TenantId, counts: impl Iterator<Item = (String, i64)>) -> Option<Self> {
        let mut adds = Vec::new();
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        for (i, (name, n)) in counts.filter(|(_, n)| *n != 0).enumerate() {
            adds.push(format!("#c{i} :c{i}"));
            names.insert(format!("#c{i}"), name);
            values.insert(format!(":c{i}"), AttributeValue::N(n.to_string()));
        }
        if adds.is_empty() {
            return None;
        }
        names.insert("#entity".into(), "entity".into());
        names.insert("#tenant".into(), "tenant_id".into());
        values.insert(":entity".into(), s(STATS));
        values.insert(":tenant".into(), s(tenant.to_string()));
        Some(Self {
            key,
            expression: format!("SET #entity = :entity, #tenant = :tenant ADD {}", adds.join(", ")),
            names,
            values,
        })
    }

    fn transact_item(self, table: &str) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(table)
            .set_key(Some(key_item(&self.key)))
            .update_expression(self.expression)
            .set_expression_attribute_names(Some(self.names))
            .set_expression_attribute_values(Some(self.values))
            .build()
            .map_err(backend("building a counter update"))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

/// The counter updates of a delta: per (scope, day), the totals and the day.
fn counter_updates(tenant: TenantId, delta: &StatsDelta) -> Vec<CounterUpdate> {
    let shard = shard();
    let mut updates = Vec::new();
    for ((scope, day), tally) in &delta.0 {
        let all_slices = tally.0.iter().flat_map(|(slice, counts)| {
            counts
                .iter()
                .map(move |(m, n)| (format!("{}{}", slice.prefix(), m.name()), n))
        });
        updates.extend(CounterUpdate::new(
            keys::stats_total(tenant, *scope, shard),
            tenant,
            all_slices,
        ));
        let whole = tally.whole();
        updates.extend(CounterUpdate::new(
            keys::stats_day(tenant, *scope, *day, shard),
            tenant,
            whole.iter().map(|(m, n)| (m.name().to_string(), n)),
        ));
    }
    updates
}

/// Adds an item's counters into `tally`.
fn read_counters(item: &Item, tally: &mut Tally) {
    for (name, value) in item {
        let (Some((slice, metric)), AttributeValue::N(text)) = (Slice::parse_attribute(name), value) else {
            continue;
        };
        if let Ok(n) = text.parse::<i64>() {
            tally.add(slice, metric, n);
        }
    }
}

impl DynamoStore {
    /// The transaction actions that add `delta` (for writes that must count exactly once).
    pub(super) fn counter_actions(
        &self,
        tenant: TenantId,
        delta: &StatsDelta,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        counter_updates(tenant, delta)
            .into_iter()
            .map(|u| u.transact_item(&self.table))
            .collect()
    }

    pub(super) fn activity_item(activity: &Activity) -> Result<Item, StoreError> {
        let key = match (activity.lead_id, activity.campaign_id) {
            (Some(lead), _) => keys::lead_activity(activity.tenant_id, lead, activity.id),
            (None, Some(campaign)) => keys::campaign_activity(activity.tenant_id, campaign, activity.id),
            (None, None) => {
                return Err(StoreError::corrupt(
                    "an activity about neither a lead nor a campaign",
                    std::io::Error::other("no lead_id or campaign_id"),
                ));
            }
        };
        let mut item = entity_item(activity, activity.tenant_id, &key, ACTIVITY)?;
        let recorded = activity.recorded_at.unwrap_or(activity.at);
        item.insert(
            GSI4.pk.into(),
            s(keys::feed_day(activity.tenant_id, recorded.date_naive())),
        );
        item.insert(GSI4.sk.into(), s(activity.feed_position()));
        Ok(item)
    }

    /// One day of the feed after `after` and up to `until_position`, oldest first
    /// (or, for `latest`, the newest `limit` of it).
    async fn feed_day(
        &self,
        tenant: TenantId,
        day: NaiveDate,
        after: Option<&str>,
        until_position: &str,
        limit: usize,
        latest: bool,
    ) -> Result<Vec<Activity>, StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI4.name)
            .expression_attribute_names("#pk", GSI4.pk)
            .expression_attribute_names("#sk", GSI4.sk)
            .expression_attribute_values(":pk", s(keys::feed_day(tenant, day)))
            .expression_attribute_values(":until", s(until_position))
            .scan_index_forward(!latest)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        query = match after {
            Some(after) => query
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :after AND :until")
                .expression_attribute_values(":after", s(after)),
            None => query.key_condition_expression("#pk = :pk AND #sk <= :until"),
        };
        let out = query.send().await.map_err(backend("Query"))?;
        let mut activities = Vec::new();
        for item in out.items.unwrap_or_default() {
            if after.is_some_and(|a| attribute_text(&item, GSI4.sk).as_deref() == Some(a)) {
                continue; // BETWEEN includes the cursor itself
            }
            match attribute_text(&item, "entity").as_deref() {
                Some(LEAD) => activities.push(Activity::lead_created(&decode::<Lead>(item, "lead")?)),
                Some(ACTIVITY) => activities.push(decode(item, "activity")?),
                _ => {}
            }
        }
        if latest {
            activities.reverse();
        }
        Ok(activities)
    }
}

#[async_trait]
impl ActivityStore for DynamoStore {
    async fn append_activities(&self, activities: &[Activity]) -> Result<(), StoreError> {
        let items = activities
            .iter()
            .map(Self::activity_item)
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_put(items).await
    }

    async fn list_lead_activities(
        &self,
        tenant: TenantId,
        lead: LeadId,
        page: &PageRequest,
    ) -> Result<Page<Activity>, StoreError> {
        // Newest first: the activities, then the lead item (`#LEAD` sorts
        // first), its creation. Its emails (`EMAIL#`) sort after and are left out.
        let listing = Listing::partition(keys::lead_activities(tenant, lead))
            .below("ACTIVITY$")
            .newest_first();
        let raw = self.query_items(tenant, listing, page).await?;
        let mut items = Vec::with_capacity(raw.items.len());
        for item in raw.items {
            match attribute_text(&item, "entity").as_deref() {
                Some(LEAD) => items.push(Activity::lead_created(&decode::<Lead>(item, "lead")?)),
                Some(ACTIVITY) => items.push(decode(item, "activity")?),
                _ => {}
            }
        }
        Ok(Page {
            items,
            next_cursor: raw.next_cursor,
        })
    }

    async fn activity_feed(
        &self,
        tenant: TenantId,
        after: Option<&str>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Activity>, StoreError> {
        let until_position = feed_position(until, uuid::Uuid::max());
        let today = until.date_naive();
        let oldest = today - chrono::TimeDelta::days(FEED_DAYS_BACK);
        let Some(after) = after else {
            // The latest: today's, then yesterday's if today has too few.
            let mut latest = self.feed_day(tenant, today, None, &until_position, limit, true).await?;
            if latest.len() < limit {
                let yesterday = today - chrono::TimeDelta::days(1);
                let mut earlier = self
                    .feed_day(tenant, yesterday, None, &until_position, limit - latest.len(), true)
                    .await?;
                earlier.append(&mut latest);
                latest = earlier;
            }
            return Ok(latest);
        };
        let after_day = after
            .split('.')
            .next()
            .and_then(|ms| ms.parse::<i64>().ok())
            .and_then(DateTime::<Utc>::from_timestamp_millis)
            .map_or(oldest, |t| t.date_naive().max(oldest));
        let mut found = Vec::new();
        let mut day = after_day;
        while day <= today && found.len() < limit {
            let cursor = (day == after_day).then_some(after);
            let mut page = self
                .feed_day(tenant, day, cursor, &until_position, limit - found.len(), false)
                .await?;
            found.append(&mut page);
            day = day.succ_opt().unwrap_or(today + chrono::TimeDelta::days(1));
        }
        Ok(found)
    }
}

#[async_trait]
impl StatsStore for DynamoStore {
    async fn add_stats(&self, tenant: TenantId, delta: &StatsDelta) -> Result<(), StoreError> {
        let updates = counter_updates(tenant, delta);
        stream::iter(updates)
            .map(|u| async move {
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key_item(&u.key)))
                    .update_expression(u.expression)
                    .set_expression_attribute_names(Some(u.names))
                    .set_expression_attribute_values(Some(u.values))
                    .send()
                    .await
                    .map_err(backend("UpdateItem"))
                    .map(|_| ())
            })
            .buffer_unordered(8)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    async fn stats_totals(&self, tenant: TenantId, scope: Scope) -> Result<Tally, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(keys::stats_partition(tenant, scope)))
            .expression_attribute_values(":prefix", s(keys::STATS_TOTAL_PREFIX))
            .send()
            .await
            .map_err(backend("Query"))?;
        let mut tally = Tally::default();
        for item in out.items.unwrap_or_default() {
            read_counters(&item, &mut tally);
        }
        Ok(tally)
    }

    async fn stats_days(
        &self,
        tenant: TenantId,
        scope: Scope,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, Counts>, StoreError> {
        let mut days = BTreeMap::new();
        let mut start = None;
        // Day items are small (whole counts only): a year of them is one page.
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
                .expression_attribute_values(":pk", s(keys::stats_partition(tenant, scope)))
                .expression_attribute_values(
                    ":from",
                    s(format!("{}{}", keys::STATS_DAY_PREFIX, from.format("%Y-%m-%d"))),
                )
                .expression_attribute_values(
                    ":to",
                    s(format!("{}{}#~", keys::STATS_DAY_PREFIX, to.format("%Y-%m-%d"))),
                )
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend("Query"))?;
            for item in out.items.unwrap_or_default() {
                let Some(day) = attribute_text(&item, SK).and_then(|sk| {
                    sk.get(2..12)
                        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                }) else {
                    continue;
                };
                let mut tally = Tally::default();
                read_counters(&item, &mut tally);
                days.entry(day).or_insert_with(Counts::default).merge(&tally.whole());
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(days)
    }
}
