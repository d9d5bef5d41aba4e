//! `ekg prospects`: the white list (`whitelist.rs`) for given cores or the top `--core-top` by
//! supply-chain PageRank, flags taken from an `ekg score` folder (`--scores`).

use std::collections::HashMap;

use anyhow::Result;
use arrow_array::cast::AsArray;
use ekg_schema::{Graph, NodeId};
use serde_json::json;

use crate::cli::ProspectsArgs;
use crate::exit::{coded, USAGE};
use crate::input::open_graph_shown;
use crate::output::{OutputKind, Target};
use crate::query::{read_all, resolve};
use crate::whitelist::{table, top_cores, white_list, DefaultRiskBasis, WhiteListParams};

pub fn run(args: &ProspectsArgs, quiet: bool) -> Result<()> {
    let _out = Target::claim(&args.out, OutputKind::Parquet, args.force)?;
    let graph = open_graph_shown(&args.graph, &args.load)?;
    let _ = quiet;
    let config = crate::score::config::ScoreConfig::default();
    let clusters = ekg_algorithms::clusters::industrial_clusters(
        &graph,
        &ekg_algorithms::clusters::ClusterConfig {
            louvain: config.communities.louvain(config.seed),
            ..ekg_algorithms::clusters::ClusterConfig::default()
        },
    );
    let cluster = match args.cluster {
        Some(k) => Some(clusters.clusters.get(k as usize).ok_or_else(|| {
            coded(
                crate::exit::DATA,
                format!(
                    "no industrial cluster {k}: the graph has {} (0 to {})",
                    clusters.clusters.len(),
                    clusters.clusters.len().saturating_sub(1)
                ),
            )
        })?),
        None => None,
    };
    let cores = if let Some(c) = cluster {
        vec![c.core]
    } else if !args.core.is_empty() {
        args.core.iter().map(|id| resolve(&graph, id).map(|v| v.0)).collect::<Result<Vec<u32>>>()?
    } else if let Some(n) = args.core_top {
        top_cores(&graph, n)
    } else {
        return Err(coded(USAGE, "prospects: give --core ID[,ID…], --core-top N or --cluster K"));
    };
    let flags = flag_counts(&graph, args.scores.as_deref())?;
    let params = WhiteListParams {
        cores: cores.clone(),
        // Every member of a cluster is reachable from its core within the cluster's size.
        hops: cluster.map_or(args.hops, |c| args.hops.max(c.members.len() as u32)),
        max_capital: args.max_capital,
        limit: args.limit,
        only: cluster.map(|c| c.members.clone()),
    };
    let list = white_list(&graph, &params, &flags, &DefaultRiskBasis::compute(&graph).basis());
    let written = table(&graph, &list, Some(&clusters.cluster_of))?.write(&args.out)?;
    let id = |v: u32| graph.external_id(NodeId(v));
    let summary = json!({
        "cores": cores.iter().map(|&c| id(c)).collect::<Vec<_>>(),
        "hops": params.hops,
        "cluster": args.cluster,
        "prospects": written,
        "excluded": list.excluded,
        "out": args.out,
    });
    if args.json {
        println!("{summary}");
    } else {
        println!("{written} prospects around {} core(s) → {}", cores.len(), args.out.display());
        for (reason, n) in &list.excluded {
            println!("  excluded {n}: {reason}");
        }
        for r in list.rows.iter().take(5) {
            println!("  {:<20} {}", id(r.c.firm), r.reason);
        }
    }
    Ok(())
}

/// Flags per firm from a score folder: (all, high severity).
fn flag_counts(graph: &Graph, scores: Option<&std::path::Path>) -> Result<HashMap<u32, (u32, u32)>> {
    let mut out = HashMap::new();
    let Some(dir) = scores else { return Ok(out) };
    for batch in read_all(&dir.join("flags.parquet"))? {
        let schema = batch.schema();
        let (Ok(n), Ok(s)) = (schema.index_of("node_id"), schema.index_of("severity")) else { continue };
        let ids = batch.column(n).as_string::<i32>();
        let severity = batch.column(s).as_string::<i32>();
        for row in 0..batch.num_rows() {
            if let Some(v) = graph.lookup(ids.value(row)) {
                let e: &mut (u32, u32) = out.entry(v.0).or_default();
                e.0 += 1;
                if severity.value(row) == "high" {
                    e.1 += 1;
                }
            }
        }
    }
    Ok(out)
}
