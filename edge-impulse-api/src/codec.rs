//! Shared pieces of the generated models' serde impls (see `codegen/src/emit/serde_impls.rs`):
//! the generated code stays a plain `match` per struct, and what every struct needs is here,
//! compiled once.

use std::borrow::Cow;

/// An object key, borrowed from the input where the input allows it, so matching it against
/// the field names allocates nothing.
#[derive(Debug)]
pub(crate) struct Key<'de>(Cow<'de, str>);

impl Key<'_> {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The key of an `additionalProperties` entry (the spec may have no such struct).
    #[allow(dead_code)]
    pub(crate) fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::enums::deserialize_str(deserializer).map(Key)
    }
}
