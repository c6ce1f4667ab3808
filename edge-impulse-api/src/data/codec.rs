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

/// Reads a [`DateTime`](crate::DateTime) field (`date_time` in a field table) with chrono's
/// strict RFC 3339 parser, and only when that fails with the relaxed one behind chrono's own
/// `Deserialize` (which also takes a space for the `T`), so whatever decoded before still
/// decodes, to the same instant. The relaxed parser goes through chrono's general format
/// machinery: about 120 ns a date against 25 ns, a tenth of a sample list's decode.
pub(crate) struct DateTimeSeed;

impl<'de> serde::de::DeserializeSeed<'de> for DateTimeSeed {
    type Value = crate::DateTime;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<crate::DateTime, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl serde::de::Visitor<'_> for DateTimeSeed {
    type Value = crate::DateTime;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an RFC 3339 date-time string")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<crate::DateTime, E> {
        match chrono::DateTime::parse_from_rfc3339(text) {
            Ok(time) => Ok(time.to_utc()),
            Err(_) => text.parse().map_err(E::custom),
        }
    }
}

/// The error for a field's key seen a second time, raised where the second value starts, so
/// that the failing path names the key (`projects[3].id`), not only the object. Generic over
/// the map alone: one copy per deserializer, not one per struct.
#[cold]
pub(crate) fn duplicate_field<'de, A: serde::de::MapAccess<'de>, T>(mut map: A, key: &'static str) -> Result<T, A::Error> {
    match map.next_value_seed(Duplicate(key)) {
        Ok(never) => match never {},
        Err(error) => Err(error),
    }
}

/// Fails as soon as it is asked for a value: see [`duplicate_field`].
struct Duplicate(&'static str);

impl<'de> serde::de::DeserializeSeed<'de> for Duplicate {
    type Value = std::convert::Infallible;

    fn deserialize<D: serde::Deserializer<'de>>(self, _: D) -> Result<Self::Value, D::Error> {
        Err(<D::Error as serde::de::Error>::duplicate_field(self.0))
    }
}

/// A seed's value or `null`, as `Option<T>`'s `Deserialize` reads `T`.
pub(crate) struct OrNull<S>(pub(crate) S);

impl<'de, S: serde::de::DeserializeSeed<'de>> serde::de::DeserializeSeed<'de> for OrNull<S> {
    type Value = Option<S::Value>;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, S: serde::de::DeserializeSeed<'de>> serde::de::Visitor<'de> for OrNull<S> {
    type Value = Option<S::Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a value or null")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(deserializer).map(Some)
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
///         created: "created" required date_time, // read by `DateTimeSeed`
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
/// A field's key seen twice is an error (`duplicate field `success``), as with serde's derive:
/// with last-one-wins, `{"success":false,...,"success":true}` would read as a success. The
/// check is a pattern test per field; the error is made once per struct, after the loop, by
/// [`duplicate_field`]. Unknown keys may repeat (they are skipped, or the last one is kept in
/// the `additional` map).
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

    (@serialize $name:ident { $($field:ident: $wire:literal $kind:ident $($codec:ident)?),* $(,)? } $($extra:ident)?) => {
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

    (@deserialize $name:ident { $($field:ident: $wire:literal $kind:ident $($codec:ident)?),* $(,)? } $($extra:ident)?) => {
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Fields;
                impl<'de> serde::de::Visitor<'de> for Fields {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a JSON object (`", stringify!($name), "`)"))
                    }
                    // `?` and `Option::is_some` are avoided on purpose: a pattern and a
                    // `match` need no trait or method resolution per field (see above).
                    #[allow(clippy::question_mark, clippy::redundant_pattern_matching)]
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                        $(let mut $field = None;)*
                        $(let mut $extra = std::collections::BTreeMap::new();)?
                        // `Some(key)` when a field's key comes a second time.
                        let duplicate = loop {
                            let key = match map.next_key::<$crate::codec::Key<'de>>() {
                                Ok(Some(key)) => key,
                                Ok(None) => break None,
                                Err(error) => return Err(error),
                            };
                            match key.as_str() {
                                $($wire => if let Some(_) = $field {
                                    break Some($wire);
                                } else {
                                    match $crate::codec::json_object!(@read map $kind $($codec)?) {
                                        Ok(value) => $field = Some(value),
                                        Err(error) => return Err(error),
                                    }
                                },)*
                                _ => $crate::codec::json_object!(@unknown map key $($extra)?),
                            }
                        };
                        if let Some(key) = duplicate {
                            return $crate::codec::duplicate_field(map, key);
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
    // A field's value: what its type's `Deserialize` reads, unless the table names a codec.
    // Every kind but `required` reads `Option<T>` (see `@finish`).
    (@read $map:ident $kind:ident) => { $map.next_value() };
    (@read $map:ident required date_time) => { $map.next_value_seed($crate::codec::DateTimeSeed) };
    (@read $map:ident $kind:ident date_time) => { $map.next_value_seed($crate::codec::OrNull($crate::codec::DateTimeSeed)) };
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

#[cfg(test)]
mod tests {
    use serde::de::DeserializeSeed;

    use super::{DateTimeSeed, OrNull};

    fn read(text: &str) -> Result<crate::DateTime, serde_json::Error> {
        DateTimeSeed.deserialize(&mut serde_json::Deserializer::from_str(&serde_json::to_string(text).unwrap()))
    }

    /// What chrono's own `Deserialize` makes of the same JSON string.
    fn read_by_chrono(text: &str) -> Result<crate::DateTime, serde_json::Error> {
        serde_json::from_str(&serde_json::to_string(text).unwrap())
    }

    #[test]
    fn date_times_read_as_chronos_own_deserialize_reads_them() {
        let forms = [
            "2024-05-01T10:00:00Z",
            "2024-05-01t10:00:00z",
            "2024-05-01T10:00:00.1Z",
            "2024-05-01T10:00:00.123456789Z",
            "2024-05-01T12:30:00.250+02:00",
            "2024-05-01T05:00:00-05:00",
            "2016-12-31T23:59:60Z",
            "2024-05-01 10:00:00Z",
            "2024-05-01T10:00:00 +02:00",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999Z",
        ];
        for text in forms {
            assert_eq!(read(text).unwrap(), read_by_chrono(text).unwrap(), "{text}");
        }
        for text in ["", "2024-05-01", "2024-13-01T10:00:00Z", "2024-05-01T10:00:00", "yesterday"] {
            assert_eq!(read(text).unwrap_err().to_string(), read_by_chrono(text).unwrap_err().to_string(), "{text}");
        }
        let error = DateTimeSeed.deserialize(&mut serde_json::Deserializer::from_str("17")).unwrap_err();
        assert!(error.to_string().contains("invalid type: integer `17`, expected an RFC 3339 date-time string"), "{error}");
    }

    #[test]
    fn or_null_reads_null_as_none_and_a_value_through_its_seed() {
        let read = |json: &str| OrNull(DateTimeSeed).deserialize(&mut serde_json::Deserializer::from_str(json));
        assert_eq!(read("null").unwrap(), None);
        assert_eq!(read(r#""2024-05-01T10:00:00Z""#).unwrap().map(|t| t.timestamp()), Some(1_714_557_600));
        assert!(read("[]").is_err());
    }
}
