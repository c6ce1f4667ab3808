//! Finding the spec file, checking it against the pin, reading our overrides.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The pin, relative to the workspace root.
pub const PIN_FILE: &str = "spec/upstream.toml";

/// Where the spec is looked for (and fetched to) when no other path is given; git-ignored.
pub const DEFAULT_SPEC: &str = "spec/edge-impulse-openapi.yml";

/// `spec/upstream.toml`: which upstream file the committed generated code comes from.
#[derive(Debug, Clone, Deserialize)]
pub struct Pin {
    /// Where the pinned file is published: an address that cannot move (a file at a commit),
    /// so that a plain `fetch-spec` finds the pinned bytes however upstream changes.
    pub url: String,
    /// Where upstream publishes its current spec (a branch): what `fetch-spec --latest`
    /// follows. Without it, `--latest` fetches `url`.
    #[serde(default)]
    pub latest_url: Option<String>,
    /// Hex sha256 of the file.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// The day the pin was last moved (`fetch-spec --latest`), `YYYY-MM-DD`.
    #[serde(default)]
    pub date: Option<String>,
}

pub struct SpecFile {
    path: PathBuf,
}

impl SpecFile {
    /// `--spec`, else `$EDGE_IMPULSE_SPEC`, else `spec/edge-impulse-openapi.yml`, which is
    /// first fetched from the pinned URL (and checked against the pin) when it is missing.
    pub fn locate(root: &Path, flag: Option<PathBuf>) -> Result<SpecFile, String> {
        let given = flag.or_else(|| std::env::var_os("EDGE_IMPULSE_SPEC").filter(|v| !v.is_empty()).map(PathBuf::from));
        let default = root.join(DEFAULT_SPEC);
        if given.is_none() && !default.exists() {
            let pin = read_pin(root)?;
            eprintln!("spec: no local spec; fetching the pinned one from {}", pin.url);
            let fetched = crate::fetch::fetch_to(&pin.url, crate::fetch::Expect::Pinned(&pin), &default)?;
            eprintln!("spec: saved {DEFAULT_SPEC} ({} bytes, sha256 matches the pin)", fetched.size);
        }
        let path = given.unwrap_or(default);
        if !path.is_file() {
            let pin = read_pin(root).map(|p| p.url).unwrap_or_else(|_| "see spec/upstream.toml".into());
            return Err(format!(
                "no spec file at {}\n\npoint the generator at the Edge Impulse OpenAPI spec with one of\n  \
                 cargo xtask regen --spec PATH\n  EDGE_IMPULSE_SPEC=PATH cargo xtask regen\n  \
                 or save it as spec/edge-impulse-openapi.yml (git-ignored)\nupstream: {pin}",
                path.display()
            ));
        }
        Ok(SpecFile { path })
    }

    /// A spec file given by path (the `spec-diff` arguments), which must exist.
    pub fn at(path: PathBuf) -> Result<SpecFile, String> {
        if path.is_file() {
            Ok(SpecFile { path })
        } else {
            Err(format!("no spec file at {}", path.display()))
        }
    }

    pub fn display_name(&self) -> String {
        self.path.display().to_string()
    }

    pub fn read(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.path).map_err(|e| format!("{}: {e}", self.path.display()))
    }

    /// Says so when the file is not the pinned one: the output is then a new crate version.
    pub fn compare_with_pin(&self, root: &Path, bytes: &[u8]) {
        let Ok(pin) = read_pin(root) else { return };
        let digest = format!("{:x}", Sha256::digest(bytes));
        if digest != pin.sha256 {
            eprintln!(
                "note: {} (sha256 {digest}, {} bytes) is not the pinned spec (sha256 {}, {} bytes); \
                 update spec/upstream.toml when adopting it",
                self.path.display(),
                bytes.len(),
                pin.sha256,
                pin.size
            );
        }
    }

    /// The spec as the generator reads it, after repairs and overrides.
    pub fn normalized(&self, root: &Path) -> Result<serde_json::Value, String> {
        let bytes = self.read()?;
        let overrides = read_overrides(root)?;
        let mut diagnostics = Vec::new();
        let loaded = edge_impulse_codegen::load::load(&self.display_name(), &bytes, &overrides, &mut diagnostics)
            .map_err(|e| e.to_string())?;
        Ok(loaded.document)
    }
}

/// The pinned spec, if a copy is on this machine: `spec/edge-impulse-openapi.yml`, else
/// `$EDGE_IMPULSE_SPEC`, whichever has the sha256 of `spec/upstream.toml`. The error says
/// what was found and how to get the file.
pub fn pinned_spec(root: &Path) -> Result<(SpecFile, Vec<u8>), String> {
    let pin = read_pin(root)?;
    let mut candidates = vec![root.join("spec/edge-impulse-openapi.yml")];
    candidates.extend(std::env::var_os("EDGE_IMPULSE_SPEC").filter(|v| !v.is_empty()).map(PathBuf::from));
    let mut looked = Vec::new();
    for path in candidates {
        match std::fs::read(&path) {
            Ok(bytes) if format!("{:x}", Sha256::digest(&bytes)) == pin.sha256 => return Ok((SpecFile { path }, bytes)),
            Ok(_) => looked.push(format!("{} (another sha256)", path.display())),
            Err(_) => looked.push(format!("{} (absent)", path.display())),
        }
    }
    Err(format!(
        "the pinned spec (sha256 {}) is not on this machine; looked at {}\n\
         get it with `cargo xtask fetch-spec`, or download {} and save it as spec/edge-impulse-openapi.yml \
         (or point $EDGE_IMPULSE_SPEC at it)",
        pin.sha256,
        looked.join(", "),
        pin.url
    ))
}

/// Whether `bytes` are the pinned spec (false too when the pin cannot be read).
pub fn is_pinned(root: &Path, bytes: &[u8]) -> bool {
    read_pin(root).is_ok_and(|pin| format!("{:x}", Sha256::digest(bytes)) == pin.sha256)
}

/// Reads `spec/upstream.toml`.
pub fn read_pin(root: &Path) -> Result<Pin, String> {
    let path = root.join(PIN_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn read_overrides(root: &Path) -> Result<edge_impulse_codegen::Overrides, String> {
    let path = root.join("spec/overrides.yaml");
    let text = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    edge_impulse_codegen::Overrides::parse("spec/overrides.yaml", &text).map_err(|e| e.to_string())
}
