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

pub use diagnostics::{Diagnostic, Rule, Severity};
pub use emit::GeneratedFile;
pub use overrides::Overrides;

/// Everything one generator run produces.
#[derive(Debug)]
pub struct Output {
    /// Files relative to the generated crate's root (`src/generated/...`), in a stable order.
    pub files: Vec<GeneratedFile>,
    /// What the generator repaired, guessed or skipped, in the order it met them.
    pub diagnostics: Vec<Diagnostic>,
    pub operation_count: usize,
    pub schema_count: usize,
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
    let mut diagnostics = Vec::new();
    let mut timings = Vec::new();
    let mut clock = std::time::Instant::now();
    let mut lap = |step: &'static str| {
        timings.push((step, clock.elapsed()));
        clock = std::time::Instant::now();
    };
    let loaded = load::load(spec_name, spec, overrides, &mut diagnostics)?;
    lap("load");
    let api = ir::lower(&loaded.openapi, &loaded.document, overrides, &mut diagnostics)?;
    lap("lower");
    let files = emit::emit(&api)?;
    lap("emit");
    say_each_once(&mut diagnostics);
    Ok(Output {
        files,
        diagnostics,
        operation_count: api.operation_count(),
        schema_count: loaded.openapi.components.as_ref().map_or(0, |c| c.schemas.len()),
        timings,
    })
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
