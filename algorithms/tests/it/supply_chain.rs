//! Chain positions on hand-built supply networks with known answers: chains in both directions,
//! a firm reached both ways, a chain that changes direction, and one hop too far.

use ekg_algorithms::supply_chain::{chain_members, Position};
use ekg_schema::builder::{FirmRow, GraphBuilder};
use ekg_schema::{Graph, NodeId, NodeKind, Relation};

/// `firms` firms f0..; supply links as (supplier, customer, volume).
fn graph(firms: u32, links: &[(u32, u32, f64)]) -> Graph {
    let mut b = GraphBuilder::new();
    for f in 0..firms {
        b.add_node(NodeKind::Firm, &format!("f{f}")).expect("node").expect("new");
        b.push_firm(&FirmRow { registered_capital: 1.0, ..FirmRow::default() });
    }
    let list = b.edges_mut(Relation::Supply);
    for &(s, c, v) in links {
        list.src.push(NodeId(s));
        list.dst.push(NodeId(c));
        list.f64_attr_mut(0).push(v);
    }
    b.finish().expect("graph")
}

#[test]
fn positions_follow_the_whole_chain_not_its_first_hop() {
    // Core 0. Upstream: 1 supplies 0, 2 supplies 1. Downstream: 0 supplies 3, 3 supplies 4.
    // Cluster: 5 buys from supplier 1 (a customer of a supplier); 6 supplies customer 3.
    // 7 supplies 2: three hops, out of reach at max_hops 2.
    let links = [(1, 0, 100.0), (2, 1, 20.0), (0, 3, 300.0), (3, 4, 40.0), (1, 5, 50.0), (6, 3, 60.0), (7, 2, 70.0)];
    let g = graph(8, &links);
    let members = chain_members(&g, &[0], 2);
    let found: Vec<(u32, Position, u32, Vec<u32>, f64)> =
        members.iter().map(|m| (m.firm, m.position, m.hops, m.path.clone(), m.volumes[0])).collect();
    assert_eq!(
        found,
        vec![
            (1, Position::Upstream, 1, vec![1, 0], 100.0),
            (2, Position::Upstream, 2, vec![2, 1, 0], 20.0),
            (3, Position::Downstream, 1, vec![3, 0], 300.0),
            (4, Position::Downstream, 2, vec![4, 3, 0], 40.0),
            (5, Position::Cluster, 2, vec![5, 1, 0], 50.0),
            (6, Position::Cluster, 2, vec![6, 3, 0], 60.0),
        ]
    );
    // With three hops, 7 is upstream (7 → 2 → 1 → 0).
    let far = chain_members(&g, &[0], 3);
    let seven = far.iter().find(|m| m.firm == 7).expect("7 within three hops");
    assert_eq!((seven.position, seven.hops), (Position::Upstream, 3));
}

#[test]
fn a_firm_reached_both_ways_takes_the_shorter_chain_and_upstream_on_a_tie() {
    // 1 supplies core 0 directly and, through 2, also buys from it: upstream at 1 hop.
    // 3 supplies 4 which supplies 0 (upstream, 2 hops) and buys from 0 via 5 (downstream, 2):
    // a tie, upstream. 6 buys from 0 directly (1 hop) and supplies 7 → 0 (2 hops): downstream.
    let links =
        [(1, 0, 1.0), (0, 2, 1.0), (2, 1, 1.0), (3, 4, 1.0), (4, 0, 1.0), (0, 5, 1.0), (5, 3, 1.0), (0, 6, 1.0), (6, 7, 1.0), (7, 0, 1.0)];
    let members = chain_members(&graph(8, &links), &[0], 2);
    let position = |f: u32| members.iter().find(|m| m.firm == f).map(|m| (m.position, m.hops));
    assert_eq!(position(1), Some((Position::Upstream, 1)));
    assert_eq!(position(3), Some((Position::Upstream, 2)));
    assert_eq!(position(6), Some((Position::Downstream, 1)));
}

#[test]
fn the_nearest_core_wins_and_renaming_cores_changes_nothing_else() {
    // Cores 0 and 9; 1 supplies 0; 2 supplies 9 and buys from 1 (upstream of 9 at one hop).
    let links = [(1, 0, 1.0), (2, 9, 1.0), (1, 2, 1.0)];
    let members = chain_members(&graph(10, &links), &[9, 0, 9], 2);
    let of = |f: u32| members.iter().find(|m| m.firm == f).map(|m| (m.core, m.position, m.hops));
    assert_eq!(of(1), Some((0, Position::Upstream, 1)));
    assert_eq!(of(2), Some((9, Position::Upstream, 1)));
    assert!(members.iter().all(|m| m.firm != 0 && m.firm != 9), "cores are not their own prospects");
}

/// Risk runs both ways along the value chain: a supplier loses receivables when its customer
/// defaults, and a customer loses by its dependence when a supplier fails.
#[test]
fn a_two_supplier_customer_loses_by_its_dependence_on_each() {
    use ekg_algorithms::contagion::{ImpactConfig, ImpactNetwork};
    // Suppliers 1 and 2 sell 75 and 25 to customer 0; buffers 100 each.
    let g = graph(3, &[(1, 0, 75.0), (2, 0, 25.0)]);
    let buffer = [100.0, 100.0, 100.0];
    let config = ImpactConfig { supply_loss_rate: 0.2, supply_disruption_rate: 0.4, ..ImpactConfig::default() };
    let net = ImpactNetwork::from_graph(&g, &buffer, &config);
    let weight = |from: u32, to: u32| {
        let (targets, weights, _) = net.impacts(from);
        targets.iter().position(|&t| t == to).map(|i| weights[i])
    };
    // Customer 0 defaults: supplier 1 loses 0.2 × 75 of 100, supplier 2 0.2 × 25.
    assert_eq!(weight(0, 1), Some(0.15));
    assert_eq!(weight(0, 2), Some(0.05));
    // Supplier 1 fails: the customer loses 0.4 × 75/100 of its buffer; supplier 2: 0.4 × 25/100.
    assert!((weight(1, 0).expect("disruption") - 0.3).abs() < 1e-12);
    assert!((weight(2, 0).expect("disruption") - 0.1).abs() < 1e-12);
    // Without the disruption channel, a supplier's failure touches no one.
    let one_way = ImpactNetwork::from_graph(&g, &buffer, &ImpactConfig { supply_disruption_rate: 0.0, ..config });
    assert!(one_way.impacts(1).0.is_empty());
}
