//! The generated crate's own compile cost, per cargo feature set.
//!
//! - `cargo xtask bench compile` prints the wall time, CPU time (user + system) and peak
//!   memory of building the crate alone (dependencies prebuilt, `src/lib.rs` touched,
//!   `CARGO_INCREMENTAL=0`, full debug info as in a user's dev build, best and median of 5)
//!   with every API group, without the other services' groups, with the opt-in features, with
//!   one group, and in release; then what the other services and the opt-in features cost, as
//!   differences of medians. The figures come from `/usr/bin/time`, whose peak is the largest
//!   process of the build: rustc.
//! - `cargo xtask test` first runs [`check_feature_sets`]: `cargo check` of the crate with no
//!   API group, with each group alone and with all, so a gate that leaves a reference to a
//!   gated item dangling is caught; then the job tests with `jobs` alone.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

use crate::GENERATED_DIR;

/// The group whose build stands for "one API group" (the one most users need first).
const ONE_GROUP: &str = "projects";
const RUNS: usize = 5;
/// The debug info a user's dev build gives the crate (cargo's default), not the line tables
/// this workspace's profile settles for: the figures are what a user waits for.
const USERS_DEBUG_INFO: &str = "full";

/// One build's cost.
#[derive(Debug, Clone, Copy)]
struct Cost {
    wall: f64,
    cpu: f64,
    /// Peak resident memory of the biggest process, in MB.
    peak_mb: f64,
}

pub fn bench_compile(root: &Path) -> Result<ExitCode, String> {
    let groups = group_features(root)?;
    let services = crate::services::secondary_features(root)?;
    let primary_only = groups.iter().filter(|g| !services.contains(g)).cloned().collect::<Vec<_>>().join(",");
    let opt_in = OPT_IN.join(",");
    let one_group = ["--no-default-features", "--features", ONE_GROUP];
    let all_but_services = ["--no-default-features", "--features", primary_only.as_str()];
    let with_opt_in = ["--features", opt_in.as_str()];
    let builds: [(&str, &[&str]); 5] = [
        ("all groups (default features)", &[]),
        ("all groups but other services", &all_but_services),
        ("all groups + opt-in features", &with_opt_in),
        ("one group (`projects`)", &one_group),
        ("all groups, release", &["--release"]),
    ];
    let mut measured = Vec::new();
    for (name, args) in builds {
        // Dependencies first, so that the runs time the crate alone.
        cargo_build(root, args)?;
        let mut costs = Vec::new();
        for _ in 0..RUNS {
            touch(&root.join(GENERATED_DIR).join("src/lib.rs"))?;
            costs.push(timed_build(root, args)?);
        }
        let cost = Summary::of(&costs);
        println!(
            "bench compile: {name:<30} wall {:>5.1} s (best of {RUNS}; median {:.1}), cpu {:>5.1} s (least; median {:.1}), peak rss {:>5.0} MB",
            cost.best_wall, cost.median_wall, cost.least_cpu, cost.median_cpu, cost.peak_mb
        );
        measured.push(cost);
    }
    // The costs of what the default build adds to the primary service's groups, and of the
    // opt-in features, as differences of medians (this VM's runs vary by a second or more).
    let difference = |what: &str, with: &Summary, without: &Summary| {
        println!(
            "bench compile: cost of {what:<19} wall {:>+5.1} s, cpu {:>+5.1} s (medians), peak rss {:>+4.0} MB",
            with.median_wall - without.median_wall,
            with.median_cpu - without.median_cpu,
            with.peak_mb - without.peak_mb
        );
    };
    difference(&format!("`{}`", services.join("`, `")), &measured[0], &measured[1]);
    difference(&format!("`{opt_in}`"), &measured[2], &measured[0]);
    Ok(ExitCode::SUCCESS)
}

/// The runs of one build.
struct Summary {
    best_wall: f64,
    median_wall: f64,
    least_cpu: f64,
    median_cpu: f64,
    peak_mb: f64,
}

impl Summary {
    fn of(costs: &[Cost]) -> Summary {
        let median = |pick: fn(&Cost) -> f64| {
            let mut values: Vec<f64> = costs.iter().map(pick).collect();
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        };
        Summary {
            best_wall: costs.iter().map(|c| c.wall).fold(f64::INFINITY, f64::min),
            median_wall: median(|c| c.wall),
            least_cpu: costs.iter().map(|c| c.cpu).fold(f64::INFINITY, f64::min),
            median_cpu: median(|c| c.cpu),
            peak_mb: costs.iter().map(|c| c.peak_mb).fold(0.0, f64::max),
        }
    }
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// `command` (cargo, or a program that runs it) extended to build the crate's library as the
/// bench measures it.
fn crate_build(mut command: Command, root: &Path, args: &[&str]) -> Command {
    command
        .current_dir(root)
        .args(["build", "--quiet", "-p", "edge-impulse-api", "--lib"])
        .args(args)
        .env("CARGO_INCREMENTAL", "0")
        .env("CARGO_PROFILE_DEV_DEBUG", USERS_DEBUG_INFO);
    command
}

fn cargo_build(root: &Path, args: &[&str]) -> Result<(), String> {
    let status = crate_build(Command::new(cargo()), root, args)
        .status()
        .map_err(|e| format!("running cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build -p edge-impulse-api {} failed ({status})", args.join(" ")));
    }
    Ok(())
}

/// One build under `/usr/bin/time`, which reports the children's CPU time and peak memory.
fn timed_build(root: &Path, args: &[&str]) -> Result<Cost, String> {
    let started = Instant::now();
    let mut time = Command::new("/usr/bin/time");
    time.args(["-f", "xtask-time %U %S %M"]).arg(cargo());
    let output = crate_build(time, root, args)
        .output()
        .map_err(|e| format!("running /usr/bin/time (GNU time is needed to read CPU time and memory): {e}"))?;
    let wall = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("cargo build -p edge-impulse-api {} failed:\n{stderr}", args.join(" ")));
    }
    let line = stderr.lines().rev().find_map(|l| l.strip_prefix("xtask-time ")).ok_or("no figures from /usr/bin/time")?;
    let numbers: Vec<f64> = line.split_whitespace().filter_map(|n| n.parse().ok()).collect();
    match numbers[..] {
        [user, system, peak_kb] => Ok(Cost { wall, cpu: user + system, peak_mb: peak_kb / 1024.0 }),
        _ => Err(format!("unexpected /usr/bin/time output `{line}`")),
    }
}

fn touch(path: &Path) -> Result<(), String> {
    let file = std::fs::OpenOptions::new().append(true).open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.set_modified(std::time::SystemTime::now()).map_err(|e| format!("{}: {e}", path.display()))
}

/// `cargo check` of the crate's library with no API group, each group alone, then all, in
/// one shared target directory (only the crate itself is rebuilt between them).
pub fn check_feature_sets(root: &Path) -> Result<(), String> {
    let started = Instant::now();
    let groups = group_features(root)?;
    let mut sets: Vec<Vec<String>> = vec![vec![]];
    sets.extend(groups.iter().map(|g| vec![g.clone()]));
    sets.push(vec![FULL.to_string()]);
    // The opt-in features that are not API groups, over the fewest groups they need.
    sets.extend(OPT_IN.iter().map(|f| vec![f.to_string()]));
    for set in &sets {
        let features = set.join(",");
        let status = Command::new(cargo())
            .current_dir(root)
            .args(["check", "--quiet", "-p", "edge-impulse-api", "--lib", "--no-default-features", "--features", &features])
            .status()
            .map_err(|e| format!("running cargo: {e}"))?;
        if !status.success() {
            let shown = if features.is_empty() { "no API group".to_string() } else { format!("features `{features}`") };
            return Err(format!("edge-impulse-api does not build with {shown} ({status})"));
        }
    }
    eprintln!(
        "test: cargo check of edge-impulse-api with no group, each of the {} groups alone, all, and {}: {:.1} s",
        groups.len(),
        OPT_IN.join(", "),
        started.elapsed().as_secs_f64()
    );
    test_jobs_without_projects(root, &groups)
}

/// The job waiter is the one runtime piece whose behaviour (not only whether it builds)
/// depends on the groups: with `jobs` but not `projects` a project job's logs are polled, not
/// followed live. The default test run has every group, so that case gets a run of its own.
fn test_jobs_without_projects(root: &Path, groups: &[String]) -> Result<(), String> {
    if !groups.iter().any(|g| g == "jobs") {
        eprintln!("test: no `jobs` group in this spec: the job waiter is not built, nothing to test without `projects`");
        return Ok(());
    }
    let status = Command::new(cargo())
        .current_dir(root)
        .args(["test", "--quiet", "-p", "edge-impulse-api", "--no-default-features", "--features", "jobs", "--test", "jobs"])
        .status()
        .map_err(|e| format!("running cargo: {e}"))?;
    match status.success() {
        true => Ok(()),
        false => Err(format!("the job tests fail with features `jobs` alone ({status})")),
    }
}

const FULL: &str = "full";
/// Features outside `full` that `check_feature_sets` builds alone (each turns on what it
/// needs) and `bench compile` prints over every group.
const OPT_IN: &[&str] = &["upload"];

/// The API-group features: what `full` turns on in the crate's manifest.
fn group_features(root: &Path) -> Result<Vec<String>, String> {
    let path = root.join(GENERATED_DIR).join("Cargo.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let manifest: toml::Table = text.parse().map_err(|e| format!("{}: {e}", path.display()))?;
    let full = manifest.get("features").and_then(|f| f.get(FULL)).and_then(|f| f.as_array());
    let full = full.ok_or_else(|| format!("{}: no `{FULL}` feature", path.display()))?;
    Ok(full.iter().filter_map(|g| g.as_str().map(str::to_owned)).collect())
}
