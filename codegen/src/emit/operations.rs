//! `generated/mod.rs`, `generated/apis/*.rs`: one module per tag, one method per operation.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{credential_variant, doc_lines, inner_doc_lines, raw_doc_lines, rust_type, spec_or_known_doc, wire_doc};
use crate::ir::{Api, Body, Group, Location, Operation, Param, Response, TypeRef};

/// The generated root of the service at `index`: its modules, base URL and accessors; the
/// primary service's root (index 0) also holds every service's description for the runtime.
pub(super) fn root_module(apis: &[&Api], index: usize) -> TokenStream {
    let api = apis[index];
    let base_url = &api.base_url;
    let accessors = api.groups.iter().map(|g| {
        let module = format_ident!("{}", g.module);
        let api_struct = format_ident!("{}", g.struct_name);
        let doc = raw_doc_lines(&format!("Operations tagged `{}`.", g.tag));
        let feature = api.feature_of(g);
        quote! {
            #doc
            #[cfg(feature = #feature)]
            pub fn #module(&self) -> apis::#module::#api_struct<'_> { apis::#module::#api_struct::new(self) }
        }
    });
    let header = format!(" Generated from {} {}.", api.title, api.version);
    let accessors = quote! {
        impl crate::Client {
            #(#accessors)*
        }
    };
    if index > 0 {
        let doc = format!(" The `{}` service's operations (`apis`) and types (`models`).", api.service.name);
        return quote! {
            #![doc = #header]
            #![doc = ""]
            #![doc = #doc]

            pub mod apis;
            pub mod models;

            /// The base URL of the spec's first server.
            pub const DEFAULT_BASE_URL: &str = #base_url;

            #accessors
        };
    }
    let default_security = security_tokens(&api.default_security);
    let modules = apis[1..].iter().filter_map(|other| {
        let module = format_ident!("{}", other.service.module.as_deref()?);
        let doc = raw_doc_lines(&format!("The `{}` service, generated from {} {}.", other.service.name, other.title, other.version));
        let gate = other.service.feature.as_ref().map(|feature| quote!(#[cfg(feature = #feature)]));
        Some(quote!(#doc #gate pub mod #module;))
    });
    let services = services_module(apis);
    quote! {
        #![doc = #header]

        pub mod apis;
        pub mod models;
        #(#modules)*

        /// The base URL of the spec's first server.
        pub const DEFAULT_BASE_URL: &str = #base_url;

        /// The spec's top-level `security`: what an operation without its own accepts.
        pub(crate) static DEFAULT_SECURITY: &[&[usize]] = #default_security;

        #services

        #accessors
    }
}

/// `services`: one static per service, which its operations point at: where the service is,
/// how its credentials travel, which answer properties are secrets.
fn services_module(apis: &[&Api]) -> TokenStream {
    let statics = apis.iter().enumerate().map(|(index, api)| {
        let ident = format_ident!("{}", api.service.static_name());
        let name = &api.service.name;
        let schemes = api.schemes.iter().map(|s| {
            let name = &s.spec_name;
            let param = &s.param_name;
            let location = location_tokens(s.location);
            let credential = credential_variant(s.credential);
            let prefix = &s.prefix;
            quote!(crate::auth::SecurityScheme {
                name: #name, location: #location, param: #param, credential: crate::auth::Credential::#credential, prefix: #prefix
            })
        });
        let default_security = security_tokens(&api.default_security);
        let secret_properties = &api.secret_properties;
        let base_url = &api.base_url;
        let endpoint = &api.service.endpoint;
        let env = match &endpoint.env {
            Some(env) => quote!(Some(#env)),
            None => quote!(None),
        };
        let subdomain = &endpoint.subdomain;
        let local_port = proc_macro2::Literal::u16_unsuffixed(endpoint.local_port);
        let index = proc_macro2::Literal::usize_unsuffixed(index);
        let path = &endpoint.path;
        let doc = raw_doc_lines(&format!("The `{name}` service ({} {}).", api.title, api.version));
        quote! {
            #doc
            pub static #ident: crate::Service = crate::Service {
                name: #name,
                index: #index,
                default_base_url: #base_url,
                endpoint_env: #env,
                subdomain: #subdomain,
                local_port: #local_port,
                base_path: #path,
                schemes: &[#(#schemes),*],
                default_security: #default_security,
                secret_properties: &[#(#secret_properties),*],
            };
        }
    });
    let all = apis.iter().map(|api| format_ident!("{}", api.service.static_name()));
    let count = proc_macro2::Literal::usize_unsuffixed(apis.len());
    let primary = format_ident!("{}", apis[0].service.static_name());
    quote! {
        /// The services the crate talks to; each operation names its own.
        #[doc(hidden)]
        pub mod services {
            #(#statics)*

            /// Every service, at its `index`.
            pub static ALL: [&crate::Service; #count] = [#(&#all),*];

            /// The primary service: `ClientBuilder::base_url` and `Client::request` are for it.
            pub use self::#primary as PRIMARY;
        }
    }
}

pub(super) fn apis_module(api: &Api) -> TokenStream {
    let modules = api.groups.iter().map(|g| {
        let module = format_ident!("{}", g.module);
        let doc = raw_doc_lines(&format!("Operations tagged `{}`.", g.tag));
        let feature = api.feature_of(g);
        quote!(#doc #[cfg(feature = #feature)] pub mod #module;)
    });
    quote! {
        //! One module per tag of the spec, each compiled with the cargo feature of the same
        //! name (`raw_data`: `raw-data`).
        #(#modules)*
    }
}

fn location_tokens(location: Location) -> TokenStream {
    match location {
        // Security schemes are never path parameters; lower_security_schemes only makes these three.
        Location::Path | Location::Query => quote!(crate::auth::Location::Query),
        Location::Header => quote!(crate::auth::Location::Header),
        Location::Cookie => quote!(crate::auth::Location::Cookie),
    }
}

fn security_tokens(security: &[Vec<usize>]) -> TokenStream {
    let alternatives = security.iter().map(|all| {
        let all = all.iter().map(|&i| proc_macro2::Literal::usize_unsuffixed(i));
        quote!(&[#(#all),*])
    });
    quote!(&[#(#alternatives),*])
}

pub(super) fn group_module(api: &Api, group: &Group) -> TokenStream {
    let api_struct = format_ident!("{}", group.struct_name);
    let module = format_ident!("{}", group.module);
    let module_doc = inner_doc_lines(group.description.as_deref().unwrap_or(""));
    let struct_doc = raw_doc_lines(&format!(
        "Operations tagged `{}`; get one with [`Client::{}`](crate::Client::{}).",
        group.tag, group.module, group.module
    ));
    let methods = group.operations.iter().map(|op| method(api, op));
    let extras = group.operations.iter().map(|op| call_types(api, op, &group.struct_name));
    let service_path = api.service.module_path();
    let tag_doc = format!(" `{}` operations.", group.tag);
    let _ = module;
    let separator = group.description.is_some().then(|| quote!(#![doc = ""]));
    quote! {
        #![doc = #tag_doc]
        #separator
        #module_doc

        // Operations take as many required arguments as the spec has, up to five.
        #![allow(clippy::too_many_arguments)]
        // Spec descriptions are prose, not rustdoc; they are escaped but not reflowed.
        #![allow(clippy::doc_lazy_continuation, clippy::doc_overindented_list_items)]

        #[allow(unused_imports)]
        use #service_path::models;
        #[allow(unused_imports)]
        use crate::request::{Method, Operation, Request, RequestParts, ResponseFuture, ResponseKind};

        #struct_doc
        #[derive(Clone, Copy)]
        pub struct #api_struct<'c> {
            client: &'c crate::Client,
        }

        impl<'c> #api_struct<'c> {
            pub(crate) fn new(client: &'c crate::Client) -> Self {
                Self { client }
            }

            #(#methods)*
        }

        #(#extras)*
    }
}

fn output_type(op: &Operation) -> TokenStream {
    match &op.response {
        Response::Json(ty) => rust_type(ty, &quote!(models::)),
        Response::Empty => quote!(()),
        Response::Binary(_) => quote!(crate::Download),
        Response::Redirect => quote!(crate::Redirect),
    }
}

/// The type of a parameter as a caller passes it: borrowed where that saves a copy.
fn argument_type(ty: &TypeRef) -> TokenStream {
    match ty {
        TypeRef::String => quote!(&str),
        TypeRef::Vec(inner) => {
            let inner = rust_type(inner, &quote!(models::));
            quote!(&[#inner])
        }
        other => rust_type(other, &quote!(models::)),
    }
}

/// The type of a parameter stored in a `...Params` struct: owned.
fn owned_type(ty: &TypeRef) -> TokenStream {
    rust_type(ty, &quote!(models::))
}

/// Adds one parameter's value to `request`.
fn apply_param(p: &Param, value: TokenStream, replace: bool) -> TokenStream {
    let wire = &p.wire;
    match (p.location, &p.ty) {
        (Location::Query, TypeRef::Vec(_)) => quote!(request.query_each(#wire, #value);),
        (Location::Query, _) if replace => quote!(request.set_query(#wire, &#value);),
        (Location::Query, _) => quote!(request.query(#wire, &#value);),
        (Location::Header, _) if p.url_encoded => quote!(request.header_param_encoded(#wire, &#value);),
        (Location::Header, _) => quote!(request.header_param(#wire, &#value);),
        (Location::Cookie, _) => quote!(request.cookie_param(#wire, &#value);),
        (Location::Path, _) => quote!(),
    }
}

fn method(api: &Api, op: &Operation) -> TokenStream {
    let name = format_ident!("{}", op.method_name);
    let output = output_type(op);
    let mut args = Vec::new();
    let mut arg_docs = Vec::new();
    for p in op.positional_params() {
        let ident = format_ident!("{}", p.name);
        let ty = argument_type(&p.ty);
        args.push(quote!(#ident: #ty));
        arg_docs.push(format!("- `{}`: {}", p.name, one_line(p.doc.as_deref().unwrap_or(&p.wire))));
    }
    if let Some(params_struct) = &op.required_params_struct {
        let ty = format_ident!("{}", params_struct);
        args.push(quote!(params: #ty));
        arg_docs.push(format!("- `params`: the required query parameters, see [`{params_struct}`]"));
    }
    let body_statement = match &op.body {
        Some(body) if body.required() => {
            let (ty, statement) = body_argument(body);
            args.push(quote!(body: #ty));
            arg_docs.push(match body {
                Body::Raw { content_types, .. } if content_types.len() > 1 => {
                    format!("- `body`: the request body, as one of `{}`", content_types.join("`, `"))
                }
                _ => "- `body`: the request body".to_string(),
            });
            statement
        }
        _ => quote!(),
    };
    let path_args = op.params.iter().filter(|p| p.location == Location::Path).map(|p| {
        let ident = format_ident!("{}", p.name);
        quote!(&#ident)
    });
    let required = op.positional_params().filter(|p| p.location != Location::Path).map(|p| {
        let ident = format_ident!("{}", p.name);
        apply_param(p, quote!(#ident), false)
    });
    let grouped = op.grouped_params().map(|p| {
        let ident = format_ident!("{}", p.name);
        apply_param(p, quote!(params.#ident), false)
    });
    let id = &op.id;
    let http_method = format_ident!("{}", heck::AsUpperCamelCase(&op.http_method).to_string());
    let path = &op.path;
    let security = security_tokens(&op.security);
    let service = format_ident!("{}", api.service.static_name());
    let response_kind = match op.response {
        Response::Json(_) => quote!(ResponseKind::Json),
        Response::Empty => quote!(ResponseKind::Empty),
        Response::Binary(_) => quote!(ResponseKind::Binary),
        Response::Redirect => quote!(ResponseKind::Redirect),
    };
    let (return_type, wrap) = match &op.builder {
        Some(builder) => {
            let builder = format_ident!("{}", builder);
            (quote!(#builder<'c>), quote!(#builder(request.into())))
        }
        None => (quote!(Request<'c, #output>), quote!(request.into())),
    };
    let doc = method_doc(api, op, &arg_docs);
    let deprecated = op.deprecated.then(|| quote!(#[deprecated = "deprecated in the API spec"]));
    quote! {
        #doc
        #deprecated
        pub fn #name(&self, #(#args),*) -> #return_type {
            static OPERATION: Operation = Operation {
                id: #id,
                method: Method::#http_method,
                path: #path,
                security: #security,
                response: #response_kind,
                service: &crate::generated::services::#service,
            };
            // Built untyped: only the final `into` knows the response type.
            #[allow(unused_mut)]
            let mut request = RequestParts::new(self.client, &OPERATION, &[#(#path_args),*]);
            #(#required)*
            #(#grouped)*
            #body_statement
            #wrap
        }
    }
}

/// The argument type and the statement that attaches a body to `request`.
fn body_argument(body: &Body) -> (TokenStream, TokenStream) {
    match body {
        Body::Json { ty, .. } => {
            let ty = rust_type(ty, &quote!(models::));
            (quote!(&#ty), quote!(request.json(body);))
        }
        Body::Multipart { ty, .. } => {
            let ty = rust_type(ty, &quote!(models::));
            (ty, quote!(request.multipart(&body);))
        }
        Body::Raw { content_types, .. } => match content_types.as_slice() {
            [content_type] => (quote!(bytes::Bytes), quote!(request.raw_body(#content_type, body);)),
            // The caller says which of the accepted types the bytes are.
            accepted => (quote!(crate::TypedBody), quote!(request.typed_body(&[#(#accepted),*], body);)),
        },
    }
}

fn one_line(text: &str) -> String {
    let line = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    line.replace(['[', ']', '<', '>', '`'], "")
}

fn method_doc(api: &Api, op: &Operation, arg_docs: &[String]) -> TokenStream {
    let mut out = TokenStream::new();
    let summary = op.summary.as_deref().unwrap_or(&op.id);
    out.extend(doc_lines(summary));
    if let Some(description) = op.description.as_deref().filter(|d| d.trim() != summary.trim()) {
        out.extend(raw_doc_lines(""));
        out.extend(doc_lines(description));
    }
    let mut meta = format!("\n`{} {}` (operationId `{}`, spec `{}`)", op.http_method, op.path, op.id, op.pointer);
    if op.internal {
        meta.push_str("\n\n**Internal API** (`x-internal-api`): used by Studio itself; may change without notice.");
    }
    let auth = if op.security.is_empty() {
        "sends no credentials".to_string()
    } else {
        let names: Vec<String> = op
            .security
            .iter()
            .map(|all| all.iter().map(|&i| format!("`{}`", api.schemes[i].spec_name)).collect::<Vec<_>>().join(" + "))
            .collect();
        format!("accepts {}", names.join(" or "))
    };
    meta.push_str(&format!("\n\nAuth: {auth}."));
    if !arg_docs.is_empty() {
        meta.push_str("\n\n# Arguments\n");
        meta.push_str(&arg_docs.join("\n"));
    }
    let returns = match &op.response {
        Response::Json(_) => "the decoded JSON answer".to_string(),
        Response::Empty => "nothing".to_string(),
        Response::Binary(types) => format!("a [`Download`](crate::Download) streaming the body ({})", types.join(", ")),
        Response::Redirect => "the redirect target as a [`Redirect`](crate::Redirect), which is not followed".to_string(),
    };
    meta.push_str(&format!("\n\nAwait the result to send it; it returns {returns}."));
    if op.builder.is_some() {
        meta.push_str(" Optional parameters are set on the returned call before awaiting it.");
    }
    if op.pagination.is_some() {
        meta.push_str(" Its `.pages()` and `.items()` read the whole list, a page per call.");
    }
    out.extend(raw_doc_lines(&meta));
    out
}

/// The `...Call` builder (optional parameters) and `...Params` struct of one operation.
fn call_types(api: &Api, op: &Operation, api_struct: &str) -> TokenStream {
    let output = output_type(op);
    let mut items = TokenStream::new();
    if let (Some(alias), Some(Body::Json { ty, .. } | Body::Multipart { ty, .. })) = (&op.body_alias, &op.body) {
        let ident = format_ident!("{}", alias);
        let ty = rust_type(ty, &quote!(models::));
        let doc = raw_doc_lines(&format!(
            "The request body of [`{api_struct}::{}`], by the operation's name: it stays when the spec renames the body's schema or moves it.",
            op.method_name
        ));
        items.extend(quote!(#doc pub type #ident = #ty;));
    }
    if let Some(params_struct) = &op.required_params_struct {
        let ident = format_ident!("{}", params_struct);
        let fields = op.grouped_params().map(|p| {
            let name = format_ident!("{}", p.name);
            let ty = owned_type(&p.ty);
            let place = match p.location {
                Location::Query => "in the query",
                Location::Header => "as a header",
                Location::Cookie => "as a cookie",
                Location::Path => "in the path",
            };
            let doc = spec_or_known_doc(p.doc.as_deref(), || wire_doc(&p.wire, place, &p.ty, false, &api.service.models_doc_path()));
            quote!(#doc pub #name: #ty,)
        });
        let doc = raw_doc_lines(&format!("Required query parameters of [`{api_struct}::{}`].", op.method_name));
        items.extend(quote! {
            #doc
            #[derive(Debug, Clone, PartialEq)]
            pub struct #ident { #(#fields)* }
        });
    }
    let Some(builder) = &op.builder else { return items };
    let ident = format_ident!("{}", builder);
    let setters = op.optional_params().map(|p| {
        let name = format_ident!("{}", p.name);
        let ty = argument_type(&p.ty);
        let mut doc = doc_lines(p.doc.as_deref().unwrap_or(""));
        doc.extend(raw_doc_lines(&format!("\nSets the `{}` parameter.", p.wire)));
        let apply = apply_param(p, quote!(#name), true);
        quote! {
            #doc
            pub fn #name(mut self, #name: #ty) -> Self {
                let request = &mut self.0;
                #apply
                self
            }
        }
    });
    let optional_body = match &op.body {
        Some(body) if !body.required() => {
            let (ty, statement) = body_argument(body);
            quote! {
                /// Sets the optional request body.
                pub fn body(mut self, body: #ty) -> Self {
                    let request = &mut self.0;
                    #statement
                    self
                }
            }
        }
        _ => quote!(),
    };
    let paging = op.pagination.as_ref().map(|p| super::paging::paging_methods(p, &output));
    let doc = raw_doc_lines(&format!(
        "A [`{api_struct}::{}`] call: set optional parameters, then `.await` it.",
        op.method_name
    ));
    items.extend(quote! {
        #doc
        #[must_use = "a call does nothing until it is awaited"]
        pub struct #ident<'c>(Request<'c, #output>);

        impl<'c> #ident<'c> {
            #(#setters)*
            #optional_body
            #paging
            /// The underlying request, to add headers or change the timeout before sending.
            pub fn into_request(self) -> Request<'c, #output> {
                self.0
            }
        }

        impl<'c> std::future::IntoFuture for #ident<'c> {
            type Output = crate::Result<#output>;
            type IntoFuture = ResponseFuture<'c, #output>;
            fn into_future(self) -> Self::IntoFuture {
                self.0.into_future()
            }
        }
    });
    items
}
