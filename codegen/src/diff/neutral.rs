//! The text half of the diff: descriptions, examples and validation keywords. The IR keeps
//! none of them, so they are compared in the patched documents and each difference is
//! reported at the Rust item whose JSON pointer is the longest prefix of where it is.

use std::collections::HashMap;

use serde_json::Value;

use super::rule::*;
use super::structure::{group_section, location_word, method_path, Side};
use super::{Change, Rule, Section};
use crate::diagnostics::escape_pointer_token;
use crate::ir::{Field, Group, Operation, Param, TypeDef, TypeKind};

const DOC_KEYWORDS: &[&str] = &["description", "summary", "title", "externalDocs"];
const EXAMPLE_KEYWORDS: &[&str] = &["example", "examples", "x-example"];
const CONSTRAINT_KEYWORDS: &[&str] = &[
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "readOnly",
    "writeOnly",
];

/// Keys whose values are maps from names (property names, paths, status codes, media types)
/// to objects: a key `description` inside one is a name, not the keyword.
const NAME_MAPS: &[&str] = &[
    "properties",
    "paths",
    "schemas",
    "responses",
    "content",
    "headers",
    "securitySchemes",
    "requestBodies",
    "links",
    "callbacks",
    "variables",
    "encoding",
    "mapping",
    "scopes",
];

/// Formats that decide a Rust type (`DateTime`, `Date`, `FilePart`, `i32`): changing one of
/// them is a type change, any other format only a constraint.
const TYPE_FORMATS: &[&str] = &["date-time", "date", "binary", "int32"];

/// The rule for a keyword of the object at `parent_path`, which has the sibling `type`
/// `schema_type`, when its value changes from `before` to `after`; `None`: not neutral.
fn rule_of(keyword: &str, parent_path: &str, schema_type: Option<&str>, before: Option<&Value>, after: Option<&Value>) -> Option<&'static Rule> {
    let type_format = |v: Option<&Value>| v.and_then(Value::as_str).is_some_and(|f| TYPE_FORMATS.contains(&f));
    if DOC_KEYWORDS.contains(&keyword) {
        Some(DOCS_CHANGED)
    } else if EXAMPLE_KEYWORDS.contains(&keyword) {
        Some(EXAMPLE_CHANGED)
    } else if CONSTRAINT_KEYWORDS.contains(&keyword)
        || keyword == "format" && !type_format(before) && !type_format(after)
        // Only string enums become Rust enums; an integer enum is a constraint.
        || keyword == "enum" && schema_type.is_some_and(|t| t != "string")
    {
        Some(CONSTRAINT_CHANGED)
    } else if keyword == "deprecated" {
        Some(DEPRECATED_CHANGED)
    } else if keyword == "version" && parent_path == "#/info" {
        Some(SPEC_VERSION_CHANGED)
    } else {
        None
    }
}

/// A neutral keyword whose value differs between the documents.
struct Difference<'v> {
    /// The JSON pointer of the keyword, except that list elements with a name are keyed by it
    /// (`parameters/query:limit`, `tags/Raw data`), so inserting one parameter does not make
    /// the next ones look changed.
    path: String,
    rule: &'static Rule,
    before: Option<&'v Value>,
    after: Option<&'v Value>,
}

/// Walks both documents in step, into differing subtrees only (the pinned spec against
/// itself is one comparison at the root), and lists the neutral keywords that differ.
fn walk<'v>(old: Option<&'v Value>, new: Option<&'v Value>, path: &str, names: bool, out: &mut Vec<Difference<'v>>) {
    if old == new {
        return;
    }
    let (old_map, new_map) = (old.and_then(Value::as_object), new.and_then(Value::as_object));
    if old_map.is_some() || new_map.is_some() {
        let old_keys = old_map.into_iter().flat_map(|m| m.keys());
        let new_only = new_map.into_iter().flat_map(|m| m.keys()).filter(|k| !old_map.is_some_and(|m| m.contains_key(*k)));
        let schema_type = new_map.or(old_map).and_then(|m| m.get("type")).and_then(Value::as_str);
        for key in old_keys.chain(new_only) {
            let (before, after) = (old_map.and_then(|m| m.get(key)), new_map.and_then(|m| m.get(key)));
            if before == after {
                continue;
            }
            let child_path = format!("{path}/{}", escape_pointer_token(key));
            if names {
                walk(before, after, &child_path, false, out);
            } else if let Some(rule) = rule_of(key, path, schema_type, before, after) {
                out.push(Difference { path: child_path, rule, before, after });
            } else if key.starts_with("x-") {
                // Extensions hold anything; the ones the generator reads are structural.
            } else if key == "parameters" && before.or(after).is_some_and(Value::is_array) || key == "tags" && path == "#" {
                let (old_items, new_items) = (named_items(before), named_items(after));
                let new_only = new_items.iter().filter(|(token, _)| !old_items.iter().any(|(t, _)| t == token));
                for (token, _) in old_items.iter().chain(new_only) {
                    let find = |items: &[(String, &'v Value)]| items.iter().find(|(t, _)| t == token).map(|(_, v)| *v);
                    walk(find(&old_items), find(&new_items), &format!("{child_path}/{}", escape_pointer_token(token)), false, out);
                }
            } else {
                walk(before, after, &child_path, NAME_MAPS.contains(&key.as_str()), out);
            }
        }
        return;
    }
    let (old_items, new_items) = (old.and_then(Value::as_array), new.and_then(Value::as_array));
    let length = old_items.map_or(0, Vec::len).max(new_items.map_or(0, Vec::len));
    for i in 0..length {
        walk(old_items.and_then(|a| a.get(i)), new_items.and_then(|a| a.get(i)), &format!("{path}/{i}"), false, out);
    }
}

/// The elements of a list keyed by `in:name` (parameters), `name` (tags) or position.
fn named_items(list: Option<&Value>) -> Vec<(String, &Value)> {
    let items = list.and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let token = match (item.get("name").and_then(Value::as_str), item.get("in").and_then(Value::as_str)) {
                (Some(name), Some(location)) => format!("{location}:{name}"),
                (Some(name), None) => name.to_string(),
                _ => i.to_string(),
            };
            (token, item)
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Item<'a> {
    Type(&'a TypeDef),
    Operation(&'a Group, &'a Operation),
}

fn items<'a>(side: &Side<'a>) -> HashMap<&'a str, Item<'a>> {
    let mut items: HashMap<&str, Item> = HashMap::new();
    for group in &side.api.groups {
        for op in &group.operations {
            items.insert(op.pointer.as_str(), Item::Operation(group, op));
        }
    }
    for t in &side.api.types {
        items.insert(t.pointer.as_str(), Item::Type(t));
    }
    items
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

pub(super) fn compare(old_document: &Value, new_document: &Value, old: &Side, new: &Side) -> Vec<Change> {
    let mut differences = Vec::new();
    walk(Some(old_document), Some(new_document), "#", false, &mut differences);
    if differences.is_empty() {
        return Vec::new();
    }
    let (old_items, new_items) = (items(old), items(new));
    let mut changes = Vec::new();
    for Difference { path, rule, before, after } in differences {
        let (parent, keyword) = path.rsplit_once('/').expect("paths start with #/");
        let what = phrase(rule, &unescape(keyword), before, after);
        changes.extend(attribute(parent, rule, what, &old_items, &new_items, new, new_document));
    }
    changes
}

/// What happened to one keyword.
fn phrase(rule: &Rule, keyword: &str, before: Option<&Value>, after: Option<&Value>) -> String {
    let verb = match (before, after) {
        (None, _) => "added",
        (_, None) => "removed",
        _ => "changed",
    };
    if std::ptr::eq(rule, CONSTRAINT_CHANGED) {
        return match (before, after) {
            (Some(b), Some(a)) => format!("`{keyword}` changes from `{}` to `{}`", short(b), short(a)),
            (None, Some(a)) => format!("`{keyword}: {}` added", short(a)),
            (Some(b), _) => format!("`{keyword}: {}` removed", short(b)),
            (None, None) => unreachable!("only differing keywords are phrased"),
        };
    }
    if std::ptr::eq(rule, DEPRECATED_CHANGED) {
        return if after == Some(&Value::Bool(true)) { "now deprecated".into() } else { "no longer deprecated".into() };
    }
    if std::ptr::eq(rule, SPEC_VERSION_CHANGED) {
        let show = |v: Option<&Value>| v.map_or_else(|| "none".into(), |v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
        return format!("spec version changes from `{}` to `{}`", show(before), show(after));
    }
    if std::ptr::eq(rule, EXAMPLE_CHANGED) {
        return format!("example {verb}");
    }
    format!("`{keyword}` {verb}")
}

/// Puts a keyword change at its Rust item; `None` when the item itself was added, removed or
/// changed shape (the structural half reports that).
fn attribute(
    parent: &str,
    rule: &'static Rule,
    what: String,
    old_items: &HashMap<&str, Item>,
    new_items: &HashMap<&str, Item>,
    new: &Side,
    new_document: &Value,
) -> Option<Change> {
    let mut prefix = parent;
    loop {
        let (old_item, new_item) = (old_items.get(prefix), new_items.get(prefix));
        if old_item.is_some() || new_item.is_some() {
            // An item on one side only is reported by the structural half.
            let (old_item, new_item) = (old_item?, new_item?);
            let rest: Vec<String> = parent[prefix.len()..].split('/').filter(|t| !t.is_empty()).map(unescape).collect();
            return match (old_item, new_item) {
                (Item::Type(old_type), Item::Type(new_type)) => {
                    let place = type_place(old_type, new_type, &rest)?;
                    let detail = if place.is_empty() { what } else { format!("{place}: {what}") };
                    Some(Change { rule, section: new.type_section(&new_type.name), subject: format!("`{}`", new_type.name), detail })
                }
                (Item::Operation(_, old_op), Item::Operation(group, new_op)) => {
                    let place = operation_place(old_op, new_op, &rest)?;
                    let detail = if place.is_empty() { what } else { format!("{place}: {what}") };
                    Some(Change { rule, section: group_section(group), subject: method_path(group, new_op), detail })
                }
                _ => None,
            };
        }
        match prefix.rsplit_once('/') {
            Some((shorter, _)) if shorter != "#" => prefix = shorter,
            _ => break,
        }
    }
    let tokens: Vec<String> = parent.split('/').skip(1).map(unescape).collect();
    let (subject, section, inner) = match tokens.as_slice() {
        [tags, tag, inner @ ..] if tags == "tags" => match new.api.groups.iter().find(|g| &g.tag == tag) {
            Some(group) => (format!("`{}`", group.struct_name), group_section(group), inner),
            None => (format!("tag `{tag}`"), Section::Spec, inner),
        },
        [components, kind, name, inner @ ..] if components == "components" => {
            let pointer = format!("#/components/{kind}/{}", escape_pointer_token(name));
            // A shared parameter is known to callers by its name.
            let wire = new_document.pointer(&format!("{}/name", &pointer[1..])).and_then(Value::as_str).filter(|_| kind == "parameters");
            let subject = match wire {
                Some(wire) => format!("shared parameter `{wire}` (`{pointer}`)"),
                None => format!("`{pointer}`"),
            };
            (subject, Section::Spec, inner)
        }
        [first, inner @ ..] if first == "info" => ("the spec".to_string(), Section::Spec, inner),
        _ => (format!("`{parent}`"), Section::Spec, &[][..]),
    };
    let detail = if inner.is_empty() { what } else { format!("`{}`: {what}", inner.join("/")) };
    Some(Change { rule, section, subject, detail })
}

/// `field `name`` or `field `name` (`items`)` for a path inside a type; `None` when the field
/// exists on one side only.
fn type_place(old: &TypeDef, new: &TypeDef, rest: &[String]) -> Option<String> {
    let property = rest.iter().rposition(|t| t == "properties").filter(|i| i + 1 < rest.len());
    let Some(at) = property else { return Some(inner_path(rest)) };
    let wire = &rest[at + 1];
    let (old_fields, new_fields) = (fields_of(old)?, fields_of(new)?);
    old_fields.iter().find(|f| &f.wire == wire)?;
    let field = new_fields.iter().find(|f| &f.wire == wire)?;
    Some(join_place(format!("field `{}`", field.name), &rest[at + 2..]))
}

fn fields_of(t: &TypeDef) -> Option<&[Field]> {
    match &t.kind {
        TypeKind::Struct { fields, .. } | TypeKind::Multipart { fields } => Some(fields),
        _ => None,
    }
}

fn param_of<'o>(op: &'o Operation, location: &str, wire: &str) -> Option<&'o Param> {
    op.params.iter().find(|p| p.wire == wire && location_word(p.location) == location)
}

/// `parameter `limit``, `request body`, `answer `200`` for a path inside an operation.
fn operation_place(old: &Operation, new: &Operation, rest: &[String]) -> Option<String> {
    match rest {
        [parameters, key, inner @ ..] if parameters == "parameters" => {
            let (location, wire) = key.split_once(':')?;
            param_of(old, location, wire)?;
            let param = param_of(new, location, wire)?;
            Some(join_place(format!("parameter `{}`", param.name), inner))
        }
        [body, inner @ ..] if body == "requestBody" => Some(join_place("request body".into(), inner)),
        [responses, status, inner @ ..] if responses == "responses" => Some(join_place(format!("answer `{status}`"), inner)),
        other => Some(inner_path(other)),
    }
}

fn join_place(place: String, inner: &[String]) -> String {
    let inner = inner_path(inner);
    if inner.is_empty() { place } else { format!("{place} ({inner})") }
}

/// The path below an item, without the `schema` and `content/<type>` steps every reader
/// would skip.
fn inner_path(tokens: &[String]) -> String {
    let mut kept = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i].as_str() {
            "schema" => {}
            "content" => i += 1,
            other => kept.push(other),
        }
        i += 1;
    }
    if kept.is_empty() { String::new() } else { format!("`{}`", kept.join("/")) }
}
