//! Ring findings as `ekg run rings` and `ekg score` both produce them: the detectors run with
//! progress, their times and notes as JSON, and the tables `rings.parquet`, `ring_edges.parquet`,
//! `ring_nodes.parquet` and the review queue's `cases.parquet`; and the rings' stable ids.

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

/// Tonight's rings, in their order: when each (or the ring it continues) was first seen, on how
/// many nights, and the previous ring it continues under another id.
pub struct RingHistory {
    pub first_seen: Vec<i64>,
    pub nights_seen: Vec<u32>,
    pub previous_id: Vec<Option<String>>,
}

impl RingHistory {
    /// The first night of every ring.
    pub fn first_night(count: usize, as_of: i64) -> RingHistory {
        RingHistory { first_seen: vec![as_of; count], nights_seen: vec![1; count], previous_id: vec![None; count] }
    }
}

/// Crockford's base32: no I, L, O or U, so an id read aloud or retyped is not misread.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Fixed for ever: changing it renames every ring a bank has on file.
const RING_ID_SEED: u64 = u64::from_le_bytes(*b"ekg_ring");
/// 64 bits in base32: 13 characters.
const RING_ID_LEN: usize = 13;

/// Each ring's id: a keyed 64-bit hash (XXH3) of its kind and its members' external ids in
/// sorted order, printed in 13 base32 characters. The same ring has the same id on any night, any
/// thread count and any input order; a ring whose members change gets a new id. Rings of one kind
/// with the same members (two cycles through the same accounts) take `-2`, `-3`, ... in the
/// canonical ring order.
pub fn ring_ids(graph: &Graph, rings: &[Ring]) -> Vec<String> {
    let mut seen: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
    rings
        .iter()
        .map(|r| {
            let hash = ring_hash(r.kind.as_str(), r.members.iter().map(|&m| graph.external_id(NodeId(m))));
            let occurrence = seen.entry(hash).or_insert(0);
            *occurrence += 1;
            let id = encode_ring_hash(hash);
            if *occurrence == 1 {
                id
            } else {
                format!("{id}-{occurrence}")
            }
        })
        .collect()
}

/// The hash behind a ring id: kind and sorted member ids, each ended by a NUL (ids cannot hold one).
pub fn ring_hash<'a>(kind: &str, members: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut members: Vec<&str> = members.into_iter().collect();
    members.sort_unstable();
    let mut bytes = Vec::with_capacity(kind.len() + 1 + members.iter().map(|m| m.len() + 1).sum::<usize>());
    for part in std::iter::once(kind).chain(members) {
        bytes.extend_from_slice(part.as_bytes());
        bytes.push(0);
    }
    xxhash_rust::xxh3::xxh3_64_with_seed(&bytes, RING_ID_SEED)
}

/// Fixed for ever, as [`RING_ID_SEED`]: changing it redraws every firm's cascades.
const DRAW_KEY_SEED: u64 = u64::from_le_bytes(*b"ekg_draw");

/// Each firm's key for the Monte Carlo draws: a keyed hash (XXH3) of its external id, so its
/// draws follow the firm, not its row, from one input order or one night to the next.
pub fn firm_draw_keys(graph: &Graph) -> Vec<u64> {
    graph
        .kind_range(ekg_schema::NodeKind::Firm)
        .map(|f| xxhash_rust::xxh3::xxh3_64_with_seed(graph.external_id(NodeId(f)).as_bytes(), DRAW_KEY_SEED))
        .collect()
}

fn encode_ring_hash(hash: u64) -> String {
    (0..RING_ID_LEN).rev().map(|k| CROCKFORD[((hash >> (k * 5)) & 31) as usize] as char).collect()
}

/// Whether `text` has the shape of a ring id (13 base32 characters, an optional `-N`).
pub fn is_ring_id(text: &str) -> bool {
    let (head, tail) = text.split_once('-').unwrap_or((text, "1"));
    head.len() == RING_ID_LEN
        && head.bytes().all(|b| CROCKFORD.contains(&b))
        && !tail.is_empty()
        && tail.bytes().all(|b| b.is_ascii_digit())
        // The first character holds the hash's top 4 bits only.
        && head.as_bytes()[0] <= b'F'
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
/// `history`: when each ring was first seen (`ekg score`); `None` leaves those columns null.
pub fn write_rings(
    graph: &Graph,
    rings: &[Ring],
    ring_ids: &[String],
    history: Option<&RingHistory>,
    review: &Review,
    out: &Path,
) -> Result<Vec<String>> {
    let id = |v: u32| graph.external_id(NodeId(v));
    let opt_ts = |t: i64| (t != TS_NULL).then_some(t);
    let rings_path = out.join("rings.parquet");
    let explanations: Vec<String> = rings.iter().map(|r| crate::explain::explain(graph, r)).collect();
    let cases_path = out.join("cases.parquet");
    crate::cases::write(graph, rings, ring_ids, &review.cases, &explanations, &cases_path)?;
    Table::new()
        .utf8("ring_id", ring_ids.iter().map(String::as_str))
        .u64("case_id", review.case_of.iter().map(|&c| u64::from(c)))
        .utf8("kind", rings.iter().map(|r| r.kind.as_str()))
        .f64("score", &rings.iter().map(|r| r.score).collect::<Vec<_>>())
        .u32("size", rings.iter().map(|r| r.members.len() as u32))
        .utf8_list("members", rings.iter().map(|r| r.members.iter().map(|&m| id(m)).collect::<Vec<_>>()))
        .timestamp_opt("first_ts", rings.iter().map(|r| opt_ts(r.first_ts())))
        .timestamp_opt("last_ts", rings.iter().map(|r| opt_ts(r.last_ts())))
        .f64_nan_null("total_amount", rings.iter().map(|r| r.total_amount))
        .utf8("explanation", explanations.iter().map(String::as_str))
        .timestamp_opt("first_seen", (0..rings.len()).map(|i| history.map(|h| h.first_seen[i])))
        .u32_opt("nights_seen", (0..rings.len()).map(|i| history.map(|h| h.nights_seen[i])))
        .utf8_opt("previous_ring_id", (0..rings.len()).map(|i| history.and_then(|h| h.previous_id[i].as_deref())))
        .documented(&crate::dictionary::RINGS)?
        .write(&rings_path)?;
    let edges: Vec<(&str, &Evidence)> =
        rings.iter().zip(ring_ids).flat_map(|(r, ring)| r.evidence.iter().map(move |e| (ring.as_str(), e))).collect();
    let edges_path = out.join("ring_edges.parquet");
    Table::new()
        .utf8("ring_id", edges.iter().map(|x| x.0))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_ids_depend_on_kind_and_member_set_only() {
        let a = ring_hash("fund_cycle", ["A1", "A2", "A3"]);
        assert_eq!(a, ring_hash("fund_cycle", ["A3", "A1", "A2"]), "member order does not matter");
        assert_ne!(a, ring_hash("fan_in", ["A1", "A2", "A3"]), "the kind does");
        assert_ne!(a, ring_hash("fund_cycle", ["A1", "A2", "A3", "A4"]), "a new member does");
        // NUL separators: ("A1","A23") and ("A12","A3") are different rings.
        assert_ne!(ring_hash("fund_cycle", ["A1", "A23"]), ring_hash("fund_cycle", ["A12", "A3"]));
        let id = encode_ring_hash(a);
        assert_eq!(id.len(), RING_ID_LEN);
        assert!(is_ring_id(&id) && is_ring_id(&format!("{id}-2")), "{id}");
        assert_eq!(encode_ring_hash(0), "0000000000000");
        assert_eq!(encode_ring_hash(u64::MAX), "FZZZZZZZZZZZZ");
        for bad in ["", "12", "0000000000000-", "000000000000I", "G000000000000", "0000000000000-x", "00000000000000"] {
            assert!(!is_ring_id(bad), "{bad}");
        }
    }

    /// The id of a known ring is fixed for ever: it is what a bank has on file. The value is the
    /// Python `xxhash` package's (PyPI, the C reference implementation) on the same bytes:
    /// `xxh3_64_intdigest(b"shared_identifier\0F000001\0F000002\0", int.from_bytes(b"ekg_ring", "little"))`
    /// in Crockford base32.
    #[test]
    fn the_ring_id_function_never_changes() {
        assert_eq!(encode_ring_hash(ring_hash("shared_identifier", ["F000001", "F000002"])), "FDPJ4W7P0BHF4");
    }
}
