//! CPU per email of issue 4's two in-process halves, against the memory ports.
//!
//! `scheduler_dispatch`: one `sending::dispatch_due` tick over a `MemoryStore`
//! holding N scheduled, due emails (1,000 and 10,000, over 10 tenants), into a
//! `MemorySendQueue`; every iteration starts from a freshly built store
//! (setup, not timed). Per email = per email handed out: a tick hands out at
//! most `DUE_PER_SHARD` (1,000) per shard, so 10,000 due emails give ≈ 8,000.
//! Target ≤ 10 µs per email. `due_emails_only` times the store's read alone
//! (`MemoryStore::due_emails` filters every email per shard, so it is
//! O(shards × N)), per email handed out too: the rest of `dispatch_due` is
//! the lease, the version-checked save, and the job.
//!
//! `sender_render_mime`: what the sender does per email. `render_and_mime`:
//! the signed unsubscribe link, the template variables, render (template
//! compiled once), the `OutboundMessage` and `to_rfc5322`, for the ~2 KB
//! template of `render_mime.rs` (HTML + text, variables, fallbacks, spintax).
//! `compile`: the template's compile, which `send_email` currently does for
//! every email. `send_email`: a whole `sending::send_email` against
//! `MemoryStore` + `MemoryMailer` (active campaign with a 1-step sequence,
//! verified mailbox, always-open windows; a new lead with a scheduled email per
//! iteration, built in setup): the store reads, the checks, compile, render,
//! MIME, the cap count, the claim, the send and what follows it (activity,
//! lead → contacted).
//!
//! Run: `cargo bench -p cc-domain --bench sending` (add
//! `-- --warm-up-time 1 --measurement-time 3` for a short run).

#[path = "sending_support/mod.rs"]
mod support;

use cc_domain::email::EmailAddress;
use cc_domain::ids::{CampaignId, EmailId, LeadId, MailboxId, TemplateId, TenantId};
use cc_domain::memory::{MemorySendQueue, MemoryStore};
use cc_domain::message::{Mailbox, OutboundMessage, message_id_for};
use cc_domain::operations::sending::{self, DUE_PER_SHARD, Delays, LOOKAHEAD, SendOutcome};
use cc_domain::outbound::{OutboundEmail, PlannedEmail};
use cc_domain::ports::{DUE_SHARDS, EmailStore, UnsubscribeLinks, due_shard};
use cc_domain::template::{CompiledTemplate, SenderInfo, TemplateContent, TemplateContext};
use chrono::TimeDelta;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::rc::Rc;
use support::{HTML, POSTAL_ADDRESS, SUBJECT, SendEnv, TEXT, block_on, now};
use uuid::Uuid;

const TENANTS: usize = 10;

/// `n` scheduled emails due within the last hour, spread over tenants (each
/// with a campaign and a mailbox) and leads; ids from a seeded generator, so
/// the shards, and so the emails a tick hands out, are the same every run.
fn due_emails(n: usize) -> Vec<OutboundEmail> {
    let mut rng = StdRng::seed_from_u64(4);
    let mut id = || Uuid::from_u128(rng.random());
    let tenants: Vec<(TenantId, CampaignId, MailboxId, TemplateId)> = (0..TENANTS)
        .map(|_| {
            (
                TenantId::from_uuid(id()),
                CampaignId::from_uuid(id()),
                MailboxId::from_uuid(id()),
                TemplateId::from_uuid(id()),
            )
        })
        .collect();
    let mut rng = StdRng::seed_from_u64(5);
    (0..n)
        .map(|i| {
            let (tenant, campaign, mailbox, template) = tenants[i % TENANTS];
            let lead = LeadId::from_uuid(Uuid::from_u128(rng.random()));
            OutboundEmail::schedule(
                PlannedEmail {
                    tenant_id: tenant,
                    campaign_id: campaign,
                    lead_id: lead,
                    to: EmailAddress::parse(&format!("lead.{i}@company-{}.com", i % 700)).unwrap(),
                    step: 1,
                    variant: 0,
                    template_id: Some(template),
                    mailbox_id: mailbox,
                    at: now() - TimeDelta::seconds(rng.random_range(0..3600)),
                    thread: Vec::new(),
                },
                now() - TimeDelta::hours(2),
            )
        })
        .collect()
}

/// How many of `emails` one tick hands out.
fn per_tick(emails: &[OutboundEmail]) -> usize {
    let mut shards = [0usize; DUE_SHARDS as usize];
    for email in emails {
        shards[due_shard(email.id) as usize] += 1;
    }
    shards.iter().map(|&n| n.min(DUE_PER_SHARD)).sum()
}

fn fresh_store(emails: &[OutboundEmail]) -> (MemoryStore, MemorySendQueue) {
    let store = MemoryStore::new();
    block_on(store.schedule_emails(emails)).unwrap();
    (store, MemorySendQueue::default())
}

fn scheduler(c: &mut Criterion) {
    let mut group = c.benchmark_group("scheduler_dispatch");
    group.sample_size(20);
    for n in [1_000, 10_000] {
        let emails = due_emails(n);
        let handed_out = per_tick(&emails);
        let (store, queue) = fresh_store(&emails);
        let report = block_on(sending::dispatch_due(&store, &queue, now(), Delays::UntilSlot)).unwrap();
        assert_eq!((report.enqueued, report.skipped), (handed_out, 0));
        assert_eq!(queue.take().len(), handed_out);
        println!("scheduler_dispatch/{n}: a tick hands out {handed_out} of {n} due emails");

        group.throughput(Throughput::Elements(handed_out as u64));
        group.bench_function(BenchmarkId::new("dispatch_due", n), |b| {
            b.iter_batched_ref(
                || fresh_store(&emails),
                |(store, queue)| block_on(sending::dispatch_due(store, queue, now(), Delays::UntilSlot)).unwrap(),
                BatchSize::PerIteration,
            )
        });
        let (store, _) = fresh_store(&emails);
        group.bench_function(BenchmarkId::new("due_emails_only", n), |b| {
            b.iter(|| {
                for shard in 0..DUE_SHARDS {
                    black_box(block_on(store.due_emails(shard, now() + LOOKAHEAD, DUE_PER_SHARD)).unwrap());
                }
            })
        });
    }
    group.finish();
}

/// A fresh tenant every this many sends, so the memory store (and the mail
/// service's copies of the messages) stay small however long criterion runs.
const SENDS_PER_ENV: u64 = 5_000;

fn sender(c: &mut Criterion) {
    assert!((1900..=2600).contains(&HTML.len()), "html is {} bytes", HTML.len());
    let env = SendEnv::new();
    let template = CompiledTemplate::compile(TemplateContent {
        subject: SUBJECT,
        html: Some(HTML),
        text: Some(TEXT),
    })
    .unwrap();
    let organization = support::organization(env.tenant);
    let lead = &env.lead;
    let sender = SenderInfo {
        name: Some("Bob Smith"),
        email: "bob@mail.customer-center.example",
    };
    let from = EmailAddress::parse(sender.email).unwrap();
    let email_id = EmailId::for_step(lead.id, 1);

    // What the sender does per email once its template is compiled.
    let build = || {
        let unsubscribe_url = env.links.url(env.tenant, lead.id, email_id);
        let context = TemplateContext::for_email(lead, Some(&organization), sender, &unsubscribe_url);
        let rendered = template.render(&context, email_id).unwrap();
        let message = OutboundMessage {
            from: Mailbox::new(sender.name, from.clone()),
            to: Mailbox::new(Some("Ann Lee"), lead.email.clone().unwrap()),
            reply_to: None,
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            message_id: message_id_for(email_id, from.domain()),
            in_reply_to: None,
            references: Vec::new(),
            list_unsubscribe_url: unsubscribe_url,
            list_unsubscribe_mailto: None,
            postal_address: Some(POSTAL_ADDRESS.into()),
            headers: Vec::new(),
        };
        message.to_rfc5322(now())
    };
    let mime = build();
    assert!(mime.len() > 3000, "{}", mime.len());

    // A whole send, checked once before it is timed.
    let mut rng = StdRng::seed_from_u64(7);
    let job = env.schedule();
    match block_on(sending::send_email(&env.context(), &job, now(), &mut rng)).unwrap() {
        SendOutcome::Sent { .. } => {}
        other => panic!("the bench email was not sent: {other:?}"),
    }
    let sent = env.mailer.sent.lock().unwrap()[0].1.len();
    println!(
        "sender_render_mime: {} bytes of MIME (send_email: {sent} bytes)",
        mime.len()
    );

    let mut group = c.benchmark_group("sender_render_mime");
    group.throughput(Throughput::Elements(1));
    group.bench_function("render_and_mime", |b| b.iter(|| black_box(build())));
    group.bench_function("compile", |b| {
        b.iter(|| {
            black_box(
                CompiledTemplate::compile(TemplateContent {
                    subject: SUBJECT,
                    html: Some(HTML),
                    text: Some(TEXT),
                })
                .unwrap(),
            )
        })
    });
    let mut current = Rc::new(SendEnv::new());
    group.bench_function("send_email", |b| {
        b.iter_batched(
            || {
                if current.scheduled() >= SENDS_PER_ENV {
                    current = Rc::new(SendEnv::new());
                }
                let job = current.schedule();
                (Rc::clone(&current), job)
            },
            |(env, job)| {
                let outcome = block_on(sending::send_email(&env.context(), &job, now(), &mut rng));
                // The store goes back out, so a retired one is dropped untimed.
                (outcome, env)
            },
            BatchSize::SmallInput,
        )
    });
    // Every timed send was a send (the outcomes went untimed into the void).
    assert_eq!(current.mailer.sent.lock().unwrap().len() as u64, current.scheduled());
    group.finish();
}

criterion_group!(benches, scheduler, sender);
criterion_main!(benches);
