//! `cargo xtask test`: the whole test suite, including the conformance suite against Prism.
//!
//! 1. checks that the committed generated code (and with it the conformance cases) is what
//!    the generator makes of the spec;
//! 2. `cargo check`s the crate with no API group, each group alone and all of them;
//! 3. installs Prism from `conformance/package-lock.json` (`npm ci`) when it is missing or
//!    older than the lockfile;
//! 4. writes the spec as the generator reads it to `target/conformance/spec.json`, the
//!    document Prism is given;
//! 5. runs `cargo test --workspace` with the `conformance` feature and the environment the
//!    suite reads.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::spec::SpecFile;

pub fn test(root: &Path, spec: Option<PathBuf>, cargo_args: &[String]) -> Result<ExitCode, String> {
    let spec = SpecFile::locate(root, spec)?;
    check_generated_code(root, &spec)?;
    crate::compile::check_feature_sets(root)?;
    let prism = install_prism(root)?;
    let target = target_dir(root);
    let normalized = target.join("conformance/spec.json");
    write_normalized(root, &spec, &normalized)?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args(["test", "--workspace", "--features", "edge-impulse-api/conformance"])
        .args(cargo_args)
        .env("EI_CONFORMANCE_SPEC", &normalized)
        .env("EI_CONFORMANCE_PRISM", &prism);
    eprintln!("test: cargo test --workspace --features edge-impulse-api/conformance {}", cargo_args.join(" "));
    let status = command.status().map_err(|e| format!("running cargo test: {e}"))?;
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Fails when the committed generated code is not what the generator makes of `spec` (the
/// conformance cases included); quiet otherwise (`cargo xtask regen` shows the diagnostics).
fn check_generated_code(root: &Path, spec: &SpecFile) -> Result<(), String> {
    let bytes = spec.read()?;
    let overrides = crate::spec::read_overrides(root)?;
    let output = edge_impulse_codegen::generate(&spec.display_name(), &bytes, &overrides).map_err(|e| e.to_string())?;
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

fn target_dir(root: &Path) -> PathBuf {
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
