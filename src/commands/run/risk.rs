//! `ekg run ownership|groups|guarantees|debtrank|cascade`: the enterprise risk analyses, each
//! writing its tables into OUT (one Parquet file per table, each replaced atomically) and a
//! summary on stdout (`--json` for schedulers).

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use ekg_algorithms::contagion::{
    debt_rank, default_cascade, economic_weights, guarantee_network, systemic_importance, CascadeConfig, ImpactConfig, ImpactNetwork,
};
use ekg_algorithms::ownership::{
    graph_groups, ownership, ControlBasis, GraphGroups, GroupLinks, GroupResult, HoldingNetwork, OwnershipConfig, OwnershipResult, NONE,
};
use ekg_algorithms::{Projection, ProjectionConfig};
use ekg_schema::{Graph, NodeId, NodeKind, Relation};
use serde_json::{json, Value};

use super::job::{Analysis, Shock};
use crate::cli::{BufferColumn, RunArgs};
use crate::dictionary;
use crate::exit::{coded, DATA};
use crate::input::open_graph_shown;
use crate::progress::Phase;
use crate::table::Table;

/// Runs one of the risk analyses (ownership, groups, guarantees, DebtRank, cascade).
pub fn run(args: &RunArgs, analysis: &Analysis, quiet: bool) -> Result<()> {
    let _out = super::target::claim_out(args)?;
    let phase = Phase::start(quiet, "opening graph");
    let graph = open_graph_shown(&args.graph, &args.load)?;
    phase.finish();
    let started = Instant::now();
    let name = super::target::algorithm_name(args.algorithm);
    let phase = Phase::start(quiet, name);
    let mut summary = match analysis {
        Analysis::Ownership(config) => run_ownership(&graph, config, &args.out)?,
        Analysis::Groups(config, links) => run_groups(&graph, config, *links, &args.out)?,
        Analysis::Guarantees => run_guarantees(&graph, &args.out)?,
        Analysis::DebtRank { impact, shock, top_k } => run_debtrank(&graph, impact, shock, *top_k, args)?,
        Analysis::Cascade { impact, cascade } => run_cascade(&graph, impact, cascade, args)?,
        Analysis::Graph { .. } | Analysis::Rings(_) => return Err(anyhow::anyhow!("internal error: {name} is not a risk analysis")),
    };
    phase.finish();
    summary["algorithm"] = json!(name);
    summary["seconds"] = json!(started.elapsed().as_secs_f64());
    super::target::report(&summary, args.json, print_summary);
    Ok(())
}

fn print_summary(summary: &Value) {
    let Some(map) = summary.as_object() else { return };
    let name = map.get("algorithm").and_then(Value::as_str).unwrap_or("");
    println!("{name}:");
    for (key, value) in map {
        if key == "algorithm" || key == "outputs" {
            continue;
        }
        println!("  {key:<30} {value}");
    }
    if let Some(outputs) = map.get("outputs").and_then(Value::as_array) {
        for o in outputs {
            println!("wrote {}", o.as_str().unwrap_or(""));
        }
    }
}

fn external(graph: &Graph, v: u32) -> Option<&str> {
    (v != NONE).then(|| graph.external_id(NodeId(v)))
}

/// "A>B>C"; an elided stretch of a long chain shows as "…".
fn path_text(graph: &Graph, path: &[u32]) -> Option<String> {
    if path.is_empty() {
        return None;
    }
    let parts: Vec<&str> = path.iter().map(|&v| external(graph, v).unwrap_or("…")).collect();
    Some(parts.join(">"))
}

fn firms(graph: &Graph) -> impl Iterator<Item = u32> {
    graph.kind_range(NodeKind::Firm)
}

fn run_ownership(graph: &Graph, config: &OwnershipConfig, out: &Path) -> Result<Value> {
    let net = HoldingNetwork::from_graph(graph);
    let r = ownership(&net, config);
    report_ownership_problems(graph, &r);
    let path = out.join("ownership.parquet");
    let ubo_path = out.join("ownership_ubo.parquet");
    write_ownership(graph, &r, &path, &ubo_path)?;
    let count = |b: ControlBasis| r.basis.iter().filter(|&&x| x == b).count();
    Ok(json!({
        "firms": net.firms,
        "holdings": net.holders.len(),
        "ubo_rows": r.ubos.firm.len(),
        "firms_with_ubo": r.ubo_count.iter().filter(|&&c| c > 0).count(),
        "controlled_by_majority": count(ControlBasis::Majority),
        "controlled_by_largest_owner": count(ControlBasis::LargestOwner),
        "no_controller": count(ControlBasis::None),
        "closed_cycles": r.closed_cycles.len(),
        "circular_control_firms": r.circular_control.len(),
        "unconverged_firms": r.unconverged.len(),
        "pruned_mass": r.pruned_mass,
        "epsilon": config.epsilon,
        "ubo_threshold": config.ubo_threshold,
        "control_threshold": config.fallback_threshold,
        "control_margin": config.fallback_margin,
        "outputs": [path, ubo_path],
    }))
}

/// Data problems found by the ownership analysis go to stderr (the tables are still written).
fn report_ownership_problems(graph: &Graph, r: &OwnershipResult) {
    for cycle in r.closed_cycles.iter().take(10) {
        let ids: Vec<&str> = cycle.iter().take(8).map(|&v| graph.external_id(NodeId(v))).collect();
        eprintln!(
            "warning: data problem: firms {}{} hold all of each other's shares (no outside owner); their ownership is undefined",
            ids.join(", "),
            if cycle.len() > 8 { ", …" } else { "" }
        );
    }
    if r.closed_cycles.len() > 10 {
        eprintln!("warning: {} more closed holding cycles", r.closed_cycles.len() - 10);
    }
    if !r.unconverged.is_empty() {
        eprintln!("warning: {} firms' ownership did not converge within the push budget (near-closed holding cycles)", r.unconverged.len());
    }
}

fn write_ownership(graph: &Graph, r: &OwnershipResult, path: &Path, ubo_path: &Path) -> Result<()> {
    let n = r.ubo_count.len();
    Table::new()
        .utf8("node_id", firms(graph).map(|f| graph.external_id(NodeId(f))))
        .u32("ubo_count", r.ubo_count.iter().copied())
        .utf8_opt("top_ubo_id", r.top_ubo.iter().map(|&v| external(graph, v)))
        .f64_nan_null("top_ubo_share", r.top_ubo_share.iter().copied())
        .utf8_opt("controller_id", r.controller.iter().map(|&v| external(graph, v)))
        .utf8_opt("controller_kind", r.controller.iter().map(|&v| (v != NONE).then(|| graph.kind(NodeId(v)).as_str())))
        .utf8("control_basis", r.basis.iter().map(|b| b.as_str()))
        .utf8_opt("control_path", (0..n).map(|f| path_text(graph, r.control_paths.get(f))))
        .documented(&dictionary::OWNERSHIP)?
        .write(path)?;
    let u = &r.ubos;
    Table::new()
        .utf8("firm_id", u.firm.iter().map(|&f| graph.external_id(NodeId(f))))
        .utf8("person_id", u.person.iter().map(|&p| graph.external_id(NodeId(p))))
        .f64("share", &u.share)
        .utf8_opt("path", (0..u.firm.len()).map(|i| path_text(graph, u.paths.get(i))))
        .documented(&dictionary::OWNERSHIP_UBO)?
        .write(ubo_path)?;
    Ok(())
}

fn run_groups(graph: &Graph, config: &OwnershipConfig, links: GroupLinks, out: &Path) -> Result<Value> {
    let owned = ownership(&HoldingNetwork::from_graph(graph), config);
    let GraphGroups { groups: r, control_links, links: link_count } = graph_groups(graph, &owned, links);
    let path = out.join("groups.parquet");
    write_groups(graph, &r, &path)?;
    let multi: Vec<u32> = r.size.iter().copied().filter(|&s| s > 1).collect();
    Ok(json!({
        "firms": graph.kind_count(NodeKind::Firm),
        "groups_of_two_or_more": multi.len(),
        "firms_in_such_groups": multi.iter().map(|&s| s as u64).sum::<u64>(),
        "largest_group": r.size.first().copied().unwrap_or(0),
        "control_links": control_links,
        "links": link_count,
        "join_guarantees": links.mutual_guarantees,
        "join_legal_rep": links.legal_rep,
        "outputs": [path],
    }))
}

fn write_groups(graph: &Graph, r: &GroupResult, path: &Path) -> Result<()> {
    crate::tables::groups(graph, r, &(0..r.size.len() as u32).collect::<Vec<_>>())?.write(path)?;
    Ok(())
}

fn run_guarantees(graph: &Graph, out: &Path) -> Result<Value> {
    let projection = Projection::new(graph, &ProjectionConfig { relations: vec![Relation::Guarantee], undirected: false, weighted: true });
    let defaulted: Vec<bool> = projection.nodes.iter().map(|&v| graph.is_defaulted(v)).collect();
    let r = guarantee_network(&projection, &defaulted);
    // Every firm, and the persons that take part in a guarantee.
    let rows: Vec<u32> = (0..projection.node_count() as u32)
        .filter(|&v| {
            graph.kind(projection.nodes[v as usize]) == NodeKind::Firm
                || projection.out_degree(v) > 0
                || !projection.in_neighbors(v).is_empty()
        })
        .collect();
    let id = |v: u32| graph.external_id(projection.nodes[v as usize]);
    let path = out.join("guarantees.parquet");
    Table::new()
        .utf8("node_id", rows.iter().map(|&v| id(v)))
        .utf8("kind", rows.iter().map(|&v| graph.kind(projection.nodes[v as usize]).as_str()))
        .u32_opt("circle_id", rows.iter().map(|&v| Some(r.circle[v as usize]).filter(|&c| c != NONE)))
        .u32("mutual_pairs", rows.iter().map(|&v| r.mutual_pairs[v as usize]))
        .u32("chain_depth", rows.iter().map(|&v| r.chain_depth[v as usize]))
        .f64("direct_liability", &rows.iter().map(|&v| r.direct_liability[v as usize]).collect::<Vec<_>>())
        .f64("transitive_liability", &rows.iter().map(|&v| r.transitive_liability[v as usize]).collect::<Vec<_>>())
        .bool("exposed_to_default", rows.iter().map(|&v| r.exposed_to_default[v as usize]))
        .bool("defaulted", rows.iter().map(|&v| defaulted[v as usize]))
        .documented(&dictionary::GUARANTEES)?
        .write(&path)?;
    let circles_path = out.join("guarantee_circles.parquet");
    Table::new()
        .u32("circle_id", 0..r.circles.len() as u32)
        .u32("size", r.circles.iter().map(|c| c.members.len() as u32))
        .utf8_list("members", r.circles.iter().map(|c| c.members.iter().map(|&v| id(v)).collect::<Vec<_>>()))
        .f64("total_amount", &r.circles.iter().map(|c| c.total_amount).collect::<Vec<_>>())
        .u32("defaulted_count", r.circles.iter().map(|c| c.defaulted.len() as u32))
        .utf8_list("defaulted_members", r.circles.iter().map(|c| c.defaulted.iter().map(|&v| id(v)).collect::<Vec<_>>()))
        .documented(&dictionary::GUARANTEE_CIRCLES)?
        .write(&circles_path)?;
    Ok(json!({
        "entities": rows.len(),
        "guarantees": projection.edge_count(),
        "circles": r.circles.len(),
        "largest_circle": r.circles.first().map_or(0, |c| c.members.len()),
        "circles_with_default": r.circles.iter().filter(|c| !c.defaulted.is_empty()).count(),
        "mutual_pairs": r.mutual_pairs.iter().map(|&m| m as u64).sum::<u64>() / 2,
        "max_chain_depth": r.chain_depth.iter().copied().max().unwrap_or(0),
        "exposed_to_default": r.exposed_to_default.iter().filter(|&&b| b).count(),
        "outputs": [path, circles_path],
    }))
}

fn buffer(graph: &Graph, column: BufferColumn) -> &[f64] {
    match column {
        BufferColumn::RegisteredCapital => &graph.firms.registered_capital,
        BufferColumn::Exposure => &graph.firms.exposure,
    }
}

fn run_debtrank(graph: &Graph, impact: &ImpactConfig, scenario: &Shock, top_k: usize, args: &RunArgs) -> Result<Value> {
    let net = ImpactNetwork::from_graph(graph, buffer(graph, args.buffer_column), impact);
    let value = economic_weights(&graph.firms.exposure, &graph.firms.registered_capital);
    let shock: Vec<(u32, f64)> = match scenario {
        Shock::Scenario { industry, region, psi } => {
            let matches = |dict: &ekg_schema::strings::Dict, f: u32, want: &Option<String>| {
                want.as_deref().is_none_or(|w| dict.get(f as usize) == Some(w))
            };
            firms(graph)
                .filter(|&f| matches(&graph.firms.industry, f, industry) && matches(&graph.firms.region, f, region))
                .map(|f| (f, *psi))
                .collect()
        }
        Shock::Defaulted => firms(graph).filter(|&f| graph.is_defaulted(NodeId(f))).map(|f| (f, 1.0)).collect(),
    };
    if shock.is_empty() {
        return Err(coded(
            DATA,
            if matches!(scenario, Shock::Scenario { .. }) {
                "debtrank: no firm matches --shock-industry/--shock-region"
            } else {
                "debtrank: no defaulted firm to shock (pass --shock-industry or --shock-region)"
            },
        ));
    }
    let result = debt_rank(&net, &value, &shock);
    // Systemic importance of the top-K firms by exposure (ties: smaller id).
    let top = ekg_algorithms::contagion::largest_exposures(&graph.firms.exposure, graph.kind_count(NodeKind::Firm), top_k);
    let importance = systemic_importance(&net, &value, &top);
    let n = graph.kind_count(NodeKind::Firm);
    let mut distress = vec![0.0; n];
    for &(f, h) in &result.distress {
        distress[f as usize] = h;
    }
    let mut systemic = vec![f64::NAN; n];
    for (&f, &x) in top.iter().zip(&importance) {
        systemic[f as usize] = x;
    }
    let path = args.out.join("debtrank.parquet");
    Table::new()
        .utf8("node_id", firms(graph).map(|f| graph.external_id(NodeId(f))))
        .f64("distress", &distress)
        .f64_nan_null("systemic_debtrank", systemic.iter().copied())
        .documented(&dictionary::DEBTRANK)?
        .write(&path)?;
    let most = top.iter().zip(&importance).max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(a.0)));
    Ok(json!({
        "debtrank": result.debtrank,
        "shock_value": result.initial_value,
        "shocked_firms": shock.len(),
        "distressed_firms": result.distress.len(),
        "rounds": result.rounds,
        "impact_links": net.edge_count(),
        "unbuffered_firms": net.unbuffered,
        "relations": super::job::relation_names(&impact.relations),
        "supply_loss_rate": impact.supply_loss_rate,
        "supply_disruption_rate": impact.supply_disruption_rate,
        "scenario": match scenario {
            Shock::Scenario { industry, region, psi } => json!({"industry": industry, "region": region, "psi": psi}),
            Shock::Defaulted => json!("defaulted firms"),
        },
        "top_k": top.len(),
        "most_systemic": most.map(|(&f, &x)| json!({"firm": graph.external_id(NodeId(f)), "debtrank": x})),
        "outputs": [path],
    }))
}

fn run_cascade(graph: &Graph, impact: &ImpactConfig, config: &CascadeConfig, args: &RunArgs) -> Result<Value> {
    let net = ImpactNetwork::from_graph(graph, buffer(graph, args.buffer_column), impact);
    let raw: &[f64] = &graph.firms.pd;
    let pd = ekg_algorithms::contagion::firm_pd(graph);
    let missing_pd = firms(graph).filter(|&f| raw.get(f as usize).is_none_or(|x| !x.is_finite())).count();
    let r = default_cascade(&net, &pd, &crate::findings::firm_draw_keys(graph), config);
    let path = args.out.join("cascade.parquet");
    crate::tables::cascade(graph, &pd, &r)?.write(&path)?;
    let baseline: f64 = pd.iter().sum();
    Ok(json!({
        "runs": r.runs,
        "seed": config.seed,
        "expected_defaults_without_contagion": baseline,
        "expected_defaults_with_contagion": r.mean_defaults,
        "firms_with_contagion_risk": r.contagion_runs.iter().filter(|&&c| c > 0).count(),
        "firms_without_pd": missing_pd,
        "impact_links": net.edge_count(),
        "relations": super::job::relation_names(&impact.relations),
        "outputs": [path],
    }))
}
