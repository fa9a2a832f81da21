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

impl LeadId {
    /// The id of the lead made from row `row` of an import: the same on every
    /// attempt (so a redelivered batch finds its own leads), unique per job
    /// and row, and ordered like UUIDv7 ids (job creation time, then row).
    pub fn for_import_row(job: ImportJobId, job_created_ms: u64, row: u32) -> Self {
        let mut bytes = [0u8; 16];
        bytes[..6].copy_from_slice(&job_created_ms.to_be_bytes()[2..]);
        // 26 bits of row number around the version and variant bits.
        bytes[6] = ((row >> 22) & 0x0f) as u8;
        bytes[7] = (row >> 14) as u8;
        bytes[8] = ((row >> 8) & 0x3f) as u8;
        bytes[9] = row as u8;
        bytes[10..].copy_from_slice(&job.as_uuid().as_bytes()[10..]);
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
    fn import_row_ids_are_stable_distinct_and_ordered() {
        let job = ImportJobId::generate();
        let ids: Vec<LeadId> = (2..2000)
            .map(|row| LeadId::for_import_row(job, 1_795_000_000_000, row))
            .collect();
        assert_eq!(ids[5], LeadId::for_import_row(job, 1_795_000_000_000, 7));
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, ids, "distinct and in row order");
        assert_ne!(
            ids[0],
            LeadId::for_import_row(ImportJobId::generate(), 1_795_000_000_000, 2)
        );
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
