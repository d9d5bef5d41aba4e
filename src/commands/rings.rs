//! `ekg run rings`: every fraud-ring detector (or those chosen with `--detectors`), one ring table
//! with scores, the evidence edges in time order, per-node ring counts, and — with `--truth` — the
//! recall and precision against a generator's planted rings.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use ekg_algorithms::contagion::guarantee_network;
use ekg_algorithms::rings::cycles::{fund_cycles, CycleConfig, MICROS_PER_DAY};
use ekg_algorithms::rings::dense::{dense_blocks, identifier_blocks, DenseConfig};
use ekg_algorithms::rings::diversion::{loan_diversion, DiversionConfig};
use ekg_algorithms::rings::flows::{flow_typologies, FlowConfig};
use ekg_algorithms::rings::shared::{shared_identifier_rings, SharedConfig};
use ekg_algorithms::rings::{recovery, sort_rings, Evidence, EvidenceKind, Ring, RingKind, Transfers};
use ekg_algorithms::{Projection, ProjectionConfig};
use ekg_schema::{Graph, NodeId, Relation, TS_NULL};
use serde_json::{json, Value};

use crate::cases::Review;
use crate::cli::RunArgs;
use crate::exit::{coded, DATA, USAGE};
use crate::input::open_graph_shown;
use crate::progress::Phase;
use crate::table::Table;

pub const DETECTORS: [&str; 6] = ["shared_identifier", "fund_cycle", "flows", "dense_block", "loan_diversion", "guarantee_circle"];

pub fn run(args: &RunArgs, quiet: bool) -> Result<()> {
    let detectors: Vec<&str> = if args.detectors.is_empty() {
        DETECTORS.to_vec()
    } else {
        let mut out = Vec::new();
        for d in &args.detectors {
            let known = DETECTORS
                .iter()
                .find(|k| **k == d.as_str())
                .ok_or_else(|| coded(USAGE, format!("--detectors: unknown detector '{d}' (known: {})", DETECTORS.join(", "))))?;
            out.push(*known);
        }
        out
    };
    if !(0.0..1.0).contains(&args.amount_tolerance) || args.max_cycle_len < 2 || args.min_fan < 2 {
        return Err(coded(USAGE, "--amount-tolerance must be in [0, 1), --max-cycle-len ≥ 2, --min-fan ≥ 2"));
    }
    let _out = super::run::claim_out(args)?;
    let phase = Phase::start(quiet, "opening graph");
    let graph = open_graph_shown(&args.graph, &args.load)?;
    phase.finish();
    let params = RingParams {
        detectors: detectors.iter().map(|d| d.to_string()).collect(),
        max_share: args.max_share,
        cycle_window_days: args.cycle_window_days,
        max_cycle_len: args.max_cycle_len,
        flow_window_days: args.flow_window_days,
        scatter_window_days: args.scatter_window_days,
        gather_window_days: args.gather_window_days,
        amount_tolerance: args.amount_tolerance,
        min_fan: args.min_fan,
        min_fan_score: args.min_fan_score,
    };
    let (rings, timings, notes) = detect(&graph, &params, quiet);
    let owner = crate::score::features::account_owner(&graph);
    let thresholds = crate::score::config::FlagSection::default().min_ring_score;
    let review = crate::cases::queue(&rings, &owner, &thresholds, args.capacity);
    let written = write_rings(&graph, &rings, &review, &args.out)?;
    let mut by_kind = serde_json::Map::new();
    for kind in RingKind::ALL {
        let count = rings.iter().filter(|r| r.kind == kind).count();
        if count > 0 {
            by_kind.insert(kind.as_str().into(), json!(count));
        }
    }
    let mut summary = json!({
        "algorithm": "rings",
        "detectors": detectors,
        "rings": rings.len(),
        "by_kind": by_kind,
        "seconds_by_detector": timings,
        "notes": notes,
        "outputs": written,
    });
    summary["cases"] = crate::cases::summary(&rings, &review);
    if let Some(truth) = &args.truth {
        summary["evaluation"] = evaluate(&graph, &rings, truth, args.capacity)?;
        summary["queue_evaluation"] = evaluate_queue(&graph, &rings, &review, truth)?;
    }
    if args.json {
        println!("{summary}");
    } else {
        print_summary(&summary);
    }
    Ok(())
}

/// The ring detectors' parameters (from `ekg run rings` flags or the score config's `[rings]`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RingParams {
    pub detectors: Vec<String>,
    pub max_share: usize,
    pub cycle_window_days: u32,
    pub max_cycle_len: usize,
    pub flow_window_days: u32,
    pub scatter_window_days: u32,
    pub gather_window_days: u32,
    pub amount_tolerance: f64,
    pub min_fan: usize,
    pub min_fan_score: f64,
}

impl Default for RingParams {
    fn default() -> Self {
        RingParams {
            detectors: DETECTORS.iter().map(|s| s.to_string()).collect(),
            max_share: 50,
            cycle_window_days: 30,
            max_cycle_len: 6,
            flow_window_days: FlowConfig::DEFAULT_WINDOW_DAYS as u32,
            scatter_window_days: FlowConfig::DEFAULT_SCATTER_WINDOW_DAYS as u32,
            gather_window_days: FlowConfig::DEFAULT_GATHER_WINDOW_DAYS as u32,
            amount_tolerance: 0.2,
            min_fan: 5,
            min_fan_score: FlowConfig::DEFAULT_MIN_FAN_SCORE,
        }
    }
}

type Timings = serde_json::Map<String, Value>;

/// Runs the chosen detectors; rings in canonical order, with per-detector seconds and notes.
pub fn detect(graph: &Graph, params: &RingParams, quiet: bool) -> (Vec<Ring>, Timings, Timings) {
    let transfers = Transfers::new(graph);
    let mut rings: Vec<Ring> = Vec::new();
    let mut timings = serde_json::Map::new();
    let mut notes = serde_json::Map::new();
    for detector in &params.detectors {
        let phase = Phase::start(quiet, detector);
        let started = Instant::now();
        match detector.as_str() {
            "shared_identifier" => {
                let config = SharedConfig { max_share: params.max_share, ..SharedConfig::default() };
                let (found, skipped) = shared_identifier_rings(graph, &config);
                notes.insert("identifiers_skipped_as_too_common".into(), json!(skipped));
                rings.extend(found);
            }
            "fund_cycle" => {
                let config = CycleConfig {
                    max_len: params.max_cycle_len,
                    window: params.cycle_window_days as i64 * MICROS_PER_DAY,
                    tolerance: params.amount_tolerance,
                    ..CycleConfig::default()
                };
                let found = fund_cycles(&transfers, &config);
                notes.insert("cycle_searches_truncated".into(), json!(found.truncated_starts));
                rings.extend(found.rings);
            }
            "flows" => {
                let config = FlowConfig {
                    window: params.flow_window_days as i64 * MICROS_PER_DAY,
                    scatter_window: params.scatter_window_days as i64 * MICROS_PER_DAY,
                    gather_window: params.gather_window_days as i64 * MICROS_PER_DAY,
                    tolerance: params.amount_tolerance,
                    min_fan: params.min_fan,
                    min_fan_score: params.min_fan_score,
                    ..FlowConfig::default()
                };
                rings.extend(flow_typologies(&transfers, &config));
            }
            "dense_block" => {
                rings.extend(dense_blocks(&transfers, &DenseConfig::default()));
                rings.extend(identifier_blocks(graph, &DenseConfig::default(), params.max_share));
            }
            "loan_diversion" => {
                let config = DiversionConfig { max_share: params.max_share, ..DiversionConfig::default() };
                rings.extend(loan_diversion(graph, &transfers, &config));
            }
            "guarantee_circle" => rings.extend(guarantee_circles(graph)),
            _ => {}
        }
        timings.insert(detector.to_string(), json!(started.elapsed().as_secs_f64()));
        phase.finish();
    }
    drop_repeats(&mut rings);
    sort_rings(&mut rings);
    drop_repeats(&mut rings);
    sort_rings(&mut rings);
    (rings, timings, notes)
}

/// A dense block with exactly the members of a more specific ring (shared identifiers, a flow
/// typology) says nothing new: it is reported once, as that ring.
fn drop_repeats(rings: &mut Vec<Ring>) {
    let specific: std::collections::HashSet<Vec<u32>> =
        rings.iter().filter(|r| r.kind != RingKind::DenseBlock).map(|r| r.members.clone()).collect();
    rings.retain(|r| r.kind != RingKind::DenseBlock || !specific.contains(&r.members));
}

fn print_summary(summary: &Value) {
    println!("rings: {} found", summary["rings"]);
    if let Some(kinds) = summary["by_kind"].as_object() {
        for (kind, count) in kinds {
            println!("  {kind:<18} {count}");
        }
    }
    if let Some(eval) = summary.get("evaluation").and_then(Value::as_object) {
        println!("  {:<18} {:>8} {:>9} {:>7} {:>10} {:>12}", "kind", "planted", "reported", "recall", "precision", "@capacity");
        for (kind, e) in eval {
            println!(
                "  {kind:<18} {:>8} {:>9} {:>7.3} {:>10.3} {:>12.3}",
                e["planted"].as_u64().unwrap_or(0),
                e["reported"].as_u64().unwrap_or(0),
                e["recall"].as_f64().unwrap_or(0.0),
                e["precision"].as_f64().unwrap_or(0.0),
                e["precision_at_capacity"].as_f64().unwrap_or(0.0)
            );
        }
    }
    let cases = &summary["cases"];
    println!(
        "cases: {} ({} rings merged into another's case), {} queued, {} within a day's capacity",
        cases["cases"], cases["rings_merged"], cases["queued"], cases["in_capacity"]
    );
    if let Some(queue) = summary.get("queue_evaluation") {
        println!("  {:<18} {:>8} {:>12} {:>6} {:>12}", "lead kind", "queued", "in capacity", "hits", "precision");
        for (kind, e) in queue["by_lead_kind"].as_object().into_iter().flatten() {
            println!(
                "  {kind:<18} {:>8} {:>12} {:>6} {:>12.3}",
                e["queued"].as_u64().unwrap_or(0),
                e["in_capacity"].as_u64().unwrap_or(0),
                e["hits"].as_u64().unwrap_or(0),
                e["precision_at_capacity"].as_f64().unwrap_or(0.0)
            );
        }
        println!("  planted structures reached by a queued case: {} of {}", queue["planted_reached_by_a_queued_case"], queue["planted"]);
    }
    if let Some(outputs) = summary["outputs"].as_array() {
        for o in outputs {
            println!("wrote {}", o.as_str().unwrap_or(""));
        }
    }
}

/// Guarantee circles as rings: score = members × (1 + defaulted members).
pub fn guarantee_circles(graph: &Graph) -> Vec<Ring> {
    let projection = Projection::new(graph, &ProjectionConfig { relations: vec![Relation::Guarantee], undirected: false, weighted: true });
    let defaulted: Vec<bool> = projection.nodes.iter().map(|&v| graph.is_defaulted(v)).collect();
    let result = guarantee_network(&projection, &defaulted);
    let store = graph.relation(Relation::Guarantee);
    let amounts = store.f64_attr("amount").unwrap_or(&[]);
    let starts = store.attr("start").and_then(|c| c.as_i32()).unwrap_or(&[]);
    result
        .circles
        .iter()
        .map(|circle| {
            let members: Vec<u32> = circle.members.iter().map(|&v| projection.nodes[v as usize].0).collect();
            let mut evidence = Vec::new();
            for &m in &members {
                let range = store.forward.range(NodeId(m));
                for e in range {
                    let dst = store.forward.targets()[e].0;
                    if members.contains(&dst) {
                        let start = starts.get(e).copied().filter(|&d| d != ekg_schema::DATE_NULL);
                        evidence.push(Evidence {
                            src: m,
                            dst,
                            kind: EvidenceKind::Guarantee,
                            amount: amounts.get(e).copied().unwrap_or(f64::NAN),
                            ts: start.map_or(TS_NULL, |d| d as i64 * MICROS_PER_DAY),
                            identifier: u32::MAX,
                        });
                    }
                }
            }
            let score = members.len() as f64 * (1.0 + circle.defaulted.len() as f64);
            Ring::new(RingKind::GuaranteeCircle, score, members, evidence, circle.total_amount)
        })
        .collect()
}

fn identifier_text(graph: &Graph, e: &Evidence) -> Option<String> {
    match e.kind {
        EvidenceKind::SharedIdentifier => {
            let value = NodeId(e.identifier);
            // Shown as the run's personal-data policy left it (a pseudonym unless --reveal-pii).
            Some(format!("{}:{}", graph.identifiers.kind(value).as_str(), graph.identifiers.text(value)))
        }
        EvidenceKind::SharedLegalRep => Some(format!("legal_rep:{}", graph.external_id(NodeId(e.identifier)))),
        _ => None,
    }
}

/// `rings.parquet`, `ring_edges.parquet`, `ring_nodes.parquet` and the review queue's
/// `cases.parquet`; returns the paths written.
pub fn write_rings(graph: &Graph, rings: &[Ring], review: &Review, out: &Path) -> Result<Vec<String>> {
    let id = |v: u32| graph.external_id(NodeId(v));
    let opt_ts = |t: i64| (t != TS_NULL).then_some(t);
    let rings_path = out.join("rings.parquet");
    let explanations: Vec<String> = rings.iter().map(|r| crate::explain::explain(graph, r)).collect();
    let cases_path = out.join("cases.parquet");
    crate::cases::write(graph, rings, &review.cases, &explanations, &cases_path)?;
    Table::new()
        .u64("ring_id", 0..rings.len() as u64)
        .u64("case_id", review.case_of.iter().map(|&c| u64::from(c)))
        .utf8("kind", rings.iter().map(|r| r.kind.as_str()))
        .f64("score", &rings.iter().map(|r| r.score).collect::<Vec<_>>())
        .u32("size", rings.iter().map(|r| r.members.len() as u32))
        .utf8_list("members", rings.iter().map(|r| r.members.iter().map(|&m| id(m)).collect::<Vec<_>>()))
        .timestamp_opt("first_ts", rings.iter().map(|r| opt_ts(r.first_ts())))
        .timestamp_opt("last_ts", rings.iter().map(|r| opt_ts(r.last_ts())))
        .f64_nan_null("total_amount", rings.iter().map(|r| r.total_amount))
        .utf8("explanation", explanations.iter().map(String::as_str))
        .write(&rings_path)?;
    let edges: Vec<(u64, &Evidence)> = rings.iter().enumerate().flat_map(|(i, r)| r.evidence.iter().map(move |e| (i as u64, e))).collect();
    let edges_path = out.join("ring_edges.parquet");
    Table::new()
        .u64("ring_id", edges.iter().map(|x| x.0))
        .utf8("src_id", edges.iter().map(|x| id(x.1.src)))
        .utf8("dst_id", edges.iter().map(|x| id(x.1.dst)))
        .utf8("relation", edges.iter().map(|x| x.1.kind.as_str()))
        .f64_nan_null("amount", edges.iter().map(|x| x.1.amount))
        .timestamp_opt("ts", edges.iter().map(|x| opt_ts(x.1.ts)))
        .utf8_opt("identifier", edges.iter().map(|x| identifier_text(graph, x.1)))
        .write(&edges_path)?;
    // Per node: rings it is in, the highest score, and the kinds.
    let mut per_node: BTreeMap<u32, (u32, f64, Vec<RingKind>)> = BTreeMap::new();
    for r in rings {
        for &m in &r.members {
            let entry = per_node.entry(m).or_insert((0, f64::MIN, Vec::new()));
            entry.0 += 1;
            entry.1 = entry.1.max(r.score);
            if !entry.2.contains(&r.kind) {
                entry.2.push(r.kind);
            }
        }
    }
    let nodes_path = out.join("ring_nodes.parquet");
    Table::new()
        .utf8("node_id", per_node.keys().map(|&v| id(v)))
        .utf8("kind", per_node.keys().map(|&v| graph.kind(NodeId(v)).as_str()))
        .u32("ring_count", per_node.values().map(|x| x.0))
        .f64("max_ring_score", &per_node.values().map(|x| x.1).collect::<Vec<_>>())
        .utf8(
            "ring_kinds",
            per_node
                .values()
                .map(|x| {
                    let mut kinds = x.2.clone();
                    kinds.sort();
                    kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",")
                })
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str),
        )
        .write(&nodes_path)?;
    Ok([rings_path, edges_path, nodes_path, cases_path].iter().map(|p| p.display().to_string()).collect())
}

/// Planted rings of `TRUTH/rings.parquet` (ring_id, kind, member_id): (kind, members ascending).
fn read_truth(graph: &Graph, truth: &Path) -> Result<Vec<(String, Vec<u32>)>> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::UInt64Type;
    let path = truth.join("rings.parquet");
    let file = std::fs::File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .with_context(|| format!("{}: not a Parquet truth table", path.display()))?;
    let mut planted: BTreeMap<(String, u64), Vec<u32>> = BTreeMap::new();
    for batch in reader {
        let batch = batch.with_context(|| format!("cannot read {}", path.display()))?;
        let column = |name: &str| batch.schema().index_of(name).map_err(|_| coded(DATA, format!("{}: no column `{name}`", path.display())));
        let (ring, kind, member) = (column("ring_id")?, column("kind")?, column("member_id")?);
        let rings_col = batch.column(ring).as_primitive_opt::<UInt64Type>().ok_or_else(|| coded(DATA, "truth ring_id must be u64"))?;
        let kinds = batch.column(kind).as_string_opt::<i32>().ok_or_else(|| coded(DATA, "truth kind must be utf8"))?;
        let members = batch.column(member).as_string_opt::<i32>().ok_or_else(|| coded(DATA, "truth member_id must be utf8"))?;
        for i in 0..batch.num_rows() {
            let Some(node) = graph.lookup(members.value(i)) else { continue };
            planted.entry((kinds.value(i).to_string(), rings_col.value(i))).or_default().push(node.0);
        }
    }
    Ok(planted
        .into_iter()
        .map(|((kind, _), mut members)| {
            members.sort_unstable();
            members.dedup();
            (kind, members)
        })
        .collect())
}

/// Whether `found` is a part of one planted structure (of any kind) or holds most of one: some
/// planted ring shares at least half of the smaller of the two. An alert on such a part leads
/// its reviewer to the structure.
fn part_of_planted(found: &[u32], planted: &[(String, Vec<u32>)], holding: &std::collections::HashMap<u32, Vec<usize>>) -> bool {
    let mut candidates: Vec<usize> = found.iter().filter_map(|m| holding.get(m)).flatten().copied().collect();
    candidates.sort_unstable();
    candidates.dedup();
    candidates.into_iter().any(|p| {
        let shared = found.iter().filter(|m| planted[p].1.binary_search(m).is_ok()).count();
        2 * shared >= found.len().min(planted[p].1.len())
    })
}

/// Recall and top-N precision per kind against the planted rings, and precision over each kind's
/// first `capacity` rings by score (a ring counts when it is part of a planted structure).
fn evaluate(graph: &Graph, rings: &[Ring], truth: &Path, capacity: usize) -> Result<Value> {
    let planted = read_truth(graph, truth)?;
    let holding = holders(&planted);
    let mut out = serde_json::Map::new();
    for kind in RingKind::ALL {
        let truth_sets: Vec<Vec<u32>> = planted.iter().filter(|(k, _)| k == kind.as_str()).map(|(_, m)| m.clone()).collect();
        let reported: Vec<&[u32]> = rings.iter().filter(|r| r.kind == kind).map(|r| r.members.as_slice()).collect();
        if truth_sets.is_empty() && reported.is_empty() {
            continue;
        }
        let r = recovery(&truth_sets, &reported);
        let first = &reported[..capacity.min(reported.len())];
        let hits = first.iter().filter(|m| part_of_planted(m, &planted, &holding)).count();
        out.insert(
            kind.as_str().into(),
            json!({"planted": r.planted, "reported": r.reported, "recalled": r.recalled, "recall": r.recall, "top_n": r.top_n, "top_n_matched": r.top_n_matched, "precision": r.precision,
                   "capacity": first.len(), "capacity_hits": hits, "precision_at_capacity": if first.is_empty() { 1.0 } else { hits as f64 / first.len() as f64 }}),
        );
    }
    Ok(Value::Object(out))
}

fn holders(planted: &[(String, Vec<u32>)]) -> std::collections::HashMap<u32, Vec<usize>> {
    let mut holding: std::collections::HashMap<u32, Vec<usize>> = std::collections::HashMap::new();
    for (p, (_, members)) in planted.iter().enumerate() {
        for &m in members {
            holding.entry(m).or_default().push(p);
        }
    }
    holding
}

/// The review queue against the planted rings: per lead kind, how many of the cases within a
/// day's capacity are (parts of) planted structures; and how many planted structures some
/// queued case leads to.
fn evaluate_queue(graph: &Graph, rings: &[Ring], review: &Review, truth: &Path) -> Result<Value> {
    let planted = read_truth(graph, truth)?;
    let holding = holders(&planted);
    let members = |c: &crate::cases::QueuedCase| {
        let mut m: Vec<u32> = c.case.rings.iter().flat_map(|&i| rings[i as usize].members.iter().copied()).collect();
        m.sort_unstable();
        m.dedup();
        m
    };
    let mut by_kind: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new(); // queued, in capacity, hits
    let mut reached = vec![false; planted.len()];
    for c in review.cases.iter().filter(|c| c.lead.is_some()) {
        let kind = rings[c.lead.unwrap_or(0) as usize].kind.as_str();
        let entry = by_kind.entry(kind).or_default();
        entry.0 += 1;
        let m = members(c);
        for &p in m.iter().filter_map(|x| holding.get(x)).flatten() {
            let planted_members = &planted[p].1;
            if !reached[p] && 2 * planted_members.iter().filter(|x| m.binary_search(x).is_ok()).count() >= planted_members.len() {
                reached[p] = true;
            }
        }
        if c.in_capacity {
            entry.1 += 1;
            entry.2 += usize::from(part_of_planted(&m, &planted, &holding));
        }
    }
    let kinds: serde_json::Map<String, Value> = by_kind
        .into_iter()
        .map(|(k, (queued, within, hits))| {
            (k.to_string(), json!({"queued": queued, "in_capacity": within, "hits": hits, "precision_at_capacity": if within == 0 { 1.0 } else { hits as f64 / within as f64 }}))
        })
        .collect();
    let reached = reached.iter().filter(|&&r| r).count();
    Ok(json!({"by_lead_kind": kinds, "planted": planted.len(), "planted_reached_by_a_queued_case": reached}))
}
