//! Behaviour profiles on a hand-built graph: counterparty concentration is taken over the
//! entities that own the accounts, from payments, or from receipts for a firm that paid nothing;
//! and k-means against scikit-learn.

use ekg_algorithms::ownership::account_owner;
use ekg_algorithms::segments::{lloyd, profiles, Profile, TOLERANCE};
use ekg_schema::builder::{FirmRow, GraphBuilder};
use ekg_schema::{NodeId, NodeKind, Relation, MICROS_PER_DAY};

const CONCENTRATION: usize = 4;

#[test]
fn concentration_counts_owners_and_falls_back_to_receipts() {
    // Firms f0..f3; accounts a0 (f0), a1 (f1), a2 and a4 (both f2), a3 (f3).
    let mut b = GraphBuilder::new();
    for f in 0..4 {
        b.add_node(NodeKind::Firm, &format!("f{f}")).expect("node").expect("new");
        b.push_firm(&FirmRow { registered_capital: 1.0, ..FirmRow::default() });
    }
    for a in 0..5 {
        b.add_node(NodeKind::Account, &format!("a{a}")).expect("node").expect("new");
        b.account_opened.push(0);
        b.account_blocked.push(0);
    }
    let account = |a: u32| NodeId(4 + a);
    let owners = b.edges_mut(Relation::AccountOwner);
    for (firm, a) in [(0, 0), (1, 1), (2, 2), (2, 4), (3, 3)] {
        owners.src.push(NodeId(firm));
        owners.dst.push(account(a));
    }
    // f0 pays f2's two accounts 100 each and receives 300 from f3: one payee entity.
    // f1 pays nothing and receives 100 from each of f2's accounts and 200 from f3: two payer
    // entities of equal weight. (By account the shares would be ¼, ¼, ½ and ½, ½.)
    let transfers = b.edges_mut(Relation::Transfer);
    for (src, dst, amount, day) in
        [(0, 2, 100.0, 90), (0, 4, 100.0, 91), (3, 0, 300.0, 92), (2, 1, 100.0, 93), (4, 1, 100.0, 94), (3, 1, 200.0, 95)]
    {
        transfers.src.push(account(src));
        transfers.dst.push(account(dst));
        transfers.f64_attr_mut(0).push(amount);
        transfers.i64_attr_mut(1).push(day * MICROS_PER_DAY);
    }
    let graph = b.finish().expect("graph");
    let firm = |id: &str| graph.lookup(id).expect("firm").index();
    let found = profiles(&graph, 100 * MICROS_PER_DAY, &account_owner(&graph));
    let concentration = |id: &str| found[firm(id)].expect("active")[CONCENTRATION];
    assert_eq!(concentration("f0"), 1.0);
    assert_eq!(concentration("f1"), 0.5);
    // f2 pays f1 only (both its accounts); f3 pays f0 and f1, 300 and 200.
    assert_eq!(concentration("f2"), 1.0);
    assert!((concentration("f3") - (0.6f64.powi(2) + 0.4f64.powi(2))).abs() < 1e-12);
}

/// Lloyd's iterations against scikit-learn's from the same start (fixtures/sklearn_kmeans.json,
/// made by make_sklearn_kmeans.py): one case that settles exactly, one that ends by the tolerance
/// and then reassigns the points to the final centres.
#[test]
fn lloyd_matches_scikit_learn_from_the_same_start() {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sklearn_kmeans.json");
    let fixture: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let cases = fixture["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 2);
    let floats = |v: &serde_json::Value| -> Profile {
        let row: Vec<f64> = v.as_array().expect("row").iter().map(|x| x.as_f64().expect("number")).collect();
        row.try_into().expect("six dimensions")
    };
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let points: Vec<Profile> = case["points"].as_array().expect("points").iter().map(floats).collect();
        let start = case["start_rows"].as_array().expect("start").iter().map(|r| points[r.as_u64().expect("row") as usize]).collect();
        let found = lloyd(&points, start, TOLERANCE);
        let labels: Vec<u32> = case["labels"].as_array().expect("labels").iter().map(|l| l.as_u64().expect("label") as u32).collect();
        assert_eq!(found.assignment, labels, "{name}");
        assert_eq!(found.iterations as u64, case["iterations"].as_u64().expect("iterations"), "{name}");
        for (got, expected) in found.centroids.iter().zip(case["centres"].as_array().expect("centres").iter().map(floats)) {
            for (x, y) in got.iter().zip(&expected) {
                assert!((x - y).abs() < 1e-9, "{name}: centre {got:?} vs scikit-learn {expected:?}");
            }
        }
    }
}
