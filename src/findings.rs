//! Ring findings as `ekg run rings` and `ekg score` both produce them: the detectors run with
//! progress, their times and notes as JSON, and the tables `rings.parquet`, `ring_edges.parquet`,
//! `ring_nodes.parquet` and the review queue's `cases.parquet`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use ekg_algorithms::rings::detect::{detect, Detector, RingSearch};
use ekg_algorithms::rings::{Evidence, EvidenceKind, Ring, RingKind};
use ekg_schema::{Graph, NodeId, TS_NULL};
use serde_json::{json, Value};

use crate::cases::Review;
use crate::progress::Phase;
use crate::table::Table;

/// Rings found by the chosen detectors (canonical order), with seconds per detector and the
/// detectors' notes (identifiers skipped as too common, truncated cycle searches).
pub struct Found {
    pub rings: Vec<Ring>,
    pub seconds: serde_json::Map<String, Value>,
    pub notes: serde_json::Map<String, Value>,
}

/// Runs the detectors, one progress phase each.
pub fn find_rings(graph: &Graph, search: &RingSearch, quiet: bool) -> Found {
    let mut phase: Option<Phase> = None;
    let detection = detect(graph, search, &mut |d: Detector| {
        if let Some(p) = phase.take() {
            p.finish();
        }
        phase = Some(Phase::start(quiet, d.as_str()));
    });
    if let Some(p) = phase.take() {
        p.finish();
    }
    let seconds = detection.seconds.iter().map(|(d, s)| (d.as_str().to_string(), json!(s))).collect();
    let mut notes = serde_json::Map::new();
    if let Some(skipped) = detection.identifiers_skipped_as_too_common {
        notes.insert("identifiers_skipped_as_too_common".into(), json!(skipped));
    }
    if let Some(truncated) = detection.cycle_searches_truncated {
        notes.insert("cycle_searches_truncated".into(), json!(truncated));
    }
    Found { rings: detection.rings, seconds, notes }
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
        .documented(&crate::dictionary::RINGS)?
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
        .documented(&crate::dictionary::RING_EDGES)?
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
        .documented(&crate::dictionary::RING_NODES)?
        .write(&nodes_path)?;
    Ok([rings_path, edges_path, nodes_path, cases_path].iter().map(|p| p.display().to_string()).collect())
}
