//! DynamoDB requests counted by an SDK interceptor: how the benchmarks and
//! the read-count test see what the functions ask of the table.

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemInput;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemInput;
use aws_sdk_dynamodb::operation::get_item::GetItemInput;
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::operation::scan::ScanInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Running totals; read them with [`RequestCounts::snapshot`].
#[derive(Debug, Default)]
pub struct RequestCounts {
    write_calls: AtomicU64,
    written_items: AtomicU64,
    batch_write_calls: AtomicU64,
    transactions: AtomicU64,
    transaction_items: AtomicU64,
    read_calls: AtomicU64,
    queries: AtomicU64,
    read_keys: AtomicU64,
}

/// The totals at one moment; `after.since(&before)` is what happened between.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Write requests of any kind (BatchWriteItem, TransactWriteItems, Put/Update/DeleteItem).
    pub write_calls: u64,
    /// Items those requests wrote (a batch's or a transaction's actions; 1 for a single write).
    pub written_items: u64,
    pub batch_write_calls: u64,
    pub transactions: u64,
    pub transaction_items: u64,
    /// Read requests (GetItem, BatchGetItem, Query, Scan).
    pub read_calls: u64,
    pub queries: u64,
    /// Keys asked for by BatchGetItem.
    pub read_keys: u64,
}

impl Counts {
    pub fn since(&self, before: &Counts) -> Counts {
        Counts {
            write_calls: self.write_calls - before.write_calls,
            written_items: self.written_items - before.written_items,
            batch_write_calls: self.batch_write_calls - before.batch_write_calls,
            transactions: self.transactions - before.transactions,
            transaction_items: self.transaction_items - before.transaction_items,
            read_calls: self.read_calls - before.read_calls,
            queries: self.queries - before.queries,
            read_keys: self.read_keys - before.read_keys,
        }
    }

    /// Single-item writes and transactions: the calls that are not batches.
    pub fn single_write_calls(&self) -> u64 {
        self.write_calls - self.batch_write_calls
    }
}

impl RequestCounts {
    pub fn snapshot(&self) -> Counts {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Counts {
            write_calls: load(&self.write_calls),
            written_items: load(&self.written_items),
            batch_write_calls: load(&self.batch_write_calls),
            transactions: load(&self.transactions),
            transaction_items: load(&self.transaction_items),
            read_calls: load(&self.read_calls),
            queries: load(&self.queries),
            read_keys: load(&self.read_keys),
        }
    }
}

/// A DynamoDB client like `config`'s whose every request `counts` counts.
pub fn counting_client(config: &aws_config::SdkConfig, counts: Arc<RequestCounts>) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(config)
            .interceptor(CountRequests(counts))
            .build(),
    )
}

#[derive(Debug)]
struct CountRequests(Arc<RequestCounts>);

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "CountRequests"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        let c = &self.0;
        let add = |counter: &AtomicU64, n: usize| counter.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(batch) = input.downcast_ref::<BatchWriteItemInput>() {
            add(&c.write_calls, 1);
            add(&c.batch_write_calls, 1);
            add(
                &c.written_items,
                batch.request_items().map_or(0, |r| r.values().map(Vec::len).sum()),
            );
        } else if let Some(transaction) = input.downcast_ref::<TransactWriteItemsInput>() {
            add(&c.write_calls, 1);
            add(&c.transactions, 1);
            add(&c.written_items, transaction.transact_items().len());
            add(&c.transaction_items, transaction.transact_items().len());
        } else if input.downcast_ref::<PutItemInput>().is_some()
            || input.downcast_ref::<UpdateItemInput>().is_some()
            || input.downcast_ref::<DeleteItemInput>().is_some()
        {
            add(&c.write_calls, 1);
            add(&c.written_items, 1);
        } else if let Some(batch) = input.downcast_ref::<BatchGetItemInput>() {
            add(&c.read_calls, 1);
            add(
                &c.read_keys,
                batch
                    .request_items()
                    .map_or(0, |r| r.values().map(|k| k.keys().len()).sum()),
            );
        } else if input.downcast_ref::<QueryInput>().is_some() {
            add(&c.read_calls, 1);
            add(&c.queries, 1);
        } else if input.downcast_ref::<GetItemInput>().is_some() || input.downcast_ref::<ScanInput>().is_some() {
            add(&c.read_calls, 1);
        }
        Ok(())
    }
}
