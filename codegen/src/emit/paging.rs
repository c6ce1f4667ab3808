//! `.pages()` and `.items()` on the call of a paged operation: two thin functions that hand
//! the request to the runtime's pager with the parameter names and two field readers.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{raw_doc_lines, rust_type};
use crate::ir::{Field, Pagination, TypeRef};

/// The paging methods of a `...Call` whose requests answer `output`.
pub(super) fn paging_methods(pagination: &Pagination, output: &TokenStream) -> TokenStream {
    let Pagination { limit_param, offset_param, items, total } = pagination;
    let TypeRef::Vec(item_type) = &items.ty else { return TokenStream::new() };
    let item_type = rust_type(item_type, &quote!(models::));
    let items_field = format_ident!("{}", items.name);
    let items_wire = &items.wire;
    let count = match (items.required, items.nullable) {
        (true, false) => quote!(page.#items_field.len()),
        (true, true) | (false, false) => quote!(page.#items_field.as_ref().map_or(0, Vec::len)),
        (false, true) => quote!(page.#items_field.as_ref().and_then(Option::as_ref).map_or(0, Vec::len)),
    };
    let take_items = match (items.required, items.nullable) {
        (true, false) => quote!(page.#items_field),
        (true, true) | (false, false) => quote!(page.#items_field.unwrap_or_default()),
        (false, true) => quote!(page.#items_field.flatten().unwrap_or_default()),
    };
    let total_expr = total.as_ref().map_or_else(|| quote!(None), total_count);
    let end = match total {
        Some(total) => format!("the page that reaches `{}`, the answer's total count", total.wire),
        None => "a page shorter than the page size".to_string(),
    };
    let pages_doc = raw_doc_lines(&format!(
        "Every page of this list as a [`Pages`](crate::Pages) stream, one call per page: `{limit_param}` is the \
         page size (the call's `{limit_param}` if set, or [`Pages::page_size`](crate::Pages::page_size), else \
         [`DEFAULT_PAGE_SIZE`](crate::DEFAULT_PAGE_SIZE)) and `{offset_param}` moves past the items received. \
         It ends after {end}, or at an empty page.",
    ));
    let items_doc = raw_doc_lines(&format!(
        "Every item of this list (`{}` in the JSON) across all pages, as an [`Items`](crate::Items) stream; \
         pages are read as [`pages`](Self::pages) reads them.",
        items.wire
    ));
    quote! {
        #pages_doc
        pub fn pages(self) -> crate::Pages<'c, #output> {
            static PAGING: crate::paging::PageParams = crate::paging::PageParams { limit: #limit_param, offset: #offset_param, items: #items_wire };
            crate::Pages::new(self.0, &PAGING, |page| crate::paging::PageInfo { items: #count, total: #total_expr })
        }

        #items_doc
        pub fn items(self) -> crate::Items<'c, #output, #item_type> {
            self.pages().items(|page| #take_items)
        }
    }
}

/// `Option<i64>` read from the total count field of `page`.
fn total_count(total: &Field) -> TokenStream {
    let field = format_ident!("{}", total.name);
    let widen = (total.ty == TypeRef::I32).then(|| quote!(.map(i64::from)));
    match (total.required, total.nullable) {
        (true, false) if widen.is_some() => quote!(Some(i64::from(page.#field))),
        (true, false) => quote!(Some(page.#field)),
        (true, true) | (false, false) => quote!(page.#field #widen),
        (false, true) => quote!(page.#field.flatten() #widen),
    }
}
