//! `cargo xtask test`: the whole test suite, including the conformance suite against Prism.
//!
//! 1. checks that the committed generated code (and with it the conformance cases) is what
//!    the generator makes of the spec;
//! 2. `cargo check`s the crate with no API group, each group alone and all of them;
//! 3. regenerates a copy of the crate from the spec with every mutation of `cargo xtask mutants`
//!    applied and checks it, checks the user crate against the additive mutations, and checks
//!    that no mutation renames a generated item it did not touch;
//! 4. `cargo publish --dry-run -p edge-impulse-api`: the package is complete and builds alone;
//! 5. installs Prism from `conformance/package-lock.json` (`npm ci`) when it is missing or
//!    older than the lockfile;
//! 6. writes the spec as the generator reads it to `target/conformance/spec.json`, the
//!    document Prism is given;
//! 7. runs `cargo test --workspace` with the `conformance` feature and the environment the
//!    suite reads.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use crate::spec::SpecFile;

/// What `cargo xtask test` builds: the conformance suite (every group, both serde directions)
/// and the opt-in uploader, so that every test runs.
const TEST_FEATURES: &str = "edge-impulse-api/conformance,edge-impulse-api/upload";

pub fn test(root: &Path, spec: Option<PathBuf>, cargo_args: &[String]) -> Result<ExitCode, String> {
    let spec = SpecFile::locate(root, spec)?;
    step("regen --check", || check_generated_code(root, &spec))?;
    // These do not make the test suite meaningless when they fail: it still runs, and the
    // failures are repeated at the end.
    let release_checks = [
        step("feature sets (no group, each group alone, all, the opt-in `upload`; job tests with `jobs` alone)", || crate::compile::check_feature_sets(root)),
        step("mutants (combined, user crate, names)", || crate::mutants::ci_check(root, &spec)),
        step("cargo publish --dry-run -p edge-impulse-api", || publish_dry_run(root)),
    ];
    let prism = step("install Prism", || install_prism(root))?;
    let target = target_dir(root);
    let normalized = target.join("conformance/spec.json");
    step("spec normalize", || write_normalized(root, &spec, &normalized))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args(["test", "--workspace", "--features", TEST_FEATURES])
        .args(cargo_args)
        .env("EI_CONFORMANCE_SPEC", &normalized)
        .env("EI_CONFORMANCE_PRISM", &prism);
    eprintln!("test: cargo test --workspace --features {TEST_FEATURES} {}", cargo_args.join(" "));
    let status = step("cargo test", || command.status().map_err(|e| format!("running cargo test: {e}")))?;
    let docs = step("docs (missing docs and rustdoc warnings denied)", || check_docs(root));
    let failed_checks: Vec<String> = release_checks.into_iter().chain([docs]).filter_map(Result::err).collect();
    for failure in &failed_checks {
        eprintln!("error: {failure}");
    }
    Ok(if status.success() && failed_checks.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Runs one step of the suite, saying its name, and how long it took.
fn step<T>(name: &str, run: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    eprintln!("test: {name} ...");
    let started = Instant::now();
    let result = run();
    let verdict = if result.is_ok() { "done" } else { "FAILED" };
    eprintln!("test: {name}: {verdict} in {:.1} s", started.elapsed().as_secs_f64());
    result.map_err(|e| format!("{name}: {e}"))
}

/// The published crate packs, and the packed crate builds on its own. Uncommitted changes are
/// allowed: the point is the package's contents, not the state of the checkout.
fn publish_dry_run(root: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["publish", "--dry-run", "--allow-dirty", "--quiet", "-p", crate::GENERATED_DIR])
        .env("CARGO_TARGET_DIR", target_dir(root))
        .output()
        .map_err(|e| format!("running cargo publish: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!("cargo publish --dry-run failed:\n{}", String::from_utf8_lossy(&output.stderr)))
}

/// Builds the crate's documentation as docs.rs does (all features), denying a missing doc
/// comment and every rustdoc warning (broken links, bad HTML).
fn check_docs(root: &Path) -> Result<(), String> {
    const FLAGS: &str = "-D missing-docs -D warnings";
    eprintln!("test: RUSTDOCFLAGS=\"{FLAGS}\" cargo doc -p edge-impulse-api --all-features --no-deps");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["doc", "-p", "edge-impulse-api", "--all-features", "--no-deps"])
        .env("RUSTDOCFLAGS", FLAGS)
        .status()
        .map_err(|e| format!("running cargo doc: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("the docs do not build with missing docs and rustdoc warnings denied".into())
    }
}

/// Fails when the committed generated code is not what the generator makes of `spec` (the
/// conformance cases included); quiet otherwise (`cargo xtask regen` shows the diagnostics).
fn check_generated_code(root: &Path, spec: &SpecFile) -> Result<(), String> {
    let bytes = spec.read()?;
    let overrides = crate::spec::read_overrides(root)?;
    let output = crate::services::generate(root, &spec.display_name(), &bytes, &overrides)?;
    let stale_overrides: Vec<String> = output
        .diagnostics
        .iter()
        .filter(|d| d.severity == edge_impulse_codegen::Severity::StaleOverride)
        .map(ToString::to_string)
        .collect();
    if !stale_overrides.is_empty() {
        return Err(format!("stale overrides in spec/overrides.yaml:\n  {}", stale_overrides.join("\n  ")));
    }
    let stale = crate::write_or_check(&root.join(crate::GENERATED_DIR), &output.files, true)?;
    if stale.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the generated code does not match {}:\n  {}\nrun `cargo xtask regen --spec {}` and commit the result",
        spec.display_name(),
        stale.join("\n  "),
        spec.display_name()
    ))
}

/// `conformance/node_modules/.bin/prism`, installed with `npm ci` when missing or when the
/// lockfile changed since the last install.
fn install_prism(root: &Path) -> Result<PathBuf, String> {
    let dir = root.join("conformance");
    let prism = dir.join("node_modules/.bin/prism");
    let lockfile = dir.join("package-lock.json");
    // npm writes node_modules/.package-lock.json on every install.
    let installed = dir.join("node_modules/.package-lock.json");
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let fresh = prism.is_file() && matches!((modified(&installed), modified(&lockfile)), (Some(i), Some(l)) if i >= l);
    if fresh {
        return Ok(prism);
    }
    eprintln!("test: installing Prism (npm ci in {})", dir.display());
    let status = Command::new("npm")
        .current_dir(&dir)
        .args(["ci", "--no-audit", "--no-fund"])
        .status()
        .map_err(|e| format!("running npm (Node.js 20 and npm are needed for the conformance suite): {e}"))?;
    if !status.success() {
        return Err(format!("`npm ci` in {} failed ({status})", dir.display()));
    }
    if !prism.is_file() {
        return Err(format!("`npm ci` did not install {}", prism.display()));
    }
    Ok(prism)
}

/// The target dir cargo uses for this workspace (`$CARGO_TARGET_DIR`, else `target/`).
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

fn write_normalized(root: &Path, spec: &SpecFile, out: &Path) -> Result<(), String> {
    let document = spec.normalized(root)?;
    let text = serde_json::to_string(&document).map_err(|e| e.to_string())?;
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(out, text).map_err(|e| format!("{}: {e}", out.display()))
}
