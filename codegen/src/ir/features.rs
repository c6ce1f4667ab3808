//! Cargo features: one per API group, so a user compiles only the groups they call.
//!
//! A type that the operations of exactly one group use (directly or nested) belongs to that
//! group and is compiled only with its feature; a type several groups use, or none (and what
//! such a type contains), is part of the shared base that every build has. Because a group's own types reach only its own
//! and shared types, turning on one feature never needs another.

use std::collections::{BTreeSet, HashMap};

use super::{Api, Body, Group, Response, TypeDef, TypeKind, TypeRef};

/// The feature that turns on every group; the crate's default.
pub const FULL: &str = "full";

/// Which types belong to one group only.
#[derive(Debug, Clone, Default)]
pub struct Features {
    /// Type name -> index (into `Api::groups`) of the only group that uses it.
    owners: HashMap<String, usize>,
}

impl Features {
    pub fn compute(types: &[TypeDef], groups: &[Group]) -> Features {
        let index: HashMap<&str, &TypeDef> = types.iter().map(|t| (t.name.as_str(), t)).collect();
        let mut users: HashMap<&str, BTreeSet<usize>> = HashMap::new();
        for (g, group) in groups.iter().enumerate() {
            let mut roots: Vec<&TypeRef> = Vec::new();
            for op in &group.operations {
                roots.extend(op.params.iter().map(|p| &p.ty));
                if let Some(Body::Json { ty, .. } | Body::Multipart { ty, .. }) = &op.body {
                    roots.push(ty);
                }
                if let Response::Json(ty) = &op.response {
                    roots.push(ty);
                }
            }
            visit_types(roots, &index, |name| users.entry(name).or_default().insert(g));
        }
        // A type no operation uses is shared, and so is everything it contains: one of its
        // fields may be a type that a single group uses too.
        let unused: Vec<TypeRef> =
            types.iter().filter(|t| !users.contains_key(t.name.as_str())).map(|t| TypeRef::Named(t.name.clone())).collect();
        let base = groups.len();
        visit_types(unused.iter().collect(), &index, |name| users.entry(name).or_default().insert(base));
        let owners = users
            .into_iter()
            .filter(|(_, users)| users.len() == 1)
            .filter_map(|(name, users)| Some((name.to_string(), *users.first()?)))
            .filter(|(_, user)| *user != base)
            .collect();
        Features { owners }
    }

    /// The group (index into `Api::groups`) whose feature gates type `name`; `None` for a
    /// shared type, which every build has.
    pub fn owner(&self, name: &str) -> Option<usize> {
        self.owners.get(name).copied()
    }
}

/// A group's cargo feature: its accessor's name in kebab case (`raw_data` -> `raw-data`).
pub fn feature_name(group: &Group) -> String {
    group.module.replace('_', "-")
}

impl Api {
    /// The `[features]` entries the generator owns: `default`, `full` and one per group, as
    /// TOML lines.
    pub fn cargo_features_table(&self) -> String {
        features_table(&[self])
    }
}

/// The `[features]` entries of a crate generated from several services: `default`, `full`
/// (every group of the first service, every other service's feature) and one per feature.
pub fn features_table(apis: &[&Api]) -> String {
    let mut entries: Vec<(String, String)> = Vec::new();
    for api in apis {
        match &api.service.feature {
            Some(feature) => {
                let accessors: Vec<String> = api.groups.iter().map(|g| format!("`Client::{}`", g.module)).collect();
                let doc = format!("# {}: the `{}` service's operations and types.", accessors.join(", "), api.service.name);
                entries.push((feature.clone(), doc));
            }
            None => {
                for group in &api.groups {
                    let doc = format!("# `Client::{}`: operations tagged `{}` and the types only they use.", group.module, group.tag);
                    entries.push((feature_name(group), doc));
                }
            }
        }
    }
    let listed: String = entries.iter().map(|(n, _)| format!("    \"{n}\",\n")).collect();
    let mut out = format!("default = [\"{FULL}\"]\n# Every API group.\n{FULL} = [\n{listed}]\n");
    for (name, doc) in &entries {
        out.push_str(&format!("{doc}\n{name} = []\n"));
    }
    out
}

/// Walks every named type reachable from `stack`; `visit` returns false for one already seen.
pub(crate) fn visit_types<'a: 't, 't>(
    mut stack: Vec<&'t TypeRef>,
    index: &HashMap<&str, &'a TypeDef>,
    mut visit: impl FnMut(&'a str) -> bool,
) {
    while let Some(ty) = stack.pop() {
        match ty {
            TypeRef::Vec(inner) | TypeRef::Map(inner) | TypeRef::Nullable(inner) => stack.push(inner),
            TypeRef::Named(name) => {
                let Some(def) = index.get(name.as_str()) else { continue };
                if !visit(def.name.as_str()) {
                    continue;
                }
                match &def.kind {
                    TypeKind::Struct { fields, additional, .. } => {
                        stack.extend(fields.iter().map(|f| &f.ty));
                        stack.extend(additional.iter());
                    }
                    TypeKind::Multipart { fields } => stack.extend(fields.iter().map(|f| &f.ty)),
                    TypeKind::Untagged { variants } => stack.extend(variants.iter().map(|v| &v.ty)),
                    TypeKind::Tagged { variants, .. } => stack.extend(variants.iter().map(|v| &v.ty)),
                    TypeKind::Alias(inner) => stack.push(inner),
                    TypeKind::Enum { .. } => {}
                }
            }
            _ => {}
        }
    }
}
