//! `tests/conformance/generated.rs`: one conformance case per operation.
//!
//! Each case calls its operation through the generated client with the IR's example values
//! (valid against the spec) for every required parameter and for the body. JSON values are
//! written as JSON text and decoded into the typed argument when the test runs, so the test
//! also exercises the models' serde code. Where the example makes it possible, a second call
//! sends a request the spec forbids, to check how a rejection surfaces.
//!
//! The hand-written harness next to the generated file (`support.rs`) provides `Case`,
//! `Call`, and the small helpers the cases use.

use std::collections::HashMap;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use super::raw_doc_lines;
use crate::ir::{Api, Body, Example, Field, Group, Location, Operation, Param, Response, TypeDef, TypeKind, TypeRef};

/// Value that a rejection case puts into a typed query parameter: no integer, number,
/// boolean or enum accepts it.
const INVALID_PARAM_VALUE: &str = "conformance-invalid-value";

pub(super) fn conformance_module(api: &Api) -> TokenStream {
    let types: HashMap<&str, &TypeDef> = api.types.iter().map(|t| (t.name.as_str(), t)).collect();
    let schemes = api.schemes.iter().map(|s| {
        let name = &s.spec_name;
        let param = &s.param_name;
        let location = match s.location {
            Location::Header => quote!(SchemeLocation::Header),
            Location::Cookie => quote!(SchemeLocation::Cookie),
            Location::Query | Location::Path => quote!(SchemeLocation::Query),
        };
        let credential = super::credential_variant(s.credential);
        quote!(Scheme { name: #name, location: #location, param: #param, credential: Credential::#credential })
    });
    let mut cases = Vec::new();
    let mut functions = Vec::new();
    for group in &api.groups {
        for op in &group.operations {
            let case = CaseBuilder { types: &types, group, op };
            let (entry, items) = case.build();
            cases.push(entry);
            functions.push(items);
        }
    }
    let header = format!(" Conformance cases for {} {}: one per operation, in tag order.", api.title, api.version);
    quote! {
        #![doc = #header]
        //!
        //! Arguments are the generator's examples for each schema (the spec's own example where
        //! it is valid). Run through `cargo xtask test`; see `main.rs`.

        // Deprecated operations are part of the spec and are called like the others.
        #![allow(deprecated)]
        #![allow(clippy::all)]

        #[allow(unused_imports)]
        use edge_impulse_api::{apis, models, Client};

        #[allow(unused_imports)]
        use super::support::{
            decode, file_part, json_value, read_download, rejected, typed, unbuildable, Call, Case, Credential, Done, Expect, Rejection,
            Scheme, SchemeLocation,
        };

        /// The spec's security schemes; `Case::security` refers to them by index.
        pub static SCHEMES: &[Scheme] = &[#(#schemes),*];

        pub static CASES: &[Case] = &[#(#cases),*];

        #(#functions)*
    }
}

struct CaseBuilder<'a> {
    types: &'a HashMap<&'a str, &'a TypeDef>,
    group: &'a Group,
    op: &'a Operation,
}

/// One call's statements: arguments bound to locals, then the call expression.
struct CallTokens {
    setup: TokenStream,
    call: TokenStream,
}

impl CaseBuilder<'_> {
    /// The `Case { .. }` entry and the functions it points at.
    fn build(&self) -> (TokenStream, TokenStream) {
        let op = self.op;
        let fn_name = format_ident!("op_{}_{}", self.group.module, op.method_name);
        let id = &op.id;
        let method = &op.http_method;
        let path = &op.path;
        let security = op.security.iter().map(|all| {
            let all = all.iter().map(|&i| proc_macro2::Literal::usize_unsuffixed(i));
            quote!(&[#(#all),*])
        });
        let expect = match op.response {
            Response::Json(_) => quote!(Expect::Json),
            Response::Empty => quote!(Expect::Empty),
            Response::Binary(_) => quote!(Expect::Binary),
            Response::Redirect => quote!(Expect::Redirect),
        };
        let decode = match &op.response {
            Response::Json(ty) => {
                let ty = test_type(ty);
                quote!(Some(decode::<#ty>))
            }
            _ => quote!(None),
        };
        let doc = raw_doc_lines(&format!("`{} {}` (`{}`)", op.http_method, op.path, op.pointer));
        let mut items = TokenStream::new();
        match self.call() {
            Ok(CallTokens { setup, call }) => {
                let finish = match op.response {
                    Response::Json(_) | Response::Empty => quote!(#call.await?; Ok(Done::Decoded)),
                    Response::Binary(_) => quote!(read_download(#call.await?).await),
                    Response::Redirect => quote!(Ok(Done::Redirected(#call.await?))),
                };
                items.extend(quote! {
                    #doc
                    fn #fn_name(c_: &Client) -> Call<'_> {
                        Box::pin(async move {
                            #setup
                            #finish
                        })
                    }
                });
            }
            Err(problem) => items.extend(quote! {
                #doc
                fn #fn_name(_: &Client) -> Call<'_> {
                    unbuildable(#problem)
                }
            }),
        }
        let rejection = match self.rejection() {
            Some((field, tokens)) => {
                let reject_name = format_ident!("reject_{}_{}", self.group.module, op.method_name);
                let doc = raw_doc_lines(&format!("`{} {}` with an invalid `{field}`.", op.http_method, op.path));
                items.extend(quote! {
                    #doc
                    fn #reject_name(c_: &Client) -> Call<'_> {
                        Box::pin(async move { #tokens })
                    }
                });
                quote!(Some(Rejection { field: #field, call: #reject_name }))
            }
            None => quote!(None),
        };
        let entry = quote! {
            Case {
                id: #id,
                method: #method,
                path: #path,
                security: &[#(#security),*],
                expect: #expect,
                decode: #decode,
                call: #fn_name,
                rejection: #rejection,
            }
        };
        (entry, items)
    }

    /// The statements that bind the arguments, and the call returning the operation's
    /// request (a `Request` or the `...Call` builder).
    fn call(&self) -> Result<CallTokens, String> {
        let op = self.op;
        let module = format_ident!("{}", self.group.module);
        let method = format_ident!("{}", op.method_name);
        let mut setup = TokenStream::new();
        let mut args = Vec::new();
        for p in op.positional_params() {
            let value = example_of(p)?;
            let ident = format_ident!("{}", p.name);
            let (bound, passed) = argument(&p.ty, value, &ident).map_err(|e| format!("parameter `{}`: {e}", p.wire))?;
            setup.extend(quote!(let #ident = #bound;));
            args.push(passed);
        }
        if let Some(params_struct) = &op.required_params_struct {
            let ty = format_ident!("{}", params_struct);
            let mut fields = Vec::new();
            for p in op.grouped_params() {
                let value = example_of(p)?;
                let name = format_ident!("{}", p.name);
                let owned = owned(&p.ty, value).map_err(|e| format!("parameter `{}`: {e}", p.wire))?;
                fields.push(quote!(#name: #owned));
            }
            setup.extend(quote!(let params = apis::#module::#ty { #(#fields),* };));
            args.push(quote!(params));
        }
        let mut optional_body = TokenStream::new();
        if let Some(body) = &op.body {
            let value = self.body_value(body)?;
            setup.extend(quote!(let body = #value;));
            let passed = match body {
                Body::Json { .. } => quote!(&body),
                Body::Multipart { .. } | Body::Raw { .. } => quote!(body),
            };
            if body.required() {
                args.push(passed);
            } else {
                optional_body = quote!(.body(#passed));
            }
        }
        Ok(CallTokens { setup, call: quote!(c_.#module().#method(#(#args),*)#optional_body) })
    }

    /// The body argument: JSON decoded into the typed body, a multipart struct, raw bytes.
    fn body_value(&self, body: &Body) -> Result<TokenStream, String> {
        match body {
            Body::Json { ty, example, .. } => {
                let example = example.as_ref().ok_or("body: no valid value could be built from its schema")?;
                let ty = test_type(ty);
                let text = json_literal(&example.value);
                Ok(quote!(typed::<#ty>(#text)?))
            }
            Body::Multipart { ty, example, .. } => {
                let example = example.as_ref().ok_or("body: no valid value could be built from its schema")?;
                self.multipart_value(ty, &example.value)
            }
            Body::Raw { content_types, .. } => match content_types.as_slice() {
                [_] => Ok(quote!(b"conformance".to_vec().into())),
                accepted => {
                    let first = &accepted[0];
                    Ok(quote!(edge_impulse_api::TypedBody::new(#first, b"conformance".to_vec())))
                }
            },
        }
    }

    /// `models::X::new(required...)` and a setter per optional field the example has: the way
    /// a user builds a (non-exhaustive) form.
    fn multipart_value(&self, ty: &TypeRef, value: &Value) -> Result<TokenStream, String> {
        let (path, fields) = self.multipart_fields(ty).ok_or("body: multipart type without fields")?;
        let mut args = Vec::new();
        let mut setters = Vec::new();
        for f in fields {
            let given = value.get(&f.wire).filter(|v| !v.is_null());
            let given = given.map(|v| owned(&f.ty, v).map_err(|e| format!("body field `{}`: {e}", f.wire))).transpose()?;
            match (f.required, given) {
                (true, Some(v)) => args.push(v),
                (true, None) => return Err(format!("body field `{}`: required but the example has no value", f.wire)),
                (false, Some(v)) => {
                    let setter = format_ident!("{}", super::models::setter_name(&f.name));
                    setters.push(quote!(.#setter(#v)));
                }
                (false, None) => {}
            }
        }
        Ok(quote!(#path::new(#(#args),*) #(#setters)*))
    }

    fn multipart_fields(&self, ty: &TypeRef) -> Option<(TokenStream, &[Field])> {
        let TypeRef::Named(name) = ty.through_aliases(self.types) else { return None };
        match &self.types.get(name.as_str())?.kind {
            TypeKind::Multipart { fields } => {
                let ident = format_ident!("{}", name);
                Some((quote!(models::#ident), fields))
            }
            _ => None,
        }
    }

    /// A call the spec forbids, built from the valid one: the JSON body without one of its
    /// required properties, else a typed query parameter set to text it cannot hold. Returns
    /// the offending property or parameter and the function body.
    fn rejection(&self) -> Option<(String, TokenStream)> {
        let op = self.op;
        let CallTokens { setup, call } = self.call().ok()?;
        let request = if op.builder.is_some() { quote!(#call.into_request()) } else { call };
        if let Some(Body::Json { example: Some(Example { value: Value::Object(map), required }), .. }) = &op.body {
            if let Some(missing) = required.iter().find(|r| map.contains_key(*r)) {
                let mut invalid = map.clone();
                invalid.shift_remove(missing);
                let text = json_literal(&Value::Object(invalid));
                return Some((
                    missing.clone(),
                    quote! {
                        #setup
                        let mut request = #request;
                        request.json(&json_value(#text)?);
                        rejected(request.await.map(drop))
                    },
                ));
            }
        }
        let param = op.params.iter().find(|p| p.required && p.location == Location::Query && self.rejects_text(&p.ty))?;
        let wire = &param.wire;
        Some((
            wire.clone(),
            quote! {
                #setup
                let mut request = #request;
                request.set_query(#wire, &#INVALID_PARAM_VALUE);
                rejected(request.await.map(drop))
            },
        ))
    }

    /// Whether a parameter of this type refuses arbitrary text.
    fn rejects_text(&self, ty: &TypeRef) -> bool {
        match ty.through_aliases(self.types) {
            TypeRef::Bool | TypeRef::I32 | TypeRef::I64 | TypeRef::F64 | TypeRef::DateTime | TypeRef::Date => true,
            TypeRef::Named(name) => matches!(self.types.get(name.as_str()).map(|t| &t.kind), Some(TypeKind::Enum { .. })),
            _ => false,
        }
    }
}

fn example_of(p: &Param) -> Result<&Value, String> {
    p.example.as_ref().map(|e| &e.value).ok_or_else(|| format!("parameter `{}`: no valid value could be built from its schema", p.wire))
}

/// The local bound for a positional argument, and how it is passed: strings as `&str`
/// literals, lists borrowed as slices, everything else by value.
fn argument(ty: &TypeRef, value: &Value, ident: &proc_macro2::Ident) -> Result<(TokenStream, TokenStream), String> {
    match ty {
        TypeRef::String => {
            let text = text_of(value);
            Ok((quote!(#text), quote!(#ident)))
        }
        TypeRef::Vec(_) => Ok((owned(ty, value)?, quote!(&#ident))),
        other => Ok((owned(other, value)?, quote!(#ident))),
    }
}

/// Plain text of a value: strings as they are, anything else as JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An expression of the owned Rust type for `value`. Scalars are literals; everything else is
/// decoded from JSON text when the test runs, which also checks that the model accepts it.
fn owned(ty: &TypeRef, value: &Value) -> Result<TokenStream, String> {
    let mismatch = || format!("the example {} does not fit the Rust type", truncate(&value.to_string(), 80));
    Ok(match ty {
        TypeRef::Bool => {
            let b = value.as_bool().ok_or_else(mismatch)?;
            quote!(#b)
        }
        TypeRef::I32 | TypeRef::I64 => {
            let n = value.as_i64().ok_or_else(mismatch)?;
            let literal = proc_macro2::Literal::i64_unsuffixed(n);
            if n < 0 { quote!((#literal)) } else { quote!(#literal) }
        }
        TypeRef::F64 => {
            let n = value.as_f64().ok_or_else(mismatch)?;
            let literal = proc_macro2::Literal::f64_suffixed(n);
            if n < 0.0 { quote!((#literal)) } else { quote!(#literal) }
        }
        TypeRef::String => {
            let text = text_of(value);
            quote!(#text.to_owned())
        }
        TypeRef::Secret => {
            let text = text_of(value);
            quote!(edge_impulse_api::Secret::new(#text))
        }
        TypeRef::File => {
            let text = text_of(value);
            quote!(file_part(#text))
        }
        TypeRef::Vec(inner) if **inner == TypeRef::File => {
            let items = value.as_array().ok_or_else(mismatch)?.iter().map(|v| owned(inner, v)).collect::<Result<Vec<_>, _>>()?;
            quote!(vec![#(#items),*])
        }
        other => {
            let ty = test_type(other);
            let text = json_literal(value);
            quote!(typed::<#ty>(#text)?)
        }
    })
}

/// How a type is spelled in the test crate (the crate's own paths are `edge_impulse_api::`).
fn test_type(ty: &TypeRef) -> TokenStream {
    super::rust_type_in(ty, &quote!(edge_impulse_api), &quote!(models::))
}

/// JSON text as a raw string literal where possible (readable in the generated file).
fn json_literal(value: &Value) -> TokenStream {
    let text = value.to_string();
    if !text.contains("\"#") {
        if let Ok(tokens) = format!("r#\"{text}\"#").parse::<TokenStream>() {
            return tokens;
        }
    }
    quote!(#text)
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}
