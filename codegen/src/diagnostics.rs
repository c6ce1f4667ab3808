//! What the generator tells its user about the spec: repairs, guesses and skipped parts.
//!
//! Every [`Diagnostic`] names the [`Rule`] that produced it: a stable id that front-ends group
//! and count by (`cargo xtask regen` prints one line per rule), never the message text, which
//! varies with each place.

use std::fmt;

/// How much a diagnostic matters; each [`Rule`] has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Something the generator did on its own that changes the output (a repair, a rename).
    Warning,
    /// Worth knowing, no action needed.
    Note,
    /// An entry of the overrides file that no longer fits the spec (its target is gone,
    /// upstream fixed it, or upstream changed it to something else): skipped, and an error
    /// under `regen --strict`.
    StaleOverride,
}

impl Severity {
    /// The word a printed diagnostic starts with.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Note => "note",
            Severity::StaleOverride => "stale override",
        }
    }
}

/// Declares [`Rule`] with, per variant, its id, severity and what it is about, so the three
/// cannot drift apart.
macro_rules! rules {
    ($($(#[$doc:meta])* $variant:ident = $id:literal, $severity:ident;)*) => {
        /// The kind of a diagnostic: one per check or repair of the generator.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule {
            $($(#[$doc])* $variant,)*
        }

        impl Rule {
            /// Every rule, in declaration order.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The rule's stable id (kebab-case), as printed: `warning[invalid-example]`.
            pub fn id(self) -> &'static str {
                match self {
                    $(Rule::$variant => $id,)*
                }
            }

            /// How much a diagnostic of this rule matters.
            pub fn severity(self) -> Severity {
                match self {
                    $(Rule::$variant => Severity::$severity,)*
                }
            }
        }
    };
}

rules! {
    /// A control character YAML rejects was replaced (load).
    ControlCharacter = "control-character", Warning;
    /// `required` names a property the schema does not define.
    RequiredUndefined = "required-undefined", Warning;
    /// A path without its leading `/`.
    RelativePath = "relative-path", Warning;
    /// A redirect answer without a `Location` header.
    RedirectWithoutLocation = "redirect-without-location", Warning;
    /// An example that does not validate against its schema: re-typed or dropped.
    InvalidExample = "invalid-example", Warning;
    /// A type name already taken: renamed.
    TypeNameTaken = "type-name-taken", Warning;
    /// `not`, which no Rust type expresses.
    NotSchema = "not-schema", Warning;
    /// `oneOf`/`anyOf`/... next to properties or `allOf`.
    CombinatorBesideProperties = "combinator-beside-properties", Warning;
    /// A non-string value in a string enum.
    NonStringEnumValue = "non-string-enum-value", Warning;
    /// Two enum values that give the same variant name.
    EnumValueCollision = "enum-value-collision", Warning;
    /// An `allOf` part that is not an object schema.
    AllOfNotObject = "all-of-not-object", Warning;
    /// Two properties that give the same field name.
    PropertyCollision = "property-collision", Warning;
    /// A property named like a Rust keyword.
    KeywordProperty = "keyword-property", Note;
    /// An object schema without properties.
    EmptyObject = "empty-object", Note;
    /// A discriminator the generator cannot use.
    DiscriminatorUnused = "discriminator-unused", Warning;
    /// A security scheme without a `credentials` override: guessed from its name.
    CredentialGuessed = "credential-guessed", Warning;
    /// A security scheme the client cannot send.
    UnsupportedSecurityScheme = "unsupported-security-scheme", Warning;
    /// A security requirement naming a scheme the spec does not define.
    UndefinedSecurityScheme = "undefined-security-scheme", Warning;
    /// An operation without an `operationId`.
    MissingOperationId = "missing-operation-id", Warning;
    /// A method name already taken: renamed.
    MethodNameTaken = "method-name-taken", Warning;
    /// A parameter schema that is not a scalar, an enum or a list of them.
    ComplexParameter = "complex-parameter", Warning;
    /// A parameter described with `content`.
    ParameterContent = "parameter-content", Warning;
    /// A path placeholder without a path parameter.
    UndeclaredPathParameter = "undeclared-path-parameter", Warning;
    /// A request body without a content type.
    BodyWithoutContentType = "body-without-content-type", Warning;
    /// An operation without a 2xx or 3xx answer.
    NoSuccessResponse = "no-success-response", Warning;
    /// `format: binary` where it can only be a string.
    BinaryAsString = "binary-as-string", Note;
    /// A list operation the generator could not decide how to page.
    NotPaged = "not-paged", Note;
    /// A paged operation whose total count was left undecided.
    PagedWithoutTotal = "paged-without-total", Note;
    /// A patch of the overrides file that no longer fits the spec.
    StalePatch = "stale-patch", StaleOverride;
    /// A `credentials`, `secret_properties` or `envelope` entry that matches nothing.
    StaleSetting = "stale-setting", StaleOverride;
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One thing the generator reports, at one place in the spec (or the overrides file).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// The check or repair that reported it.
    pub rule: Rule,
    /// Always `rule.severity()`; kept as a field so callers can filter without a call.
    pub severity: Severity,
    /// Where in the spec: a JSON pointer (`#/components/schemas/X/required`) or `line L, column C`.
    pub location: String,
    /// What was found and what the generator did about it.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic of `rule` (whose severity it takes) at `location`.
    pub fn new(rule: Rule, location: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic { rule, severity: rule.severity(), location: location.into(), message: message.into() }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.severity.label(), self.location, self.message)
    }
}

/// The diagnostics of one rule, in the order they were reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleGroup<'a> {
    /// The rule they share.
    pub rule: Rule,
    /// Every diagnostic of the rule; the first is the one a short report shows.
    pub diagnostics: Vec<&'a Diagnostic>,
}

/// Groups `diagnostics` by rule: warnings first, then notes, then stale overrides (nearest the
/// summary line, as they are what `--strict` fails on); within a severity, rules in the order
/// their first diagnostic was reported.
pub fn group_by_rule(diagnostics: &[Diagnostic]) -> Vec<RuleGroup<'_>> {
    let mut groups: Vec<RuleGroup<'_>> = Vec::new();
    for diagnostic in diagnostics {
        match groups.iter_mut().find(|group| group.rule == diagnostic.rule) {
            Some(group) => group.diagnostics.push(diagnostic),
            None => groups.push(RuleGroup { rule: diagnostic.rule, diagnostics: vec![diagnostic] }),
        }
    }
    // A stable sort keeps the order of first appearance within each severity.
    groups.sort_by_key(|group| group.rule.severity());
    groups
}

/// What to print for `diagnostics`: one line per rule with its count and its first location
/// and message; with `verbose`, each rule's count and then every location. Stale overrides
/// are always listed one by one: each is an entry of `spec/overrides.yaml` to fix.
pub fn report_lines(diagnostics: &[Diagnostic], verbose: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for group in group_by_rule(diagnostics) {
        let head = format!("{}[{}]", group.rule.severity().label(), group.rule.id());
        match group.diagnostics.as_slice() {
            [only] => lines.push(format!("{head}: {}: {}", only.location, only.message)),
            [first, ..] if !verbose && group.rule.severity() != Severity::StaleOverride => {
                lines.push(format!("{head} x{}, first at {}: {}", group.diagnostics.len(), first.location, first.message));
            }
            all => {
                lines.push(format!("{head} x{}:", all.len()));
                lines.extend(all.iter().map(|d| format!("  {}: {}", d.location, d.message)));
            }
        }
    }
    lines
}

/// Escapes one reference token of a JSON pointer (RFC 6901).
pub fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// `#/a/b` + `c/d` -> `#/a/b/c~1d`.
pub fn pointer_join(base: &str, token: &str) -> String {
    format!("{base}/{}", escape_pointer_token(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Diagnostic> {
        vec![
            Diagnostic::new(Rule::NotPaged, "#/paths/~1a/get", "not paged: two arrays"),
            Diagnostic::new(Rule::InvalidExample, "#/components/schemas/A/example", "example 1 dropped"),
            Diagnostic::new(Rule::StalePatch, "overrides.yaml:3", "target gone"),
            Diagnostic::new(Rule::InvalidExample, "#/components/schemas/B/example", "example 2 dropped"),
            Diagnostic::new(Rule::RelativePath, "#/paths/a", "read as `/a`"),
            Diagnostic::new(Rule::StalePatch, "overrides.yaml:9", "redundant"),
            Diagnostic::new(Rule::InvalidExample, "#/components/schemas/C/example", "example 3 re-typed"),
            Diagnostic::new(Rule::NotPaged, "#/paths/~1b/get", "not paged: no offset"),
        ]
    }

    #[test]
    fn rule_ids_are_unique_kebab_case_and_each_rule_has_its_severity() {
        let mut ids: Vec<&str> = Rule::ALL.iter().map(|rule| rule.id()).collect();
        assert!(ids.iter().all(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_lowercase() || c == '-')), "{ids:?}");
        ids.sort_unstable();
        let count = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), count, "an id is used twice");
        let diagnostic = Diagnostic::new(Rule::StaleSetting, "x", "y");
        assert_eq!(diagnostic.severity, Severity::StaleOverride);
        assert_eq!(Diagnostic::new(Rule::EmptyObject, "x", "y").severity, Severity::Note);
    }

    #[test]
    fn diagnostics_group_by_rule_not_by_message_warnings_first_stale_overrides_last() {
        let diagnostics = sample();
        let groups = group_by_rule(&diagnostics);
        let summary: Vec<(Rule, usize)> = groups.iter().map(|g| (g.rule, g.diagnostics.len())).collect();
        assert_eq!(summary, [(Rule::InvalidExample, 3), (Rule::RelativePath, 1), (Rule::NotPaged, 2), (Rule::StalePatch, 2)]);
        // Within a group, the order of reporting: the first is the one shown by default.
        let invalid: Vec<&str> = groups[0].diagnostics.iter().map(|d| d.location.as_str()).collect();
        assert_eq!(invalid, ["#/components/schemas/A/example", "#/components/schemas/B/example", "#/components/schemas/C/example"]);
    }

    #[test]
    fn the_default_report_is_one_line_per_rule_but_every_stale_override() {
        assert_eq!(
            report_lines(&sample(), false),
            [
                "warning[invalid-example] x3, first at #/components/schemas/A/example: example 1 dropped",
                "warning[relative-path]: #/paths/a: read as `/a`",
                "note[not-paged] x2, first at #/paths/~1a/get: not paged: two arrays",
                "stale override[stale-patch] x2:",
                "  overrides.yaml:3: target gone",
                "  overrides.yaml:9: redundant",
            ]
        );
    }

    #[test]
    fn the_verbose_report_lists_every_location_under_its_rule() {
        assert_eq!(
            report_lines(&sample(), true),
            [
                "warning[invalid-example] x3:",
                "  #/components/schemas/A/example: example 1 dropped",
                "  #/components/schemas/B/example: example 2 dropped",
                "  #/components/schemas/C/example: example 3 re-typed",
                "warning[relative-path]: #/paths/a: read as `/a`",
                "note[not-paged] x2:",
                "  #/paths/~1a/get: not paged: two arrays",
                "  #/paths/~1b/get: not paged: no offset",
                "stale override[stale-patch] x2:",
                "  overrides.yaml:3: target gone",
                "  overrides.yaml:9: redundant",
            ]
        );
        assert!(report_lines(&[], true).is_empty());
    }
}
