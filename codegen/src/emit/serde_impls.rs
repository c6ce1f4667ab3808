//! `Serialize` and `Deserialize` for generated structs, written out instead of derived.
//!
//! Type-checking and borrow-checking serde's derives was most of the crate's compile time:
//! a derived `Deserialize` has a field enum, its own visitor, a sequence form and a map form.
//! What is emitted here is one map visitor per struct: a `match` on the key, one local per
//! field, nothing else, with the shared pieces in the runtime's `codec` module. It also
//! gives the behaviour the API needs: a struct decodes only from a JSON object, unknown keys
//! are skipped, an optional field that is absent stays apart from one that is `null`.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::models::free_name;
use crate::ir::Field;

/// Which directions a model needs; a direction it does not need is compiled only with the
/// `serde-all` feature.
#[derive(Clone, Copy)]
pub(super) struct Directions {
    pub serialize: bool,
    pub deserialize: bool,
}

/// A struct's `Serialize` and `Deserialize` impls. `additional` names the field that keeps
/// the properties beyond the declared ones.
pub(super) fn struct_impls(name: &Ident, fields: &[Field], additional: Option<&Ident>, directions: Directions) -> TokenStream {
    let serialize = gated(directions.serialize, serialize_struct(name, fields, additional));
    let deserialize = gated(directions.deserialize, deserialize_struct(name, fields, additional));
    quote!(#serialize #deserialize)
}

fn gated(needed: bool, item: TokenStream) -> TokenStream {
    if needed {
        item
    } else {
        quote!(#[cfg(feature = "serde-all")] #item)
    }
}

/// An object with the fields in declaration order; an absent optional field (`None`) is
/// left out, a required nullable one is written as `null`.
fn serialize_struct(name: &Ident, fields: &[Field], additional: Option<&Ident>) -> TokenStream {
    let entries = fields.iter().map(|f| {
        let field = format_ident!("{}", f.name);
        let wire = &f.wire;
        if f.required {
            quote!(object.serialize_entry(#wire, &self.#field)?;)
        } else {
            quote!(if let Some(value) = &self.#field { object.serialize_entry(#wire, value)?; })
        }
    });
    let extra = additional.map(|field| quote!(for (key, value) in &self.#field { object.serialize_entry(key, value)?; }));
    let object = match fields.is_empty() && additional.is_none() {
        true => quote!(object),
        false => quote!(mut object),
    };
    quote! {
        impl serde::Serialize for #name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap as _;
                let #object = serializer.serialize_map(None)?;
                #(#entries)*
                #extra
                object.end()
            }
        }
    }
}

/// A map visitor: each known key fills its field's local, unknown keys are skipped (or kept
/// in `additional`), then missing required fields are reported by their JSON name.
fn deserialize_struct(name: &Ident, fields: &[Field], additional: Option<&Ident>) -> TokenStream {
    // Locals are named after the fields, so the map and key must not collide with them.
    let map = format_ident!("{}", free_name("map", fields));
    let key = format_ident!("{}", free_name("key", fields));
    let locals = fields.iter().map(|f| format_ident!("{}", f.name));
    let arms = fields.iter().map(|f| {
        let field = format_ident!("{}", f.name);
        let wire = &f.wire;
        match (f.required, f.nullable) {
            (true, false) => quote!(#wire => #field = Some(#map.next_value()?),),
            // An `Option` field: `null` and absent are both `None`.
            (true, true) | (false, false) => quote!(#wire => #field = #map.next_value()?,),
            // `Option<Option<T>>`: absent stays `None`, `null` is `Some(None)`.
            (false, true) => quote!(#wire => #field = Some(#map.next_value()?),),
        }
    });
    let rest = match additional {
        Some(extra) => quote!(_ => { #extra.insert(#key.into_owned(), #map.next_value()?); }),
        None => quote!(_ => { #map.next_value::<serde::de::IgnoredAny>()?; }),
    };
    let extra_local = additional.map(|extra| quote!(let mut #extra = std::collections::BTreeMap::new();));
    let inits = fields.iter().map(|f| {
        let field = format_ident!("{}", f.name);
        let wire = &f.wire;
        if f.required && !f.nullable {
            quote!(#field: #field.ok_or_else(|| A::Error::missing_field(#wire))?)
        } else {
            quote!(#field)
        }
    });
    let extra_init = additional.map(|extra| quote!(#extra,));
    let expecting = format!("a JSON object (`{name}`)");
    // `missing_field` comes from serde's error trait.
    let error_trait = fields.iter().any(|f| f.required && !f.nullable).then(|| quote!(use serde::de::Error as _;));
    quote! {
        impl<'de> serde::Deserialize<'de> for #name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Fields;
                impl<'de> serde::de::Visitor<'de> for Fields {
                    type Value = #name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(#expecting)
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut #map: A) -> Result<#name, A::Error> {
                        #error_trait
                        #(let mut #locals = None;)*
                        #extra_local
                        while let Some(#key) = #map.next_key::<crate::codec::Key<'de>>()? {
                            match #key.as_str() {
                                #(#arms)*
                                #rest
                            }
                        }
                        Ok(#name { #(#inits,)* #extra_init })
                    }
                }
                deserializer.deserialize_map(Fields)
            }
        }
    }
}
