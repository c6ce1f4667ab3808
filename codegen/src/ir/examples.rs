//! Values that satisfy a schema: what the generated conformance suite sends as arguments.
//!
//! Works on the spec as JSON (after repairs and patches), the same document a validating mock
//! server is given. For each schema the choice is, in order: its `example` if it validates,
//! its `default` if it validates, its first `enum` value, else a value built from its type,
//! format and constraints. Objects get their required properties only (a request body with
//! none required gets all of its own, so that it is not empty); lists get two elements (one
//! element is indistinguishable from a scalar in a form field), one where `uniqueItems` or
//! `maxItems` asks for it.
//! Every choice is checked against the schema with [`Synthesizer::fits`], so a wrong example
//! in the spec is passed over instead of being sent.

use serde_json::{Map, Number, Value};

/// Deeper than this, a schema is taken as recursive and no value is built.
const MAX_DEPTH: usize = 48;

pub(crate) struct Synthesizer<'a> {
    document: &'a Value,
}

impl<'a> Synthesizer<'a> {
    pub fn new(document: &'a Value) -> Self {
        Synthesizer { document }
    }

    /// A value for the schema at `pointer` (`#/paths/...`), with the properties an object
    /// value must have. `None` when no valid value could be found (a recursive required
    /// property, a `not` that excludes everything built).
    pub fn example_at(&self, pointer: &str) -> Option<super::Example> {
        let schema = self.resolve_pointer(pointer)?;
        let value = self.value(schema, &mut Vec::new())?;
        self.checked(schema, value)
    }

    /// Like [`Synthesizer::example_at`], for a request body: an object body whose schema
    /// requires nothing gets all of its properties, since an empty body tests nothing (and a
    /// required body that is empty counts as missing).
    pub fn body_example_at(&self, pointer: &str) -> Option<super::Example> {
        let schema = self.resolve_pointer(pointer)?;
        let view = self.object_view(schema, 0);
        if !view.is_object || !view.required.is_empty() || self.deref(schema)?.get("example").is_some() {
            return self.example_at(pointer);
        }
        let mut refs = Vec::new();
        let mut map = Map::new();
        // An optional property whose value cannot be made valid (a contradictory schema) is
        // left out rather than spoiling the body.
        for (name, property) in &view.properties {
            if let Some(value) = self.value(property, &mut refs).filter(|v| self.fits(property, v, 0)) {
                map.insert(name.clone(), value);
            }
        }
        self.checked(schema, Value::Object(map))
    }

    fn checked(&self, schema: &Value, value: Value) -> Option<super::Example> {
        if !self.fits(schema, &value, 0) {
            return None;
        }
        let required = self.object_view(schema, 0).required;
        Some(super::Example { value, required })
    }

    fn resolve_pointer(&self, pointer: &str) -> Option<&'a Value> {
        self.document.pointer(pointer.strip_prefix('#').unwrap_or(pointer))
    }

    /// Follows `$ref`s; `None` for a dangling one.
    fn deref(&self, schema: &'a Value) -> Option<&'a Value> {
        let mut schema = schema;
        for _ in 0..MAX_DEPTH {
            match schema.get("$ref").and_then(Value::as_str) {
                Some(reference) => schema = self.resolve_pointer(reference)?,
                None => return Some(schema),
            }
        }
        None
    }

    /// `refs` holds the `$ref`s being expanded, to stop at recursion.
    fn value(&self, schema: &'a Value, refs: &mut Vec<&'a str>) -> Option<Value> {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            if refs.contains(&reference) || refs.len() >= MAX_DEPTH {
                return None;
            }
            refs.push(reference);
            let value = self.resolve_pointer(reference).and_then(|target| self.value(target, refs));
            refs.pop();
            return value;
        }
        let declared = ["example", "default"].into_iter().filter_map(|key| schema.get(key));
        for candidate in declared {
            if !candidate.is_null() && self.fits(schema, candidate, 0) {
                return Some(candidate.clone());
            }
        }
        if let Some(Value::Array(values)) = schema.get("enum") {
            return values.iter().find(|v| !v.is_null()).cloned();
        }
        if let Some(Value::Array(variants)) = schema.get("oneOf") {
            return self.one_of(schema, variants, refs);
        }
        if let Some(Value::Array(variants)) = schema.get("anyOf") {
            return variants.iter().find_map(|v| self.value(v, refs).filter(|value| self.fits(schema, value, 0)));
        }
        if schema.get("allOf").is_some_and(|parts| parts.as_array().is_some_and(|p| !p.is_empty())) {
            return self.all_of(schema, refs);
        }
        match schema_type(schema) {
            Some("string") => Some(Value::String(string_value(schema))),
            Some("integer") => Some(Value::Number(integer_value(schema).into())),
            Some("number") => Number::from_f64(number_value(schema)).map(Value::Number),
            Some("boolean") => Some(Value::Bool(true)),
            Some("array") => self.array(schema, refs),
            Some("object") => self.object(schema, refs),
            _ if schema.get("properties").is_some() || schema.get("additionalProperties").is_some() => self.object(schema, refs),
            _ if schema.get("items").is_some() => self.array(schema, refs),
            // A schema without a type accepts anything; an empty object is the plainest value.
            _ => Some(Value::Object(Map::new())),
        }
    }

    /// The first variant whose value fits it and no other variant (`oneOf` means exactly one).
    /// With a discriminator, each variant's value carries its tag.
    fn one_of(&self, schema: &'a Value, variants: &'a [Value], refs: &mut Vec<&'a str>) -> Option<Value> {
        let tag = schema.pointer("/discriminator/propertyName").and_then(Value::as_str);
        let mut fallback = None;
        for (i, variant) in variants.iter().enumerate() {
            let Some(mut value) = self.value(variant, refs) else { continue };
            if let (Some(tag), Value::Object(map)) = (tag, &mut value) {
                if let Some(tag_value) = self.discriminator_value(schema, variant) {
                    map.insert(tag.to_string(), Value::String(tag_value));
                }
            }
            let exclusive = variants.iter().enumerate().all(|(j, other)| i == j || !self.fits(other, &value, 0));
            if exclusive && self.fits(variant, &value, 0) {
                return Some(value);
            }
            fallback.get_or_insert(value);
        }
        fallback
    }

    /// The tag value that selects `variant`: its mapping key, else its component name.
    fn discriminator_value(&self, schema: &Value, variant: &Value) -> Option<String> {
        let reference = variant.get("$ref")?.as_str()?;
        let mapped = schema
            .pointer("/discriminator/mapping")
            .and_then(Value::as_object)
            .and_then(|mapping| mapping.iter().find(|(_, target)| target.as_str() == Some(reference)))
            .map(|(key, _)| key.clone());
        mapped.or_else(|| reference.rsplit('/').next().map(str::to_string))
    }

    /// An `allOf` value: the parts' object values merged, or the first part's value that fits
    /// the whole schema when the parts are not objects.
    fn all_of(&self, schema: &'a Value, refs: &mut Vec<&'a str>) -> Option<Value> {
        let view = self.object_view(schema, 0);
        if view.is_object {
            return self.object_from_view(&view, refs);
        }
        let parts = schema.get("allOf")?.as_array()?;
        parts.iter().find_map(|part| self.value(part, refs).filter(|value| self.fits(schema, value, 0)))
    }

    fn array(&self, schema: &'a Value, refs: &mut Vec<&'a str>) -> Option<Value> {
        let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = schema.get("maxItems").and_then(Value::as_u64).map_or(usize::MAX, |m| m as usize);
        let unique = schema.get("uniqueItems") == Some(&Value::Bool(true));
        let count = min.max(if unique { 1 } else { 2 }).min(max);
        let item = match schema.get("items") {
            Some(items) if count > 0 => self.value(items, refs),
            Some(_) => None,
            None => Some(Value::String("item".into())),
        };
        match item {
            Some(item) => Some(Value::Array(vec![item; count])),
            // A recursive element type: an empty list is still valid when allowed.
            None if min == 0 => Some(Value::Array(Vec::new())),
            None => None,
        }
    }

    fn object(&self, schema: &'a Value, refs: &mut Vec<&'a str>) -> Option<Value> {
        let view = self.object_view(schema, 0);
        self.object_from_view(&view, refs)
    }

    fn object_from_view(&self, view: &ObjectView<'a>, refs: &mut Vec<&'a str>) -> Option<Value> {
        let mut map = Map::new();
        for name in &view.required {
            let property = view.properties.iter().find(|(n, _)| n == name).map(|(_, s)| *s);
            let value = match property {
                Some(property) => self.value(property, refs)?,
                // Required but never defined (a spec error): anything goes, so keep it plain.
                None => match view.additional {
                    Some(additional) => self.value(additional, refs)?,
                    None => Value::String("value".into()),
                },
            };
            map.insert(name.clone(), value);
        }
        if map.len() < view.min_properties {
            if let Some(additional) = view.additional {
                map.insert("key".into(), self.value(additional, refs)?);
            }
        }
        Some(Value::Object(map))
    }

    /// Properties, required names and extra-property schema of an object schema, gathered
    /// through its `allOf` parts.
    fn object_view(&self, schema: &'a Value, depth: usize) -> ObjectView<'a> {
        let mut view = ObjectView::default();
        self.collect_object(schema, depth, &mut view);
        view
    }

    fn collect_object(&self, schema: &'a Value, depth: usize, view: &mut ObjectView<'a>) {
        let Some(schema) = self.deref(schema) else { return };
        if depth > MAX_DEPTH {
            return;
        }
        if let Some(Value::Array(parts)) = schema.get("allOf") {
            for part in parts {
                self.collect_object(part, depth + 1, view);
            }
        }
        if let Some(Value::Object(properties)) = schema.get("properties") {
            view.is_object = true;
            for (name, property) in properties {
                if !view.properties.iter().any(|(n, _)| n == name) {
                    view.properties.push((name.clone(), property));
                }
            }
        }
        if schema_type(schema) == Some("object") {
            view.is_object = true;
        }
        if let Some(Value::Array(required)) = schema.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !view.required.iter().any(|r| r == name) {
                    view.required.push(name.to_string());
                }
            }
        }
        if let Some(additional @ Value::Object(_)) = schema.get("additionalProperties") {
            view.additional.get_or_insert(additional);
        }
        if let Some(min) = schema.get("minProperties").and_then(Value::as_u64) {
            view.min_properties = view.min_properties.max(min as usize);
        }
    }

    /// Whether `value` satisfies `schema`: the JSON Schema subset OpenAPI 3.0 uses (types,
    /// `nullable`, `enum`, formats, numeric and length bounds, items, properties, required,
    /// `additionalProperties`, `allOf`/`anyOf`/`oneOf`/`not`). `pattern` is not checked.
    pub fn fits(&self, schema: &Value, value: &Value, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let Some(schema) = self.deref(schema) else { return false };
        if value.is_null() {
            return schema.get("nullable") == Some(&Value::Bool(true))
                || schema.get("enum").and_then(Value::as_array).is_some_and(|values| values.contains(value));
        }
        if let Some(Value::Array(values)) = schema.get("enum") {
            if !values.contains(value) {
                return false;
            }
        }
        let fits_type = match schema_type(schema) {
            Some("string") => value.as_str().is_some_and(|s| string_fits(schema, s)),
            Some("integer") => is_integer(value) && number_fits(schema, value),
            Some("number") => value.is_number() && number_fits(schema, value),
            Some("boolean") => value.is_boolean(),
            Some("array") => value.is_array(),
            Some("object") => value.is_object(),
            _ => true,
        };
        if !fits_type {
            return false;
        }
        if let Value::Array(items) = value {
            let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
            let max = schema.get("maxItems").and_then(Value::as_u64).map_or(usize::MAX, |m| m as usize);
            if items.len() < min || items.len() > max {
                return false;
            }
            if let Some(item_schema) = schema.get("items") {
                if !items.iter().all(|item| self.fits(item_schema, item, depth + 1)) {
                    return false;
                }
            }
        }
        if let Value::Object(map) = value {
            if !self.object_fits(schema, map, depth) {
                return false;
            }
        }
        let all = |key: &str| schema.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
        if !all("allOf").iter().all(|part| self.fits(part, value, depth + 1)) {
            return false;
        }
        let any_of = all("anyOf");
        if !any_of.is_empty() && !any_of.iter().any(|part| self.fits(part, value, depth + 1)) {
            return false;
        }
        let one_of = all("oneOf");
        if !one_of.is_empty() && one_of.iter().filter(|part| self.fits(part, value, depth + 1)).count() != 1 {
            return false;
        }
        match schema.get("not") {
            Some(not) => !self.fits(not, value, depth + 1),
            None => true,
        }
    }

    /// This schema's own object keywords (its `allOf` parts are checked separately).
    fn object_fits(&self, schema: &Value, map: &Map<String, Value>, depth: usize) -> bool {
        let required = schema.get("required").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
        if !required.iter().filter_map(Value::as_str).all(|name| map.contains_key(name)) {
            return false;
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, property_value) in map {
            let governing = match properties.and_then(|p| p.get(name)) {
                Some(property) => property,
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => return false,
                    Some(additional @ Value::Object(_)) => additional,
                    _ => continue,
                },
            };
            if !self.fits(governing, property_value, depth + 1) {
                return false;
            }
        }
        let count = map.len() as u64;
        schema.get("minProperties").and_then(Value::as_u64).is_none_or(|min| count >= min)
            && schema.get("maxProperties").and_then(Value::as_u64).is_none_or(|max| count <= max)
    }
}

#[derive(Default)]
struct ObjectView<'a> {
    is_object: bool,
    properties: Vec<(String, &'a Value)>,
    required: Vec<String>,
    additional: Option<&'a Value>,
    min_properties: usize,
}

fn schema_type(schema: &Value) -> Option<&str> {
    schema.get("type").and_then(Value::as_str)
}

fn is_integer(value: &Value) -> bool {
    value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
}

fn string_value(schema: &Value) -> String {
    let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
    let base = match format {
        "date-time" => "2024-01-02T03:04:05Z",
        "date" => "2024-01-02",
        "time" => "03:04:05",
        "email" => "user@example.com",
        "uri" | "url" => "https://example.com/",
        "hostname" => "example.com",
        "ipv4" => "127.0.0.1",
        "ipv6" => "::1",
        "uuid" => "3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b",
        "byte" => "Y29uZm9ybWFuY2U=",
        "binary" => "conformance",
        _ => "string",
    };
    let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = schema.get("maxLength").and_then(Value::as_u64).map_or(usize::MAX, |m| m as usize);
    let mut text: String = base.chars().take(max).collect();
    // Padding keeps a formatted value's shape only where the format allows it; formats come
    // without length bounds in practice.
    while text.chars().count() < min {
        text.push('x');
    }
    text
}

fn string_fits(schema: &Value, text: &str) -> bool {
    let length = text.chars().count() as u64;
    let bounded = schema.get("minLength").and_then(Value::as_u64).is_none_or(|min| length >= min)
        && schema.get("maxLength").and_then(Value::as_u64).is_none_or(|max| length <= max);
    bounded
        && match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => is_date_time(text),
            Some("date") => is_date(text),
            _ => true,
        }
}

/// `YYYY-MM-DD` with plausible month and day.
fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes.get(range.clone()).is_some_and(|b| b.iter().all(u8::is_ascii_digit));
    let number = |range: std::ops::Range<usize>| text.get(range).and_then(|s| s.parse::<u32>().ok()).unwrap_or(0);
    bytes.len() == 10
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && bytes[7] == b'-'
        && digits(8..10)
        && (1..=12).contains(&number(5..7))
        && (1..=31).contains(&number(8..10))
}

/// RFC 3339: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
fn is_date_time(text: &str) -> bool {
    let Some((date, time)) = text.split_once(['T', 't']) else { return false };
    if !is_date(date) || time.len() < 9 {
        return false;
    }
    let (clock, rest) = time.split_at(8);
    let clock_ok = clock.as_bytes().iter().enumerate().all(|(i, b)| if i == 2 || i == 5 { *b == b':' } else { b.is_ascii_digit() });
    let rest = match rest.strip_prefix('.') {
        Some(fraction) => fraction.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => rest,
    };
    let zone_ok = rest.eq_ignore_ascii_case("z")
        || (rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && rest.as_bytes()[3] == b':'
            && rest.bytes().enumerate().all(|(i, b)| i == 0 || i == 3 || b.is_ascii_digit()));
    clock_ok && zone_ok
}

fn number_fits(schema: &Value, value: &Value) -> bool {
    let Some(x) = value.as_f64() else { return false };
    let bound = |key: &str| schema.get(key).and_then(Value::as_f64);
    let exclusive = |key: &str| schema.get(key) == Some(&Value::Bool(true));
    let above = bound("minimum").is_none_or(|min| if exclusive("exclusiveMinimum") { x > min } else { x >= min });
    let below = bound("maximum").is_none_or(|max| if exclusive("exclusiveMaximum") { x < max } else { x <= max });
    let multiple = bound("multipleOf").is_none_or(|step| step <= 0.0 || (x / step).fract().abs() < 1e-9);
    above && below && multiple
}

/// 1 where the bounds allow it, else the nearest allowed integer.
fn integer_value(schema: &Value) -> i64 {
    let exclusive = |key: &str| schema.get(key) == Some(&Value::Bool(true));
    let min = schema.get("minimum").and_then(Value::as_f64).map(|m| {
        let m = m.ceil() as i64;
        if exclusive("exclusiveMinimum") && m as f64 == schema["minimum"].as_f64().unwrap_or(0.0) { m + 1 } else { m }
    });
    let max = schema.get("maximum").and_then(Value::as_f64).map(|m| {
        let m = m.floor() as i64;
        if exclusive("exclusiveMaximum") && m as f64 == schema["maximum"].as_f64().unwrap_or(0.0) { m - 1 } else { m }
    });
    let mut value = 1i64;
    if let Some(min) = min {
        value = value.max(min);
    }
    if let Some(max) = max {
        value = value.min(max);
    }
    if let Some(step) = schema.get("multipleOf").and_then(Value::as_i64).filter(|s| *s > 0) {
        value = (value + step - 1).div_euclid(step) * step;
    }
    value
}

/// 1.5 where the bounds allow it (a fraction shows that floats survive the trip), else a
/// bound, else their midpoint.
fn number_value(schema: &Value) -> f64 {
    let min = schema.get("minimum").and_then(Value::as_f64);
    let max = schema.get("maximum").and_then(Value::as_f64);
    let candidate = 1.5;
    let fits = |x: f64| number_fits(schema, &Number::from_f64(x).map_or(Value::Null, Value::Number));
    if fits(candidate) {
        return candidate;
    }
    [min, max, min.zip(max).map(|(a, b)| (a + b) / 2.0)].into_iter().flatten().find(|x| fits(*x)).unwrap_or(candidate)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn example(document: &Value) -> Option<Value> {
        Synthesizer::new(document).example_at("#/s").map(|e| e.value)
    }

    #[test]
    fn wrong_typed_examples_are_passed_over() {
        let doc = json!({"s": {"type": "integer", "example": "12", "minimum": 5}});
        assert_eq!(example(&doc), Some(json!(5)));
        let doc = json!({"s": {"type": "string", "format": "date-time", "example": "yesterday"}});
        assert_eq!(example(&doc), Some(json!("2024-01-02T03:04:05Z")));
        let doc = json!({"s": {"type": "string", "example": "fine"}});
        assert_eq!(example(&doc), Some(json!("fine")));
    }

    #[test]
    fn objects_get_their_required_properties_through_all_of() {
        let doc = json!({
            "s": {"allOf": [{"$ref": "#/base"}, {"type": "object", "required": ["b"], "properties": {"b": {"type": "boolean"}}}]},
            "base": {"type": "object", "required": ["a", "missing"], "properties": {"a": {"type": "string", "enum": ["x", "y"]}, "c": {"type": "number"}}}
        });
        let e = Synthesizer::new(&doc).example_at("#/s").expect("an example");
        assert_eq!(e.value, json!({"a": "x", "missing": "value", "b": true}));
        assert_eq!(e.required, vec!["a", "missing", "b"]);
    }

    #[test]
    fn one_of_picks_a_variant_that_fits_only_itself() {
        let doc = json!({
            "s": {"oneOf": [{"type": "object"}, {"type": "object", "required": ["k"], "properties": {"k": {"type": "integer", "maximum": -3}}}]},
        });
        // `{}` fits the first variant only; the second needs `k`.
        assert_eq!(example(&doc), Some(json!({})));
        let doc = json!({
            "s": {"oneOf": [{"$ref": "#/a"}, {"$ref": "#/b"}], "discriminator": {"propertyName": "kind", "mapping": {"bee": "#/b"}}},
            "a": {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string", "enum": ["a"]}}},
            "b": {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}}}
        });
        // `{"kind": "a"}` also fits `b` (any string); `b` with its mapped tag fits `b` only.
        assert_eq!(example(&doc), Some(json!({"kind": "bee"})));
    }

    #[test]
    fn recursion_stops_at_an_empty_list() {
        let doc = json!({
            "s": {"$ref": "#/node"},
            "node": {"type": "object", "required": ["children"], "properties": {"children": {"type": "array", "items": {"$ref": "#/node"}}}}
        });
        // The node is already being expanded when its children come up: they stay empty.
        assert_eq!(example(&doc), Some(json!({"children": []})));
    }

    #[test]
    fn bounds_are_respected() {
        let doc = json!({"s": {"type": "array", "minItems": 3, "items": {"type": "string", "minLength": 8, "maxLength": 9}}});
        assert_eq!(example(&doc), Some(json!(["stringxx", "stringxx", "stringxx"])));
        let doc = json!({"s": {"type": "array", "uniqueItems": true, "items": {"type": "boolean"}}});
        assert_eq!(example(&doc), Some(json!([true])));
        let doc = json!({"s": {"type": "number", "minimum": 2, "maximum": 3, "exclusiveMinimum": true}});
        assert_eq!(example(&doc), Some(json!(3.0)));
        let doc = json!({"s": {"type": "integer", "minimum": 0, "exclusiveMinimum": true, "multipleOf": 5}});
        assert_eq!(example(&doc), Some(json!(5)));
    }

    #[test]
    fn date_time_shapes() {
        assert!(is_date_time("2019-08-31T17:32:28Z"));
        assert!(is_date_time("2019-08-31T17:32:28.123+02:00"));
        assert!(!is_date_time("2019-08-31 17:32:28"));
        assert!(!is_date_time("2019-13-31T17:32:28Z"));
    }
}
