//! Turning client JSON into domain input: typed decoding that names the
//! offending field, text clean-up rules, and PATCH semantics.

use crate::error::FieldError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// Decodes `value` into `T`, naming the failing field as a JSON Pointer below
/// `base` (e.g. base `/leads/3` and a bad email give `/leads/3/email`).
pub fn decode<T: DeserializeOwned>(value: Value, base: &str) -> Result<T, FieldError> {
    // Most input is valid, and serde_json reads a borrowed value as it reads an
    // owned one; tracking the path (which copies every key on the way) is only
    // needed to name the field of a failure. This halves the decoding of an import row.
    if let Ok(decoded) = T::deserialize(&value) {
        return Ok(decoded);
    }
    serde_path_to_error::deserialize::<_, T>(value).map_err(|err| {
        let mut pointer = String::from(base);
        for segment in err.path().iter() {
            use serde_path_to_error::Segment;
            match segment {
                Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
                Segment::Map { key } | Segment::Enum { variant: key } => {
                    pointer.push('/');
                    pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                }
                Segment::Unknown => {}
            }
        }
        let message = err.inner().to_string();
        if pointer.is_empty() {
            pointer.push('/');
        }
        FieldError::new(pointer, message)
    })
}

/// A field of a PATCH body: absent (leave as is), `null` (clear) or a value.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer)? {
            None => Patch::Null,
            Some(value) => Patch::Value(value),
        })
    }
}

impl<T> Patch<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }

    /// Applies the patch to an optional field; a new value goes through `check`
    /// (which may turn it into "empty"). On error the field is left as it was.
    pub fn apply_optional<U, E>(
        self,
        current: &mut Option<U>,
        check: impl FnOnce(T) -> Result<Option<U>, E>,
    ) -> Result<(), E> {
        match self {
            Patch::Absent => {}
            Patch::Null => *current = None,
            Patch::Value(value) => *current = check(value)?,
        }
        Ok(())
    }

    /// Applies the patch to an optional field that needs no validation.
    pub fn apply_plain(self, current: &mut Option<T>) {
        let _ = self.apply_optional(current, |v| Ok::<_, std::convert::Infallible>(Some(v)));
    }

    /// Applies the patch to a field that cannot be empty: `null` is refused.
    pub fn apply_required<U, E: ToString>(
        self,
        current: &mut U,
        check: impl FnOnce(T) -> Result<U, E>,
    ) -> Result<(), String> {
        match self {
            Patch::Absent => {}
            Patch::Null => return Err("must not be empty".into()),
            Patch::Value(value) => *current = check(value).map_err(|e| e.to_string())?,
        }
        Ok(())
    }
}

/// Collects field errors while an input is validated, so a client sees every
/// problem of an item at once.
#[derive(Debug, Default)]
pub struct Problems<'a> {
    /// Borrowed: an input without problems (most of an import) costs no copy of it.
    base: &'a str,
    errors: Vec<FieldError>,
}

impl<'a> Problems<'a> {
    pub fn at(base: &'a str) -> Self {
        Self {
            base,
            errors: Vec::new(),
        }
    }

    pub fn add(&mut self, field: &str, message: impl ToString) {
        self.errors
            .push(FieldError::new(format!("{}/{field}", self.base), message));
    }

    /// Runs a check; on failure records it under `field` and yields `None`.
    pub fn check<T, E: ToString>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(err) => {
                self.add(field, err);
                None
            }
        }
    }

    pub fn into_result(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Whether `field` (below the base) has an error already.
    pub fn has(&self, field: &str) -> bool {
        self.errors
            .iter()
            .any(|e| e.field.strip_prefix(self.base).and_then(|f| f.strip_prefix('/')) == Some(field))
    }
}

/// Optional free text: trimmed, empty means absent, at most `max` characters.
pub fn optional_text(value: Option<String>, max: usize) -> Result<Option<String>, String> {
    match value.map(trimmed).filter(|v| !v.is_empty()) {
        // A character is at least one byte: count them only when the bytes are over.
        Some(v) if v.len() > max && v.chars().count() > max => Err(format!("must be at most {max} characters")),
        other => Ok(other),
    }
}

/// `value` without surrounding whitespace, in its own buffer (no copy per field of every imported row).
fn trimmed(mut value: String) -> String {
    value.truncate(value.trim_end().len());
    let leading = value.len() - value.trim_start().len();
    value.drain(..leading);
    value
}

/// Required free text: trimmed, not empty, at most `max` characters.
pub fn required_text(value: &str, max: usize) -> Result<String, String> {
    optional_text(Some(value.to_string()), max)?.ok_or_else(|| "must not be empty".to_string())
}

/// Applies a PATCH to an optional text field.
pub fn patch_text(current: &mut Option<String>, patch: Patch<String>, max: usize) -> Result<(), String> {
    patch.apply_optional(current, |v| optional_text(Some(v), max))
}

/// Applies a PATCH to an optional web address.
pub fn patch_url(current: &mut Option<String>, patch: Patch<String>) -> Result<(), String> {
    patch.apply_optional(current, |v| optional_url(Some(v)))
}

/// Merges a PATCH into a JSON-object field (RFC 7396), keeping it within size.
pub fn patch_object(current: &mut Map<String, Value>, patch: Option<Map<String, Value>>) -> Result<(), String> {
    if let Some(patch) = patch {
        let mut merged = current.clone();
        merge_patch(&mut merged, patch);
        *current = bounded_object(merged)?;
    }
    Ok(())
}

/// The encoded size limit of a JSON document stored inside an item (DynamoDB
/// items are capped at 400 KB; a few of these must fit together).
pub const MAX_JSON_OBJECT_BYTES: usize = 32 * 1024;

pub fn bounded_object(value: Map<String, Value>) -> Result<Map<String, Value>, String> {
    let mut size = ByteCount(0);
    let size = serde_json::to_writer(&mut size, &value).map_or(usize::MAX, |()| size.0);
    if size > MAX_JSON_OBJECT_BYTES {
        return Err(format!("must be at most {MAX_JSON_OBJECT_BYTES} bytes of JSON"));
    }
    Ok(value)
}

/// Counts what is written to it: the encoded size of a document without building it.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// RFC 7396 JSON merge patch: `null` removes a member, objects merge, anything else replaces.
pub fn merge_patch(target: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (key, value) in patch {
        match value {
            Value::Null => {
                target.remove(&key);
            }
            Value::Object(inner) => {
                let entry = target.entry(key).or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                if let Value::Object(existing) = entry {
                    merge_patch(existing, inner);
                }
            }
            other => {
                target.insert(key, other);
            }
        }
    }
}

/// A URL-ish field (website, LinkedIn): trimmed, no spaces, bounded.
pub fn optional_url(value: Option<String>) -> Result<Option<String>, String> {
    let value = optional_text(value, 2048)?;
    if let Some(v) = &value {
        if v.contains(char::is_whitespace) || !v.contains('.') {
            return Err("must be a web address such as https://example.com".into());
        }
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        #[serde(default)]
        tags: Vec<u32>,
    }

    #[test]
    fn decode_names_the_bad_field() {
        let err = decode::<Sample>(json!({"name": 5}), "/leads/3").unwrap_err();
        assert_eq!(err.field, "/leads/3/name");
        let err = decode::<Sample>(json!({"name": "x", "tags": [1, "a"]}), "").unwrap_err();
        assert_eq!(err.field, "/tags/1");
    }

    #[test]
    fn decoding_valid_input_skips_no_rule() {
        let value = json!({"email": " Ann@Acme.io ", "phone": "030 901820", "score": 40,
            "custom_fields": {"plan": "pro", "seats": [1, {"a": null}]}, "personalization": {"line": "Hi"}});
        let fast: crate::lead::NewLead = decode(value.clone(), "/leads/0").unwrap();
        let tracked: crate::lead::NewLead = serde_path_to_error::deserialize(value).unwrap();
        assert_eq!(format!("{fast:?}"), format!("{tracked:?}"));
        let patch = json!({"first_name": null, "score": 7, "custom_fields": {"x": null}});
        let fast: crate::lead::LeadPatch = decode(patch.clone(), "").unwrap();
        let tracked: crate::lead::LeadPatch = serde_path_to_error::deserialize(patch).unwrap();
        assert_eq!(format!("{fast:?}"), format!("{tracked:?}"));
    }

    #[test]
    fn decode_names_unknown_fields() {
        let err = decode::<Sample>(json!({"name": "x", "colour": "red"}), "/leads/0").unwrap_err();
        assert_eq!(err.field, "/leads/0/colour");
        assert!(err.message.contains("unknown field"));
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut target = json!({"a": "b", "c": {"d": "e", "f": "g"}})
            .as_object()
            .unwrap()
            .clone();
        let patch = json!({"a": "z", "c": {"f": null}}).as_object().unwrap().clone();
        merge_patch(&mut target, patch);
        assert_eq!(Value::Object(target), json!({"a": "z", "c": {"d": "e"}}));
    }

    #[test]
    fn text_rules() {
        assert_eq!(optional_text(Some("  ".into()), 5).unwrap(), None);
        assert_eq!(optional_text(Some(" ab ".into()), 5).unwrap(), Some("ab".into()));
        assert!(optional_text(Some("abcdef".into()), 5).is_err());
        assert!(required_text(" ", 5).is_err());
        assert_eq!(
            optional_text(Some("\u{a0}\tääää\n".into()), 4).unwrap(),
            Some("ääää".into())
        );
        assert!(optional_text(Some("äääää".into()), 4).is_err());
    }

    #[test]
    fn objects_are_bounded_by_their_encoded_size() {
        let object = |text: &str| json!({"k": text}).as_object().unwrap().clone();
        // {"k":"…"} is 8 bytes around the text.
        assert!(bounded_object(object(&"x".repeat(MAX_JSON_OBJECT_BYTES - 8))).is_ok());
        assert!(bounded_object(object(&"x".repeat(MAX_JSON_OBJECT_BYTES - 7))).is_err());
    }
}
