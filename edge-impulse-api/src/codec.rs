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

/// `Serialize` and `Deserialize` for a generated struct, from its table of fields:
///
/// ```ignore
/// crate::codec::json_object! {
///     Sample {
///         id: "id" required,                 // must be there, not null
///         label: "label" nullable,           // always there, may be null: `Option<T>`
///         note: "note" optional,             // may be absent (or null): `Option<T>`
///         code: "code" optional_nullable,    // absent `None`, null `Some(None)`
///     }
///     additional: extra,                     // unknown keys into this map (else skipped)
///     serialize: always,
///     deserialize: serde_all,                // only with the `serde-all` feature
/// }
/// ```
///
/// Deserializing is one map visitor (a struct decodes only from a JSON object), one local per
/// field and a `match` on the key: what serde's derive makes besides (a field enum, a
/// sequence form) was most of the crate's compile time. The macro's locals are hygienic, so
/// field names never collide with them.
///
/// Errors are passed on with `match` and `return`, not `?`: each `?` is a `Try`/`FromResidual`
/// resolution for the type checker, and with one per field they were two thirds of the
/// visitors' type-check and borrow-check time (`-Z self-profile`; the build with no API group
/// went from 4.3 s to 3.5 s).
macro_rules! json_object {
    (
        $name:ident { $($fields:tt)* }
        $(additional: $extra:ident,)?
        serialize: $ser:ident,
        deserialize: $de:ident $(,)?
    ) => {
        $crate::codec::json_object!(@gate $ser @serialize $name { $($fields)* } $($extra)?);
        $crate::codec::json_object!(@gate $de @deserialize $name { $($fields)* } $($extra)?);
    };

    (@gate always $($rest:tt)*) => { $crate::codec::json_object!($($rest)*); };
    (@gate serde_all $($rest:tt)*) => {
        #[cfg(feature = "serde-all")]
        $crate::codec::json_object!($($rest)*);
    };

    (@serialize $name:ident { $($field:ident: $wire:literal $kind:ident),* $(,)? } $($extra:ident)?) => {
        impl serde::Serialize for $name {
            #[allow(clippy::question_mark)] // `?` is avoided on purpose (see the visitor)
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap as _;
                #[allow(unused_mut)]
                let mut object = match serializer.serialize_map(None) {
                    Ok(object) => object,
                    Err(error) => return Err(error),
                };
                $($crate::codec::json_object!(@entry $kind object $wire &self.$field);)*
                $(for (key, value) in &self.$extra {
                    $crate::codec::json_object!(@write object key value);
                })?
                object.end()
            }
        }
    };
    // Required fields are always written (a nullable one as `null`), optional ones only when set.
    (@entry required $object:ident $wire:literal $value:expr) => { $crate::codec::json_object!(@write $object $wire $value) };
    (@entry nullable $object:ident $wire:literal $value:expr) => { $crate::codec::json_object!(@write $object $wire $value) };
    (@entry optional $object:ident $wire:literal $value:expr) => {
        if let Some(value) = $value { $crate::codec::json_object!(@write $object $wire value); }
    };
    (@entry optional_nullable $object:ident $wire:literal $value:expr) => {
        if let Some(value) = $value { $crate::codec::json_object!(@write $object $wire value); }
    };
    // Without `?`, for the reason given on the visitor below.
    (@write $object:ident $key:tt $value:tt) => {
        if let Err(error) = $object.serialize_entry($key, $value) {
            return Err(error);
        }
    };

    (@deserialize $name:ident { $($field:ident: $wire:literal $kind:ident),* $(,)? } $($extra:ident)?) => {
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Fields;
                impl<'de> serde::de::Visitor<'de> for Fields {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a JSON object (`", stringify!($name), "`)"))
                    }
                    #[allow(clippy::question_mark)] // `?` is avoided on purpose (see above)
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                        $(let mut $field = None;)*
                        $(let mut $extra = std::collections::BTreeMap::new();)?
                        loop {
                            let key = match map.next_key::<$crate::codec::Key<'de>>() {
                                Ok(Some(key)) => key,
                                Ok(None) => break,
                                Err(error) => return Err(error),
                            };
                            match key.as_str() {
                                $($wire => match map.next_value() {
                                    Ok(value) => $field = Some(value),
                                    Err(error) => return Err(error),
                                },)*
                                _ => $crate::codec::json_object!(@unknown map key $($extra)?),
                            }
                        }
                        Ok($name {
                            $($field: $crate::codec::json_object!(@finish $kind $field $wire),)*
                            $($extra,)?
                        })
                    }
                }
                deserializer.deserialize_map(Fields)
            }
        }
    };
    (@unknown $map:ident $key:ident) => {
        if let Err(error) = $map.next_value::<serde::de::IgnoredAny>() {
            return Err(error);
        }
    };
    (@unknown $map:ident $key:ident $extra:ident) => {
        match $map.next_value() {
            Ok(value) => drop($extra.insert($key.into_owned(), value)),
            Err(error) => return Err(error),
        }
    };
    // Each local holds `Some(value read)` once its key was seen.
    (@finish required $field:ident $wire:literal) => {
        match $field {
            Some(value) => value,
            None => return Err(<A::Error as serde::de::Error>::missing_field($wire)),
        }
    };
    // `null` and absent are both `None`.
    (@finish nullable $field:ident $wire:literal) => { $field.unwrap_or(None) };
    (@finish optional $field:ident $wire:literal) => { $field.unwrap_or(None) };
    // Absent stays `None`, `null` is `Some(None)`.
    (@finish optional_nullable $field:ident $wire:literal) => { $field };
}

pub(crate) use json_object;
