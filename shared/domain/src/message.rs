//! Outbound MIME messages (being written).
