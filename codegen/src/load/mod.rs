//! Step 1: raw spec bytes -> a repaired, patched OpenAPI document.
//!
//! In order: control characters YAML rejects are replaced ([`repair_control_characters`]);
//! the pointer patches of the overrides file are applied where upstream still has what they
//! expect ([`patches`]); rules repair whole classes of mechanical mistakes ([`repairs`]); the
//! overrides' settings are checked against the spec; the result is read as OpenAPI 3.0.

pub mod patches;
pub mod repairs;

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use crate::diagnostics::{Diagnostic, Rule};
use crate::overrides::Overrides;
use crate::Error;

/// The spec as the rest of the pipeline sees it.
#[derive(Debug)]
pub struct Loaded {
    pub openapi: openapiv3::OpenAPI,
    /// The same document as JSON, after repairs and patches: what a mock server should be fed.
    pub document: Value,
}

/// Repairs, parses and patches a spec.
pub fn load(
    spec_name: &str,
    bytes: &[u8],
    overrides: &Overrides,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Loaded, Error> {
    let text = repair_control_characters(spec_name, bytes, diagnostics)?;
    let mut document: Value = serde_yaml::from_str(&text).map_err(|e| Error {
        location: match e.location() {
            Some(l) => format!("{spec_name}:{}:{}", l.line(), l.column()),
            None => spec_name.to_string(),
        },
        message: format!("not valid YAML: {e}"),
    })?;
    if !document.is_object() {
        return Err(Error { location: spec_name.to_string(), message: "not an OpenAPI document: the top level is not a mapping".into() });
    }
    patches::apply_patches(&mut document, overrides, diagnostics);
    repairs::repair_document(&mut document, diagnostics);
    check_settings(&document, overrides, diagnostics);
    // Path tracking costs; only a document that fails is read again with it, to say where.
    let openapi = match openapiv3::OpenAPI::deserialize(&document) {
        Ok(openapi) => openapi,
        Err(plain) => {
            let (pointer, message) = match serde_path_to_error::deserialize::<_, openapiv3::OpenAPI>(&document) {
                Err(e) => (path_to_pointer(e.path()), e.inner().to_string()),
                Ok(_) => (String::new(), plain.to_string()),
            };
            return Err(Error {
                location: format!("{spec_name}#{pointer}"),
                message: format!("not a valid OpenAPI 3.0 document here: {message}"),
            });
        }
    };
    Ok(Loaded { openapi, document })
}

/// YAML forbids C0 control characters other than tab and line breaks, and some specs carry
/// them anyway. Bytes 0x18-0x1F are the low bytes of the typographic quotes U+2018-U+201F
/// with the high byte lost, which is how they get into specs, so they become those quotes;
/// any other control character becomes U+FFFD. Every repair is reported with its position.
pub fn repair_control_characters(
    spec_name: &str,
    bytes: &[u8],
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<String, Error> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_column(bytes, e.valid_up_to());
        Error { location: format!("{spec_name}:{line}:{column}"), message: "not valid UTF-8".into() }
    })?;
    let is_bad = |c: char| (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{7f}';
    if !text.contains(is_bad) {
        return Ok(text.to_owned());
    }
    let mut repaired = String::with_capacity(text.len() + 16);
    for (offset, c) in text.char_indices() {
        if !is_bad(c) {
            repaired.push(c);
            continue;
        }
        let replacement = match c as u32 {
            code @ 0x18..=0x1f => char::from_u32(0x2000 + code).unwrap_or('\u{fffd}'),
            _ => '\u{fffd}',
        };
        let (line, column) = line_column(bytes, offset);
        diagnostics.push(Diagnostic::new(Rule::ControlCharacter, 
            format!("{spec_name}:{line}:{column}"),
            format!(
                "control character U+{:04X} (byte {offset}) is not allowed in YAML; replaced by {replacement:?}",
                c as u32
            ),
        ));
        repaired.push(replacement);
    }
    Ok(repaired)
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (line, column)
}

fn path_to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        let token = match segment {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } => key.clone(),
            Segment::Enum { variant } => variant.clone(),
            Segment::Unknown => "?".into(),
        };
        pointer = crate::diagnostics::pointer_join(&pointer, &token);
    }
    pointer
}

/// Entries of the overrides' settings that name nothing in this spec are stale too: a scheme
/// or property upstream renamed would otherwise lose its setting without a word.
fn check_settings(document: &Value, overrides: &Overrides, diagnostics: &mut Vec<Diagnostic>) {
    let source = if overrides.source.is_empty() { "overrides" } else { overrides.source.as_str() };
    let schemes = document.pointer("/components/securitySchemes").and_then(Value::as_object);
    for name in overrides.credentials.keys() {
        if !schemes.is_some_and(|s| s.contains_key(name)) {
            diagnostics.push(Diagnostic::new(Rule::StaleSetting, 
                format!("{source} credentials.{name}"),
                "no security scheme of this name in #/components/securitySchemes; the entry does nothing",
            ));
        }
    }
    let mut properties = BTreeSet::new();
    collect_property_names(document, &mut properties, 0);
    for name in &overrides.secret_properties {
        if !properties.contains(name.as_str()) {
            diagnostics.push(Diagnostic::new(Rule::StaleSetting, 
                format!("{source} secret_properties.{name}"),
                "no schema of the spec has a property of this name; the entry does nothing",
            ));
        }
    }
    if let Some(envelope) = &overrides.envelope {
        for (key, name) in [("success", &envelope.success), ("error", &envelope.error)] {
            if !properties.contains(name.as_str()) {
                diagnostics.push(Diagnostic::new(Rule::StaleSetting, 
                    format!("{source} envelope.{key}"),
                    format!("no schema of the spec has a property `{name}`; no answer is read as a failure envelope"),
                ));
            }
        }
    }
}

/// Every key of every `properties` map in the document.
fn collect_property_names<'a>(value: &'a Value, into: &mut BTreeSet<&'a str>, depth: usize) {
    if depth > 256 {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "properties" {
                    if let Value::Object(properties) = child {
                        into.extend(properties.keys().map(String::as_str));
                    }
                }
                if !matches!(key.as_str(), "example" | "examples" | "default" | "enum") {
                    collect_property_names(child, into, depth + 1);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_property_names(item, into, depth + 1)),
        _ => {}
    }
}
