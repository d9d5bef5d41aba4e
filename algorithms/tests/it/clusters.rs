//! Industrial clusters on a hand-built supply network with known answers: two regions, a
//! cross-region link that must not join them, a pair too small to be a cluster, and a core that
//! wins on links inside its cluster, not on volume outside it.

use ekg_algorithms::clusters::{industrial_clusters, ClusterConfig};
use ekg_algorithms::ownership::NONE;
use ekg_schema::builder::{FirmRow, GraphBuilder};
use ekg_schema::{NodeId, NodeKind, Relation, BOOL_FALSE, BOOL_TRUE};

#[test]
fn clusters_stay_within_a_region_and_name_their_core_defaults_and_borrowers() {
    // Beijing: 0 supplies 1, 2 and 3, 1 supplies 2 (a chain around core 0); 4-5 only a pair.
    // Shanghai: 6, 7, 8 in a chain 6 → 7 → 8, with 8 → 0 across regions (ignored).
    // Firm 9 has no region: its link 9 → 6 is left out. 2 defaulted; 1 and 3 borrow.
    let regions = ["Beijing", "Beijing", "Beijing", "Beijing", "Beijing", "Beijing", "Shanghai", "Shanghai", "Shanghai", ""];
    let mut b = GraphBuilder::new();
    for (f, region) in regions.iter().enumerate() {
        b.add_node(NodeKind::Firm, &format!("f{f}")).expect("node").expect("new");
        b.push_firm(&FirmRow {
            region: (!region.is_empty()).then_some(*region),
            defaulted: if f == 2 { BOOL_TRUE } else { BOOL_FALSE },
            ..FirmRow::default()
        });
    }
    let mut loans = Vec::new();
    for (k, borrower) in [1u32, 3].into_iter().enumerate() {
        let loan = b.add_node(NodeKind::Loan, &format!("l{k}")).expect("node").expect("new");
        b.loan_amount.push(1.0);
        b.loan_disbursed.push(0);
        b.loan_defaulted.push(BOOL_FALSE);
        loans.push((borrower, loan));
    }
    let list = b.edges_mut(Relation::LoanBorrower);
    for (borrower, loan) in loans {
        list.src.push(NodeId(borrower));
        list.dst.push(loan);
    }
    let list = b.edges_mut(Relation::Supply);
    let links = [(0, 1, 5.0), (0, 2, 5.0), (0, 3, 5.0), (1, 2, 5.0), (4, 5, 1e9), (6, 7, 1.0), (7, 8, 1.0), (8, 0, 1e9), (9, 6, 1.0)];
    for (s, c, v) in links {
        list.src.push(NodeId(s));
        list.dst.push(NodeId(c));
        list.f64_attr_mut(0).push(v);
    }
    let graph = b.finish().expect("graph");
    let found = industrial_clusters(&graph, &ClusterConfig::default());
    let summary: Vec<(Vec<u32>, u32, u32, u32, u32)> =
        found.clusters.iter().map(|c| (c.members.clone(), c.core, c.defaulted, c.borrowers, c.links)).collect();
    assert_eq!(summary, vec![(vec![0, 1, 2, 3], 0, 1, 2, 4), (vec![6, 7, 8], 7, 0, 0, 2)]);
    assert_eq!(found.clusters[0].default_rate(), 0.25);
    assert_eq!(found.clusters[0].penetration(), 0.5);
    assert_eq!(found.cluster_of[..10], [0, 0, 0, 0, NONE, NONE, 1, 1, 1, NONE]);
    assert_eq!(graph.firms.region.values().get(found.clusters[1].region as usize), "Shanghai");
}
