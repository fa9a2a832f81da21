//! Identifiers. Each is a UUID behind its own type so a lead id can never be
//! passed where a campaign id is expected. New ids are UUIDv7: time-ordered,
//! which makes "list by id" the same as "list in creation order".

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(Uuid);

        impl $name {
            pub const LABEL: &'static str = $label;

            /// A fresh, time-ordered id.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = crate::error::InvalidId;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s)
                    .map(Self)
                    .map_err(|_| crate::error::InvalidId { kind: $label })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    };
}

id_type!(
    /// A tenant: one customer account of the platform. Every item of a tenant is stored under it.
    TenantId,
    "tenant"
);
id_type!(
    /// An API key of a tenant (not the secret).
    ApiKeyId,
    "api key"
);
id_type!(
    /// A campaign of a tenant.
    CampaignId,
    "campaign"
);
id_type!(
    /// An organisation (company) of a tenant.
    OrganizationId,
    "organization"
);
id_type!(
    /// A lead: one prospect in one campaign.
    LeadId,
    "lead"
);
id_type!(
    /// An import job: one file (or sheet poll) turned into leads in the background.
    ImportJobId,
    "import"
);
id_type!(
    /// A lead source: a webhook or a polled Google Sheet.
    LeadSourceId,
    "lead source"
);

id_type!(
    /// A mailbox: one sender identity of a tenant.
    MailboxId,
    "mailbox"
);
id_type!(
    /// An email template of a tenant (all its versions share the id).
    TemplateId,
    "template"
);
id_type!(
    /// One outbound email: one step of a sequence for one lead.
    EmailId,
    "email"
);
id_type!(
    /// One inbound message (a reply, an auto-reply or a bounce), derived from SES's message id.
    ReplyId,
    "reply"
);

impl LeadId {
    /// The id of the lead with `identity` (its address, compared
    /// case-insensitively) in `campaign`, at position `probe` of that
    /// identity's chain of ids. The same lead always gets the same id, so a
    /// retried or redelivered write finds the lead it already stored, and
    /// storing a lead needs no separate uniqueness item. `probe` moves past an
    /// id still held by a lead whose address has since changed.
    pub fn for_identity(campaign: CampaignId, identity: &str, probe: u8) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(campaign.as_uuid().as_bytes())
            .chain_update(identity.as_bytes())
            .chain_update([probe])
            .finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Self(Uuid::new_v8(bytes))
    }
}

impl EmailId {
    /// The email of a lead's sequence step: planning the same step twice
    /// names the same email, so it is stored once.
    pub fn for_step(lead: LeadId, step: u32) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(lead.as_uuid().as_bytes())
            .chain_update(b"step:")
            .chain_update(step.to_be_bytes())
            .finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Self(Uuid::new_v8(bytes))
    }
}

impl OrganizationId {
    /// The id of the organisation an import creates for `domain`: the same on
    /// every attempt, so a retried batch rewrites the organisation it already
    /// wrote instead of leaving a second one behind.
    pub fn for_domain(tenant: TenantId, domain: &str) -> Self {
        Self::for_domain_at(tenant, domain, 0)
    }

    /// The `probe`-th id for `domain` (0 is [`Self::for_domain`]): the next
    /// one serves when an organisation that moved to another domain keeps the
    /// previous one.
    pub fn for_domain_at(tenant: TenantId, domain: &str, probe: u8) -> Self {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new()
            .chain_update(tenant.as_uuid().as_bytes())
            .chain_update(b"org:")
            .chain_update(domain.as_bytes());
        if probe > 0 {
            hasher.update([b'#', probe]);
        }
        let digest = hasher.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Self(Uuid::new_v8(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text() {
        let id = CampaignId::generate();
        let parsed: CampaignId = id.to_string().parse().unwrap();
        assert_eq!(id, parsed);
    }

    #[test]
    fn identity_ids_are_stable_and_distinct_per_campaign_identity_and_probe() {
        let campaign = CampaignId::generate();
        let id = LeadId::for_identity(campaign, "ann@acme.com", 0);
        assert_eq!(id, LeadId::for_identity(campaign, "ann@acme.com", 0));
        assert_ne!(id, LeadId::for_identity(campaign, "ann@acme.com", 1));
        assert_ne!(id, LeadId::for_identity(campaign, "bob@acme.com", 0));
        assert_ne!(id, LeadId::for_identity(CampaignId::generate(), "ann@acme.com", 0));
    }

    #[test]
    fn garbage_is_not_an_id() {
        assert!("not-a-uuid".parse::<LeadId>().is_err());
        assert!("".parse::<TenantId>().is_err());
    }

    #[test]
    fn generated_ids_sort_in_creation_order() {
        let first = LeadId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = LeadId::generate();
        assert!(first < second);
        assert!(first.to_string() < second.to_string());
    }
}
