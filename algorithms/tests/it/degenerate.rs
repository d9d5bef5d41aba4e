//! Degenerate graphs: empty, one node, all self-loops, duplicate edges, a large star and a long
//! chain — correct results and no recursion-depth blow-up (every traversal is iterative). The
//! CI sizes are 10^6; `cargo test --release -p ekg-algorithms -- --ignored` runs the 10^7 ones.

use ekg_algorithms::centrality::pagerank::{page_rank, PageRankConfig};
use ekg_algorithms::community::leiden::leiden;
use ekg_algorithms::community::louvain::{louvain, LouvainConfig};
use ekg_algorithms::community::lpa::{label_propagation, LabelPropagationConfig};
use ekg_algorithms::components::scc::strongly_connected_components;
use ekg_algorithms::components::wcc::weakly_connected_components;
use ekg_algorithms::contagion::{debt_rank, default_cascade, guarantee_network, CascadeConfig, ImpactNetwork};
use ekg_algorithms::ownership::{ownership, HoldingNetwork, OwnershipConfig};
use ekg_algorithms::structure::kcore::core_numbers;
use ekg_algorithms::structure::triangles::triangles;
use ekg_algorithms::Projection;

fn everything(g: &Projection) {
    let n = g.node_count();
    let pr = page_rank(g, &PageRankConfig::default());
    assert_eq!(pr.scores.len(), n);
    if n > 0 {
        assert!((pr.scores.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
    assert_eq!(weakly_connected_components(g).component.len(), n);
    assert_eq!(strongly_connected_components(g).component.len(), n);
    assert_eq!(label_propagation(g, &LabelPropagationConfig::default()).labels.len(), n);
    assert_eq!(louvain(g, &LouvainConfig::default()).community.len(), n);
    assert_eq!(leiden(g, &LouvainConfig::default()).community.len(), n);
    assert_eq!(triangles(g).triangles.len(), n);
    assert_eq!(core_numbers(g).core.len(), n);
    assert_eq!(guarantee_network(g, &vec![false; n]).chain_depth.len(), n);
}

#[test]
fn empty_and_single_node_graphs() {
    everything(&Projection::from_edges(0, &[], false, false));
    everything(&Projection::from_edges(1, &[], false, false));
    everything(&Projection::from_edges(1, &[(0, 0, 1.0)], false, true));
    let r = ownership(&HoldingNetwork::from_edges(0, &[]), &OwnershipConfig::default());
    assert!(r.controller.is_empty());
    let net = ImpactNetwork::from_losses(0, Vec::new(), &[]);
    assert!(debt_rank(&net, &[], &[]).distress.is_empty());
    assert!(default_cascade(&net, &[], &[], &CascadeConfig { runs: 10, seed: 1 }).probability.is_empty());
}

#[test]
fn all_self_loops_and_duplicate_edges() {
    let loops: Vec<(u32, u32, f64)> = (0..100).map(|v| (v, v, 1.0)).collect();
    let g = Projection::from_edges(100, &loops, false, false);
    everything(&g);
    assert_eq!(weakly_connected_components(&g).count(), 100);
    assert!(core_numbers(&g).core.iter().all(|&c| c == 0), "self-loops are not neighbours in the simple view");
    assert_eq!(triangles(&g).total, 0);
    // The same edge three times counts as multiplicity for PageRank, once for structure.
    let g = Projection::from_edges(3, &[(0, 1, 1.0), (0, 1, 1.0), (0, 1, 1.0), (0, 2, 1.0)], false, false);
    let pr = page_rank(&g, &PageRankConfig::default());
    assert!(pr.scores[1] > pr.scores[2]);
    assert_eq!(core_numbers(&g).core, vec![1, 1, 1]);
}

fn star(n: u32) -> Projection {
    let edges: Vec<(u32, u32, f64)> = (1..n).map(|v| (v, 0, 1.0)).collect();
    Projection::from_edges(n as usize, &edges, false, false)
}

fn chain(n: u32) -> Projection {
    let edges: Vec<(u32, u32, f64)> = (1..n).map(|v| (v - 1, v, 1.0)).collect();
    Projection::from_edges(n as usize, &edges, false, false)
}

fn check_star(n: u32) {
    let g = star(n);
    let pr = page_rank(&g, &PageRankConfig { max_iterations: 20, ..PageRankConfig::default() });
    assert!(pr.scores[0] > 0.4, "the centre collects the rank");
    assert_eq!(weakly_connected_components(&g).count(), 1);
    assert_eq!(strongly_connected_components(&g).count(), n as usize);
    assert!(core_numbers(&g).core.iter().all(|&c| c == 1));
    assert_eq!(triangles(&g).total, 0);
}

fn check_chain(n: u32) {
    let g = chain(n);
    assert_eq!(weakly_connected_components(&g).count(), 1);
    assert_eq!(strongly_connected_components(&g).count(), n as usize);
    assert!(core_numbers(&g).core.iter().all(|&c| c == 1));
    let r = guarantee_network(&g, &vec![false; n as usize]);
    assert_eq!(r.chain_depth[(n - 1) as usize], n - 1);
    // A holding chain of the same length: one pass, paths elided in the middle.
    let holdings: Vec<(u32, u32, f64)> = (1..n).map(|v| (v - 1, v, 0.6)).chain([(n, 0, 0.6)]).collect();
    let owned = ownership(&HoldingNetwork::from_edges(n, &holdings), &OwnershipConfig::default());
    assert_eq!(owned.controller[(n - 1) as usize], n);
}

#[test]
fn a_million_edge_star_and_a_million_long_chain() {
    check_star(1_000_000);
    check_chain(1_000_000);
}

#[test]
#[ignore = "10^7 nodes: run with --release -- --ignored"]
fn a_ten_million_edge_star_and_a_ten_million_long_chain() {
    check_star(10_000_000);
    check_chain(10_000_000);
}
