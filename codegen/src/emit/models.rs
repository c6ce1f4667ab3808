//! `generated/models/`: one Rust type per named schema.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::serde_impls::{self, Directions};
use super::{doc_lines, json_type_doc, raw_doc_lines, rust_type, spec_or_known_doc, wire_doc};
use crate::ir::{visit_types, Api, Body, Field, TypeDef, TypeKind, TypeRef};
use crate::Error;

/// The models, split into one module per tag (types only that tag's operations use) and a
/// `common` module for the rest; `models` re-exports them all flat. Splitting keeps each
/// file reviewable, lets the generator format files in parallel, and gates each tag's types
/// behind that tag's cargo feature (computed in `ir::features`).
pub(super) struct Models<'a> {
    /// Part name -> the cargo feature that gates it (none for the shared part).
    gates: HashMap<String, String>,
    index: HashMap<&'a str, &'a TypeDef>,
    request_types: HashSet<&'a str>,
    response_types: HashSet<&'a str>,
    /// Part (module) name -> its types, in name order.
    parts: BTreeMap<String, Vec<&'a TypeDef>>,
    /// Shared type name -> the features any one of which compiles it.
    shared_gates: HashMap<&'a str, &'a BTreeSet<String>>,
    /// The public path of these models, for doc links (`crate::models`).
    doc_path: String,
}

impl<'a> Models<'a> {
    pub fn new(api: &'a Api) -> Self {
        let index: HashMap<&str, &TypeDef> = api.types.iter().map(|t| (t.name.as_str(), t)).collect();
        let request_types = request_reachable(api, &index);
        let mut response_types = response_reachable(api, &index);
        // Schemas no operation uses are still generated; they read like answers, and what they
        // contain must then derive Deserialize too.
        let unused: Vec<TypeRef> = api
            .types
            .iter()
            .filter(|t| !request_types.contains(t.name.as_str()) && !response_types.contains(t.name.as_str()))
            .map(|t| TypeRef::Named(t.name.clone()))
            .collect();
        visit_types(unused.iter().collect(), &index, |name| response_types.insert(name));
        let common = if api.groups.iter().any(|g| g.module == "common") { "common_types" } else { "common" };
        let mut parts: BTreeMap<String, Vec<&TypeDef>> = BTreeMap::new();
        let mut gates = HashMap::new();
        for t in &api.types {
            let part = match api.features.owner(&t.name) {
                Some(group) => {
                    let group = &api.groups[group];
                    gates.insert(group.module.clone(), api.feature_of(group));
                    group.module.clone()
                }
                None => common.to_string(),
            };
            parts.entry(part).or_default().push(t);
        }
        let shared_gates = api
            .types
            .iter()
            .filter_map(|t| Some((t.name.as_str(), api.features.gate(&t.name)?)))
            .collect();
        Models { gates, index, request_types, response_types, parts, shared_gates, doc_path: api.service.models_doc_path() }
    }

    /// Part names, biggest first (they take longest to format).
    pub fn parts(&self) -> impl Iterator<Item = &str> {
        let mut names: Vec<&str> = self.parts.keys().map(String::as_str).collect();
        names.sort_by_key(|n| std::cmp::Reverse(self.parts[*n].len()));
        names.into_iter()
    }

    pub fn root_module(&self) -> TokenStream {
        let parts = self.parts.keys().map(|p| {
            let module = format_ident!("{}", p);
            match self.gates.get(p) {
                Some(feature) => quote! {
                    #[cfg(feature = #feature)] mod #module;
                    #[cfg(feature = #feature)] pub use #module::*;
                },
                None => quote!(mod #module; pub use #module::*;),
            }
        });
        quote! {
            //! Request and response types, one per schema of the spec, re-exported flat.
            //!
            //! Each type's documentation ends with the JSON pointer of the schema it comes from.
            //! Types used by the operations of one tag only live in that tag's module, compiled
            //! with that tag's cargo feature; the others in `common`, each compiled with the
            //! features of the tags that use it (always, for those the runtime names without a
            //! feature and those no operation uses).

            #(#parts)*
        }
    }

    pub fn part_module(&self, part: &str) -> Result<TokenStream, Error> {
        let mut items = Vec::new();
        for t in &self.parts[part] {
            let usage = Usage {
                request: self.request_types.contains(t.name.as_str()),
                response: self.response_types.contains(t.name.as_str()),
            };
            let item = type_item(t, &self.index, usage, &self.doc_path);
            items.push(match self.shared_gates.get(t.name.as_str()) {
                Some(features) => gated(item, features).map_err(|e| Error {
                    location: format!("{} (models/{part}.rs)", t.pointer),
                    message: format!("generator bug: the items of type `{}` do not parse: {e}", t.name),
                })?,
                None => item,
            });
        }
        Ok(quote! {
            // Constructors take every required field, however many the schema has.
            #![allow(clippy::too_many_arguments)]
            // Spec descriptions are prose, not rustdoc; they are escaped but not reflowed.
            #![allow(clippy::doc_lazy_continuation, clippy::doc_overindented_list_items)]
            // Union variants mirror the spec's alternatives; boxing the big ones would make
            // every match on them clumsier for a few hundred bytes.
            #![allow(clippy::large_enum_variant)]

            #[allow(unused_imports)]
            use super::*;

            #(#items)*
        })
    }
}

/// A type's items (the type, its impls, its macro invocations), each compiled only with one
/// of `features`.
fn gated(items: TokenStream, features: &BTreeSet<String>) -> syn::Result<TokenStream> {
    let file: syn::File = syn::parse2(items)?;
    let features = features.iter();
    let gate = quote!(#[cfg(any(#(feature = #features),*))]);
    let items = file.items.iter().map(|item| quote!(#gate #item));
    Ok(quote!(#(#items)*))
}

/// Where a type is used, which decides the serde derives it needs.
#[derive(Clone, Copy)]
struct Usage {
    request: bool,
    response: bool,
}

impl Usage {
    /// Serialize where a request needs it, Deserialize where a response does: type-checking
    /// serde impls is most of the crate's compile time, and most types travel one way only.
    /// The `serde-all` feature adds the other direction everywhere.
    fn directions(self) -> Directions {
        Directions { serialize: self.request, deserialize: self.response || !self.request }
    }
}

/// The derives of a model. `Default` where every field is optional, so such request bodies
/// read `X { field: Some(..), ..Default::default() }`. Structs get their serde impls from
/// [`serde_impls`]; unions derive them (`serde_derives`).
fn derives(usage: Usage, all_optional: bool, serde_derives: bool) -> TokenStream {
    let mut always = vec![quote!(Debug), quote!(Clone), quote!(PartialEq)];
    if all_optional {
        always.push(quote!(Default));
    }
    let mut optional = Vec::new();
    if serde_derives {
        let directions = usage.directions();
        for (wanted, derive) in [(directions.serialize, quote!(serde::Serialize)), (directions.deserialize, quote!(serde::Deserialize))] {
            if wanted { always.push(derive) } else { optional.push(derive) }
        }
    }
    let optional = (!optional.is_empty()).then(|| quote!(#[cfg_attr(feature = "serde-all", derive(#(#optional),*))]));
    quote!(#[derive(#(#always),*)] #optional)
}

fn type_item(t: &TypeDef, index: &HashMap<&str, &TypeDef>, usage: Usage, doc_path: &str) -> TokenStream {
    let in_requests = usage.request;
    let all_optional = matches!(&t.kind, TypeKind::Struct { fields, .. } if fields.iter().all(|f| !f.required));
    let serde_derives = matches!(&t.kind, TypeKind::Untagged { .. } | TypeKind::Tagged { .. });
    let derives = derives(usage, all_optional, serde_derives);
    let name = format_ident!("{}", t.name);
    let mut doc = doc_lines(t.doc.as_deref().unwrap_or(""));
    let pointer_line = format!("Schema: `{}`", t.pointer);
    if doc.is_empty() {
        doc = raw_doc_lines(&pointer_line);
    } else {
        doc.extend(raw_doc_lines(&format!("\n{pointer_line}")));
    }
    let models = TokenStream::new();
    match &t.kind {
        TypeKind::Struct { fields, additional, envelope } => {
            let boxed = |f: &Field| reaches(&f.ty, &t.name, index, &mut HashSet::new());
            let mut field_items: Vec<TokenStream> = fields.iter().map(|f| struct_field(f, boxed(f), doc_path)).collect();
            let additional_field = additional.as_ref().map(|_| format_ident!("{}", free_name("additional_properties", fields)));
            if let (Some(additional), Some(field)) = (additional, &additional_field) {
                let value = rust_type(additional, &models);
                field_items.push(quote! {
                    /// Properties beyond the declared ones.
                    pub #field: std::collections::BTreeMap<String, #value>,
                });
            }
            let serde_impls = serde_impls::struct_impls(&name, fields, additional_field.as_ref(), usage.directions(), index);
            let builders = in_requests.then(|| builders(&name, fields, additional.as_ref(), &boxed));
            let envelope = match envelope {
                Some((success, error)) => {
                    let success = format_ident!("{}", success);
                    let message = match error {
                        Some(error) => {
                            let error = format_ident!("{}", error);
                            quote!(self.#error.as_deref().unwrap_or(""))
                        }
                        None => quote!(""),
                    };
                    quote! {
                        impl crate::Envelope for #name {
                            fn api_error(&self) -> Option<&str> {
                                if self.#success { None } else { Some(#message) }
                            }
                        }
                    }
                }
                None => quote!(impl crate::Envelope for #name {}),
            };
            quote! {
                #doc
                #derives
                #[non_exhaustive]
                pub struct #name { #(#field_items)* }
                #builders
                #serde_impls
                #envelope
            }
        }
        TypeKind::Enum { variants, catch_all } => {
            let idents: Vec<_> = variants.iter().map(|v| format_ident!("{}", v.name)).collect();
            let wires: Vec<_> = variants.iter().map(|v| v.wire.as_str()).collect();
            let variant_docs = wires.iter().map(|w| match w.is_empty() {
                // Empty backticks would render as literal backticks.
                true => " The empty string.".to_string(),
                false => format!(" `{}`", w.replace('`', "'")),
            });
            let catch_all = format_ident!("{}", catch_all);
            quote! {
                #doc
                #[derive(Debug, Clone, PartialEq, Eq, Hash)]
                #[non_exhaustive]
                pub enum #name {
                    #(#[doc = #variant_docs] #idents,)*
                    /// A value this version of the client does not know yet.
                    #catch_all(String),
                }
                impl #name {
                    /// The value as it appears on the wire.
                    pub fn as_str(&self) -> &str {
                        match self { #(Self::#idents => #wires,)* Self::#catch_all(other) => other }
                    }
                }
                impl From<&str> for #name {
                    fn from(value: &str) -> Self {
                        match value { #(#wires => Self::#idents,)* other => Self::#catch_all(other.to_owned()) }
                    }
                }
                crate::string_enum_impls!(#name);
            }
        }
        TypeKind::Untagged { variants } => {
            let idents: Vec<_> = variants.iter().map(|v| format_ident!("{}", v.name)).collect();
            let types = variants.iter().map(|v| boxed_type(&v.ty, &t.name, index));
            let variant_docs = variants.iter().map(|v| raw_doc_lines(&format!("Alternative: {}", json_type_doc(&v.ty, doc_path))));
            quote! {
                #doc
                ///
                /// Variants are tried in order, the one with the most required properties first.
                #derives
                #[serde(untagged)]
                #[non_exhaustive]
                pub enum #name { #(#variant_docs #idents(#types),)* }
                impl crate::Envelope for #name {
                    fn api_error(&self) -> Option<&str> {
                        match self { #(Self::#idents(value) => crate::Envelope::api_error(value),)* }
                    }
                }
            }
        }
        TypeKind::Tagged { property, variants } => {
            let idents: Vec<_> = variants.iter().map(|v| format_ident!("{}", v.name)).collect();
            let tags = variants.iter().map(|v| v.tag.as_str());
            let types = variants.iter().map(|v| boxed_type(&v.ty, &t.name, index));
            let variant_docs = variants.iter().map(|v| raw_doc_lines(&wire_doc(&v.tag, &format!("as `{property}` in the JSON"), &v.ty, false, doc_path)));
            quote! {
                #doc
                #derives
                #[serde(tag = #property)]
                #[non_exhaustive]
                pub enum #name { #(#variant_docs #[serde(rename = #tags)] #idents(#types),)* }
                impl crate::Envelope for #name {
                    fn api_error(&self) -> Option<&str> {
                        match self { #(Self::#idents(value) => crate::Envelope::api_error(value),)* }
                    }
                }
            }
        }
        TypeKind::Alias(target) => {
            let target = rust_type(target, &models);
            quote! { #doc pub type #name = #target; }
        }
        TypeKind::Multipart { fields } => {
            // A form field is there or not; `null` has no meaning in a form.
            let fields: &Vec<Field> = &fields.iter().cloned().map(|f| Field { nullable: false, ..f }).collect();
            let default = fields.iter().all(|f| !f.required).then(|| quote!(Default,));
            let field_items = fields.iter().map(|f| {
                let field = format_ident!("{}", f.name);
                let ty = field_type(f, false);
                let doc = spec_or_known_doc(f.doc.as_deref(), || wire_doc(&f.wire, "in the form", &f.ty, false, doc_path));
                quote!(#doc pub #field: #ty,)
            });
            let parts = fields.iter().map(multipart_part);
            let builders = builders(&name, fields, None, &|_| false);
            quote! {
                #doc
                ///
                /// Sent as `multipart/form-data`.
                #[derive(Debug, Clone, #default)]
                #[non_exhaustive]
                pub struct #name { #(#field_items)* }
                #builders
                impl crate::multipart::ToMultipart for #name {
                    fn to_multipart(&self, form: &mut crate::multipart::MultipartForm) {
                        #(#parts)*
                    }
                }
            }
        }
    }
}

fn free_name(desired: &str, fields: &[Field]) -> String {
    let mut name = desired.to_string();
    while fields.iter().any(|f| f.name == name) {
        name.push('_');
    }
    name
}

/// The field's Rust type: `Option` for optional or nullable, both for optional nullable.
fn field_type(f: &Field, boxed: bool) -> TokenStream {
    let mut ty = rust_type(&f.ty, &TokenStream::new());
    if boxed {
        ty = quote!(Box<#ty>);
    }
    match (f.required, f.nullable) {
        (true, false) => ty,
        (true, true) | (false, false) => quote!(Option<#ty>),
        (false, true) => quote!(Option<Option<#ty>>),
    }
}

/// A struct field; its wire name and how `null` and absence read are in its serde impls.
fn struct_field(f: &Field, boxed: bool, doc_path: &str) -> TokenStream {
    let name = format_ident!("{}", f.name);
    let ty = field_type(f, boxed);
    let doc = spec_or_known_doc(f.doc.as_deref(), || wire_doc(&f.wire, "in the JSON", &f.ty, f.nullable, doc_path));
    quote!(#doc pub #name: #ty,)
}

/// `new` and the setters: how a caller builds a request. The struct is `#[non_exhaustive]`,
/// so a property that upstream adds later breaks no caller's code.
fn builders(name: &proc_macro2::Ident, fields: &[Field], additional: Option<&TypeRef>, boxed: &dyn Fn(&Field) -> bool) -> TokenStream {
    let constructor = constructor(fields, additional.is_some(), boxed);
    let setters = setters(fields, additional, boxed);
    quote! { impl #name { #constructor #(#setters)* } }
}

/// `new` with every required field; optional ones start as `None`.
fn constructor(fields: &[Field], additional: bool, boxed: &dyn Fn(&Field) -> bool) -> TokenStream {
    let args = fields.iter().filter(|f| f.required).map(|f| {
        let name = format_ident!("{}", f.name);
        let ty = field_type(f, false);
        quote!(#name: #ty)
    });
    let inits = fields.iter().map(|f| {
        let name = format_ident!("{}", f.name);
        match (f.required, boxed(f), f.nullable) {
            (false, _, _) => quote!(#name: None),
            (true, false, _) => quote!(#name),
            (true, true, false) => quote!(#name: Box::new(#name)),
            (true, true, true) => quote!(#name: #name.map(Box::new)),
        }
    });
    let extra = additional.then(|| {
        let field = format_ident!("{}", free_name("additional_properties", fields));
        quote!(#field: Default::default(),)
    });
    quote! {
        /// Builds the value from its required fields; optional fields start as `None`.
        pub fn new(#(#args),*) -> Self { Self { #(#inits,)* #extra } }
    }
}

/// A chainable setter per optional field, named like the field, taking the value itself
/// (`Some` is added; for a nullable field, set `Some(None)` on the field to send `null`).
fn setters(fields: &[Field], additional: Option<&TypeRef>, boxed: &dyn Fn(&Field) -> bool) -> Vec<TokenStream> {
    let mut methods: Vec<TokenStream> = fields
        .iter()
        .filter(|f| !f.required)
        .map(|f| {
            let field = format_ident!("{}", f.name);
            let method = format_ident!("{}", setter_name(&f.name));
            let plain = rust_type(&f.ty, &TokenStream::new());
            let (arg, value) = match &f.ty {
                TypeRef::String | TypeRef::Secret => (quote!(impl Into<#plain>), quote!(value.into())),
                _ => (plain, quote!(value)),
            };
            let value = if boxed(f) { quote!(Box::new(#value)) } else { value };
            let value = if f.nullable { quote!(Some(Some(#value))) } else { quote!(Some(#value)) };
            let doc = format!(" Sets `{}`.", f.wire.replace('`', "'"));
            quote! {
                #[doc = #doc]
                pub fn #method(mut self, value: #arg) -> Self { self.#field = #value; self }
            }
        })
        .collect();
    if let Some(additional) = additional {
        let field = format_ident!("{}", free_name("additional_properties", fields));
        let method = format_ident!("{}", free_name("additional_property", fields));
        let value = rust_type(additional, &TokenStream::new());
        methods.push(quote! {
            /// Adds a property beyond the declared ones.
            pub fn #method(mut self, name: impl Into<String>, value: #value) -> Self {
                self.#field.insert(name.into(), value);
                self
            }
        });
    }
    methods
}

/// A setter is named like its field; `new` is the constructor's.
pub(super) fn setter_name(field: &str) -> String {
    match field {
        "new" => "with_new".to_string(),
        other => other.to_string(),
    }
}

fn multipart_part(f: &Field) -> TokenStream {
    let name = format_ident!("{}", f.name);
    let wire = &f.wire;
    let add = |value: TokenStream, ty: &TypeRef| match ty {
        TypeRef::File => quote!(form.file(#wire, #value);),
        TypeRef::Vec(inner) if **inner == TypeRef::File => quote!(for file in #value { form.file(#wire, file); }),
        // A list of plain values is one part per item (OpenAPI 3.0: a multipart array takes
        // its items' content type), as browsers and `curl -F` send it; not one JSON part.
        TypeRef::Vec(inner)
            if matches!(
                **inner,
                TypeRef::Bool | TypeRef::I32 | TypeRef::I64 | TypeRef::F64 | TypeRef::String | TypeRef::Secret | TypeRef::DateTime | TypeRef::Date
            ) =>
        {
            quote!(for item in #value { form.text(#wire, item); })
        }
        TypeRef::Bool | TypeRef::I32 | TypeRef::I64 | TypeRef::F64 | TypeRef::String | TypeRef::Secret | TypeRef::DateTime | TypeRef::Date => {
            quote!(form.text(#wire, #value);)
        }
        TypeRef::Named(_) => quote!(form.text(#wire, #value);),
        _ => quote!(form.json(#wire, #value);),
    };
    match (f.required, f.nullable) {
        (true, false) => add(quote!(&self.#name), &f.ty),
        (false, true) => {
            let inner = add(quote!(value), &f.ty);
            quote!(if let Some(Some(value)) = &self.#name { #inner })
        }
        _ => {
            let inner = add(quote!(value), &f.ty);
            quote!(if let Some(value) = &self.#name { #inner })
        }
    }
}

fn boxed_type(ty: &TypeRef, owner: &str, index: &HashMap<&str, &TypeDef>) -> TokenStream {
    let spelled = rust_type(ty, &TokenStream::new());
    if reaches(ty, owner, index, &mut HashSet::new()) { quote!(Box<#spelled>) } else { spelled }
}

/// Whether a value of `ty` contains a `target` by value (not behind a `Vec` or map): such a
/// field must be boxed or the type would be infinitely large.
fn reaches(ty: &TypeRef, target: &str, index: &HashMap<&str, &TypeDef>, seen: &mut HashSet<String>) -> bool {
    let name = match ty {
        TypeRef::Named(name) => name,
        TypeRef::Nullable(inner) => return reaches(inner, target, index, seen),
        _ => return false,
    };
    if name == target {
        return true;
    }
    if !seen.insert(name.clone()) {
        return false;
    }
    match index.get(name.as_str()).map(|t| &t.kind) {
        Some(TypeKind::Struct { fields, .. }) => fields.iter().any(|f| reaches(&f.ty, target, index, seen)),
        Some(TypeKind::Untagged { variants }) => variants.iter().any(|v| reaches(&v.ty, target, index, seen)),
        Some(TypeKind::Tagged { variants, .. }) => variants.iter().any(|v| reaches(&v.ty, target, index, seen)),
        Some(TypeKind::Alias(inner)) => reaches(inner, target, index, seen),
        _ => false,
    }
}

/// Types an answer may contain: everything reachable from a JSON response.
fn response_reachable<'a>(api: &'a Api, index: &HashMap<&str, &'a TypeDef>) -> HashSet<&'a str> {
    let mut found = HashSet::new();
    let responses = api.groups.iter().flat_map(|g| &g.operations).filter_map(|op| match &op.response {
        crate::ir::Response::Json(ty) => Some(ty),
        _ => None,
    });
    visit_types(responses.collect(), index, |name| found.insert(name));
    found
}

/// Types a caller may have to build: everything reachable from a request body.
fn request_reachable<'a>(api: &'a Api, index: &HashMap<&str, &'a TypeDef>) -> HashSet<&'a str> {
    let mut found = HashSet::new();
    let bodies = api.groups.iter().flat_map(|g| &g.operations).filter_map(|op| match &op.body {
        Some(Body::Json { ty, .. } | Body::Multipart { ty, .. }) => Some(ty),
        _ => None,
    });
    visit_types(bodies.collect(), index, |name| found.insert(name));
    found
}
