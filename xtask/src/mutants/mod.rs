//! `cargo xtask mutants [--spec PATH] [--only NAME] [--combined]`: does the generator survive
//! the next upstream spec?
//!
//! Each mutation of [`mutations`] turns the pinned spec into a plausible next version. For
//! each, the tool regenerates a throwaway copy of the `edge-impulse-api` crate (under
//! `target/mutants/`, never the real one), checks that no untouched generated name changed
//! ([`names`]), and runs `cargo check` on the copy. `--combined` applies all mutations at once.
//! `cargo xtask test` runs the combined one, plus the user crate against the additive ones.

/// The spec changes.
pub mod mutations;
/// Name stability under them.
pub mod names;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use edge_impulse_codegen::{Overrides, Severity};
use serde_json::Value;

use self::mutations::{Mutation, Touched};
use crate::spec::SpecFile;

/// The user crate, relative to the workspace root: written against the pinned spec's API with
/// constructors and setters only; it must compile against every additive change.
const USER_CRATE: &str = "xtask/tests/user-crate";

/// How many compiler messages of a failed check the report shows.
const ERRORS_SHOWN: usize = 6;

/// The spec as a JSON document, ready to be mutated.
pub struct BaseSpec {
    /// Where the spec came from, for messages.
    pub name: String,
    /// The spec after control-character repairs, before overrides (regen applies them).
    pub document: Value,
    /// `spec/overrides.yaml`.
    pub overrides: Overrides,
}

impl BaseSpec {
    /// Reads the spec and the overrides.
    pub fn load(root: &Path, spec: &SpecFile) -> Result<BaseSpec, String> {
        let name = spec.display_name();
        let bytes = spec.read()?;
        let mut ignored = Vec::new();
        let text = edge_impulse_codegen::load::repair_control_characters(&name, &bytes, &mut ignored).map_err(|e| e.to_string())?;
        let document = serde_yaml::from_str(&text).map_err(|e| format!("{name}: {e}"))?;
        Ok(BaseSpec { name, document, overrides: crate::spec::read_overrides(root)? })
    }

    /// The document with `selected` applied in order, and everything they touched.
    pub fn mutated(&self, selected: &[&Mutation]) -> Result<(Vec<u8>, Touched), String> {
        let mut document = self.document.clone();
        let mut touched = Touched::default();
        for mutation in selected {
            let more = (mutation.apply)(&mut document).map_err(|e| format!("{}: not applicable: {e}", mutation.name))?;
            touched.0.extend(more.0);
        }
        let text = serde_yaml::to_string(&document).map_err(|e| e.to_string())?;
        Ok((text.into_bytes(), touched))
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        self.mutated(&[]).map(|(bytes, _)| bytes)
    }
}

/// The generated names of a spec (through the generator's IR).
pub fn names_of(spec_name: &str, bytes: &[u8], overrides: &Overrides) -> Result<Vec<names::NamedItem>, String> {
    let mut diagnostics = Vec::new();
    let loaded = edge_impulse_codegen::load::load(spec_name, bytes, overrides, &mut diagnostics).map_err(|e| e.to_string())?;
    let api = edge_impulse_codegen::ir::lower(&loaded.openapi, &loaded.document, overrides, &mut diagnostics).map_err(|e| e.to_string())?;
    Ok(names::generated_names(&api))
}

/// Regenerates the copy at `crate_dir` from `bytes`; returns the warnings, each located
/// without the spec's name (so that they compare across specs).
fn regenerate_into(crate_dir: &Path, spec_name: &str, bytes: &[u8], overrides: &Overrides) -> Result<Vec<String>, String> {
    let output = crate::services::generate(&crate::root::workspace_root()?, spec_name, bytes, overrides)?;
    crate::write_or_check(crate_dir, &output.files, false)?;
    let warnings = output.diagnostics.iter().filter(|d| d.severity == Severity::Warning);
    Ok(warnings.map(|d| format!("{}: {}", d.location.strip_prefix(spec_name).unwrap_or(&d.location), d.message)).collect())
}

/// The warnings of the unmutated spec: a mutation's report shows only the ones it adds.
fn base_warnings(base: &BaseSpec) -> Result<Vec<String>, String> {
    let output = crate::services::generate(&crate::root::workspace_root()?, &base.name, &base.bytes()?, &base.overrides)?;
    let warnings = output.diagnostics.iter().filter(|d| d.severity == Severity::Warning);
    Ok(warnings.map(|d| format!("{}: {}", d.location.strip_prefix(base.name.as_str()).unwrap_or(&d.location), d.message)).collect())
}

/// A throwaway copy of the generated crate under `target/mutants/SLOT/`, a workspace of its
/// own that shares the main target dir (and with it every built dependency).
pub struct CrateCopy {
    /// The copy's root (`target/mutants/SLOT/edge-impulse-api`).
    pub dir: PathBuf,
}

impl CrateCopy {
    /// A fresh copy of the real crate (its hand-written runtime and current generated code).
    pub fn prepare(root: &Path, slot: &str) -> Result<CrateCopy, String> {
        let dir = crate::conformance::target_dir(root).join("mutants").join(slot).join(crate::GENERATED_DIR);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        copy_dir(&root.join(crate::GENERATED_DIR), &dir)?;
        let original = root.join(crate::GENERATED_DIR).join("Cargo.toml");
        let mut manifest = standalone_manifest(root, &original, |table| {
            table.remove("features");
            Ok(())
        })?;
        // TOML re-serialised loses comments, and with them the markers regen writes the
        // generated features between: the features table is carried over as text instead.
        manifest.push_str(&features_table_text(&original)?);
        write(&dir.join("Cargo.toml"), &manifest)?;
        copy_lockfile(root, &dir)?;
        Ok(CrateCopy { dir })
    }

    /// Copies the user crate beside this crate copy, depending on it.
    pub fn with_user_crate(&self, root: &Path) -> Result<PathBuf, String> {
        let dir = self.dir.parent().expect("a slot folder").join("user-crate");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        copy_dir(&root.join(USER_CRATE), &dir)?;
        let crate_dir = self.dir.clone();
        let manifest = standalone_manifest(root, &root.join(USER_CRATE).join("Cargo.toml"), |table| {
            let dependency = table
                .get_mut("dependencies")
                .and_then(|d| d.get_mut(crate::GENERATED_DIR))
                .and_then(toml::Value::as_table_mut)
                .ok_or(format!("{USER_CRATE}/Cargo.toml has no path dependency on {}", crate::GENERATED_DIR))?;
            dependency.insert("path".into(), toml::Value::String(crate_dir.to_string_lossy().into_owned()));
            Ok(())
        })?;
        write(&dir.join("Cargo.toml"), &manifest)?;
        copy_lockfile(root, &dir)?;
        Ok(dir)
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn copy_lockfile(root: &Path, dir: &Path) -> Result<(), String> {
    // The same versions as the workspace, so the shared target dir's builds are reused.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).map(drop).map_err(|e| format!("Cargo.lock: {e}"))
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", from.display()))?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if entry.file_name() == "target" {
            continue;
        }
        if source.is_dir() {
            copy_dir(&source, &target)?;
        } else {
            std::fs::copy(&source, &target).map_err(|e| format!("{}: {e}", source.display()))?;
        }
    }
    Ok(())
}

/// A member's manifest made to stand alone: `workspace = true` keys get the workspace's
/// values, and the workspace's profiles come along (so dependencies build the same way).
fn standalone_manifest(
    root: &Path,
    manifest: &Path,
    adjust: impl FnOnce(&mut toml::Table) -> Result<(), String>,
) -> Result<String, String> {
    let read = |path: &Path| -> Result<toml::Table, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    };
    let workspace_manifest = read(&root.join("Cargo.toml"))?;
    let mut table = read(manifest)?;
    let inherited = workspace_manifest.get("workspace").and_then(|w| w.get("package")).and_then(toml::Value::as_table).cloned().unwrap_or_default();
    if let Some(package) = table.get_mut("package").and_then(toml::Value::as_table_mut) {
        for (key, value) in package.iter_mut() {
            let from_workspace = value.get("workspace").and_then(toml::Value::as_bool) == Some(true);
            if from_workspace {
                *value = inherited.get(key).cloned().ok_or(format!("{}: `{key}.workspace` has no workspace value", manifest.display()))?;
            }
        }
    }
    if let Some(profile) = workspace_manifest.get("profile") {
        table.insert("profile".into(), profile.clone());
    }
    table.insert("workspace".into(), toml::Value::Table(toml::Table::new()));
    adjust(&mut table)?;
    toml::to_string(&table).map_err(|e| e.to_string())
}

/// The `[features]` table of a manifest as it is written, comments and markers included (it
/// ends at the next table).
fn features_table_text(manifest: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let start = text.find("\n[features]\n").map(|i| i + 1).ok_or(format!("{}: no [features] table", manifest.display()))?;
    let rest = &text[start..];
    let end = rest[1..].find("\n[").map_or(rest.len(), |i| i + 2);
    Ok(format!("\n{}", &rest[..end]))
}

/// What `cargo check` said about a crate copy.
pub struct CheckResult {
    pub ok: bool,
    /// The first errors (or, when it passed, warnings), `path:line:col: message`.
    pub messages: Vec<String>,
    pub warnings: usize,
}

/// `cargo check` of the package at `dir`, in the workspace's target dir.
pub fn cargo_check(root: &Path, dir: &Path) -> Result<CheckResult, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(dir)
        .args(["check", "--quiet", "--message-format", "short"])
        .env("CARGO_TARGET_DIR", crate::conformance::target_dir(root))
        .output()
        .map_err(|e| format!("running cargo check in {}: {e}", dir.display()))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors: Vec<String> = stderr.lines().filter(|l| l.contains(": error") || l.starts_with("error:")).map(str::to_owned).collect();
    let warnings: Vec<String> = stderr.lines().filter(|l| l.contains(": warning:")).map(str::to_owned).collect();
    let ok = output.status.success();
    let mut messages = if ok { warnings.clone() } else { errors };
    if !ok && messages.is_empty() {
        messages = stderr.lines().rev().take(ERRORS_SHOWN).map(str::to_owned).collect();
        messages.reverse();
    }
    messages.truncate(ERRORS_SHOWN);
    Ok(CheckResult { ok, messages, warnings: warnings.len() })
}

/// The outcome of one mutation (or of all combined).
struct Outcome {
    label: String,
    additive: bool,
    /// The spec locations changed, as the mutations report them.
    touched: Vec<String>,
    /// The warnings the mutation added, or why regen failed.
    regen: Result<Vec<String>, String>,
    names: Result<Vec<String>, String>,
    check: Option<CheckResult>,
    seconds: f64,
}

impl Outcome {
    fn passed(&self) -> bool {
        self.regen.is_ok() && self.names.as_ref().is_ok_and(Vec::is_empty) && self.check.as_ref().is_some_and(|c| c.ok && c.warnings == 0)
    }

    fn print(&self) {
        let regen = match &self.regen {
            Ok(warnings) => format!("regen ok (+{} warnings)", warnings.len()),
            Err(_) => "regen FAILED".into(),
        };
        let names = match &self.names {
            Ok(changed) if changed.is_empty() => "names kept".to_string(),
            Ok(changed) => format!("{} names CHANGED", changed.len()),
            Err(_) => "names n/a".into(),
        };
        let check = match &self.check {
            None => "check skipped".to_string(),
            Some(c) if c.ok && c.warnings == 0 => "check ok".into(),
            Some(c) if c.ok => format!("check ok with {} WARNINGS", c.warnings),
            Some(_) => "check FAILED".into(),
        };
        let kind = if self.additive { "additive" } else { "breaking" };
        println!("mutants: {:<34} {kind:<8}  {regen:<22} {names:<18} {check:<22} {:>6.1} s", self.label, self.seconds);
        const LOCATIONS_SHOWN: usize = 3;
        if !self.touched.is_empty() {
            let more = self.touched.len().saturating_sub(LOCATIONS_SHOWN);
            let shown = self.touched[..self.touched.len().min(LOCATIONS_SHOWN)].join(", ");
            println!("    changed: {shown}{}", if more > 0 { format!(" and {more} more") } else { String::new() });
        }
        match &self.regen {
            Err(e) => println!("    regen: {e}"),
            Ok(warnings) => warnings.iter().for_each(|w| println!("    warning: {w}")),
        }
        for changed in self.names.as_ref().map(|c| c.as_slice()).unwrap_or_default() {
            println!("    renamed: {changed}");
        }
        for message in self.check.as_ref().map(|c| c.messages.as_slice()).unwrap_or_default() {
            println!("    check: {message}");
        }
    }
}

/// Applies `selected`, regenerates the copy, compares names and checks it.
/// What a mutation is compared with: the unmutated spec's names and warnings.
struct Baseline {
    names: Vec<names::NamedItem>,
    warnings: Vec<String>,
}

impl Baseline {
    fn of(base: &BaseSpec) -> Result<Baseline, String> {
        Ok(Baseline { names: names_of(&base.name, &base.bytes()?, &base.overrides)?, warnings: base_warnings(base)? })
    }
}

fn try_mutation(root: &Path, base: &BaseSpec, baseline: &Baseline, copy: &CrateCopy, label: &str, selected: &[&Mutation]) -> Outcome {
    let started = Instant::now();
    let additive = selected.iter().all(|m| m.additive);
    let outcome = |touched: &Touched, regen, names, check| Outcome {
        label: label.to_string(),
        additive,
        touched: touched.0.clone(),
        regen,
        names,
        check,
        seconds: started.elapsed().as_secs_f64(),
    };
    let (bytes, touched) = match base.mutated(selected) {
        Ok(mutated) => mutated,
        Err(e) => return outcome(&Touched::default(), Err(e), Err(String::new()), None),
    };
    let spec_name = format!("{} ({label})", base.name);
    let names = names_of(&spec_name, &bytes, &base.overrides).map(|after| names::changed_names(&baseline.names, &after, &touched));
    let regen = regenerate_into(&copy.dir, &spec_name, &bytes, &base.overrides)
        .map(|warnings| warnings.into_iter().filter(|w| !baseline.warnings.contains(w)).collect());
    let check = match &regen {
        Ok(_) => Some(cargo_check(root, &copy.dir).unwrap_or_else(|e| CheckResult { ok: false, messages: vec![e], warnings: 0 })),
        Err(_) => None,
    };
    outcome(&touched, regen, names, check)
}

/// `cargo xtask mutants`.
pub fn run(root: &Path, spec: Option<PathBuf>, only: Option<&str>, combined: bool) -> Result<ExitCode, String> {
    let spec = SpecFile::locate(root, spec)?;
    let base = BaseSpec::load(root, &spec)?;
    let baseline = Baseline::of(&base)?;
    let all = mutations::all();
    let selected: Vec<&Mutation> = all.iter().filter(|m| only.is_none_or(|name| m.name == name)).collect();
    if selected.is_empty() {
        let known: Vec<&str> = all.iter().map(|m| m.name).collect();
        return Err(format!("no mutation named `{}`; the mutations are:\n  {}", only.unwrap_or_default(), known.join("\n  ")));
    }
    let copy = CrateCopy::prepare(root, "single")?;
    let mut outcomes = Vec::new();
    if combined {
        outcomes.push(try_mutation(root, &base, &baseline, &copy, "combined", &selected));
        outcomes.last().expect("just pushed").print();
    } else {
        for mutation in &selected {
            outcomes.push(try_mutation(root, &base, &baseline, &copy, mutation.name, &[mutation]));
            outcomes.last().expect("just pushed").print();
        }
    }
    let passed = outcomes.iter().filter(|o| o.passed()).count();
    println!("mutants: {passed} passed, {} failed", outcomes.len() - passed);
    Ok(if passed == outcomes.len() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `cargo xtask test`'s step: every mutation at once regenerates and checks; the additive
/// ones at once still build the user crate; and no mutation renames what it did not touch.
pub fn ci_check(root: &Path, spec: &SpecFile) -> Result<(), String> {
    let base = BaseSpec::load(root, spec)?;
    let baseline = Baseline::of(&base)?;
    let all = mutations::all();
    let mut failures = Vec::new();
    for mutation in &all {
        let (bytes, touched) = base.mutated(&[mutation])?;
        let after = names_of(&format!("{} ({})", base.name, mutation.name), &bytes, &base.overrides)?;
        failures.extend(names::changed_names(&baseline.names, &after, &touched).into_iter().map(|c| format!("{}: renamed {c}", mutation.name)));
    }
    let every: Vec<&Mutation> = all.iter().collect();
    let combined = try_mutation(root, &base, &baseline, &CrateCopy::prepare(root, "combined")?, "combined", &every);
    combined.print();
    if !combined.passed() {
        failures.push("the combined mutated spec does not regenerate into a crate that checks clean".into());
    }
    let additive: Vec<&Mutation> = all.iter().filter(|m| m.additive).collect();
    let copy = CrateCopy::prepare(root, "additive")?;
    let (bytes, _) = base.mutated(&additive)?;
    regenerate_into(&copy.dir, &format!("{} (additive)", base.name), &bytes, &base.overrides)?;
    let user = cargo_check(root, &copy.with_user_crate(root)?)?;
    println!("mutants: user crate against the additive mutations: {}", if user.ok { "check ok" } else { "check FAILED" });
    for message in &user.messages {
        println!("    check: {message}");
    }
    if !user.ok {
        // Tell a broken mutation from a user crate written for another spec's API: the same
        // check against the spec without mutations.
        let plain = CrateCopy::prepare(root, "unmutated")?;
        regenerate_into(&plain.dir, &base.name, &base.bytes()?, &base.overrides)?;
        match cargo_check(root, &plain.with_user_crate(root)?)?.ok {
            true => failures.push(format!("{USER_CRATE} does not compile against the crate regenerated with every additive mutation")),
            false => failures.push(format!(
                "{USER_CRATE} does not compile against {} even without mutations: it is written for the pinned spec's API, \
                 which this spec breaks (`cargo xtask spec-diff` lists how); update the user crate to this spec's API",
                base.name
            )),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}
