//! `ekg run ALGO` for the graph algorithms: one algorithm on a projection of the graph, one row
//! per node to Parquet.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use ekg_algorithms::centrality::pagerank::{page_rank, personalized_page_rank, PageRankConfig, DEFAULT_MAX_ITERATIONS};
use ekg_algorithms::community::leiden::leiden;
use ekg_algorithms::community::louvain::{louvain, LouvainConfig};
use ekg_algorithms::community::lpa::{label_propagation, LabelPropagationConfig};
use ekg_algorithms::components::dense_by_size;
use ekg_algorithms::components::scc::strongly_connected_components;
use ekg_algorithms::components::wcc::weakly_connected_components;
use ekg_algorithms::structure::kcore::core_numbers;
use ekg_algorithms::structure::triangles::triangles;
use ekg_algorithms::{Projection, ProjectionConfig};
use ekg_schema::{Graph, NodeId, NodeKind};
use serde_json::json;

use crate::cli::{Algorithm, RunArgs};
use crate::exit::{coded, DATA, USAGE};
use crate::input::open_graph_shown;
use crate::progress::Phase;
use crate::table::Table;

/// The value columns of a result, by node.
enum Column {
    F64(&'static str, Vec<f64>),
    U32(&'static str, Vec<u32>),
    U64(&'static str, Vec<u64>),
}

/// Runs a graph algorithm (not rings, not a risk analysis) on a projection.
pub fn run(args: &RunArgs, quiet: bool) -> Result<()> {
    let relations = crate::cli::relations_or_all(&args.relations);
    let pr_config = PageRankConfig {
        damping: args.damping,
        max_iterations: args.max_iter.unwrap_or(DEFAULT_MAX_ITERATIONS),
        tolerance: args.tolerance,
    };
    pr_config.validate().map_err(|e| coded(USAGE, e))?;
    let _out = super::target::claim_out(args)?;
    let phase = Phase::start(quiet, "opening graph");
    let graph = open_graph_shown(&args.graph, &args.load)?;
    phase.finish();
    let config = ProjectionConfig { relations: relations.clone(), undirected: args.undirected, weighted: args.weighted };
    let phase = Phase::start(quiet, "projecting");
    let projection = Projection::new(&graph, &config);
    let project_time = phase.finish();
    let name = super::target::algorithm_name(args.algorithm);
    let phase = Phase::start(quiet, name);
    let started = Instant::now();
    let mut summary = json!({});
    let columns = match args.algorithm {
        Algorithm::Pagerank | Algorithm::Ppr => {
            let result = if args.algorithm == Algorithm::Pagerank {
                page_rank(&projection, &pr_config)
            } else {
                let seeds = seeds(&graph, &projection, args.seeds.as_deref())?;
                summary["seeds"] = json!(seeds.len());
                personalized_page_rank(&projection, &seeds, &pr_config)
            };
            summary["iterations"] = json!(result.iterations);
            summary["converged"] = json!(result.converged);
            summary["delta"] = json!(result.delta);
            summary["damping"] = json!(pr_config.damping);
            summary["tolerance"] = json!(pr_config.tolerance);
            summary["max_iterations"] = json!(pr_config.max_iterations);
            vec![Column::F64(if args.algorithm == Algorithm::Pagerank { "pagerank" } else { "ppr" }, result.scores)]
        }
        Algorithm::Wcc | Algorithm::Scc => {
            let result = if args.algorithm == Algorithm::Wcc {
                weakly_connected_components(&projection)
            } else {
                strongly_connected_components(&projection)
            };
            summary["components"] = json!(result.count());
            summary["largest_component"] = json!(result.sizes.first().copied().unwrap_or(0));
            vec![Column::U32("component", result.component)]
        }
        Algorithm::Lpa => {
            let config =
                LabelPropagationConfig { max_iterations: args.max_iter.unwrap_or(ekg_algorithms::community::lpa::DEFAULT_ITERATIONS) };
            let result = label_propagation(&projection, &config);
            let (community, sizes) = dense_by_size(&result.labels);
            summary["iterations"] = json!(result.iterations);
            summary["converged"] = json!(result.converged);
            summary["communities"] = json!(sizes.len());
            vec![Column::U32("community", community)]
        }
        Algorithm::Louvain | Algorithm::Leiden => {
            if !(args.resolution > 0.0 && args.resolution.is_finite()) {
                return Err(coded(USAGE, format!("--resolution {} must be > 0", args.resolution)));
            }
            let config = LouvainConfig { resolution: args.resolution, seed: args.seed, ..LouvainConfig::default() };
            let result = if args.algorithm == Algorithm::Louvain { louvain(&projection, &config) } else { leiden(&projection, &config) };
            summary["modularity"] = json!(result.modularity);
            summary["levels"] = json!(result.levels);
            summary["communities"] = json!(result.community.iter().max().map_or(0, |m| m + 1));
            summary["resolution"] = json!(args.resolution);
            summary["seed"] = json!(args.seed);
            vec![Column::U32("community", result.community)]
        }
        Algorithm::Triangles => {
            let result = triangles(&projection);
            summary["triangles"] = json!(result.total);
            vec![Column::U64("triangles", result.triangles), Column::F64("clustering", result.clustering)]
        }
        Algorithm::Kcore => {
            let result = core_numbers(&projection);
            summary["max_core"] = json!(result.max_core);
            vec![Column::U32("core", result.core)]
        }
        Algorithm::Ownership | Algorithm::Groups | Algorithm::Guarantees | Algorithm::Debtrank | Algorithm::Cascade | Algorithm::Rings => {
            unreachable!("dispatched above")
        }
    };
    let algorithm_time = started.elapsed();
    phase.finish();
    let path = args.out.join(format!("{name}.parquet"));
    write_atomically(&path, &graph, &projection, &columns)?;
    summary["algorithm"] = json!(name);
    summary["relations"] = json!(relations.iter().map(|r| r.as_str()).collect::<Vec<_>>());
    summary["undirected"] = json!(args.undirected);
    summary["weighted"] = json!(args.weighted);
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
    table.write(path)?;
    Ok(())
}
