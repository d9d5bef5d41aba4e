//! Row-level data problems: collected (not thrown) so that `ekg validate` reports all of them and
//! `--on-error skip` can drop exactly the bad rows and list them in `rejects.csv`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// One problem with one row (or, with `row == 0`, with a group of rows).
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub table: &'static str,
    pub path: Arc<str>,
    /// 1-based data row (the header is not counted); 0 for a problem about several rows.
    pub row: u64,
    pub column: &'static str,
    pub rule: Rule,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.row > 0 {
            write!(f, "{}: row {}: column `{}`: {}", self.path, self.row, self.column, self.message)
        } else {
            write!(f, "{}: column `{}`: {}", self.path, self.column, self.message)
        }
    }
}

/// The validation rule a problem breaks; counted per table in reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    NullRequired,
    BadValue,
    OutOfRange,
    UnknownEnum,
    DuplicateId,
    DanglingEndpoint,
    WrongEndpointKind,
    SharesAboveOne,
    EndBeforeStart,
    FutureTimestamp,
    TooLong,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::NullRequired => "null_in_required_column",
            Rule::BadValue => "unparseable_value",
            Rule::OutOfRange => "out_of_range",
            Rule::UnknownEnum => "unknown_enum_value",
            Rule::DuplicateId => "duplicate_id",
            Rule::DanglingEndpoint => "dangling_endpoint",
            Rule::WrongEndpointKind => "wrong_endpoint_kind",
            Rule::SharesAboveOne => "holder_shares_above_one",
            Rule::EndBeforeStart => "end_before_start",
            Rule::FutureTimestamp => "timestamp_after_as_of",
            Rule::TooLong => "value_too_long",
        }
    }
}

/// All problems of a load, in table and row order, plus notices (non-fatal remarks).
#[derive(Clone, Debug, Default)]
pub struct ProblemLog {
    problems: Vec<Problem>,
    /// Problems beyond `MAX_KEPT` are counted, not kept.
    dropped: u64,
    counts: BTreeMap<(&'static str, Rule), u64>,
    pub notices: Vec<String>,
    /// Rows dropped without failing the load (a FinBench ownership link naming a missing owner):
    /// listed in `rejects.csv` and summarised, never fatal.
    pub warnings: Vec<Problem>,
}

/// Bounds memory on a completely broken input; the counts stay exact.
pub const MAX_KEPT: usize = 1_000_000;

impl ProblemLog {
    pub fn push(&mut self, problem: Problem) {
        *self.counts.entry((problem.table, problem.rule)).or_default() += 1;
        if self.problems.len() < MAX_KEPT {
            self.problems.push(problem);
        } else {
            self.dropped += 1;
        }
    }

    pub fn extend(&mut self, problems: Vec<Problem>) {
        for p in problems {
            self.push(p);
        }
    }

    pub fn warn(&mut self, problem: Problem) {
        self.warnings.push(problem);
    }

    pub fn notice(&mut self, text: impl Into<String>) {
        self.notices.push(text.into());
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    pub fn counts(&self) -> &BTreeMap<(&'static str, Rule), u64> {
        &self.counts
    }

    /// The first problems and a count of the rest, for an error message.
    pub fn summary(&self) -> String {
        const SHOWN: usize = 10;
        let mut text = format!("{} data problem(s):", self.total());
        for p in self.problems.iter().take(SHOWN) {
            text.push_str("\n  ");
            text.push_str(&p.to_string());
        }
        let rest = self.total().saturating_sub(SHOWN as u64);
        if rest > 0 {
            text.push_str(&format!("\n  … and {rest} more (`ekg validate` lists them all)"));
        }
        text
    }

    /// Sorts problems by table load order and row, so reports do not depend on thread timing.
    pub fn sort(&mut self) {
        self.problems.sort_by(|a, b| (a.path.as_ref(), a.row, a.column).cmp(&(b.path.as_ref(), b.row, b.column)));
    }
}
