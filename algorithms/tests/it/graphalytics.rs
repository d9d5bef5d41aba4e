//! The LDBC Graphalytics validation graphs and reference outputs (fixtures/graphalytics, copied
//! unchanged from the benchmark, Apache-2.0). Rules from its specification: PageRank and LCC within
//! relative error 1e-4, WCC identical up to relabelling, CDLP exact.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use ekg_algorithms::centrality::pagerank::{page_rank, page_rank_segmented, PageRankConfig};
use ekg_algorithms::community::lpa::{label_propagation, LabelPropagationConfig};
use ekg_algorithms::components::wcc::weakly_connected_components;
use ekg_algorithms::structure::triangles::triangles;
use ekg_algorithms::Projection;

fn fixture(path: &str) -> String {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/graphalytics").join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// An adjacency-list input: sorted vertex ids (local id = position) and the projection. For
/// undirected inputs (each edge listed from both ends) each edge is taken once.
fn load(path: &str, undirected: bool) -> (Vec<u64>, Projection) {
    let mut vertices = BTreeSet::new();
    let mut arcs = Vec::new();
    for line in fixture(path).lines().filter(|l| !l.trim().is_empty()) {
        let ids: Vec<u64> = line.split_whitespace().map(|t| t.parse().expect("vertex id")).collect();
        vertices.extend(ids.iter().copied());
        arcs.extend(ids[1..].iter().map(|&t| (ids[0], t)));
    }
    let vertices: Vec<u64> = vertices.into_iter().collect();
    let local = |v: u64| vertices.binary_search(&v).expect("known vertex") as u32;
    let edges: Vec<(u32, u32, f64)> = arcs.iter().filter(|(s, t)| !undirected || s < t).map(|&(s, t)| (local(s), local(t), 1.0)).collect();
    let n = vertices.len();
    (vertices, Projection::from_edges(n, &edges, undirected, false))
}

fn expected(path: &str) -> BTreeMap<u64, f64> {
    fixture(path)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.split_whitespace();
            let v = parts.next().and_then(|t| t.parse().ok()).expect("vertex");
            let value = parts.next().and_then(|t| t.parse().ok()).expect("value");
            (v, value)
        })
        .collect()
}

/// The plain iteration, and the segmented one large graphs get (segments of 1, 4 and 64 nodes).
fn check_pagerank(input: &str, output: &str, undirected: bool, iterations: u32) {
    let (vertices, g) = load(input, undirected);
    let config = PageRankConfig { damping: 0.85, max_iterations: iterations, tolerance: 0.0 };
    let want = expected(output);
    assert_eq!(want.len(), vertices.len());
    let runs = [(0, page_rank(&g, &config))].into_iter().chain([1, 4, 64].map(|len| (len, page_rank_segmented(&g, &config, len))));
    for (segment_len, r) in runs {
        assert_eq!(r.iterations, iterations);
        for (i, v) in vertices.iter().enumerate() {
            let (got, exp) = (r.scores[i], want[v]);
            assert!(((got - exp) / exp).abs() < 1e-4, "{input}, segments of {segment_len}: vertex {v}: {got} vs {exp}");
        }
    }
}

#[test]
fn pagerank_matches_graphalytics() {
    check_pagerank("pr/dir-input", "pr/dir-output", false, 14);
    check_pagerank("pr/undir-input", "pr/undir-output", true, 26);
    check_pagerank("example/example-directed-input", "example/example-directed-PR", false, 2);
    check_pagerank("example/example-undirected-input", "example/example-undirected-PR", true, 2);
}

fn check_cdlp(input: &str, output: &str, undirected: bool, iterations: u32) {
    let (vertices, g) = load(input, undirected);
    let r = label_propagation(&g, &LabelPropagationConfig { max_iterations: iterations });
    let want = expected(output);
    for (i, v) in vertices.iter().enumerate() {
        assert_eq!(vertices[r.labels[i] as usize], want[v] as u64, "{input}: vertex {v}");
    }
}

#[test]
fn cdlp_matches_graphalytics_exactly() {
    check_cdlp("cdlp/dir-input", "cdlp/dir-output", false, 5);
    check_cdlp("cdlp/undir-input", "cdlp/undir-output", true, 5);
    check_cdlp("example/example-directed-input", "example/example-directed-CDLP", false, 2);
    check_cdlp("example/example-undirected-input", "example/example-undirected-CDLP", true, 2);
}

fn check_wcc(input: &str, output: &str, undirected: bool) {
    let (vertices, g) = load(input, undirected);
    let r = weakly_connected_components(&g);
    let want = expected(output);
    // Same partition: the map from our ids to theirs is a bijection.
    let mut ours_to_theirs = BTreeMap::new();
    let mut theirs_to_ours = BTreeMap::new();
    for (i, v) in vertices.iter().enumerate() {
        let theirs = want[v] as u64;
        assert_eq!(*ours_to_theirs.entry(r.component[i]).or_insert(theirs), theirs, "{input}: vertex {v}");
        assert_eq!(*theirs_to_ours.entry(theirs).or_insert(r.component[i]), r.component[i], "{input}: vertex {v}");
    }
}

#[test]
fn wcc_matches_graphalytics_up_to_relabelling() {
    check_wcc("wcc/dir-input", "wcc/dir-output", false);
    check_wcc("wcc/undir-input", "wcc/undir-output", true);
    check_wcc("example/example-directed-input", "example/example-directed-WCC", false);
    check_wcc("example/example-undirected-input", "example/example-undirected-WCC", true);
}

#[test]
fn local_clustering_matches_graphalytics_on_undirected_graphs() {
    // Graphalytics' directed LCC counts directed edges among neighbours; ekg's clustering is the
    // undirected one (networkx's), so only the undirected references apply.
    for (input, output) in [("lcc/undir-input", "lcc/undir-output"), ("example/example-undirected-input", "example/example-undirected-LCC")]
    {
        let (vertices, g) = load(input, true);
        let r = triangles(&g);
        let want = expected(output);
        for (i, v) in vertices.iter().enumerate() {
            let (got, exp) = (r.clustering[i], want[v]);
            assert!((got - exp).abs() <= 1e-4 * exp.abs().max(1e-12), "{input}: vertex {v}: {got} vs {exp}");
        }
    }
}
