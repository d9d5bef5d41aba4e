//! One test per validation rule: the problem names the file, the row and the column.

use ekg_loaders::{OnError, Rule};
use ekg_schema::Relation;

use crate::common::*;

#[test]
fn the_valid_fixture_loads_without_problems() {
    let fixture = Fixture::new(&[]);
    let (graph, report) = fixture.load(OnError::Fail).expect("valid dataset");
    assert!(report.problems.is_empty());
    assert_eq!(graph.node_count(), 3 + 2 + 3 + 1);
    assert_eq!(graph.edge_count(Relation::Transfer), 4);
    assert_eq!(graph.edge_count(Relation::Shareholding), 4);
    assert_eq!(graph.edge_count(Relation::AccountOwner), 3);
    assert_eq!(graph.edge_count(Relation::LoanDeposit), 1);
    assert_eq!(graph.identifiers.value_count(), 2);
    // Transfers are ordered by time within each list: A1's sends are at 01-01 then 03-01.
    let a1 = graph.lookup("A1").expect("A1");
    let store = graph.relation(Relation::Transfer);
    let ts = store.attr("ts").and_then(|c| c.as_i64()).expect("ts");
    let range = store.forward.range(a1);
    assert!(ts[range.clone()].windows(2).all(|w| w[0] <= w[1]));
    let amounts: Vec<f64> = range.map(|e| store.f64_attr("amount").expect("amount")[e]).collect();
    assert_eq!(amounts, vec![20.0, 1500.5]);
    // +08:00 offsets are converted to UTC.
    let f1 = graph.lookup("F1").expect("F1");
    let f1_range = store.forward.range(f1);
    assert_eq!(ts[f1_range.start], 1_709_596_800_000_000 - 8 * 3_600_000_000);
}

#[test]
fn null_in_a_required_column() {
    let f = Fixture::new(&[("transfers", "src_id,dst_id,amount,ts\nA1,,5,2024-01-01\n")]);
    assert_one_problem(&f, "transfers.csv", 1, "dst_id", Rule::NullRequired);
}

#[test]
fn unparseable_number() {
    let f = Fixture::new(&[("transfers", "src_id,dst_id,amount,ts\nA1,A2,5,2024-01-01\nA1,A2,12abc,2024-01-01\n")]);
    let p = assert_one_problem(&f, "transfers.csv", 2, "amount", Rule::BadValue);
    assert!(p.message.contains("12abc"));
}

#[test]
fn unparseable_timestamp() {
    let f = Fixture::new(&[("transfers", "src_id,dst_id,amount,ts\nA1,A2,5,yesterday\n")]);
    assert_one_problem(&f, "transfers.csv", 1, "ts", Rule::BadValue);
}

#[test]
fn non_positive_nan_and_infinite_amounts() {
    for bad in ["0", "-5", "NaN", "inf"] {
        let text = format!("src_id,dst_id,amount,ts\nA1,A2,{bad},2024-01-01\n");
        let f = Fixture::new(&[("transfers", &text)]);
        assert_one_problem(&f, "transfers.csv", 1, "amount", Rule::OutOfRange);
    }
}

#[test]
fn share_outside_zero_one_or_given_as_percent() {
    for bad in ["0", "-0.1", "30", "1.0001"] {
        let text = format!("holder_id,firm_id,share\nP1,F1,{bad}\n");
        let f = Fixture::new(&[("shareholdings", &text)]);
        assert_one_problem(&f, "shareholdings.csv", 1, "share", Rule::OutOfRange);
    }
}

#[test]
fn probability_above_one() {
    let f = Fixture::new(&[("firms", "firm_id,pd\nF1,0.5\nF2,1.5\nF3,0\n")]);
    assert_one_problem(&f, "firms.csv", 2, "pd", Rule::OutOfRange);
}

#[test]
fn holdings_that_follow_each_other_in_time_do_not_sum() {
    // P1 sold its 70% to P2 at the end of 2023: never more than 0.7 + 0.3 at once.
    let rows = "holder_id,firm_id,share,valid_from,valid_to\nP1,F1,0.7,,2023-12-31\nP2,F1,0.7,2024-01-01,\nF3,F1,0.3,,\n";
    let f = Fixture::new(&[("shareholdings", rows)]);
    assert!(f.problems().iter().all(|p| p.rule != Rule::SharesAboveOne), "{:#?}", f.problems());
    // The same stakes overlapping by one day hold 1.7 at once.
    let rows = "holder_id,firm_id,share,valid_from,valid_to\nP1,F1,0.7,,2024-01-01\nP2,F1,0.7,2024-01-01,\nF3,F1,0.3,,\n";
    let f = Fixture::new(&[("shareholdings", rows)]);
    let over: Vec<_> = f.problems().into_iter().filter(|p| p.rule == Rule::SharesAboveOne).collect();
    assert_eq!(over.len(), 3);
    assert!(over[0].message.contains("1.7"), "{}", over[0]);
    // A validity range that ends before it starts.
    let f = Fixture::new(&[("officers", "person_id,firm_id,role,valid_from,valid_to\nP1,F1,director,2024-05-01,2024-04-01\n")]);
    assert_one_problem(&f, "officers.csv", 1, "valid_to", Rule::EndBeforeStart);
}

#[test]
fn negative_registered_capital() {
    let f = Fixture::new(&[("firms", "firm_id,registered_capital\nF1,-1\nF2,1\nF3,0\n")]);
    assert_one_problem(&f, "firms.csv", 1, "registered_capital", Rule::OutOfRange);
}

#[test]
fn holders_summing_above_one() {
    let f = Fixture::new(&[("shareholdings", "holder_id,firm_id,share\nP1,F1,0.7\nP2,F1,0.4\n")]);
    let problems = f.problems();
    let over: Vec<_> = problems.iter().filter(|p| p.rule == Rule::SharesAboveOne).collect();
    assert_eq!(over.len(), 2, "{problems:#?}");
    assert!(over[0].message.contains("F1") && over[0].message.contains("1.1"), "{}", over[0]);
    assert_eq!((over[0].row, over[1].row), (1, 2));
    let (graph, _) = f.load(OnError::Skip).expect("skip");
    assert_eq!(graph.edge_count(Relation::Shareholding), 0, "both holdings of the firm are dropped");
}

#[test]
fn shares_summing_to_one_within_tolerance_pass() {
    let f = Fixture::new(&[("shareholdings", "holder_id,firm_id,share\nP1,F1,0.3333334\nP2,F1,0.6666667\n")]);
    assert!(f.problems().is_empty());
}

#[test]
fn unknown_enum_value() {
    let f = Fixture::new(&[("officers", "person_id,firm_id,role\nP1,F1,legal_rep\nP2,F1,janitor\n")]);
    let p = assert_one_problem(&f, "officers.csv", 2, "role", Rule::UnknownEnum);
    assert!(p.message.contains("legal_rep|director"), "{p}");
}

#[test]
fn conflicting_duplicate_ids() {
    let f = Fixture::new(&[("persons", "person_id,name\nP1,Wang\nP2,Li\nP1,Zhao\n")]);
    assert_one_problem(&f, "persons.csv", 3, "person_id", Rule::DuplicateId);
}

#[test]
fn identical_duplicate_rows_are_deduplicated_with_a_count() {
    let f = Fixture::new(&[("persons", "person_id,name\nP1,Wang\nP2,Li\nP1,Wang\n")]);
    let (graph, report) = f.load(OnError::Fail).expect("identical duplicates are not errors");
    assert_eq!(report.deduplicated_rows, 1);
    assert_eq!(graph.kind_count(ekg_schema::NodeKind::Person), 2);
}

#[test]
fn an_id_used_by_two_kinds() {
    let f = Fixture::new(&[("persons", "person_id,name\nP1,Wang\nF2,Li\n")]);
    let p = assert_one_problem(&f, "persons.csv", 2, "person_id", Rule::DuplicateId);
    assert!(p.message.contains("firm"), "{p}");
}

#[test]
fn dangling_endpoint_drops_the_edge_under_skip() {
    let f = Fixture::new(&[("transfers", "src_id,dst_id,amount,ts\nA1,A2,5,2024-01-01\nA1,A9,5,2024-01-01\n")]);
    assert_one_problem(&f, "transfers.csv", 2, "dst_id", Rule::DanglingEndpoint);
    let (graph, report) = f.load(OnError::Skip).expect("skip");
    assert_eq!(graph.edge_count(Relation::Transfer), 1);
    assert_eq!(report.tables.iter().find(|t| t.table == "transfers").map(|t| t.rejected), Some(1));
}

#[test]
fn repeated_endpoints_are_checked_on_every_row() {
    // Runs of one source id (resolved once per run) must still report every bad row and count
    // every normalised value.
    let f = Fixture::new(&[(
        "transfers",
        "src_id,dst_id,amount,ts\nA1,A2,5,2024-01-01\nA9,A2,5,2024-01-01\nA9,A2,5,2024-01-01\n Ａ１ ,A2,5,2024-01-01\n Ａ１ ,A3,5,2024-01-01\nA1,A9,5,2024-01-01\nA1,A9,5,2024-01-01\n",
    )]);
    let problems = f.problems();
    let rows: Vec<(u64, &str)> = problems.iter().map(|p| (p.row, p.column)).collect();
    assert_eq!(rows, vec![(2, "src_id"), (3, "src_id"), (6, "dst_id"), (7, "dst_id")], "{problems:?}");
    assert!(problems.iter().all(|p| p.rule == Rule::DanglingEndpoint));
    let (graph, report) = f.load(OnError::Skip).expect("skip");
    assert_eq!(graph.edge_count(Relation::Transfer), 3);
    assert_eq!(report.normalized_values, 2);
}

#[test]
fn endpoint_of_the_wrong_kind() {
    let f = Fixture::new(&[("supply_links", "supplier_id,customer_id,volume\nF1,P1,5\n")]);
    let p = assert_one_problem(&f, "supply_links.csv", 1, "customer_id", Rule::WrongEndpointKind);
    assert!(p.message.contains("is a person; expected firm"), "{p}");
}

#[test]
fn guarantee_ending_before_it_starts() {
    let f = Fixture::new(&[("guarantees", "guarantor_id,borrower_id,amount,start,end\nF2,F1,10,2023-05-01,2023-01-01\n")]);
    assert_one_problem(&f, "guarantees.csv", 1, "end", Rule::EndBeforeStart);
}

#[test]
fn guarantee_amount_may_be_unknown_but_never_non_positive() {
    let f = Fixture::new(&[("guarantees", "guarantor_id,borrower_id,amount\nF2,F1,\nF1,F2,0\n")]);
    assert_one_problem(&f, "guarantees.csv", 2, "amount", Rule::OutOfRange);
}

#[test]
fn timestamps_after_the_as_of_date() {
    let f = Fixture::new(&[("transfers", "src_id,dst_id,amount,ts\nA1,A2,5,2024-12-31T23:59:59Z\nA1,A2,5,2025-01-02T00:00:00Z\n")]);
    assert_one_problem(&f, "transfers.csv", 2, "ts", Rule::FutureTimestamp);
}

#[test]
fn firm_founded_after_the_as_of_date() {
    let f = Fixture::new(&[("firms", "firm_id,founded\nF1,2030-01-01\nF2,2020-01-01\nF3,\n")]);
    assert_one_problem(&f, "firms.csv", 1, "founded", Rule::FutureTimestamp);
}

#[test]
fn ids_longer_than_the_limit() {
    let long = "x".repeat(2_000);
    let text = format!("person_id,name\nP1,Wang\nP2,Li\n{long},Zhao\n");
    let f = Fixture::new(&[("persons", &text)]);
    assert_one_problem(&f, "persons.csv", 3, "person_id", Rule::TooLong);
}

#[test]
fn full_width_and_padded_codes_are_normalised_and_counted() {
    let f = Fixture::new(&[("transfers", "src_id,dst_id,amount,ts\n Ａ１ ,A2,5,2024-01-01\n")]);
    let (graph, report) = f.load(OnError::Fail).expect("normalised ids resolve");
    assert_eq!(graph.edge_count(Relation::Transfer), 1);
    assert_eq!(report.normalized_values, 1);
}

#[test]
fn unknown_columns_are_ignored_with_a_notice() {
    let f = Fixture::new(&[("persons", "person_id,name,shoe_size\nP1,Wang,42\nP2,Li,40\n")]);
    let (_, report) = f.load(OnError::Fail).expect("extra columns are fine");
    assert!(report.problems.notices.iter().any(|n| n.contains("shoe_size")), "{:?}", report.problems.notices);
}

#[test]
fn every_rule_has_a_test_in_this_file() {
    // Adding a rule without a test here fails this test.
    let source = include_str!("validation.rs");
    for rule in [
        Rule::NullRequired,
        Rule::BadValue,
        Rule::OutOfRange,
        Rule::UnknownEnum,
        Rule::DuplicateId,
        Rule::DanglingEndpoint,
        Rule::WrongEndpointKind,
        Rule::SharesAboveOne,
        Rule::EndBeforeStart,
        Rule::FutureTimestamp,
        Rule::TooLong,
    ] {
        assert!(source.matches(&format!("Rule::{rule:?}")).count() >= 2, "{rule:?} has no test");
    }
}
