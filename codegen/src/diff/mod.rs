//! `spec-diff`: what changed between two specs, said in the generated crate's names and
//! classified for its users.
//!
//! Both specs are loaded with the same overrides and lowered to the IR ([`crate::lower_spec`]);
//! [`diff`] then compares operations (by operationId, else by method and path) and types (by
//! name, else as renames), and the patched documents for the docs, examples and constraints
//! the IR does not keep. Each [`Change`] carries a [`Rule`] from [`RULES`]: breaking when code
//! that compiled against the old crate may not compile (or not behave) against the new one,
//! additive when it only gains items, neutral when only documentation-like text changes.

mod neutral;
mod structure;

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::Lowered;

/// How a change affects code written against the previous crate version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Code that compiled before may no longer compile, or calls may now be refused.
    Breaking,
    /// New items only; everything that compiled before still does.
    Additive,
    /// Documentation, examples or constraints: nothing to change in user code.
    Neutral,
}

impl Class {
    /// The lower-case word used in the changelog (`breaking`, `additive`, `neutral`).
    pub fn word(self) -> &'static str {
        match self {
            Class::Breaking => "breaking",
            Class::Additive => "additive",
            Class::Neutral => "neutral",
        }
    }
}

/// One kind of change, with a stable id that the changelog shows next to each entry.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// Short kebab-case id, stable across versions (fixtures are named after it).
    pub id: &'static str,
    /// Breaking, additive or neutral.
    pub class: Class,
    /// What the rule means for a user of the generated crate.
    pub meaning: &'static str,
}

macro_rules! rules {
    ($($konst:ident = $id:literal, $class:ident, $meaning:literal;)*) => {
        $(
            #[doc = $meaning]
            pub const $konst: &Rule = &Rule { id: $id, class: Class::$class, meaning: $meaning };
        )*
        /// Every rule, breaking ones first.
        pub const RULES: &[&Rule] = &[$($konst),*];
    };
}

/// The rules, one constant each.
pub mod rule {
    use super::{Class, Rule};

    rules! {
        OP_REMOVED = "op-removed", Breaking, "An operation is gone: its method no longer exists.";
        OP_ID_CHANGED = "op-id-changed", Breaking, "The same METHOD /path has a new operationId: the method has a new name.";
        OP_MOVED = "op-moved", Breaking, "An operation's first tag changed: the method moves to another API group.";
        PARAM_REMOVED = "param-removed", Breaking, "A parameter is gone: its argument or setter no longer exists.";
        PARAM_REQUIRED_ADDED = "param-required-added", Breaking, "A new required parameter: a new argument (or `...Params` field).";
        PARAM_REQUIRED = "param-required", Breaking, "An optional parameter or body becomes required: its setter becomes an argument.";
        PARAM_OPTIONAL = "param-optional", Breaking, "A required parameter or body becomes optional: its argument becomes a setter.";
        ARGS_CHANGED = "args-changed", Breaking, "The positional arguments change order, or move into or out of a `...Params` struct.";
        BODY_ADDED = "body-added", Breaking, "An operation now takes a required request body: a new argument.";
        BODY_REMOVED = "body-removed", Breaking, "An operation no longer takes a request body: an argument or setter is gone.";
        PROPERTY_REQUIRED_ADDED = "property-required-added", Breaking, "A new required property in a type used in requests: a new constructor argument.";
        PROPERTY_REMOVED = "property-removed", Breaking, "A property (or a struct's additional-properties map) is gone: its field no longer exists.";
        PROPERTY_REQUIRED = "property-required", Breaking, "A field loses an `Option` (property now required, or no longer nullable); in a request type it becomes a constructor argument.";
        PROPERTY_OPTIONAL = "property-optional", Breaking, "A field gains an `Option` (property no longer required, or now nullable); in a request type it leaves the constructor.";
        TYPE_CHANGED = "type-changed", Breaking, "The Rust type of a field, argument, body, answer, alias or alternative changes, or a type changes kind.";
        RUST_NAME_CHANGED = "rust-name-changed", Breaking, "The same spec name gets another Rust name (a field, variant or method renamed to avoid a collision).";
        ENUM_VALUE_REMOVED = "enum-value-removed", Breaking, "A string enum loses a value: its variant is gone.";
        ONEOF_BRANCH_REMOVED = "oneof-branch-removed", Breaking, "A `oneOf`/`anyOf` loses an alternative: its variant is gone.";
        SCHEMA_REMOVED = "schema-removed", Breaking, "A type is gone.";
        SCHEMA_RENAMED = "schema-renamed", Breaking, "A type keeps its shape and place in the spec under another name.";
        AUTH_NARROWED = "auth-narrowed", Breaking, "An operation no longer accepts a credential it accepted: calls with it are refused.";
        OP_ADDED = "op-added", Additive, "A new operation: a new method.";
        PARAM_OPTIONAL_ADDED = "param-optional-added", Additive, "A new optional parameter or optional body: a new setter on the call.";
        PROPERTY_ADDED = "property-added", Additive, "A new property callers never have to set: optional, or in a type used only in answers.";
        ENUM_VALUE_ADDED = "enum-value-added", Additive, "A string enum gains a value (it decoded as `Unknown` before).";
        ONEOF_BRANCH_ADDED = "oneof-branch-added", Additive, "A `oneOf`/`anyOf` gains an alternative: a new variant.";
        SCHEMA_ADDED = "schema-added", Additive, "A new type.";
        AUTH_WIDENED = "auth-widened", Additive, "An operation accepts a credential it did not accept before.";
        DOCS_CHANGED = "docs-changed", Neutral, "A description, summary, title or external-docs link changed.";
        EXAMPLE_CHANGED = "example-changed", Neutral, "An example changed (only the conformance tests use them).";
        CONSTRAINT_CHANGED = "constraint-changed", Neutral, "A validation keyword, default or format changed without changing a Rust type (`maxLength`, `pattern`, an integer `enum`, `format: uri`, ...).";
        DEPRECATED_CHANGED = "deprecated-changed", Neutral, "An operation, parameter or property is now (or no longer) deprecated.";
        OP_ROUTE_CHANGED = "op-route-changed", Neutral, "An operation keeps its operationId under another method or path: the client calls the new one.";
        SPEC_VERSION_CHANGED = "spec-version-changed", Neutral, "The spec's `info.version` changed.";
    }
}

pub use rule::RULES;

/// Where a change is listed in the changelog.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    /// An API group: its tag and its struct (`RawDataApi`).
    Group {
        /// The spec's tag (`Raw data`).
        tag: String,
        /// The group's struct (`RawDataApi`).
        api: String,
    },
    /// Types used by several groups or by none.
    Models,
    /// The spec as a whole, and definitions shared by several operations.
    Spec,
}

/// One classified change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Which kind of change this is, and so its class.
    pub rule: &'static Rule,
    /// The changelog section it is listed under.
    pub section: Section,
    /// The Rust item concerned, in backticks (`` `RawDataApi::list_samples` ``, `` `Sample` ``).
    pub subject: String,
    /// What changed, in Rust terms (`argument `category` changes type from ... to ...`).
    pub detail: String,
}

/// The result of comparing two specs.
#[derive(Debug, Clone, Default)]
pub struct SpecDiff {
    /// Sorted by section, class, subject and detail.
    pub changes: Vec<Change>,
}

/// How many changes of each class a diff holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Changes that may break code written against the previous version.
    pub breaking: usize,
    /// Changes that only add items.
    pub additive: usize,
    /// Changes to docs, examples and constraints only.
    pub neutral: usize,
}

impl std::fmt::Display for Counts {
    /// The closing line of every spec-diff report: `spec-diff: B breaking, A additive, N neutral`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "spec-diff: {} breaking, {} additive, {} neutral", self.breaking, self.additive, self.neutral)
    }
}

impl SpecDiff {
    /// Changes per class.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for change in &self.changes {
            *match change.rule.class {
                Class::Breaking => &mut counts.breaking,
                Class::Additive => &mut counts.additive,
                Class::Neutral => &mut counts.neutral,
            } += 1;
        }
        counts
    }

    /// Whether a user's code may need changes: the next version is then a new minor while
    /// the crate is at 0.x (a new major after 1.0).
    pub fn is_breaking(&self) -> bool {
        self.changes.iter().any(|c| c.rule.class == Class::Breaking)
    }

    /// The changelog text: one `###` section per API group (then shared models, then the spec
    /// as a whole), one bullet per change with its class and rule id, and the closing
    /// [`Counts`] line. Ready to paste under a version heading of `CHANGELOG.md`.
    pub fn markdown(&self) -> String {
        let mut sections: BTreeMap<&Section, Vec<&Change>> = BTreeMap::new();
        for change in &self.changes {
            sections.entry(&change.section).or_default().push(change);
        }
        let mut out = String::new();
        for (section, changes) in sections {
            let heading = match section {
                Section::Group { tag, api } => format!("{tag} (`{api}`)"),
                Section::Models => "Models shared by several groups or used by none".to_string(),
                Section::Spec => "Whole spec and shared definitions".to_string(),
            };
            let _ = writeln!(out, "### {heading}\n");
            for change in changes {
                let class = match change.rule.class {
                    Class::Breaking => "**breaking**",
                    Class::Additive => "additive",
                    Class::Neutral => "neutral",
                };
                let _ = writeln!(out, "- {class} {}: {} (`{}`)", change.subject, change.detail, change.rule.id);
            }
            out.push('\n');
        }
        let _ = writeln!(out, "{}", self.counts());
        out
    }
}

/// Compares two lowered specs: `old` is the current crate's, `new` the candidate's.
pub fn diff(old: &Lowered, new: &Lowered) -> SpecDiff {
    let (old_side, new_side) = (structure::Side::new(&old.api), structure::Side::new(&new.api));
    let mut changes = structure::compare(&old_side, &new_side);
    changes.extend(neutral::compare(&old.document, &new.document, &old_side, &new_side));
    changes.sort_by(|a, b| {
        (&a.section, a.rule.class, &a.subject, &a.detail, a.rule.id).cmp(&(&b.section, b.rule.class, &b.subject, &b.detail, b.rule.id))
    });
    changes.dedup();
    SpecDiff { changes }
}
