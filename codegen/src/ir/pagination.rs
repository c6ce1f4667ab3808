//! The paging rule: which list operations the client can page through by itself.
//!
//! An operation pages when its query has a page-size and a position parameter of one family
//! (integers named `limit` and `offset`, or with a shared prefix such as `transformLimit` and
//! `transformOffset`) and its JSON answer is an object with exactly one array: the items.
//! The total count is the answer's integer named `total` or `total...Count`; when there are
//! several, the one that names the items (`totalDataItemCount` for `data`). Whatever comes
//! close but cannot be decided is reported as a note, never guessed.

use super::schemas::SchemaLowerer;
use super::{Field, Group, Location, Operation, Pagination, Response, TypeKind, TypeRef};
use crate::diagnostics::{Diagnostic, Rule};
use crate::names::type_name;

/// Query parameters of page-number or cursor paging (lower case, separators removed): the
/// runtime only drives offset paging, so an operation with one of these is reported.
const OTHER_PAGING_PARAMS: &[&str] = &["page", "pagenumber", "pagetoken", "cursor"];

/// Marks every paged operation, gives it a call builder (where `.pages()` lives) when it has
/// none, and notes the operations that look paged but cannot be decided.
pub(super) fn mark_paged_operations(groups: &mut [Group], schemas: &mut SchemaLowerer<'_>) {
    for op in groups.iter_mut().flat_map(|g| g.operations.iter_mut()) {
        match decide(op, schemas) {
            Decision::NotPaged => {}
            Decision::Undecidable(reason) => {
                schemas.diagnostics.push(Diagnostic::new(Rule::NotPaged, &op.pointer, format!("not paged: {reason}")));
            }
            Decision::Paged(pagination, remark) => {
                if let Some(remark) = remark {
                    schemas.diagnostics.push(Diagnostic::new(Rule::PagedWithoutTotal, &op.pointer, remark));
                }
                if op.builder.is_none() {
                    op.builder = Some(schemas.allocate_type_name(&format!("{}Call", type_name(&op.id)), &op.pointer));
                }
                op.pagination = Some(*pagination);
            }
        }
    }
}

enum Decision {
    NotPaged,
    Undecidable(String),
    /// With a remark on what was left out.
    Paged(Box<Pagination>, Option<String>),
}

fn decide(op: &Operation, schemas: &SchemaLowerer<'_>) -> Decision {
    let query = || op.params.iter().filter(|p| p.location == Location::Query);
    if let Some(other) = query().find(|p| OTHER_PAGING_PARAMS.contains(&squashed(&p.wire).as_str())) {
        return Decision::Undecidable(format!(
            "`{}` looks like page-number or cursor paging; only `limit`/`offset` paging is supported",
            other.wire
        ));
    }
    let integer_with_suffix = |suffix: &'static str| {
        query().filter(|p| is_integer(&p.ty)).filter_map(move |p| {
            let lower = p.wire.to_ascii_lowercase();
            lower.strip_suffix(suffix).map(|prefix| (prefix.to_string(), p.wire.clone()))
        })
    };
    let limits: Vec<(String, String)> = integer_with_suffix("limit").collect();
    let offsets: Vec<(String, String)> = integer_with_suffix("offset").collect();
    let pairs: Vec<(&String, &String)> = limits
        .iter()
        .filter_map(|(prefix, limit)| offsets.iter().find(|(p, _)| p == prefix).map(|(_, offset)| (limit, offset)))
        .collect();
    let (limit, offset) = match pairs.as_slice() {
        [pair] => *pair,
        [] => {
            return match (limits.first(), offsets.first()) {
                (None, None) => Decision::NotPaged,
                (Some((_, limit)), _) => Decision::Undecidable(format!("`{limit}` has no matching offset parameter")),
                (None, Some((_, offset))) => Decision::Undecidable(format!("`{offset}` has no matching limit parameter")),
            };
        }
        several => {
            let names: Vec<String> = several.iter().map(|(l, o)| format!("`{l}`/`{o}`")).collect();
            return Decision::Undecidable(format!("several limit/offset pairs ({})", names.join(", ")));
        }
    };
    let fields = match &op.response {
        Response::Json(TypeRef::Named(name)) => match schemas.type_def(name).map(|t| &t.kind) {
            Some(TypeKind::Struct { fields, .. }) => fields,
            _ => return Decision::Undecidable(format!("`{limit}`/`{offset}` but the answer is not a JSON object")),
        },
        _ => return Decision::Undecidable(format!("`{limit}`/`{offset}` but the answer is not a JSON object")),
    };
    let arrays: Vec<&Field> = fields.iter().filter(|f| matches!(f.ty, TypeRef::Vec(_))).collect();
    let items = match arrays.as_slice() {
        [items] => (*items).clone(),
        [] => return Decision::Undecidable(format!("`{limit}`/`{offset}` but the answer has no array of items")),
        several => {
            let names: Vec<String> = several.iter().map(|f| format!("`{}`", f.wire)).collect();
            return Decision::Undecidable(format!(
                "`{limit}`/`{offset}` but the answer has {} arrays ({}); which one holds the items is not decidable",
                several.len(),
                names.join(", ")
            ));
        }
    };
    let (total, remark) = total_count(fields, &items);
    let pagination = Pagination { limit_param: limit.clone(), offset_param: offset.clone(), items, total };
    Decision::Paged(Box::new(pagination), remark)
}

/// The answer's total count of items, and a remark when several candidates left it undecided.
fn total_count(fields: &[Field], items: &Field) -> (Option<Field>, Option<String>) {
    let candidates: Vec<&Field> = fields
        .iter()
        .filter(|f| is_integer(&f.ty))
        .filter(|f| {
            let name = f.wire.to_ascii_lowercase();
            name == "total" || (name.starts_with("total") && name.ends_with("count"))
        })
        .collect();
    match candidates.as_slice() {
        [] => (None, None),
        [total] => (Some((*total).clone()), None),
        several => {
            // `jobs` -> `job`: the count that names the items.
            let items_name = squashed(&items.wire);
            let singular = items_name.strip_suffix('s').filter(|s| !s.is_empty()).unwrap_or(&items_name);
            let naming: Vec<&&Field> = several.iter().filter(|f| squashed(&f.wire).contains(singular)).collect();
            match naming.as_slice() {
                [total] => (Some((**total).clone()), None),
                _ => {
                    let names: Vec<String> = several.iter().map(|f| format!("`{}`", f.wire)).collect();
                    let remark = format!(
                        "paged without a total count: several candidates ({}); pages stop at a short or empty page",
                        names.join(", ")
                    );
                    (None, Some(remark))
                }
            }
        }
    }
}

fn is_integer(ty: &TypeRef) -> bool {
    matches!(ty, TypeRef::I32 | TypeRef::I64)
}

/// Lower case without separators: `page_token`, `pageToken` -> `pagetoken`.
fn squashed(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}
