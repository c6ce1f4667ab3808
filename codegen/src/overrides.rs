//! Our own corrections and settings for the upstream spec, kept as data in
//! `spec/overrides.yaml` so that no special case hides in generator code.
//!
//! Upstream changes under our feet, so every patch says what it expects to find: the loader
//! applies a patch only where upstream still has that, and reports every other case (target
//! gone, already fixed upstream, changed to something else) as a stale override instead of
//! silently overwriting upstream's newer text.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::Error;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// JSON-pointer edits applied to the spec before it is read, in order.
    #[serde(default)]
    pub patches: Vec<Patch>,
    /// Which credential each `apiKey` security scheme carries. A scheme missing here is guessed
    /// from its name (containing `jwt` -> JWT, otherwise API key) with a warning; `http`,
    /// `oauth2` and `openIdConnect` schemes need no entry (bearer token or user and password).
    #[serde(default)]
    pub credentials: BTreeMap<String, CredentialKind>,
    /// Property names whose string values are secrets: generated as `Secret`, which never
    /// shows its value in `Debug`.
    #[serde(default)]
    pub secret_properties: Vec<String>,
    /// The success envelope of the API's JSON answers (`{"success": false, "error": "..."}`).
    #[serde(default)]
    pub envelope: Option<Envelope>,
    /// The file these came from, for diagnostics (`spec/overrides.yaml`).
    #[serde(skip)]
    pub source: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    /// RFC 6901 pointer into the spec, without the leading `#`.
    pub pointer: String,
    pub op: PatchOp,
    /// The new value for `add`, `replace` and `merge`.
    #[serde(default)]
    pub value: Option<Value>,
    /// What upstream had at `pointer` when the patch was written (`null` included). The patch
    /// applies only while upstream still has exactly this.
    #[serde(default, deserialize_with = "present")]
    pub expect: Option<Value>,
    /// Instead of `expect`: upstream had nothing at `pointer` (the usual case for `add`).
    #[serde(default)]
    pub expect_absent: bool,
    /// Why the upstream spec is wrong here. Required: an override without a reason is a
    /// mystery to the next reader.
    pub reason: String,
    /// 1-based line of the patch in its file, for diagnostics.
    #[serde(skip)]
    pub line: usize,
}

/// `Some` whenever the key is present, even for an explicit `null`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PatchOp {
    /// Sets the value; the parent must exist. On an array, a final `-` appends.
    Add,
    /// Sets the value; it must exist already.
    Replace,
    /// Removes the value; it must exist.
    Remove,
    /// Shallow-merges an object into the existing object.
    Merge,
}

/// Which of the client's credentials a security scheme carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// The project or organization API key.
    ApiKey,
    /// A user's JWT.
    Jwt,
    /// An OAuth 2 / OpenID Connect access token or other bearer token.
    Bearer,
    /// A user name and password (HTTP basic authentication).
    Basic,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Boolean property that is `false` when the call failed.
    pub success: String,
    /// String property with the failure message.
    pub error: String,
}

impl Overrides {
    /// Parses the overrides file; `name` is used in error messages and diagnostics.
    pub fn parse(name: &str, text: &[u8]) -> Result<Overrides, Error> {
        let de = serde_yaml::Deserializer::from_slice(text);
        let mut overrides: Overrides = serde_path_to_error::deserialize(de).map_err(|e| {
            let inner = e.inner();
            let location = match inner.location() {
                Some(l) => format!("{name}:{}:{}", l.line(), l.column()),
                None => name.to_string(),
            };
            Error { location, message: format!("at `{}`: {inner}", e.path()) }
        })?;
        overrides.source = name.to_string();
        let lines = patch_lines(&String::from_utf8_lossy(text), &overrides.patches);
        for (patch, line) in overrides.patches.iter_mut().zip(lines) {
            patch.line = line;
        }
        for patch in &overrides.patches {
            patch.check().map_err(|message| Error { location: patch.location(name), message })?;
        }
        Ok(overrides)
    }
}

impl Patch {
    /// `spec/overrides.yaml:134 (patch at #/components/...)`.
    pub fn location(&self, source: &str) -> String {
        format!("{source}:{} (patch at #{})", self.line, self.pointer)
    }

    /// What a patch must say to be applied safely; checked when the file is read.
    fn check(&self) -> Result<(), String> {
        if !self.pointer.starts_with('/') {
            return Err(format!("pointer `{}` must start with `/`", self.pointer));
        }
        match (self.op, &self.value) {
            (PatchOp::Remove, Some(_)) => return Err("`remove` takes no `value`".into()),
            (PatchOp::Add | PatchOp::Replace | PatchOp::Merge, None) => {
                return Err(format!("`{:?}` needs a `value`", self.op).to_lowercase())
            }
            (PatchOp::Merge, Some(v)) if !v.is_object() => return Err("`merge` needs an object `value`".into()),
            _ => {}
        }
        match (&self.expect, self.expect_absent) {
            (Some(_), true) => Err("give either `expect` or `expect_absent`, not both".into()),
            (None, false) => Err(
                "say what upstream has at the pointer: `expect: <the current value>` or `expect_absent: true`; \
                 a patch that does not know what it replaces would overwrite upstream's own fixes"
                    .into(),
            ),
            (None, true) if matches!(self.op, PatchOp::Replace | PatchOp::Remove | PatchOp::Merge) => {
                Err(format!("`{:?}` needs something to act on; `expect_absent` fits `add` only", self.op).to_lowercase())
            }
            _ => Ok(()),
        }
    }
}

/// The line of each patch's `pointer:` key, found in order in the file's text (serde gives
/// no positions for values). 0 where it cannot be found.
fn patch_lines(text: &str, patches: &[Patch]) -> Vec<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut next = 0;
    patches
        .iter()
        .map(|patch| {
            let found = (next..lines.len()).find(|&i| {
                let line = lines[i].trim_start().trim_start_matches("- ").trim_start();
                line.strip_prefix("pointer:").is_some_and(|rest| rest.trim().trim_matches(['\'', '"']) == patch.pointer)
            });
            match found {
                Some(i) => {
                    next = i + 1;
                    i + 1
                }
                None => 0,
            }
        })
        .collect()
}
