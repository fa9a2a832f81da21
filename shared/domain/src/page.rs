//! Cursor pagination, shared by every listing.

use serde::Serialize;

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 500;

/// Where a listing resumes. The text is opaque to clients; the storage adapter
/// encodes it and refuses one that another tenant or listing produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(pub String);

#[derive(Debug, Clone)]
pub struct PageRequest {
    pub cursor: Option<Cursor>,
    pub limit: u32,
}

impl PageRequest {
    /// Validates a client's `limit` and `cursor` query parameters.
    pub fn parse(cursor: Option<String>, limit: Option<u32>) -> Result<Self, crate::DomainError> {
        let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
        if limit == 0 || limit > MAX_PAGE_SIZE {
            return Err(crate::DomainError::invalid(
                "limit",
                format!("limit must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        let cursor = cursor.filter(|c| !c.is_empty()).map(Cursor);
        Ok(Self { cursor, limit })
    }

    pub fn first(limit: u32) -> Self {
        Self { cursor: None, limit }
    }
}

/// One page of a listing: `{"items": [...], "next_cursor": "..." | null}`.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}
