//! Opaque pagination cursors. A cursor carries the position (the last item's
//! key attributes) and the tenant and partition it was issued for; one
//! presented to another tenant or another listing is refused.

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cc_domain::StoreError;
use cc_domain::ids::TenantId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

#[derive(Serialize, Deserialize)]
struct CursorBody {
    /// Tenant the cursor was issued to.
    t: String,
    /// The listing: its partition value and sort-key prefix.
    p: String,
    /// Exclusive start key: attribute name → string value.
    k: BTreeMap<String, String>,
}

pub fn encode(tenant: TenantId, scope: &str, key: &HashMap<String, AttributeValue>) -> String {
    let k = key
        .iter()
        .filter_map(|(name, value)| value.as_s().ok().map(|s| (name.clone(), s.clone())))
        .collect();
    let body = CursorBody {
        t: tenant.to_string(),
        p: scope.to_string(),
        k,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&body).expect("a map of strings serialises"))
}

pub fn decode(
    tenant: TenantId,
    scope: &str,
    partition_attr: &str,
    partition: &str,
    text: &str,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|_| StoreError::InvalidCursor)?;
    let body: CursorBody = serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)?;
    let same_listing = body.t == tenant.to_string()
        && body.p == scope
        && body.k.get(partition_attr).map(String::as_str) == Some(partition);
    if !same_listing {
        return Err(StoreError::InvalidCursor);
    }
    Ok(body
        .k
        .into_iter()
        .map(|(name, value)| (name, AttributeValue::S(value)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_only_opens_its_own_listing() {
        let tenant = TenantId::generate();
        let key = HashMap::from([
            ("PK".to_string(), AttributeValue::S("T#x".into())),
            ("SK".to_string(), AttributeValue::S("CAMPAIGN#1".into())),
        ]);
        let text = encode(tenant, "T#x|CAMPAIGN#", &key);
        assert_eq!(decode(tenant, "T#x|CAMPAIGN#", "PK", "T#x", &text).unwrap(), key);
        assert!(decode(TenantId::generate(), "T#x|CAMPAIGN#", "PK", "T#x", &text).is_err());
        assert!(decode(tenant, "T#x|ORG#", "PK", "T#x", &text).is_err());
        assert!(decode(tenant, "T#y|CAMPAIGN#", "PK", "T#y", &text).is_err());
        assert!(decode(tenant, "T#x|CAMPAIGN#", "PK", "T#x", "garbage!").is_err());
    }
}
