//! Tenant API keys: roles, what each role may do, and the key format.
//!
//! A key reads `cck_<tenant>_<key id>_<secret>`: the tenant and key id (hex)
//! let the key be found with one GetItem under the tenant's own partition, and
//! the secret (32 random bytes, base64url) is stored only as its SHA-256 and
//! compared in constant time. SHA-256 rather than a password hash is right
//! here: the secret has 256 bits of entropy, so there is nothing to brute-force.

use crate::ids::{ApiKeyId, TenantId};
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;
use uuid::Uuid;

pub const KEY_PREFIX: &str = "cck_";
const SECRET_BYTES: usize = 32;

/// What a key may do. Ordered: each role can do everything the one before can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything of its tenant.
    Viewer,
    /// Also writes campaigns, organisations and leads.
    Manager,
    /// Also manages API keys.
    Admin,
}

/// The capabilities an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    Read,
    WriteData,
    ManageKeys,
}

impl Capability {
    pub fn describe(self) -> &'static str {
        match self {
            Capability::Read => "read",
            Capability::WriteData => "change data (manager or admin role needed)",
            Capability::ManageKeys => "manage API keys (admin role needed)",
        }
    }
}

impl Role {
    pub fn allows(self, capability: Capability) -> bool {
        let needed = match capability {
            Capability::Read => Role::Viewer,
            Capability::WriteData => Role::Manager,
            Capability::ManageKeys => Role::Admin,
        };
        self >= needed
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }
}

/// A stored key: everything but the secret, which is kept only as a hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub name: String,
    pub role: Role,
    /// The first characters of the key, enough to recognise it in a list.
    pub prefix: String,
    pub secret_sha256: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A key as listed: no secret, no hash.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ApiKeyView {
    pub id: ApiKeyId,
    pub name: String,
    pub role: Role,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyView {
    fn from(key: ApiKey) -> Self {
        Self {
            id: key.id,
            name: key.name,
            role: key.role,
            prefix: key.prefix,
            created_at: key.created_at,
            last_used_at: key.last_used_at,
        }
    }
}

/// `POST /v1/api-keys` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// What the key is for, e.g. "n8n production" (1–100 characters).
    pub name: String,
    pub role: Role,
}

pub const MAX_KEY_NAME: usize = 100;

/// The full secret text of a key, shown to its owner exactly once.
#[derive(Clone)]
pub struct KeySecret(String);

impl KeySecret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for KeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeySecret(<redacted>)")
    }
}

/// A newly made key: the record to store and the secret to hand out once.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub record: ApiKey,
    pub secret: KeySecret,
}

impl IssuedKey {
    pub fn generate(tenant_id: TenantId, name: String, role: Role, now: DateTime<Utc>) -> Self {
        // Random (v4) so the displayed prefix tells keys apart.
        let id = ApiKeyId::from_uuid(Uuid::new_v4());
        let mut secret_bytes = [0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut secret_bytes);
        let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret_bytes);
        let text = format!(
            "{KEY_PREFIX}{}_{}_{secret}",
            tenant_id.as_uuid().simple(),
            id.as_uuid().simple()
        );
        let prefix = format!("{KEY_PREFIX}{}", &id.as_uuid().simple().to_string()[..8]);
        let record = ApiKey {
            id,
            tenant_id,
            name,
            role,
            prefix,
            secret_sha256: sha256_hex(secret.as_bytes()),
            created_at: now,
            last_used_at: None,
        };
        Self {
            record,
            secret: KeySecret(text),
        }
    }
}

/// A presented key, split into where to find it and what to check.
#[derive(Clone)]
pub struct PresentedKey {
    pub tenant_id: TenantId,
    pub key_id: ApiKeyId,
    secret: String,
}

impl fmt::Debug for PresentedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PresentedKey({}, {})", self.tenant_id, self.key_id)
    }
}

impl PresentedKey {
    /// Splits a key; `None` when it cannot be one of ours.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.trim().strip_prefix(KEY_PREFIX)?;
        let mut parts = rest.splitn(3, '_');
        let tenant = Uuid::try_parse(parts.next()?).ok()?;
        let key_id = Uuid::try_parse(parts.next()?).ok()?;
        let secret = parts.next()?;
        if secret.is_empty() || secret.len() > 128 {
            return None;
        }
        Some(Self {
            tenant_id: TenantId::from_uuid(tenant),
            key_id: ApiKeyId::from_uuid(key_id),
            secret: secret.to_string(),
        })
    }

    /// Constant-time comparison of the presented secret with the stored hash.
    pub fn matches(&self, stored: &ApiKey) -> bool {
        let presented = sha256_hex(self.secret.as_bytes());
        let same_hash: bool = presented.as_bytes().ct_eq(stored.secret_sha256.as_bytes()).into();
        same_hash && stored.tenant_id == self.tenant_id && stored.id == self.key_id
    }
}

/// The platform operator's key, configured outside the tenant data.
#[derive(Clone)]
pub struct OperatorKey {
    sha256: [u8; 32],
}

impl fmt::Debug for OperatorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OperatorKey(<redacted>)")
    }
}

impl OperatorKey {
    pub fn new(secret: &str) -> Self {
        Self {
            sha256: Sha256::digest(secret.trim().as_bytes()).into(),
        }
    }

    /// Hashing both sides first makes the comparison independent of length.
    pub fn matches(&self, presented: &str) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented.trim().as_bytes()).into();
        presented.ct_eq(&self.sha256).into()
    }

    /// A fresh random operator key, for local stacks that were given none.
    pub fn generate_secret() -> String {
        let mut bytes = [0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        format!("cco_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Who is calling, once a tenant key has been checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub tenant_id: TenantId,
    pub key_id: ApiKeyId,
    pub role: Role,
}

impl Principal {
    pub fn require(&self, capability: Capability) -> Result<(), crate::DomainError> {
        if self.role.allows(capability) {
            Ok(())
        } else {
            Err(crate::DomainError::Forbidden {
                action: capability.describe(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_key_authenticates_and_a_tampered_one_does_not() {
        let tenant = TenantId::generate();
        let issued = IssuedKey::generate(tenant, "n8n".into(), Role::Manager, Utc::now());
        let presented = PresentedKey::parse(issued.secret.expose()).unwrap();
        assert_eq!(presented.tenant_id, tenant);
        assert_eq!(presented.key_id, issued.record.id);
        assert!(presented.matches(&issued.record));

        let mut tampered = issued.secret.expose().to_string();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(!PresentedKey::parse(&tampered).unwrap().matches(&issued.record));
    }

    #[test]
    fn keys_carry_enough_randomness_and_a_recognisable_prefix() {
        let issued = IssuedKey::generate(TenantId::generate(), "k".into(), Role::Viewer, Utc::now());
        let text = issued.secret.expose();
        assert!(text.starts_with("cck_"));
        // The secret is base64url and may itself contain '_'.
        let secret = text.splitn(4, '_').nth(3).unwrap();
        assert_eq!(secret.len(), 43, "32 bytes base64url is 43 characters");
        assert!(issued.record.prefix.starts_with("cck_") && issued.record.prefix.len() == 12);
        assert!(!issued.record.secret_sha256.contains(secret));
    }

    #[test]
    fn every_generated_key_parses_back_whatever_its_secret_contains() {
        for _ in 0..500 {
            let issued = IssuedKey::generate(TenantId::generate(), "k".into(), Role::Admin, Utc::now());
            let presented = PresentedKey::parse(issued.secret.expose()).expect("parses");
            assert!(presented.matches(&issued.record));
        }
    }

    #[test]
    fn foreign_text_is_not_a_key() {
        for text in ["", "Bearer x", "cck_", "cck_nothex_nothex_secret", "sk_live_abc"] {
            assert!(PresentedKey::parse(text).is_none(), "{text}");
        }
    }

    #[test]
    fn roles_nest() {
        assert!(Role::Viewer.allows(Capability::Read));
        assert!(!Role::Viewer.allows(Capability::WriteData));
        assert!(Role::Manager.allows(Capability::WriteData));
        assert!(!Role::Manager.allows(Capability::ManageKeys));
        assert!(Role::Admin.allows(Capability::ManageKeys));
    }

    #[test]
    fn operator_key_matches_only_itself() {
        let key = OperatorKey::new("s3cret");
        assert!(key.matches("s3cret"));
        assert!(!key.matches("s3cret2"));
        assert!(!key.matches(""));
    }
}
