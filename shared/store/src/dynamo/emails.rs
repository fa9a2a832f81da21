//! Outbound emails, the due index and mailbox day counters in DynamoDB.

use super::*;
use cc_domain::ids::{EmailId, MailboxId};
use cc_domain::outbound::{OutboundEmail, SesMessageId, SesMessagePointer};
use cc_domain::ports::{DueEmail, EmailEventsCommit, EmailStore, MailboxBookings, StatsStore, due_shard};
use cc_domain::stats::StatsDelta;
use chrono::NaiveDate;

const EMAIL: &str = "email";
const SES_MESSAGE: &str = "ses_message";

/// Day attributes of a bookings item: `b20260302` (booked), `s20260302` (sent).
fn day_attribute(kind: char, day: NaiveDate) -> String {
    format!("{kind}{}", day.format("%Y%m%d"))
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

impl DynamoStore {
    /// An email item: in its campaign's listing, and in the due index while it waits.
    pub(super) fn email_item(email: &OutboundEmail) -> Result<Item, StoreError> {
        let key = keys::email(email.tenant_id, email.lead_id, email.step);
        let mut item = entity_item(email, email.tenant_id, &key, EMAIL)?;
        item.insert(
            GSI2.pk.into(),
            s(keys::campaign_emails(email.tenant_id, email.campaign_id)),
        );
        item.insert(GSI2.sk.into(), s(keys::email_sort(email.scheduled_at, email.id)));
        if let Some(due) = email.due_at() {
            item.insert(GSI1.pk.into(), s(keys::due_emails(due_shard(email.id))));
            item.insert(GSI1.sk.into(), s(keys::email_sort(due, email.id)));
        }
        Ok(item)
    }

    /// The pointer from an SES message id to its email (`keys::ses_message`),
    /// forgotten by the table's TTL (`expires_at`, epoch seconds).
    fn ses_pointer_item(pointer: &SesMessagePointer) -> Item {
        let mut item = key_item(&keys::ses_message(&pointer.ses_message_id));
        item.insert("entity".into(), s(SES_MESSAGE));
        item.insert("tenant_id".into(), s(pointer.tenant_id.to_string()));
        item.insert("lead_id".into(), s(pointer.lead_id.to_string()));
        item.insert("step".into(), n(pointer.step));
        item.insert("email_id".into(), s(pointer.email_id.to_string()));
        item.insert("expires_at".into(), n(pointer.expires_at.timestamp()));
        item
    }

    fn decode_ses_pointer(item: &Item) -> Result<SesMessagePointer, StoreError> {
        let text = |name: &str| attribute_text(item, name).unwrap_or_default();
        let corrupt =
            |what: &str| StoreError::corrupt("an SES message pointer", std::io::Error::other(what.to_string()));
        let number = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<i64>().ok())
        };
        let id = text(PK);
        Ok(SesMessagePointer {
            ses_message_id: id
                .strip_prefix(keys::SES_MESSAGE_PREFIX)
                .and_then(SesMessageId::parse)
                .ok_or_else(|| corrupt("its key"))?,
            tenant_id: text("tenant_id").parse().map_err(|_| corrupt("tenant_id"))?,
            lead_id: text("lead_id").parse().map_err(|_| corrupt("lead_id"))?,
            step: number("step")
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| corrupt("step"))?,
            email_id: text("email_id").parse().map_err(|_| corrupt("email_id"))?,
            expires_at: number("expires_at")
                .and_then(|v| DateTime::from_timestamp(v, 0))
                .ok_or_else(|| corrupt("expires_at"))?,
        })
    }

    async fn update_counter(
        &self,
        key: &Key,
        update: &str,
        condition: Option<&str>,
        names: HashMap<String, String>,
        values: Item,
    ) -> Result<bool, StoreError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .update_expression(update)
            .set_condition_expression(condition.map(str::to_string))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values));
        Ok(self.update_if(request).await?.is_some())
    }
}

#[async_trait]
impl EmailStore for DynamoStore {
    async fn schedule_emails(&self, emails: &[OutboundEmail]) -> Result<Vec<bool>, StoreError> {
        let items = emails.iter().map(Self::email_item).collect::<Result<Vec<_>, _>>()?;
        let stored: Vec<bool> = stream::iter(items)
            .map(|item| self.put_if(item, IS_NEW, None))
            .buffered(8)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        let mut by_tenant: HashMap<TenantId, Vec<&OutboundEmail>> = HashMap::new();
        for (email, _) in emails.iter().zip(&stored).filter(|(_, stored)| **stored) {
            by_tenant.entry(email.tenant_id).or_default().push(email);
        }
        for (tenant, planned) in by_tenant {
            let at = planned.iter().map(|e| e.updated_at).max().unwrap_or_else(Utc::now);
            self.add_stats(tenant, &StatsDelta::for_scheduled(planned, at)).await?;
        }
        Ok(stored)
    }

    async fn get_emails(&self, tenant: TenantId, keys: &[(LeadId, u32)]) -> Result<Vec<OutboundEmail>, StoreError> {
        let wanted = keys
            .iter()
            .map(|(lead, step)| key_item(&keys::email(tenant, *lead, *step)))
            .collect();
        self.batch_get(wanted, None)
            .await?
            .into_iter()
            .map(|item| decode(item, EMAIL))
            .collect()
    }

    async fn commit_email_events(&self, commit: &EmailEventsCommit) -> Result<(), StoreError> {
        let mut actions = Vec::new();
        for (email, expected) in &commit.emails {
            if email.tenant_id != commit.tenant {
                return Err(StoreError::VersionConflict);
            }
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
        for pointer in &commit.pointers {
            if pointer.tenant_id != commit.tenant {
                return Err(StoreError::VersionConflict);
            }
            actions.push(put_always(&self.table, Self::ses_pointer_item(pointer))?);
        }
        actions.extend(self.counter_actions(commit.tenant, &commit.stats)?);
        if actions.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::backend(
                "committing SES events",
                std::io::Error::other(format!("{} items exceed one transaction", actions.len())),
            ));
        }
        match self.transact(actions).await? {
            TransactOutcome::Committed => Ok(()),
            TransactOutcome::ConditionsFailed(_) => Err(StoreError::VersionConflict),
        }
    }

    async fn get_email(
        &self,
        tenant: TenantId,
        lead: LeadId,
        id: EmailId,
    ) -> Result<Option<OutboundEmail>, StoreError> {
        // Ids come from (lead, step); the step is not in the job, so read the lead's few emails.
        Ok(self
            .list_lead_emails(tenant, lead)
            .await?
            .into_iter()
            .find(|e| e.id == id))
    }

    async fn save_email(&self, email: &OutboundEmail, expected_version: u64) -> Result<(), StoreError> {
        let item = Self::email_item(email)?;
        if self
            .put_if(item, HAS_VERSION, Some(version_values(expected_version)))
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::VersionConflict)
        }
    }

    async fn record_sent(&self, email: &OutboundEmail, expected_version: u64) -> Result<(), StoreError> {
        let Some(pointer) = email.ses_pointer() else {
            return self.save_email(email, expected_version).await;
        };
        let actions = vec![
            put(
                &self.table,
                Self::email_item(email)?,
                HAS_VERSION,
                Some(version_values(expected_version)),
            )?,
            put_always(&self.table, Self::ses_pointer_item(&pointer))?,
        ];
        match self.transact(actions).await? {
            TransactOutcome::Committed => Ok(()),
            TransactOutcome::ConditionsFailed(_) => Err(StoreError::VersionConflict),
        }
    }

    async fn find_ses_messages(&self, ids: &[SesMessageId]) -> Result<Vec<SesMessagePointer>, StoreError> {
        let wanted = ids.iter().map(|id| key_item(&keys::ses_message(id))).collect();
        self.batch_get(wanted, None)
            .await?
            .iter()
            .map(Self::decode_ses_pointer)
            .collect()
    }

    async fn list_lead_emails(&self, tenant: TenantId, lead: LeadId) -> Result<Vec<OutboundEmail>, StoreError> {
        let partition = keys::email(tenant, lead, 0).pk;
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(partition))
            .expression_attribute_values(":prefix", s(keys::EMAIL_PREFIX))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend("Query"))?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(|item| decode(item, EMAIL))
            .collect()
    }

    async fn list_campaign_emails(
        &self,
        tenant: TenantId,
        campaign: CampaignId,
        page: &PageRequest,
    ) -> Result<Page<OutboundEmail>, StoreError> {
        let listing = Listing::index(GSI2, keys::campaign_emails(tenant, campaign));
        self.query_page(tenant, listing, page, EMAIL).await
    }

    async fn due_emails(&self, shard: u8, before: DateTime<Utc>, limit: usize) -> Result<Vec<DueEmail>, StoreError> {
        // Index keys are RFC 3339 text; beyond year 9999 the text would not sort.
        let last = DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z")
            .expect("a valid time")
            .to_utc();
        let upper = before.min(last).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let mut due = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1.name)
                .key_condition_expression("#pk = :pk AND #sk < :upper")
                .expression_attribute_names("#pk", GSI1.pk)
                .expression_attribute_names("#sk", GSI1.sk)
                .expression_attribute_values(":pk", s(keys::due_emails(shard)))
                .expression_attribute_values(":upper", s(upper.clone()))
                .limit(i32::try_from(limit - due.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend("Query"))?;
            for item in out.items.unwrap_or_default() {
                due.push(DueEmail {
                    email: decode(item, EMAIL)?,
                });
            }
            match out.last_evaluated_key {
                Some(key) if due.len() < limit => start = Some(key),
                _ => return Ok(due),
            }
        }
    }

    async fn mailbox_bookings(
        &self,
        tenant: TenantId,
        mailboxes: &[MailboxId],
    ) -> Result<HashMap<MailboxId, MailboxBookings>, StoreError> {
        let mut out = HashMap::new();
        for mailbox in mailboxes {
            let Some(item) = self.get(&keys::mailbox_bookings(tenant, *mailbox)).await? else {
                continue;
            };
            let mut bookings = MailboxBookings::default();
            for (name, value) in &item {
                let (kind, digits) = name.split_at(1.min(name.len()));
                let (Ok(day), Ok(count)) = (
                    NaiveDate::parse_from_str(digits, "%Y%m%d"),
                    value.as_n().map(|v| v.parse::<i64>().unwrap_or(0)),
                ) else {
                    continue;
                };
                let count = count.max(0) as u32;
                match kind {
                    "b" => bookings.booked_per_day.insert(day, count),
                    "s" => bookings.sent_per_day.insert(day, count),
                    _ => None,
                };
            }
            bookings.last_booked_at = attribute_text(&item, "last_booked_at")
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.to_utc());
            out.insert(*mailbox, bookings);
        }
        Ok(out)
    }

    async fn book_sends(
        &self,
        tenant: TenantId,
        mailbox: MailboxId,
        per_day: &[(NaiveDate, u32)],
        last: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = keys::mailbox_bookings(tenant, mailbox);
        if !per_day.is_empty() {
            let mut names = HashMap::new();
            let mut values = HashMap::new();
            let mut adds = Vec::new();
            for (i, (day, count)) in per_day.iter().enumerate() {
                names.insert(format!("#d{i}"), day_attribute('b', *day));
                values.insert(format!(":n{i}"), n(count));
                adds.push(format!("#d{i} :n{i}"));
            }
            self.update_counter(&key, &format!("ADD {}", adds.join(", ")), None, names, values)
                .await?;
        }
        // Only ever later: an earlier plan's time never replaces a later one.
        self.update_counter(
            &key,
            "SET #last = :last",
            Some("attribute_not_exists(#last) OR #last < :last"),
            HashMap::from([("#last".to_string(), "last_booked_at".to_string())]),
            HashMap::from([(":last".to_string(), s(timestamp(last)))]),
        )
        .await?;
        Ok(())
    }

    async fn count_send(
        &self,
        tenant: TenantId,
        mailbox: MailboxId,
        day: NaiveDate,
        cap: u32,
    ) -> Result<bool, StoreError> {
        self.update_counter(
            &keys::mailbox_bookings(tenant, mailbox),
            "ADD #day :one",
            Some("attribute_not_exists(#day) OR #day < :cap"),
            HashMap::from([("#day".to_string(), day_attribute('s', day))]),
            HashMap::from([(":one".to_string(), n(1)), (":cap".to_string(), n(cap))]),
        )
        .await
    }

    async fn uncount_send(&self, tenant: TenantId, mailbox: MailboxId, day: NaiveDate) -> Result<(), StoreError> {
        self.update_counter(
            &keys::mailbox_bookings(tenant, mailbox),
            "ADD #day :minus",
            Some("#day > :zero"),
            HashMap::from([("#day".to_string(), day_attribute('s', day))]),
            HashMap::from([(":minus".to_string(), n(-1)), (":zero".to_string(), n(0))]),
        )
        .await?;
        Ok(())
    }
}
