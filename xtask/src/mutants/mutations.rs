//! The kinds of change upstream makes between spec versions, each a small function on the
//! spec document.
//!
//! Targets are found by rule, so the suite runs on any spec; where a rule has several
//! candidates, the items the user crate (`xtask/tests/user-crate/`) calls come first, so that
//! the additive mutations change exactly what a user's code touches.

use edge_impulse_codegen::names::type_name;
use serde_json::{json, Map, Value};

/// One "next version" change.
pub struct Mutation {
    /// Kebab-case name, for `--only` and the report.
    pub name: &'static str,
    /// Whether a user's code that compiled against the old crate must still compile (spec-diff's
    /// "additive": nothing removed, renamed, newly required in a request, or re-typed).
    pub additive: bool,
    /// Edits the document in place; returns the JSON pointers of what it removed, added or
    /// changed, or why the spec offers no target for it.
    pub apply: fn(&mut Value) -> Result<Touched, String>,
}

/// JSON pointers of the spec locations a mutation changed: generated items at or under one of
/// them may be renamed or gone.
#[derive(Debug, Default, Clone)]
pub struct Touched(pub Vec<String>);

/// Request body schema that the additive mutations extend (`BuildOnDeviceModelRequest::new(..)`
/// in the user crate).
const PREFERRED_REQUEST_SCHEMA: &str = "BuildOnDeviceModelRequest";
/// Answer item schema that gains properties (the user crate reads `Project::id` and `name`).
const PREFERRED_RESPONSE_SCHEMA: &str = "Project";
/// Enum that gains a value (the user crate matches on it).
const PREFERRED_ENUM: &str = "DeploymentTargetEngine";
/// Operation that gains parameters (the user crate calls `list_samples(..).limit(..)`).
const PREFERRED_OPERATION: &str = "listSamples";

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Every mutation, in report order.
pub fn all() -> Vec<Mutation> {
    macro_rules! mutation {
        ($name:literal, $additive:literal, $apply:path) => {
            Mutation { name: $name, additive: $additive, apply: $apply }
        };
    }
    vec![
        mutation!("remove-operation", false, remove_operation),
        mutation!("remove-tag", false, remove_tag),
        mutation!("add-operation", true, add_operation),
        mutation!("add-operation-without-tag", true, add_operation_without_tag),
        mutation!("add-operation-without-id", true, add_operation_without_id),
        mutation!("add-unreferenced-binary-schema", true, add_unreferenced_binary_schema),
        mutation!("add-unreferenced-object-schema", true, add_unreferenced_object_schema),
        mutation!("inline-schema-to-ref", false, inline_schema_to_ref),
        mutation!("every-nested-inline-schema-to-ref", false, every_nested_inline_schema_to_ref),
        mutation!("ref-to-inline-schema", false, ref_to_inline_schema),
        mutation!("add-enum-value", true, add_enum_value),
        mutation!("add-optional-request-property", true, add_optional_request_property),
        mutation!("add-required-request-property", false, add_required_request_property),
        mutation!("add-optional-response-property", true, add_optional_response_property),
        mutation!("add-required-response-property", true, add_required_response_property),
        mutation!("add-optional-query-parameter", true, add_optional_query_parameter),
        mutation!("add-required-query-parameter", false, add_required_query_parameter),
        mutation!("add-optional-header-parameter", true, add_optional_header_parameter),
        mutation!("add-security-api-key-header", true, add_security_api_key_header),
        mutation!("add-security-api-key-query", true, add_security_api_key_query),
        mutation!("add-security-api-key-cookie", true, add_security_api_key_cookie),
        mutation!("add-security-http-bearer", true, add_security_http_bearer),
        mutation!("add-security-http-basic", true, add_security_http_basic),
        mutation!("add-security-oauth2", true, add_security_oauth2),
        mutation!("add-security-openid-connect", true, add_security_openid_connect),
        mutation!("fix-required-list", false, fix_required_list),
    ]
}

// ---------------------------------------------------------------------------------------------
// Helpers on the document

/// RFC 6901 escaping of one pointer token.
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// One operation of the document: its path, method and pointer.
struct OperationAt {
    path: String,
    method: String,
    pointer: String,
}

fn operations(doc: &Value) -> Vec<OperationAt> {
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else { return Vec::new() };
    let mut found = Vec::new();
    for (path, item) in paths {
        let Some(item) = item.as_object() else { continue };
        for (method, _) in item.iter().filter(|(m, _)| METHODS.contains(&m.as_str())) {
            found.push(OperationAt {
                path: path.clone(),
                method: method.clone(),
                pointer: format!("/paths/{}/{method}", escape(path)),
            });
        }
    }
    found
}

fn operation_tag(doc: &Value, pointer: &str) -> Option<String> {
    doc.pointer(&format!("{pointer}/tags/0")).and_then(Value::as_str).map(str::to_owned)
}

fn schemas_mut(doc: &mut Value) -> Result<&mut Map<String, Value>, String> {
    doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut).ok_or_else(|| "the spec has no components/schemas".to_string())
}

fn object_mut<'a>(doc: &'a mut Value, pointer: &str) -> Result<&'a mut Map<String, Value>, String> {
    doc.pointer_mut(pointer).and_then(Value::as_object_mut).ok_or_else(|| format!("no object at {pointer}"))
}

/// Component schema names used as a JSON request body (directly by `$ref`).
fn request_body_schemas(doc: &Value) -> Vec<String> {
    let mut names = Vec::new();
    for op in operations(doc) {
        let pointer = format!("{}/requestBody/content/application~1json/schema/$ref", op.pointer);
        if let Some(name) = doc.pointer(&pointer).and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/")) {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// The preferred name when it qualifies, else the first candidate.
fn prefer(candidates: Vec<String>, preferred: &str) -> Option<String> {
    candidates.iter().find(|c| *c == preferred).cloned().or_else(|| candidates.into_iter().next())
}

/// Pointer of the object schema (with `properties`) a component schema defines its own
/// properties in: the schema itself, or its last `allOf` member that has properties.
fn own_properties_pointer(doc: &Value, name: &str) -> Option<String> {
    let base = format!("/components/schemas/{}", escape(name));
    let schema = doc.pointer(&base)?;
    if schema.get("properties").is_some_and(Value::is_object) {
        return Some(base);
    }
    let members = schema.get("allOf")?.as_array()?;
    let index = members.iter().rposition(|m| m.get("properties").is_some_and(Value::is_object))?;
    Some(format!("{base}/allOf/{index}"))
}

fn object_schema_with_properties(doc: &Value, names: Vec<String>, preferred: &str) -> Result<String, String> {
    let candidates: Vec<String> = names.into_iter().filter(|n| own_properties_pointer(doc, n).is_some()).collect();
    prefer(candidates, preferred).ok_or_else(|| "no object schema with properties to extend".to_string())
}

fn add_property(doc: &mut Value, schema_name: &str, property: &str, schema: Value, required: bool) -> Result<Touched, String> {
    let at = own_properties_pointer(doc, schema_name).ok_or_else(|| format!("schema {schema_name} has no properties"))?;
    let object = object_mut(doc, &at)?;
    object_mut_entry(object, "properties").insert(property.into(), schema);
    if required {
        let list = object.entry("required").or_insert_with(|| json!([]));
        list.as_array_mut().ok_or_else(|| format!("{at}/required is not a list"))?.push(json!(property));
    }
    let mut touched = vec![format!("{at}/properties/{}", escape(property))];
    if required {
        touched.push(format!("{at}/required"));
    }
    Ok(Touched(touched))
}

fn object_mut_entry<'a>(object: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let entry = object.entry(key).or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    entry.as_object_mut().expect("made an object above")
}

/// Adds a path item with one operation; the path must be new.
fn add_path_operation(doc: &mut Value, path: &str, method: &str, operation: Value) -> Result<Touched, String> {
    let paths = object_mut(doc, "/paths")?;
    if paths.contains_key(path) {
        return Err(format!("the spec already has a path {path}"));
    }
    paths.insert(path.into(), json!({ method: operation }));
    Ok(Touched(vec![format!("/paths/{}", escape(path))]))
}

/// A JSON answer with an inline object schema, as upstream writes them.
fn json_answer(properties: Value, required: &[&str]) -> Value {
    json!({
        "200": {
            "description": "OK",
            "content": { "application/json": { "schema": {
                "type": "object", "required": required, "properties": properties
            }}}
        }
    })
}

/// The tag the preferred operation is in (or any operation's), for new operations.
fn existing_tag(doc: &Value) -> Option<String> {
    let ops = operations(doc);
    let preferred = ops.iter().find(|op| doc.pointer(&format!("{}/operationId", op.pointer)).and_then(Value::as_str) == Some(PREFERRED_OPERATION));
    preferred.into_iter().chain(ops.iter()).find_map(|op| operation_tag(doc, &op.pointer))
}

fn preferred_operation(doc: &Value) -> Result<OperationAt, String> {
    let ops = operations(doc);
    let id = |op: &OperationAt| doc.pointer(&format!("{}/operationId", op.pointer)).and_then(Value::as_str).map(str::to_owned);
    let mut ops: Vec<OperationAt> = ops.into_iter().filter(|op| op.method == "get").collect();
    if let Some(index) = ops.iter().position(|op| id(op).as_deref() == Some(PREFERRED_OPERATION)) {
        return Ok(ops.swap_remove(index));
    }
    ops.into_iter().next().ok_or_else(|| "the spec has no GET operation".to_string())
}

fn add_parameter(doc: &mut Value, parameter: Value) -> Result<Touched, String> {
    let op = preferred_operation(doc)?;
    let operation = object_mut(doc, &op.pointer)?;
    let list = operation.entry("parameters").or_insert_with(|| json!([]));
    let list = list.as_array_mut().ok_or_else(|| format!("{}/parameters is not a list", op.pointer))?;
    list.push(parameter);
    Ok(Touched(vec![format!("{}/parameters/{}", op.pointer, list.len() - 1)]))
}

// ---------------------------------------------------------------------------------------------
// Removals

/// Removes one operation: the first DELETE (else the last operation), keeping the user crate's.
fn remove_operation(doc: &mut Value) -> Result<Touched, String> {
    let ops = operations(doc);
    let op = ops.iter().find(|op| op.method == "delete").or(ops.last()).ok_or("the spec has no operations")?;
    remove_operations(doc, std::slice::from_ref(op))
}

fn remove_operations(doc: &mut Value, ops: &[OperationAt]) -> Result<Touched, String> {
    let mut touched = Vec::new();
    for op in ops {
        let item = object_mut(doc, &format!("/paths/{}", escape(&op.path)))?;
        item.shift_remove(&op.method);
        if !item.keys().any(|k| METHODS.contains(&k.as_str())) {
            object_mut(doc, "/paths")?.shift_remove(&op.path);
        }
        touched.push(op.pointer.clone());
    }
    Ok(Touched(touched))
}

/// Removes every operation of the tag with the fewest operations (ties: first by name), so
/// its API group and `Client` accessor go away.
fn remove_tag(doc: &mut Value) -> Result<Touched, String> {
    let ops = operations(doc);
    let mut sizes: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for op in &ops {
        if let Some(tag) = operation_tag(doc, &op.pointer) {
            *sizes.entry(tag).or_default() += 1;
        }
    }
    let tag = sizes.iter().min_by_key(|(_, &n)| n).map(|(t, _)| t.clone()).ok_or("no tagged operations")?;
    let in_tag: Vec<OperationAt> = ops.into_iter().filter(|op| operation_tag(doc, &op.pointer).as_deref() == Some(tag.as_str())).collect();
    let mut touched = remove_operations(doc, &in_tag)?;
    if let Some(tags) = doc.get_mut("tags").and_then(Value::as_array_mut) {
        tags.retain(|t| t.get("name").and_then(Value::as_str) != Some(tag.as_str()));
        touched.0.push("/tags".into());
    }
    Ok(touched)
}

// ---------------------------------------------------------------------------------------------
// New operations

fn add_operation(doc: &mut Value) -> Result<Touched, String> {
    let tag = existing_tag(doc).ok_or("no tagged operation to take a tag from")?;
    let operation = json!({
        "tags": [tag],
        "summary": "List widgets",
        "description": "A new operation in an existing tag, with an inline answer that nests an object list.",
        "operationId": "listMutantWidgets",
        "parameters": [
            { "name": "projectId", "in": "path", "required": true, "schema": { "type": "integer" } },
            { "name": "limit", "in": "query", "required": false, "schema": { "type": "integer" } }
        ],
        "responses": json_answer(json!({
            "success": { "type": "boolean" },
            "widgets": { "type": "array", "items": { "type": "object", "required": ["id"], "properties": {
                "id": { "type": "integer" }, "name": { "type": "string" }
            }}}
        }), &["success", "widgets"])
    });
    add_path_operation(doc, "/api/{projectId}/mutant-widgets", "get", operation)
}

fn add_operation_without_tag(doc: &mut Value) -> Result<Touched, String> {
    let operation = json!({
        "summary": "Untagged operation",
        "operationId": "mutantUntagged",
        "requestBody": { "required": true, "content": { "application/json": { "schema": {
            "type": "object", "required": ["name"], "properties": { "name": { "type": "string" } }
        }}}},
        "responses": json_answer(json!({ "success": { "type": "boolean" } }), &["success"])
    });
    add_path_operation(doc, "/api/mutant-untagged", "post", operation)
}

fn add_operation_without_id(doc: &mut Value) -> Result<Touched, String> {
    let tag = existing_tag(doc).ok_or("no tagged operation to take a tag from")?;
    let operation = json!({
        "tags": [tag],
        "summary": "Operation without operationId",
        "parameters": [
            { "name": "projectId", "in": "path", "required": true, "schema": { "type": "integer" } },
            { "name": "itemId", "in": "path", "required": true, "schema": { "type": "string" } }
        ],
        "responses": json_answer(json!({ "success": { "type": "boolean" }, "size": { "type": "integer" } }), &["success"])
    });
    add_path_operation(doc, "/api/{projectId}/mutant-items/{itemId}", "get", operation)
}

// ---------------------------------------------------------------------------------------------
// New component schemas

fn add_schema(doc: &mut Value, name: &str, schema: Value) -> Result<Touched, String> {
    let schemas = schemas_mut(doc)?;
    if schemas.contains_key(name) {
        return Err(format!("the spec already has a schema {name}"));
    }
    schemas.insert(name.into(), schema);
    Ok(Touched(vec![format!("/components/schemas/{}", escape(name))]))
}

/// A form with a file field that no operation uses (yet).
fn add_unreferenced_binary_schema(doc: &mut Value) -> Result<Touched, String> {
    add_schema(doc, "MutantUploadForm", json!({
        "type": "object",
        "required": ["file"],
        "properties": {
            "file": { "type": "string", "format": "binary" },
            "files": { "type": "array", "items": { "type": "string", "format": "binary" } },
            "label": { "type": "string" }
        }
    }))
}

fn add_unreferenced_object_schema(doc: &mut Value) -> Result<Touched, String> {
    add_schema(doc, "MutantSettings", json!({
        "type": "object",
        "required": ["limits"],
        "properties": {
            "limits": { "type": "object", "properties": {
                "maxItems": { "type": "integer" },
                "window": { "type": "object", "properties": { "seconds": { "type": "number" } } }
            }},
            "labels": { "type": "object", "additionalProperties": { "type": "string" } },
            "mode": { "type": "string", "enum": ["fast", "thorough"] },
            "rules": { "type": "array", "items": { "type": "object", "properties": { "pattern": { "type": "string" } } } },
            "anything": {}
        }
    }))
}

// ---------------------------------------------------------------------------------------------
// Inline schemas and `$ref`s

/// Inline object schemas (with properties) that a named schema could replace: JSON request
/// bodies first, then properties of component schemas. Each with a name upstream would give it.
fn inline_object_schemas(doc: &Value) -> Vec<(String, String)> {
    let is_inline_object = |schema: &Value| schema.get("$ref").is_none() && schema.get("properties").is_some_and(Value::is_object);
    let mut found = Vec::new();
    for op in operations(doc) {
        let pointer = format!("{}/requestBody/content/application~1json/schema", op.pointer);
        if doc.pointer(&pointer).is_some_and(is_inline_object) {
            let id = doc.pointer(&format!("{}/operationId", op.pointer)).and_then(Value::as_str).unwrap_or(&op.path);
            found.push((pointer, type_name(&format!("{id} request"))));
        }
    }
    let names: Vec<String> = doc.pointer("/components/schemas").and_then(Value::as_object).into_iter().flat_map(|s| s.keys().cloned()).collect();
    for name in names {
        let Some(at) = own_properties_pointer(doc, &name) else { continue };
        let Some(properties) = doc.pointer(&format!("{at}/properties")).and_then(Value::as_object) else { continue };
        for (property, schema) in properties {
            if is_inline_object(schema) {
                found.push((format!("{at}/properties/{}", escape(property)), type_name(&format!("{name} {property}"))));
            }
        }
    }
    found
}

/// Moves the first inline object schema into `components/schemas` and refers to it, as
/// upstream does when it gives a schema a name.
fn inline_schema_to_ref(doc: &mut Value) -> Result<Touched, String> {
    let (pointer, mut name) = inline_object_schemas(doc).into_iter().next().ok_or("no inline object schema")?;
    while doc.pointer(&format!("/components/schemas/{}", escape(&name))).is_some() {
        name.push_str("Schema");
    }
    let schema = doc.pointer_mut(&pointer).map(Value::take).ok_or("the inline schema vanished")?;
    *doc.pointer_mut(&pointer).expect("taken from here") = json!({ "$ref": format!("#/components/schemas/{name}") });
    let mut touched = add_schema(doc, &name, schema)?;
    touched.0.push(pointer);
    Ok(touched)
}

/// Moves every inline object schema that is a property's value, an array's items or a map's
/// values (in component schemas and in operation bodies and answers) into
/// `components/schemas`, as upstream does when it names one: the 2026-09-06 Studio spec made
/// the log answer's line the component `JobLogItem`. Every generated type for such a schema
/// gets another name, so the crate compiles under this only if its hand-written runtime names
/// no type whose name depends on where a schema sits.
fn every_nested_inline_schema_to_ref(doc: &mut Value) -> Result<Touched, String> {
    let mut found = Vec::new();
    if let Some(schemas) = doc.pointer("/components/schemas").and_then(Value::as_object) {
        for (name, schema) in schemas {
            nested_inline_objects(schema, &format!("/components/schemas/{}", escape(name)), name, &mut found);
        }
    }
    for op in operations(doc) {
        let Some(operation) = doc.pointer(&op.pointer) else { continue };
        let id = operation.get("operationId").and_then(Value::as_str).unwrap_or(&op.path).to_string();
        let bodies = operation.pointer("/requestBody/content").and_then(Value::as_object).into_iter().flatten().map(|(media, content)| {
            (format!("{}/requestBody/content/{}/schema", op.pointer, escape(media)), content, format!("{id} request"))
        });
        let answers = operation.get("responses").and_then(Value::as_object).into_iter().flatten().flat_map(|(status, answer)| {
            let pointer = format!("{}/responses/{}/content", op.pointer, escape(status));
            let id = id.clone();
            answer.get("content").and_then(Value::as_object).into_iter().flatten().map(move |(media, content)| {
                (format!("{pointer}/{}/schema", escape(media)), content, format!("{id} response"))
            })
        });
        for (pointer, content, context) in bodies.chain(answers) {
            if let Some(schema) = content.get("schema") {
                nested_inline_objects(schema, &pointer, &context, &mut found);
            }
        }
    }
    if found.is_empty() {
        return Err("no inline object schema in a property, array or map".into());
    }
    // Innermost first: replacing one leaves the pointers of those around it valid.
    found.sort_by_key(|(pointer, _)| std::cmp::Reverse(pointer.matches('/').count()));
    let mut touched = Touched::default();
    for (pointer, context) in found {
        // Not the name the generator gives the inline schema: upstream picks its own
        // (`JobLogItem`, not `LogStdoutResponseStdoutItem`).
        let mut name = type_name(&format!("{context} named"));
        while doc.pointer(&format!("/components/schemas/{}", escape(&name))).is_some() {
            name.push_str("Named");
        }
        let schema = doc.pointer_mut(&pointer).map(Value::take).ok_or_else(|| format!("nothing at {pointer}"))?;
        *doc.pointer_mut(&pointer).ok_or_else(|| format!("nothing at {pointer}"))? = json!({ "$ref": format!("#/components/schemas/{name}") });
        touched.0.extend(add_schema(doc, &name, schema)?.0);
        touched.0.push(pointer);
    }
    Ok(touched)
}

/// Inline object schemas below `schema` (not `schema` itself) that sit in a property, an
/// array's items or a map's values, with a name hint from the way down (`Job logs item`).
fn nested_inline_objects(schema: &Value, pointer: &str, context: &str, found: &mut Vec<(String, String)>) {
    let mut visit = |child: &Value, at: String, context: String, extract: bool| {
        if extract && child.get("$ref").is_none() && child.get("properties").is_some_and(Value::is_object) {
            found.push((at.clone(), context.clone()));
        }
        nested_inline_objects(child, &at, &context, found);
    };
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, child) in properties {
            visit(child, format!("{pointer}/properties/{}", escape(name)), format!("{context} {name}"), true);
        }
    }
    if let Some(items) = schema.get("items") {
        visit(items, format!("{pointer}/items"), format!("{context} item"), true);
    }
    if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
        visit(values, format!("{pointer}/additionalProperties"), format!("{context} value"), true);
    }
    for keyword in ["allOf", "oneOf", "anyOf"] {
        for (i, member) in schema.get(keyword).and_then(Value::as_array).into_iter().flatten().enumerate() {
            visit(member, format!("{pointer}/{keyword}/{i}"), context.to_string(), false);
        }
    }
}

/// Every `$ref` in the document: where it is and what it points at.
fn references(doc: &Value) -> Vec<(String, String)> {
    fn walk(value: &Value, pointer: &str, found: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push((pointer.to_string(), target.clone()));
                }
                map.iter().for_each(|(k, v)| walk(v, &format!("{pointer}/{}", escape(k)), found));
            }
            Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| walk(v, &format!("{pointer}/{i}"), found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(doc, "", &mut found);
    found
}

/// Replaces the only reference to a component object schema with the schema itself and drops
/// the component, as upstream does when it inlines one. Request bodies come first.
fn ref_to_inline_schema(doc: &mut Value) -> Result<Touched, String> {
    let all = references(doc);
    let used_once = |target: &str| all.iter().filter(|(_, t)| t == target).count() == 1;
    let inlinable = |(site, target): &&(String, String)| {
        let Some(name) = target.strip_prefix("#/components/schemas/") else { return false };
        let component = format!("/components/schemas/{name}");
        // Not from inside itself, and an object with properties of its own.
        !site.starts_with(&format!("{component}/"))
            && used_once(target)
            && doc.pointer(&component).is_some_and(|s| s.get("properties").is_some_and(Value::is_object))
    };
    let mut by_bodies_first = all.iter().filter(|(site, _)| site.contains("/requestBody/")).chain(all.iter().filter(|(site, _)| !site.contains("/requestBody/")));
    let (site, target) = by_bodies_first.find(|reference| inlinable(reference)).cloned().ok_or("no component object schema referenced exactly once")?;
    let name = target.trim_start_matches("#/components/schemas/").replace("~1", "/").replace("~0", "~");
    let schema = schemas_mut(doc)?.shift_remove(&name).ok_or("the component vanished")?;
    *doc.pointer_mut(&site).expect("found above") = schema;
    Ok(Touched(vec![site, format!("/components/schemas/{}", escape(&name))]))
}

// ---------------------------------------------------------------------------------------------
// Enums, properties, parameters

fn add_enum_value(doc: &mut Value) -> Result<Touched, String> {
    let schemas = doc.pointer("/components/schemas").and_then(Value::as_object).ok_or("no components/schemas")?;
    let enums: Vec<String> = schemas
        .iter()
        .filter(|(_, s)| s.get("type").and_then(Value::as_str) == Some("string") && s.get("enum").is_some_and(Value::is_array))
        .map(|(n, _)| n.clone())
        .collect();
    let name = prefer(enums, PREFERRED_ENUM).ok_or("no string enum schema")?;
    let pointer = format!("/components/schemas/{}/enum", escape(&name));
    let values = doc.pointer_mut(&pointer).and_then(Value::as_array_mut).expect("filtered above");
    values.push(json!("mutant-value"));
    Ok(Touched(vec![format!("{pointer}/{}", values.len() - 1)]))
}

fn request_schema(doc: &Value) -> Result<String, String> {
    object_schema_with_properties(doc, request_body_schemas(doc), PREFERRED_REQUEST_SCHEMA)
}

fn response_schema(doc: &Value) -> Result<String, String> {
    let requests = request_body_schemas(doc);
    let names = doc.pointer("/components/schemas").and_then(Value::as_object).into_iter().flat_map(|s| s.keys());
    let answers: Vec<String> = names.filter(|n| !requests.contains(n)).cloned().collect();
    object_schema_with_properties(doc, answers, PREFERRED_RESPONSE_SCHEMA)
}

fn add_optional_request_property(doc: &mut Value) -> Result<Touched, String> {
    let name = request_schema(doc)?;
    add_property(doc, &name, "mutantOption", json!({ "type": "string", "description": "A new optional setting." }), false)
}

fn add_required_request_property(doc: &mut Value) -> Result<Touched, String> {
    let name = request_schema(doc)?;
    add_property(doc, &name, "mutantLevel", json!({ "type": "integer" }), true)
}

fn add_optional_response_property(doc: &mut Value) -> Result<Touched, String> {
    let name = response_schema(doc)?;
    add_property(doc, &name, "mutantNote", json!({ "type": "string" }), false)
}

fn add_required_response_property(doc: &mut Value) -> Result<Touched, String> {
    let name = response_schema(doc)?;
    add_property(doc, &name, "mutantCount", json!({ "type": "integer" }), true)
}

fn add_optional_query_parameter(doc: &mut Value) -> Result<Touched, String> {
    add_parameter(doc, json!({ "name": "mutantFilter", "in": "query", "required": false, "schema": { "type": "string" } }))
}

fn add_required_query_parameter(doc: &mut Value) -> Result<Touched, String> {
    add_parameter(doc, json!({ "name": "mutantMode", "in": "query", "required": true, "schema": { "type": "string", "enum": ["a", "b"] } }))
}

fn add_optional_header_parameter(doc: &mut Value) -> Result<Touched, String> {
    add_parameter(doc, json!({ "name": "x-mutant-trace", "in": "header", "required": false, "schema": { "type": "string" } }))
}

/// Defines the properties a `required` list names without defining them, the way upstream
/// fixes such a list (and the way an override that replaced the list goes stale).
fn fix_required_list(doc: &mut Value) -> Result<Touched, String> {
    let schemas = doc.pointer("/components/schemas").and_then(Value::as_object).ok_or("no components/schemas")?;
    let (at, missing) = schemas
        .keys()
        .find_map(|name| {
            let at = own_properties_pointer(doc, name)?;
            let object = doc.pointer(&at)?;
            let properties = object.get("properties")?.as_object()?;
            let missing: Vec<String> = object
                .get("required")?
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .filter(|r| !properties.contains_key(*r))
                .map(str::to_owned)
                .collect();
            (!missing.is_empty()).then_some((at, missing))
        })
        .ok_or("no required list naming an undefined property")?;
    let properties = object_mut_entry(object_mut(doc, &at)?, "properties");
    let mut touched = vec![format!("{at}/required")];
    for name in missing {
        properties.insert(name.clone(), json!({ "type": "string" }));
        touched.push(format!("{at}/properties/{}", escape(&name)));
    }
    Ok(Touched(touched))
}

// ---------------------------------------------------------------------------------------------
// Security schemes

/// Adds a security scheme and a new operation that accepts only it.
fn add_security_scheme(doc: &mut Value, name: &str, scheme: Value, scopes: &[&str]) -> Result<Touched, String> {
    let components = object_mut(doc, "/components")?;
    let schemes = object_mut_entry(components, "securitySchemes");
    if schemes.contains_key(name) {
        return Err(format!("the spec already has a security scheme {name}"));
    }
    schemes.insert(name.into(), scheme);
    let tag = existing_tag(doc).ok_or("no tagged operation to take a tag from")?;
    let path = format!("/api/mutant-auth/{}", name.to_ascii_lowercase());
    let operation = json!({
        "tags": [tag],
        "summary": format!("Needs {name}"),
        "operationId": format!("mutantAuth{name}"),
        "security": [{ name: scopes }],
        "responses": json_answer(json!({ "success": { "type": "boolean" } }), &["success"])
    });
    let mut touched = add_path_operation(doc, &path, "get", operation)?;
    touched.0.push(format!("/components/securitySchemes/{}", escape(name)));
    Ok(touched)
}

fn add_security_api_key_header(doc: &mut Value) -> Result<Touched, String> {
    add_security_scheme(doc, "MutantHeaderKey", json!({ "type": "apiKey", "in": "header", "name": "x-mutant-key" }), &[])
}

fn add_security_api_key_query(doc: &mut Value) -> Result<Touched, String> {
    add_security_scheme(doc, "MutantQueryKey", json!({ "type": "apiKey", "in": "query", "name": "mutant_key" }), &[])
}

fn add_security_api_key_cookie(doc: &mut Value) -> Result<Touched, String> {
    add_security_scheme(doc, "MutantCookieKey", json!({ "type": "apiKey", "in": "cookie", "name": "mutant_session" }), &[])
}

fn add_security_http_bearer(doc: &mut Value) -> Result<Touched, String> {
    add_security_scheme(doc, "MutantBearer", json!({ "type": "http", "scheme": "bearer", "bearerFormat": "JWT" }), &[])
}

fn add_security_http_basic(doc: &mut Value) -> Result<Touched, String> {
    add_security_scheme(doc, "MutantBasic", json!({ "type": "http", "scheme": "basic" }), &[])
}

fn add_security_oauth2(doc: &mut Value) -> Result<Touched, String> {
    add_security_scheme(
        doc,
        "MutantOAuth",
        json!({ "type": "oauth2", "flows": { "authorizationCode": {
            "authorizationUrl": "https://example.com/oauth/authorize",
            "tokenUrl": "https://example.com/oauth/token",
            "scopes": { "projects:read": "Read projects" }
        }}}),
        &["projects:read"],
    )
}

fn add_security_openid_connect(doc: &mut Value) -> Result<Touched, String> {
    add_security_scheme(
        doc,
        "MutantOpenId",
        json!({ "type": "openIdConnect", "openIdConnectUrl": "https://example.com/.well-known/openid-configuration" }),
        &[],
    )
}
