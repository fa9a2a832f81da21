//! Email templates: the versioned entity, the variables a template sees,
//! spintax, and strict rendering.
//!
//! # Parts and syntax
//!
//! A template has a subject, an HTML body and a plain-text body; at least one
//! body is given. Each part is a [MiniJinja](https://docs.rs/minijinja)
//! template: `{{ first_name }}`, `{{ first_name | default("there") }}`,
//! `{% if company %}…{% endif %}`, `{{ custom_fields.industry }}`,
//! `{{ custom_fields["Company Size"] }}`. The HTML part auto-escapes
//! variable values; the subject and the text part do not.
//!
//! # Order: spintax first, then Jinja
//!
//! `{Hi|Hello|Hey}` picks one option; groups nest (`{Hi {there|friend}|Hello}`)
//! and options may hold Jinja (`{Hi|Hello} {{ first_name | default("there") }}`).
//! The pick is a pure function of a [`SpinSeed`] (the email id), so a retried
//! send renders the very same email. The result is exactly "resolve spintax in
//! the source, then render the Jinja", but it is implemented by compiling each
//! spintax group *into* Jinja conditionals once (`{% if … %}Hi{% endif %}…`), so
//! a template is parsed once and every email only renders it.
//!
//! Spintax never touches Jinja: `{{ … }}`, `{% … %}`, `{# … #}` and
//! `{% raw %}…{% endraw %}` are skipped whole (a `|` inside them is a filter,
//! not an option separator). A `{` that is not followed by a `|` before its
//! matching `}` (CSS, JSON, prose) is literal text, and so is an unclosed `{`.
//! `{{` always opens a Jinja expression, so a nested group at the very start of
//! an option needs a space: `{ {a|b} c|d}`.
//!
//! # Undefined variables
//!
//! Variables missing from the [`TemplateContext`] (absent or empty) are
//! *undefined*, and the environment runs with
//! [`UndefinedBehavior::SemiStrict`]: printing, iterating or reading an
//! attribute of an undefined value is an error, but `default(…)` and a
//! truthiness test (`{% if first_name %}…{% else %}…{% endif %}`) are the two
//! ways to give a fallback. (`Strict` would also make `{% if x %}` an error,
//! which forbids the most common fallback of all; both modes let `default`
//! work.) [`CompiledTemplate::missing_variables`] names every variable a
//! context lacks that is not covered by a fallback, for every spintax option.

use crate::error::DomainError;
use crate::ids::{EmailId, TemplateId, TenantId};
use crate::input::{self, Patch, Problems};
use crate::lead::Lead;
use crate::organization::Organization;
use chrono::{DateTime, Utc};
use minijinja::value::{Enumerator, Object, ObjectRepr};
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, Value};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value as Json};
use std::collections::HashSet;
use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex};

pub const MAX_NAME: usize = 200;
/// RFC 5322 caps a header line at 998 characters.
pub const MAX_SUBJECT: usize = 998;
/// Per body part, in bytes of UTF-8.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Spintax groups nested deeper than this are literal text.
const MAX_SPIN_DEPTH: usize = 8;
/// The undefined behaviour of every template environment (see the module docs).
pub const UNDEFINED_BEHAVIOR: UndefinedBehavior = UndefinedBehavior::SemiStrict;

// ---------------------------------------------------------------------------
// The entity
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TemplateCategory {
    #[default]
    Marketing,
    Transactional,
    Newsletter,
    Welcome,
    Promotional,
}

impl TemplateCategory {
    pub const ALL: [TemplateCategory; 5] = [
        TemplateCategory::Marketing,
        TemplateCategory::Transactional,
        TemplateCategory::Newsletter,
        TemplateCategory::Welcome,
        TemplateCategory::Promotional,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TemplateCategory::Marketing => "marketing",
            TemplateCategory::Transactional => "transactional",
            TemplateCategory::Newsletter => "newsletter",
            TemplateCategory::Welcome => "welcome",
            TemplateCategory::Promotional => "promotional",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

impl fmt::Display for TemplateCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An email template of a tenant. Its content at each `version` is kept as a
/// [`TemplateVersion`]; an email records the version it was rendered from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Template {
    pub id: TemplateId,
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub tenant_id: TenantId,
    pub name: String,
    pub category: TemplateCategory,
    pub subject: String,
    pub html: Option<String>,
    pub text: Option<String>,
    /// 1 at creation, +1 on every update; also the optimistic-locking version.
    pub version: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The content of a template at one version; never changes once written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TemplateVersion {
    pub template_id: TemplateId,
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub tenant_id: TenantId,
    pub version: u32,
    pub name: String,
    pub category: TemplateCategory,
    pub subject: String,
    pub html: Option<String>,
    pub text: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// `POST /v1/templates` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTemplate {
    /// 1–200 characters.
    pub name: String,
    #[serde(default)]
    pub category: TemplateCategory,
    /// One line, at most 998 characters; spintax and variables allowed.
    pub subject: String,
    /// At most 256 KB. At least one of `html` and `text` is required.
    pub html: Option<String>,
    /// At most 256 KB. Derived from `html` when absent.
    pub text: Option<String>,
}

/// `PATCH /v1/templates/{id}` body: absent leaves a field, `null` clears a
/// body (`name` and `subject` cannot be cleared). Every update makes a new version.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplatePatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    pub category: Option<TemplateCategory>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub subject: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub html: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub text: Patch<String>,
}

/// The three parts of a template, borrowed from a [`Template`] or a [`TemplateVersion`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateContent<'a> {
    pub subject: &'a str,
    pub html: Option<&'a str>,
    pub text: Option<&'a str>,
}

impl<'a> From<&'a Template> for TemplateContent<'a> {
    fn from(t: &'a Template) -> Self {
        Self {
            subject: &t.subject,
            html: t.html.as_deref(),
            text: t.text.as_deref(),
        }
    }
}

impl<'a> From<&'a TemplateVersion> for TemplateContent<'a> {
    fn from(t: &'a TemplateVersion) -> Self {
        Self {
            subject: &t.subject,
            html: t.html.as_deref(),
            text: t.text.as_deref(),
        }
    }
}

fn subject_text(value: &str) -> Result<String, String> {
    let subject = input::required_text(value, MAX_SUBJECT)?;
    if subject.contains(['\r', '\n']) {
        return Err("must be a single line".into());
    }
    Ok(subject)
}

/// A body: blank means absent; bounded in bytes.
fn body_text(value: Option<String>) -> Result<Option<String>, String> {
    match value {
        Some(body) if body.trim().is_empty() => Ok(None),
        Some(body) if body.len() > MAX_BODY_BYTES => Err(format!("must be at most {} KB", MAX_BODY_BYTES / 1024)),
        other => Ok(other),
    }
}

/// Checks the content rules shared by create and update, adding field errors
/// to `p`: one body at least, and every part compiles.
fn check_content(p: &mut Problems, subject: Option<&str>, html: Option<&str>, text: Option<&str>, bodies_ok: bool) {
    if bodies_ok && html.is_none() && text.is_none() {
        p.add("html", "an html or a text body is required");
    }
    for error in CompiledTemplate::check(subject, html, text) {
        p.add(error.part.as_str(), error.field_message());
    }
}

impl Template {
    pub fn create(tenant_id: TenantId, input: NewTemplate, now: DateTime<Utc>) -> Result<Self, DomainError> {
        let mut p = Problems::at("");
        let name = p.check("name", input::required_text(&input.name, MAX_NAME));
        let subject = p.check("subject", subject_text(&input.subject));
        let html = p.check("html", body_text(input.html));
        let text = p.check("text", body_text(input.text));
        let bodies_ok = html.is_some() && text.is_some();
        let (html, text) = (html.flatten(), text.flatten());
        check_content(&mut p, subject.as_deref(), html.as_deref(), text.as_deref(), bodies_ok);
        p.into_result().map_err(DomainError::Validation)?;
        Ok(Self {
            id: TemplateId::generate(),
            tenant_id,
            name: name.unwrap_or_default(),
            category: input.category,
            subject: subject.unwrap_or_default(),
            html,
            text,
            version: 1,
            created_at: now,
            updated_at: now,
        })
    }

    /// Applies a PATCH and returns the next version of the template together
    /// with its snapshot; `self` (and so every older version) is left as it was.
    pub fn update(&self, patch: TemplatePatch, now: DateTime<Utc>) -> Result<(Template, TemplateVersion), DomainError> {
        let mut next = self.clone();
        let mut p = Problems::at("");
        p.check(
            "name",
            patch
                .name
                .apply_required(&mut next.name, |name| input::required_text(&name, MAX_NAME)),
        );
        if let Some(category) = patch.category {
            next.category = category;
        }
        let subject_ok = p
            .check(
                "subject",
                patch.subject.apply_required(&mut next.subject, |s| subject_text(&s)),
            )
            .is_some();
        let mut bodies_ok = true;
        for (field, target, value) in [
            ("html", &mut next.html, patch.html),
            ("text", &mut next.text, patch.text),
        ] {
            bodies_ok &= p
                .check(field, value.apply_optional(target, |v| body_text(Some(v))))
                .is_some();
        }
        check_content(
            &mut p,
            subject_ok.then_some(next.subject.as_str()),
            next.html.as_deref(),
            next.text.as_deref(),
            bodies_ok,
        );
        p.into_result().map_err(DomainError::Validation)?;
        next.version = self.version.saturating_add(1);
        next.updated_at = now;
        let snapshot = next.snapshot();
        Ok((next, snapshot))
    }

    /// The current content as a version record (for storing version 1 at creation).
    pub fn snapshot(&self) -> TemplateVersion {
        TemplateVersion {
            template_id: self.id,
            tenant_id: self.tenant_id,
            version: self.version,
            name: self.name.clone(),
            category: self.category,
            subject: self.subject.clone(),
            html: self.html.clone(),
            text: self.text.clone(),
            created_at: self.updated_at,
        }
    }

    pub fn content(&self) -> TemplateContent<'_> {
        self.into()
    }

    pub fn compile(&self) -> Result<CompiledTemplate, RenderError> {
        CompiledTemplate::compile(self.content())
    }
}

impl TemplateVersion {
    pub fn content(&self) -> TemplateContent<'_> {
        self.into()
    }

    pub fn compile(&self) -> Result<CompiledTemplate, RenderError> {
        CompiledTemplate::compile(self.content())
    }
}

// ---------------------------------------------------------------------------
// Variables
// ---------------------------------------------------------------------------

/// The sender as templates see it (`sender.name`, `sender.first_name`, `sender.email`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderInfo<'a> {
    pub name: Option<&'a str>,
    pub email: &'a str,
}

/// The variables of one email, as a JSON object. Absent and empty values are
/// never stored, so `default(…)` applies to them.
///
/// Top level (lead): `first_name`, `last_name`, `full_name`, `email`,
/// `company` (= `company_name`), `title` (= `job_title`), `phone`, `website`,
/// `linkedin` (= `linkedin_url`), `city`, `country`, `timezone`, `industry`,
/// `unsubscribe_url`. Namespaces: `custom_fields.*`, `personalization.*`
/// (AI-written lines), `organization.*` (`name`, `domain`, `website`,
/// `linkedin`, `industry`, `size`, `employee_count`, `annual_revenue`,
/// `country`, `city`, `phone`, `description`, `technologies`,
/// `custom_fields`), `sender.*` (`name`, `first_name`, `email`). The four
/// namespaces always exist (possibly empty), so `custom_fields.x | default(…)`
/// works for a lead without custom fields.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateContext(Arc<Map<String, Json>>);

impl Default for TemplateContext {
    /// No variables, only the (empty) namespaces.
    fn default() -> Self {
        Self::from_map(Map::new())
    }
}

impl Serialize for TemplateContext {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for TemplateContext {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Map::deserialize(deserializer).map(Self::from_map)
    }
}

/// Keeps a value unless it is null, blank text, or an object or list with nothing left in it.
fn clean(value: &Json) -> Option<Json> {
    match value {
        Json::Null => None,
        Json::String(s) if s.trim().is_empty() => None,
        Json::Object(map) => {
            let map: Map<String, Json> = map
                .iter()
                .filter_map(|(k, v)| clean(v).map(|v| (k.clone(), v)))
                .collect();
            (!map.is_empty()).then_some(Json::Object(map))
        }
        Json::Array(items) => (!items.is_empty()).then(|| value.clone()),
        other => Some(other.clone()),
    }
}

fn put(map: &mut Map<String, Json>, key: &str, value: Option<&str>) {
    if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
        map.insert(key.to_string(), Json::String(value.to_string()));
    }
}

const NAMESPACES: [&str; 4] = ["custom_fields", "personalization", "organization", "sender"];

impl TemplateContext {
    /// The variables of an email to `lead` (of `organization`) from `sender`.
    pub fn for_email(
        lead: &Lead,
        organization: Option<&Organization>,
        sender: SenderInfo<'_>,
        unsubscribe_url: &str,
    ) -> Self {
        let mut vars = Map::new();
        put(&mut vars, "first_name", lead.first_name.as_deref());
        put(&mut vars, "last_name", lead.last_name.as_deref());
        let full_name = [lead.first_name.as_deref(), lead.last_name.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        put(&mut vars, "full_name", Some(&full_name));
        put(&mut vars, "email", lead.email.as_ref().map(|e| e.as_str()));
        for key in ["company", "company_name"] {
            put(&mut vars, key, lead.company_name.as_deref());
        }
        for key in ["title", "job_title"] {
            put(&mut vars, key, lead.job_title.as_deref());
        }
        put(&mut vars, "phone", lead.phone.as_deref());
        put(&mut vars, "website", lead.website.as_deref());
        for key in ["linkedin", "linkedin_url"] {
            put(&mut vars, key, lead.linkedin_url.as_deref());
        }
        put(&mut vars, "city", lead.city.as_deref());
        put(&mut vars, "country", lead.country.as_deref());
        put(&mut vars, "timezone", lead.timezone.as_deref());
        put(&mut vars, "industry", lead.industry.as_deref());
        put(&mut vars, "unsubscribe_url", Some(unsubscribe_url));

        let custom = clean(&Json::Object(lead.custom_fields.clone())).unwrap_or_else(|| Json::Object(Map::new()));
        vars.insert("custom_fields".into(), custom);

        let mut lines = Map::new();
        for (key, line) in &lead.personalization {
            put(&mut lines, key, Some(line));
        }
        vars.insert("personalization".into(), Json::Object(lines));

        let mut org = Map::new();
        if let Some(o) = organization {
            // An organisation without a name is named after its domain; that is no name to greet.
            if o.name != o.email_domain.as_str() {
                put(&mut org, "name", Some(&o.name));
            }
            put(&mut org, "domain", Some(o.email_domain.as_str()));
            put(&mut org, "website", o.website.as_deref());
            for key in ["linkedin", "linkedin_url"] {
                put(&mut org, key, o.linkedin_url.as_deref());
            }
            put(&mut org, "industry", o.industry.as_deref());
            put(&mut org, "size", o.size.as_deref());
            if let Some(n) = o.employee_count {
                org.insert("employee_count".into(), Json::from(n));
            }
            if let Some(n) = o.annual_revenue {
                org.insert("annual_revenue".into(), Json::from(n));
            }
            put(&mut org, "country", o.country.as_deref());
            put(&mut org, "city", o.city.as_deref());
            put(&mut org, "phone", o.phone.as_deref());
            put(&mut org, "description", o.description.as_deref());
            if !o.technologies.is_empty() {
                org.insert("technologies".into(), Json::from(o.technologies.clone()));
            }
            if let Some(custom) = clean(&Json::Object(o.custom_fields.clone())) {
                org.insert("custom_fields".into(), custom);
            }
        }
        vars.insert("organization".into(), Json::Object(org));

        let mut from = Map::new();
        put(&mut from, "name", sender.name);
        put(
            &mut from,
            "first_name",
            sender.name.and_then(|n| n.split_whitespace().next()),
        );
        put(&mut from, "email", Some(sender.email));
        vars.insert("sender".into(), Json::Object(from));
        Self(Arc::new(vars))
    }

    /// A context from any JSON object (a preview with sample data, a test):
    /// empty values are dropped and the namespaces are added.
    pub fn from_map(map: Map<String, Json>) -> Self {
        let mut vars = match clean(&Json::Object(map)) {
            Some(Json::Object(vars)) => vars,
            _ => Map::new(),
        };
        for ns in NAMESPACES {
            if !vars.get(ns).is_some_and(Json::is_object) {
                vars.insert(ns.into(), Json::Object(Map::new()));
            }
        }
        Self(Arc::new(vars))
    }

    pub fn as_map(&self) -> &Map<String, Json> {
        &self.0
    }

    /// The value at a dotted path such as `custom_fields.industry`.
    pub fn get(&self, path: &str) -> Option<&Json> {
        let mut parts = path.split('.');
        let mut value = self.0.get(parts.next()?)?;
        for part in parts {
            value = value.as_object()?.get(part)?;
        }
        Some(value)
    }

    /// Sets a variable (a blank or null value removes it).
    pub fn set(&mut self, key: &str, value: Json) {
        let vars = Arc::make_mut(&mut self.0);
        match clean(&value) {
            Some(value) => vars.insert(key.to_string(), value),
            None => vars.remove(key),
        };
    }
}

// ---------------------------------------------------------------------------
// Spintax
// ---------------------------------------------------------------------------

/// What picks the spintax options of one email: the same seed gives the same email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpinSeed(pub u64);

impl From<u64> for SpinSeed {
    fn from(value: u64) -> Self {
        Self(value)
    }
}

impl From<EmailId> for SpinSeed {
    fn from(id: EmailId) -> Self {
        let bits = id.as_uuid().as_u128();
        Self(mix((bits >> 64) as u64 ^ mix(bits as u64)))
    }
}

/// SplitMix64: a fixed, well-mixed function (not `std`'s hasher, which may change between releases).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The context variables the compiled spintax reads.
const SPIN: &str = "__spin";
const SPIN_ALL: &str = "__spin_all";

#[derive(Debug)]
enum Node<'a> {
    Text(&'a str),
    Group(Vec<Vec<Node<'a>>>),
}

enum Stop {
    End,
    Bar,
    Close,
}

struct SpinParser<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> SpinParser<'a> {
    /// Reads nodes up to the end, or (inside a group) up to a `|` or `}` of this level.
    fn seq(&mut self, depth: usize) -> (Vec<Node<'a>>, Stop) {
        let bytes = self.src.as_bytes();
        let mut nodes = Vec::new();
        let mut start = self.pos;
        while self.pos < bytes.len() {
            match bytes[self.pos] {
                b'{' => {
                    if let Some(end) = jinja_end(self.src, self.pos) {
                        self.pos = end;
                        continue;
                    }
                    push_text(&mut nodes, &self.src[start..self.pos]);
                    self.pos += 1;
                    if depth >= MAX_SPIN_DEPTH {
                        // Too deep to be spintax: a literal brace, written so that it
                        // can never merge with a generated tag into `{{` or `{%`.
                        nodes.push(Node::Text("{{ '{' }}"));
                    } else {
                        nodes.extend(self.group(depth + 1));
                    }
                    start = self.pos;
                }
                b'|' if depth > 0 => {
                    push_text(&mut nodes, &self.src[start..self.pos]);
                    self.pos += 1;
                    return (nodes, Stop::Bar);
                }
                b'}' if depth > 0 => {
                    push_text(&mut nodes, &self.src[start..self.pos]);
                    self.pos += 1;
                    return (nodes, Stop::Close);
                }
                _ => self.pos += 1,
            }
        }
        push_text(&mut nodes, &self.src[start..]);
        (nodes, Stop::End)
    }

    /// After a `{`: the options up to the matching `}`. Without a `|` the
    /// braces are literal; without a closing `}` the brace and bars are.
    fn group(&mut self, depth: usize) -> Vec<Node<'a>> {
        let mut options = Vec::new();
        loop {
            let (nodes, stop) = self.seq(depth);
            options.push(nodes);
            match stop {
                Stop::Bar => continue,
                Stop::Close if options.len() > 1 => return vec![Node::Group(options)],
                Stop::Close => {
                    let mut out = vec![Node::Text("{")];
                    out.extend(options.into_iter().flatten());
                    out.push(Node::Text("}"));
                    return out;
                }
                Stop::End => {
                    let mut out = vec![Node::Text("{")];
                    for (i, option) in options.into_iter().enumerate() {
                        if i > 0 {
                            out.push(Node::Text("|"));
                        }
                        out.extend(option);
                    }
                    return out;
                }
            }
        }
    }
}

fn push_text<'a>(nodes: &mut Vec<Node<'a>>, text: &'a str) {
    if !text.is_empty() {
        nodes.push(Node::Text(text));
    }
}

/// If a Jinja construct opens at `pos` (a `{`), the position just after it.
fn jinja_end(src: &str, pos: usize) -> Option<usize> {
    let bytes = src.as_bytes();
    let close: &[u8] = match bytes.get(pos + 1)? {
        b'{' => b"}}",
        b'%' => b"%}",
        b'#' => b"#}",
        _ => return None,
    };
    let quoted = close != b"#}";
    let end = find_close(bytes, pos + 2, close, quoted);
    if close == b"%}" && tag_word(&src[pos + 2..end.saturating_sub(2).max(pos + 2)]) == "raw" {
        // `{% raw %}…{% endraw %}`: literal to Jinja, so literal to spintax too.
        let mut at = end;
        while let Some(offset) = src[at..].find("{%") {
            let open = at + offset;
            let tag_end = find_close(bytes, open + 2, b"%}", true);
            if tag_word(&src[open + 2..tag_end.saturating_sub(2).max(open + 2)]) == "endraw" {
                return Some(tag_end);
            }
            at = open + 2;
        }
        return Some(bytes.len());
    }
    Some(end)
}

/// The position after `close`, skipping quoted strings; the end of input if it never closes.
fn find_close(bytes: &[u8], mut at: usize, close: &[u8], quoted: bool) -> usize {
    while at < bytes.len() {
        let b = bytes[at];
        if quoted && (b == b'"' || b == b'\'') {
            at += 1;
            while at < bytes.len() && bytes[at] != b {
                at += if bytes[at] == b'\\' { 2 } else { 1 };
            }
            at += 1;
        } else if bytes[at..].starts_with(close) {
            return at + close.len();
        } else {
            at += 1;
        }
    }
    bytes.len()
}

/// The first word of a block tag's inside, without whitespace-control marks.
fn tag_word(inside: &str) -> &str {
    let inside = inside.trim_start_matches(['-', '+', '~']).trim_start();
    let end = inside
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inside.len());
    &inside[..end]
}

/// Compiles the spintax of `src` into Jinja. Returns the Jinja source and the
/// option count of each group (in order). No newline is added, so the line
/// numbers of Jinja errors are those of the source.
fn compile_spintax(src: &str) -> (String, Vec<u32>) {
    if !src.contains('{') {
        return (src.to_string(), Vec::new());
    }
    let (nodes, _) = SpinParser { src, pos: 0 }.seq(0);
    let mut out = String::with_capacity(src.len() + 64);
    let mut groups = Vec::new();
    emit(&nodes, &mut out, &mut groups);
    (out, groups)
}

fn emit(nodes: &[Node<'_>], out: &mut String, groups: &mut Vec<u32>) {
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(text),
            Node::Group(options) => {
                let index = groups.len();
                groups.push(options.len() as u32);
                for (k, option) in options.iter().enumerate() {
                    let _ = write!(out, "{{% if {SPIN_ALL} or {SPIN}[{index}] == {k} %}}");
                    emit(option, out, groups);
                    out.push_str("{% endif %}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Compiling and rendering
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TemplatePart {
    Subject,
    Html,
    Text,
}

impl TemplatePart {
    pub const ALL: [TemplatePart; 3] = [TemplatePart::Subject, TemplatePart::Html, TemplatePart::Text];

    /// Also the template's name in the environment and the field name in errors.
    pub fn as_str(self) -> &'static str {
        match self {
            TemplatePart::Subject => "subject",
            TemplatePart::Html => "html",
            TemplatePart::Text => "text",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for TemplatePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A part that does not compile (or names a filter, test or function that does not exist).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SyntaxError {
    pub part: TemplatePart,
    pub line: Option<usize>,
    pub message: String,
}

impl SyntaxError {
    fn new(part: TemplatePart, err: &minijinja::Error) -> Self {
        let message = match err.detail() {
            Some(detail) => format!("{}: {detail}", err.kind()),
            None => err.kind().to_string(),
        };
        Self {
            part,
            line: err.line(),
            message,
        }
    }

    /// The message of the field error (the field is the part).
    pub fn field_message(&self) -> String {
        match self.line {
            Some(line) => format!("line {line}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.part, self.field_message())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("the template does not compile: {}", join(.0))]
    Syntax(Vec<SyntaxError>),
    /// Variables without a value and without a fallback (names as in [`CompiledTemplate::missing_variables`]).
    #[error("the {part} uses variables without a value or a fallback: {}", .variables.join(", "))]
    MissingVariables { part: TemplatePart, variables: Vec<String> },
    #[error("the {part} failed to render{}: {message}", .line.map(|l| format!(" on line {l}")).unwrap_or_default())]
    Failed {
        part: TemplatePart,
        line: Option<usize>,
        message: String,
    },
    #[error("the subject rendered empty")]
    EmptySubject,
}

fn join(errors: &[SyntaxError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// One rendered email: the subject on one line; `text` derived from `html` when the template has none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RenderedEmail {
    pub subject: String,
    pub html: Option<String>,
    pub text: Option<String>,
}

#[derive(Debug, Clone)]
struct PartInfo {
    /// Option count of each spintax group.
    spin: Vec<u32>,
}

/// A template parsed once, rendered many times: one MiniJinja environment
/// holding the compiled parts. Cheap to share (`Send + Sync`); cache it per
/// template version.
/// Compiled templates by id and version, shared by the sends of one function
/// instance: compiling costs about twice a render, and versions never change.
#[derive(Debug, Default)]
pub struct TemplateCache {
    compiled: std::sync::Mutex<std::collections::HashMap<(TemplateId, u32), Arc<CompiledTemplate>>>,
}

/// Versions kept at most; a full cache starts over (a warm Lambda sends few templates).
const TEMPLATE_CACHE_SIZE: usize = 256;

impl TemplateCache {
    pub fn compiled(&self, template: &Template) -> Result<Arc<CompiledTemplate>, RenderError> {
        let key = (template.id, template.version);
        if let Some(hit) = self.compiled.lock().expect("not poisoned").get(&key) {
            return Ok(hit.clone());
        }
        let compiled = Arc::new(template.compile()?);
        let mut cache = self.compiled.lock().expect("not poisoned");
        if cache.len() >= TEMPLATE_CACHE_SIZE {
            cache.clear();
        }
        cache.insert(key, compiled.clone());
        Ok(compiled)
    }
}

#[derive(Debug, Clone)]
pub struct CompiledTemplate {
    env: Environment<'static>,
    parts: [Option<PartInfo>; 3],
    globals: Arc<HashSet<String>>,
}

impl CompiledTemplate {
    pub fn compile(content: TemplateContent<'_>) -> Result<Self, RenderError> {
        let (compiled, errors) = Self::build(Some(content.subject), content.html, content.text);
        if errors.is_empty() {
            Ok(compiled)
        } else {
            Err(RenderError::Syntax(errors))
        }
    }

    fn build(subject: Option<&str>, html: Option<&str>, text: Option<&str>) -> (Self, Vec<SyntaxError>) {
        let mut env = Environment::new();
        env.set_undefined_behavior(UNDEFINED_BEHAVIOR);
        env.set_keep_trailing_newline(true);
        env.set_auto_escape_callback(|name| {
            if name == TemplatePart::Html.as_str() {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        let globals = Arc::new(env.globals().map(|(name, _)| name.to_string()).collect());
        let mut parts: [Option<PartInfo>; 3] = [None, None, None];
        let mut errors = Vec::new();
        for (part, source) in TemplatePart::ALL.into_iter().zip([subject, html, text]) {
            let Some(source) = source else { continue };
            let (jinja, spin) = compile_spintax(source);
            match env.add_template_owned(part.as_str(), jinja) {
                Ok(()) => parts[part.index()] = Some(PartInfo { spin }),
                Err(err) => errors.push(SyntaxError::new(part, &err)),
            }
        }
        (Self { env, parts, globals }, errors)
    }

    /// Every problem of the given parts that would fail any email: syntax
    /// errors, then unknown filters, tests and functions.
    fn check(subject: Option<&str>, html: Option<&str>, text: Option<&str>) -> Vec<SyntaxError> {
        let (compiled, errors) = Self::build(subject, html, text);
        if !errors.is_empty() {
            return errors;
        }
        let mut errors = Vec::new();
        for part in TemplatePart::ALL {
            if compiled.parts[part.index()].is_none() {
                continue;
            }
            // Every variable gets a stand-in, every spintax option is rendered.
            let probe = Probe::new(true, HashSet::new());
            if let Err(err) = compiled.run(part, &TemplateContext::default(), None, Some(probe))
                && matches!(
                    err.kind(),
                    ErrorKind::UnknownFilter
                        | ErrorKind::UnknownTest
                        | ErrorKind::UnknownFunction
                        | ErrorKind::TemplateNotFound
                        | ErrorKind::SyntaxError
                )
            {
                errors.push(SyntaxError::new(part, &err));
            }
        }
        errors
    }

    /// Renders one email. The same `seed` picks the same spintax options.
    pub fn render(&self, context: &TemplateContext, seed: impl Into<SpinSeed>) -> Result<RenderedEmail, RenderError> {
        let seed = seed.into();
        let mut out: [Option<String>; 3] = [None, None, None];
        for part in TemplatePart::ALL {
            if self.parts[part.index()].is_none() {
                continue;
            }
            let rendered = self.run(part, context, Some(seed), None).map_err(|err| {
                if err.kind() == ErrorKind::UndefinedError {
                    let variables = self.missing_in(part, context);
                    if !variables.is_empty() {
                        return RenderError::MissingVariables { part, variables };
                    }
                }
                RenderError::Failed {
                    part,
                    line: err.line(),
                    message: match err.detail() {
                        Some(detail) => format!("{}: {detail}", err.kind()),
                        None => err.kind().to_string(),
                    },
                }
            })?;
            out[part.index()] = Some(rendered);
        }
        let [subject, html, text] = out;
        let subject = subject.map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "));
        let subject = subject.filter(|s| !s.is_empty()).ok_or(RenderError::EmptySubject)?;
        let html = html.filter(|h| !h.trim().is_empty());
        let text = text
            .filter(|t| !t.trim().is_empty())
            .or_else(|| html.as_deref().map(html_to_text));
        Ok(RenderedEmail { subject, html, text })
    }

    /// Every variable the template would need from `context` but that has no
    /// value there and no fallback where it is used, over every spintax
    /// option: `first_name`, `custom_fields.industry`,
    /// `custom_fields.Company Size`, `organization.name`… In order of first
    /// use, subject first. Empty when every email to this context renders.
    pub fn missing_variables(&self, context: &TemplateContext) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for part in TemplatePart::ALL {
            if self.parts[part.index()].is_some() {
                for name in self.missing_in(part, context) {
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
            }
        }
        names
    }

    /// The variables the template refers to by name (`first_name`,
    /// `custom_fields.industry`, …), sorted; for editors and previews.
    /// Subscripts such as `custom_fields["A b"]` appear as their base name.
    pub fn variables(&self) -> Vec<String> {
        let mut names: Vec<String> = TemplatePart::ALL
            .into_iter()
            .filter_map(|part| self.env.get_template(part.as_str()).ok())
            .flat_map(|t| t.undeclared_variables(true))
            .filter(|name| !name.starts_with(SPIN) && !self.globals.contains(name.split('.').next().unwrap_or("")))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Finds the missing variables of one part by rendering it (every spintax
    /// option at once) with a context that records the lookups that found
    /// nothing: as long as an undefined value stops the render, the recorded
    /// names get stand-in values and the render is retried; then every
    /// stand-in that is not needed for the render to succeed is dropped. What
    /// is left are the variables without a value and without a fallback.
    fn missing_in(&self, part: TemplatePart, context: &TemplateContext) -> Vec<String> {
        // Whether a render with stand-ins for `fill` fails on an undefined
        // value, and the lookups that found nothing.
        let attempt = |fill: &[String]| {
            let probe = Probe::new(false, fill.iter().cloned().collect());
            let result = self.run(part, context, None, Some(probe.clone()));
            let failure = result.err().filter(|e| e.kind() == ErrorKind::UndefinedError);
            (failure.map(|e| (e.line(), e.range())), probe.take_missing())
        };
        let (mut failure, mut seen) = attempt(&[]);
        if failure.is_none() {
            return Vec::new();
        }
        let mut candidates: Vec<String> = Vec::new();
        for _ in 0..256 {
            let new: Vec<String> = seen.into_iter().filter(|n| !candidates.contains(n)).collect();
            if new.is_empty() {
                break;
            }
            candidates.extend(new);
            (failure, seen) = attempt(&candidates);
            if failure.is_none() {
                break;
            }
        }
        // If stand-ins for everything still fail, the rest is not about missing
        // values: a candidate is needed if leaving it out fails differently.
        let residual = failure;
        let mut needed = candidates.clone();
        for name in &candidates {
            let trial: Vec<String> = needed.iter().filter(|n| *n != name).cloned().collect();
            if attempt(&trial).0 == residual {
                needed = trial;
            }
        }
        needed
    }

    /// Renders one part. `seed` None renders every spintax option.
    fn run(
        &self,
        part: TemplatePart,
        context: &TemplateContext,
        seed: Option<SpinSeed>,
        probe: Option<Arc<Probe>>,
    ) -> Result<String, minijinja::Error> {
        let template = self.env.get_template(part.as_str())?;
        let groups = self.parts[part.index()]
            .as_ref()
            .map(|p| p.spin.as_slice())
            .unwrap_or(&[]);
        let spin = match seed {
            Some(SpinSeed(seed)) => {
                let choices: Vec<Value> = groups
                    .iter()
                    .enumerate()
                    .map(|(g, &n)| {
                        let key = mix(((part.index() as u64) << 32) | g as u64);
                        Value::from(mix(seed ^ key) % u64::from(n.max(1)))
                    })
                    .collect();
                Spin {
                    choices: Value::from(choices),
                    all: false,
                }
            }
            None => Spin {
                choices: Value::from(Vec::<Value>::new()),
                all: true,
            },
        };
        let root = Scope {
            vars: context.0.clone(),
            path: Vec::new(),
            spin: Some(spin),
            probe,
            globals: self.globals.clone(),
        };
        template.render(Value::from_object(root))
    }
}

/// Compiles and renders once (previews). Senders keep a [`CompiledTemplate`] instead.
pub fn render<'a>(
    template: impl Into<TemplateContent<'a>>,
    context: &TemplateContext,
    seed: impl Into<SpinSeed>,
) -> Result<RenderedEmail, RenderError> {
    CompiledTemplate::compile(template.into())?.render(context, seed)
}

/// See [`CompiledTemplate::missing_variables`].
pub fn missing_variables(template: &CompiledTemplate, context: &TemplateContext) -> Vec<String> {
    template.missing_variables(context)
}

#[derive(Debug)]
struct Spin {
    choices: Value,
    all: bool,
}

/// Records what a render looked up and did not find; gives stand-ins for `fill` (or for everything).
#[derive(Debug)]
struct Probe {
    fill_all: bool,
    fill: HashSet<String>,
    missing: Mutex<Vec<String>>,
}

impl Probe {
    fn new(fill_all: bool, fill: HashSet<String>) -> Arc<Self> {
        Arc::new(Self {
            fill_all,
            fill,
            missing: Mutex::new(Vec::new()),
        })
    }

    fn record(&self, name: String) -> Option<Value> {
        let filled = self.fill_all || self.fill.contains(&name);
        if let Ok(mut missing) = self.missing.lock()
            && !missing.contains(&name)
        {
            missing.push(name);
        }
        filled.then(|| Value::from_object(StandIn))
    }

    fn take_missing(&self) -> Vec<String> {
        self.missing
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default()
    }
}

/// The context as MiniJinja sees it: a view into the JSON object at `path`.
/// Empty values read as undefined.
#[derive(Debug)]
struct Scope {
    vars: Arc<Map<String, Json>>,
    path: Vec<String>,
    /// Only at the root.
    spin: Option<Spin>,
    probe: Option<Arc<Probe>>,
    globals: Arc<HashSet<String>>,
}

impl Scope {
    fn map(&self) -> Option<&Map<String, Json>> {
        let mut map = self.vars.as_ref();
        for key in &self.path {
            map = map.get(key)?.as_object()?;
        }
        Some(map)
    }

    fn child(&self, key: &str) -> Scope {
        let mut path = self.path.clone();
        path.push(key.to_string());
        Scope {
            vars: self.vars.clone(),
            path,
            spin: None,
            probe: self.probe.clone(),
            globals: self.globals.clone(),
        }
    }
}

fn present(value: &Json) -> bool {
    match value {
        Json::Null => false,
        Json::String(s) => !s.trim().is_empty(),
        _ => true,
    }
}

impl Object for Scope {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        if let Some(spin) = &self.spin {
            if key == SPIN {
                return Some(spin.choices.clone());
            }
            if key == SPIN_ALL {
                return Some(Value::from(spin.all));
            }
        }
        match self.map().and_then(|m| m.get(key)).filter(|v| present(v)) {
            Some(Json::String(s)) => Some(Value::from(s.as_str())),
            Some(Json::Bool(b)) => Some(Value::from(*b)),
            Some(Json::Number(n)) => Some(if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or_default())
            }),
            Some(Json::Object(_)) => Some(Value::from_object(self.child(key))),
            Some(other) => Some(Value::from_serialize(other)),
            None => {
                let probe = self.probe.as_ref()?;
                // Globals (`range`, `namespace`…) are looked up in the context first.
                if self.path.is_empty() && self.globals.contains(key) {
                    return None;
                }
                let mut name = self.path.join(".");
                if !name.is_empty() {
                    name.push('.');
                }
                name.push_str(key);
                probe.record(name)
            }
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let keys = self
            .map()
            .map(|m| {
                m.iter()
                    .filter(|(_, v)| present(v))
                    .map(|(k, _)| Value::from(k.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        Enumerator::Values(keys)
    }
}

/// The value a probe gives a variable it stands in for: prints as `x`, has
/// every attribute, iterates as empty, can be called.
#[derive(Debug)]
struct StandIn;

impl Object for StandIn {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, _key: &Value) -> Option<Value> {
        Some(Value::from_object(StandIn))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Empty
    }

    fn is_true(self: &Arc<Self>) -> bool {
        true
    }

    fn call(self: &Arc<Self>, _state: &minijinja::State<'_, '_>, _args: &[Value]) -> Result<Value, minijinja::Error> {
        Ok(Value::from_object(StandIn))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &minijinja::State<'_, '_>,
        _method: &str,
        _args: &[Value],
    ) -> Result<Value, minijinja::Error> {
        Ok(Value::from_object(StandIn))
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("x")
    }
}

// ---------------------------------------------------------------------------
// HTML to text
// ---------------------------------------------------------------------------

/// A readable plain-text version of an HTML body: tags dropped (links keep
/// their address in brackets), blocks and `<br>` become line breaks, list
/// items get a dash, `<head>`, `<style>` and `<script>` vanish, entities are
/// decoded and HTML whitespace is collapsed.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut space = false;
    let mut links: Vec<(usize, String)> = Vec::new();
    let mut i = 0;
    while i < html.len() {
        let rest = &html[i..];
        if rest.starts_with("<!--") {
            i += rest.find("-->").map_or(rest.len(), |end| end + 3);
            continue;
        }
        if rest.starts_with('<') && rest[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!') {
            let end = find_tag_end(rest);
            let tag = &rest[1..end.saturating_sub(1).max(1)];
            i += end;
            let closing = tag.starts_with('/');
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect();
            match name.as_str() {
                "script" | "style" | "head" | "title" if !closing && !tag.ends_with('/') => {
                    i += skip_element(&html[i..], &name);
                }
                "br" => line_break(&mut out, &mut space),
                "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "table" | "ul" | "ol" | "blockquote" => {
                    paragraph(&mut out, &mut space)
                }
                "div" | "tr" | "section" | "article" | "header" | "footer" | "center" | "dt" | "dd" => {
                    line_break(&mut out, &mut space)
                }
                "li" if closing => line_break(&mut out, &mut space),
                "li" => {
                    line_break(&mut out, &mut space);
                    out.push_str("- ");
                }
                "hr" => {
                    line_break(&mut out, &mut space);
                    out.push_str("---");
                    line_break(&mut out, &mut space);
                }
                "td" | "th" if closing => space = true,
                "a" if closing => {
                    if let Some((start, href)) = links.pop() {
                        let label = out.get(start..).unwrap_or("").trim();
                        let bare = href
                            .trim_start_matches("mailto:")
                            .trim_start_matches("https://")
                            .trim_start_matches("http://");
                        let useful = !href.is_empty() && !href.starts_with('#') && !href.starts_with("javascript:");
                        if useful && label != href && label != bare {
                            if label.is_empty() {
                                out.push_str(&href);
                            } else {
                                let _ = write!(out, " ({href})");
                            }
                        }
                    }
                }
                "a" => links.push((out.len(), decode_entities(attribute(tag, "href").unwrap_or("")))),
                _ => {}
            }
            continue;
        }
        if rest.starts_with('&')
            && let Some((entity, len)) = decode_entity(rest)
        {
            push_word(&mut out, &mut space, entity.as_str(&mut [0; 4]));
            i += len;
            continue;
        }
        // A run of text up to the next tag or entity (a `<` or `&` that is
        // neither is text too), its whitespace collapsed.
        let first = rest.chars().next().map_or(1, char::len_utf8);
        let run = &rest[..rest[first..].find(['<', '&']).map_or(rest.len(), |end| end + first)];
        for (n, word) in run.split(char::is_whitespace).enumerate() {
            if n > 0 {
                space = true;
            }
            if !word.is_empty() {
                push_word(&mut out, &mut space, word);
            }
        }
        i += run.len();
    }
    let mut text = String::with_capacity(out.len());
    let mut blank = 0;
    for line in out.lines().map(str::trim) {
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !text.is_empty() {
            text.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        text.push_str(line);
    }
    text
}

fn push_word(out: &mut String, space: &mut bool, word: &str) {
    if *space && !out.is_empty() && !out.ends_with(['\n', ' ']) {
        out.push(' ');
    }
    *space = false;
    out.push_str(word);
}

fn line_break(out: &mut String, space: &mut bool) {
    *space = false;
    let trimmed = out.trim_end_matches(' ').len();
    out.truncate(trimmed);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

fn paragraph(out: &mut String, space: &mut bool) {
    line_break(out, space);
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
}

/// The length of the tag at the start of `s` (up to and including `>`), quotes respected.
pub(crate) fn find_tag_end(s: &str) -> usize {
    let mut quote = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return i + 1,
            _ => {}
        }
    }
    s.len()
}

/// Skips to just after `</name…>` (case-insensitive); everything when it never closes.
pub(crate) fn skip_element(s: &str, name: &str) -> usize {
    let bytes = s.as_bytes();
    let mut at = 0;
    while let Some(offset) = s[at..].find("</") {
        let open = at + offset;
        let after = open + 2;
        if bytes
            .get(after..after + name.len())
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
        {
            return open + find_tag_end(&s[open..]);
        }
        at = after;
    }
    s.len()
}

/// The value of attribute `name` in a tag's inside.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(offset) = lower[from..].find(name) {
        let at = from + offset;
        from = at + name.len();
        let before_ok = at > 0 && lower.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value_at = tag.len() - rest.len() + 1;
        let value = tag[value_at..].trim_start();
        return Some(match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or(""),
            _ => value
                .split(|c: char| c.is_whitespace() || c == '>')
                .next()
                .unwrap_or(""),
        });
    }
    None
}

pub(crate) fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(offset) = text[i..].find('&') {
        out.push_str(&text[i..i + offset]);
        i += offset;
        match decode_entity(&text[i..]) {
            Some((entity, len)) => {
                out.push_str(entity.as_str(&mut [0; 4]));
                i += len;
            }
            None => {
                out.push('&');
                i += 1;
            }
        }
    }
    out.push_str(&text[i..]);
    out
}

/// A decoded character reference.
enum Entity {
    Named(&'static str),
    Char(char),
}

impl Entity {
    fn as_str<'b>(&self, buf: &'b mut [u8; 4]) -> &'b str {
        match self {
            Entity::Named(text) => text,
            Entity::Char(c) => c.encode_utf8(buf),
        }
    }
}

/// Decodes the character reference at the start of `s` (which starts with
/// `&`): what it stands for and its length. `&nbsp;` becomes a plain space.
fn decode_entity(s: &str) -> Option<(Entity, usize)> {
    let end = s.get(..12.min(s.len()))?.find(';')?;
    let name = &s[1..end];
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        let c = match char::from_u32(code)? {
            '\u{a0}' => ' ',
            c => c,
        };
        return Some((Entity::Char(c), end + 1));
    }
    let text = match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        "nbsp" => " ",
        "ndash" => "\u{2013}",
        "mdash" => "\u{2014}",
        "hellip" => "\u{2026}",
        "lsquo" => "\u{2018}",
        "rsquo" => "\u{2019}",
        "ldquo" => "\u{201c}",
        "rdquo" => "\u{201d}",
        "laquo" => "\u{ab}",
        "raquo" => "\u{bb}",
        "bull" => "\u{2022}",
        "middot" => "\u{b7}",
        "copy" => "\u{a9}",
        "reg" => "\u{ae}",
        "trade" => "\u{2122}",
        "euro" => "\u{20ac}",
        "pound" => "\u{a3}",
        "zwnj" | "zwj" | "shy" => "",
        _ => return None,
    };
    Some((Entity::Named(text), end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::CampaignId;
    use crate::lead::NewLead;
    use crate::organization::NewOrganization;
    use serde_json::json;

    fn lead(value: Json) -> Lead {
        let input: NewLead = input::decode(value, "").unwrap();
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

    fn org(value: Json) -> Organization {
        let input: NewOrganization = input::decode(value, "").unwrap();
        Organization::create(TenantId::generate(), input, Utc::now()).unwrap()
    }

    fn ctx(value: Json) -> TemplateContext {
        TemplateContext::from_map(value.as_object().cloned().unwrap_or_default())
    }

    fn compiled(subject: &str, html: Option<&str>, text: Option<&str>) -> CompiledTemplate {
        CompiledTemplate::compile(TemplateContent { subject, html, text }).unwrap()
    }

    fn text_of(source: &str, context: &TemplateContext, seed: u64) -> Result<String, RenderError> {
        compiled("s", None, Some(source))
            .render(context, seed)
            .map(|r| r.text.unwrap_or_default())
    }

    fn new_template(value: Json) -> Result<Template, Vec<crate::FieldError>> {
        let input: NewTemplate = input::decode(value, "").map_err(|e| vec![e])?;
        Template::create(TenantId::generate(), input, Utc::now()).map_err(|e| match e {
            DomainError::Validation(errors) => errors,
            other => panic!("{other}"),
        })
    }

    fn fields(errors: &[crate::FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    // --- variables and fallbacks -------------------------------------------

    #[test]
    fn context_has_lead_org_sender_and_drops_empty_values() {
        let l = lead(
            json!({"email": "ann@acme.com", "first_name": "Ann", "last_name": "Lee", "job_title": "CTO",
            "company_name": "Acme", "custom_fields": {"industry": "SaaS", "blank": "  ", "none": null, "seats": 40},
            "personalization": {"icebreaker": "Loved your talk", "empty": ""}}),
        );
        let o =
            org(json!({"email_domain": "acme.com", "name": "Acme Inc", "industry": "Software", "employee_count": 55}));
        let sender = SenderInfo {
            name: Some("Bob Smith"),
            email: "bob@sender.io",
        };
        let c = TemplateContext::for_email(&l, Some(&o), sender, "https://u.example/x");
        assert_eq!(c.get("first_name"), Some(&json!("Ann")));
        assert_eq!(c.get("full_name"), Some(&json!("Ann Lee")));
        assert_eq!(c.get("title"), Some(&json!("CTO")));
        assert_eq!(c.get("company"), Some(&json!("Acme")));
        assert_eq!(c.get("phone"), None);
        assert_eq!(c.get("custom_fields.industry"), Some(&json!("SaaS")));
        assert_eq!(c.get("custom_fields.seats"), Some(&json!(40)));
        assert_eq!(c.get("custom_fields.blank"), None);
        assert_eq!(c.get("custom_fields.none"), None);
        assert_eq!(c.get("personalization.icebreaker"), Some(&json!("Loved your talk")));
        assert_eq!(c.get("personalization.empty"), None);
        assert_eq!(c.get("organization.name"), Some(&json!("Acme Inc")));
        assert_eq!(c.get("organization.employee_count"), Some(&json!(55)));
        assert_eq!(c.get("sender.first_name"), Some(&json!("Bob")));
        assert_eq!(c.get("unsubscribe_url"), Some(&json!("https://u.example/x")));

        // Namespaces exist without an organisation; a name that is only the domain is no name.
        let bare = lead(json!({"email": "x@y.io"}));
        let c = TemplateContext::for_email(&bare, None, sender, "u");
        assert_eq!(c.get("organization"), Some(&json!({})));
        assert_eq!(c.get("custom_fields"), Some(&json!({})));
        let unnamed = org(json!({"email_domain": "y.io"}));
        let c = TemplateContext::for_email(&bare, Some(&unnamed), sender, "u");
        assert_eq!(c.get("organization.name"), None);
        assert_eq!(c.get("organization.domain"), Some(&json!("y.io")));
        let t = compiled(
            "Hi {{ first_name | default('there') }} at {{ organization.name | default('your team') }}",
            None,
            Some("x"),
        );
        assert_eq!(t.render(&c, 1).unwrap().subject, "Hi there at your team");
    }

    #[test]
    fn default_works_in_strict_mode_and_if_is_a_fallback_too() {
        let empty = ctx(json!({"first_name": ""}));
        assert_eq!(
            text_of("Hi {{ first_name | default(\"there\") }}!", &empty, 1).unwrap(),
            "Hi there!"
        );
        assert_eq!(
            text_of("Hi {{ first_name | d('there') }}!", &empty, 1).unwrap(),
            "Hi there!"
        );
        assert_eq!(
            text_of(
                "{% if first_name %}Hi {{ first_name }}{% else %}Hello{% endif %}",
                &empty,
                1
            )
            .unwrap(),
            "Hello"
        );
        assert_eq!(
            text_of("{{ custom_fields.industry | default('your industry') }}", &empty, 1).unwrap(),
            "your industry"
        );
        let ann = ctx(json!({"first_name": "Ann"}));
        assert_eq!(
            text_of("Hi {{ first_name | default(\"there\") }}!", &ann, 1).unwrap(),
            "Hi Ann!"
        );
    }

    #[test]
    fn an_unknown_variable_without_fallback_is_an_error_naming_it() {
        let err = text_of("Hi {{ first_name }}, {{ custom_fields.industry }}", &ctx(json!({})), 1).unwrap_err();
        assert_eq!(
            err,
            RenderError::MissingVariables {
                part: TemplatePart::Text,
                variables: vec!["first_name".into(), "custom_fields.industry".into()],
            }
        );
        // Filters and loops over a missing value fail too.
        assert!(text_of("{{ first_name | upper }}", &ctx(json!({})), 1).is_err());
        assert!(
            text_of(
                "{% for t in organization.technologies %}{{ t }}{% endfor %}",
                &ctx(json!({})),
                1
            )
            .is_err()
        );
        // Attribute of a missing namespace member.
        assert!(text_of("{{ custom_fields.a.b }}", &ctx(json!({})), 1).is_err());
    }

    #[test]
    fn missing_variables_names_every_uncovered_variable() {
        let t = compiled(
            "{Hi|Hello} {{ first_name }}",
            Some(concat!(
                "<p>{{ custom_fields.industry }} {{ organization.name | default('you') }}</p>",
                "<p>{{ personalization.icebreaker | default('') }}{{ custom_fields[\"Company Size\"] }}</p>",
                "{% if title %}{{ title }}{% endif %}{% set local = 1 %}{{ local }}",
                "{% for i in range(2) %}{{ loop.index }}{{ i }}{% endfor %}",
                "{{ both | default('x') }} {{ both }}",
                "{{ primary | default(secondary) }}",
                "{{ covered | default(present) }}",
                "{A {{ in_spin_a }}|B {{ in_spin_b | default('b') }}}"
            )),
            Some("{{ first_name }} {{ last_name }}"),
        );
        let context = ctx(json!({"present": "p", "custom_fields": {"other": 1}}));
        assert_eq!(
            t.missing_variables(&context),
            [
                "first_name",
                "custom_fields.industry",
                "custom_fields.Company Size",
                "both",
                "secondary",
                "in_spin_a",
                "last_name",
            ]
        );
        let full = ctx(
            json!({"first_name": "A", "last_name": "B", "both": 1, "secondary": 2, "in_spin_a": 3, "present": 4,
            "custom_fields": {"industry": "i", "Company Size": "11-50"}}),
        );
        assert_eq!(missing_variables(&t, &full), Vec::<String>::new());
        for seed in 0..20 {
            t.render(&full, seed).unwrap();
        }
    }

    #[test]
    fn a_render_failure_that_is_not_a_missing_variable_is_reported_as_such() {
        let t = compiled("s", None, Some("{{ first_name.nope }} {{ x | default('y') }}"));
        let context = ctx(json!({"first_name": "Ann"}));
        assert_eq!(t.missing_variables(&context), Vec::<String>::new());
        assert!(matches!(
            t.render(&context, 1),
            Err(RenderError::Failed {
                part: TemplatePart::Text,
                ..
            })
        ));
    }

    #[test]
    fn variables_lists_referenced_names() {
        let t = compiled(
            "{{ first_name }}",
            Some("{{ organization.name }}{% for x in range(1) %}{% endfor %}"),
            None,
        );
        assert_eq!(t.variables(), ["first_name", "organization.name"]);
    }

    // --- spintax ------------------------------------------------------------

    #[test]
    fn spintax_is_deterministic_per_seed_and_uses_every_option() {
        let c = ctx(json!({}));
        let mut seen = HashSet::new();
        for seed in 0..200u64 {
            let once = text_of("{Hi|Hello|Hey}", &c, seed).unwrap();
            assert_eq!(once, text_of("{Hi|Hello|Hey}", &c, seed).unwrap());
            seen.insert(once);
        }
        assert_eq!(seen, HashSet::from(["Hi".to_string(), "Hello".into(), "Hey".into()]));
        let email = EmailId::generate();
        let t = compiled("{a|b|c|d|e|f|g|h}", Some("<p>{1|2|3|4|5|6|7|8}</p>"), None);
        assert_eq!(t.render(&c, email).unwrap(), t.render(&c, email).unwrap());
        assert_eq!(SpinSeed::from(email), SpinSeed::from(email));
    }

    #[test]
    fn spintax_nests_and_may_hold_variables() {
        let c = ctx(json!({"first_name": "Ann"}));
        let mut seen = HashSet::new();
        for seed in 0..300 {
            seen.insert(text_of("{Hi {there|friend}|Hello}", &c, seed).unwrap());
        }
        let expected = ["Hi there", "Hi friend", "Hello"].map(String::from);
        assert_eq!(seen, HashSet::from(expected));
        let mut seen = HashSet::new();
        for seed in 0..100 {
            seen.insert(text_of("{Hi|Hello} {{ first_name | default(\"there\") }}", &c, seed).unwrap());
        }
        assert_eq!(seen, HashSet::from(["Hi Ann".to_string(), "Hello Ann".into()]));
        // A pipe inside a Jinja expression within an option is a filter, not a separator.
        let mut seen = HashSet::new();
        for seed in 0..100 {
            seen.insert(text_of("{Hey {{ x | default(\"you\") }}|Yo}", &c, seed).unwrap());
        }
        assert_eq!(seen, HashSet::from(["Hey you".to_string(), "Yo".into()]));
    }

    #[test]
    fn spintax_leaves_jinja_and_literal_braces_alone() {
        let c = ctx(json!({"first_name": "Ann"}));
        let cases = [
            ("{{ first_name | default('a|b') }}", "Ann"),
            ("{% if first_name | length > 1 %}yes{% endif %}", "yes"),
            ("{# {a|b} #}ok", "ok"),
            ("a { color: red } b", "a { color: red } b"),
            ("{}", "{}"),
            ("{x}", "{x}"),
            ("{unclosed|bar", "{unclosed|bar"),
            ("a | b } c", "a | b } c"),
            ("{% raw %}{a|b} {{ x }}{% endraw %}", "{a|b} {{ x }}"),
            ("{{ '}}' }}{{ \"{a|b}\" }}", "}}{a|b}"),
            ("{ {a|a} }", "{ a }"),
            ("{|}", ""),
        ];
        for (source, expected) in cases {
            assert_eq!(text_of(source, &c, 7).unwrap(), expected, "{source}");
        }
        // Deep nesting does not recurse without bound.
        let deep = "{ ".repeat(10_000);
        assert!(text_of(&deep, &c, 1).unwrap() == deep);
        let nested = format!("{}x{}", "{a|".repeat(20), "}".repeat(20));
        assert!(text_of(&nested, &c, 1).is_ok());
    }

    #[test]
    fn spintax_keeps_line_numbers_of_syntax_errors() {
        let errors = new_template(json!({"name": "n", "subject": "s", "html": "{Hi|Hello}\n{a|b}\n<p>{{ oops </p>"}))
            .unwrap_err();
        assert_eq!(fields(&errors), ["/html"]);
        assert!(errors[0].message.starts_with("line 3:"), "{}", errors[0].message);
    }

    // --- rendering ------------------------------------------------------------

    #[test]
    fn html_escapes_values_and_subject_and_text_do_not() {
        let c = ctx(json!({"first_name": "<script>alert(1)</script>", "company": "Smith & Sons"}));
        let t = compiled(
            "For {{ company }}",
            Some("<p>Hi {{ first_name }} of {{ company }}</p>"),
            Some("Hi {{ first_name }}"),
        );
        let r = t.render(&c, 1).unwrap();
        let html = r.html.unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"), "{html}");
        assert!(html.contains("Smith &amp; Sons"));
        assert_eq!(r.subject, "For Smith & Sons");
        assert_eq!(r.text.as_deref(), Some("Hi <script>alert(1)</script>"));
    }

    #[test]
    fn text_is_derived_from_html_when_absent_and_subject_is_one_line() {
        let c = ctx(json!({"first_name": "Ann", "unsubscribe_url": "https://u.io/1?a=1&b=2"}));
        let t = compiled(
            "Hello\n{{ first_name }}  ",
            Some(concat!(
                "<html><head><style>p { color: red }</style><title>T</title></head><body>",
                "<h1>Hi&nbsp;{{ first_name }}</h1><p>Tom &amp; Jerry&#39;s   <b>caf&eacute;</b> &#233;t&#xE9;<br>line</p>",
                "<ul><li>one</li><li>two</li></ul>",
                "<p><a href=\"https://acme.com/demo\">Book a demo</a> or <a href='https://acme.com'>acme.com</a></p>",
                "<!-- hidden --><script>var x = '<p>';</script><p>Bye</p></body></html>"
            )),
            None,
        );
        let r = t.render(&c, 3).unwrap();
        assert_eq!(r.subject, "Hello Ann");
        assert_eq!(
            r.text.as_deref(),
            Some(
                "Hi Ann\n\nTom & Jerry's caf&eacute; été\nline\n\n- one\n- two\n\nBook a demo (https://acme.com/demo) or acme.com\n\nBye"
            )
        );
        let only_text = compiled("s", None, Some("plain {{ first_name }}\n"))
            .render(&c, 1)
            .unwrap();
        assert_eq!((only_text.html, only_text.text.as_deref()), (None, Some("plain Ann\n")));
        assert_eq!(
            compiled("{{ x | default('') }}", None, Some("t")).render(&c, 1),
            Err(RenderError::EmptySubject)
        );
    }

    #[test]
    fn html_to_text_edge_cases() {
        assert_eq!(
            html_to_text("a < b &amp; AT&T &#x1F600; é <b>x</b>y"),
            "a < b & AT&T \u{1F600} é xy"
        );
        assert_eq!(html_to_text("x<br/>y<BR>z<p>p</P>q"), "x\ny\nz\n\np\n\nq");
        assert_eq!(
            html_to_text("<a href=\"https://a.io/x?a=1&amp;b=2\"></a>"),
            "https://a.io/x?a=1&b=2"
        );
        assert_eq!(
            html_to_text("<a href=\"mailto:x@y.io\">x@y.io</a> <a href=\"#top\">top</a>"),
            "x@y.io top"
        );
        assert_eq!(html_to_text("<table><tr><td>a</td><td>b</td></tr></table>"), "a b");
        assert_eq!(html_to_text("<p>unclosed <b"), "unclosed");
        assert_eq!(html_to_text("<style>a{}</style"), "");
        assert_eq!(html_to_text("  plain\n\n text  "), "plain text");
    }

    #[test]
    fn render_accepts_a_template_or_a_version() {
        let t = new_template(json!({"name": "n", "subject": "Hi {{ first_name | default('there') }}", "text": "x"}))
            .unwrap();
        let c = ctx(json!({}));
        assert_eq!(render(&t, &c, 5).unwrap().subject, "Hi there");
        assert_eq!(render(&t.snapshot(), &c, 5).unwrap().subject, "Hi there");
        assert_eq!(t.compile().unwrap().render(&c, 5).unwrap().text.as_deref(), Some("x"));
    }

    // --- the entity ----------------------------------------------------------

    #[test]
    fn creation_validates_every_field() {
        let t = new_template(json!({"name": " Intro ", "subject": "Hi {{ first_name }}", "html": "<p>x</p>"})).unwrap();
        assert_eq!(
            (t.name.as_str(), t.version, t.category),
            ("Intro", 1, TemplateCategory::Marketing)
        );
        assert_eq!(t.text, None);

        let errors =
            new_template(json!({"name": " ", "subject": "x".repeat(999), "html": "  ", "text": null})).unwrap_err();
        assert_eq!(fields(&errors), ["/name", "/subject", "/html"]);
        let errors =
            new_template(json!({"name": "n", "subject": "s", "html": "x".repeat(MAX_BODY_BYTES + 1)})).unwrap_err();
        assert_eq!(fields(&errors), ["/html"]);
        assert!(errors[0].message.contains("256 KB"));
        let errors =
            new_template(json!({"name": "n", "subject": "{{ first_name ", "text": "a\n{% if x %}"})).unwrap_err();
        assert_eq!(fields(&errors), ["/subject", "/text"]);
        assert!(
            errors[0].message.starts_with("line 1: syntax error"),
            "{}",
            errors[0].message
        );
        assert!(
            errors[1].message.starts_with("line 2: syntax error"),
            "{}",
            errors[1].message
        );
        let errors = new_template(json!({"name": "n", "subject": "s", "text": "{{ x | shout }}"})).unwrap_err();
        assert_eq!(fields(&errors), ["/text"]);
        assert!(errors[0].message.contains("unknown filter"), "{}", errors[0].message);
        let errors = new_template(json!({"name": "n", "subject": "s", "text": "t", "category": "spam"})).unwrap_err();
        assert_eq!(fields(&errors), ["/category"]);
        // Methods and filters on stand-ins are not mistaken for unknown ones.
        new_template(json!({"name": "n", "subject": "{{ a.upper() }}", "text": "{{ b | title }}{{ c.d.e }}"})).unwrap();
    }

    #[test]
    fn every_update_is_a_new_version_and_old_ones_stay() {
        let v1 = new_template(json!({"name": "n", "subject": "One", "text": "first", "category": "welcome"})).unwrap();
        let first = v1.snapshot();
        let later = v1.updated_at + chrono::Duration::seconds(5);
        let patch: TemplatePatch =
            input::decode(json!({"subject": "Two", "html": "<p>second</p>", "text": null}), "").unwrap();
        let (v2, snapshot) = v1.update(patch, later).unwrap();
        assert_eq!((v2.version, v2.subject.as_str(), v2.text.as_deref()), (2, "Two", None));
        assert_eq!(v2.html.as_deref(), Some("<p>second</p>"));
        assert_eq!((v2.created_at, v2.updated_at), (v1.created_at, later));
        assert_eq!(snapshot, v2.snapshot());
        assert_eq!(
            (snapshot.version, snapshot.created_at, snapshot.category),
            (2, later, TemplateCategory::Welcome)
        );
        assert_eq!(
            (v1.version, first.subject.as_str()),
            (1, "One"),
            "the old version is untouched"
        );
        let (v3, _) = v2.update(TemplatePatch::default(), later).unwrap();
        assert_eq!(v3.version, 3);

        let bad: TemplatePatch = input::decode(json!({"name": null, "html": null, "subject": "{% if %}"}), "").unwrap();
        let DomainError::Validation(errors) = v3.update(bad, later).unwrap_err() else {
            panic!()
        };
        assert_eq!(fields(&errors), ["/name", "/html", "/subject"]);
        let unknown = input::decode::<TemplatePatch>(json!({"colour": "red"}), "").unwrap_err();
        assert_eq!(unknown.field, "/colour");
    }

    #[test]
    fn compiled_templates_can_be_shared_between_tasks() {
        fn shared<T: Send + Sync + 'static>() {}
        shared::<CompiledTemplate>();
        shared::<TemplateContext>();
        shared::<RenderError>();
    }

    #[test]
    fn categories_round_trip() {
        for category in TemplateCategory::ALL {
            assert_eq!(TemplateCategory::parse(category.as_str()), Some(category));
            assert_eq!(serde_json::to_value(category).unwrap(), json!(category.as_str()));
        }
    }

    #[test]
    fn the_context_round_trips_through_json() {
        let c = ctx(json!({"first_name": "Ann", "custom_fields": {"a": 1}, "blank": ""}));
        let back: TemplateContext = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert_eq!(c.get("blank"), None);
        let mut c = c;
        c.set("first_name", json!(""));
        assert_eq!(c.get("first_name"), None);
    }
}
