//! Fixtures shared by `benches/sending.rs` and `benches/sender_memory.rs`: a
//! tenant set up straight through the ports of a `MemoryStore` (no
//! principal): an active campaign with a 1-step sequence on the ~2 KB
//! template of `benches/render_mime.rs`, a verified mailbox with an
//! always-open window, an organisation, and one lead with one scheduled email
//! per send. Not a bench target itself (`benches/*/mod.rs` is not discovered).

#![allow(dead_code)]

use cc_domain::campaign::{Campaign, CampaignAction, NewCampaign};
use cc_domain::email::EmailAddress;
use cc_domain::ids::{CampaignId, MailboxId, OrganizationId, TemplateId, TenantId};
use cc_domain::input;
use cc_domain::lead::{Lead, NewLead};
use cc_domain::mailbox::{IdentityVerification, Mailbox, NewMailbox};
use cc_domain::memory::{MemoryMailer, MemoryStore};
use cc_domain::operations::sending::SendContext;
use cc_domain::organization::{NewOrganization, Organization};
use cc_domain::outbound::{OutboundEmail, PlannedEmail, SendJob};
use cc_domain::ports::{CampaignStore, EmailStore, LeadStore, MailboxStore, OrganizationStore, TemplateStore};
use cc_domain::sequence::{SequenceStep, Variant};
use cc_domain::template::{NewTemplate, Template};
use cc_domain::unsubscribe::{LinkSigner, SignedLinks};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::{Map, Value, json};
use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

pub const SUBJECT: &str =
    "{Quick question|Idea|A thought} for {{ company | default(\"your team\") }}, {{ first_name }}";

pub const HTML: &str = r#"<!doctype html>
<html>
<head><meta charset="utf-8"><style>p { margin: 0 0 12px 0; } a { color: #1a73e8; }</style></head>
<body style="font-family: Arial, Helvetica, sans-serif; font-size: 14px; line-height: 1.5; color: #222222;">
<p>{Hi|Hello|Hey} {{ first_name | default("there") }},</p>
<p>{{ personalization.icebreaker | default("I came across your profile and wanted to reach out.") }}</p>
<p>I noticed that {{ company | default("your company") }} is growing its {{ custom_fields.department | default("sales") }}
team in {{ city | default(country | default("your region")) }}. Teams like yours in {{ organization.industry | default("your industry") }}
usually spend hours every week on manual prospecting, list cleaning and follow-ups that never get answered.</p>
<p>We help {{ organization.size | default("growing") }} companies book {more meetings|more qualified meetings|meetings with the right people}
without adding headcount: our customers see a 30% lift in reply rates in the first month, and their reps get back
roughly a day a week. As {{ title | default("a leader on the team") }}, you probably feel that time cost more than anyone.</p>
<ul>
  <li>Verified contact data for {{ organization.name | default(company | default("your market")) }}'s target accounts</li>
  <li>Sequences that adapt to every reply and stop automatically</li>
  <li>Deliverability monitoring across all of your mailboxes</li>
</ul>
<p>Would it make sense to {grab 15 minutes|have a short call|compare notes} next week? Here is my calendar:
<a href="https://cal.example.com/{{ sender.first_name | lower }}?utm_source=email&amp;utm_campaign=q2">book a time</a>.</p>
<p>{Best|Cheers|Thanks},<br>{{ sender.name }}<br>Customer Center &middot; Account Executive</p>
<p>P.S. {{ first_name | default("By the way") }}, we just published a short guide on outbound for {{ organization.industry | default("B2B") }} teams.</p>
<p style="font-size: 12px; color: #888888;">If this is not relevant, just let me know and I will not follow up.</p>
</body>
</html>
"#;

pub const TEXT: &str = "{Hi|Hello|Hey} {{ first_name | default(\"there\") }},

{{ personalization.icebreaker | default(\"I came across your profile and wanted to reach out.\") }}

I noticed that {{ company | default(\"your company\") }} is growing its {{ custom_fields.department | default(\"sales\") }} team.
We help companies book {more meetings|more qualified meetings} without adding headcount.

Would it make sense to {grab 15 minutes|have a short call} next week? https://cal.example.com/{{ sender.first_name | lower }}

{Best|Cheers|Thanks},
{{ sender.name }}
";

pub const POSTAL_ADDRESS: &str = "Customer Center Inc.\n548 Market St\nSan Francisco, CA 94104";

/// A fixed Monday, 10:00 UTC (02:00 in the leads' Los Angeles): inside the always-open windows.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
}

/// Polls a future to completion. The memory ports never wait, so a send is
/// ready on its first poll; this adds no runtime to what is measured.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

pub fn lead_input(tenant: TenantId, campaign: CampaignId, organization: Option<OrganizationId>) -> Lead {
    let input: NewLead = input::decode(
        json!({
            "email": "ann.lee@acme-robotics.com", "first_name": "Ann", "last_name": "Lee",
            "company_name": "Acme Robotics", "job_title": "VP of Sales", "phone": "+1 415 555 2671",
            "website": "https://acme-robotics.com", "linkedin_url": "https://linkedin.com/in/annlee",
            "city": "San Francisco", "country": "US", "timezone": "America/Los_Angeles", "industry": "Robotics",
            "organization_id": organization,
            "custom_fields": {"department": "sales", "Employees": "51-200", "tool": "Salesforce"},
            "personalization": {"icebreaker": "Loved your talk at SaaStr on scaling outbound <without> burning the list."}
        }),
        "",
    )
    .unwrap();
    Lead::create(tenant, campaign, input, "", now(), None).unwrap()
}

pub fn organization(tenant: TenantId) -> Organization {
    let input: NewOrganization = input::decode(
        json!({"email_domain": "acme-robotics.com", "name": "Acme Robotics Inc.", "industry": "Industrial automation",
               "size": "51-200", "employee_count": 140, "country": "US", "technologies": ["Salesforce", "Outreach"]}),
        "",
    )
    .unwrap();
    Organization::create(tenant, input, now()).unwrap()
}

fn always_open() -> Value {
    json!({"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "23:59"})
}

/// One tenant ready to send: store, mail service, links and the ids the
/// scheduled emails need. Leads are added with [`SendEnv::schedule`].
pub struct SendEnv {
    pub store: MemoryStore,
    pub mailer: MemoryMailer,
    pub links: SignedLinks,
    pub tenant: TenantId,
    pub campaign: CampaignId,
    pub mailbox: MailboxId,
    pub template: TemplateId,
    /// The lead every scheduled lead is a copy of (with its own address).
    pub lead: Lead,
    scheduled: Cell<u64>,
    pub templates: cc_domain::template::TemplateCache,
}

impl SendEnv {
    pub fn new() -> Self {
        let store = MemoryStore::new();
        let tenant = TenantId::generate();
        let now = now();

        let mut mailbox = Mailbox::create(
            tenant,
            NewMailbox {
                email: "bob@mail.customer-center.example".into(),
                display_name: Some("Bob Smith".into()),
                reply_to: None,
                daily_cap: Some(2000),
                min_gap_seconds: Some(0),
                jitter_seconds: None,
                window: Some(always_open()),
                timezone: None,
            },
            now,
        )
        .unwrap();
        assert!(mailbox.observe_verification(IdentityVerification::Verified, now));
        // A mailbox may send at most 2,000 a day (its API refuses more). A
        // bench sends more than that on one simulated day, so the stored
        // mailbox is given a cap that never binds: the check still runs.
        mailbox.daily_cap = u32::MAX;
        block_on(store.insert_mailbox(&mailbox)).unwrap().unwrap();

        let template = Template::create(
            tenant,
            NewTemplate {
                name: "Intro".into(),
                category: Default::default(),
                subject: SUBJECT.into(),
                html: Some(HTML.into()),
                text: Some(TEXT.into()),
            },
            now,
        )
        .unwrap();
        block_on(store.insert_template(&template, &template.snapshot())).unwrap();

        let organization = organization(tenant);
        block_on(store.insert_organization(&organization)).unwrap().unwrap();

        let mut settings = Map::new();
        settings.insert("mailbox_ids".into(), json!([mailbox.id]));
        settings.insert("window".into(), always_open());
        settings.insert("postal_address".into(), json!(POSTAL_ADDRESS));
        let mut campaign = Campaign::create(
            tenant,
            NewCampaign {
                name: "Q2 outbound".into(),
                description: None,
                settings,
            },
            now,
        )
        .unwrap();
        campaign.set_sequence(
            vec![SequenceStep {
                delay_days: 0,
                business_days: false,
                same_thread: false,
                variants: vec![Variant {
                    template_id: template.id,
                    weight: 1,
                }],
            }],
            now,
        );
        campaign.transition(CampaignAction::Activate, now).unwrap();
        block_on(store.insert_campaign(&campaign)).unwrap();

        let lead = lead_input(tenant, campaign.id, Some(organization.id));
        let signer = LinkSigner::new(&[7u8; 32]).unwrap();
        Self {
            store,
            mailer: MemoryMailer::default(),
            links: SignedLinks::new(signer, "https://api.customer-center.example"),
            tenant,
            campaign: campaign.id,
            mailbox: mailbox.id,
            template: template.id,
            lead,
            scheduled: Cell::new(0),
            templates: Default::default(),
        }
    }

    /// Stores a new lead (a copy of `self.lead` at its own address) and its
    /// first email, due now; the send job for it.
    pub fn schedule(&self) -> SendJob {
        let n = self.scheduled.get() + 1;
        self.scheduled.set(n);
        let mut lead = self.lead.clone();
        lead.email = Some(EmailAddress::parse(&format!("ann.lee.{n}@acme-robotics.com")).unwrap());
        block_on(self.store.insert_leads(std::slice::from_mut(&mut lead))).unwrap();
        let email = OutboundEmail::schedule(
            PlannedEmail {
                tenant_id: self.tenant,
                campaign_id: self.campaign,
                lead_id: lead.id,
                to: lead.email.clone().unwrap(),
                step: 1,
                variant: 0,
                template_id: Some(self.template),
                mailbox_id: self.mailbox,
                at: now(),
                thread: Vec::new(),
            },
            now(),
        );
        assert_eq!(
            block_on(self.store.schedule_emails(std::slice::from_ref(&email))).unwrap(),
            [true]
        );
        SendJob {
            tenant_id: self.tenant,
            lead_id: lead.id,
            email_id: email.id,
        }
    }

    /// How many leads [`SendEnv::schedule`] has added.
    pub fn scheduled(&self) -> u64 {
        self.scheduled.get()
    }

    pub fn context(&self) -> SendContext<'_> {
        SendContext {
            store: &self.store,
            mailer: &self.mailer,
            links: &self.links,
            configuration_set_prefix: Some("cc-bench-"),
            templates: &self.templates,
            replies: None,
        }
    }
}

/// SQS bodies of SES Open events (people's) of a sent email in their SNS
/// envelopes, each with its own SNS id: the SES events benches' workload.
pub fn ses_open_bodies(env: &SendEnv, job: &SendJob, first: usize, count: usize) -> Vec<String> {
    (first..first + count)
        .map(|n| {
            let event = json!({
                "eventType": "Open",
                "mail": {
                    "timestamp": now().to_rfc3339(),
                    "source": "sam@acme.io",
                    "sendingAccountId": "123456789012",
                    "messageId": "0100018e-example",
                    "destination": ["lead@company.com"],
                    "headersTruncated": false,
                    "commonHeaders": {"from": ["sam@acme.io"], "to": ["lead@company.com"], "subject": "Hello"},
                    "tags": {
                        "ses:configuration-set": ["cc-prod-tenant"],
                        "ses:source-ip": ["192.0.2.0"],
                        "tenant_id": [env.tenant.to_string()],
                        "campaign_id": [env.campaign.to_string()],
                        "lead_id": [job.lead_id.to_string()],
                        "step": ["1"],
                        "email_id": [job.email_id.to_string()]
                    }
                },
                "open": {
                    "timestamp": (now() + TimeDelta::minutes(5)).to_rfc3339(),
                    "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
                    "ipAddress": "198.51.100.7"
                }
            });
            json!({
                "Type": "Notification",
                "MessageId": format!("00000000-0000-4000-8000-{n:012}"),
                "TopicArn": "arn:aws:sns:us-east-1:123456789012:cc-prod-SesEventsTopic",
                "Message": event.to_string(),
                "Timestamp": now().to_rfc3339(),
                "SignatureVersion": "1",
                "Signature": "EXAMPLE",
                "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
                "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
            })
            .to_string()
        })
        .collect()
}
