//! The IR half of the diff: operations, parameters, bodies, answers and types.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::rule::*;
use super::{Change, Rule, Section};
use crate::ir::{Api, Body, Field, Group, Location, Operation, Response, TypeDef, TypeKind, TypeRef};

/// One API's index: what the comparison looks things up by.
pub(super) struct Side<'a> {
    pub api: &'a Api,
    pub types: HashMap<&'a str, &'a TypeDef>,
    /// By operationId.
    pub operations: HashMap<&'a str, (&'a Group, &'a Operation)>,
    /// Types reachable from a request body: callers build them.
    request: HashSet<&'a str>,
    /// For each type, the groups whose operations use it.
    owners: HashMap<&'a str, BTreeSet<usize>>,
}

impl<'a> Side<'a> {
    pub fn new(api: &'a Api) -> Self {
        let types: HashMap<&str, &TypeDef> = api.types.iter().map(|t| (t.name.as_str(), t)).collect();
        let operations =
            api.groups.iter().flat_map(|g| g.operations.iter().map(move |op| (op.id.as_str(), (g, op)))).collect();
        let bodies = api.groups.iter().flat_map(|g| &g.operations).filter_map(|op| body_type(op.body.as_ref()));
        let request = reachable(&types, bodies);
        let mut owners: HashMap<&str, BTreeSet<usize>> = HashMap::new();
        for (index, group) in api.groups.iter().enumerate() {
            let roots = group.operations.iter().flat_map(|op| {
                op.params.iter().map(|p| &p.ty).chain(body_type(op.body.as_ref())).chain(response_type(&op.response))
            });
            for name in reachable(&types, roots) {
                owners.entry(name).or_default().insert(index);
            }
        }
        Side { api, types, operations, request, owners }
    }

    /// The changelog section of a type: its group when one group alone uses it.
    pub fn type_section(&self, name: &str) -> Section {
        match self.owners.get(name).map(|o| o.iter().collect::<Vec<_>>()).as_deref() {
            Some([only]) => group_section(&self.api.groups[**only]),
            _ => Section::Models,
        }
    }
}

pub(super) fn group_section(group: &Group) -> Section {
    Section::Group { tag: group.tag.clone(), api: group.struct_name.clone() }
}

fn body_type(body: Option<&Body>) -> Option<&TypeRef> {
    match body {
        Some(Body::Json { ty, .. } | Body::Multipart { ty, .. }) => Some(ty),
        _ => None,
    }
}

fn response_type(response: &Response) -> Option<&TypeRef> {
    match response {
        Response::Json(ty) => Some(ty),
        _ => None,
    }
}

/// Names of every type reachable from `roots`.
fn reachable<'a>(types: &HashMap<&str, &'a TypeDef>, roots: impl IntoIterator<Item = &'a TypeRef>) -> HashSet<&'a str> {
    let mut found = HashSet::new();
    let mut stack: Vec<&TypeRef> = roots.into_iter().collect();
    while let Some(ty) = stack.pop() {
        match ty {
            TypeRef::Vec(inner) | TypeRef::Map(inner) | TypeRef::Nullable(inner) => stack.push(inner),
            TypeRef::Named(name) => {
                if let Some(def) = types.get(name.as_str()) {
                    if found.insert(def.name.as_str()) {
                        stack.extend(def.kind.children());
                    }
                }
            }
            _ => {}
        }
    }
    found
}

/// The Rust spelling of a type, as a user of the crate writes it.
pub(super) fn rust(ty: &TypeRef) -> String {
    match ty {
        TypeRef::Bool => "bool".into(),
        TypeRef::I32 => "i32".into(),
        TypeRef::I64 => "i64".into(),
        TypeRef::F64 => "f64".into(),
        TypeRef::String => "String".into(),
        TypeRef::Secret => "Secret".into(),
        TypeRef::DateTime => "DateTime".into(),
        TypeRef::Date => "Date".into(),
        TypeRef::Json => "serde_json::Value".into(),
        TypeRef::JsonObject => "serde_json::Map<String, serde_json::Value>".into(),
        TypeRef::File => "FilePart".into(),
        TypeRef::Named(name) => name.clone(),
        TypeRef::Vec(inner) => format!("Vec<{}>", rust(inner)),
        TypeRef::Map(inner) => format!("BTreeMap<String, {}>", rust(inner)),
        TypeRef::Nullable(inner) => format!("Option<{}>", rust(inner)),
    }
}

/// A struct field's Rust type: `Option` for absent, another for `null` (as the emitter does).
fn field_type(f: &Field) -> String {
    let inner = rust(&f.ty);
    match (f.required, f.nullable) {
        (true, false) => inner,
        (true, true) | (false, false) => format!("Option<{inner}>"),
        (false, true) => format!("Option<Option<{inner}>>"),
    }
}

/// How many `Option`s wrap a field.
fn option_depth(f: &Field) -> usize {
    usize::from(!f.required) + usize::from(f.nullable)
}

fn kind_name(kind: &TypeKind) -> &'static str {
    match kind {
        TypeKind::Struct { .. } => "struct",
        TypeKind::Multipart { .. } => "multipart form",
        TypeKind::Enum { .. } => "string enum",
        TypeKind::Untagged { .. } => "enum of alternatives",
        TypeKind::Tagged { .. } => "tagged enum",
        TypeKind::Alias(_) => "type alias",
    }
}

/// A change found inside one item, before it is given its subject and section.
type Finding = (&'static Rule, String);

/// Compares everything but the neutral text.
pub(super) fn compare<'a>(old: &Side<'a>, new: &Side<'a>) -> Vec<Change> {
    let mut comparison = Comparison { old, new, renames: HashMap::new(), changes: Vec::new() };
    comparison.types();
    comparison.operations();
    comparison.changes
}

struct Comparison<'s, 'a> {
    old: &'s Side<'a>,
    new: &'s Side<'a>,
    /// Old type name -> new type name, for types found renamed.
    renames: HashMap<&'a str, &'a str>,
    changes: Vec<Change>,
}

impl<'a> Comparison<'_, 'a> {
    fn push(&mut self, rule: &'static Rule, section: Section, subject: String, detail: String) {
        self.changes.push(Change { rule, section, subject, detail });
    }

    /// Whether an old type reference, spelled with the new names, is the new one.
    fn same_type(&self, old: &TypeRef, new: &TypeRef) -> bool {
        match (old, new) {
            (TypeRef::Named(a), TypeRef::Named(b)) => self.renames.get(a.as_str()).map_or(a == b, |renamed| renamed == b),
            (TypeRef::Vec(a), TypeRef::Vec(b)) | (TypeRef::Map(a), TypeRef::Map(b)) | (TypeRef::Nullable(a), TypeRef::Nullable(b)) => {
                self.same_type(a, b)
            }
            (a, b) => a == b,
        }
    }

    fn types(&mut self) {
        self.find_renames();
        let renamed_to: HashSet<&str> = self.renames.values().copied().collect();
        for old in &self.old.api.types {
            let new_name = self.renames.get(old.name.as_str()).copied().unwrap_or(old.name.as_str());
            let Some(new) = self.new.types.get(new_name) else {
                let section = self.old.type_section(&old.name);
                self.push(SCHEMA_REMOVED, section, format!("`{}`", old.name), format!("removed (was `{}`)", old.pointer));
                continue;
            };
            let section = self.new.type_section(&new.name);
            if new.name != old.name {
                let detail = format!("renamed `{}` (was `{}`, now `{}`)", new.name, old.pointer, new.pointer);
                self.push(SCHEMA_RENAMED, section.clone(), format!("`{}`", old.name), detail);
            }
            for (rule, detail) in self.compare_type(old, new) {
                self.push(rule, section.clone(), format!("`{}`", new.name), detail);
            }
        }
        for new in &self.new.api.types {
            if !self.old.types.contains_key(new.name.as_str()) && !renamed_to.contains(new.name.as_str()) {
                let section = self.new.type_section(&new.name);
                self.push(SCHEMA_ADDED, section, format!("`{}`", new.name), format!("new {} (`{}`)", kind_name(&new.kind), new.pointer));
            }
        }
    }

    /// A type that disappears under one name and appears under another is a rename when it
    /// comes from the same JSON pointer, or when it has the same shape at the same place with
    /// only the component's name changed. Repeated so that nested renames resolve their parents.
    fn find_renames(&mut self) {
        let (old, new) = (self.old, self.new);
        let gone = || old.api.types.iter().filter(|t| !new.types.contains_key(t.name.as_str()));
        let appeared: Vec<&TypeDef> = new.api.types.iter().filter(|t| !old.types.contains_key(t.name.as_str())).collect();
        for removed in gone() {
            if let Some(added) = appeared.iter().find(|a| a.pointer == removed.pointer) {
                self.renames.insert(removed.name.as_str(), added.name.as_str());
            }
        }
        loop {
            let taken: HashSet<&str> = self.renames.values().copied().collect();
            let mut found = Vec::new();
            for removed in gone().filter(|t| !self.renames.contains_key(t.name.as_str())) {
                let shape = pointer_shape(&removed.pointer);
                let candidates: Vec<&&TypeDef> = appeared
                    .iter()
                    .filter(|a| !taken.contains(a.name.as_str()) && pointer_shape(&a.pointer) == shape)
                    .filter(|a| self.compare_type(removed, a).is_empty())
                    .collect();
                if let [only] = candidates.as_slice() {
                    found.push((removed.name.as_str(), only.name.as_str()));
                }
            }
            // A new type claimed by two old ones is no rename of either.
            let mut claims: HashMap<&str, usize> = HashMap::new();
            for (_, to) in &found {
                *claims.entry(to).or_default() += 1;
            }
            found.retain(|(_, to)| claims[to] == 1);
            if found.is_empty() {
                return;
            }
            self.renames.extend(found);
        }
    }

    fn compare_type(&self, old: &TypeDef, new: &TypeDef) -> Vec<Finding> {
        let request = self.old.request.contains(old.name.as_str()) || self.new.request.contains(new.name.as_str());
        let mut findings = Vec::new();
        match (&old.kind, &new.kind) {
            (
                TypeKind::Struct { fields: old_fields, additional: old_extra, .. },
                TypeKind::Struct { fields: new_fields, additional: new_extra, .. },
            ) => {
                self.compare_fields(old_fields, new_fields, request, &mut findings);
                match (old_extra, new_extra) {
                    (Some(_), None) => findings.push((PROPERTY_REMOVED, "additional-properties map removed".into())),
                    (None, Some(ty)) => {
                        findings.push((PROPERTY_ADDED, format!("new additional-properties map of `{}`", rust(ty))))
                    }
                    (Some(a), Some(b)) if !self.same_type(a, b) => findings.push((
                        TYPE_CHANGED,
                        format!("additional properties change type from `{}` to `{}`", rust(a), rust(b)),
                    )),
                    _ => {}
                }
            }
            (TypeKind::Multipart { fields: old_fields }, TypeKind::Multipart { fields: new_fields }) => {
                self.compare_fields(old_fields, new_fields, true, &mut findings)
            }
            (TypeKind::Enum { variants: old_variants, catch_all: old_catch }, TypeKind::Enum { variants: new_variants, catch_all: new_catch }) => {
                for old_variant in old_variants {
                    match new_variants.iter().find(|v| v.wire == old_variant.wire) {
                        None => findings.push((ENUM_VALUE_REMOVED, format!("value `{}` (variant `{}`) removed", old_variant.wire, old_variant.name))),
                        Some(v) if v.name != old_variant.name => findings.push((
                            RUST_NAME_CHANGED,
                            format!("value `{}`: variant `{}` is now `{}`", v.wire, old_variant.name, v.name),
                        )),
                        Some(_) => {}
                    }
                }
                for new_variant in new_variants.iter().filter(|v| !old_variants.iter().any(|o| o.wire == v.wire)) {
                    findings.push((ENUM_VALUE_ADDED, format!("new value `{}` (variant `{}`)", new_variant.wire, new_variant.name)));
                }
                if old_catch != new_catch {
                    findings.push((RUST_NAME_CHANGED, format!("catch-all variant `{old_catch}` is now `{new_catch}`")));
                }
            }
            (TypeKind::Untagged { variants: old_variants }, TypeKind::Untagged { variants: new_variants }) => {
                let old_variants: Vec<(&str, &str, &TypeRef)> = old_variants.iter().map(|v| (v.name.as_str(), v.name.as_str(), &v.ty)).collect();
                let new_variants: Vec<(&str, &str, &TypeRef)> = new_variants.iter().map(|v| (v.name.as_str(), v.name.as_str(), &v.ty)).collect();
                self.compare_alternatives(&old_variants, &new_variants, &mut findings);
            }
            (TypeKind::Tagged { property: old_tag, variants: old_variants }, TypeKind::Tagged { property: new_tag, variants: new_variants }) => {
                if old_tag != new_tag {
                    findings.push((TYPE_CHANGED, format!("tag property `{old_tag}` is now `{new_tag}`")));
                }
                let old_variants: Vec<(&str, &str, &TypeRef)> = old_variants.iter().map(|v| (v.tag.as_str(), v.name.as_str(), &v.ty)).collect();
                let new_variants: Vec<(&str, &str, &TypeRef)> = new_variants.iter().map(|v| (v.tag.as_str(), v.name.as_str(), &v.ty)).collect();
                self.compare_alternatives(&old_variants, &new_variants, &mut findings);
            }
            (TypeKind::Alias(a), TypeKind::Alias(b)) => {
                if !self.same_type(a, b) {
                    findings.push((TYPE_CHANGED, format!("alias of `{}` becomes alias of `{}`", rust(a), rust(b))));
                }
            }
            (a, b) => findings.push((TYPE_CHANGED, format!("changes kind from {} to {}", kind_name(a), kind_name(b)))),
        }
        findings
    }

    /// Fields matched by wire name. `request`: callers build this type, so required fields
    /// are constructor arguments.
    fn compare_fields(&self, old: &[Field], new: &[Field], request: bool, findings: &mut Vec<Finding>) {
        for old_field in old {
            let Some(new_field) = new.iter().find(|f| f.wire == old_field.wire) else {
                findings.push((PROPERTY_REMOVED, format!("field `{}` removed", old_field.name)));
                continue;
            };
            let name = &new_field.name;
            if new_field.name != old_field.name {
                findings.push((RUST_NAME_CHANGED, format!("property `{}`: field `{}` is now `{name}`", new_field.wire, old_field.name)));
            }
            if !self.same_type(&old_field.ty, &new_field.ty) {
                findings.push((
                    TYPE_CHANGED,
                    format!("field `{name}` changes type from `{}` to `{}`", rust(&old_field.ty), rust(&new_field.ty)),
                ));
                continue;
            }
            if (old_field.required, old_field.nullable) == (new_field.required, new_field.nullable) {
                continue;
            }
            let depth = option_depth(new_field).cmp(&option_depth(old_field));
            let constructor = |f: &Field| request && f.required;
            // Required-and-nullable and optional are both `Option<T>`: only a constructor tells them apart.
            if depth.is_eq() && constructor(old_field) == constructor(new_field) {
                continue;
            }
            let rule = match depth {
                std::cmp::Ordering::Less => PROPERTY_REQUIRED,
                std::cmp::Ordering::Greater => PROPERTY_OPTIONAL,
                std::cmp::Ordering::Equal if new_field.required => PROPERTY_REQUIRED,
                std::cmp::Ordering::Equal => PROPERTY_OPTIONAL,
            };
            let (from, to) = (field_type(old_field), field_type(new_field));
            let change = if from == to { format!("field `{name}: {to}`") } else { format!("field `{name}` changes from `{from}` to `{to}`") };
            let and = if from == to { "" } else { " and" };
            let detail = match (constructor(old_field), constructor(new_field)) {
                (false, true) => format!("{change}{and} becomes a constructor argument"),
                (true, false) => format!("{change}{and} leaves the constructor"),
                _ => change,
            };
            findings.push((rule, detail));
        }
        for new_field in new.iter().filter(|f| !old.iter().any(|o| o.wire == f.wire)) {
            let declared = format!("`{}: {}`", new_field.name, field_type(new_field));
            if request && new_field.required {
                findings.push((PROPERTY_REQUIRED_ADDED, format!("new required field {declared} (a new constructor argument)")));
            } else {
                findings.push((PROPERTY_ADDED, format!("new field {declared}")));
            }
        }
    }

    /// Alternatives of a union, keyed by tag (tagged) or variant name (untagged):
    /// `(key, variant name, type)`.
    fn compare_alternatives(&self, old: &[(&str, &str, &TypeRef)], new: &[(&str, &str, &TypeRef)], findings: &mut Vec<Finding>) {
        let mut matched = HashSet::new();
        for (key, name, ty) in old {
            // Untagged variants are named after their types: follow the type when renamed.
            let found = new
                .iter()
                .find(|(k, _, _)| k == key)
                .or_else(|| new.iter().find(|(_, _, t)| self.same_type(ty, t)));
            match found {
                None => findings.push((ONEOF_BRANCH_REMOVED, format!("alternative `{name}({})` removed", rust(ty)))),
                Some((new_key, new_name, new_ty)) => {
                    matched.insert(*new_key);
                    if !self.same_type(ty, new_ty) {
                        findings.push((
                            TYPE_CHANGED,
                            format!("alternative `{new_name}` changes type from `{}` to `{}`", rust(ty), rust(new_ty)),
                        ));
                    } else if name != new_name && !self.same_type(&TypeRef::Named(name.to_string()), &TypeRef::Named(new_name.to_string())) {
                        findings.push((RUST_NAME_CHANGED, format!("variant `{name}` is now `{new_name}`")));
                    }
                }
            }
        }
        for (_, name, ty) in new.iter().filter(|(k, _, _)| !matched.contains(k)) {
            findings.push((ONEOF_BRANCH_ADDED, format!("new alternative `{name}({})`", rust(ty))));
        }
    }

    fn operations(&mut self) {
        let (old, new) = (self.old, self.new);
        let route = |op: &Operation| (op.http_method.clone(), op.path.clone());
        let new_by_route: HashMap<(String, String), &str> = new
            .operations
            .iter()
            .filter(|(id, _)| !old.operations.contains_key(*id))
            .map(|(id, (_, op))| (route(op), *id))
            .collect();
        let mut renamed_ids = HashSet::new();
        let mut old_ids: Vec<&&str> = old.operations.keys().collect();
        old_ids.sort();
        for id in old_ids {
            let (old_group, old_op) = old.operations[*id];
            let new_id = if new.operations.contains_key(*id) { Some(*id) } else { new_by_route.get(&route(old_op)).copied() };
            let Some(new_id) = new_id else {
                let detail = format!("removed (`{} {}`, operationId `{id}`)", old_op.http_method, old_op.path);
                self.push(OP_REMOVED, group_section(old_group), method_path(old_group, old_op), detail);
                continue;
            };
            let (new_group, new_op) = new.operations[new_id];
            let subject = method_path(new_group, new_op);
            let section = group_section(new_group);
            if new_id != *id {
                renamed_ids.insert(new_id);
                let detail = format!("operationId `{id}` is now `{new_id}`: was {}", method_path(old_group, old_op));
                self.push(OP_ID_CHANGED, section.clone(), subject.clone(), detail);
            } else if old_group.struct_name != new_group.struct_name {
                let detail = format!("moves from `{}` to `{}` (tag `{}` -> `{}`)", old_group.struct_name, new_group.struct_name, old_group.tag, new_group.tag);
                self.push(OP_MOVED, section.clone(), subject.clone(), detail);
            } else if old_op.method_name != new_op.method_name {
                let detail = format!("method `{}` is now `{}`", old_op.method_name, new_op.method_name);
                self.push(RUST_NAME_CHANGED, section.clone(), subject.clone(), detail);
            }
            for (rule, detail) in self.compare_operation(old_op, new_op) {
                self.push(rule, section.clone(), subject.clone(), detail);
            }
        }
        let mut added: Vec<&(&Group, &Operation)> =
            new.operations.iter().filter(|(id, _)| !old.operations.contains_key(*id) && !renamed_ids.contains(*id)).map(|(_, v)| v).collect();
        added.sort_by_key(|(_, op)| &op.id);
        for (group, op) in added {
            let detail = format!("new operation `{} {}` (operationId `{}`)", op.http_method, op.path, op.id);
            self.push(OP_ADDED, group_section(group), method_path(group, op), detail);
        }
    }

    fn compare_operation(&self, old: &Operation, new: &Operation) -> Vec<Finding> {
        let mut findings = Vec::new();
        if (&old.http_method, &old.path) != (&new.http_method, &new.path) {
            findings.push((OP_ROUTE_CHANGED, format!("`{} {}` is now `{} {}`", old.http_method, old.path, new.http_method, new.path)));
        }
        self.compare_params(old, new, &mut findings);
        self.compare_bodies(old.body.as_ref(), new.body.as_ref(), &mut findings);
        let answer = |r: &Response| match r {
            Response::Json(ty) => rust(ty),
            Response::Empty => "()".into(),
            Response::Binary(_) => "Download".into(),
            Response::Redirect => "Redirect".into(),
        };
        let same_answer = match (&old.response, &new.response) {
            (Response::Json(a), Response::Json(b)) => self.same_type(a, b),
            (a, b) => answer(a) == answer(b),
        };
        if !same_answer {
            findings.push((TYPE_CHANGED, format!("answer changes type from `{}` to `{}`", answer(&old.response), answer(&new.response))));
        }
        let (old_auth, new_auth) = (self.credentials(self.old.api, old), self.credentials(self.new.api, new));
        if old_auth != new_auth {
            let show = |alternatives: &BTreeSet<BTreeSet<String>>| {
                alternatives
                    .iter()
                    .map(|set| if set.is_empty() { "none".to_string() } else { set.iter().cloned().collect::<Vec<_>>().join(" + ") })
                    .collect::<Vec<_>>()
                    .join(" or ")
            };
            let rule = if old_auth.is_subset(&new_auth) { AUTH_WIDENED } else { AUTH_NARROWED };
            findings.push((rule, format!("accepted credentials change from {} to {}", show(&old_auth), show(&new_auth))));
        }
        findings
    }

    /// The sets of security schemes an operation accepts, by spec name; `{}`: none needed.
    fn credentials(&self, api: &Api, op: &Operation) -> BTreeSet<BTreeSet<String>> {
        let scheme = |i: &usize| api.schemes.get(*i).map_or_else(|| format!("#{i}"), |s| s.spec_name.clone());
        let alternatives: BTreeSet<BTreeSet<String>> = op.security.iter().map(|set| set.iter().map(scheme).collect()).collect();
        if alternatives.is_empty() { BTreeSet::from([BTreeSet::new()]) } else { alternatives }
    }

    fn compare_params(&self, old: &Operation, new: &Operation, findings: &mut Vec<Finding>) {
        let role = |op: &Operation, p: &crate::ir::Param| {
            if !p.required {
                "setter".to_string()
            } else if op.grouped_params().any(|g| std::ptr::eq(g, p)) {
                format!("field of `{}`", op.required_params_struct.as_deref().unwrap_or("?"))
            } else {
                "argument".to_string()
            }
        };
        let describe = |op: &Operation, p: &crate::ir::Param| {
            format!("{} `{}` ({} parameter `{}`)", role(op, p), p.name, location_word(p.location), p.wire)
        };
        for old_param in &old.params {
            let Some(new_param) = new.params.iter().find(|p| p.wire == old_param.wire && p.location == old_param.location) else {
                findings.push((PARAM_REMOVED, format!("{} removed", describe(old, old_param))));
                continue;
            };
            if !self.same_type(&old_param.ty, &new_param.ty) {
                findings.push((
                    TYPE_CHANGED,
                    format!("{} changes type from `{}` to `{}`", describe(new, new_param), rust(&old_param.ty), rust(&new_param.ty)),
                ));
            }
            match (old_param.required, new_param.required) {
                (false, true) | (true, false) => {
                    let rule = if new_param.required { PARAM_REQUIRED } else { PARAM_OPTIONAL };
                    findings.push((rule, format!("{} becomes {}", describe(old, old_param), role(new, new_param))));
                }
                _ if old_param.name != new_param.name && !new_param.required => {
                    findings.push((RUST_NAME_CHANGED, format!("setter `{}` is now `{}`", old_param.name, new_param.name)))
                }
                _ => {}
            }
        }
        for new_param in new.params.iter().filter(|p| !old.params.iter().any(|o| o.wire == p.wire && o.location == p.location)) {
            let rule = if new_param.required { PARAM_REQUIRED_ADDED } else { PARAM_OPTIONAL_ADDED };
            findings.push((rule, format!("new {} of type `{}`", describe(new, new_param), rust(&new_param.ty))));
        }
        if old.required_params_struct != new.required_params_struct {
            let show = |s: &Option<String>| s.as_deref().map_or_else(|| "positional arguments".to_string(), |s| format!("`{s}`"));
            findings.push((
                ARGS_CHANGED,
                format!("required query parameters move from {} to {}", show(&old.required_params_struct), show(&new.required_params_struct)),
            ));
        } else {
            // Arguments both versions take must keep their relative order.
            let wires = |op: &Operation| op.positional_params().map(|p| (p.location, p.wire.clone())).collect::<Vec<_>>();
            let (old_args, new_args) = (wires(old), wires(new));
            let kept_old: Vec<_> = old_args.iter().filter(|a| new_args.contains(a)).collect();
            let kept_new: Vec<_> = new_args.iter().filter(|a| old_args.contains(a)).collect();
            if kept_old != kept_new {
                let names = |op: &Operation| op.positional_params().map(|p| p.name.clone()).collect::<Vec<_>>().join(", ");
                findings.push((ARGS_CHANGED, format!("arguments change order from `({})` to `({})`", names(old), names(new))));
            }
        }
    }

    fn compare_bodies(&self, old: Option<&Body>, new: Option<&Body>, findings: &mut Vec<Finding>) {
        let describe = |body: &Body| match body {
            Body::Json { ty, .. } => format!("JSON body `{}`", rust(ty)),
            Body::Multipart { ty, .. } => format!("multipart body `{}`", rust(ty)),
            Body::Raw { content_types, .. } => format!("raw `{}` body", content_types.join("` or `")),
        };
        match (old, new) {
            (None, None) => {}
            (Some(old), None) => findings.push((BODY_REMOVED, format!("{} removed", describe(old)))),
            (None, Some(new)) if new.required() => findings.push((BODY_ADDED, format!("new {} argument", describe(new)))),
            (None, Some(new)) => findings.push((PARAM_OPTIONAL_ADDED, format!("new optional {} (a setter)", describe(new)))),
            (Some(old), Some(new)) => {
                let same = match (old, new) {
                    (Body::Json { ty: a, .. }, Body::Json { ty: b, .. }) | (Body::Multipart { ty: a, .. }, Body::Multipart { ty: b, .. }) => {
                        self.same_type(a, b)
                    }
                    (Body::Raw { content_types: a, .. }, Body::Raw { content_types: b, .. }) => a == b,
                    _ => false,
                };
                if !same {
                    findings.push((TYPE_CHANGED, format!("{} is now {}", describe(old), describe(new))));
                }
                match (old.required(), new.required()) {
                    (false, true) => findings.push((PARAM_REQUIRED, format!("{} becomes an argument (was a setter)", describe(new)))),
                    (true, false) => findings.push((PARAM_OPTIONAL, format!("{} becomes a setter (was an argument)", describe(new)))),
                    _ => {}
                }
            }
        }
    }
}

/// The parameter location as the spec spells it (`in: query`).
pub(super) fn location_word(location: Location) -> &'static str {
    match location {
        Location::Path => "path",
        Location::Query => "query",
        Location::Header => "header",
        Location::Cookie => "cookie",
    }
}

/// `` `RawDataApi::list_samples` ``.
pub(super) fn method_path(group: &Group, op: &Operation) -> String {
    format!("`{}::{}`", group.struct_name, op.method_name)
}

/// A pointer with the component schema's name blanked: where a type sits, whatever it is called.
fn pointer_shape(pointer: &str) -> String {
    let mut tokens: Vec<&str> = pointer.split('/').collect();
    if tokens.len() > 3 && tokens[1] == "components" && tokens[2] == "schemas" {
        tokens[3] = "*";
    }
    tokens.join("/")
}
