//! The pointer patches of `spec/overrides.yaml`, each applied only where upstream still has
//! what the patch expects; everything else is reported as a stale override and skipped.

use serde_json::Value;

use crate::diagnostics::{Diagnostic, Rule};
use crate::overrides::{Overrides, Patch, PatchOp};

/// What one patch found on this spec.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchOutcome {
    /// Upstream still has what the patch expects: applied.
    Applied,
    /// The place the patch edits no longer exists.
    TargetGone(String),
    /// Upstream already has what the patch would write (fixed upstream): nothing to do.
    Redundant,
    /// Upstream has something else than the patch expects: skipped, never overwritten.
    Conflict { expected: Option<Value>, found: Option<Value> },
}

/// Applies every patch that still fits, in order, and reports each one that does not.
pub fn apply_patches(document: &mut Value, overrides: &Overrides, diagnostics: &mut Vec<Diagnostic>) -> Vec<PatchOutcome> {
    let mut outcomes = Vec::with_capacity(overrides.patches.len());
    for patch in &overrides.patches {
        let outcome = match classify(document, patch) {
            PatchOutcome::Applied => match apply_patch(document, patch) {
                Ok(()) => PatchOutcome::Applied,
                Err(why) => PatchOutcome::TargetGone(why),
            },
            other => other,
        };
        if let Some(message) = describe(&outcome, patch) {
            diagnostics.push(Diagnostic::new(Rule::StalePatch, patch.location(&overrides.source), message));
        }
        outcomes.push(outcome);
    }
    outcomes
}

fn describe(outcome: &PatchOutcome, patch: &Patch) -> Option<String> {
    let what = match outcome {
        PatchOutcome::Applied => return None,
        PatchOutcome::TargetGone(why) => format!("target gone ({why}); skipped"),
        PatchOutcome::Redundant => "redundant: upstream already has what this patch writes; delete the patch".into(),
        PatchOutcome::Conflict { expected, found } => format!(
            "conflict: upstream changed this place; skipped, not overwritten. Expected {}, found {}",
            show(expected.as_ref()),
            show(found.as_ref())
        ),
    };
    Some(format!("{what}. The patch's reason: {}", patch.reason.trim()))
}

/// A value as a short line of JSON.
pub(crate) fn show(value: Option<&Value>) -> String {
    const MAX: usize = 160;
    let Some(value) = value else { return "nothing".into() };
    let text = value.to_string();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("`{}…`", &text[..cut]),
        None => format!("`{text}`"),
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Decides whether a patch applies without touching the document.
pub fn classify(document: &Value, patch: &Patch) -> PatchOutcome {
    let pointer = patch.pointer.as_str();
    let (parent_pointer, last) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    let Some(parent) = document.pointer(parent_pointer) else {
        return PatchOutcome::TargetGone(format!("no `{}`", if parent_pointer.is_empty() { "/" } else { parent_pointer }));
    };
    let appends = patch.op == PatchOp::Add && last == "-" && parent.is_array();
    let current = if appends { None } else { document.pointer(pointer) };
    let written = match patch.op {
        PatchOp::Add | PatchOp::Replace => patch.value.clone(),
        PatchOp::Remove => None,
        PatchOp::Merge => match (current, &patch.value) {
            (Some(Value::Object(existing)), Some(Value::Object(new))) => {
                let mut merged = existing.clone();
                merged.extend(new.clone());
                Some(Value::Object(merged))
            }
            _ => None,
        },
    };
    let already = if appends {
        parent.as_array().is_some_and(|items| patch.value.as_ref().is_some_and(|v| items.contains(v)))
    } else {
        written.as_ref() == current && (written.is_some() || patch.op == PatchOp::Remove)
    };
    if already {
        return PatchOutcome::Redundant;
    }
    if current == patch.expect.as_ref() || appends && patch.expect_absent {
        return PatchOutcome::Applied;
    }
    if current.is_none() && patch.op != PatchOp::Add {
        return PatchOutcome::TargetGone(format!("nothing at `{pointer}`"));
    }
    PatchOutcome::Conflict { expected: patch.expect.as_ref().cloned(), found: current.cloned() }
}

/// Applies one patch. Errors say what did not fit; the caller adds where.
pub fn apply_patch(document: &mut Value, patch: &Patch) -> Result<(), String> {
    let pointer = patch.pointer.as_str();
    let value = || patch.value.clone().ok_or_else(|| format!("`{:?}` needs a `value`", patch.op));
    let (parent_pointer, last) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    let last = unescape(last);
    match patch.op {
        PatchOp::Replace | PatchOp::Merge => {
            let target = document.pointer_mut(pointer).ok_or_else(|| format!("nothing at `{pointer}`"))?;
            if patch.op == PatchOp::Replace {
                *target = value()?;
            } else {
                let (Value::Object(existing), Value::Object(new)) = (target, value()?) else {
                    return Err("`merge` needs an object at the pointer and an object value".into());
                };
                existing.extend(new);
            }
        }
        PatchOp::Add | PatchOp::Remove => {
            let parent = document.pointer_mut(parent_pointer).ok_or_else(|| format!("no parent `{parent_pointer}`"))?;
            match (parent, patch.op) {
                (Value::Object(map), PatchOp::Add) => {
                    map.insert(last, value()?);
                }
                (Value::Object(map), _) => {
                    map.shift_remove(&last).ok_or_else(|| format!("nothing at `{pointer}`"))?;
                }
                (Value::Array(items), PatchOp::Add) if last == "-" => items.push(value()?),
                (Value::Array(items), op) => {
                    let index: usize = last.parse().map_err(|_| format!("`{last}` is not an array index"))?;
                    if op == PatchOp::Add && index <= items.len() {
                        items.insert(index, value()?);
                    } else if op == PatchOp::Remove && index < items.len() {
                        items.remove(index);
                    } else {
                        return Err(format!("index {index} is out of range"));
                    }
                }
                _ => return Err(format!("`{parent_pointer}` is neither an object nor an array")),
            }
        }
    }
    Ok(())
}
