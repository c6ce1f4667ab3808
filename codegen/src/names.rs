//! Rust names for spec names: one rule each for types, fields/methods and enum variants,
//! plus an allocator that keeps names unique within a scope.

use std::collections::HashSet;

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};

const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do",
    "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "try", "type", "typeof", "unsafe",
    "unsized", "use", "virtual", "where", "while", "yield",
];

/// Word characters only: everything else separates words (`files[]` -> `files`).
fn words(raw: &str) -> String {
    raw.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' }).collect()
}

pub fn is_keyword(name: &str) -> bool {
    KEYWORDS.contains(&name)
}

/// `raw-data sample` -> `RawDataSample`. Never empty, never starts with a digit.
pub fn type_name(raw: &str) -> String {
    let name = words(raw).to_upper_camel_case();
    match name.chars().next() {
        None => "Unnamed".to_string(),
        Some(c) if c.is_ascii_digit() => format!("T{name}"),
        _ if is_keyword(&name) => format!("{name}Type"),
        _ => name,
    }
}

/// `projectId` -> `project_id`, `type` -> `type_`. Never empty, never a keyword.
pub fn value_name(raw: &str) -> String {
    let name = words(raw).to_snake_case();
    match name.chars().next() {
        None => "value".to_string(),
        Some(c) if c.is_ascii_digit() => format!("n{name}"),
        _ if is_keyword(&name) => format!("{name}_"),
        _ => name,
    }
}

/// `time-series` -> `TimeSeries`, `1` -> `V1`, `` -> `Empty`.
pub fn variant_name(raw: &str) -> String {
    if raw.is_empty() {
        return "Empty".to_string();
    }
    let name = words(raw).to_upper_camel_case();
    match name.chars().next() {
        None => "Symbol".to_string(),
        Some(c) if c.is_ascii_digit() => format!("V{name}"),
        _ if name == "Self" => "SelfValue".to_string(),
        _ => name,
    }
}

pub fn const_name(raw: &str) -> String {
    words(raw).to_shouty_snake_case()
}

/// Hands out names unique within one scope (a module, a struct's fields, an enum's variants).
#[derive(Debug, Default)]
pub struct NameAllocator {
    used: HashSet<String>,
}

impl NameAllocator {
    pub fn reserve(&mut self, name: &str) {
        self.used.insert(name.to_string());
    }

    pub fn is_taken(&self, name: &str) -> bool {
        self.used.contains(name)
    }

    /// Returns `desired` if it is free, otherwise `desired2`, `desired3`, ... and `true`.
    pub fn allocate(&mut self, desired: &str) -> (String, bool) {
        if self.used.insert(desired.to_string()) {
            return (desired.to_string(), false);
        }
        let separator = if desired.ends_with(|c: char| c.is_ascii_digit()) { "_" } else { "" };
        for n in 2.. {
            let candidate = format!("{desired}{separator}{n}");
            if self.used.insert(candidate.clone()) {
                return (candidate, true);
            }
        }
        unreachable!("an unbounded counter always finds a free name")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_rust_conventions() {
        assert_eq!(type_name("raw-data"), "RawData");
        assert_eq!(type_name("3d"), "T3d");
        assert_eq!(value_name("projectId"), "project_id");
        assert_eq!(value_name("type"), "type_");
        assert_eq!(value_name("files[]"), "files");
        assert_eq!(value_name("ETag"), "e_tag");
        assert_eq!(variant_name("time-series"), "TimeSeries");
        assert_eq!(variant_name("1"), "V1");
        assert_eq!(variant_name(""), "Empty");
        assert_eq!(variant_name("+"), "Symbol");
    }

    #[test]
    fn allocator_suffixes_collisions() {
        let mut names = NameAllocator::default();
        assert_eq!(names.allocate("foo_bar"), ("foo_bar".into(), false));
        assert_eq!(names.allocate("foo_bar"), ("foo_bar2".into(), true));
        assert_eq!(names.allocate("v1"), ("v1".into(), false));
        assert_eq!(names.allocate("v1"), ("v1_2".into(), true));
    }
}
