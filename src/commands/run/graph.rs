//! `ekg run ALGO` for the graph algorithms: one algorithm on a projection of the graph, one row
//! per node to Parquet.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use ekg_algorithms::centrality::pagerank::{page_rank, personalized_page_rank};
use ekg_algorithms::community::leiden::leiden;
use ekg_algorithms::community::louvain::louvain;
use ekg_algorithms::community::lpa::label_propagation;
use ekg_algorithms::components::dense_by_size;
use ekg_algorithms::components::scc::strongly_connected_components;
use ekg_algorithms::components::wcc::weakly_connected_components;
use ekg_algorithms::structure::kcore::core_numbers;
use ekg_algorithms::structure::triangles::triangles;
use ekg_algorithms::{Projection, ProjectionConfig};
use ekg_schema::{Graph, NodeId, NodeKind};
use serde_json::json;

use super::job::GraphAlgorithm;
use crate::cli::RunArgs;
use crate::exit::{coded, DATA};
use crate::input::open_graph_shown;
use crate::progress::Phase;
use crate::table::Table;

/// The value columns of a result, by node.
enum Column {
    F64(&'static str, Vec<f64>),
    U32(&'static str, Vec<u32>),
    U64(&'static str, Vec<u64>),
}

/// Runs a graph algorithm on a projection.
pub fn run(args: &RunArgs, algorithm: &GraphAlgorithm, config: &ProjectionConfig, quiet: bool) -> Result<()> {
    let _out = super::target::claim_out(args)?;
    let phase = Phase::start(quiet, "opening graph");
    let graph = open_graph_shown(&args.graph, &args.load)?;
    phase.finish();
    let phase = Phase::start(quiet, "projecting");
    let projection = Projection::new(&graph, config);
    let project_time = phase.finish();
    let name = super::target::algorithm_name(args.algorithm);
    let phase = Phase::start(quiet, name);
    let started = Instant::now();
    let mut summary = json!({});
    let columns = match algorithm {
        GraphAlgorithm::PageRank(pr_config) | GraphAlgorithm::Ppr(pr_config) => {
            let result = if let GraphAlgorithm::Ppr(_) = algorithm {
                let seeds = seeds(&graph, &projection, args.seeds.as_deref())?;
                summary["seeds"] = json!(seeds.len());
                personalized_page_rank(&projection, &seeds, pr_config)
            } else {
                page_rank(&projection, pr_config)
            };
            summary["iterations"] = json!(result.iterations);
            summary["converged"] = json!(result.converged);
            summary["delta"] = json!(result.delta);
            summary["damping"] = json!(pr_config.damping);
            summary["tolerance"] = json!(pr_config.tolerance);
            summary["max_iterations"] = json!(pr_config.max_iterations);
            vec![Column::F64(name, result.scores)]
        }
        GraphAlgorithm::Wcc | GraphAlgorithm::Scc => {
            let result = if let GraphAlgorithm::Wcc = algorithm {
                weakly_connected_components(&projection)
            } else {
                strongly_connected_components(&projection)
            };
            summary["components"] = json!(result.count());
            summary["largest_component"] = json!(result.sizes.first().copied().unwrap_or(0));
            vec![Column::U32("component", result.component)]
        }
        GraphAlgorithm::Lpa(config) => {
            let result = label_propagation(&projection, config);
            let (community, sizes) = dense_by_size(&result.labels);
            summary["iterations"] = json!(result.iterations);
            summary["converged"] = json!(result.converged);
            summary["communities"] = json!(sizes.len());
            vec![Column::U32("community", community)]
        }
        GraphAlgorithm::Louvain(config) | GraphAlgorithm::Leiden(config) => {
            let result =
                if let GraphAlgorithm::Louvain(_) = algorithm { louvain(&projection, config) } else { leiden(&projection, config) };
            summary["modularity"] = json!(result.modularity);
            summary["levels"] = json!(result.levels);
            summary["communities"] = json!(result.community.iter().max().map_or(0, |m| m + 1));
            summary["resolution"] = json!(config.resolution);
            summary["seed"] = json!(config.seed);
            vec![Column::U32("community", result.community)]
        }
        GraphAlgorithm::Triangles => {
            let result = triangles(&projection);
            summary["triangles"] = json!(result.total);
            vec![Column::U64("triangles", result.triangles), Column::F64("clustering", result.clustering)]
        }
        GraphAlgorithm::Kcore => {
            let result = core_numbers(&projection);
            summary["max_core"] = json!(result.max_core);
            vec![Column::U32("core", result.core)]
        }
    };
    let algorithm_time = started.elapsed();
    phase.finish();
    let path = args.out.join(format!("{name}.parquet"));
    write_atomically(&path, &graph, &projection, &columns)?;
    summary["algorithm"] = json!(name);
    summary["relations"] = json!(super::job::relation_names(&config.relations));
    summary["undirected"] = json!(config.undirected);
    summary["weighted"] = json!(config.weighted);
    summary["nodes"] = json!(projection.node_count());
    summary["edges"] = json!(projection.edge_count());
    summary["projection_seconds"] = json!(project_time.as_secs_f64());
    summary["seconds"] = json!(algorithm_time.as_secs_f64());
    summary["out"] = json!(path);
    if args.json {
        println!("{summary}");
    } else {
        let mut line =
            format!("{name}: {} nodes, {} edges, {:.3}s", projection.node_count(), projection.edge_count(), algorithm_time.as_secs_f64());
        for key in ["iterations", "converged", "components", "communities", "modularity", "triangles", "max_core", "seeds"] {
            if let Some(v) = summary.get(key) {
                line.push_str(&format!(", {key} {v}"));
            }
        }
        println!("{line}\nwrote {}", path.display());
    }
    Ok(())
}

/// Seeds from a file of ids (one per line; a header line `node_id` or `id` is skipped), or the
/// defaulted firms.
fn seeds(graph: &Graph, projection: &Projection, file: Option<&Path>) -> Result<Vec<u32>> {
    let mut seeds = Vec::new();
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read seeds {}", path.display()))?;
            for (line_no, line) in text.lines().enumerate() {
                let id = line.trim();
                if id.is_empty() || (line_no == 0 && (id == "node_id" || id == "id")) {
                    continue;
                }
                let node = crate::pii::lookup(graph, id).ok_or_else(|| {
                    coded(
                        DATA,
                        format!(
                            "{}: line {}: '{}' is not an entity of the graph",
                            path.display(),
                            line_no + 1,
                            ekg_loaders::mask_personal(id)
                        ),
                    )
                })?;
                match projection.local_id(node) {
                    Some(local) => seeds.push(local),
                    None => {
                        return Err(coded(
                            DATA,
                            format!(
                                "{}: line {}: '{}' is a {}, not in the chosen relations",
                                path.display(),
                                line_no + 1,
                                ekg_loaders::mask_personal(id),
                                graph.kind(node)
                            ),
                        ))
                    }
                }
            }
        }
        None => {
            for firm in graph.kind_range(NodeKind::Firm).map(NodeId) {
                if graph.is_defaulted(firm) {
                    if let Some(local) = projection.local_id(firm) {
                        seeds.push(local);
                    }
                }
            }
        }
    }
    if seeds.is_empty() {
        return Err(coded(DATA, "ppr: no seeds (no defaulted firm in the chosen relations; pass --seeds FILE)"));
    }
    Ok(seeds)
}

fn write_atomically(path: &Path, graph: &Graph, projection: &Projection, columns: &[Column]) -> Result<()> {
    let mut table = Table::new()
        .utf8("node_id", projection.nodes.iter().map(|&v| graph.external_id(v)))
        .utf8("kind", projection.nodes.iter().map(|&v| graph.kind(v).as_str()));
    for column in columns {
        table = match column {
            Column::F64(name, values) => table.f64(name, values),
            Column::U32(name, values) => table.u32(name, values.iter().copied()),
            Column::U64(name, values) => table.u64(name, values.iter().copied()),
        };
    }
    let file = path.file_name().and_then(|f| f.to_str()).unwrap_or_default();
    let doc = crate::dictionary::by_file(file).ok_or_else(|| anyhow::anyhow!("internal error: {file} has no contract"))?;
    table.documented(doc)?.write(path)?;
    Ok(())
}
