//! `cargo xtask spec-diff [OLD] NEW`: what changed between two specs, as changelog markdown.
//!
//! OLD defaults to the pinned spec. Exit status: 0 when nothing is breaking, 1 when something
//! is, 2 when the comparison could not be made.
//!
//! The last line of the output, also with stderr and stdout merged, is the changelog's
//! `spec-diff: B breaking, A additive, N neutral` (scripts read it): anything else this command
//! or `regen` prints about the comparison comes before it, under another prefix.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use edge_impulse_codegen::diff::SpecDiff;

use crate::spec::{self, SpecFile};

/// A comparison and how long its steps took.
pub struct Report {
    pub diff: SpecDiff,
    /// Loading and lowering the old spec and the new one (side by side), then comparing.
    pub timings: [(&'static str, Duration); 3],
}

impl Report {
    /// `timing: lowering old 0.20 s and new 0.19 s (in parallel), comparing 0.02 s`; not
    /// `spec-diff:`, the prefix of the closing counts line.
    pub fn timing_line(&self) -> String {
        let [(_, old), (_, new), (_, compare)] = self.timings;
        format!(
            "timing: lowering old {:.3} s and new {:.3} s (in parallel), comparing {:.3} s",
            old.as_secs_f64(),
            new.as_secs_f64(),
            compare.as_secs_f64()
        )
    }
}

/// The changelog from `old` to `new` (each a display name and the file's bytes), both read
/// with the repository's `spec/overrides.yaml`. `fetch-spec --latest` prints
/// `report.diff.markdown()` after re-pinning.
pub fn changelog(root: &Path, old: (&str, &[u8]), new: (&str, &[u8])) -> Result<Report, String> {
    let overrides = spec::read_overrides(root)?;
    let lower = |(name, bytes): (&str, &[u8])| {
        let started = Instant::now();
        let lowered = edge_impulse_codegen::lower_spec(name, bytes, &overrides).map_err(|e| e.to_string());
        (lowered, started.elapsed())
    };
    // The two specs are independent: lower them side by side.
    let ((old, old_time), (new, new_time)) = std::thread::scope(|scope| {
        let old = scope.spawn(|| lower(old));
        let new = lower(new);
        (old.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), new)
    });
    let (old, new) = (old?, new?);
    let started = Instant::now();
    let diff = edge_impulse_codegen::diff::diff(&old, &new);
    Ok(Report { diff, timings: [("old", old_time), ("new", new_time), ("compare", started.elapsed())] })
}

/// `cargo xtask spec-diff [OLD] NEW`.
pub fn command(root: &Path, args: &[String]) -> ExitCode {
    match run(root, args) {
        Ok(report) => {
            // Before the changelog, whose counts line must be the last line.
            eprintln!("{}", report.timing_line());
            print!("{}", report.diff.markdown());
            if report.diff.is_breaking() { ExitCode::from(1) } else { ExitCode::SUCCESS }
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(root: &Path, args: &[String]) -> Result<Report, String> {
    let usage = "usage: cargo xtask spec-diff [OLD] NEW  (OLD defaults to the pinned spec)";
    if args.iter().any(|a| a.starts_with('-')) {
        return Err(format!("unknown option `{}`\n{usage}", args.iter().find(|a| a.starts_with('-')).expect("found above")));
    }
    let (old, new) = match args {
        [new] => (spec::pinned_spec(root)?, SpecFile::at(PathBuf::from(new))?),
        [old, new] => {
            let old = SpecFile::at(PathBuf::from(old))?;
            let bytes = old.read()?;
            ((old, bytes), SpecFile::at(PathBuf::from(new))?)
        }
        _ => return Err(usage.to_string()),
    };
    let new_bytes = new.read()?;
    changelog(root, (&old.0.display_name(), &old.1), (&new.display_name(), &new_bytes))
}

/// After `regen` from a spec that is not the pinned one: the closing line of its changelog
/// against the pinned spec, or why no comparison was made. Never fails the regen.
pub fn after_regen(root: &Path, spec_name: &str, bytes: &[u8]) {
    let (pinned, pinned_bytes) = match spec::pinned_spec(root) {
        Ok(found) => found,
        Err(why) => {
            eprintln!("spec-diff: no comparison with the pinned spec: {why}");
            return;
        }
    };
    match changelog(root, (&pinned.display_name(), &pinned_bytes), (spec_name, bytes)) {
        Ok(report) => {
            // The hint first: the counts line is regen's last line.
            eprintln!("(`cargo xtask spec-diff {spec_name}` prints the changelog)");
            println!("{}", report.diff.counts());
        }
        Err(why) => eprintln!("spec-diff: no comparison with the pinned spec: {why}"),
    }
}
