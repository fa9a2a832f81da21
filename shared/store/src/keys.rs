//! The one place DynamoDB keys are built. Every partition key starts with the
//! tenant (`T#<tenant id>`), and no function here can be called without a
//! `TenantId`; that is what keeps tenants apart and lets IAM's
//! `dynamodb:LeadingKeys` confine credentials to one tenant.
//! docs/data-model.md lists these patterns; change both together.

use cc_domain::campaign::CampaignStatus;
use cc_domain::email::{EmailAddress, EmailDomain};
use cc_domain::ids::{
    ApiKeyId, CampaignId, EmailId, ImportJobId, LeadId, LeadSourceId, MailboxId, OrganizationId, ReplyId, TemplateId,
    TenantId,
};
use cc_domain::lead::LeadStatus;
use cc_domain::outbound::SesMessageId;
use cc_domain::stats::Scope;
use cc_domain::suppression::SuppressionTarget;

pub const PK: &str = "PK";
pub const SK: &str = "SK";

/// A secondary index and the names of its key attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Index {
    pub name: &'static str,
    pub pk: &'static str,
    pub sk: &'static str,
}

/// Campaigns by status; a campaign's leads in id (= creation) order.
pub const GSI1: Index = Index {
    name: "GSI1",
    pk: "GSI1PK",
    sk: "GSI1SK",
};
/// A campaign's leads by status.
pub const GSI2: Index = Index {
    name: "GSI2",
    pk: "GSI2PK",
    sk: "GSI2SK",
};
/// A tenant's leads by email address, across campaigns.
pub const GSI3: Index = Index {
    name: "GSI3",
    pk: "GSI3PK",
    sk: "GSI3SK",
};

/// The tenant's live feed: activities and new leads by day, in recording order.
pub const GSI4: Index = Index {
    name: "GSI4",
    pk: "GSI4PK",
    sk: "GSI4SK",
};

/// The primary key of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

fn tenant_partition(tenant: TenantId) -> String {
    format!("T#{tenant}")
}

pub fn tenant(tenant: TenantId) -> Key {
    Key {
        pk: tenant_partition(tenant),
        sk: "TENANT".into(),
    }
}

pub const API_KEY_PREFIX: &str = "APIKEY#";
pub const CAMPAIGN_PREFIX: &str = "CAMPAIGN#";
pub const ORGANIZATION_PREFIX: &str = "ORG#";

pub fn api_key(tenant: TenantId, id: ApiKeyId) -> Key {
    Key {
        pk: tenant_partition(tenant),
        sk: format!("{API_KEY_PREFIX}{id}"),
    }
}

/// The partition holding a tenant's keys, campaigns and organisations.
pub fn tenant_items(tenant: TenantId) -> String {
    tenant_partition(tenant)
}

pub fn campaign(tenant: TenantId, id: CampaignId) -> Key {
    Key {
        pk: tenant_partition(tenant),
        sk: format!("{CAMPAIGN_PREFIX}{id}"),
    }
}

/// GSI1 key of a campaign: its tenant and status.
pub fn campaigns_with_status(tenant: TenantId, status: CampaignStatus) -> String {
    format!("T#{tenant}#CAMPAIGNS#{status}")
}

pub fn organization(tenant: TenantId, id: OrganizationId) -> Key {
    Key {
        pk: tenant_partition(tenant),
        sk: format!("{ORGANIZATION_PREFIX}{id}"),
    }
}

/// The item that reserves an email domain for one organisation.
pub fn organization_domain(tenant: TenantId, domain: &EmailDomain) -> Key {
    Key {
        pk: tenant_partition(tenant),
        sk: format!("ORGDOMAIN#{domain}"),
    }
}

/// Each lead is its own partition: imports of millions spread evenly. The
/// lead item sorts before its activities (`#` < `A`), so one Query reads a
/// timeline that starts with the lead's creation. The ids of a campaign's
/// leads come from their addresses (`LeadId::for_identity`), which is what
/// keeps addresses unique per campaign; an id whose lead changed address is
/// held by the lead, an alias, or a tombstone (see docs/data-model.md).
pub fn lead(tenant: TenantId, id: LeadId) -> Key {
    Key {
        pk: format!("T#{tenant}#LEAD#{id}"),
        sk: "#LEAD".into(),
    }
}

/// GSI1 key of a lead: its campaign.
pub fn campaign_leads(tenant: TenantId, campaign: CampaignId) -> String {
    format!("T#{tenant}#C#{campaign}#LEADS")
}

/// GSI2 key of a lead: its campaign and status.
pub fn campaign_leads_with_status(tenant: TenantId, campaign: CampaignId, status: LeadStatus) -> String {
    format!("T#{tenant}#C#{campaign}#LEADS#{status}")
}

/// GSI3 key of a lead: its address, compared case-insensitively.
pub fn leads_with_email(tenant: TenantId, email: &EmailAddress) -> String {
    format!("T#{tenant}#EMAIL#{}", email.dedup_key())
}

pub const LEAD_SOURCE_PREFIX: &str = "SOURCE#";

pub fn lead_source(tenant: TenantId, id: LeadSourceId) -> Key {
    Key {
        pk: tenant_partition(tenant),
        sk: format!("{LEAD_SOURCE_PREFIX}{id}"),
    }
}

/// The one key without a tenant: a webhook call names only its source, so
/// this pointer (holding just the tenant id) finds the tenant. The source id
/// is random and unguessable; the pointer holds no customer data.
pub fn lead_source_pointer(id: LeadSourceId) -> Key {
    Key {
        pk: format!("{LEAD_SOURCE_PREFIX}{id}"),
        sk: "POINTER".into(),
    }
}

/// Shards of the scheduler's due index of sheet sources.
pub const DUE_SHEET_SHARDS: u8 = 4;

/// GSI1 key of a sheet source waiting for its next poll. Like the source
/// pointer it spans tenants: the scheduler serves them all. Sharded so no
/// single index partition takes every tenant's polls.
pub fn due_sheets(shard: u8) -> String {
    format!("DUE#SHEETS#{shard}")
}

pub fn due_sheet_shard(id: LeadSourceId) -> u8 {
    id.as_uuid().as_bytes()[15] % DUE_SHEET_SHARDS
}

pub const ACTIVITY_PREFIX: &str = "ACTIVITY#";

/// A lead's timeline lives in the lead's own partition, beside the lead item.
pub fn lead_activity(tenant: TenantId, lead_id: LeadId, activity: uuid::Uuid) -> Key {
    Key {
        pk: lead(tenant, lead_id).pk,
        sk: format!("{ACTIVITY_PREFIX}{activity}"),
    }
}

pub fn lead_activities(tenant: TenantId, lead_id: LeadId) -> String {
    lead(tenant, lead_id).pk
}

/// Campaign events (e.g. an auto-pause) have no lead: they live beside the campaign's counters.
pub fn campaign_activity(tenant: TenantId, campaign: CampaignId, activity: uuid::Uuid) -> Key {
    Key {
        pk: format!("T#{tenant}#C#{campaign}#ACTIVITY"),
        sk: format!("{ACTIVITY_PREFIX}{activity}"),
    }
}

/// One day of the tenant's live feed (GSI4); the sort key is `activity::feed_position`.
pub fn feed_day(tenant: TenantId, day: chrono::NaiveDate) -> String {
    format!("T#{tenant}#FEED#{}", day.format("%Y-%m-%d"))
}

/// Counter items are spread over this many shards per total and per day,
/// so concurrent writers do not all update one item.
pub const STATS_SHARDS: u8 = 4;

/// A campaign's or the tenant's counters: `TOTAL#<shard>` and `D#<day>#<shard>` items.
pub fn stats_partition(tenant: TenantId, scope: Scope) -> String {
    match scope {
        Scope::Campaign(campaign) => format!("T#{tenant}#STATS#C#{campaign}"),
        Scope::Tenant => format!("T#{tenant}#STATS"),
    }
}

pub const STATS_TOTAL_PREFIX: &str = "TOTAL#";
pub const STATS_DAY_PREFIX: &str = "D#";

pub fn stats_total(tenant: TenantId, scope: Scope, shard: u8) -> Key {
    Key {
        pk: stats_partition(tenant, scope),
        sk: format!("{STATS_TOTAL_PREFIX}{shard}"),
    }
}

pub fn stats_day(tenant: TenantId, scope: Scope, day: chrono::NaiveDate, shard: u8) -> Key {
    Key {
        pk: stats_partition(tenant, scope),
        sk: format!("{STATS_DAY_PREFIX}{}#{shard}", day.format("%Y-%m-%d")),
    }
}

/// The tenant's inbox: one item per inbound message.
pub fn reply(tenant: TenantId, id: ReplyId) -> Key {
    Key {
        pk: format!("T#{tenant}#INBOX"),
        sk: format!("{REPLY_PREFIX}{id}"),
    }
}

pub const REPLY_PREFIX: &str = "REPLY#";

pub fn inbox(tenant: TenantId) -> String {
    format!("T#{tenant}#INBOX")
}

/// A lead's replies (GSI2), its thread.
pub fn lead_replies(tenant: TenantId, lead: LeadId) -> String {
    format!("T#{tenant}#LEAD#{lead}#REPLIES")
}

/// Messages no tenant could be told for (no signed recipient, no Message-ID
/// of ours): kept by day for an operator, with the S3 key of the raw MIME.
pub fn unrouted_message(day: chrono::NaiveDate, ses_message_id: &str) -> Key {
    Key {
        pk: format!("INBOUND#UNROUTED#{}", day.format("%Y-%m-%d")),
        sk: ses_message_id.to_string(),
    }
}

pub fn import_job(tenant: TenantId, id: ImportJobId) -> Key {
    Key {
        pk: tenant_partition(tenant),
        sk: format!("IMPORT#{id}"),
    }
}

pub const IMPORT_ERROR_PREFIX: &str = "ERROR#";

/// The partition of an import's refused rows, one item per row.
pub fn import_errors(tenant: TenantId, id: ImportJobId) -> String {
    format!("T#{tenant}#IMPORT#{id}")
}

/// Zero-padded so that rows sort numerically.
pub fn import_error(tenant: TenantId, id: ImportJobId, row: u32) -> Key {
    Key {
        pk: import_errors(tenant, id),
        sk: format!("{IMPORT_ERROR_PREFIX}{row:010}"),
    }
}

/// The sort key used wherever leads are listed: creation time, then id.
pub fn lead_sort(created_at: chrono::DateTime<chrono::Utc>, id: LeadId) -> String {
    format!(
        "{}#{id}",
        created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    )
}

pub fn campaign_sort(id: CampaignId) -> String {
    format!("{CAMPAIGN_PREFIX}{id}")
}

// ---------------------------------------------------------------------------
// Mailboxes and templates
// ---------------------------------------------------------------------------

pub const MAILBOX_PREFIX: &str = "MAILBOX#";
pub const TEMPLATE_PREFIX: &str = "TEMPLATE#";
pub const TEMPLATE_VERSION_PREFIX: &str = "V#";

/// A mailbox sits in its tenant's own partition (`begins_with(SK, MAILBOX#)`
/// lists them; the address claims, `MAILBOXEMAIL#`, do not match that prefix).
pub fn mailbox(tenant: TenantId, id: MailboxId) -> Key {
    Key {
        pk: tenant_partition(tenant),
        sk: format!("{MAILBOX_PREFIX}{id}"),
    }
}

/// The item that reserves an address for one mailbox of the tenant
/// (compared case-insensitively).
pub fn mailbox_email(tenant: TenantId, email: &EmailAddress) -> Key {
    Key {
        pk: tenant_partition(tenant),
        sk: format!("MAILBOXEMAIL#{}", email.dedup_key()),
    }
}

/// A template's current version, in its tenant's own partition.
pub fn template(tenant: TenantId, id: TemplateId) -> Key {
    Key {
        pk: tenant_partition(tenant),
        sk: format!("{TEMPLATE_PREFIX}{id}"),
    }
}

/// The partition of a template's versions, one item each.
pub fn template_versions(tenant: TenantId, id: TemplateId) -> String {
    format!("T#{tenant}#TEMPLATE#{id}")
}

/// Zero-padded so that versions sort numerically.
pub fn template_version(tenant: TenantId, id: TemplateId, version: u32) -> Key {
    Key {
        pk: template_versions(tenant, id),
        sk: format!("{TEMPLATE_VERSION_PREFIX}{version:010}"),
    }
}

// ---------------------------------------------------------------------------
// Suppression list
// ---------------------------------------------------------------------------

pub const SUPPRESSION_PREFIX: &str = "SUPP#";

/// An entry of a tenant's suppression list, in its tenant's own partition,
/// keyed by what it blocks, so adding the same target again overwrites it and
/// "is this address suppressed?" is two GetItems (address, domain), not a Query.
pub fn suppression(tenant: TenantId, target: &SuppressionTarget) -> Key {
    let kind = match target {
        SuppressionTarget::Address(_) => "A",
        SuppressionTarget::Domain(_) => "D",
    };
    Key {
        pk: tenant_partition(tenant),
        sk: format!("{SUPPRESSION_PREFIX}{kind}#{}", target.key()),
    }
}

pub const EMAIL_PREFIX: &str = "EMAIL#";

/// An outbound email lives in its lead's partition, one per sequence step,
/// so a lead's emails are one Query and the timeline sits beside them.
pub fn email(tenant: TenantId, lead: LeadId, step: u32) -> Key {
    Key {
        pk: format!("T#{tenant}#LEAD#{lead}"),
        sk: format!("{EMAIL_PREFIX}{step:03}"),
    }
}

/// GSI2 key of an email: its campaign, sorted by scheduled time.
pub fn campaign_emails(tenant: TenantId, campaign: CampaignId) -> String {
    format!("T#{tenant}#C#{campaign}#EMAILS")
}

pub fn email_sort(at: chrono::DateTime<chrono::Utc>, id: EmailId) -> String {
    format!("{}#{id}", at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

/// GSI1 key of a scheduled email waiting for its time. Spans tenants like the
/// sheet index: the scheduler serves them all. Sharded by email id
/// (`ports::due_shard`) so no index partition takes every tenant's sends.
pub fn due_emails(shard: u8) -> String {
    format!("DUE#EMAILS#{shard}")
}

/// A mailbox's booked and counted sends per local day.
pub fn mailbox_bookings(tenant: TenantId, mailbox: MailboxId) -> Key {
    Key {
        pk: tenant_partition(tenant),
        sk: format!("MBOOK#{mailbox}"),
    }
}

/// Which tenant sends from an address: the third key not under a tenant. SES
/// verifies addresses for the whole AWS account, so one tenant's verified
/// address must never become another tenant's mailbox (decisions.md §15).
pub fn sender_address(email: &EmailAddress) -> Key {
    Key {
        pk: format!("SENDER#{}", email.dedup_key()),
        sk: "OWNER".into(),
    }
}

pub const SES_MESSAGE_PREFIX: &str = "SESMSG#";

/// Which email an SES message is: the fourth key not under a tenant. SES's
/// older notifications (set on the identity) carry no message tags, only the
/// SES message id, so this pointer (tenant, lead, step, email id; a TTL)
/// finds the tenant; it is written with the id, by the sender. SES makes the
/// ids; they are unguessable and hold no customer data.
pub fn ses_message(id: &SesMessageId) -> Key {
    Key {
        pk: format!("{SES_MESSAGE_PREFIX}{id}"),
        sk: "POINTER".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_starts_with_its_tenant() {
        let t = TenantId::generate();
        let prefix = format!("T#{t}");
        let email = EmailAddress::parse("A@B.co").unwrap();
        let c = CampaignId::generate();
        for pk in [
            tenant(t).pk,
            api_key(t, ApiKeyId::generate()).pk,
            campaign(t, c).pk,
            campaigns_with_status(t, CampaignStatus::Active),
            organization(t, OrganizationId::generate()).pk,
            organization_domain(t, &EmailDomain::parse("b.co").unwrap()).pk,
            lead(t, LeadId::generate()).pk,
            campaign_leads(t, c),
            campaign_leads_with_status(t, c, LeadStatus::New),
            leads_with_email(t, &email),
            import_job(t, ImportJobId::generate()).pk,
            lead_source(t, LeadSourceId::generate()).pk,
            import_error(t, ImportJobId::generate(), 7).pk,
            mailbox(t, MailboxId::generate()).pk,
            mailbox_email(t, &email).pk,
            template(t, TemplateId::generate()).pk,
            template_version(t, TemplateId::generate(), 3).pk,
            suppression(t, &SuppressionTarget::Address(email.clone())).pk,
        ] {
            assert!(pk.starts_with(&prefix), "{pk}");
        }
    }

    #[test]
    fn mailbox_claims_and_versions_sort_as_listed() {
        let t = TenantId::generate();
        let claim = mailbox_email(t, &EmailAddress::parse("Ann@Acme.com").unwrap()).sk;
        assert_eq!(claim, "MAILBOXEMAIL#ann@acme.com");
        assert!(
            !claim.starts_with(MAILBOX_PREFIX),
            "claims stay out of the mailbox listing"
        );
        let id = TemplateId::generate();
        assert!(template_version(t, id, 9).sk < template_version(t, id, 10).sk);
        assert_eq!(template_version(t, id, 12).sk, "V#0000000012");
    }

    #[test]
    fn an_ses_message_pointer_is_keyed_by_the_validated_id_alone() {
        let id = SesMessageId::parse("0100018e-abc-000000").unwrap();
        assert_eq!(ses_message(&id).pk, "SESMSG#0100018e-abc-000000");
        assert_eq!(ses_message(&id).sk, "POINTER");
    }

    #[test]
    fn suppressions_are_keyed_by_their_target() {
        let t = TenantId::generate();
        let address = suppression(t, &SuppressionTarget::parse("Ann@Acme.com").unwrap());
        assert_eq!(address.sk, "SUPP#A#ann@acme.com");
        let domain = suppression(t, &SuppressionTarget::parse("Acme.com").unwrap());
        assert_eq!(domain.sk, "SUPP#D#acme.com");
        assert_eq!(address.pk, tenant_items(t));
    }
}
