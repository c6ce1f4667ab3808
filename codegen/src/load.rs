//! Step 1: raw spec bytes -> a repaired, patched OpenAPI document.

use serde::Deserialize;
use serde_json::Value;

use crate::diagnostics::Diagnostic;
use crate::overrides::{Overrides, Patch, PatchOp};
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
    for patch in &overrides.patches {
        apply_patch(&mut document, patch).map_err(|message| Error {
            location: format!("spec/overrides.yaml patch at #{}", patch.pointer),
            message,
        })?;
    }
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
        diagnostics.push(Diagnostic::warning(
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

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Applies one override. Errors say what did not fit; the caller adds where.
pub fn apply_patch(document: &mut Value, patch: &Patch) -> Result<(), String> {
    let pointer = patch.pointer.strip_prefix('#').unwrap_or(&patch.pointer);
    if !pointer.starts_with('/') {
        return Err(format!("pointer `{pointer}` must start with `/`"));
    }
    let value = || patch.value.clone().ok_or_else(|| format!("`{:?}` needs a `value`", patch.op));
    let (parent_pointer, last) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    let last = unescape(last);
    match patch.op {
        PatchOp::Replace | PatchOp::Merge => {
            let target = document
                .pointer_mut(pointer)
                .ok_or_else(|| format!("nothing at `{pointer}` to {:?}", patch.op))?;
            if patch.op == PatchOp::Replace {
                *target = value()?;
            } else {
                let (Value::Object(existing), Value::Object(new)) = (target, value()?) else {
                    return Err("`merge` needs an object at the pointer and an object value".into());
                };
                existing.extend(new);
            }
        }
        PatchOp::Add | PatchOp::Remove => {
            let parent = document
                .pointer_mut(parent_pointer)
                .ok_or_else(|| format!("no parent `{parent_pointer}` for `{pointer}`"))?;
            match (parent, patch.op) {
                (Value::Object(map), PatchOp::Add) => {
                    map.insert(last, value()?);
                }
                (Value::Object(map), _) => {
                    map.shift_remove(&last).ok_or_else(|| format!("nothing at `{pointer}` to remove"))?;
                }
                (Value::Array(items), PatchOp::Add) if last == "-" => items.push(value()?),
                (Value::Array(items), op) => {
                    let index: usize = last.parse().map_err(|_| format!("`{last}` is not an array index"))?;
                    if op == PatchOp::Add && index <= items.len() {
                        items.insert(index, value()?);
                    } else if op == PatchOp::Remove && index < items.len() {
                        items.remove(index);
                    } else {
                        return Err(format!("index {index} is out of range"));
                    }
                }
                _ => return Err(format!("`{parent_pointer}` is neither an object nor an array")),
            }
        }
    }
    Ok(())
}
