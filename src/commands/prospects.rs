//! `ekg prospects`: the "white list" of small and micro firms around core enterprises — their
//! suppliers and customers within `--hops` supply links — ranked for relationship managers by
//! supply volume with the chain, tenure of the trading relation, low risk rank, no flags and no
//! defaulted group, each with the reason for its rank.
//!
//! Cores are given (`--core`) or the `--core-top` firms by weighted supply-chain PageRank. Risk
//! rank is PageRank personalised to the defaulted firms over holdings, officers, guarantees and
//! supply links (as `ppr` in the scores); groups are control groups; flags come from `--scores`.

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use arrow_array::cast::AsArray;
use ekg_algorithms::centrality::pagerank::{page_rank, personalized_page_rank, PageRankConfig};
use ekg_algorithms::ownership::{control_links, group_customers, ownership, HoldingNetwork, OwnershipConfig};
use ekg_algorithms::supply_chain::{chain_members, ChainMember, Position};
use ekg_algorithms::{Projection, ProjectionConfig};
use ekg_schema::{Graph, NodeId, NodeKind, Relation};
use serde_json::json;

use crate::cli::ProspectsArgs;
use crate::exit::{coded, USAGE};
use crate::input::open_graph_shown;
use crate::output::{OutputKind, Target};
use crate::query::{read_all, resolve};
use crate::table::Table;

use ekg_schema::MICROS_PER_DAY;

pub fn run(args: &ProspectsArgs, quiet: bool) -> Result<()> {
    let _out = Target::claim(&args.out, OutputKind::Parquet, args.force)?;
    let graph = open_graph_shown(&args.graph, &args.load)?;
    let _ = quiet;
    let firms = graph.kind_count(NodeKind::Firm) as u32;
    let cores = choose_cores(&graph, args)?;
    let candidates = chain_members(&graph, &cores, args.hops);

    // Risk rank and its percentile among firms.
    let risk = Projection::new(
        &graph,
        &ProjectionConfig { relations: ekg_algorithms::RISK_RELATIONS.to_vec(), undirected: true, weighted: false },
    );
    let seeds: Vec<u32> = (0..risk.node_count() as u32).filter(|&v| graph.is_defaulted(risk.nodes[v as usize])).collect();
    let mut ppr = vec![0.0; firms as usize];
    if !seeds.is_empty() {
        let scores = personalized_page_rank(&risk, &seeds, &PageRankConfig::default()).scores;
        for (l, &node) in risk.nodes.iter().enumerate() {
            if node.0 < firms {
                ppr[node.index()] = scores[l];
            }
        }
    }
    let mut sorted = ppr.clone();
    sorted.sort_by(f64::total_cmp);
    let percentile = |x: f64| sorted.partition_point(|&y| y < x) as f64 / sorted.len().max(1) as f64;

    // Control groups with a defaulted member.
    let owned = ownership(&HoldingNetwork::from_graph(&graph), &OwnershipConfig::default());
    let groups = group_customers(firms, graph.kind_range(NodeKind::Person).end, &control_links(&owned), &graph.firms.exposure);
    let mut defaulted_group = vec![false; groups.size.len()];
    for f in 0..firms {
        if graph.is_defaulted(NodeId(f)) {
            defaulted_group[groups.group[f as usize] as usize] = true;
        }
    }
    let flags = flag_counts(&graph, args.scores.as_deref())?;
    let as_of = graph.latest_transfer_ts();

    struct Row {
        c: ChainMember,
        tenure_days: Option<i64>,
        ppr: f64,
        pct: f64,
        flags: u32,
        score: f64,
        reason: String,
    }
    let mut rows: Vec<Row> = Vec::new();
    let mut excluded: BTreeMap<&'static str, u64> = BTreeMap::new();
    for c in candidates {
        let f = c.firm;
        let capital = graph.firms.registered_capital.get(f as usize).copied().unwrap_or(f64::NAN);
        let reason_out = if graph.is_defaulted(NodeId(f)) {
            Some("defaulted")
        } else if defaulted_group[groups.group[f as usize] as usize] {
            Some("in a group with a defaulted firm")
        } else if capital.is_finite() && capital > args.max_capital {
            Some("not small or micro (registered capital above --max-capital)")
        } else if flags.get(&f).is_some_and(|&(_, high)| high > 0) {
            Some("has a high-severity flag")
        } else {
            None
        };
        if let Some(r) = reason_out {
            *excluded.entry(r).or_default() += 1;
            continue;
        }
        let tenure_days = first_trade(&graph, f, c.core).zip(as_of).map(|(f0, now)| (now - f0) / MICROS_PER_DAY);
        let p = ppr[f as usize];
        let pct = percentile(p);
        let flag_count = flags.get(&f).map_or(0, |x| x.0);
        let years = tenure_days.map_or(0.0, |d| d as f64 / 365.0).min(5.0);
        let volume = own_volume(&c);
        let score = (1.0 + volume.max(0.0)).ln() * (1.0 + years / 5.0) * (1.0 - pct) / (1.0 + flag_count as f64) / c.hops as f64;
        let reason = format!(
            "{}, its own link's volume {:.0}{}; risk rank in the lowest {:.0}% of firms; {}",
            position_phrase(&graph, &c),
            volume,
            match tenure_days {
                Some(d) => format!(", trading with the core for {:.1} years", d as f64 / 365.0),
                None => ", no direct payments with the core yet".into(),
            },
            (pct * 100.0).max(1.0).ceil(),
            if flag_count == 0 { "no flags".to_string() } else { format!("{flag_count} low/medium flag(s)") }
        );
        rows.push(Row { c, tenure_days, ppr: p, pct, flags: flag_count, score, reason });
    }
    rows.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.c.firm.cmp(&b.c.firm)));
    if let Some(limit) = args.limit {
        rows.truncate(limit);
    }
    let id = |v: u32| graph.external_id(NodeId(v));
    let written = Table::new()
        .u32("rank", 1..=rows.len() as u32)
        .utf8("node_id", rows.iter().map(|r| id(r.c.firm)))
        .utf8("core_id", rows.iter().map(|r| id(r.c.core)))
        .utf8("position", rows.iter().map(|r| r.c.position.as_str()))
        .u32("hops", rows.iter().map(|r| r.c.hops))
        .utf8("chain", rows.iter().map(|r| chain_text(&graph, &r.c)).collect::<Vec<_>>().iter().map(String::as_str))
        .f64("supply_volume", &rows.iter().map(|r| own_volume(&r.c)).collect::<Vec<_>>())
        .u32_opt("tenure_days", rows.iter().map(|r| r.tenure_days.map(|d| d.max(0) as u32)))
        .f64("ppr", &rows.iter().map(|r| r.ppr).collect::<Vec<_>>())
        .f64("ppr_percentile", &rows.iter().map(|r| r.pct).collect::<Vec<_>>())
        .u32("flags", rows.iter().map(|r| r.flags))
        .f64("score", &rows.iter().map(|r| r.score).collect::<Vec<_>>())
        .utf8("reason", rows.iter().map(|r| r.reason.as_str()))
        .documented(&crate::dictionary::PROSPECTS)?
        .write(&args.out)?;
    let summary = json!({
        "cores": cores.iter().map(|&c| id(c)).collect::<Vec<_>>(),
        "hops": args.hops,
        "prospects": written,
        "excluded": excluded,
        "out": args.out,
    });
    if args.json {
        println!("{summary}");
    } else {
        println!("{written} prospects around {} core(s) → {}", cores.len(), args.out.display());
        for (reason, n) in &excluded {
            println!("  excluded {n}: {reason}");
        }
        for r in rows.iter().take(5) {
            println!("  {:<20} {}", id(r.c.firm), r.reason);
        }
    }
    Ok(())
}

/// The cores: given by id, or the firms of highest weighted supply-chain PageRank.
fn choose_cores(graph: &Graph, args: &ProspectsArgs) -> Result<Vec<u32>> {
    if !args.core.is_empty() {
        return args.core.iter().map(|id| resolve(graph, id).map(|v| v.0)).collect();
    }
    let Some(n) = args.core_top else {
        return Err(coded(USAGE, "prospects: give --core ID[,ID…] or --core-top N"));
    };
    let supply = Projection::new(graph, &ProjectionConfig { relations: vec![Relation::Supply], undirected: true, weighted: true });
    let pr = page_rank(&supply, &PageRankConfig::default());
    let mut order: Vec<u32> = (0..supply.node_count() as u32).collect();
    order.sort_by(|&a, &b| pr.scores[b as usize].total_cmp(&pr.scores[a as usize]).then(a.cmp(&b)));
    Ok(order.into_iter().take(n).map(|l| supply.nodes[l as usize].0).collect())
}

/// The first transfer between the firm's accounts and the core's, either way: the start of their
/// trading relationship.
fn first_trade(graph: &Graph, firm: u32, core: u32) -> Option<i64> {
    let owner_accounts = |v: u32| -> &[u32] { graph.relation(Relation::AccountOwner).forward.neighbor_ids(NodeId(v)) };
    let core_accounts = owner_accounts(core);
    let transfers = graph.relation(Relation::Transfer);
    let ts = transfers.attr("ts").and_then(|col| col.as_i64()).unwrap_or(&[]);
    let mut first = None::<i64>;
    for &a in owner_accounts(firm) {
        for e in transfers.forward.range(NodeId(a)) {
            if core_accounts.contains(&transfers.forward.targets()[e].0) {
                first = Some(first.map_or(ts[e], |x: i64| x.min(ts[e])));
            }
        }
        let range = transfers.reverse.range(NodeId(a));
        for (i, s) in range.clone().zip(&transfers.reverse.targets()[range]) {
            if core_accounts.contains(&s.0) {
                let t = ts[transfers.reverse_edge[i] as usize];
                first = Some(first.map_or(t, |x: i64| x.min(t)));
            }
        }
    }
    first
}

/// The volume of the firm's own link into the chain (0 when unknown).
fn own_volume(c: &ChainMember) -> f64 {
    c.volumes.first().copied().filter(|v| v.is_finite()).unwrap_or(0.0)
}

fn firm_label(graph: &Graph, v: u32) -> String {
    let name = graph.firms.name.get(v as usize);
    if name.is_empty() {
        graph.external_id(NodeId(v)).to_string()
    } else {
        format!("{} ({name})", graph.external_id(NodeId(v)))
    }
}

/// "A (name) → B (name) → C (name)": the firm, the firms between, the core.
fn chain_text(graph: &Graph, c: &ChainMember) -> String {
    c.path.iter().map(|&v| firm_label(graph, v)).collect::<Vec<_>>().join(" → ")
}

/// Where the firm sits, as a relationship manager says it.
fn position_phrase(graph: &Graph, c: &ChainMember) -> String {
    let core = graph.external_id(NodeId(c.core));
    let between: Vec<&str> = c.path[1..c.path.len().saturating_sub(1)].iter().map(|&v| graph.external_id(NodeId(v))).collect();
    let through = if between.is_empty() { String::new() } else { format!(" through {}", between.join(", ")) };
    match c.position {
        Position::Upstream if between.is_empty() => format!("supplies core {core}"),
        Position::Upstream => format!("supplies core {core}'s supply chain{through} ({} hops upstream)", c.hops),
        Position::Downstream if between.is_empty() => format!("buys from core {core}"),
        Position::Downstream => format!("buys from core {core}'s customers{through} ({} hops downstream)", c.hops),
        Position::Cluster => format!("trades in core {core}'s cluster{through} ({} hops, the chain changes direction)", c.hops),
    }
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
