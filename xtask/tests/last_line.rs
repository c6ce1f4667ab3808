//! What scripts read: the last line of `cargo xtask spec-diff` and of `regen` from a spec
//! other than the pinned one is `spec-diff: B breaking, A additive, N neutral`, also when
//! stdout and stderr go to one place (`2>&1`, a CI log). Run as a maintainer would: the xtask
//! binary in a scratch checkout, both streams on one pipe, so the order is the order written.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

fn diff_fixture(rule: &str, side: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../codegen/tests/diff_fixtures").join(rule).join(format!("{side}.yaml"))
}

/// A scratch checkout whose pin (and local spec copy) is the `op-added` fixture's old spec.
struct Checkout {
    root: PathBuf,
}

impl Checkout {
    fn new(test: &str) -> Checkout {
        let root = std::env::temp_dir().join(format!("xtask-last-line-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("spec")).expect("spec dir");
        std::fs::create_dir_all(root.join("edge-impulse-api")).expect("crate dir");
        std::fs::write(root.join("Cargo.toml"), "[workspace]\nmembers = [\"codegen\", \"xtask\", \"edge-impulse-api\"]\n").expect("manifest");
        let features = format!("[features]\n{}\n{}\n", edge_impulse_codegen::emit::FEATURES_BEGIN, edge_impulse_codegen::emit::FEATURES_END);
        std::fs::write(root.join("edge-impulse-api/Cargo.toml"), features).expect("crate manifest");
        let overrides = Path::new(env!("CARGO_MANIFEST_DIR")).join("../codegen/tests/fixture-overrides.yaml");
        std::fs::copy(overrides, root.join("spec/overrides.yaml")).expect("overrides");
        let pinned = std::fs::read(diff_fixture("op-added", "old")).expect("fixture");
        let pin = format!("url = \"http://127.0.0.1:9/spec.yml\"\nsha256 = \"{:x}\"\nsize = {}\n", Sha256::digest(&pinned), pinned.len());
        std::fs::write(root.join("spec/upstream.toml"), pin).expect("pin");
        std::fs::write(root.join("spec/edge-impulse-openapi.yml"), &pinned).expect("local copy of the pinned spec");
        Checkout { root }
    }

    /// Runs xtask with stdout and stderr on one pipe; returns the exit code and what the pipe
    /// carried, in the order it was written.
    fn merged_output(&self, args: &[&str]) -> (Option<i32>, String) {
        let (mut reader, writer) = std::io::pipe().expect("pipe");
        let mut child = {
            let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
            command
                .current_dir(&self.root)
                .args(args)
                .env_remove("EDGE_IMPULSE_SPEC")
                .stdout(writer.try_clone().expect("clone the pipe's writer"))
                .stderr(writer);
            command.spawn().expect("run xtask")
            // `command`, and with it the parent's ends of the writer, is dropped here, so the
            // read below ends when the child exits.
        };
        let mut text = String::new();
        reader.read_to_string(&mut text).expect("read the merged output");
        let status = child.wait().expect("wait for xtask");
        (status.code(), text)
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or("")
}

#[test]
fn spec_diff_ends_with_its_counts_line_with_the_timing_before_it() {
    let checkout = Checkout::new("spec-diff");
    let (old, new) = (diff_fixture("op-removed", "old"), diff_fixture("op-removed", "new"));
    let (code, text) = checkout.merged_output(&["spec-diff", &old.display().to_string(), &new.display().to_string()]);
    assert_eq!(code, Some(1), "a removed operation is breaking:\n{text}");
    assert_eq!(last_line(&text), "spec-diff: 1 breaking, 0 additive, 0 neutral", "{text}");
    // The timing is still printed, under a prefix of its own.
    assert!(text.lines().any(|line| line.starts_with("timing: lowering old")), "{text}");
    assert_eq!(text.lines().filter(|line| line.starts_with("spec-diff:")).count(), 1, "{text}");
}

#[test]
fn regen_from_another_spec_ends_with_the_counts_against_the_pin() {
    let checkout = Checkout::new("regen");
    let new = diff_fixture("op-added", "new");
    let (code, text) = checkout.merged_output(&["regen", "--spec", &new.display().to_string()]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(last_line(&text), "spec-diff: 0 breaking, 1 additive, 0 neutral", "{text}");
    let summary = text.lines().position(|line| line.starts_with("regen: ")).expect("the regen summary line");
    assert_eq!(summary, text.lines().count() - 3, "the summary, the changelog hint, the counts:\n{text}");
}
