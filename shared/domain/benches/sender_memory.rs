//! Peak heap of the sender while it handles a batch of 10 send jobs (one SQS
//! batch; the handler sends its records one after the other), measured with a
//! counting global allocator around `std::alloc::System`.
//!
//! Setup (a `MemoryStore` tenant: active campaign with a 1-step sequence on
//! the ~2 KB template of `render_mime.rs`, a verified mailbox, 10 leads each
//! with a scheduled email; a `MemoryMailer`) happens first; then the peak is
//! reset to the bytes in use, and `send_email` runs for the 10 jobs. Printed:
//! the peak above that baseline over the batch, the largest peak of one send
//! above the bytes in use when it started, the bytes still held after the
//! batch (what the memory ports keep: the sent messages, the updated emails,
//! leads and activities, which a real sender does not hold), and the
//! allocations made. One warm-up batch runs first, on another tenant, so
//! one-off lazy statics (time zone data, regexes) are not counted.
//!
//! Run: `cargo bench -p cc-domain --bench sender_memory`.

#[path = "sending_support/mod.rs"]
mod support;

use cc_domain::operations::sending::{self, SendOutcome};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use support::{SendEnv, block_on, now};

const BATCH: usize = 10;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

impl Counting {
    fn grew(size: usize) {
        let now = CURRENT.fetch_add(size, Relaxed) + size;
        PEAK.fetch_max(now, Relaxed);
        ALLOCATIONS.fetch_add(1, Relaxed);
        ALLOCATED.fetch_add(size, Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            Self::grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            Self::grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            CURRENT.fetch_sub(layout.size(), Relaxed);
            Self::grew(new_size);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes in use now; the peak starts again from here.
fn reset_peak() -> usize {
    let now = CURRENT.load(Relaxed);
    PEAK.store(now, Relaxed);
    now
}

struct Batch {
    peak_above_baseline: usize,
    largest_send_peak: usize,
    retained: usize,
    allocations: usize,
    allocated: usize,
    mime_bytes: usize,
}

fn send_batch() -> Batch {
    let env = SendEnv::new();
    let jobs: Vec<_> = (0..BATCH).map(|_| env.schedule()).collect();
    let ctx = env.context();
    let mut rng = StdRng::seed_from_u64(7);
    let mut outcomes = Vec::with_capacity(BATCH);

    let baseline = reset_peak();
    let (allocations, allocated) = (ALLOCATIONS.load(Relaxed), ALLOCATED.load(Relaxed));
    let mut largest_send_peak = 0;
    for job in &jobs {
        let start = CURRENT.load(Relaxed);
        let peak_before = PEAK.swap(start, Relaxed);
        outcomes.push(block_on(sending::send_email(&ctx, job, now(), &mut rng)));
        let peak = PEAK.load(Relaxed);
        largest_send_peak = largest_send_peak.max(peak - start);
        PEAK.fetch_max(peak_before, Relaxed);
    }
    let batch = Batch {
        peak_above_baseline: PEAK.load(Relaxed) - baseline,
        largest_send_peak,
        retained: CURRENT.load(Relaxed).saturating_sub(baseline),
        allocations: ALLOCATIONS.load(Relaxed) - allocations,
        allocated: ALLOCATED.load(Relaxed) - allocated,
        mime_bytes: env.mailer.sent.lock().unwrap().iter().map(|(_, raw)| raw.len()).sum(),
    };
    for outcome in outcomes {
        assert!(matches!(outcome, Ok(SendOutcome::Sent { .. })), "{outcome:?}");
    }
    batch
}

fn kib(bytes: usize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn main() {
    // Warm-up: lazily built statics are allocated once per process, not per batch.
    send_batch();
    let batch = send_batch();
    println!("sender_memory: send_email × {BATCH} (MemoryStore + MemoryMailer, ~2 KB template)");
    println!(
        "  peak heap above the baseline over the batch: {} ({} bytes)",
        kib(batch.peak_above_baseline),
        batch.peak_above_baseline
    );
    println!(
        "  largest peak of one send above its start:    {} ({} bytes)",
        kib(batch.largest_send_peak),
        batch.largest_send_peak
    );
    println!(
        "  still held after the batch (memory ports):   {} ({} bytes; of which {} of MIME kept by MemoryMailer)",
        kib(batch.retained),
        batch.retained,
        kib(batch.mime_bytes)
    );
    println!(
        "  allocations during the batch: {} ({} per send), {} allocated in total",
        batch.allocations,
        batch.allocations / BATCH,
        kib(batch.allocated)
    );
}
