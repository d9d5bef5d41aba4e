//! A small valid dataset written as CSV, and helpers to break one table at a time.

use std::path::{Path, PathBuf};

use ekg_loaders::load::LoadReport;
use ekg_loaders::{load_dataset, Dataset, Error, LoadOptions, OnError, Problem, Rule};
use ekg_schema::Graph;

pub const FIRMS: &str = "firm_id,name,industry,region,registered_capital,founded,status,defaulted,exposure,pd
F1,Alpha Co,software,Beijing,1000000,2010-05-01,active,false,500000,0.02
F2,Beta Co,retail,Shanghai,200000,2015-03-10,active,true,,0.3
F3,Gamma Co,retail,Shanghai,,2018-01-01,active,,,
";
pub const PERSONS: &str = "person_id,name\nP1,Wang\nP2,Li\n";
pub const ACCOUNTS: &str =
    "account_id,owner_id,opened,blocked\nA1,F1,2020-01-01T00:00:00Z,false\nA2,F2,2020-01-01T00:00:00Z,false\nA3,P1,,\n";
pub const LOANS: &str = "loan_id,borrower_id,amount,disbursed,deposit_account_id,defaulted\nL1,F1,100000,2024-02-01T09:00:00Z,A1,false\n";
pub const SHAREHOLDINGS: &str = "holder_id,firm_id,share\nP1,F1,0.6\nF1,F2,0.51\nP2,F2,0.49\nP2,F3,1\n";
pub const OFFICERS: &str = "person_id,firm_id,role\nP1,F1,legal_rep\nP2,F2,director\n";
pub const TRANSFERS: &str = "src_id,dst_id,amount,ts
A1,A2,1500.5,2024-03-01T10:00:00Z
A2,A1,700,2024-03-02 11:00:00
A1,A2,20,2024-01-01T08:00:00Z
F1,P2,99.9,2024-03-05T00:00:00+08:00
";
pub const GUARANTEES: &str = "guarantor_id,borrower_id,amount,start,end\nF2,F1,50000,2023-01-01,2025-01-01\nF1,F2,,2023-06-01,\n";
pub const SUPPLY: &str = "supplier_id,customer_id,volume\nF2,F1,120000\nF3,F1,\n";
pub const IDENTIFIERS: &str = "entity_id,kind,value\nF2,phone,13800000000\nF3,phone,13800000000\nP1,address,1 Main St\n";

pub const TABLES: [(&str, &str); 10] = [
    ("firms", FIRMS),
    ("persons", PERSONS),
    ("accounts", ACCOUNTS),
    ("loans", LOANS),
    ("shareholdings", SHAREHOLDINGS),
    ("officers", OFFICERS),
    ("transfers", TRANSFERS),
    ("guarantees", GUARANTEES),
    ("supply_links", SUPPLY),
    ("identifiers", IDENTIFIERS),
];

/// A fixed as-of date (2025-01-01) so "future" never depends on the wall clock.
pub const AS_OF: i64 = 1_735_689_600_000_000;

pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    /// The valid dataset, with `overrides` replacing whole tables (an empty text removes one).
    pub fn new(overrides: &[(&str, &str)]) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in TABLES {
            let text = overrides.iter().find(|(n, _)| *n == name).map(|(_, t)| *t).unwrap_or(text);
            if !text.is_empty() {
                std::fs::write(dir.path().join(format!("{name}.csv")), text).expect("write table");
            }
        }
        Fixture { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn load(&self, on_error: OnError) -> Result<(Graph, LoadReport), Error> {
        let dataset = Dataset::discover(self.path())?;
        load_dataset(&dataset, &LoadOptions { on_error, as_of: AS_OF, ..LoadOptions::default() })
    }

    /// Loads under skip and returns the problems.
    pub fn problems(&self) -> Vec<Problem> {
        match self.load(OnError::Skip) {
            Ok((_, report)) => report.problems.problems().to_vec(),
            Err(e) => panic!("load failed outright: {e}"),
        }
    }
}

/// Asserts exactly one problem with this rule, naming the file, row and column, and that the
/// same dataset fails under `--on-error fail` with a message naming them.
pub fn assert_one_problem(fixture: &Fixture, file: &str, row: u64, column: &str, rule: Rule) -> Problem {
    let problems = fixture.problems();
    let matching: Vec<&Problem> = problems.iter().filter(|p| p.rule == rule).collect();
    assert_eq!(matching.len(), 1, "expected one {rule:?}, got {problems:#?}");
    let p = matching[0].clone();
    assert!(p.path.ends_with(file), "{p}");
    assert_eq!((p.row, p.column), (row, column), "{p}");
    let text = p.to_string();
    assert!(text.contains(file) && text.contains(&format!("row {row}")) && text.contains(column), "{text}");
    match fixture.load(OnError::Fail) {
        Err(Error::Invalid(log)) => assert!(log.summary().contains(&text), "{}", log.summary()),
        Err(other) => panic!("expected a data error, got {other}"),
        Ok(_) => panic!("a dataset with a {rule:?} problem loaded under fail"),
    }
    p
}
