//! The LDBC FinBench example snapshot (a public dataset nobody here wrote).

use std::path::PathBuf;

use ekg_loaders::finbench::finbench_inputs;
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
    let options = LoadOptions { on_error: OnError::Skip, ..LoadOptions::default() };
    let graph = load_inputs(finbench_inputs(&dir).expect("inputs"), &options, &mut report).expect("loads under skip");
    // Entity counts as in the files (967 companies, 1,957 persons, 3,465 loans).
    assert_eq!(graph.kind_count(NodeKind::Firm), 967);
    assert_eq!(graph.kind_count(NodeKind::Person), 1957);
    assert_eq!(graph.kind_count(NodeKind::Loan), 3465);
    // 95 person-owned and 78 company-owned accounts name owners missing from Person.csv and
    // Company.csv (checked independently with a script over the CSV files).
    let dangling_accounts = report.problems.problems().iter().filter(|p| p.table == "accounts" && p.rule == Rule::DanglingEndpoint).count();
    assert_eq!(dangling_accounts, 173);
    assert_eq!(graph.kind_count(NodeKind::Account), 6200 - 173);
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
