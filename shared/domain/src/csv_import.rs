//! Reading a lead CSV: encoding and delimiter detection, header mapping to
//! lead fields, and one typed lead input ([`NewLead`]) per row for the usual
//! lead validation. The header is mapped once per file; each row's cells are
//! copied straight into the fields they fill.
//!
//! Row numbers count CSV records as a spreadsheet numbers rows: the header is
//! row 1, the first lead row 2; a record spanning lines (a quoted newline) is
//! one row, and completely empty lines are not counted.

use crate::lead::NewLead;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Lead fields a column can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeadField {
    Email,
    FirstName,
    LastName,
    /// "Name" / "Full name": split into first and last name when those are absent.
    FullName,
    CompanyName,
    JobTitle,
    Phone,
    Website,
    LinkedinUrl,
    City,
    Country,
    Timezone,
    Industry,
    Source,
    Notes,
}

impl LeadField {
    const ALL: [LeadField; 15] = [
        LeadField::Email,
        LeadField::FirstName,
        LeadField::LastName,
        LeadField::FullName,
        LeadField::CompanyName,
        LeadField::JobTitle,
        LeadField::Phone,
        LeadField::Website,
        LeadField::LinkedinUrl,
        LeadField::City,
        LeadField::Country,
        LeadField::Timezone,
        LeadField::Industry,
        LeadField::Source,
        LeadField::Notes,
    ];

    /// The lead's JSON field this column fills.
    pub fn key(self) -> &'static str {
        match self {
            LeadField::Email => "email",
            LeadField::FirstName => "first_name",
            LeadField::LastName => "last_name",
            LeadField::FullName => "full_name",
            LeadField::CompanyName => "company_name",
            LeadField::JobTitle => "job_title",
            LeadField::Phone => "phone",
            LeadField::Website => "website",
            LeadField::LinkedinUrl => "linkedin_url",
            LeadField::City => "city",
            LeadField::Country => "country",
            LeadField::Timezone => "timezone",
            LeadField::Industry => "industry",
            LeadField::Source => "source",
            LeadField::Notes => "notes",
        }
    }

    /// Header spellings seen in exports (Apollo, Sales Navigator, HubSpot,
    /// Instantly, hand-made sheets), compared after [`normalise_header`].
    fn aliases(self) -> &'static [&'static str] {
        match self {
            LeadField::Email => &[
                "email",
                "emailaddress",
                "mail",
                "workemail",
                "businessemail",
                "emails",
                "contactemail",
            ],
            LeadField::FirstName => &["firstname", "first", "givenname", "fname", "forename"],
            LeadField::LastName => &["lastname", "last", "surname", "familyname", "lname"],
            LeadField::FullName => &["name", "fullname", "contactname", "contact", "person"],
            LeadField::CompanyName => &[
                "company",
                "companyname",
                "organization",
                "organisation",
                "organizationname",
                "account",
                "accountname",
                "employer",
            ],
            LeadField::JobTitle => &["title", "jobtitle", "position", "role", "designation", "jobrole"],
            LeadField::Phone => &[
                "phone",
                "phonenumber",
                "mobile",
                "mobilephone",
                "mobilenumber",
                "telephone",
                "tel",
                "workphone",
                "directphone",
                "corporatephone",
            ],
            LeadField::Website => &[
                "website",
                "companywebsite",
                "url",
                "web",
                "domain",
                "companydomain",
                "site",
            ],
            LeadField::LinkedinUrl => &[
                "linkedin",
                "linkedinurl",
                "linkedinprofile",
                "linkedinprofileurl",
                "personlinkedinurl",
            ],
            LeadField::City => &["city", "town"],
            LeadField::Country => &["country", "countrycode"],
            LeadField::Timezone => &["timezone", "tz"],
            LeadField::Industry => &["industry", "sector"],
            LeadField::Source => &["source", "leadsource"],
            LeadField::Notes => &["notes", "note", "comments", "comment"],
        }
    }

    /// The field a header names, matched case- and punctuation-insensitively.
    pub fn from_header(header: &str) -> Option<Self> {
        let wanted = normalise_header(header);
        Self::ALL
            .into_iter()
            .find(|field| field.aliases().contains(&wanted.as_str()) || normalise_header(field.key()) == wanted)
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|field| field.key() == key)
    }
}

/// Lower case, letters and digits only: "E-mail Address" → "emailaddress".
pub fn normalise_header(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Where a column goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    Field(LeadField),
    /// Unmapped columns land in the lead's custom_fields under their header.
    Custom(String),
    Ignore,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is not CSV text (it contains binary data or is not UTF-8)")]
    NotText,
    #[error("the file is not valid CSV: {0}")]
    Malformed(String),
    /// Neither an email nor a phone column: no row could be a lead.
    #[error("no column holds email addresses or phone numbers; the headers are: {0}")]
    NoEmailColumn(String),
    #[error("mapping: `{header}` is not a column of the file")]
    UnknownMappedHeader { header: String },
    #[error("mapping: `{target}` is not a lead field (use a field name, custom_fields.<name>, or ignore)")]
    UnknownMappingTarget { target: String },
}

/// One data row as a lead input, with its spreadsheet row number.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvRow {
    pub row: usize,
    pub lead: Result<NewLead, String>,
}

/// A parsed file: how its columns were mapped and its rows.
#[derive(Debug, Clone)]
pub struct ParsedCsv {
    pub headers: Vec<String>,
    pub columns: Vec<Column>,
    pub delimiter: u8,
    pub rows: Vec<CsvRow>,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The most rows [`parse`] makes room for before it reads them.
const PRESIZED_ROWS: usize = 200_000;

/// The delimiter of the header line: whichever of `,` `;` tab occurs most outside quotes.
pub fn sniff_delimiter(text: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut in_quotes = false;
    for byte in text.bytes() {
        match byte {
            b'"' => in_quotes = !in_quotes,
            b'\n' | b'\r' if !in_quotes => break,
            _ if !in_quotes => {
                for (delimiter, count) in counts.iter_mut() {
                    if byte == *delimiter {
                        *count += 1;
                    }
                }
            }
            _ => {}
        }
    }
    counts
        .iter()
        .max_by_key(|(_, count)| *count)
        .filter(|(_, count)| *count > 0)
        .map_or(b',', |(d, _)| *d)
}

/// Refuses a mapping whose targets are not lead fields, before any file is seen.
pub fn check_mapping(explicit: &BTreeMap<String, String>) -> Result<(), CsvError> {
    for header in explicit.keys() {
        column_for(header, explicit)?;
    }
    Ok(())
}

/// Where one header goes: the explicit mapping (field key, `custom_fields.<name>`
/// or `ignore`) if it names the header, else the automatic match, else a custom field.
fn column_for(header: &str, explicit: &BTreeMap<String, String>) -> Result<Column, CsvError> {
    let named = explicit
        .iter()
        .find(|(h, _)| h.trim() == header.trim())
        .map(|(_, target)| target.trim());
    Ok(match named {
        Some("ignore") | Some("") => Column::Ignore,
        Some(target) => match target.strip_prefix("custom_fields.") {
            Some(name) if !name.is_empty() => Column::Custom(name.to_string()),
            _ => Column::Field(
                LeadField::from_key(target).ok_or_else(|| CsvError::UnknownMappingTarget {
                    target: target.to_string(),
                })?,
            ),
        },
        None => match LeadField::from_header(header) {
            Some(field) => Column::Field(field),
            None if header.trim().is_empty() => Column::Ignore,
            None => Column::Custom(header.trim().to_string()),
        },
    })
}

/// Maps headers to lead fields; `explicit` (header → field key,
/// `custom_fields.<name>` or `ignore`) overrides the automatic match.
pub fn map_columns(headers: &[String], explicit: &BTreeMap<String, String>) -> Result<Vec<Column>, CsvError> {
    for header in explicit.keys() {
        if !headers.iter().any(|h| h.trim() == header.trim()) {
            return Err(CsvError::UnknownMappedHeader { header: header.clone() });
        }
    }
    let mut taken = std::collections::HashSet::new();
    let mut columns = Vec::with_capacity(headers.len());
    for header in headers {
        let column = match column_for(header, explicit)? {
            // The first column for a field wins; a second "Email" is kept as a custom field.
            Column::Field(field) if !taken.insert(field) => Column::Custom(header.trim().to_string()),
            other => other,
        };
        columns.push(column);
    }
    Ok(columns)
}

/// Maps one JSON object (a webhook's lead) like a CSV row: keys are headers.
/// `custom_fields` and `personalization` objects pass through as they are
/// (so the result is a JSON object, which may not decode into a [`NewLead`]:
/// `import::RowLead::from_value` keeps it as it is then, to be refused at ingest).
pub fn map_object(item: Map<String, Value>, explicit: &BTreeMap<String, String>) -> Result<Value, String> {
    let mut cells = Vec::new();
    let mut passthrough = Map::new();
    for (key, value) in item {
        if matches!(key.as_str(), "custom_fields" | "personalization") && value.is_object() {
            passthrough.insert(key, value);
            continue;
        }
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err(format!("{key}: must be text, a number or true/false")),
        };
        let column = column_for(&key, explicit).map_err(|e| e.to_string())?;
        cells.push((column, text));
    }
    let lead = assemble(cells.iter().map(|(c, t)| (c, t.as_str())))?;
    let mut lead = serde_json::to_value(lead).map_err(|e| e.to_string())?;
    if let Value::Object(lead) = &mut lead {
        for (key, value) in passthrough {
            match (lead.get_mut(&key), value) {
                (Some(Value::Object(existing)), Value::Object(extra)) => existing.extend(extra),
                (_, value) => {
                    lead.insert(key, value);
                }
            }
        }
    }
    Ok(lead)
}

/// Parses a lead CSV into one lead object per non-blank row.
pub fn parse(bytes: &[u8], explicit: &BTreeMap<String, String>) -> Result<ParsedCsv, CsvError> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(CsvError::Empty);
    }
    if bytes.contains(&0) {
        return Err(CsvError::NotText);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| CsvError::NotText)?;
    let delimiter = sniff_delimiter(text.trim_start_matches(['\r', '\n']));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| CsvError::Malformed(e.to_string()))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let columns = map_columns(&headers, explicit)?;
    // Leads without an email are known by their phone, so a file of phone numbers is a lead file too.
    if !columns.contains(&Column::Field(LeadField::Email)) && !columns.contains(&Column::Field(LeadField::Phone)) {
        return Err(CsvError::NoEmailColumn(headers.join(", ")));
    }
    // Rows are a few hundred bytes each: room for one per line (up to a bound,
    // as blank lines are rows of none), so a large file's rows are not moved
    // again and again as the list grows.
    let lines = text.bytes().filter(|&b| b == b'\n').count();
    let mut rows = Vec::with_capacity(lines.min(PRESIZED_ROWS));
    let mut record = csv::StringRecord::new();
    let mut row = 1;
    loop {
        let read = reader.read_record(&mut record);
        row += 1;
        match read {
            Ok(false) => break,
            Ok(true) => {
                if record.iter().all(|cell| cell.trim().is_empty()) {
                    continue;
                }
                rows.push(CsvRow {
                    row,
                    lead: row_to_lead(&record, &columns),
                });
            }
            Err(err) => {
                rows.push(CsvRow {
                    row,
                    lead: Err(format!("not readable as CSV: {err}")),
                });
                if !matches!(
                    err.kind(),
                    csv::ErrorKind::UnequalLengths { .. } | csv::ErrorKind::Utf8 { .. }
                ) {
                    break;
                }
            }
        }
    }
    Ok(ParsedCsv {
        headers,
        columns,
        delimiter,
        rows,
    })
}

fn row_to_lead(record: &csv::StringRecord, columns: &[Column]) -> Result<NewLead, String> {
    if record.len() > columns.len() && record.iter().skip(columns.len()).any(|cell| !cell.trim().is_empty()) {
        return Err(format!(
            "the row has {} cells but the header has {}",
            record.len(),
            columns.len()
        ));
    }
    assemble(columns.iter().zip(record.iter()))
}

/// The input field a column fills (`FullName` fills first and last name, see [`assemble`]).
fn field_of(lead: &mut NewLead, field: LeadField) -> Option<&mut Option<String>> {
    Some(match field {
        LeadField::Email => &mut lead.email,
        LeadField::FirstName => &mut lead.first_name,
        LeadField::LastName => &mut lead.last_name,
        LeadField::FullName => return None,
        LeadField::CompanyName => &mut lead.company_name,
        LeadField::JobTitle => &mut lead.job_title,
        LeadField::Phone => &mut lead.phone,
        LeadField::Website => &mut lead.website,
        LeadField::LinkedinUrl => &mut lead.linkedin_url,
        LeadField::City => &mut lead.city,
        LeadField::Country => &mut lead.country,
        LeadField::Timezone => &mut lead.timezone,
        LeadField::Industry => &mut lead.industry,
        LeadField::Source => &mut lead.source,
        LeadField::Notes => &mut lead.notes,
    })
}

/// Builds a lead input from (column, cell) pairs: cells trimmed, empty ones
/// skipped, the first cell of a field kept, unmapped columns as custom fields.
fn assemble<'a>(cells: impl Iterator<Item = (&'a Column, &'a str)>) -> Result<NewLead, String> {
    let mut lead = NewLead::default();
    let mut full_name = None;
    for (column, cell) in cells {
        let cell = cell.trim();
        if cell.is_empty() {
            continue;
        }
        match column {
            Column::Field(field) => match field_of(&mut lead, *field) {
                Some(slot) => {
                    slot.get_or_insert_with(|| cell.to_string());
                }
                None => full_name = Some(cell),
            },
            Column::Custom(name) => {
                lead.custom_fields.insert(name.clone(), Value::String(cell.to_string()));
            }
            Column::Ignore => {}
        }
    }
    if let Some(name) = full_name {
        let mut parts = name.splitn(2, char::is_whitespace);
        let first = parts.next().unwrap_or_default();
        let last = parts.next().map(str::trim).unwrap_or_default();
        lead.first_name.get_or_insert_with(|| first.to_string());
        if !last.is_empty() {
            lead.last_name.get_or_insert_with(|| last.to_string());
        }
    }
    if lead.email.is_none() && lead.phone.is_none() {
        return Err("the email is missing (a lead needs an email or a phone)".into());
    }
    Ok(lead)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn no_mapping() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    /// A mapped row as the JSON object it travels as.
    fn json_of(row: &CsvRow) -> Value {
        serde_json::to_value(row.lead.as_ref().unwrap()).unwrap()
    }

    #[test]
    fn headers_match_case_and_punctuation_insensitively() {
        for (header, field) in [
            ("First Name", LeadField::FirstName),
            ("first_name", LeadField::FirstName),
            ("Email Address", LeadField::Email),
            ("E-mail", LeadField::Email),
            ("Company", LeadField::CompanyName),
            ("Company Name", LeadField::CompanyName),
            ("Job Title", LeadField::JobTitle),
            ("Title", LeadField::JobTitle),
            ("LinkedIn", LeadField::LinkedinUrl),
            ("Website", LeadField::Website),
            ("Phone", LeadField::Phone),
            ("Country", LeadField::Country),
            ("Time Zone", LeadField::Timezone),
        ] {
            assert_eq!(LeadField::from_header(header), Some(field), "{header}");
        }
        assert_eq!(LeadField::from_header("Favourite colour"), None);
    }

    #[test]
    fn bom_semicolons_quoted_newlines_crlf_and_blank_lines() {
        let file = "\u{feff}E-Mail;First Name;Notes;Plan\r\nann@acme.com;Ann;\"line one\r\nline two; still notes\";pro\r\n\r\n;;;\r\nbob@acme.com;Bob;;\r\n";
        let parsed = parse(file.as_bytes(), &no_mapping()).unwrap();
        assert_eq!(parsed.delimiter, b';');
        assert_eq!(parsed.rows.len(), 2);
        assert_eq!(parsed.rows[0].row, 2);
        assert_eq!(parsed.rows[1].row, 4, "the all-empty record is row 3");
        assert_eq!(
            &json_of(&parsed.rows[0]),
            &json!({"email": "ann@acme.com", "first_name": "Ann", "notes": "line one\r\nline two; still notes", "custom_fields": {"Plan": "pro"}})
        );
        assert_eq!(
            &json_of(&parsed.rows[1]),
            &json!({"email": "bob@acme.com", "first_name": "Bob"})
        );
    }

    #[test]
    fn tabs_and_full_names() {
        let parsed = parse(b"Name\tEmail\nAnn Marie Smith\tann@acme.com\n", &no_mapping()).unwrap();
        assert_eq!(parsed.delimiter, b'\t');
        assert_eq!(
            &json_of(&parsed.rows[0]),
            &json!({"email": "ann@acme.com", "first_name": "Ann", "last_name": "Marie Smith"})
        );
    }

    #[test]
    fn explicit_mapping_overrides() {
        let mapping = BTreeMap::from([
            ("Contact".to_string(), "email".to_string()),
            ("Email".to_string(), "custom_fields.old_email".to_string()),
            ("Junk".to_string(), "ignore".to_string()),
        ]);
        let parsed = parse(b"Contact,Email,Junk\nann@acme.com,old@acme.com,x\n", &mapping).unwrap();
        assert_eq!(
            &json_of(&parsed.rows[0]),
            &json!({"email": "ann@acme.com", "custom_fields": {"old_email": "old@acme.com"}})
        );
        let bad = BTreeMap::from([("Contact".to_string(), "favourite_colour".to_string())]);
        assert!(matches!(
            parse(b"Contact\nx\n", &bad),
            Err(CsvError::UnknownMappingTarget { .. })
        ));
        let missing = BTreeMap::from([("Nope".to_string(), "email".to_string())]);
        assert!(matches!(
            parse(b"Email\nx\n", &missing),
            Err(CsvError::UnknownMappedHeader { .. })
        ));
    }

    #[test]
    fn webhook_objects_map_like_rows() {
        let item = json!({"E-mail": "ann@acme.com", "Full Name": "Ann Lee", "employees": 40, "utm": null,
                          "custom_fields": {"plan": "pro"}});
        let lead = map_object(item.as_object().unwrap().clone(), &BTreeMap::new()).unwrap();
        assert_eq!(
            lead,
            json!({"email": "ann@acme.com", "first_name": "Ann", "last_name": "Lee", "custom_fields": {"employees": "40", "plan": "pro"}})
        );
        let mapping = BTreeMap::from([("contact".to_string(), "email".to_string())]);
        let lead = map_object(
            json!({"contact": "bob@acme.com"}).as_object().unwrap().clone(),
            &mapping,
        )
        .unwrap();
        assert_eq!(lead["email"], "bob@acme.com");
        assert!(map_object(json!({"name": "x"}).as_object().unwrap().clone(), &BTreeMap::new()).is_err());
    }

    #[test]
    fn what_is_not_a_lead_csv_is_refused_clearly() {
        assert_eq!(parse(b"", &no_mapping()).unwrap_err(), CsvError::Empty);
        assert_eq!(
            parse(b"\x89PNG\r\n\x1a\n\0\0\0", &no_mapping()).unwrap_err(),
            CsvError::NotText
        );
        assert_eq!(parse(b"\xff\xfe\x00a", &no_mapping()).unwrap_err(), CsvError::NotText);
        assert!(matches!(
            parse(b"{\"json\": true}", &no_mapping()),
            Err(CsvError::NoEmailColumn(_))
        ));
    }

    #[test]
    fn row_problems_are_reported_per_row() {
        let parsed = parse(
            b"Email,Name\n,Ann\nbob@acme.com,Bob,extra\ncat@acme.com,Cat\n",
            &no_mapping(),
        )
        .unwrap();
        let rows: Vec<_> = parsed.rows.iter().map(|r| (r.row, r.lead.is_ok())).collect();
        assert_eq!(rows, [(2, false), (3, false), (4, true)]);
    }

    proptest! {
        /// Whatever the cells contain (delimiters, quotes, newlines, unicode),
        /// a file written by a CSV writer reads back to the same values.
        #[test]
        fn cells_round_trip(cells in proptest::collection::vec(("[a-z]{1,8}@[a-z]{1,8}\\.com", "\\PC{0,30}"), 1..20),
                            delimiter in prop_oneof![Just(b','), Just(b';'), Just(b'\t')],
                            crlf in any::<bool>(), bom in any::<bool>()) {
            let mut writer = csv::WriterBuilder::new()
                .delimiter(delimiter)
                .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
                .from_writer(Vec::new());
            writer.write_record(["Email", "Notes"]).unwrap();
            for (email, notes) in &cells {
                writer.write_record([email.as_str(), notes.as_str()]).unwrap();
            }
            let mut bytes = if bom { BOM.to_vec() } else { Vec::new() };
            bytes.extend(writer.into_inner().unwrap());
            let parsed = parse(&bytes, &BTreeMap::new()).unwrap();
            prop_assert_eq!(parsed.rows.len(), cells.len());
            for (row, (email, notes)) in parsed.rows.iter().zip(&cells) {
                let lead = row.lead.as_ref().unwrap();
                prop_assert_eq!(lead.email.as_deref().unwrap(), email.as_str());
                let expected_notes = notes.trim();
                prop_assert_eq!(lead.notes.as_deref().unwrap_or(""), expected_notes);
            }
        }

        #[test]
        fn parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse(&bytes, &BTreeMap::new());
        }
    }
}
