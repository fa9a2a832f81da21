//! Signed unsubscribe links. A token names the tenant, the lead and the email
//! it was sent in, and carries an HMAC-SHA256 tag over them, so the public
//! unsubscribe route needs no login and no stored token: whoever holds a
//! valid token may unsubscribe exactly that lead, and nobody can make one for
//! another lead without the key.
//!
//! Layout, URL-safe base64 without padding (86 characters):
//! tenant (16 bytes) ‖ lead (16) ‖ email (16) ‖ tag (first 16 bytes of the HMAC).

use crate::ids::{EmailId, LeadId, TenantId};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

const IDS_LEN: usize = 48;
const TAG_LEN: usize = 16;
const TOKEN_LEN: usize = IDS_LEN + TAG_LEN;
/// Keeps these tags apart from any other use of the same key.
const CONTEXT: &[u8] = b"cc-unsubscribe-v1";
/// Shorter keys are refused: the key is all that keeps tokens unforgeable.
pub const MIN_KEY_LEN: usize = 32;

/// What a valid token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsubscribeToken {
    pub tenant: TenantId,
    pub lead: LeadId,
    pub email: EmailId,
}

/// A token that was not made with this key (or is not a token at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the unsubscribe link is not valid")]
pub struct InvalidToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the link signing key must be at least {MIN_KEY_LEN} bytes")]
pub struct WeakKey;

/// Makes and checks unsubscribe tokens with one secret key.
#[derive(Clone)]
pub struct LinkSigner {
    mac: HmacSha256,
}

impl LinkSigner {
    pub fn new(key: &[u8]) -> Result<Self, WeakKey> {
        if key.len() < MIN_KEY_LEN {
            return Err(WeakKey);
        }
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(CONTEXT);
        Ok(Self { mac })
    }

    /// A fresh random key as text (43 characters, 256 bits), for local
    /// stacks and tests; like the deployed secret, its bytes are the key.
    pub fn generate_key() -> String {
        use rand::RngCore;
        let mut key = [0u8; MIN_KEY_LEN];
        rand::rng().fill_bytes(&mut key);
        URL_SAFE_NO_PAD.encode(key)
    }

    fn tag(&self, ids: &[u8]) -> HmacSha256 {
        // The keyed state with the context already absorbed, cloned per use.
        let mut mac = self.mac.clone();
        mac.update(ids);
        mac
    }

    pub fn token(&self, tenant: TenantId, lead: LeadId, email: EmailId) -> String {
        let mut bytes = Vec::with_capacity(TOKEN_LEN);
        bytes.extend_from_slice(tenant.as_uuid().as_bytes());
        bytes.extend_from_slice(lead.as_uuid().as_bytes());
        bytes.extend_from_slice(email.as_uuid().as_bytes());
        let tag = self.tag(&bytes).finalize().into_bytes();
        bytes.extend_from_slice(&tag[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn verify(&self, token: &str) -> Result<UnsubscribeToken, InvalidToken> {
        // A valid token is exactly this long; anything else is refused before decoding.
        if token.len() != URL_SAFE_NO_PAD.encode([0u8; TOKEN_LEN]).len() {
            return Err(InvalidToken);
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| InvalidToken)?;
        if bytes.len() != TOKEN_LEN {
            return Err(InvalidToken);
        }
        let (ids, tag) = bytes.split_at(IDS_LEN);
        // Constant-time comparison of the truncated tag.
        self.tag(ids).verify_truncated_left(tag).map_err(|_| InvalidToken)?;
        let id = |at: usize| Uuid::from_slice(&ids[at..at + 16]).expect("16 bytes");
        Ok(UnsubscribeToken {
            tenant: TenantId::from_uuid(id(0)),
            lead: LeadId::from_uuid(id(16)),
            email: EmailId::from_uuid(id(32)),
        })
    }
}

/// The key never shows in logs or debug output.
impl fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkSigner(<key redacted>)")
    }
}

/// The unsubscribe URLs of sent mail: `<public API URL>/v1/u/<token>`.
#[derive(Clone)]
pub struct SignedLinks {
    signer: LinkSigner,
    base: String,
}

impl SignedLinks {
    pub fn new(signer: LinkSigner, public_url: &str) -> Self {
        Self {
            signer,
            base: public_url.trim_end_matches('/').to_string(),
        }
    }
}

impl crate::ports::UnsubscribeLinks for SignedLinks {
    fn url(&self, tenant: TenantId, lead: LeadId, email: EmailId) -> String {
        format!("{}/v1/u/{}", self.base, self.signer.token(tenant, lead, email))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (TenantId, LeadId, EmailId) {
        (TenantId::generate(), LeadId::generate(), EmailId::generate())
    }

    fn signer(byte: u8) -> LinkSigner {
        LinkSigner::new(&[byte; 32]).unwrap()
    }

    #[test]
    fn a_token_names_what_it_was_made_for() {
        let (tenant, lead, email) = ids();
        let token = signer(1).token(tenant, lead, email);
        assert_eq!(token.len(), 86);
        assert!(
            token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "fits in a URL path as is"
        );
        assert_eq!(signer(1).verify(&token), Ok(UnsubscribeToken { tenant, lead, email }));
    }

    #[test]
    fn a_changed_token_is_refused() {
        let (tenant, lead, email) = ids();
        let token = signer(1).token(tenant, lead, email);
        for at in [0, 20, 40, 70, 85] {
            let mut chars: Vec<char> = token.chars().collect();
            chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
            let tampered: String = chars.into_iter().collect();
            assert_eq!(signer(1).verify(&tampered), Err(InvalidToken), "changed at {at}");
        }
        // Another lead's ids with this token's tag.
        let other = signer(1).token(tenant, LeadId::generate(), email);
        let spliced = format!("{}{}", &other[..64], &token[64..]);
        assert_eq!(signer(1).verify(&spliced), Err(InvalidToken));
    }

    #[test]
    fn another_key_and_garbage_are_refused() {
        let (tenant, lead, email) = ids();
        let token = signer(1).token(tenant, lead, email);
        assert_eq!(signer(2).verify(&token), Err(InvalidToken));
        for garbage in [
            "",
            "abc",
            "%%%",
            &"A".repeat(86),
            &token[..85],
            &format!("{token}A"),
            &"é".repeat(43),
        ] {
            assert_eq!(signer(1).verify(garbage), Err(InvalidToken), "{garbage:?}");
        }
    }

    #[test]
    fn short_keys_are_refused() {
        assert_eq!(LinkSigner::new(&[7; 31]).err(), Some(WeakKey));
        assert!(LinkSigner::new(LinkSigner::generate_key().as_bytes()).is_ok());
        assert_eq!(format!("{:?}", signer(1)), "LinkSigner(<key redacted>)");
    }
}
