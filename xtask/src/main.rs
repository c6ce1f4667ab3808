//! `cargo xtask ...`: the generator's command line.
//!
//! - `cargo xtask regen [--spec PATH] [--check] [--strict] [--verbose]` regenerates
//!   `edge-impulse-api/src/generated/`, or with `--check` only reports which generated files
//!   are stale. It prints one line per diagnostic rule (count, first location); `--verbose`
//!   lists every location.
//! - `cargo xtask bench regen|compile` prints the generator's time, or the generated crate's
//!   compile time and memory (see `compile.rs`).
//! - `cargo xtask spec normalize [--spec PATH] --out FILE` writes the spec as the generator
//!   reads it (repaired and patched) as JSON, for tools such as a mock server.
//! - `cargo xtask test [--spec PATH] [-- CARGO_TEST_ARGS]` runs every test, the conformance
//!   suite against Prism included (see `conformance.rs`).
//! - `cargo xtask spec-diff [OLD] NEW` prints the changelog between two specs (see
//!   `spec_diff.rs`).
//! - `cargo xtask fetch-spec [--url URL] [--latest]` downloads the pinned spec, or with
//!   `--latest` the current one, re-pinned (see `fetch.rs`).
//! - `cargo xtask mutants [--spec PATH] [--only NAME] [--combined | --ci]` regenerates a copy
//!   of the crate from "next version" specs and checks that it builds (see `mutants/`); `--ci`
//!   runs only what `cargo xtask test` runs of it.
//!
//! Every command works on the checkout the current directory is in (see `root.rs`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use edge_impulse_codegen::emit::{FEATURES_BEGIN, FEATURES_END, FEATURES_FRAGMENT};

mod compile;
mod conformance;
mod fetch;
mod mutants;
mod root;
mod services;
mod spec;
mod spec_diff;
#[cfg(test)]
mod freshness_tests;
#[cfg(test)]
mod spec_diff_tests;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage:
  cargo xtask regen [--spec PATH] [--check] [--strict] [--verbose]
  cargo xtask bench regen [--spec PATH]
  cargo xtask bench compile
  cargo xtask spec normalize [--spec PATH] --out FILE
  cargo xtask test [--spec PATH] [-- CARGO_TEST_ARGS]
  cargo xtask spec-diff [OLD] NEW   (OLD defaults to the pinned spec; exit 1 when breaking)
  cargo xtask fetch-spec [--url URL] [--latest]
  cargo xtask mutants [--spec PATH] [--only NAME] [--combined | --ci]

The spec is taken from --spec, else $EDGE_IMPULSE_SPEC, else spec/edge-impulse-openapi.yml,
which is fetched from the URL pinned in spec/upstream.toml when it is missing.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Parsed `--flag value` and `--switch` options after the subcommand words.
#[derive(Default)]
struct Options {
    spec: Option<PathBuf>,
    out: Option<PathBuf>,
    check: bool,
    /// Stale overrides are errors, not warnings.
    strict: bool,
    /// Every diagnostic's location, not only each rule's first.
    verbose: bool,
    url: Option<String>,
    latest: bool,
    only: Option<String>,
    combined: bool,
    ci: bool,
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().cloned().ok_or(format!("{flag} needs a value\n\n{USAGE}"));
        match arg.as_str() {
            "--spec" => options.spec = Some(value("--spec")?.into()),
            "--out" => options.out = Some(value("--out")?.into()),
            "--check" => options.check = true,
            "--strict" => options.strict = true,
            "--verbose" => options.verbose = true,
            "--url" => options.url = Some(value("--url")?),
            "--latest" => options.latest = true,
            "--only" => options.only = Some(value("--only")?),
            "--combined" => options.combined = true,
            "--ci" => options.ci = true,
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    Ok(options)
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let root = root::workspace_root()?;
    match args.first().map(String::as_str) {
        Some("regen") => {
            let options = parse_options(&args[1..])?;
            regen(&root, options.spec, options.check, options.strict, options.verbose)
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("regen") => {
            let options = parse_options(&args[2..])?;
            bench_regen(&root, options.spec)
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("compile") => compile::bench_compile(&root),
        Some("spec") if args.get(1).map(String::as_str) == Some("normalize") => {
            let options = parse_options(&args[2..])?;
            let out = options.out.ok_or(format!("`spec normalize` needs --out FILE\n\n{USAGE}"))?;
            let spec = spec::SpecFile::locate(&root, options.spec)?;
            let document = spec.normalized(&root)?;
            let text = serde_json::to_string_pretty(&document).map_err(|e| e.to_string())?;
            std::fs::write(&out, text).map_err(|e| format!("{}: {e}", out.display()))?;
            eprintln!("spec normalize: wrote {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Some("spec-diff") => Ok(spec_diff::command(&root, &args[1..])),
        Some("test") => {
            let (own, cargo_args) = match args.iter().position(|a| a == "--") {
                Some(split) => (&args[1..split], &args[split + 1..]),
                None => (&args[1..], &[][..]),
            };
            let options = parse_options(own)?;
            conformance::test(&root, options.spec, cargo_args)
        }
        Some("fetch-spec") => {
            let options = parse_options(&args[1..])?;
            fetch::fetch_spec(&root, options.url, options.latest)?;
            Ok(ExitCode::SUCCESS)
        }
        Some("mutants") => {
            let options = parse_options(&args[1..])?;
            if options.ci {
                mutants::ci_check(&root, &spec::SpecFile::locate(&root, options.spec)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            mutants::run(&root, options.spec, options.only.as_deref(), options.combined)
        }
        _ => Err(USAGE.to_string()),
    }
}

/// Runs the generator in-process several times and prints the median of each step: the
/// figure behind "regen in under 0.3 s". Build with `--release` for numbers worth quoting.
fn bench_regen(root: &Path, spec: Option<PathBuf>) -> Result<ExitCode, String> {
    const RUNS: usize = 15;
    let spec = spec::SpecFile::locate(root, spec)?;
    let bytes = spec.read()?;
    let overrides = spec::read_overrides(root)?;
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let output = services::generate(root, &spec.display_name(), &bytes, &overrides)?;
        let mut steps = output.timings.clone();
        steps.push(("total", started.elapsed()));
        runs.push(steps);
    }
    for (i, (step, _)) in runs[0].iter().enumerate() {
        let mut times: Vec<f64> = runs.iter().map(|r| r[i].1.as_secs_f64() * 1000.0).collect();
        times.sort_by(f64::total_cmp);
        println!("bench regen: {step:<6} median {:>7.1} ms  (min {:.1}, max {:.1}, {RUNS} runs)", times[RUNS / 2], times[0], times[RUNS - 1]);
    }
    Ok(ExitCode::SUCCESS)
}

/// The generated crate, relative to the workspace root; generated file paths are relative to it.
const GENERATED_DIR: &str = "edge-impulse-api";

/// Folders of the generated crate that hold generated files only: anything in them that the
/// generator no longer produces is stale. Elsewhere (`tests/`) only files that start with the
/// generator's header count as generated.
const GENERATED_ONLY_DIRS: &[&str] = &["src/generated"];

fn regen(root: &Path, spec: Option<PathBuf>, check: bool, strict: bool, verbose: bool) -> Result<ExitCode, String> {
    let started = Instant::now();
    let spec = spec::SpecFile::locate(root, spec)?;
    let bytes = spec.read()?;
    spec.compare_with_pin(root, &bytes);
    let overrides = spec::read_overrides(root)?;
    let output = services::generate(root, &spec.display_name(), &bytes, &overrides)?;
    print_diagnostics(&output.diagnostics, verbose);
    let stale = write_or_check(&root.join(GENERATED_DIR), &output.files, check)?;
    let count = |severity| output.diagnostics.iter().filter(|d| d.severity == severity).count();
    let stale_overrides = count(edge_impulse_codegen::Severity::StaleOverride);
    let each: Vec<String> = output.services.iter().map(|(name, operations, schemas)| format!("{name} {operations}/{schemas}")).collect();
    println!(
        "regen: {} operations, {} schemas ({}), {} warnings, {} stale overrides, {:.2} s",
        output.operation_count,
        output.schema_count,
        each.join(", "),
        count(edge_impulse_codegen::Severity::Warning),
        stale_overrides,
        started.elapsed().as_secs_f64()
    );
    if !spec::is_pinned(root, &bytes) {
        spec_diff::after_regen(root, &spec.display_name(), &bytes);
    }
    if strict && stale_overrides > 0 {
        eprintln!("\n{stale_overrides} stale override(s) (listed above): update or delete them in spec/overrides.yaml (--strict)");
        return Ok(ExitCode::FAILURE);
    }
    if stale.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("\nstale generated files:");
    for path in &stale {
        eprintln!("  {path}");
    }
    eprintln!("\nrun `cargo xtask regen` to update them (with --spec PATH or $EDGE_IMPULSE_SPEC if the spec is elsewhere)");
    Ok(ExitCode::FAILURE)
}

/// The diagnostics on stderr, one line per rule (every location with `verbose`; see
/// [`edge_impulse_codegen::diagnostics::report_lines`]), and how to see what was folded.
fn print_diagnostics(diagnostics: &[edge_impulse_codegen::Diagnostic], verbose: bool) {
    use edge_impulse_codegen::diagnostics::{group_by_rule, report_lines};
    for line in report_lines(diagnostics, verbose) {
        eprintln!("{line}");
    }
    let folded = group_by_rule(diagnostics)
        .iter()
        .any(|group| group.diagnostics.len() > 1 && group.rule.severity() != edge_impulse_codegen::Severity::StaleOverride);
    if folded && !verbose {
        eprintln!("(`cargo xtask regen --verbose` lists every location)");
    }
}

/// Writes each generated file whose contents changed and deletes generated files that are no
/// longer produced; with `check`, writes nothing. Returns what is (or was) stale.
fn write_or_check(crate_dir: &Path, files: &[edge_impulse_codegen::GeneratedFile], check: bool) -> Result<Vec<String>, String> {
    let mut stale = Vec::new();
    for file in files {
        let (path, contents) = match file.path == FEATURES_FRAGMENT {
            true => {
                let manifest = crate_dir.join("Cargo.toml");
                let spliced = splice_features(&std::fs::read_to_string(&manifest).unwrap_or_default(), &file.contents)
                    .map_err(|e| format!("{}: {e}", manifest.display()))?;
                (manifest, spliced)
            }
            false => (crate_dir.join(&file.path), file.contents.clone()),
        };
        let relative = path.strip_prefix(crate_dir).unwrap_or(&path).to_string_lossy().replace('\\', "/");
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref() == Some(contents.as_str()) {
            continue;
        }
        stale.push(format!("{GENERATED_DIR}/{relative}{}", if current.is_none() { " (missing)" } else { "" }));
        if !check {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
            }
            std::fs::write(&path, &contents).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    for existing in generated_files_on_disk(crate_dir) {
        let relative = existing.strip_prefix(crate_dir).expect("listed under the crate").to_string_lossy().replace('\\', "/");
        if !files.iter().any(|f| f.path == relative) {
            stale.push(format!("{GENERATED_DIR}/{relative} (no longer generated)"));
            if !check {
                std::fs::remove_file(&existing).map_err(|e| format!("{}: {e}", existing.display()))?;
            }
        }
    }
    Ok(if check { stale } else { Vec::new() })
}

/// `manifest` with the lines between the generated-features markers replaced by `features`.
/// The markers must be there, inside `[features]`, once each: the hand-written features
/// (`serde-all`, ...) live around them.
fn splice_features(manifest: &str, features: &str) -> Result<String, String> {
    let begin = manifest.find(&format!("{FEATURES_BEGIN}\n"));
    let end = manifest.find(FEATURES_END);
    match (begin, end) {
        (Some(begin), Some(end)) if begin < end => {
            let body = begin + FEATURES_BEGIN.len() + 1;
            Ok(format!("{}{features}{}", &manifest[..body], &manifest[end..]))
        }
        _ => Err(format!("the `[features]` table needs the lines `{FEATURES_BEGIN}` and `{FEATURES_END}`, in that order, around the generated features")),
    }
}

/// Files of the crate that a previous regen wrote: everything under [`GENERATED_ONLY_DIRS`],
/// and any other file in `src/` or `tests/` that starts with the generator's header.
fn generated_files_on_disk(crate_dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = GENERATED_ONLY_DIRS.iter().flat_map(|dir| list_files(&crate_dir.join(dir))).collect();
    for dir in ["src", "tests"] {
        for path in list_files(&crate_dir.join(dir)) {
            let marked = std::fs::read_to_string(&path).is_ok_and(|text| text.starts_with(edge_impulse_codegen::emit::HEADER));
            if marked && !found.contains(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn list_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(list_files(&path));
        } else {
            found.push(path);
        }
    }
    found.sort();
    found
}
