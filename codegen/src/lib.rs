//! The Edge Impulse API code generator as a library.
//!
//! The pipeline is three steps, one module each:
//!
//! 1. [`load`]: raw spec bytes (plus the overrides from `spec/`) -> a repaired, patched
//!    [`openapiv3::OpenAPI`], reporting every repair as a [`Diagnostic`];
//! 2. [`ir`]: the spec -> a normalised intermediate representation in which every type has
//!    its final Rust name and every operation its typed parameters, body, response and auth;
//! 3. [`emit`]: the IR -> formatted Rust source files.
//!
//! [`diff`] compares two specs taken as far as the IR ([`lower_spec`]): the changelog of a
//! new upstream version, in the generated crate's names.
//!
//! Nothing here touches the file system, prints or exits: [`generate`] returns the files and
//! the diagnostics, and the `xtask` front-end decides what to do with them.

pub mod diagnostics;
pub mod diff;
pub mod emit;
pub mod ir;
pub mod load;
pub mod names;
pub mod overrides;
pub mod service;

pub use diagnostics::{Diagnostic, Rule, Severity};
pub use emit::GeneratedFile;
pub use overrides::Overrides;
pub use service::{Endpoint, RuntimeTypes, Service};

/// Everything one generator run produces.
#[derive(Debug)]
pub struct Output {
    /// Files relative to the generated crate's root (`src/generated/...`), in a stable order.
    pub files: Vec<GeneratedFile>,
    /// What the generator repaired, guessed or skipped, in the order it met them.
    pub diagnostics: Vec<Diagnostic>,
    /// Operations and schemas of all services.
    pub operation_count: usize,
    pub schema_count: usize,
    /// Each service's name, operation count and schema count, in order.
    pub services: Vec<(String, usize, usize)>,
    /// Wall time of each pipeline step, for `cargo xtask bench`.
    pub timings: Vec<(&'static str, std::time::Duration)>,
}

/// A spec that cannot be turned into code at all.
#[derive(Debug)]
pub struct Error {
    /// Where: the spec file's name plus a line/column or a JSON pointer.
    pub location: String,
    pub message: String,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

impl std::error::Error for Error {}

/// Runs the whole pipeline on one spec.
///
/// `spec_name` is only used to say where a problem is.
pub fn generate(spec_name: &str, spec: &[u8], overrides: &Overrides) -> Result<Output, Error> {
    generate_services(&[ServiceSpec { service: Service::single(), spec_name, spec, overrides }])
}

/// One service's spec, for [`generate_services`].
#[derive(Debug, Clone)]
pub struct ServiceSpec<'a> {
    pub service: Service,
    /// Used only to say where a problem is.
    pub spec_name: &'a str,
    pub spec: &'a [u8],
    pub overrides: &'a Overrides,
}

/// Runs the whole pipeline on several services' specs, generating one crate: the first service
/// at the generated root, each other one in its own module (see [`Service`]).
pub fn generate_services(specs: &[ServiceSpec<'_>]) -> Result<Output, Error> {
    check_services(specs)?;
    let mut diagnostics = Vec::new();
    let mut timings: Vec<(&'static str, std::time::Duration)> = vec![("load", Default::default()), ("lower", Default::default())];
    let mut apis = Vec::new();
    let mut services = Vec::new();
    for spec in specs {
        let clock = std::time::Instant::now();
        let loaded = load::load(spec.spec_name, spec.spec, spec.overrides, &mut diagnostics)?;
        timings[0].1 += clock.elapsed();
        let clock = std::time::Instant::now();
        let api = ir::lower(&loaded.openapi, &loaded.document, spec.overrides, &mut diagnostics)?.with_service(spec.service.clone())?;
        timings[1].1 += clock.elapsed();
        let schemas = loaded.openapi.components.as_ref().map_or(0, |c| c.schemas.len());
        services.push((spec.service.name.clone(), api.operation_count(), schemas));
        apis.push(api);
    }
    check_accessors(&apis, specs)?;
    let clock = std::time::Instant::now();
    let files = emit::emit_services(&apis.iter().collect::<Vec<_>>())?;
    timings.push(("emit", clock.elapsed()));
    say_each_once(&mut diagnostics);
    Ok(Output {
        files,
        diagnostics,
        operation_count: services.iter().map(|s| s.1).sum(),
        schema_count: services.iter().map(|s| s.2).sum(),
        services,
        timings,
    })
}

/// The services' settings must give distinct places in one crate.
fn check_services(specs: &[ServiceSpec<'_>]) -> Result<(), Error> {
    let error = |spec: &ServiceSpec<'_>, message: String| Error { location: format!("{} (service `{}`)", spec.spec_name, spec.service.name), message };
    let Some(first) = specs.first() else {
        return Err(Error { location: "services".into(), message: "no service to generate".into() });
    };
    if first.service.module.is_some() {
        return Err(error(first, "the first (primary) service is the generated root: it has no `module`".into()));
    }
    let mut names = std::collections::HashSet::new();
    let mut modules = std::collections::HashSet::new();
    for spec in specs {
        if !names.insert(names::const_name(&spec.service.name)) {
            return Err(error(spec, "another service has the same name".into()));
        }
        if std::ptr::eq(spec, first) {
            continue;
        }
        let Some(module) = &spec.service.module else {
            return Err(error(spec, "every service but the first needs a `module` of its own".into()));
        };
        if names::value_name(module) != *module || ["apis", "models", "services"].contains(&module.as_str()) || !modules.insert(module.clone()) {
            return Err(error(spec, format!("module `{module}` is not a free snake_case name (apis, models, services and other services' modules are taken)")));
        }
    }
    Ok(())
}

/// Every service's groups get accessors on the one `Client`, and its features sit in one
/// `[features]` table: neither may take a name another service has.
fn check_accessors(apis: &[ir::Api], specs: &[ServiceSpec<'_>]) -> Result<(), Error> {
    let mut accessors: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    let mut features: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for (api, spec) in apis.iter().zip(specs) {
        let name = spec.service.name.as_str();
        for group in &api.groups {
            let clash = |what: &str, other: &str| Error {
                location: format!("{} (service `{name}`)", spec.spec_name),
                message: format!("{what} of tag `{}` is also one of service `{other}`; give this service a `module` and `feature` that do not collide", group.tag),
            };
            if let Some(other) = accessors.insert(&group.module, name).filter(|other| *other != name) {
                return Err(clash(&format!("the accessor `Client::{}`", group.module), other));
            }
            let feature = api.feature_of(group);
            if let Some(other) = features.insert(feature.clone(), name).filter(|other| *other != name) {
                return Err(clash(&format!("the cargo feature `{feature}`"), other));
            }
        }
    }
    Ok(())
}

/// A spec taken through steps 1 and 2 only: what [`diff`] compares.
#[derive(Debug)]
pub struct Lowered {
    /// The spec in the generator's terms: final Rust names and shapes.
    pub api: ir::Api,
    /// The document after repairs and overrides: its docs, examples and constraints are not
    /// in the IR, and `spec-diff` reports their changes as neutral.
    pub document: serde_json::Value,
    /// What loading and lowering repaired, guessed or skipped.
    pub diagnostics: Vec<Diagnostic>,
}

/// Loads and lowers one spec without emitting code.
///
/// `spec_name` is only used to say where a problem is.
pub fn lower_spec(spec_name: &str, spec: &[u8], overrides: &Overrides) -> Result<Lowered, Error> {
    let mut diagnostics = Vec::new();
    let loaded = load::load(spec_name, spec, overrides, &mut diagnostics)?;
    let api = ir::lower(&loaded.openapi, &loaded.document, overrides, &mut diagnostics)?;
    say_each_once(&mut diagnostics);
    Ok(Lowered { api, document: loaded.document, diagnostics })
}

/// The same schema can be reached twice (through `allOf` merges): say each thing once.
fn say_each_once(diagnostics: &mut Vec<Diagnostic>) {
    let mut seen = std::collections::HashSet::new();
    diagnostics.retain(|d| seen.insert(d.clone()));
}
