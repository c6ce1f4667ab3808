//! Cargo features: one per API group, so a user compiles only the groups they call.
//!
//! A type that the operations of exactly one group use (directly or nested) belongs to that
//! group and is compiled only with its feature. A type several groups use is shared, and
//! compiled when any of their features is on; so is one the hand-written runtime names
//! ([`RuntimeTypes`](crate::service::RuntimeTypes)), with the features it names it under. A
//! type no operation uses (and what it contains) is in every build. Because a group's types
//! reach only types compiled with its feature, turning on one feature never needs another.

use std::collections::{BTreeSet, HashMap};

use super::{Api, Body, Group, Response, TypeDef, TypeKind, TypeRef};
use crate::service::Service;
use crate::Error;

/// The feature that turns on every group; the crate's default.
pub const FULL: &str = "full";

/// Where each type is compiled.
#[derive(Debug, Clone, Default)]
pub struct Features {
    /// Type name -> index (into `Api::groups`) of the only group that uses it.
    owners: HashMap<String, usize>,
    /// Shared type name -> the features any one of which compiles it. A shared type not here
    /// is in every build.
    gates: HashMap<String, BTreeSet<String>>,
}

/// Who needs a type: groups (by index) and the runtime's features, or every build.
#[derive(Default)]
struct Users {
    groups: BTreeSet<usize>,
    runtime: BTreeSet<String>,
    every_build: bool,
}

impl Features {
    /// `service` gives the features' names and the types its runtime names; an error when
    /// the runtime names a schema the spec no longer has under features the spec still has.
    pub fn compute(types: &[TypeDef], groups: &[Group], service: &Service) -> Result<Features, Error> {
        let index: HashMap<&str, &TypeDef> = types.iter().map(|t| (t.name.as_str(), t)).collect();
        let mut users: HashMap<&str, Users> = HashMap::new();
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
            visit_types(roots, &index, |name| users.entry(name).or_default().groups.insert(g));
        }
        // A type no operation uses is in every build, and so is everything it contains: one of
        // its fields may be a type that a single group uses too.
        let unused: Vec<TypeRef> =
            types.iter().filter(|t| !users.contains_key(t.name.as_str())).map(|t| TypeRef::Named(t.name.clone())).collect();
        mark_every_build(unused.iter().collect(), &index, &mut users);
        let feature_of = |group: &Group| group_feature(service, group);
        let known_features: BTreeSet<String> = groups.iter().map(feature_of).collect();
        for need in &service.runtime_types {
            // The runtime's code for a feature this spec has no group for is compiled out, and
            // so is its need.
            let needed_with: Vec<&String> = need.features.iter().filter(|f| known_features.contains(*f)).collect();
            if !need.features.is_empty() && needed_with.is_empty() {
                continue;
            }
            let mut roots = Vec::new();
            for name in &need.types {
                if !index.contains_key(name.as_str()) {
                    let location = format!("spec/services.toml (service `{}`, runtime_types)", service.name);
                    let message = format!("the runtime names schema `{name}`, which the spec does not define (renamed or removed upstream?)");
                    return Err(Error { location, message });
                }
                roots.push(TypeRef::Named(name.clone()));
            }
            match needed_with.is_empty() {
                true => mark_every_build(roots.iter().collect(), &index, &mut users),
                false => visit_types(roots.iter().collect(), &index, |name| {
                    let users = users.entry(name).or_default();
                    let before = users.runtime.len();
                    users.runtime.extend(needed_with.iter().map(|f| f.to_string()));
                    users.runtime.len() != before
                }),
            }
        }
        let mut features = Features::default();
        for (name, users) in users {
            let mut gate: BTreeSet<String> = users.groups.iter().map(|g| feature_of(&groups[*g])).collect();
            let only_group = users.groups.first().filter(|_| users.groups.len() == 1);
            match only_group {
                Some(&g) if !users.every_build && users.runtime.iter().all(|f| gate.contains(f)) => {
                    features.owners.insert(name.to_string(), g);
                }
                _ if users.every_build => {}
                // One feature for the whole service: its module is gated already.
                _ if service.feature.is_some() => {}
                _ => {
                    gate.extend(users.runtime);
                    features.gates.insert(name.to_string(), gate);
                }
            }
        }
        Ok(features)
    }

    /// The group (index into `Api::groups`) whose feature gates type `name`; `None` for a
    /// shared type.
    pub fn owner(&self, name: &str) -> Option<usize> {
        self.owners.get(name).copied()
    }

    /// The features any one of which compiles shared type `name`; `None` when every build
    /// has it (or it belongs to one group: see [`Features::owner`]).
    pub fn gate(&self, name: &str) -> Option<&BTreeSet<String>> {
        self.gates.get(name)
    }
}

/// Marks the types reachable from `roots` as in every build.
fn mark_every_build<'a>(roots: Vec<&TypeRef>, index: &HashMap<&str, &'a TypeDef>, users: &mut HashMap<&'a str, Users>) {
    visit_types(roots, index, |name| {
        let users = users.entry(name).or_default();
        !std::mem::replace(&mut users.every_build, true)
    });
}

/// The cargo feature that gates a group of `service`: the service's one feature, else the
/// group's own.
pub(crate) fn group_feature(service: &Service, group: &Group) -> String {
    service.feature.clone().unwrap_or_else(|| feature_name(group))
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
