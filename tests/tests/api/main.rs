//! Integration tests of the api function against the local stack. Each test
//! spawns its own app (own tables, own operator key) and its own tenants.

mod api_keys;
mod campaigns;
mod dev_controls;
mod exports;
mod hooks;
mod imports;
mod isolation;
mod leads;
mod mailboxes;
mod meta;
mod notifications;
mod organizations;
mod phone_leads;
mod provisioning;
mod replies;
mod sending;
mod sheets;
mod stats;
mod suppressions;
mod templates;
mod tenants;
mod tracking;
mod uploads;
