//! Which checkout `cargo xtask` works on.
//!
//! The answer comes from where the command runs, never from a path compiled into the binary:
//! with a shared `CARGO_TARGET_DIR`, one checkout's xtask binary may be run from another
//! checkout, and it must write there, not into the checkout it was built from.

use std::path::{Path, PathBuf};

/// The package whose presence among a workspace's members marks this repository's root.
const MARKER_MEMBER: &str = "xtask";

/// Walks up from `start` to the first directory whose `Cargo.toml` declares a workspace with
/// an `xtask` member. Nested crates with a `[workspace]` of their own (such as the user crate
/// of the mutation suite) are passed over.
pub fn find_workspace_root(start: &Path) -> Result<PathBuf, String> {
    for dir in start.ancestors() {
        let manifest = dir.join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
        let table: toml::Table = toml::from_str(&text).map_err(|e| format!("{}: {e}", manifest.display()))?;
        let members = table.get("workspace").and_then(|w| w.get("members")).and_then(|m| m.as_array());
        if members.is_some_and(|members| members.iter().any(|m| m.as_str() == Some(MARKER_MEMBER))) {
            return Ok(dir.to_path_buf());
        }
    }
    Err(format!(
        "no workspace with an `{MARKER_MEMBER}` member above {}: run `cargo xtask` inside a checkout of the repository",
        start.display()
    ))
}

/// The root of the checkout the current directory is in.
pub fn workspace_root() -> Result<PathBuf, String> {
    let cwd = std::env::current_dir().map_err(|e| format!("the current directory: {e}"))?;
    find_workspace_root(&cwd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_tree(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-root-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn finds_the_workspace_that_lists_xtask_and_skips_nested_workspaces() {
        let root = temp_tree("nested");
        std::fs::write(root.join("Cargo.toml"), "[workspace]\nmembers = [\"codegen\", \"xtask\"]\n").unwrap();
        let nested = root.join("xtask/tests/user-crate");
        std::fs::create_dir_all(nested.join("src")).unwrap();
        std::fs::write(nested.join("Cargo.toml"), "[package]\nname = \"user\"\n\n[workspace]\n").unwrap();
        assert_eq!(find_workspace_root(&nested.join("src")).unwrap(), root);
        assert_eq!(find_workspace_root(&root).unwrap(), root);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn outside_any_checkout_is_an_error_that_says_so() {
        let dir = temp_tree("outside");
        std::fs::write(dir.join("Cargo.toml"), "[workspace]\nmembers = [\"other\"]\n").unwrap();
        let error = find_workspace_root(&dir).unwrap_err();
        assert!(error.contains("no workspace with an `xtask` member"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
