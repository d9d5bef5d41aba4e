//! Random valid datasets build, and every row's edge is in the graph with its attributes.

use std::collections::BTreeMap;

use ekg_loaders::OnError;
use ekg_schema::{NodeId, Relation};
use proptest::prelude::*;

use crate::common::Fixture;

/// (firms, transfers as (src, dst, cents, seconds), holdings as (holder, firm, per-mille share)).
type Dataset = (usize, Vec<(usize, usize, u32, i64)>, Vec<(usize, usize, u16)>);

fn dataset() -> impl Strategy<Value = Dataset> {
    (1usize..25).prop_flat_map(|firms| {
        let transfers = prop::collection::vec((0..firms, 0..firms, 1u32..1_000_000, 0i64..1_000_000), 0..60);
        let holdings = prop::collection::vec((0..firms, 0..firms, 1u16..=1000), 0..30);
        (Just(firms), transfers, holdings)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_valid_row_becomes_an_edge((firms, transfers, holdings) in dataset()) {
        let mut firm_csv = String::from("firm_id\n");
        for i in 0..firms {
            firm_csv.push_str(&format!("F{i}\n"));
        }
        let mut transfer_csv = String::from("src_id,dst_id,amount,ts\n");
        for (s, d, cents, secs) in &transfers {
            transfer_csv.push_str(&format!("F{s},F{d},{}.{:02},{}\n", cents / 100, cents % 100, iso(*secs)));
        }
        // Keep each firm's shares summing ≤ 1: scale by the number of holdings it receives.
        let mut per_firm = vec![0usize; firms];
        for (_, f, _) in &holdings {
            per_firm[*f] += 1;
        }
        let mut holding_csv = String::from("holder_id,firm_id,share\n");
        for (h, f, milli) in &holdings {
            holding_csv.push_str(&format!("F{h},F{f},{}\n", *milli as f64 / 1000.0 / per_firm[*f] as f64));
        }
        let empty = ["persons", "accounts", "loans", "officers", "guarantees", "supply_links", "identifiers"];
        let mut overrides: Vec<(&str, &str)> = empty.iter().map(|n| (*n, "")).collect();
        overrides.extend([("firms", firm_csv.as_str()), ("transfers", transfer_csv.as_str()), ("shareholdings", holding_csv.as_str())]);
        let fixture = Fixture::new(&overrides);
        let (graph, report) = fixture.load(OnError::Fail).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(report.problems.is_empty());
        prop_assert_eq!(graph.edge_count(Relation::Transfer), transfers.len());
        prop_assert_eq!(graph.edge_count(Relation::Shareholding), holdings.len());
        // The multiset of (src, dst, amount, ts) read back equals the input's.
        let store = graph.relation(Relation::Transfer);
        let (amount, ts) = (store.f64_attr("amount").unwrap_or(&[]), store.attr("ts").and_then(|c| c.as_i64()).unwrap_or(&[]));
        let mut seen: BTreeMap<(String, String, u64, i64), usize> = BTreeMap::new();
        for v in 0..graph.node_count() as u32 {
            for e in store.forward.range(NodeId(v)) {
                let dst = store.forward.targets()[e];
                *seen.entry((graph.external_id(NodeId(v)).to_string(), graph.external_id(dst).to_string(), amount[e].to_bits(), ts[e])).or_default() += 1;
            }
        }
        let mut expected: BTreeMap<(String, String, u64, i64), usize> = BTreeMap::new();
        for (s, d, cents, secs) in &transfers {
            let value: f64 = format!("{}.{:02}", cents / 100, cents % 100).parse().unwrap_or(0.0);
            *expected.entry((format!("F{s}"), format!("F{d}"), value.to_bits(), secs * 1_000_000 + 1_600_000_000_000_000)).or_default() += 1;
        }
        prop_assert_eq!(seen, expected);
        // Reverse adjacency is the transpose of the forward one.
        let mut forward_pairs = Vec::new();
        let mut reverse_pairs = Vec::new();
        for v in 0..graph.node_count() as u32 {
            forward_pairs.extend(store.forward.neighbors(NodeId(v)).iter().map(|d| (v, d.0)));
            reverse_pairs.extend(store.reverse.neighbors(NodeId(v)).iter().map(|s| (s.0, v)));
        }
        forward_pairs.sort_unstable();
        reverse_pairs.sort_unstable();
        prop_assert_eq!(forward_pairs, reverse_pairs);
    }
}

fn iso(offset_secs: i64) -> String {
    chrono_free_iso(1_600_000_000 + offset_secs)
}

/// RFC 3339 for a Unix time, without pulling a date crate into the tests.
fn chrono_free_iso(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}
