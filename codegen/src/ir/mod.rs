//! Step 2: the normalised intermediate representation.
//!
//! Every name here is final Rust; every spec quirk is resolved. The emitter only prints.
//! Each type and operation keeps the JSON pointer it came from, so a reader of the generated
//! code can find its source in one step.

pub(crate) mod examples;
mod features;
mod operations;
mod pagination;
mod schemas;

use serde_json::Value;

pub use features::{feature_name, features_table, Features, FULL};
pub(crate) use features::visit_types;

use crate::diagnostics::{Diagnostic, Rule};
pub use crate::overrides::CredentialKind;
use crate::overrides::Overrides;
use crate::service::Service;
use crate::Error;

#[derive(Debug, Clone)]
pub struct Api {
    pub title: String,
    pub version: String,
    /// The first `servers` entry, the default base URL.
    pub base_url: String,
    pub schemes: Vec<SecurityScheme>,
    /// The spec's top-level `security`: alternatives, each a set of scheme indices.
    pub default_security: Vec<Vec<usize>>,
    /// All named types, sorted by name.
    pub types: Vec<TypeDef>,
    /// Operations grouped by tag, sorted by module name.
    pub groups: Vec<Group>,
    /// Property names whose values are secrets (from the overrides), sorted: the runtime
    /// also blanks them in the body excerpts it puts into errors.
    pub secret_properties: Vec<String>,
    /// Which types belong to one group's cargo feature; the rest are shared.
    pub features: Features,
    /// The service this spec describes: its module, feature and endpoint convention
    /// ([`Service::single`] until the caller says otherwise).
    pub service: Service,
}

impl Api {
    pub fn operation_count(&self) -> usize {
        self.groups.iter().map(|g| g.operations.len()).sum()
    }

    /// The API as the given service of a crate: its features are computed anew, with the
    /// service's feature names and the types its runtime names.
    pub fn with_service(mut self, service: Service) -> Result<Api, Error> {
        self.features = Features::compute(&self.types, &self.groups, &service)?;
        self.service = service;
        Ok(self)
    }

    /// The cargo feature that gates a group: the service's one feature, else the group's own.
    pub fn feature_of(&self, group: &Group) -> String {
        features::group_feature(&self.service, group)
    }
}

#[derive(Debug, Clone)]
pub struct SecurityScheme {
    pub spec_name: String,
    pub const_name: String,
    pub location: Location,
    /// Header (lower case), cookie or query parameter name that carries the credential.
    pub param_name: String,
    pub credential: CredentialKind,
    /// Written before the credential: `Bearer ` and `Basic ` for the `Authorization` header.
    pub prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Path,
    Query,
    Header,
    Cookie,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TypeRef {
    Bool,
    I32,
    I64,
    F64,
    String,
    /// A string that must not show in `Debug` (API keys, passwords, tokens).
    Secret,
    DateTime,
    Date,
    /// Any JSON value.
    Json,
    /// A JSON object with no declared properties.
    JsonObject,
    /// A file part of a multipart body.
    File,
    Named(String),
    Vec(Box<TypeRef>),
    Map(Box<TypeRef>),
    /// A nullable element of a list or map.
    Nullable(Box<TypeRef>),
}

impl TypeRef {
    /// The type this one stands for once named aliases are followed (`Expiry` -> `Moment` ->
    /// `DateTime`): itself unless it names an alias in `index`. Bounded, so an alias cycle
    /// (which lowering rejects) cannot loop.
    pub fn through_aliases<'a>(&'a self, index: &std::collections::HashMap<&str, &'a TypeDef>) -> &'a TypeRef {
        let mut ty = self;
        for _ in 0..=index.len() {
            match ty {
                TypeRef::Named(name) => match index.get(name.as_str()).map(|t| &t.kind) {
                    Some(TypeKind::Alias(target)) => ty = target,
                    _ => break,
                },
                _ => break,
            }
        }
        ty
    }
}

#[derive(Debug, Clone)]
pub struct TypeDef {
    pub name: String,
    /// JSON pointer of the schema this type comes from.
    pub pointer: String,
    pub doc: Option<String>,
    pub kind: TypeKind,
}

#[derive(Debug, Clone)]
pub enum TypeKind {
    Struct {
        fields: Vec<Field>,
        /// `additionalProperties` next to declared properties.
        additional: Option<TypeRef>,
        /// The field names (Rust) of the `{success, error}` envelope, when the struct has one.
        envelope: Option<(String, Option<String>)>,
    },
    /// A string enum; unknown values decode into the `catch_all` variant.
    Enum { variants: Vec<EnumVariant>, catch_all: String },
    /// `oneOf`/`anyOf` without a usable discriminator: the first variant that decodes wins,
    /// so variants are ordered richest first.
    Untagged { variants: Vec<Variant> },
    /// `oneOf` with a discriminator: the tag property selects the variant.
    Tagged { property: String, variants: Vec<TaggedVariant> },
    Alias(TypeRef),
    /// The fields of a `multipart/form-data` body.
    Multipart { fields: Vec<Field> },
}

impl TypeKind {
    /// The type references this definition holds directly (fields, then the additional
    /// properties; variants; an alias's target): what walks over the type graph follow.
    pub fn children(&self) -> Vec<&TypeRef> {
        match self {
            TypeKind::Struct { fields, additional, .. } => fields.iter().map(|f| &f.ty).chain(additional).collect(),
            TypeKind::Multipart { fields } => fields.iter().map(|f| &f.ty).collect(),
            TypeKind::Untagged { variants } => variants.iter().map(|v| &v.ty).collect(),
            TypeKind::Tagged { variants, .. } => variants.iter().map(|v| &v.ty).collect(),
            TypeKind::Alias(target) => vec![target],
            TypeKind::Enum { .. } => Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct EnumVariant {
    pub name: String,
    pub wire: String,
}

#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub ty: TypeRef,
}

#[derive(Debug, Clone)]
pub struct TaggedVariant {
    pub name: String,
    pub tag: String,
    pub ty: TypeRef,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub wire: String,
    pub name: String,
    pub ty: TypeRef,
    pub required: bool,
    pub nullable: bool,
    pub doc: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub tag: String,
    pub description: Option<String>,
    /// Module file name and accessor method (`raw_data`).
    pub module: String,
    /// The API group struct (`RawDataApi`).
    pub struct_name: String,
    pub operations: Vec<Operation>,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    pub method_name: String,
    /// Upper-case HTTP method.
    pub http_method: String,
    pub path: String,
    pub pointer: String,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub internal: bool,
    pub deprecated: bool,
    /// Path parameters in the order they appear in the path, then the others.
    pub params: Vec<Param>,
    pub body: Option<Body>,
    pub response: Response,
    /// Alternatives, each a set of scheme indices; empty: send no credentials.
    pub security: Vec<Vec<usize>>,
    /// When more than five arguments would be positional, the required non-path parameters
    /// travel in this struct instead.
    pub required_params_struct: Option<String>,
    /// The request type returned when the operation has optional parameters (or pages).
    pub builder: Option<String>,
    /// A name for the type of a JSON or multipart body, named after the operation: it stays
    /// when upstream renames the body's schema or moves it inline or into a component, so
    /// code that builds the body (the runtime's login) does not depend on where it sits.
    pub body_alias: Option<String>,
    /// Set when the operation lists items a page at a time (see `pagination`).
    pub pagination: Option<Pagination>,
}

/// How a list operation pages: the request parameters that choose the page and the parts of
/// the answer that tell what a page holds.
#[derive(Debug, Clone)]
pub struct Pagination {
    /// Wire name of the page-size query parameter (`limit`).
    pub limit_param: String,
    /// Wire name of the position query parameter (`offset`), counted in items.
    pub offset_param: String,
    /// The answer's one array: the items of the page.
    pub items: Field,
    /// The answer's count of all items, when it has one.
    pub total: Option<Field>,
}

impl Operation {
    pub fn positional_params(&self) -> impl Iterator<Item = &Param> {
        self.params.iter().filter(|p| p.required && (p.location == Location::Path || self.required_params_struct.is_none()))
    }

    pub fn grouped_params(&self) -> impl Iterator<Item = &Param> {
        self.params
            .iter()
            .filter(|p| p.required && p.location != Location::Path && self.required_params_struct.is_some())
    }

    pub fn optional_params(&self) -> impl Iterator<Item = &Param> {
        self.params.iter().filter(|p| !p.required)
    }
}

#[derive(Debug, Clone)]
pub struct Param {
    pub wire: String,
    pub name: String,
    pub location: Location,
    pub ty: TypeRef,
    pub required: bool,
    pub doc: Option<String>,
    /// A valid value, for tests that call the operation.
    pub example: Option<Example>,
    /// Sent percent-encoded as JavaScript's `encodeURIComponent` does (the parameter's
    /// `x-url-encode: true`): a header that carries any text, non-ASCII included.
    pub url_encoded: bool,
}

#[derive(Debug, Clone)]
pub enum Body {
    Json { ty: TypeRef, required: bool, example: Option<Example> },
    Multipart { ty: TypeRef, required: bool, example: Option<Example> },
    /// Any other content type: raw bytes sent as they are. With several types (JSON and CBOR
    /// of one document), the caller says which the bytes are.
    Raw { content_types: Vec<String>, required: bool },
}

/// A value that satisfies a schema: the spec's example where it validates, else one built
/// from the schema's type, format and constraints.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub value: Value,
    /// The properties an object value must have, so a test can make an invalid one.
    pub required: Vec<String>,
}

impl Body {
    pub fn required(&self) -> bool {
        match self {
            Body::Json { required, .. } | Body::Multipart { required, .. } | Body::Raw { required, .. } => *required,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Response {
    Json(TypeRef),
    Empty,
    /// Streamed to the caller; the content types the spec lists.
    Binary(Vec<String>),
    /// A `3xx` whose target is returned instead of followed.
    Redirect,
}

/// Lowers a loaded spec into the IR.
pub fn lower(
    openapi: &openapiv3::OpenAPI,
    document: &Value,
    overrides: &Overrides,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Api, Error> {
    let mut schemas = schemas::SchemaLowerer::new(openapi, document, overrides, diagnostics);
    schemas.lower_components()?;
    let security = operations::lower_security_schemes(openapi, overrides, schemas.diagnostics);
    let examples = examples::Synthesizer::new(document);
    let mut groups = operations::lower_operations(openapi, &mut schemas, &examples, &security)?;
    pagination::mark_paged_operations(&mut groups, &mut schemas);
    let operations::LoweredSecurity { schemes, default_security, .. } = security;
    let mut types = schemas.finish();
    binary_outside_forms_as_strings(&mut types, &mut groups, diagnostics);
    let features = Features::compute(&types, &groups, &Service::single())?;
    Ok(Api {
        title: openapi.info.title.clone(),
        version: openapi.info.version.clone(),
        base_url: openapi.servers.first().map(|s| s.url.clone()).unwrap_or_default(),
        schemes,
        default_security,
        types,
        groups,
        secret_properties: {
            let mut names = overrides.secret_properties.clone();
            names.sort();
            names.dedup();
            names
        },
        features,
        service: Service::single(),
    })
}

/// `format: binary` is a file only as a field of a `multipart/form-data` body (or a list of
/// them); anywhere else, in JSON, it can only be a string (base64 or text). Without this rule a
/// schema no operation uses, or a JSON body with such a property, would hold a file part that
/// cannot be serialised, decoded or compared.
fn binary_outside_forms_as_strings(types: &mut [TypeDef], groups: &mut [Group], diagnostics: &mut Vec<Diagnostic>) {
    fn replace(ty: &mut TypeRef) -> bool {
        match ty {
            TypeRef::File => {
                *ty = TypeRef::String;
                true
            }
            TypeRef::Vec(inner) | TypeRef::Map(inner) | TypeRef::Nullable(inner) => replace(inner),
            _ => false,
        }
    }
    for t in types.iter_mut() {
        let replaced = match &mut t.kind {
            TypeKind::Struct { fields, additional, .. } => {
                fields.iter_mut().fold(false, |any, f| replace(&mut f.ty) | any) | additional.as_mut().is_some_and(replace)
            }
            TypeKind::Multipart { fields } => fields.iter_mut().fold(false, |any, f| match &mut f.ty {
                TypeRef::File => any,
                TypeRef::Vec(inner) if **inner == TypeRef::File => any,
                ty => replace(ty) | any,
            }),
            TypeKind::Untagged { variants } => variants.iter_mut().fold(false, |any, v| replace(&mut v.ty) | any),
            TypeKind::Tagged { variants, .. } => variants.iter_mut().fold(false, |any, v| replace(&mut v.ty) | any),
            TypeKind::Alias(target) => replace(target),
            TypeKind::Enum { .. } => false,
        };
        if replaced {
            diagnostics.push(Diagnostic::new(Rule::BinaryAsString, &t.pointer, "`format: binary` outside a multipart form is generated as a string"));
        }
    }
    for op in groups.iter_mut().flat_map(|g| g.operations.iter_mut()) {
        let body = match &mut op.body {
            Some(Body::Json { ty, .. }) => replace(ty),
            _ => false,
        };
        let response = match &mut op.response {
            Response::Json(ty) => replace(ty),
            _ => false,
        };
        if body || response {
            diagnostics.push(Diagnostic::new(Rule::BinaryAsString, &op.pointer, "`format: binary` in a JSON body or answer is generated as a string"));
        }
    }
}
