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
