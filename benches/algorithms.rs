//! Times ekg's kernels on an edge list, for side-by-side comparison with peers
//! (`benches/peers.py` writes the graph, runs NetworKit and igraph, and calls this).
//!
//! Usage: cargo bench --bench algorithms -- EDGES.u32 [ALGO,ALGO,...]
//!        cargo bench --bench algorithms -- --export GRAPH.ekg EDGES.u32
//! EDGES.u32 holds little-endian u32 pairs (source, target) of an undirected graph, each edge
//! once. Prints one JSON object: seconds per algorithm (PageRank: per iteration), and the
//! modularity Louvain and Leiden reach. `scc` runs on a directed copy in which each edge keeps or
//! flips its direction by a hash of its ends (`orient` in peers.py computes the same).
//! `--export` writes the simple undirected graph of every relation of an ekg snapshot (the
//! generated enterprise graph) in that format, for the same comparison.

use std::time::Instant;

/// As in the `ekg` binary: large arrays on transparent huge pages.
#[global_allocator]
static ALLOCATOR: ekg_schema::memory::HugePageAlloc = ekg_schema::memory::HugePageAlloc;

use ekg_algorithms::centrality::pagerank::{page_rank, PageRankConfig};
use ekg_algorithms::community::leiden::leiden;
use ekg_algorithms::community::louvain::{louvain, LouvainConfig};
use ekg_algorithms::community::lpa::{label_propagation, LabelPropagationConfig};
use ekg_algorithms::components::scc::strongly_connected_components;
use ekg_algorithms::components::wcc::weakly_connected_components;
use ekg_algorithms::structure::kcore::core_numbers;
use ekg_algorithms::structure::triangles::triangles;
use ekg_algorithms::Projection;

fn main() {
    ekg_schema::memory::tune_malloc();
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.first().map(String::as_str) == Some("--export") {
        let (Some(snapshot), Some(out)) = (args.get(1), args.get(2)) else {
            eprintln!("usage: cargo bench --bench algorithms -- --export GRAPH.ekg EDGES.u32");
            std::process::exit(2);
        };
        export(snapshot, out);
        return;
    }
    let Some(path) = args.first() else {
        eprintln!("usage: cargo bench --bench algorithms -- EDGES.u32 [pagerank,wcc,lpa,triangles,kcore]");
        return;
    };
    let wanted: Vec<String> = args
        .get(1)
        .map(|s| s.split(',').map(str::to_string).collect())
        .unwrap_or_else(|| ["pagerank", "wcc", "lpa", "triangles", "kcore"].iter().map(|s| s.to_string()).collect());
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(66);
        }
    };
    let words: Vec<u32> = bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    let n = words.iter().copied().max().map_or(0, |m| m as usize + 1);
    let edges: Vec<(u32, u32, f64)> = words.chunks_exact(2).map(|p| (p[0], p[1], 1.0)).collect();
    let started = Instant::now();
    let graph = Projection::from_edges(n, &edges, true, false);
    let mut out = serde_json::json!({"nodes": n, "edges": edges.len(), "threads": rayon::current_num_threads(), "load_seconds": started.elapsed().as_secs_f64()});
    drop(edges);
    for algo in &wanted {
        let started = Instant::now();
        let seconds = match algo.as_str() {
            "pagerank" => {
                // Per iteration with the set-up (renumbering) included, as a peer's total / 20;
                // the marginal cost of an iteration is printed beside it.
                let iterations = 20;
                page_rank(&graph, &PageRankConfig { max_iterations: iterations, tolerance: 0.0, ..Default::default() });
                let total = started.elapsed().as_secs_f64();
                let one = Instant::now();
                page_rank(&graph, &PageRankConfig { max_iterations: 1, tolerance: 0.0, ..Default::default() });
                let setup_and_one = one.elapsed().as_secs_f64();
                out["pagerank_marginal"] = serde_json::json!((total - setup_and_one) / (iterations - 1) as f64);
                total / iterations as f64
            }
            "wcc" => {
                weakly_connected_components(&graph);
                started.elapsed().as_secs_f64()
            }
            "lpa" => {
                label_propagation(&graph, &LabelPropagationConfig { max_iterations: 10 });
                started.elapsed().as_secs_f64()
            }
            "triangles" => {
                triangles(&graph);
                started.elapsed().as_secs_f64()
            }
            "kcore" => {
                core_numbers(&graph);
                started.elapsed().as_secs_f64()
            }
            "scc" => {
                let directed: Vec<(u32, u32, f64)> =
                    words.chunks_exact(2).map(|p| if flips(p[0], p[1]) { (p[1], p[0], 1.0) } else { (p[0], p[1], 1.0) }).collect();
                let directed = Projection::from_edges(n, &directed, false, false);
                let started = Instant::now();
                let components = strongly_connected_components(&directed);
                out["scc_components"] = serde_json::json!(components.count());
                started.elapsed().as_secs_f64()
            }
            "louvain" | "leiden" => {
                let run = if algo == "louvain" { louvain } else { leiden };
                let result = run(&graph, &LouvainConfig::default());
                out[format!("{algo}_modularity")] = serde_json::json!(result.modularity);
                started.elapsed().as_secs_f64()
            }
            other => {
                eprintln!("unknown algorithm {other}");
                continue;
            }
        };
        out[algo.as_str()] = serde_json::json!(seconds);
    }
    println!("{out}");
}

/// The orientation the `scc` benchmark gives undirected edge {a, b} (a < b): flipped to b → a when
/// a bit of a multiplicative hash of the pair is set. peers.py applies the same rule.
fn flips(a: u32, b: u32) -> bool {
    ((a as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9) >> 63 == 1
}

/// Writes the simple undirected graph over every relation of a snapshot as u32 pairs (a < b).
fn export(snapshot: &str, out: &str) {
    let graph = match ekg_schema::snapshot::read_snapshot(std::path::Path::new(snapshot)) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{snapshot}: {e}");
            std::process::exit(66);
        }
    };
    let config = ekg_algorithms::ProjectionConfig { relations: ekg_schema::Relation::ALL.to_vec(), undirected: true, weighted: false };
    let projection = Projection::new(&graph, &config);
    let (offsets, targets) = projection.simple_undirected();
    let mut bytes = Vec::with_capacity(targets.len() * 4);
    for v in 0..projection.node_count() {
        for &u in &targets[offsets[v] as usize..offsets[v + 1] as usize] {
            if (v as u32) < u {
                bytes.extend_from_slice(&(v as u32).to_le_bytes());
                bytes.extend_from_slice(&u.to_le_bytes());
            }
        }
    }
    if let Err(e) = std::fs::write(out, &bytes) {
        eprintln!("{out}: {e}");
        std::process::exit(74);
    }
    eprintln!("{} nodes, {} undirected edges -> {out}", projection.node_count(), bytes.len() / 8);
}
