//! The LDBC FinBench example snapshot (a public dataset nobody here wrote).

use std::path::PathBuf;

use ekg_loaders::finbench::{finbench_inputs, row_counts};
use ekg_loaders::load::{load_inputs, LoadReport};
use ekg_loaders::{LoadOptions, OnError, Rule};
use ekg_schema::{NodeKind, Relation};

fn example() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/finbench-example");
    dir.is_dir().then_some(dir)
}

#[test]
fn finbench_example_maps_onto_the_contract() {
    let Some(dir) = example() else {
        eprintln!("shared/data/finbench-example not present; skipped");
        return;
    };
    let mut report = LoadReport::default();
    // With the defaults (fail on any bad row) the example loads: only links are bad in it.
    let options = LoadOptions { on_error: OnError::Fail, ..LoadOptions::default() };
    let inputs = finbench_inputs(&dir).expect("inputs");
    for warning in inputs.warnings {
        report.problems.warn(warning);
    }
    let graph = load_inputs(inputs.inputs, &options, &mut report).expect("loads with the defaults");
    assert!(report.problems.is_empty(), "{}", report.problems.summary());
    // Entity counts as in the files (967 companies, 1,957 persons, 6,200 accounts, 3,465 loans).
    assert_eq!(graph.kind_count(NodeKind::Firm), 967);
    assert_eq!(graph.kind_count(NodeKind::Person), 1957);
    assert_eq!(graph.kind_count(NodeKind::Loan), 3465);
    assert_eq!(graph.kind_count(NodeKind::Account), 6200);
    // 95 person-owned and 78 company-owned accounts name owners missing from Person.csv and
    // Company.csv (checked independently with a script over the CSV files): those links are
    // dropped and reported with their own file and row; the accounts stay, owner unknown.
    let warnings = &report.problems.warnings;
    let from = |file: &str| warnings.iter().filter(|w| w.path.ends_with(file) && w.rule == Rule::DanglingEndpoint).count();
    assert_eq!((from("PersonOwnAccount.csv"), from("CompanyOwnAccount.csv"), warnings.len()), (95, 78, 173));
    // PersonOwnAccount.csv line 2749 (data row 2748) names person 30786325579434, not in Person.csv.
    assert!(warnings.iter().any(|w| w.path.ends_with("PersonOwnAccount.csv") && w.row == 2748), "{:?}", warnings.first());
    assert_eq!(graph.edge_count(Relation::AccountOwner), 6200 - 173);
    // So every transfer and withdrawal row is kept (37,861 + 42,069 + 8,481 deposits + 8,398 repayments).
    assert_eq!(graph.edge_count(Relation::Transfer), 37_861 + 42_069 + 8_481 + 8_398);
    // Every investment and guarantee row maps (shares sum ≤ 1 per company in this data).
    assert_eq!(graph.edge_count(Relation::Shareholding), 3394 + 1640);
    assert_eq!(graph.edge_count(Relation::Guarantee), 916 + 435);
    // Ids are namespaced by entity type: person 755 and company 755 can coexist.
    let first = graph.lookup("a:28710447624489049").expect("account");
    let store = graph.relation(Relation::Transfer);
    let amounts: Vec<f64> = store.forward.range(first).map(|e| store.f64_attr("amount").unwrap_or(&[])[e]).collect();
    assert!(amounts.contains(&544595.7886430753), "{amounts:?}");
    // Guarantees carry no amount in FinBench: NaN, never zero.
    assert!(store.f64_attr("amount").is_some());
    assert!(graph.relation(Relation::Guarantee).f64_attr("amount").unwrap_or(&[]).iter().all(|a| a.is_nan()));
}

#[test]
fn finbench_rows_are_counted_for_the_memory_estimate() {
    let Some(dir) = example() else { return };
    let rows = row_counts(&dir).expect("counts");
    let count = |kind: ekg_schema::contract::TableKind| rows.iter().find(|(k, _)| *k == kind).map_or(0, |r| r.1);
    assert_eq!(count(ekg_schema::contract::TableKind::Firms), 967);
    assert_eq!(count(ekg_schema::contract::TableKind::Accounts), 6200);
    assert_eq!(count(ekg_schema::contract::TableKind::Transfers), 37_861 + 42_069 + 8_481 + 8_398);
}
