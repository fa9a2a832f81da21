//! The addresses replies come back to, on the tenant-shared reply domain.
//!
//! - Per email, set as `Reply-To`: `r<token>@<reply domain>`, the token
//!   naming the tenant, the lead and the step, signed (HMAC-SHA256, tag cut to
//!   6 bytes to fit the 64-character limit of a local part). A reply to it is
//!   matched without any lookup.
//! - Per tenant, for forwarding a mailbox's inbound mail to us:
//!   `t<token>@<reply domain>`, naming the tenant only (signed too, so nobody
//!   can drop mail into another tenant's inbox). Such mail is matched by
//!   `In-Reply-To`/`References`, else by its sender.
//!
//! Tokens are lower-case base32 (RFC 4648 "extended hex" alphabet, no
//! padding): mail systems may change the case of a local part, so the
//! decoder lower-cases first.

use crate::ids::{LeadId, TenantId};
use data_encoding::BASE32_DNSSEC;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

const CONTEXT: &[u8] = b"cc-reply-v1";
const TAG_LEN: usize = 6;
const EMAIL_IDS_LEN: usize = 16 + 16 + 1;
const TENANT_IDS_LEN: usize = 16;

/// Where a reply address points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyTarget {
    /// A reply to one email of a lead's sequence.
    Email { tenant: TenantId, lead: LeadId, step: u32 },
    /// A tenant's forwarding address.
    Tenant(TenantId),
}

impl ReplyTarget {
    pub fn tenant(self) -> TenantId {
        match self {
            ReplyTarget::Email { tenant, .. } | ReplyTarget::Tenant(tenant) => tenant,
        }
    }
}

/// Makes and reads reply addresses with one secret key and the reply domain.
#[derive(Clone)]
pub struct ReplyAddresses {
    mac: HmacSha256,
    domain: String,
}

impl ReplyAddresses {
    /// `key`: at least 32 bytes (the link signing key is used, under its own context).
    pub fn new(key: &[u8], domain: &str) -> Result<Self, crate::unsubscribe::WeakKey> {
        if key.len() < crate::unsubscribe::MIN_KEY_LEN {
            return Err(crate::unsubscribe::WeakKey);
        }
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(CONTEXT);
        Ok(Self {
            mac,
            domain: domain.trim().trim_start_matches('@').to_ascii_lowercase(),
        })
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    fn signed(&self, prefix: char, ids: &[u8]) -> String {
        let mut mac = self.mac.clone();
        mac.update(&[prefix as u8]);
        mac.update(ids);
        let tag = mac.finalize().into_bytes();
        let mut bytes = ids.to_vec();
        bytes.extend_from_slice(&tag[..TAG_LEN]);
        format!("{prefix}{}@{}", BASE32_DNSSEC.encode(&bytes), self.domain)
    }

    /// The `Reply-To` of one email.
    pub fn for_email(&self, tenant: TenantId, lead: LeadId, step: u32) -> String {
        let mut ids = Vec::with_capacity(EMAIL_IDS_LEN);
        ids.extend_from_slice(tenant.as_uuid().as_bytes());
        ids.extend_from_slice(lead.as_uuid().as_bytes());
        ids.push(u8::try_from(step).unwrap_or(u8::MAX));
        self.signed('r', &ids)
    }

    /// The tenant's forwarding address.
    pub fn for_tenant(&self, tenant: TenantId) -> String {
        self.signed('t', tenant.as_uuid().as_bytes())
    }

    /// What an address of the reply domain points to; `None` for any other
    /// address, a malformed token or a bad signature.
    pub fn read(&self, address: &str) -> Option<ReplyTarget> {
        let address = address.trim().trim_matches(['<', '>']).to_ascii_lowercase();
        let (local, domain) = address.rsplit_once('@')?;
        if domain != self.domain {
            return None;
        }
        // Sub-addressing some mail systems add (`r…+x@`) is not ours.
        let local = local.split('+').next()?;
        let mut chars = local.chars();
        let prefix = chars.next()?;
        let bytes = BASE32_DNSSEC.decode(chars.as_str().as_bytes()).ok()?;
        let ids_len = match prefix {
            'r' => EMAIL_IDS_LEN,
            't' => TENANT_IDS_LEN,
            _ => return None,
        };
        if bytes.len() != ids_len + TAG_LEN {
            return None;
        }
        let (ids, tag) = bytes.split_at(ids_len);
        let mut mac = self.mac.clone();
        mac.update(&[prefix as u8]);
        mac.update(ids);
        mac.verify_truncated_left(tag).ok()?;
        let uuid = |at: usize| Uuid::from_slice(&ids[at..at + 16]).ok();
        let tenant = TenantId::from_uuid(uuid(0)?);
        Some(match prefix {
            'r' => ReplyTarget::Email {
                tenant,
                lead: LeadId::from_uuid(uuid(16)?),
                step: u32::from(ids[32]),
            },
            _ => ReplyTarget::Tenant(tenant),
        })
    }
}

impl fmt::Debug for ReplyAddresses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplyAddresses")
            .field("key", &"<redacted>")
            .field("domain", &self.domain)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses() -> ReplyAddresses {
        ReplyAddresses::new(&[9; 32], "Reply.Example.com").unwrap()
    }

    #[test]
    fn an_email_address_fits_a_local_part_and_reads_back_in_any_case() {
        let a = addresses();
        let (tenant, lead) = (TenantId::generate(), LeadId::generate());
        let address = a.for_email(tenant, lead, 3);
        let local = address.split('@').next().unwrap();
        assert_eq!(local.len(), 64, "{address}");
        assert!(address.ends_with("@reply.example.com"));
        let expected = Some(ReplyTarget::Email { tenant, lead, step: 3 });
        assert_eq!(a.read(&address), expected);
        assert_eq!(a.read(&address.to_uppercase()), expected);
        assert_eq!(a.read(&format!("<{address}>")), expected);
        let tenant_address = a.for_tenant(tenant);
        assert_eq!(a.read(&tenant_address), Some(ReplyTarget::Tenant(tenant)));
    }

    #[test]
    fn forged_foreign_and_malformed_addresses_read_as_nothing() {
        let a = addresses();
        let address = a.for_email(TenantId::generate(), LeadId::generate(), 1);
        let other_key = ReplyAddresses::new(&[8; 32], "reply.example.com").unwrap();
        assert_eq!(other_key.read(&address), None, "another key");
        let mut tampered = address.clone().into_bytes();
        tampered[5] = if tampered[5] == b'0' { b'1' } else { b'0' };
        assert_eq!(a.read(&String::from_utf8(tampered).unwrap()), None);
        assert_eq!(a.read(&address.replace("reply.example.com", "other.example.com")), None);
        for junk in [
            "",
            "@",
            "r@reply.example.com",
            "x00@reply.example.com",
            "ann@reply.example.com",
        ] {
            assert_eq!(a.read(junk), None, "{junk}");
        }
    }
}
