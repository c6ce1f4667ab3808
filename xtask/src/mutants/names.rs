//! Names must come from spec locations: a change upstream renames only what it touches.
//!
//! The generated items (types, their fields and variants, API groups, `Client` accessors,
//! methods, their parameters and call types, security scheme constants) are listed with the
//! spec locations they come from, before and after a mutation. Every item the mutation did not
//! touch must keep its name.

use edge_impulse_codegen::ir::{Api, TypeKind};

use super::mutations::Touched;

/// One generated name and the spec locations it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedItem {
    /// `Type`, `Type.field`, `Type::Variant`, `RawDataApi`, `Client::raw_data`,
    /// `RawDataApi::list_samples`, `RawDataApi::list_samples(limit)`, ...
    pub name: String,
    /// The item's spec locations: one for a type or method, the operations of a group.
    pub pointers: Vec<String>,
    /// A field, variant or parameter: it belongs to the item at `pointers` and changes with
    /// anything changed inside it.
    pub member: bool,
}

/// A JSON pointer without the `#` of a URI fragment, as mutations report them.
fn location(pointer: &str) -> String {
    pointer.strip_prefix('#').unwrap_or(pointer).to_string()
}

/// Every generated name of `api`.
pub fn generated_names(api: &Api) -> Vec<NamedItem> {
    let mut items = Vec::new();
    let mut push = |name: String, pointers: Vec<String>, member: bool| items.push(NamedItem { name, pointers, member });
    for ty in &api.types {
        let at = || vec![location(&ty.pointer)];
        push(ty.name.clone(), at(), false);
        match &ty.kind {
            TypeKind::Struct { fields, .. } | TypeKind::Multipart { fields } => {
                fields.iter().for_each(|f| push(format!("{}.{}", ty.name, f.name), at(), true));
            }
            TypeKind::Enum { variants, catch_all } => {
                variants.iter().for_each(|v| push(format!("{}::{}", ty.name, v.name), at(), true));
                push(format!("{}::{catch_all}", ty.name), at(), true);
            }
            TypeKind::Untagged { variants } => variants.iter().for_each(|v| push(format!("{}::{}", ty.name, v.name), at(), true)),
            TypeKind::Tagged { variants, .. } => variants.iter().for_each(|v| push(format!("{}::{}", ty.name, v.name), at(), true)),
            TypeKind::Alias(_) => {}
        }
    }
    for group in &api.groups {
        let operations: Vec<String> = group.operations.iter().map(|o| location(&o.pointer)).collect();
        push(group.struct_name.clone(), operations.clone(), false);
        push(format!("Client::{}", group.module), operations, false);
        for op in &group.operations {
            let method = format!("{}::{}", group.struct_name, op.method_name);
            let at = || vec![location(&op.pointer)];
            op.params.iter().for_each(|p| push(format!("{method}({})", p.name), at(), true));
            for call_type in op.builder.iter().chain(&op.required_params_struct) {
                push(call_type.clone(), at(), false);
            }
            push(method, at(), false);
        }
    }
    for scheme in &api.schemes {
        let pointer = format!("/components/securitySchemes/{}", super::mutations::escape(&scheme.spec_name));
        push(scheme.const_name.clone(), vec![pointer], false);
    }
    items
}

/// `pointer` is `base` or inside it.
fn at_or_under(pointer: &str, base: &str) -> bool {
    pointer == base || pointer.strip_prefix(base).is_some_and(|rest| rest.starts_with('/'))
}

/// Whether the mutation may have renamed or removed `item`: a type or method when each of its
/// locations is at or under a changed one; a member also when the change is inside its owner.
fn touched_by(item: &NamedItem, touched: &Touched) -> bool {
    item.pointers.iter().all(|p| {
        touched.0.iter().any(|t| at_or_under(p, t) || (item.member && at_or_under(t, p)))
    })
}

/// The names of `before` that the mutation did not touch but that are gone or now name
/// something else, each explained.
pub fn changed_names(before: &[NamedItem], after: &[NamedItem], touched: &Touched) -> Vec<String> {
    let mut changed = Vec::new();
    for item in before.iter().filter(|i| !touched_by(i, touched)) {
        let same = after.iter().find(|a| a.name == item.name && a.member == item.member);
        let kept = same.is_some_and(|a| item.pointers.iter().any(|p| a.pointers.contains(p)) || item.pointers.is_empty());
        if kept {
            continue;
        }
        let now = after
            .iter()
            .find(|a| a.member == item.member && !item.pointers.is_empty() && a.pointers == item.pointers && !a.name.contains(['.', ':', '(']))
            .map(|a| format!("now `{}`", a.name));
        let what = match same {
            Some(other) => format!("the name now belongs to {}", other.pointers.join(", ")),
            None => now.unwrap_or_else(|| "gone".to_string()),
        };
        changed.push(format!("`{}` ({}): {what}", item.name, item.pointers.join(", ")));
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, pointer: &str, member: bool) -> NamedItem {
        NamedItem { name: name.into(), pointers: vec![pointer.into()], member }
    }

    #[test]
    fn a_member_change_inside_a_type_excuses_its_members_but_not_its_name() {
        let before = vec![item("Engine", "/components/schemas/Engine", false), item("Engine::Tflite", "/components/schemas/Engine", true)];
        let touched = Touched(vec!["/components/schemas/Engine/enum/3".into()]);
        let after = vec![item("Engine2", "/components/schemas/Engine", false)];
        let changed = changed_names(&before, &after, &touched);
        assert_eq!(changed, vec!["`Engine` (/components/schemas/Engine): now `Engine2`".to_string()]);
    }

    #[test]
    fn a_name_taken_over_by_another_location_is_reported() {
        let before = vec![item("ListResponse", "/paths/~1a/get/responses/200", false)];
        let after = vec![item("ListResponse", "/components/schemas/ListResponse", false), item("ListResponse2", "/paths/~1a/get/responses/200", false)];
        let changed = changed_names(&before, &after, &Touched(vec!["/components/schemas/ListResponse".into()]));
        assert_eq!(changed.len(), 1, "{changed:?}");
        assert!(changed[0].contains("now belongs to /components/schemas/ListResponse"), "{changed:?}");
    }

    #[test]
    fn removed_locations_excuse_their_items() {
        let before = vec![item("Gone", "/paths/~1x/get", false), item("Gone(limit)", "/paths/~1x/get", true)];
        assert!(changed_names(&before, &[], &Touched(vec!["/paths/~1x".into()])).is_empty());
    }
}
