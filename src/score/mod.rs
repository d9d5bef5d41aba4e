//! `ekg score`: the nightly job. One loaded graph, every configured analysis in dependency order
//! (intermediate results shared: ownership before groups and flags, the guarantee network before
//! flags, rings before ring features), and one output folder written atomically with its audit
//! manifest last.

pub mod config;
pub mod features;
pub mod flags;
mod job;
mod manifest;

use std::time::Instant;

use anyhow::{Context, Result};
use ekg_algorithms::centrality::pagerank::{page_rank, personalized_page_rank, PageRankConfig};
use ekg_algorithms::community::leiden::leiden;
use ekg_algorithms::community::louvain::{louvain, LouvainConfig};
use ekg_algorithms::community::lpa::{label_propagation, LabelPropagationConfig};
use ekg_algorithms::components::dense_by_size;
use ekg_algorithms::components::wcc::weakly_connected_components;
use ekg_algorithms::contagion::{
    debt_rank, default_cascade, economic_weights, guarantee_network, systemic_importance, CascadeConfig, ImpactConfig, ImpactNetwork,
};
use ekg_algorithms::ownership::{control_links, group_customers, ownership, HoldingNetwork, OwnershipConfig, NONE};
use ekg_algorithms::structure::kcore::core_numbers;
use ekg_algorithms::structure::triangles::triangles;
use ekg_algorithms::{Projection, ProjectionConfig};
use ekg_loaders::OnError;
use ekg_schema::{Graph, NodeId, NodeKind, Relation, TS_NULL};
use serde_json::{json, Value};

use crate::cli::{OnErrorArg, ScoreArgs};
use crate::commands::rings::{detect, write_rings};
use crate::input::{load_dataset, load_options, parse_as_of};
use crate::output::{OutputKind, Target};
use crate::progress::Phase;
use crate::table::Table;
use features::{account_owner, defaulted_neighbourhood, person_features, roll_up, structure_features, transfer_features, Features};
use flags::Flag;
use job::ScoreJob;

/// The relations of the firm-level "risk network": who owns, runs, guarantees and supplies whom.
const RISK_RELATIONS: [Relation; 4] = [Relation::Shareholding, Relation::Officer, Relation::Guarantee, Relation::Supply];

/// Community per risk-network node, whichever algorithm made it.
struct Communities {
    community: Vec<u32>,
}

/// One stage's record for the summary and the manifest.
struct StageRecord {
    name: &'static str,
    seconds: f64,
    rows: u64,
    peak_rss_bytes: u64,
}

struct Stages {
    quiet: bool,
    records: Vec<StageRecord>,
}

impl Stages {
    fn run<T>(&mut self, name: &'static str, f: impl FnOnce() -> Result<(T, u64)>) -> Result<T> {
        let phase = Phase::start(self.quiet, name);
        let started = Instant::now();
        let (value, rows) = f()?;
        phase.finish();
        self.records.push(StageRecord { name, seconds: started.elapsed().as_secs_f64(), rows, peak_rss_bytes: peak_rss_bytes() });
        Ok(value)
    }
}

/// The process's peak resident memory so far (Linux VmHWM), 0 where unknown.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()))
        .map_or(0, |kb| kb * 1024)
}

pub fn run(args: &ScoreArgs, quiet: bool) -> Result<()> {
    let job = ScoreJob::from_args(args)?;
    let args = &job;
    let config = &job.config;
    let target = Target::claim(&args.out, OutputKind::ScoreDir, args.force)?;
    let started = Instant::now();
    let mut stages = Stages { quiet, records: Vec::new() };

    let pii = crate::pii::policy()?;
    let (graph, load_report) = stages.run("load", || {
        let (mut graph, report) = open_input(args)?;
        // Every table and sentence below prints ids as the personal-data policy shows them.
        pii.apply(&mut graph)?;
        let rows = graph.node_count() as u64 + graph.total_edge_count() as u64;
        Ok(((graph, report), rows))
    })?;
    let as_of = match &args.as_of {
        Some(text) => parse_as_of(text)?,
        None => latest_transfer(&graph).unwrap_or_else(|| chrono::Utc::now().timestamp_micros()),
    };
    let (graph, view) = stages.run("as_of", || {
        let (g, view) = graph.as_of_with_report(as_of);
        let rows = g.edge_count(Relation::Transfer) as u64;
        Ok(((g, view), rows))
    })?;
    if view.undated_defaults > 0 {
        eprintln!(
            "warning: {} defaulted firms and loans have no defaulted_on date; they count as defaulted at every --as-of",
            view.undated_defaults
        );
    }
    let n = graph.node_count();
    let owner = account_owner(&graph);
    let firm_count = graph.kind_count(NodeKind::Firm);
    let mut features = Features::default();

    stages.run("flows", || {
        inject_worker_panic("flows");
        structure_features(&graph, &mut features);
        transfer_features(&graph, as_of, &owner, &mut features);
        Ok(((), n as u64))
    })?;

    let pr_config = PageRankConfig {
        damping: config.pagerank.damping,
        max_iterations: config.pagerank.max_iterations,
        tolerance: config.pagerank.tolerance,
    };
    if config.enabled("pagerank") {
        stages.run("pagerank", || {
            let projection =
                Projection::new(&graph, &ProjectionConfig { relations: vec![Relation::Transfer], undirected: false, weighted: true });
            let result = page_rank(&projection, &pr_config);
            let mut values = scatter(&projection, &result.scores, n, 0.0);
            roll_up(&mut values, &owner);
            features.f64(
                "pagerank",
                "PageRank of the money-flow graph (transfers weighted by amount), an owner's including its accounts'.",
                values,
            );
            Ok(((), projection.node_count() as u64))
        })?;
    }
    let risk = Projection::new(&graph, &ProjectionConfig { relations: RISK_RELATIONS.to_vec(), undirected: true, weighted: false });
    let risk_defaulted: Vec<bool> = risk.nodes.iter().map(|&v| graph.is_defaulted(v)).collect();
    if config.enabled("ppr") {
        stages.run("ppr", || {
            let seeds: Vec<u32> = (0..risk.node_count() as u32).filter(|&v| risk_defaulted[v as usize]).collect();
            let values = if seeds.is_empty() {
                vec![f64::NAN; n]
            } else {
                scatter(&risk, &personalized_page_rank(&risk, &seeds, &pr_config).scores, n, f64::NAN)
            };
            features.f64(
                "ppr",
                "Risk rank: PageRank personalised to the defaulted firms over holdings, officers, guarantees and supply links.",
                values,
            );
            Ok(((), seeds.len() as u64))
        })?;
    }
    if config.enabled("components") {
        stages.run("components", || {
            let all = Projection::new(&graph, &ProjectionConfig { relations: Relation::ALL.to_vec(), undirected: true, weighted: false });
            let result = weakly_connected_components(&all);
            let sizes: Vec<f64> = result.component.iter().map(|&c| result.sizes[c as usize] as f64).collect();
            let by_node = scatter(&all, &sizes, n, f64::NAN);
            features.u32(
                "component_size",
                "Nodes in the node's weakly connected component over all relations.",
                by_node.iter().map(|x| x.is_finite().then_some(*x as u32)).collect(),
            );
            Ok(((), result.count() as u64))
        })?;
    }
    let mut communities: Option<(Vec<u32>, Vec<u32>)> = None;
    if config.enabled("communities") {
        stages.run("communities", || {
            let louvain_config = LouvainConfig { resolution: config.communities.resolution, seed: config.seed, ..LouvainConfig::default() };
            let community_of: Vec<u32> = match config.communities.algorithm.as_str() {
                "leiden" => leiden(&risk, &louvain_config).community,
                "lpa" => dense_by_size(&label_propagation(&risk, &LabelPropagationConfig::default()).labels).0,
                _ => louvain(&risk, &louvain_config).community,
            };
            let result = Communities { community: community_of };
            let count = result.community.iter().max().map_or(0, |m| m + 1) as usize;
            let mut size = vec![0u32; count];
            let mut firms = vec![0u32; count];
            let mut defaulted = vec![0u32; count];
            for (v, &c) in result.community.iter().enumerate() {
                size[c as usize] += 1;
                if graph.kind(risk.nodes[v]) == NodeKind::Firm {
                    firms[c as usize] += 1;
                    defaulted[c as usize] += risk_defaulted[v] as u32;
                }
            }
            let mut community = vec![None; n];
            let mut community_size = vec![None; n];
            let mut share = vec![f64::NAN; n];
            for (v, &c) in result.community.iter().enumerate() {
                let node = risk.nodes[v].index();
                community[node] = Some(c);
                community_size[node] = Some(size[c as usize]);
                if firms[c as usize] > 0 {
                    share[node] = defaulted[c as usize] as f64 / firms[c as usize] as f64;
                }
            }
            let rows = count as u64;
            communities = Some((risk.nodes.iter().map(|v| v.0).collect(), result.community.clone()));
            features.u32(
                "community",
                "Community of the risk network (communities.algorithm, default Louvain modularity); 0 = the largest.",
                community,
            );
            features.u32("community_size", "Nodes in the community.", community_size);
            features.f64("community_defaulted_share", "Share of the community's firms that defaulted.", share);
            Ok(((), rows))
        })?;
    }
    if config.enabled("structure") {
        stages.run("structure", || {
            let core = core_numbers(&risk);
            let tri = triangles(&risk);
            let core_f: Vec<f64> = core.core.iter().map(|&c| c as f64).collect();
            let tri_f: Vec<f64> = tri.triangles.iter().map(|&t| t as f64).collect();
            let to_u32 = |v: Vec<f64>| v.into_iter().map(|x| x.is_finite().then_some(x.min(u32::MAX as f64) as u32)).collect();
            features.u32("core", "k-core number in the risk network (simple, undirected).", to_u32(scatter(&risk, &core_f, n, f64::NAN)));
            features.u32("triangles", "Triangles through the node in the risk network.", to_u32(scatter(&risk, &tri_f, n, f64::NAN)));
            features.f64("clustering", "Local clustering coefficient in the risk network.", scatter(&risk, &tri.clustering, n, f64::NAN));
            let (one, two) = defaulted_neighbourhood(&graph, &risk, &risk_defaulted);
            features.f64("defaulted_share_1hop", "Share of the node's risk-network neighbours that defaulted.", one);
            features.f64(
                "defaulted_share_2hop",
                "Mean of the neighbours' defaulted shares: defaulted firms two hops away, path-weighted.",
                two,
            );
            Ok(((), tri.total))
        })?;
    }

    let ownership_config = OwnershipConfig {
        epsilon: config.ownership.epsilon,
        ubo_threshold: config.ownership.ubo_threshold,
        fallback_threshold: config.ownership.control_threshold,
        fallback_margin: config.ownership.control_margin,
        ..OwnershipConfig::default()
    };
    ownership_config.validate().map_err(|e| crate::exit::coded(crate::exit::USAGE, format!("config: {e}")))?;
    let owned = if config.enabled("ownership") || config.enabled("groups") {
        Some(stages.run("ownership", || {
            let net = HoldingNetwork::from_graph(&graph);
            let r = ownership(&net, &ownership_config);
            let firm_only = |values: Vec<Option<u32>>| -> Vec<Option<u32>> { pad(values, n) };
            features.u32(
                "ubo_count",
                "Firms: persons with integrated ownership ≥ the UBO threshold.",
                firm_only(r.ubo_count.iter().map(|&c| Some(c)).collect()),
            );
            features.f64(
                "top_ubo_share",
                "Firms: integrated ownership of the largest beneficial owner.",
                pad_f64(r.top_ubo_share.clone(), n),
            );
            features.text(
                "controller_id",
                "Firms: the actual controller (majority chain, else the clear largest owner).",
                pad_text(r.controller.iter().map(|&c| (c != NONE).then(|| graph.external_id(NodeId(c)).to_string())).collect(), n),
            );
            features.text(
                "control_basis",
                "Firms: majority | largest_owner | none.",
                pad_text(r.basis.iter().map(|b| Some(b.as_str().to_string())).collect(), n),
            );
            let rows = r.ubos.firm.len() as u64;
            Ok((r, rows))
        })?)
    } else {
        None
    };
    let mut groups_table: Option<Table> = None;
    if let (true, Some(owned)) = (config.enabled("groups"), owned.as_ref()) {
        stages.run("groups", || {
            let mut links = control_links(owned);
            if config.groups.join_guarantees {
                links.extend(crate::commands::risk::mutual_guarantees(&graph));
            }
            if config.groups.join_legal_rep {
                links.extend(crate::commands::risk::legal_rep_links(&graph));
            }
            let nodes = graph.kind_range(NodeKind::Person).end;
            let r = group_customers(firm_count as u32, nodes, &links, &graph.firms.exposure);
            features.u32(
                "group_id",
                "Firms: group customer id (control, mutual guarantees); 0 = the largest.",
                pad(r.group.iter().map(|&g| Some(g)).collect(), n),
            );
            features.u32("group_size", "Firms: firms in the group.", pad(r.group.iter().map(|&g| Some(r.size[g as usize])).collect(), n));
            features.f64(
                "group_exposure",
                "Firms: Σ exposure of the group's firms.",
                pad_f64(r.group.iter().map(|&g| r.exposure[g as usize]).collect(), n),
            );
            groups_table = Some(crate::commands::risk::groups_table(&graph, &r));
            Ok(((), r.size.iter().filter(|&&s| s > 1).count() as u64))
        })?;
    }
    let guarantee_projection =
        Projection::new(&graph, &ProjectionConfig { relations: vec![Relation::Guarantee], undirected: false, weighted: true });
    let guarantees = if config.enabled("guarantees") {
        Some(stages.run("guarantees", || {
            let defaulted: Vec<bool> = guarantee_projection.nodes.iter().map(|&v| graph.is_defaulted(v)).collect();
            let r = guarantee_network(&guarantee_projection, &defaulted);
            let p = &guarantee_projection;
            features.bool(
                "in_guarantee_circle",
                "In a guarantee circle (strongly connected guarantees).",
                scatter_opt(p, &r.circle.iter().map(|&c| c != NONE).collect::<Vec<_>>(), n),
            );
            features.u32(
                "guarantee_chain_depth",
                "Longest guarantee chain ending here, circles collapsed.",
                scatter_opt(p, &r.chain_depth, n),
            );
            features.f64("contingent_liability_direct", "Σ amounts the entity guarantees.", scatter(p, &r.direct_liability, n, f64::NAN));
            features.f64(
                "contingent_liability_transitive",
                "Σ amounts guaranteed by the entity or anyone it guarantees, down the chain.",
                scatter(p, &r.transitive_liability, n, f64::NAN),
            );
            features.bool(
                "guarantees_defaulted",
                "A firm it guarantees, directly or down the chain, has defaulted.",
                scatter_opt(p, &r.exposed_to_default, n),
            );
            let rows = r.circles.len() as u64;
            Ok((r, rows))
        })?)
    } else {
        None
    };
    let pd: Vec<f64> = (0..firm_count as u32)
        .map(|f| {
            if graph.is_defaulted(NodeId(f)) {
                1.0
            } else {
                graph.firms.pd.get(f as usize).copied().filter(|x| x.is_finite()).unwrap_or(0.0)
            }
        })
        .collect();
    let needs_impact = config.enabled("debtrank") || config.enabled("cascade");
    let impact = needs_impact.then(|| {
        let impact_config = ImpactConfig { supply_loss_rate: config.contagion.supply_loss_rate, ..ImpactConfig::default() };
        ImpactNetwork::from_graph(&graph, &graph.firms.registered_capital, &impact_config)
    });
    let mut debtrank_total = None;
    if let (true, Some(net)) = (config.enabled("debtrank"), impact.as_ref()) {
        stages.run("debtrank", || {
            let value = economic_weights(&graph.firms.exposure, &graph.firms.registered_capital);
            let shock: Vec<(u32, f64)> = (0..firm_count as u32).filter(|&f| graph.is_defaulted(NodeId(f))).map(|f| (f, 1.0)).collect();
            let result = debt_rank(net, &value, &shock);
            let mut distress = vec![0.0; firm_count];
            for &(f, h) in &result.distress {
                distress[f as usize] = h;
            }
            let exposure: &[f64] = &graph.firms.exposure;
            let key = |f: u32| exposure.get(f as usize).copied().filter(|x| x.is_finite()).unwrap_or(0.0);
            let mut top: Vec<u32> = (0..firm_count as u32).collect();
            top.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
            top.truncate(config.contagion.top_k);
            let mut systemic = vec![f64::NAN; firm_count];
            for (&f, x) in top.iter().zip(systemic_importance(net, &value, &top)) {
                systemic[f as usize] = x;
            }
            debtrank_total = Some(result.debtrank);
            features.f64(
                "debtrank_distress",
                "Firms: DebtRank distress h when the defaulted firms default (Battiston et al. 2012).",
                pad_f64(distress, n),
            );
            features.f64(
                "systemic_debtrank",
                "Firms: DebtRank of the firm's own default, for the largest exposures.",
                pad_f64(systemic, n),
            );
            Ok(((), result.distress.len() as u64))
        })?;
    }
    let mut cascade_result = None;
    if let (true, Some(net)) = (config.enabled("cascade"), impact.as_ref()) {
        stages.run("cascade", || {
            let r = default_cascade(net, &pd, &CascadeConfig { runs: config.contagion.runs, seed: config.seed });
            let lift: Vec<f64> = r.probability.iter().zip(&pd).map(|(&p, &b)| if b > 0.0 { p / b } else { f64::NAN }).collect();
            features.f64(
                "cascade_pd",
                "Firms: default probability including contagion (Monte Carlo cascades).",
                pad_f64(r.probability.clone(), n),
            );
            features.f64("cascade_lift", "Firms: cascade_pd / pd.", pad_f64(lift, n));
            let rows = r.contagion_runs.iter().filter(|&&c| c > 0).count() as u64;
            cascade_result = Some(r);
            Ok(((), rows))
        })?;
    }
    let mut rings = Vec::new();
    // The detectors' notes (identifiers skipped as too common, truncated cycle searches, ...).
    let mut ring_notes = serde_json::Map::new();
    if config.enabled("rings") {
        rings = stages.run("rings", || {
            let (rings, _, notes) = detect(&graph, &config.rings, true);
            ring_notes = notes;
            let mut count = vec![0.0f64; n];
            let mut best = vec![f64::NAN; n];
            for r in &rings {
                for &m in &r.members {
                    count[m as usize] += 1.0;
                    best[m as usize] = if best[m as usize].is_nan() { r.score } else { best[m as usize].max(r.score) };
                    let o = owner[m as usize];
                    if o != NONE && !r.members.contains(&o) {
                        count[o as usize] += 1.0;
                        best[o as usize] = if best[o as usize].is_nan() { r.score } else { best[o as usize].max(r.score) };
                    }
                }
            }
            features.u32("ring_count", "Rings the entity (or an account it owns) is in.", count.iter().map(|&c| Some(c as u32)).collect());
            features.f64("max_ring_score", "Highest score among those rings (comparable within a ring kind).", best);
            let rows = rings.len() as u64;
            Ok((rings, rows))
        })?;
    }
    stages.run("persons", || {
        person_features(&graph, &mut features);
        Ok(((), graph.kind_count(NodeKind::Person) as u64))
    })?;
    let flag_rows = stages.run("flags", || {
        let mut flags: Vec<Flag> = Vec::new();
        flags::ring_flags(&graph, &rings, &owner, &config.flags, &mut flags);
        if let Some(g) = &guarantees {
            flags::guarantee_flags(&graph, &guarantee_projection, g, &mut flags);
        }
        if let Some(c) = &cascade_result {
            flags::contagion_flags(&graph, &pd, c, impact.as_ref(), &config.flags, &mut flags);
        }
        if let Some(o) = &owned {
            flags::ownership_flags(&graph, o, &config.flags, &mut flags);
        }
        flags.sort_by(|a, b| a.node.cmp(&b.node).then(a.flag.cmp(b.flag)).then(a.ring_id.cmp(&b.ring_id)));
        let rows = flags.len() as u64;
        Ok((flags, rows))
    })?;

    let review = crate::cases::queue(&rings, &owner, &config.flags.min_ring_score, config.flags.review_capacity);
    // Write everything into a staged folder; the manifest last; then move it into place.
    let staged = target.stage_dir()?;
    let dir = staged.path().to_path_buf();
    let mut outputs: Vec<String> = Vec::new();
    stages.run("write", || {
        let mut add = |name: &str| outputs.push(name.to_string());
        let table = features.table(&graph, as_of);
        table.write(&dir.join("features.parquet"))?;
        add("features.parquet");
        std::fs::write(dir.join("features.md"), features.dictionary()).context("cannot write features.md")?;
        add("features.md");
        flags_table(&graph, &flag_rows).write(&dir.join("flags.parquet"))?;
        add("flags.parquet");
        for path in write_rings(&graph, &rings, &review, &dir)? {
            add(&std::path::Path::new(&path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or(path));
        }
        if let Some((nodes, community)) = &communities {
            let t = Table::new()
                .utf8("node_id", nodes.iter().map(|&v| graph.external_id(NodeId(v))))
                .utf8("kind", nodes.iter().map(|&v| graph.kind(NodeId(v)).as_str()))
                .u32("community", community.iter().copied());
            t.write(&dir.join("communities.parquet"))?;
            add("communities.parquet");
        }
        if let Some(t) = groups_table.take() {
            t.write(&dir.join("groups.parquet"))?;
            add("groups.parquet");
        }
        Ok(((), outputs.len() as u64))
    })?;
    let mut summary = summarise(&stages, &flag_rows, &rings, debtrank_total, as_of);
    summary["ring_notes"] = Value::Object(ring_notes);
    summary["cases"] = crate::cases::summary(&rings, &review);
    summary["alert_volume_per_100k_firms"] = alert_volume(&flag_rows, &rings, &review, firm_count);
    summary["as_of_view"] = json!({
        "nodes_removed": {"firms": view.nodes_removed[0], "persons": view.nodes_removed[1], "accounts": view.nodes_removed[2], "loans": view.nodes_removed[3]},
        "edges_removed": Relation::ALL.iter().zip(&view.edges_removed).map(|(r, c)| (r.as_str().to_string(), json!(c))).collect::<serde_json::Map<_, _>>(),
        "identifier_links_removed": view.identifier_links_removed,
        "defaults_after_as_of": view.later_defaults,
        "defaults_without_date": view.undated_defaults,
    });
    summary["pii"] = pii.describe();
    manifest::write(
        &dir,
        &manifest::Context {
            input: &args.input,
            graph: &graph,
            report: load_report.as_ref(),
            config: &config,
            as_of,
            stages: stages.records.iter().map(|s| (s.name, s.seconds, s.rows, s.peak_rss_bytes)).collect(),
            outputs: &outputs,
            summary: &summary,
            invocation: job.invocation(),
        },
    )?;
    let out = staged.commit()?;
    let total = started.elapsed().as_secs_f64();
    if args.json {
        let mut s = summary.clone();
        s["out"] = json!(out);
        s["seconds"] = json!(total);
        s["stages"] = stages
            .records
            .iter()
            .map(|r| json!({"stage": r.name, "seconds": r.seconds, "rows": r.rows, "peak_rss_bytes": r.peak_rss_bytes}))
            .collect();
        println!("{s}");
    } else {
        println!("{:<12} {:>9} {:>12} {:>10}", "stage", "seconds", "rows", "peak MiB");
        for r in &stages.records {
            println!("{:<12} {:>9.2} {:>12} {:>10}", r.name, r.seconds, r.rows, r.peak_rss_bytes >> 20);
        }
        println!("flags raised: {} ({} high); rings: {}; total {:.1}s", summary["flags"], summary["high_flags"], rings.len(), total);
        println!("wrote {}", out.display());
    }
    Ok(())
}

fn summarise(stages: &Stages, flags: &[Flag], rings: &[ekg_algorithms::rings::Ring], debtrank: Option<f64>, as_of: i64) -> Value {
    let mut by_flag = serde_json::Map::new();
    for f in flags {
        let e = by_flag.entry(f.flag.to_string()).or_insert(json!(0));
        *e = json!(e.as_u64().unwrap_or(0) + 1);
    }
    json!({
        "as_of": chrono::DateTime::from_timestamp_micros(as_of).map(|t| t.to_rfc3339()),
        "flags": flags.len(),
        "high_flags": flags.iter().filter(|f| f.severity == flags::Severity::High).count(),
        "flags_by_kind": by_flag,
        "rings": rings.len(),
        "debtrank": debtrank,
        "stages": stages.records.len(),
    })
}

/// Rings per kind and flags per severity for every 100,000 firms: the load a fraud team would
/// carry, comparable across portfolio sizes.
fn alert_volume(flags: &[Flag], rings: &[ekg_algorithms::rings::Ring], review: &crate::cases::Review, firms: usize) -> Value {
    let per = |count: usize| if firms == 0 { 0.0 } else { count as f64 * 100_000.0 / firms as f64 };
    let mut by_kind = serde_json::Map::new();
    for kind in ekg_algorithms::rings::RingKind::ALL {
        let count = rings.iter().filter(|r| r.kind == kind).count();
        if count > 0 {
            by_kind.insert(kind.as_str().into(), json!(per(count)));
        }
    }
    let high = flags.iter().filter(|f| f.severity == flags::Severity::High).count();
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for f in flags {
        *counts.entry(f.flag).or_default() += 1;
    }
    let flags_by_kind: serde_json::Map<String, Value> = counts.into_iter().map(|(k, c)| (k.to_string(), json!(per(c)))).collect();
    let queued = review.cases.iter().filter(|c| c.lead.is_some()).count();
    json!({"rings": by_kind, "queued_cases": per(queued), "flags": per(flags.len()), "high_flags": per(high), "flags_by_kind": flags_by_kind})
}

fn flags_table(graph: &Graph, flags: &[Flag]) -> Table {
    Table::new()
        .utf8("node_id", flags.iter().map(|f| graph.external_id(NodeId(f.node))))
        .utf8("flag", flags.iter().map(|f| f.flag))
        .utf8("severity", flags.iter().map(|f| f.severity.as_str()))
        .utf8("reason", flags.iter().map(|f| f.reason.as_str()))
        .u64_opt("ring_id", flags.iter().map(|f| f.ring_id))
        .utf8_opt("path", flags.iter().map(|f| f.path.as_deref()))
}

/// Fault injection for the reliability tests: `EKG_INJECT_PANIC=STAGE` panics inside a rayon
/// worker at that stage, to prove a worker's panic ends the run with exit 70 and no output.
fn inject_worker_panic(stage: &str) {
    use rayon::prelude::*;
    if std::env::var("EKG_INJECT_PANIC").is_ok_and(|s| s == stage) {
        (0..64u32).into_par_iter().for_each(|i| {
            if i == 37 {
                panic!("injected fault in stage {stage}");
            }
        });
    }
}

/// Loads the input: a snapshot, or a dataset folder (no timestamp is refused: `--as-of` filters).
fn open_input(args: &ScoreJob) -> Result<(Graph, Option<ekg_loaders::load::LoadReport>)> {
    if args.input.is_file() {
        let graph =
            ekg_schema::snapshot::read_snapshot(&args.input).with_context(|| format!("cannot open graph {}", args.input.display()))?;
        return Ok((graph, None));
    }
    if !args.input.exists() {
        return Err(ekg_loaders::Error::Missing { name: "dataset".into(), path: args.input.clone() }.into());
    }
    // Memory pre-flight, as `ekg build`: refuse before loading what cannot fit.
    if args.format == crate::cli::InputFormat::Contract {
        let estimate = ekg_loaders::estimate::estimate_dataset(&ekg_loaders::Dataset::discover(&args.input)?)?;
        let limit = match &args.memory_limit {
            Some(text) => Some(crate::commands::build::parse_bytes(text)?),
            None => crate::commands::build::available_memory(),
        };
        crate::commands::build::preflight(&estimate, limit, args.force)?;
    }
    let load = crate::cli::LoadArgs { format: args.format, as_of: None, encoding: args.encoding };
    let on_error = match args.on_error {
        OnErrorArg::Fail => OnError::Fail,
        OnErrorArg::Skip => OnError::Skip,
    };
    let mut options = load_options(&load, on_error)?;
    options.as_of = i64::MAX;
    let (graph, report) = load_dataset(&args.input, args.format, &options)?;
    Ok((graph, Some(report)))
}

/// The latest transfer time in the graph: the default as-of, so that re-runs on the same input
/// are identical.
fn latest_transfer(graph: &Graph) -> Option<i64> {
    let ts = graph.relation(Relation::Transfer).attr("ts").and_then(|c| c.as_i64())?;
    ts.iter().copied().filter(|&t| t != TS_NULL).max()
}

/// Values by projection-local id → by graph node id, `fill` elsewhere.
fn scatter(projection: &Projection, values: &[f64], n: usize, fill: f64) -> Vec<f64> {
    let mut out = vec![fill; n];
    for (local, &node) in projection.nodes.iter().enumerate() {
        out[node.index()] = values[local];
    }
    out
}

fn scatter_opt<T: Copy>(projection: &Projection, values: &[T], n: usize) -> Vec<Option<T>> {
    let mut out = vec![None; n];
    for (local, &node) in projection.nodes.iter().enumerate() {
        out[node.index()] = Some(values[local]);
    }
    out
}

/// Firm-indexed values (firms are ids 0..firms) padded with nulls to every node.
fn pad(mut values: Vec<Option<u32>>, n: usize) -> Vec<Option<u32>> {
    values.resize(n, None);
    values
}

fn pad_f64(mut values: Vec<f64>, n: usize) -> Vec<f64> {
    values.resize(n, f64::NAN);
    values
}

fn pad_text(mut values: Vec<Option<String>>, n: usize) -> Vec<Option<String>> {
    values.resize(n, None);
    values
}
