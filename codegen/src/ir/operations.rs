//! Paths and security schemes -> operations grouped by tag.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use indexmap::IndexMap;
use openapiv3::{OpenAPI, Parameter, ParameterSchemaOrContent, ReferenceOr, StatusCode};

use super::examples::Synthesizer;
use super::schemas::{SchemaLowerer, SchemaRef};
use super::{Body, Group, Location, Operation, Param, Response, SecurityScheme, TypeRef};
use crate::diagnostics::{pointer_join, Diagnostic, Rule};
use crate::names::{const_name, type_name, value_name, NameAllocator};
use crate::overrides::{CredentialKind, Overrides};
use crate::Error;

/// Methods the hand-written `Client` has; a tag accessor must not take these names.
/// `default` would read as `Default::default` and trips clippy's `should_implement_trait`.
pub const CLIENT_METHODS: &[&str] = &[
    "new", "builder", "from_env", "request", "base_url", "clone", "fmt", "default", "wait_for_job",
    "wait_for_organization_job", "download", "job_logs", "organization_job_logs", "service_url",
];

/// More positional arguments than this and the required non-path parameters move into a struct.
const MAX_POSITIONAL: usize = 5;

/// The spec's security schemes the client can satisfy, and the names of those it cannot.
pub(super) struct LoweredSecurity {
    pub schemes: Vec<SecurityScheme>,
    pub default_security: Vec<Vec<usize>>,
    /// Schemes the spec defines but the client has no credential for (`http digest`, ...):
    /// requirements naming them are dropped without calling them undefined.
    pub unsupported: BTreeSet<String>,
}

pub(super) fn lower_security_schemes(openapi: &OpenAPI, overrides: &Overrides, diagnostics: &mut Vec<Diagnostic>) -> LoweredSecurity {
    use openapiv3::SecurityScheme as Spec;
    let mut schemes = Vec::new();
    let mut unsupported = BTreeSet::new();
    for (name, scheme) in openapi.components.iter().flat_map(|c| c.security_schemes.iter()) {
        let pointer = pointer_join("#/components/securitySchemes", name);
        let explicit = overrides.credentials.get(name).copied();
        let lowered = match scheme {
            ReferenceOr::Reference { .. } => Err("a `$ref` security scheme is not supported".to_string()),
            ReferenceOr::Item(Spec::APIKey { location, name: param_name, .. }) => {
                let credential = explicit.unwrap_or_else(|| {
                    let guess = if name.to_ascii_lowercase().contains("jwt") { CredentialKind::Jwt } else { CredentialKind::ApiKey };
                    diagnostics.push(Diagnostic::new(Rule::CredentialGuessed, 
                        &pointer,
                        format!("no `credentials` entry in spec/overrides.yaml for this scheme; guessed {guess:?} from its name"),
                    ));
                    guess
                });
                match location {
                    openapiv3::APIKeyLocation::Header => header_name(param_name).map(|header| (Location::Header, header, credential, "")),
                    openapiv3::APIKeyLocation::Cookie => Ok((Location::Cookie, param_name.clone(), credential, "")),
                    openapiv3::APIKeyLocation::Query => Ok((Location::Query, param_name.clone(), credential, "")),
                }
            }
            ReferenceOr::Item(Spec::HTTP { scheme: http, .. }) => match http.to_ascii_lowercase().as_str() {
                "bearer" => Ok((Location::Header, "authorization".into(), explicit.unwrap_or(CredentialKind::Bearer), "Bearer ")),
                "basic" => Ok((Location::Header, "authorization".into(), CredentialKind::Basic, "Basic ")),
                other => Err(format!("HTTP authentication scheme `{other}` is not supported (only `bearer` and `basic`)")),
            },
            // Both end in an access token sent as a bearer token; obtaining it is the user's business.
            ReferenceOr::Item(Spec::OAuth2 { .. } | Spec::OpenIDConnect { .. }) => {
                Ok((Location::Header, "authorization".into(), explicit.unwrap_or(CredentialKind::Bearer), "Bearer "))
            }
        };
        match lowered {
            Ok((location, param_name, credential, prefix)) => schemes.push(SecurityScheme {
                spec_name: name.clone(),
                const_name: const_name(name),
                location,
                param_name,
                credential,
                prefix: prefix.to_string(),
            }),
            Err(why) => {
                diagnostics.push(Diagnostic::new(Rule::UnsupportedSecurityScheme, 
                    pointer,
                    format!("{why}; requirements naming it are dropped (an operation left with none uses the spec's top-level `security`)"),
                ));
                unsupported.insert(name.clone());
            }
        }
    }
    let mut unknown = BTreeMap::new();
    let default_security = openapi
        .security
        .as_ref()
        .map(|requirements| map_requirements(requirements, &schemes, &unsupported, "#/security", &mut unknown))
        .unwrap_or_default();
    report_unknown_schemes(unknown, diagnostics);
    LoweredSecurity { schemes, default_security, unsupported }
}

/// A header name as `http` wants it (lower case), or why it cannot be one.
fn header_name(name: &str) -> Result<String, String> {
    let is_token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(is_token) {
        return Err(format!("`{name}` is not a valid HTTP header name"));
    }
    Ok(name.to_ascii_lowercase())
}

/// Scheme names -> indices; a requirement naming an undefined scheme is dropped (recorded in
/// `unknown` with the place it came from).
fn map_requirements(
    requirements: &[openapiv3::SecurityRequirement],
    schemes: &[SecurityScheme],
    unsupported: &BTreeSet<String>,
    place: &str,
    unknown: &mut BTreeMap<String, Vec<String>>,
) -> Vec<Vec<usize>> {
    let mut mapped = Vec::new();
    'requirement: for requirement in requirements {
        let mut indices = Vec::new();
        for name in requirement.keys() {
            match schemes.iter().position(|s| &s.spec_name == name) {
                Some(i) => indices.push(i),
                None if unsupported.contains(name) => continue 'requirement,
                None => {
                    unknown.entry(name.clone()).or_default().push(place.to_string());
                    continue 'requirement;
                }
            }
        }
        mapped.push(indices);
    }
    mapped
}

fn report_unknown_schemes(unknown: BTreeMap<String, Vec<String>>, diagnostics: &mut Vec<Diagnostic>) {
    for (name, places) in unknown {
        diagnostics.push(Diagnostic::new(Rule::UndefinedSecurityScheme, 
            &places[0],
            format!(
                "security scheme `{name}` is not defined in #/components/securitySchemes ({} requirements); \
                 those requirements are dropped, and an operation left with none uses the spec's top-level `security`",
                places.len()
            ),
        ));
    }
}

struct GroupBuilder {
    group: Group,
    method_names: NameAllocator,
}

pub(super) fn lower_operations<'a>(
    openapi: &'a OpenAPI,
    schemas: &mut SchemaLowerer<'a>,
    examples: &Synthesizer<'_>,
    security: &LoweredSecurity,
) -> Result<Vec<Group>, Error> {
    let LoweredSecurity { schemes, default_security, unsupported } = security;
    let mut groups: IndexMap<String, GroupBuilder> = IndexMap::new();
    let mut unknown_schemes = BTreeMap::new();
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut accessors = NameAllocator::default();
    for reserved in CLIENT_METHODS {
        accessors.reserve(reserved);
    }
    for (path, item) in openapi.paths.iter() {
        let item_pointer = pointer_join("#/paths", path);
        let ReferenceOr::Item(item) = item else {
            return Err(Error { location: item_pointer, message: "`$ref` path items are not supported".into() });
        };
        for (method, operation) in item.iter() {
            let pointer = format!("{item_pointer}/{method}");
            let id = match &operation.operation_id {
                Some(id) => {
                    if let Some(first) = ids.insert(id.clone(), pointer.clone()) {
                        return Err(Error {
                            location: pointer,
                            message: format!("operationId `{id}` is also the id of {first}; operationIds must be unique"),
                        });
                    }
                    id.clone()
                }
                None => {
                    let id = value_name(&format!("{method} {path}"));
                    schemas.diagnostics.push(Diagnostic::new(Rule::MissingOperationId, &pointer, format!("no operationId; named `{id}`")));
                    id
                }
            };
            let tag = operation.tags.first().cloned().unwrap_or_else(|| "default".to_string());
            if !groups.contains_key(&tag) {
                let (module, collided) = accessors.allocate(&value_name(&tag));
                let module = if collided { format!("{}_api", value_name(&tag)) } else { module };
                let struct_name = schemas.allocate_type_name(&format!("{}Api", type_name(&tag)), &pointer);
                let description = openapi.tags.iter().find(|t| t.name == tag).and_then(|t| t.description.clone());
                groups.insert(
                    tag.clone(),
                    GroupBuilder {
                        group: Group { tag: tag.clone(), description, module, struct_name, operations: Vec::new() },
                        method_names: NameAllocator::default(),
                    },
                );
            }
            let type_base = type_name(&id);
            let params = lower_params(openapi, schemas, examples, path, &item.parameters, &operation.parameters, &type_base, &pointer)?;
            let body = lower_body(openapi, schemas, examples, operation.request_body.as_ref(), &type_base, &pointer)?;
            let response = lower_response(openapi, schemas, &operation.responses, &type_base, &pointer)?;
            let security = match &operation.security {
                None => default_security.to_vec(),
                Some(requirements) if requirements.is_empty() => Vec::new(),
                Some(requirements) => {
                    let mapped = map_requirements(requirements, schemes, unsupported, &format!("{pointer}/security"), &mut unknown_schemes);
                    if mapped.is_empty() { default_security.to_vec() } else { mapped }
                }
            };
            let positional = params.iter().filter(|p| p.required).count() + usize::from(body.as_ref().is_some_and(Body::required));
            let required_params_struct = (positional > MAX_POSITIONAL)
                .then(|| schemas.allocate_type_name(&format!("{type_base}Params"), &pointer));
            let has_options = params.iter().any(|p| !p.required) || body.as_ref().is_some_and(|b| !b.required());
            let builder = has_options.then(|| schemas.allocate_type_name(&format!("{type_base}Call"), &pointer));
            let body_alias = matches!(body, Some(Body::Json { .. } | Body::Multipart { .. }))
                .then(|| schemas.allocate_type_name(&format!("{type_base}Body"), &pointer));
            let group = &mut groups[&tag];
            let (method_name, collided) = group.method_names.allocate(&value_name(&id));
            if collided {
                schemas.diagnostics.push(Diagnostic::new(Rule::MethodNameTaken, &pointer, format!("method name for `{id}` is taken; named `{method_name}`")));
            }
            group.group.operations.push(Operation {
                id,
                method_name,
                http_method: method.to_ascii_uppercase(),
                path: path.clone(),
                pointer,
                summary: operation.summary.clone(),
                description: operation.description.clone(),
                internal: operation.extensions.get("x-internal-api").and_then(|v| v.as_bool()).unwrap_or(false),
                deprecated: operation.deprecated,
                params,
                body,
                response,
                security,
                required_params_struct,
                builder,
                body_alias,
                pagination: None,
            });
        }
    }
    report_unknown_schemes(unknown_schemes, schemas.diagnostics);
    let mut groups: Vec<Group> = groups.into_values().map(|g| g.group).collect();
    groups.sort_by(|a, b| a.module.cmp(&b.module));
    Ok(groups)
}

fn resolve_component<'a, T>(
    reference: &str,
    kind: &str,
    components: Option<&'a IndexMap<String, ReferenceOr<T>>>,
    pointer: &str,
) -> Result<(String, &'a T), Error> {
    let prefix = format!("#/components/{kind}/");
    let target = reference
        .strip_prefix(&prefix)
        .and_then(|name| components?.get(name).map(|t| (name, t)));
    match target {
        Some((name, ReferenceOr::Item(item))) => Ok((pointer_join(&format!("#/components/{kind}"), name), item)),
        _ => Err(Error { location: pointer.to_string(), message: format!("`$ref: {reference}` does not point at an entry of #/components/{kind}") }),
    }
}

#[allow(clippy::too_many_arguments)]
fn lower_params<'a>(
    openapi: &'a OpenAPI,
    schemas: &mut SchemaLowerer<'a>,
    examples: &Synthesizer<'_>,
    path: &str,
    item_params: &'a [ReferenceOr<Parameter>],
    operation_params: &'a [ReferenceOr<Parameter>],
    type_base: &str,
    pointer: &str,
) -> Result<Vec<Param>, Error> {
    let mut resolved: Vec<(String, &'a Parameter)> = Vec::new();
    let item_pointer = pointer.rsplit_once('/').map_or(pointer, |(p, _)| p);
    let all = item_params.iter().enumerate().map(|(i, p)| (format!("{item_pointer}/parameters/{i}"), p));
    let all = all.chain(operation_params.iter().enumerate().map(|(i, p)| (format!("{pointer}/parameters/{i}"), p)));
    for (param_pointer, param) in all {
        let (param_pointer, param) = match param {
            ReferenceOr::Item(p) => (param_pointer, p),
            ReferenceOr::Reference { reference } => resolve_component(
                reference,
                "parameters",
                openapi.components.as_ref().map(|c| &c.parameters),
                &param_pointer,
            )?,
        };
        let data = param.parameter_data_ref();
        // An operation's parameter replaces a path item's one of the same name and location.
        resolved.retain(|(_, p)| !(p.parameter_data_ref().name == data.name && location_of(p) == location_of(param)));
        resolved.push((param_pointer, param));
    }
    let mut names = NameAllocator::default();
    names.reserve("body");
    names.reserve("params");
    let mut params = Vec::new();
    for (param_pointer, param) in &resolved {
        let data = param.parameter_data_ref();
        let location = location_of(param);
        let hint = match param_pointer.strip_prefix("#/components/parameters/") {
            Some(component) => {
                let base = type_name(component);
                base.strip_suffix("Parameter").filter(|b| !b.is_empty()).map(str::to_string).unwrap_or(base)
            }
            None => format!("{type_base}{}", type_name(&data.name)),
        };
        let example = match &data.format {
            ParameterSchemaOrContent::Schema(_) => examples.example_at(&format!("{param_pointer}/schema")),
            ParameterSchemaOrContent::Content(_) => None,
        };
        let ty = match &data.format {
            ParameterSchemaOrContent::Schema(schema) => {
                let ty = schemas.lower(SchemaRef::from(schema), &hint, &format!("{param_pointer}/schema"))?;
                if is_param_type(&ty, schemas) {
                    ty
                } else {
                    schemas.diagnostics.push(Diagnostic::new(Rule::ComplexParameter, 
                        param_pointer.as_str(),
                        "parameter schema is not a scalar, an enum or a list of them; taken as a string",
                    ));
                    TypeRef::String
                }
            }
            ParameterSchemaOrContent::Content(_) => {
                schemas.diagnostics.push(Diagnostic::new(Rule::ParameterContent, param_pointer.as_str(), "parameter with `content` taken as a string"));
                TypeRef::String
            }
        };
        let (name, _) = names.allocate(&value_name(&data.name));
        let required = data.required || location == Location::Path;
        let url_encoded = data.extensions.get("x-url-encode").and_then(|v| v.as_bool()).unwrap_or(false);
        params.push(Param { wire: data.name.clone(), name, location, ty, required, doc: data.description.clone(), example, url_encoded });
    }
    // Path parameters in path order, so positional arguments read like the URL.
    let position = |p: &Param| path.find(&format!("{{{}}}", p.wire));
    for placeholder in path.split('{').skip(1).filter_map(|rest| rest.split_once('}')).map(|(name, _)| name) {
        if !params.iter().any(|p| p.location == Location::Path && p.wire == placeholder) {
            schemas.diagnostics.push(Diagnostic::new(Rule::UndeclaredPathParameter, 
                pointer,
                format!("path names `{{{placeholder}}}` but declares no such path parameter; added as a string argument"),
            ));
            let (name, _) = names.allocate(&value_name(placeholder));
            let example = Some(super::Example { value: serde_json::Value::String(placeholder.to_string()), required: Vec::new() });
            params.push(Param {
                wire: placeholder.to_string(),
                name,
                location: Location::Path,
                ty: TypeRef::String,
                required: true,
                doc: None,
                example,
                url_encoded: false,
            });
        }
    }
    params.sort_by_key(|p| (p.location != Location::Path, if p.location == Location::Path { position(p) } else { None }));
    Ok(params)
}

fn location_of(p: &Parameter) -> Location {
    match p {
        Parameter::Query { .. } => Location::Query,
        Parameter::Header { .. } => Location::Header,
        Parameter::Path { .. } => Location::Path,
        Parameter::Cookie { .. } => Location::Cookie,
    }
}

/// Parameters travel as text: scalars, enums, and lists of them (repeated query keys).
fn is_param_type(ty: &TypeRef, schemas: &SchemaLowerer<'_>) -> bool {
    match ty {
        TypeRef::Bool | TypeRef::I32 | TypeRef::I64 | TypeRef::F64 | TypeRef::String | TypeRef::DateTime | TypeRef::Date => true,
        TypeRef::Named(name) => schemas.is_string_enum(name),
        TypeRef::Vec(inner) => !matches!(**inner, TypeRef::Vec(_)) && is_param_type(inner, schemas),
        _ => false,
    }
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence == "application/json" || essence.ends_with("+json")
}

fn lower_body<'a>(
    openapi: &'a OpenAPI,
    schemas: &mut SchemaLowerer<'a>,
    examples: &Synthesizer<'_>,
    body: Option<&'a ReferenceOr<openapiv3::RequestBody>>,
    type_base: &str,
    pointer: &str,
) -> Result<Option<Body>, Error> {
    let Some(body) = body else { return Ok(None) };
    let body_pointer = format!("{pointer}/requestBody");
    let (body_pointer, body) = match body {
        ReferenceOr::Item(b) => (body_pointer, b),
        ReferenceOr::Reference { reference } => {
            resolve_component(reference, "requestBodies", openapi.components.as_ref().map(|c| &c.request_bodies), &body_pointer)?
        }
    };
    let required = body.required;
    let pick = |want: &dyn Fn(&str) -> bool| body.content.iter().find(|(ct, _)| want(ct));
    let content_pointer = |ct: &str| pointer_join(&format!("{body_pointer}/content"), ct) + "/schema";
    // A body that may also be sent as another (non-form) type, such as JSON or CBOR of one
    // document, is bytes the caller encodes: a typed JSON body could only ever be JSON.
    let raw_types: Vec<String> = body.content.keys().filter(|ct| !ct.starts_with("multipart/form-data")).cloned().collect();
    if raw_types.len() > 1 && raw_types.iter().any(|ct| !is_json(ct)) {
        return Ok(Some(Body::Raw { content_types: raw_types, required }));
    }
    if let Some((ct, media)) = pick(&|ct| is_json(ct)) {
        let (ty, example) = match &media.schema {
            Some(schema) => {
                let pointer = content_pointer(ct);
                (schemas.lower(schema.into(), &format!("{type_base}Request"), &pointer)?, examples.body_example_at(&pointer))
            }
            None => (TypeRef::Json, None),
        };
        return Ok(Some(Body::Json { ty, required, example }));
    }
    if let Some((ct, media)) = pick(&|ct| ct.starts_with("multipart/form-data")) {
        let Some(schema) = &media.schema else {
            return Err(Error { location: content_pointer(ct), message: "multipart body without a schema".into() });
        };
        let ty = schemas.lower_multipart_body(schema.into(), &format!("{type_base}Form"), &content_pointer(ct))?;
        let example = examples.body_example_at(&content_pointer(ct));
        return Ok(Some(Body::Multipart { ty, required, example }));
    }
    match body.content.keys().next() {
        Some(ct) => Ok(Some(Body::Raw { content_types: vec![ct.clone()], required })),
        None => {
            schemas.diagnostics.push(Diagnostic::new(Rule::BodyWithoutContentType, body_pointer, "request body lists no content type; operation generated without a body"));
            Ok(None)
        }
    }
}

fn lower_response<'a>(
    openapi: &'a OpenAPI,
    schemas: &mut SchemaLowerer<'a>,
    responses: &'a openapiv3::Responses,
    type_base: &str,
    pointer: &str,
) -> Result<Response, Error> {
    let code_of = |status: &StatusCode| match status {
        StatusCode::Code(code) => *code,
        StatusCode::Range(range) => range * 100,
    };
    let mut codes: Vec<_> = responses.responses.iter().collect();
    codes.sort_by_key(|(status, _)| code_of(status));
    let success = codes.iter().find(|(status, _)| (200..300).contains(&code_of(status)));
    let Some((status, response)) = success else {
        if codes.iter().any(|(status, _)| (300..400).contains(&code_of(status))) {
            return Ok(Response::Redirect);
        }
        schemas.diagnostics.push(Diagnostic::new(Rule::NoSuccessResponse, format!("{pointer}/responses"), "no 2xx or 3xx response; the body is ignored"));
        return Ok(Response::Empty);
    };
    let response_pointer = format!("{pointer}/responses/{status}");
    let (response_pointer, response) = match response {
        ReferenceOr::Item(r) => (response_pointer, r),
        ReferenceOr::Reference { reference } => {
            resolve_component(reference, "responses", openapi.components.as_ref().map(|c| &c.responses), &response_pointer)?
        }
    };
    if let Some((ct, media)) = response.content.iter().find(|(ct, _)| is_json(ct)) {
        let schema_pointer = pointer_join(&format!("{response_pointer}/content"), ct) + "/schema";
        return Ok(Response::Json(match &media.schema {
            Some(schema) => schemas.lower(schema.into(), &format!("{type_base}Response"), &schema_pointer)?,
            None => TypeRef::Json,
        }));
    }
    if response.content.is_empty() {
        return Ok(Response::Empty);
    }
    Ok(Response::Binary(response.content.keys().cloned().collect()))
}
