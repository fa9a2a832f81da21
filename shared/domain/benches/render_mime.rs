//! CPU per email of the sender's render path: a ~2 KB template (subject with
//! spintax and variables, HTML with several variables and a fallback, a text
//! part) rendered for a realistic lead, then built into RFC 5322 MIME with the
//! unsubscribe headers and footer (`context_render_and_mime`, the per-email
//! figure; target ≤ 50 µs). Also: building the variables alone, the render
//! alone, the same email with its text part derived from the HTML, the
//! missing-variable check campaign launch runs per lead, and the one-off
//! compile of a template version. Run:
//! `cargo bench -p cc-domain --bench render_mime`.

use cc_domain::email::EmailAddress;
use cc_domain::ids::{CampaignId, EmailId, TenantId};
use cc_domain::input;
use cc_domain::lead::{Lead, NewLead};
use cc_domain::message::{Mailbox, OutboundMessage, message_id_for};
use cc_domain::organization::{NewOrganization, Organization};
use cc_domain::template::{CompiledTemplate, SenderInfo, TemplateContent, TemplateContext};
use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use std::hint::black_box;

const SUBJECT: &str = "{Quick question|Idea|A thought} for {{ company | default(\"your team\") }}, {{ first_name }}";

const HTML: &str = r#"<!doctype html>
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

const TEXT: &str = "{Hi|Hello|Hey} {{ first_name | default(\"there\") }},

{{ personalization.icebreaker | default(\"I came across your profile and wanted to reach out.\") }}

I noticed that {{ company | default(\"your company\") }} is growing its {{ custom_fields.department | default(\"sales\") }} team.
We help companies book {more meetings|more qualified meetings} without adding headcount.

Would it make sense to {grab 15 minutes|have a short call} next week? https://cal.example.com/{{ sender.first_name | lower }}

{Best|Cheers|Thanks},
{{ sender.name }}
";

fn lead() -> Lead {
    let input: NewLead = input::decode(
        json!({
            "email": "ann.lee@acme-robotics.com", "first_name": "Ann", "last_name": "Lee",
            "company_name": "Acme Robotics", "job_title": "VP of Sales", "phone": "+1 415 555 2671",
            "website": "https://acme-robotics.com", "linkedin_url": "https://linkedin.com/in/annlee",
            "city": "San Francisco", "country": "US", "timezone": "America/Los_Angeles", "industry": "Robotics",
            "custom_fields": {"department": "sales", "Employees": "51-200", "tool": "Salesforce"},
            "personalization": {"icebreaker": "Loved your talk at SaaStr on scaling outbound <without> burning the list."}
        }),
        "",
    )
    .unwrap();
    Lead::create(
        TenantId::generate(),
        CampaignId::generate(),
        input,
        "",
        Utc::now(),
        None,
    )
    .unwrap()
}

fn organization() -> Organization {
    let input: NewOrganization = input::decode(
        json!({"email_domain": "acme-robotics.com", "name": "Acme Robotics Inc.", "industry": "Industrial automation",
               "size": "51-200", "employee_count": 140, "country": "US", "technologies": ["Salesforce", "Outreach"]}),
        "",
    )
    .unwrap();
    Organization::create(TenantId::generate(), input, Utc::now()).unwrap()
}

fn bench(c: &mut Criterion) {
    assert!((1900..=2600).contains(&HTML.len()), "html is {} bytes", HTML.len());
    let template = CompiledTemplate::compile(TemplateContent {
        subject: SUBJECT,
        html: Some(HTML),
        text: Some(TEXT),
    })
    .unwrap();
    let html_only = CompiledTemplate::compile(TemplateContent {
        subject: SUBJECT,
        html: Some(HTML),
        text: None,
    })
    .unwrap();
    let (lead, org) = (lead(), organization());
    let sender = SenderInfo {
        name: Some("Bob Smith"),
        email: "bob@mail.customer-center.example",
    };
    let unsubscribe_url = "https://t.customer-center.example/u/0190a1b2c3d4e5f6?sig=8f14e45fceea167a5a36dedd4bea2543";
    let context = TemplateContext::for_email(&lead, Some(&org), sender, unsubscribe_url);
    let from = EmailAddress::parse(sender.email).unwrap();
    let email_id = EmailId::generate();
    assert!(template.missing_variables(&context).is_empty());

    // Everything the sender does per email: variables, render, MIME.
    let build = |template: &CompiledTemplate| {
        let context = TemplateContext::for_email(&lead, Some(&org), sender, unsubscribe_url);
        let rendered = template.render(&context, email_id).unwrap();
        let message = OutboundMessage {
            from: Mailbox::new(sender.name, from.clone()),
            to: Mailbox::new(Some("Ann Lee"), lead.email.clone().unwrap()),
            reply_to: None,
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            message_id: message_id_for(email_id, "mail.customer-center.example"),
            in_reply_to: None,
            references: Vec::new(),
            list_unsubscribe_url: unsubscribe_url.into(),
            list_unsubscribe_mailto: None,
            postal_address: Some("Customer Center Inc.\n548 Market St\nSan Francisco, CA 94104".into()),
            headers: Vec::new(),
        };
        message.to_rfc5322(Utc::now())
    };
    let mime = build(&template);
    assert!(mime.len() > 3000, "{}", mime.len());

    let mut group = c.benchmark_group("email_2kb_template");
    group.throughput(Throughput::Elements(1));
    group.bench_function("render", |b| {
        b.iter(|| black_box(template.render(&context, email_id).unwrap()))
    });
    group.bench_function("context", |b| {
        b.iter(|| black_box(TemplateContext::for_email(&lead, Some(&org), sender, unsubscribe_url)))
    });
    group.bench_function("context_render_and_mime", |b| b.iter(|| black_box(build(&template))));
    group.bench_function("context_render_html_only_derive_text_and_mime", |b| {
        b.iter(|| black_box(build(&html_only)))
    });
    group.bench_function("missing_variables_ok", |b| {
        b.iter(|| black_box(template.missing_variables(&context)))
    });
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
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
