//! `conformance/REPORT.md`: what the last run found, in a form worth committing.
//!
//! Deterministic for one spec and seed (no timings), so a changed report is a changed finding.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::{Check, CheckKind, Run};

pub struct Report<'a> {
    runs: &'a [Run],
    seed: u64,
}

impl<'a> Report<'a> {
    pub fn new(runs: &'a [Run], seed: u64) -> Self {
        Report { runs, seed }
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) -> std::fmt::Result {
        writeln!(out, "# Conformance report")?;
        writeln!(out)?;
        writeln!(
            out,
            "Written by the conformance suite (`edge-impulse-api/tests/conformance/`) when run with \
             `UPDATE_CONFORMANCE_REPORT=1 cargo xtask test`; do not edit by hand. Every operation of the spec is \
             called through the generated client against Stoplight Prism (`conformance/package.json`), in static \
             mode and in dynamic mode with seed {}, once with an API key and once with a JWT.",
            self.seed
        )?;
        writeln!(out)?;
        writeln!(out, "| Prism mode | Credential | Operations passed | Of those, failure envelopes | Rejections passed | Answers Prism flags |")?;
        writeln!(out, "|---|---|---|---|---|---|")?;
        for run in self.runs {
            let of = |kind: CheckKind| {
                let checks: Vec<_> = run.checks.iter().filter(|c| c.kind == kind).collect();
                format!("{} / {}", checks.iter().filter(|c| c.passed()).count(), checks.len())
            };
            let flagged = run.checks.iter().filter(|c| !c.response_violations.is_empty()).count();
            let envelopes = run.checks.iter().filter(|c| c.envelope_failure).count();
            writeln!(
                out,
                "| {} | {} | {} | {envelopes} | {} | {flagged} |",
                run.mode.label(),
                run.auth.label(),
                of(CheckKind::Call),
                of(CheckKind::Rejection)
            )?;
        }

        writeln!(out)?;
        writeln!(
            out,
            "A failure envelope is an answer with `success: false` (dynamic mode picks the flag at random): the \
             client reports it as `Error::Api` with the answer's message, and the suite checks that the body \
             still decodes into the operation's result type. A rejection is the same call with one body property \
             left out or one typed query parameter given text: Prism must refuse it with 422 and a validation \
             message naming that part, which the client must surface as `Error::Status`."
        )?;
        writeln!(out)?;
        writeln!(out, "## Failures")?;
        writeln!(out)?;
        let mut failures = 0;
        for run in self.runs {
            for check in run.checks.iter().filter(|c| c.failure.is_some()) {
                failures += 1;
                let kind = match check.kind {
                    CheckKind::Call => "call",
                    CheckKind::Rejection => "rejection",
                };
                let reason = check.failure.as_deref().unwrap_or("").replace('|', "\\|").replace('\n', " ");
                writeln!(
                    out,
                    "- `{}` ({} {}), {} / {}, {kind}: {reason}",
                    check.case.id,
                    check.case.method,
                    check.case.path,
                    run.mode.label(),
                    run.auth.label()
                )?;
            }
        }
        if failures == 0 {
            writeln!(out, "None.")?;
        }

        // Only when there are some: Prism crashing is rare, and the report stays as it was.
        let unanswered: Vec<(&Run, &Check)> =
            self.runs.iter().flat_map(|run| run.checks.iter().filter(|c| c.prism_failed.is_some()).map(move |c| (run, c))).collect();
        if !unanswered.is_empty() {
            section(
                out,
                "Answers Prism could not make",
                "Prism failed while making these answers (HTTP 500, its own `errors#UNKNOWN` problem) and the client \
                 reported the status; each counts as checked only where another run got an answer and passed.",
            )?;
            for (run, check) in unanswered {
                let problem = check.prism_failed.as_deref().unwrap_or("").replace('|', "\\|");
                writeln!(out, "- `{}` ({} {}), {} / {}: {problem}", check.case.id, check.case.method, check.case.path, run.mode.label(), run.auth.label())?;
            }
        }

        writeln!(out)?;
        writeln!(out, "## Answers Prism flags as violating the spec")?;
        writeln!(out)?;
        writeln!(
            out,
            "Prism validates its own answers against the spec and reports what does not fit in the `sl-violations` \
             header. An answer built from the spec that violates the spec means the spec contradicts itself (an \
             example that does not match its schema, a required property that is never defined). Where the spec is \
             clearly wrong it is corrected in `spec/overrides.yaml`, with the reason, and the entry leaves this list."
        )?;
        writeln!(out)?;
        // operation -> violation -> runs that saw it
        let mut flagged: BTreeMap<(&str, &str, &str), BTreeMap<&str, Vec<String>>> = BTreeMap::new();
        for run in self.runs {
            for check in run.checks.iter().filter(|c| c.kind == CheckKind::Call) {
                for violation in &check.response_violations {
                    let runs = flagged.entry((check.case.id, check.case.method, check.case.path)).or_default().entry(violation).or_default();
                    runs.push(format!("{} / {}", run.mode.label(), run.auth.label()));
                }
            }
        }
        if flagged.is_empty() {
            writeln!(out, "None.")?;
        }
        let all_runs = self.runs.len();
        for ((id, method, path), found) in &flagged {
            writeln!(out, "- `{id}` ({method} {path})")?;
            for (violation, runs) in found {
                let seen = if runs.len() == all_runs { "all runs".to_string() } else { runs.join(", ") };
                writeln!(out, "  - {} ({seen})", violation.replace('\n', " "))?;
            }
        }

        let refused: Vec<_> = self
            .runs
            .iter()
            .flat_map(|run| run.checks.iter().filter(|c| c.refused_credential).map(move |c| (c, run)))
            .collect();
        if !refused.is_empty() {
            section(
                out,
                "Operations a credential cannot call",
                "The spec gives these operations no way in for the credential named; the client refuses the call \
                 before sending it, with an error naming the credential the operation needs.",
            )?;
            let mut lines: Vec<String> = refused
                .iter()
                .map(|(c, run)| format!("- `{}` ({} {}): {}", c.case.id, c.case.method, c.case.path, run.auth.label()))
                .collect();
            lines.sort();
            lines.dedup();
            for line in lines {
                writeln!(out, "{line}")?;
            }
        }
        Ok(())
    }
}

/// A section that only some runs have: a blank line, its heading, what it lists, a blank line.
fn section(out: &mut String, heading: &str, intro: &str) -> std::fmt::Result {
    writeln!(out)?;
    writeln!(out, "## {heading}")?;
    writeln!(out)?;
    writeln!(out, "{intro}")?;
    writeln!(out)
}
