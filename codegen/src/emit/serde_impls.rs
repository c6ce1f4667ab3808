//! `Serialize` and `Deserialize` for generated structs, instead of serde's derives.
//!
//! Type-checking and borrow-checking serde's derives was most of the crate's compile time:
//! a derived `Deserialize` has a field enum, its own visitor, a sequence form and a map form.
//! A generated struct gets one map visitor instead: a `match` on the key, one local per
//! field, nothing else. The generator emits only the struct's field table; the runtime's
//! `codec::json_object!` macro (hand-written, `edge-impulse-api/src/codec.rs`) turns it into
//! the two impls, so the generated files stay small and readable. It also gives the
//! behaviour the API needs: a struct decodes only from a JSON object, unknown keys are
//! skipped, an optional field that is absent stays apart from one that is `null`.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use std::collections::HashMap;

use crate::ir::{Field, TypeDef, TypeRef};

/// Which directions a model needs; a direction it does not need is compiled only with the
/// `serde-all` feature.
#[derive(Clone, Copy)]
pub(super) struct Directions {
    pub serialize: bool,
    pub deserialize: bool,
}

/// A struct's `Serialize` and `Deserialize` impls: an invocation of the runtime's
/// `codec::json_object!` with the struct's field table. `additional` names the field that
/// keeps the properties beyond the declared ones.
pub(super) fn struct_impls(
    name: &Ident,
    fields: &[Field],
    additional: Option<&Ident>,
    directions: Directions,
    index: &HashMap<&str, &TypeDef>,
) -> TokenStream {
    let rows = fields.iter().map(|f| {
        let field = format_ident!("{}", f.name);
        let wire = &f.wire;
        let kind = match (f.required, f.nullable) {
            (true, false) => quote!(required),
            (true, true) => quote!(nullable),
            (false, false) => quote!(optional),
            (false, true) => quote!(optional_nullable),
        };
        // A value with a codec of its own in the runtime gets it named (see `codec.rs`).
        let codec = is_date_time(&f.ty, index).then(|| quote!(date_time));
        quote!(#field: #wire #kind #codec,)
    });
    let additional = additional.map(|field| quote!(additional: #field,));
    let gate = |needed: bool| if needed { quote!(always) } else { quote!(serde_all) };
    let (serialize, deserialize) = (gate(directions.serialize), gate(directions.deserialize));
    quote! {
        crate::codec::json_object! {
            #name { #(#rows)* }
            #additional
            serialize: #serialize,
            deserialize: #deserialize,
        }
    }
}

/// Whether a field's value is a date-time, directly or through aliases of one.
fn is_date_time(ty: &TypeRef, index: &HashMap<&str, &TypeDef>) -> bool {
    matches!(ty.through_aliases(index), TypeRef::DateTime)
}

/// The first line of a `json_object!` invocation as prettyplease prints it.
const INVOCATION: &str = "crate::codec::json_object! {";

/// prettyplease prints a macro's tokens as one flowing paragraph; this lays out each
/// `json_object!` invocation as a table instead, one field per line.
pub(super) fn layout_invocations(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut lines = code.lines();
    while let Some(line) = lines.next() {
        out.push_str(line);
        out.push('\n');
        if line != INVOCATION {
            continue;
        }
        let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "}").collect();
        match body.join("\n").parse::<TokenStream>() {
            Ok(tokens) => out.push_str(&table(tokens)),
            // Not expected: prettyplease printed tokens that parsed before; keep them as printed.
            Err(_) => body.iter().for_each(|l| {
                out.push_str(l);
                out.push('\n');
            }),
        }
        out.push_str("}\n");
    }
    out
}

/// `Name { field: "wire" kind, ... } key: value, ...`, one row per line.
fn table(tokens: TokenStream) -> String {
    let mut out = String::new();
    let mut tokens = tokens.into_iter().peekable();
    if let (Some(name), Some(proc_macro2::TokenTree::Group(fields))) = (tokens.next(), tokens.next()) {
        out.push_str(&format!("    {name} {{\n"));
        for row in rows(fields.stream()) {
            out.push_str(&format!("        {row},\n"));
        }
        out.push_str("    }\n");
    }
    for row in rows(tokens.collect()) {
        out.push_str(&format!("    {row},\n"));
    }
    out
}

/// Comma-separated rows of `a: b c`, each printed with single spaces and no space before `:`.
fn rows(tokens: TokenStream) -> Vec<String> {
    let mut rows = vec![String::new()];
    for token in tokens {
        let text = token.to_string();
        let row = rows.last_mut().expect("never empty");
        match text.as_str() {
            "," => rows.push(String::new()),
            ":" => row.push(':'),
            _ => {
                if !row.is_empty() {
                    row.push(' ');
                }
                row.push_str(&text);
            }
        }
    }
    rows.retain(|r| !r.is_empty());
    rows
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::is_date_time;
    use crate::ir::{TypeDef, TypeKind, TypeRef};

    fn alias(name: &str, target: TypeRef) -> TypeDef {
        TypeDef { name: name.into(), pointer: format!("#/components/schemas/{name}"), doc: None, kind: TypeKind::Alias(target) }
    }

    #[test]
    fn a_date_time_is_found_through_aliases_and_an_alias_cycle_ends() {
        let defs = [
            alias("Expiry", TypeRef::Named("Moment".into())),
            alias("Moment", TypeRef::DateTime),
            alias("Label", TypeRef::String),
            alias("Loop", TypeRef::Named("Loop2".into())),
            alias("Loop2", TypeRef::Named("Loop".into())),
        ];
        let index: HashMap<&str, &TypeDef> = defs.iter().map(|t| (t.name.as_str(), t)).collect();
        assert!(is_date_time(&TypeRef::DateTime, &index));
        assert!(is_date_time(&TypeRef::Named("Expiry".into()), &index));
        assert!(!is_date_time(&TypeRef::Named("Label".into()), &index));
        assert!(!is_date_time(&TypeRef::Named("Missing".into()), &index));
        assert!(!is_date_time(&TypeRef::Vec(Box::new(TypeRef::DateTime)), &index), "a list of dates keeps chrono's own impl");
        assert!(!is_date_time(&TypeRef::Named("Loop".into()), &index));
    }
}
