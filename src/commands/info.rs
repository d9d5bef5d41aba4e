//! `ekg info`: entities by kind, relations with degree summaries, memory footprint per part.

use anyhow::Result;
use ekg_schema::{Graph, NodeKind, Relation};

use crate::cli::InfoArgs;
use crate::input::open_graph;
use crate::memory::gib;

pub fn run(args: &InfoArgs) -> Result<()> {
    let graph = open_graph(&args.graph, &args.load)?;
    let summary = summarize(&graph);
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print!("{}", render(&summary));
    }
    Ok(())
}

#[derive(serde::Serialize)]
pub struct Summary {
    pub nodes: usize,
    pub nodes_by_kind: Vec<(String, usize)>,
    pub relations: Vec<RelationSummary>,
    pub identifier_values: usize,
    pub identifier_links: usize,
    pub footprint: Vec<(String, usize)>,
    pub bytes_total: usize,
    /// Id map and node attributes per node.
    pub bytes_per_node: f64,
    /// Both directions and all attributes of the transfers relation, per transfer.
    pub bytes_per_transfer: f64,
}

#[derive(serde::Serialize)]
pub struct RelationSummary {
    pub relation: String,
    pub edges: usize,
    pub max_out_degree: usize,
    pub max_in_degree: usize,
    pub self_loops: usize,
}

pub fn summarize(graph: &Graph) -> Summary {
    use rayon::prelude::*;
    let relations = Relation::ALL
        .iter()
        .map(|&r| {
            let store = graph.relation(r);
            let max = |offsets: &[u32]| offsets.windows(2).map(|w| (w[1] - w[0]) as usize).max().unwrap_or(0);
            let fwd = &store.forward;
            let self_loops = (0..fwd.rows())
                .into_par_iter()
                .map(|i| {
                    let v = ekg_schema::NodeId(fwd.row_start() + i as u32);
                    fwd.neighbors(v).iter().filter(|&&t| t == v).count()
                })
                .sum();
            RelationSummary {
                relation: r.as_str().to_string(),
                edges: store.edge_count(),
                max_out_degree: max(fwd.offsets()),
                max_in_degree: max(store.reverse.offsets()),
                self_loops,
            }
        })
        .collect();
    let footprint = graph.footprint();
    let bytes_total: usize = footprint.iter().map(|(_, b)| b).sum();
    // Node data: the id map and attribute columns (relations and identifiers are edge data).
    let node_bytes: usize = footprint.iter().filter(|(name, _)| name == "id map" || name.ends_with("attributes")).map(|(_, b)| b).sum();
    let transfers = graph.relation(Relation::Transfer);
    Summary {
        nodes: graph.node_count(),
        nodes_by_kind: NodeKind::ALL.iter().map(|&k| (k.as_str().to_string(), graph.kind_count(k))).collect(),
        relations,
        identifier_values: graph.identifiers.value_count(),
        identifier_links: graph.identifiers.by_entity.edge_count(),
        footprint,
        bytes_total,
        bytes_per_node: node_bytes as f64 / graph.node_count().max(1) as f64,
        bytes_per_transfer: transfers.byte_len() as f64 / transfers.edge_count().max(1) as f64,
    }
}

pub fn render(s: &Summary) -> String {
    let mut out = format!("nodes {}\n", s.nodes);
    for (kind, n) in &s.nodes_by_kind {
        out.push_str(&format!("  {kind:<10} {n:>12}\n"));
    }
    out.push_str(&format!("{:<16} {:>12} {:>10} {:>10} {:>10}\n", "relation", "edges", "max out", "max in", "self-loops"));
    for r in &s.relations {
        out.push_str(&format!(
            "{:<16} {:>12} {:>10} {:>10} {:>10}\n",
            r.relation, r.edges, r.max_out_degree, r.max_in_degree, r.self_loops
        ));
    }
    out.push_str(&format!("identifiers: {} values, {} links\n", s.identifier_values, s.identifier_links));
    out.push_str("footprint\n");
    for (part, bytes) in &s.footprint {
        out.push_str(&format!("  {part:<28} {:>12}\n", gib(*bytes as u64)));
    }
    out.push_str(&format!("  {:<28} {:>12}\n", "total", gib(s.bytes_total as u64)));
    out.push_str(&format!(
        "{:.1} bytes per node (id map and attributes), {:.1} bytes per transfer (both directions, all attributes)\n",
        s.bytes_per_node, s.bytes_per_transfer
    ));
    out
}
