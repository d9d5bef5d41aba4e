//! `ekg run rings`: every fraud-ring detector (or those chosen with `--detectors`), one ring table
//! with scores, the evidence edges in time order, per-node ring counts, and — with `--truth` — the
//! recall and precision against a generator's planted rings.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use ekg_algorithms::rings::detect::RingSearch;
use ekg_algorithms::rings::{recovery, Ring, RingKind};
use ekg_schema::Graph;
use serde_json::{json, Value};

use crate::cases::Review;
use crate::cli::RunArgs;
use crate::exit::{coded, DATA};
use crate::findings::{find_rings, write_rings, Found};
use crate::input::open_graph_shown;
use crate::progress::Phase;

pub fn run(args: &RunArgs, search: &RingSearch, quiet: bool) -> Result<()> {
    let _out = super::target::claim_out(args)?;
    let phase = Phase::start(quiet, "opening graph");
    let graph = open_graph_shown(&args.graph, &args.load)?;
    phase.finish();
    let Found { rings, seconds: timings, notes } = find_rings(&graph, search, quiet);
    let owner = ekg_algorithms::ownership::account_owner(&graph);
    let thresholds = crate::cases::default_min_ring_score();
    let review = crate::cases::queue(&rings, &owner, &thresholds, args.capacity);
    let ids = crate::findings::ring_ids(&graph, &rings);
    let written = write_rings(&graph, &rings, &ids, None, &review, &args.out)?;
    let mut by_kind = serde_json::Map::new();
    for kind in RingKind::ALL {
        let count = rings.iter().filter(|r| r.kind == kind).count();
        if count > 0 {
            by_kind.insert(kind.as_str().into(), json!(count));
        }
    }
    let mut summary = json!({
        "algorithm": "rings",
        "detectors": search.detectors.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
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
    super::target::report(&summary, args.json, print_summary);
    Ok(())
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
