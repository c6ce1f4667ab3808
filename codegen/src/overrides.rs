//! Our own corrections and settings for the upstream spec, kept as data in
//! `spec/overrides.yaml` so that no special case hides in generator code.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::Error;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// JSON-pointer edits applied to the spec before it is read, in order.
    #[serde(default)]
    pub patches: Vec<Patch>,
    /// Which credential each security scheme carries. A scheme missing here is guessed from
    /// its name (containing `jwt` -> JWT, otherwise API key) with a warning.
    #[serde(default)]
    pub credentials: BTreeMap<String, CredentialKind>,
    /// Property names whose string values are secrets: generated as `Secret`, which never
    /// shows its value in `Debug`.
    #[serde(default)]
    pub secret_properties: Vec<String>,
    /// The success envelope of the API's JSON answers (`{"success": false, "error": "..."}`).
    #[serde(default)]
    pub envelope: Option<Envelope>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    /// RFC 6901 pointer into the spec, without the leading `#`.
    pub pointer: String,
    pub op: PatchOp,
    /// The new value for `add`, `replace` and `merge`.
    #[serde(default)]
    pub value: Option<serde_json::Value>,
    /// Why the upstream spec is wrong here. Required: an override without a reason is a
    /// mystery to the next reader.
    pub reason: String,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    ApiKey,
    Jwt,
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
    /// Parses the overrides file; `name` is used in error messages.
    pub fn parse(name: &str, text: &[u8]) -> Result<Overrides, Error> {
        let de = serde_yaml::Deserializer::from_slice(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let inner = e.inner();
            let location = match inner.location() {
                Some(l) => format!("{name}:{}:{}", l.line(), l.column()),
                None => name.to_string(),
            };
            Error { location, message: format!("at `{}`: {inner}", e.path()) }
        })
    }
}
