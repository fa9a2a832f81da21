//! The suppression list in DynamoDB: one item per entry in the tenant's own
//! partition (`SUPP#A#<address>`, `SUPP#D#<domain>`, see `keys::suppression`).
//! A child module of `dynamo`, so it shares that module's private helpers.

use super::{DynamoStore, Listing, backend, entity_item};
use crate::keys;
use async_trait::async_trait;
use cc_domain::StoreError;
use cc_domain::email::{EmailAddress, EmailDomain};
use cc_domain::ids::TenantId;
use cc_domain::page::{Page, PageRequest};
use cc_domain::ports::SuppressionStore;
use cc_domain::suppression::{Suppression, SuppressionTarget};

const SUPPRESSION: &str = "suppression";

#[async_trait]
impl SuppressionStore for DynamoStore {
    async fn add_suppression(&self, entry: &Suppression) -> Result<(), StoreError> {
        let key = keys::suppression(entry.tenant_id, &entry.target);
        // Unconditional: the key is the target, so adding it again replaces the entry.
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(entity_item(entry, entry.tenant_id, &key, SUPPRESSION)?))
            .send()
            .await
            .map_err(backend("PutItem"))?;
        Ok(())
    }

    async fn remove_suppression(&self, tenant: TenantId, target: &SuppressionTarget) -> Result<bool, StoreError> {
        self.delete_existing(&keys::suppression(tenant, target)).await
    }

    async fn list_suppressions(&self, tenant: TenantId, page: &PageRequest) -> Result<Page<Suppression>, StoreError> {
        let listing = Listing::table(keys::tenant_items(tenant), keys::SUPPRESSION_PREFIX);
        self.query_page(tenant, listing, page, SUPPRESSION).await
    }

    async fn suppressed(&self, tenant: TenantId, address: &EmailAddress) -> Result<Option<Suppression>, StoreError> {
        let own = keys::suppression(tenant, &SuppressionTarget::Address(address.clone()));
        // An address's domain always parses as a domain; if it ever did not, only the address is checked.
        let domain = EmailDomain::parse(address.domain())
            .ok()
            .map(|d| keys::suppression(tenant, &SuppressionTarget::Domain(d)));
        // Both reads at once (consistent GetItems): the sender asks this for every email.
        let (own, domain) = futures::try_join!(self.get_entity::<Suppression>(&own, SUPPRESSION), async {
            match &domain {
                Some(key) => self.get_entity::<Suppression>(key, SUPPRESSION).await,
                None => Ok(None),
            }
        })?;
        Ok(own.or(domain))
    }
}
