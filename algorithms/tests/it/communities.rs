//! Louvain and Leiden against igraph 1.0 (fixtures/igraph_communities.json, made by
//! fixtures/make_igraph.py): modularity at least 0.99 × igraph's on the same graph, Leiden's
//! communities always connected, and NMI against the planted partition of an LFR graph.

use std::path::PathBuf;

use ekg_algorithms::community::leiden::{communities_connected, leiden};
use ekg_algorithms::community::louvain::{louvain, modularity, LouvainConfig, LouvainResult};
use ekg_algorithms::Projection;
use serde_json::Value;

use crate::networkx;

fn reference() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/igraph_communities.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
}

fn lfr() -> (Projection, Vec<u32>) {
    let r = reference();
    let edges: Vec<(u32, u32, f64)> = r["lfr"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| (e[0].as_u64().unwrap_or(0) as u32, e[1].as_u64().unwrap_or(0) as u32, 1.0))
        .collect();
    let planted = r["lfr"]["planted"].as_array().expect("planted").iter().map(|x| x.as_u64().unwrap_or(0) as u32).collect();
    (Projection::from_edges(1000, &edges, true, false), planted)
}

/// Normalized mutual information (arithmetic normalization, as igraph's "nmi").
fn nmi(a: &[u32], b: &[u32]) -> f64 {
    use std::collections::HashMap;
    let n = a.len() as f64;
    let mut ca: HashMap<u32, f64> = HashMap::new();
    let mut cb: HashMap<u32, f64> = HashMap::new();
    let mut joint: HashMap<(u32, u32), f64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *ca.entry(x).or_default() += 1.0;
        *cb.entry(y).or_default() += 1.0;
        *joint.entry((x, y)).or_default() += 1.0;
    }
    let entropy = |c: &HashMap<u32, f64>| -c.values().map(|&k| k / n * (k / n).ln()).sum::<f64>();
    let mi: f64 = joint.iter().map(|(&(x, y), &k)| k / n * ((k * n) / (ca[&x] * cb[&y])).ln()).sum();
    let (ha, hb) = (entropy(&ca), entropy(&cb));
    if ha + hb == 0.0 {
        1.0
    } else {
        2.0 * mi / (ha + hb)
    }
}

#[test]
fn louvain_and_leiden_modularity_at_least_99_percent_of_igraph() {
    let r = reference();
    let g = networkx::graph(&networkx::reference(), true);
    let config = LouvainConfig::default();
    let ours = louvain(&g, &config);
    let theirs = r["directed_weighted"]["louvain_modularity"].as_f64().expect("q");
    assert!(ours.modularity >= 0.99 * theirs, "louvain Q {} vs igraph {}", ours.modularity, theirs);
    assert!((modularity(&g, &ours.community, 1.0) - ours.modularity).abs() < 1e-9);
    let ours = leiden(&g, &config);
    let theirs = r["directed_weighted"]["leiden_modularity"].as_f64().expect("q");
    assert!(ours.modularity >= 0.99 * theirs, "leiden Q {} vs igraph {}", ours.modularity, theirs);
    assert!(communities_connected(&g, &ours.community));
}

#[test]
fn planted_lfr_communities_are_recovered() {
    let r = reference();
    let (g, planted) = lfr();
    for (name, result, key) in
        [("louvain", louvain(&g, &LouvainConfig::default()), "louvain"), ("leiden", leiden(&g, &LouvainConfig::default()), "leiden")]
    {
        let theirs_q = r["lfr"][format!("{key}_modularity")].as_f64().expect("q");
        let theirs_nmi = r["lfr"][format!("{key}_nmi")].as_f64().expect("nmi");
        let ours_nmi = nmi(&result.community, &planted);
        eprintln!("LFR {name}: Q {:.4} (igraph {theirs_q:.4}), NMI {ours_nmi:.4} (igraph {theirs_nmi:.4})", result.modularity);
        assert!(result.modularity >= 0.99 * theirs_q, "{name}: Q {} vs {theirs_q}", result.modularity);
        assert!(ours_nmi >= theirs_nmi - 0.02, "{name}: NMI {ours_nmi} vs igraph {theirs_nmi}");
        assert!(communities_connected(&g, &result.community));
    }
}

/// Louvain and Leiden with default settings on a pool of `threads`.
fn both_with_threads(g: &Projection, threads: usize) -> (LouvainResult, LouvainResult) {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool")
        .install(|| (louvain(g, &LouvainConfig::default()), leiden(g, &LouvainConfig::default())))
}

#[test]
fn community_detection_is_identical_across_thread_counts() {
    let g = networkx::graph(&networkx::reference(), true);
    assert_eq!(both_with_threads(&g, 1), both_with_threads(&g, 2));
}

/// 40,000 nodes in 400 planted groups of 100 (about 6 edges inside the group per node, 1 to a
/// random node): large enough that local moving visits nodes in shuffled runs rather than one by
/// one, and its batches hold thousands of nodes.
fn planted_groups() -> (Projection, Vec<u32>) {
    let (groups, size) = (400u32, 100u32);
    let mut rng = super::TestRng::new(0x2545_F491_4F6C_DD1D);
    let mut next = move |bound: u32| rng.below(bound as u64) as u32;
    let n = groups * size;
    let mut edges = Vec::new();
    for v in 0..n {
        let group = v / size;
        for _ in 0..3 {
            edges.push((v, group * size + next(size), 1.0));
        }
        if next(2) == 0 {
            edges.push((v, next(n), 1.0));
        }
    }
    (Projection::from_edges(n as usize, &edges, true, false), (0..n).map(|v| v / size).collect())
}

#[test]
fn large_graphs_recover_planted_groups_identically_across_thread_counts() {
    let (g, planted) = planted_groups();
    let planted_q = modularity(&g, &planted, 1.0);
    let (one, two) = (both_with_threads(&g, 1), both_with_threads(&g, 2));
    assert_eq!(one, two);
    for (name, result) in [("louvain", &one.0), ("leiden", &one.1)] {
        assert!(result.modularity >= 0.99 * planted_q, "{name}: Q {} vs planted {planted_q}", result.modularity);
        assert!((modularity(&g, &result.community, 1.0) - result.modularity).abs() < 1e-9, "{name}: reported Q is the partition's");
    }
    assert!(communities_connected(&g, &one.1.community));
}
