//! Outputs of networkx 3.4.2 on a 2,000-node directed, weighted random graph with self-loops and
//! dangling nodes (fixtures/networkx_directed.json, made by fixtures/make_networkx.py).

use std::path::PathBuf;

use ekg_algorithms::centrality::pagerank::{page_rank, personalized_page_rank, PageRankConfig};
use ekg_algorithms::components::scc::strongly_connected_components;
use ekg_algorithms::components::wcc::{weakly_connected_components, ComponentsResult};
use ekg_algorithms::structure::kcore::core_numbers;
use ekg_algorithms::structure::triangles::triangles;
use ekg_algorithms::Projection;
use serde_json::Value;

pub fn reference() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/networkx_directed.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
}

pub fn graph(reference: &Value, weighted: bool) -> Projection {
    let n = reference["n"].as_u64().expect("n") as usize;
    let edges: Vec<(u32, u32, f64)> = reference["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| (e[0].as_u64().unwrap_or(0) as u32, e[1].as_u64().unwrap_or(0) as u32, e[2].as_f64().unwrap_or(1.0)))
        .collect();
    Projection::from_edges(n, &edges, false, weighted)
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number")).collect()
}

fn assert_close(got: &[f64], want: &[f64], relative: f64, what: &str) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let error = if *w == 0.0 { g.abs() } else { ((g - w) / w).abs() };
        assert!(error <= relative, "{what}: node {i}: {g} vs {w}");
    }
}

const TIGHT: PageRankConfig = PageRankConfig { damping: 0.85, max_iterations: 10_000, tolerance: 1e-15 };

#[test]
fn pagerank_within_1e_6_of_networkx() {
    let r = reference();
    let result = page_rank(&graph(&r, false), &TIGHT);
    assert_close(&result.scores, &floats(&r["pagerank"]), 1e-6, "pagerank");
    let weighted = page_rank(&graph(&r, true), &TIGHT);
    assert_close(&weighted.scores, &floats(&r["pagerank_weighted"]), 1e-6, "weighted pagerank");
    assert!((result.scores.iter().sum::<f64>() - 1.0).abs() < 1e-9);
}

#[test]
fn personalized_pagerank_within_1e_6_of_networkx() {
    let r = reference();
    let seeds: Vec<u32> = r["ppr_seeds"].as_array().expect("seeds").iter().map(|s| s.as_u64().unwrap_or(0) as u32).collect();
    let result = personalized_page_rank(&graph(&r, false), &seeds, &TIGHT);
    assert_close(&result.scores, &floats(&r["ppr"]), 1e-6, "ppr");
}

fn partition(result: &ComponentsResult) -> Vec<Vec<u64>> {
    let mut groups = vec![Vec::new(); result.count()];
    for (v, &c) in result.component.iter().enumerate() {
        groups[c as usize].push(v as u64);
    }
    groups.sort();
    groups
}

fn reference_partition(v: &Value) -> Vec<Vec<u64>> {
    let mut groups: Vec<Vec<u64>> = v
        .as_array()
        .expect("components")
        .iter()
        .map(|c| c.as_array().expect("members").iter().map(|m| m.as_u64().unwrap_or(0)).collect())
        .collect();
    groups.sort();
    groups
}

#[test]
fn components_identical_to_networkx() {
    let r = reference();
    let g = graph(&r, false);
    assert_eq!(partition(&weakly_connected_components(&g)), reference_partition(&r["wcc"]));
    let scc = strongly_connected_components(&g);
    assert_eq!(partition(&scc), reference_partition(&r["scc"]));
    assert!(scc.count() > 100, "the fixture must exercise non-trivial SCCs");
}

#[test]
fn triangles_clustering_and_cores_match_networkx() {
    let r = reference();
    let g = graph(&r, false);
    let t = triangles(&g);
    let want: Vec<u64> = r["triangles"].as_array().expect("triangles").iter().map(|x| x.as_u64().unwrap_or(0)).collect();
    assert_eq!(t.triangles, want);
    assert_close(&t.clustering, &floats(&r["clustering"]), 1e-12, "clustering");
    let cores: Vec<u32> = r["core"].as_array().expect("core").iter().map(|x| x.as_u64().unwrap_or(0) as u32).collect();
    assert_eq!(core_numbers(&g).core, cores);
}
