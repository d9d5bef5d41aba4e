//! `ekg score --previous DIR`: what carries from last night's outputs to tonight's.
//!
//! - Rings keep their id while their kind and members stay (the id is a hash of both); a ring
//!   whose members changed continues the previous ring it overlaps most (Jaccard ≥ 0.5, same kind,
//!   one-to-one, best first) as `previous_ring_id`, and inherits its `first_seen`.
//! - Flags continue by (entity, flag).
//! - Communities and group customers take last night's ids by member overlap
//!   (`ekg_algorithms::continuity`).
//! - `changes.parquet` says, per ring, flag, community and group, whether it is new, changed,
//!   gone or unchanged, and what changed in a sentence.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Result;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use ekg_algorithms::continuity::{jaccard, shared_count, Carried, NO_LABEL};
use ekg_schema::Graph;
use serde_json::Value;

use crate::exit::{coded, DATA, NO_INPUT};
pub use crate::findings::RingHistory;
use crate::query::read_all;

/// A ring of last night's `rings.parquet`.
pub struct PreviousRing {
    pub id: String,
    pub kind: String,
    /// Ascending.
    pub members: Vec<String>,
    pub score: f64,
    pub first_seen: i64,
    pub nights_seen: u32,
}

/// A flag of last night's `flags.parquet`.
pub struct PreviousFlag {
    pub node_id: String,
    pub flag: String,
    pub severity: String,
    pub ring_id: Option<String>,
    pub first_seen: i64,
    pub nights_seen: u32,
}

/// Last night's labels (communities or groups) on tonight's nodes.
pub struct Labels {
    /// Per node of tonight's graph: its id last night, `NO_LABEL` when new or unlabelled.
    pub of_node: Vec<u32>,
    /// Every id last night had (also of entities gone since) and its size.
    pub sizes: BTreeMap<u32, u32>,
}

impl Labels {
    pub fn ids(&self) -> Vec<u32> {
        self.sizes.keys().copied().collect()
    }
}

pub struct Previous {
    pub dir: PathBuf,
    pub as_of: i64,
    /// Fingerprints of the reusable stages' inputs that night (`reuse.rs`).
    pub stage_inputs: BTreeMap<String, String>,
    /// The rows each stage reported that night, for a reused stage's.
    pub stage_rows: BTreeMap<String, u64>,
    /// That night's DebtRank total and distressed firms, for a reused DebtRank stage.
    pub debtrank_total: Option<f64>,
    pub debtrank_rows: u64,
    pub rings: Vec<PreviousRing>,
    pub flags: Vec<PreviousFlag>,
    pub communities: Option<Labels>,
    pub groups: Option<Labels>,
}

/// One row of `changes.parquet`.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub subject: &'static str,
    pub subject_id: String,
    pub node_id: Option<String>,
    pub change: &'static str,
    pub previous_id: Option<String>,
    pub what: String,
}

/// What a ring is tonight, for the comparison.
pub struct RingFacts<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    /// Ascending.
    pub members: Vec<String>,
    pub score: f64,
    /// A member firm (or a member account's owner) that defaulted since last night.
    pub newly_defaulted: Option<String>,
}

/// Tonight's rings for [`compare_rings`]: members as the outputs show them, and a member firm (or
/// a member account's owner) whose default falls after the previous night's as-of.
pub fn ring_facts<'a>(
    graph: &Graph,
    rings: &[ekg_algorithms::rings::Ring],
    ids: &'a [String],
    owner: &[u32],
    previous_as_of: i64,
) -> Vec<RingFacts<'a>> {
    let previous_day = previous_as_of.div_euclid(ekg_schema::MICROS_PER_DAY);
    let defaulted_since = |firm: u32| {
        let node = ekg_schema::NodeId(firm);
        graph.kind(node) == ekg_schema::NodeKind::Firm
            && graph.is_defaulted(node)
            && graph.firms.defaulted_on.get(firm as usize).is_some_and(|&d| d != ekg_schema::DATE_NULL && i64::from(d) > previous_day)
    };
    rings
        .iter()
        .zip(ids)
        .map(|(r, id)| {
            let mut members: Vec<String> = r.members.iter().map(|&m| graph.external_id(ekg_schema::NodeId(m)).to_string()).collect();
            members.sort_unstable();
            let newly_defaulted = r
                .members
                .iter()
                .flat_map(|&m| [m, owner.get(m as usize).copied().unwrap_or(ekg_algorithms::ownership::NONE)])
                .filter(|&v| v != ekg_algorithms::ownership::NONE)
                .find(|&v| defaulted_since(v))
                .map(|v| graph.external_id(ekg_schema::NodeId(v)).to_string());
            RingFacts { id, kind: r.kind.as_str(), members, score: r.score, newly_defaulted }
        })
        .collect()
}

/// Rings that overlap less than this are different rings.
const RING_JACCARD: f64 = 0.5;

fn read_error(path: &Path, what: impl std::fmt::Display) -> anyhow::Error {
    coded(DATA, format!("--previous: {}: {what}", path.display()))
}

fn column<'b>(batch: &'b RecordBatch, path: &Path, name: &str) -> Result<&'b ArrayRef> {
    let index = batch.schema().index_of(name).map_err(|_| read_error(path, format!("no column {name}")))?;
    Ok(batch.column(index))
}

fn optional_column<'b>(batch: &'b RecordBatch, name: &str) -> Option<&'b ArrayRef> {
    batch.schema().index_of(name).ok().map(|i| batch.column(i))
}

fn text_at(array: &ArrayRef, path: &Path, name: &str, row: usize) -> Result<Option<String>> {
    let values = array.as_string_opt::<i32>().ok_or_else(|| read_error(path, format!("column {name} is not text")))?;
    Ok(values.is_valid(row).then(|| values.value(row).to_string()))
}

impl Previous {
    /// Reads last night's folder; `graph` is tonight's (ids as the outputs show them).
    pub fn read(dir: &Path, graph: &Graph, as_of: i64) -> Result<Previous> {
        let manifest_path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&manifest_path)
            .map_err(|e| coded(NO_INPUT, format!("--previous: cannot read {}: {e}", manifest_path.display())))?;
        let manifest: Value = serde_json::from_str(&text).map_err(|_| read_error(&manifest_path, "not JSON"))?;
        let version = manifest.get("output_contract").and_then(Value::as_u64);
        if version != Some(u64::from(crate::dictionary::OUTPUT_CONTRACT)) {
            return Err(read_error(
                &manifest_path,
                format!(
                    "written under output contract {}, this ekg writes contract {}; score that night again with this ekg",
                    version.map_or("(none)".to_string(), |v| v.to_string()),
                    crate::dictionary::OUTPUT_CONTRACT
                ),
            ));
        }
        let previous_as_of =
            manifest.get("as_of_micros").and_then(Value::as_i64).ok_or_else(|| read_error(&manifest_path, "no as_of_micros"))?;
        if previous_as_of >= as_of {
            return Err(read_error(
                &manifest_path,
                format!(
                    "its as-of ({}) is not earlier than tonight's ({})",
                    manifest["as_of"].as_str().unwrap_or("?"),
                    chrono::DateTime::from_timestamp_micros(as_of).map(|t| t.to_rfc3339()).unwrap_or_default()
                ),
            ));
        }
        let stage_inputs = manifest
            .pointer("/summary/stage_inputs")
            .and_then(Value::as_object)
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default();
        Ok(Previous {
            dir: dir.to_path_buf(),
            as_of: previous_as_of,
            stage_inputs,
            stage_rows: manifest
                .get("stages")
                .and_then(Value::as_array)
                .map(|stages| {
                    stages.iter().filter_map(|x| Some((x.get("stage")?.as_str()?.to_string(), x.get("rows")?.as_u64()?))).collect()
                })
                .unwrap_or_default(),
            debtrank_total: manifest
                .pointer("/summary/debtrank_reuse/total_bits")
                .and_then(Value::as_str)
                .and_then(|bits| u64::from_str_radix(bits, 16).ok())
                .map(f64::from_bits),
            debtrank_rows: manifest.pointer("/summary/debtrank_reuse/rows").and_then(Value::as_u64).unwrap_or(0),
            rings: read_rings(&dir.join("rings.parquet"), previous_as_of)?,
            flags: read_flags(&dir.join("flags.parquet"), previous_as_of)?,
            communities: read_labels(&dir.join("communities.parquet"), "community", graph)?,
            groups: read_labels(&dir.join("groups.parquet"), "group_id", graph)?,
        })
    }
}

fn read_rings(path: &Path, previous_as_of: i64) -> Result<Vec<PreviousRing>> {
    let mut out = Vec::new();
    if !path.is_file() {
        return Ok(out);
    }
    for batch in read_all(path)? {
        let (ids, kinds, scores, members) = (
            column(&batch, path, "ring_id")?,
            column(&batch, path, "kind")?,
            column(&batch, path, "score")?,
            column(&batch, path, "members")?,
        );
        let scores = scores.as_primitive_opt::<arrow_array::types::Float64Type>().ok_or_else(|| read_error(path, "score is not f64"))?;
        let lists = members.as_list_opt::<i32>().ok_or_else(|| read_error(path, "members is not a list"))?;
        let first_seen =
            optional_column(&batch, "first_seen").and_then(|c| c.as_primitive_opt::<arrow_array::types::TimestampMicrosecondType>());
        let nights = optional_column(&batch, "nights_seen").and_then(|c| c.as_primitive_opt::<arrow_array::types::UInt32Type>());
        for row in 0..batch.num_rows() {
            let list = lists.value(row);
            let names = list.as_string_opt::<i32>().ok_or_else(|| read_error(path, "members are not text"))?;
            let mut members: Vec<String> = names.iter().flatten().map(str::to_string).collect();
            members.sort_unstable();
            out.push(PreviousRing {
                id: text_at(ids, path, "ring_id", row)?.ok_or_else(|| read_error(path, format!("row {row}: ring_id is null")))?,
                kind: text_at(kinds, path, "kind", row)?.unwrap_or_default(),
                members,
                score: scores.value(row),
                first_seen: first_seen.filter(|c| c.is_valid(row)).map_or(previous_as_of, |c| c.value(row)),
                nights_seen: nights.filter(|c| c.is_valid(row)).map_or(1, |c| c.value(row)),
            });
        }
    }
    Ok(out)
}

fn read_flags(path: &Path, previous_as_of: i64) -> Result<Vec<PreviousFlag>> {
    let mut out = Vec::new();
    if !path.is_file() {
        return Ok(out);
    }
    for batch in read_all(path)? {
        let (node, flag, severity) = (column(&batch, path, "node_id")?, column(&batch, path, "flag")?, column(&batch, path, "severity")?);
        let ring = optional_column(&batch, "ring_id");
        let first_seen =
            optional_column(&batch, "first_seen").and_then(|c| c.as_primitive_opt::<arrow_array::types::TimestampMicrosecondType>());
        let nights = optional_column(&batch, "nights_seen").and_then(|c| c.as_primitive_opt::<arrow_array::types::UInt32Type>());
        for row in 0..batch.num_rows() {
            out.push(PreviousFlag {
                node_id: text_at(node, path, "node_id", row)?.unwrap_or_default(),
                flag: text_at(flag, path, "flag", row)?.unwrap_or_default(),
                severity: text_at(severity, path, "severity", row)?.unwrap_or_default(),
                ring_id: match ring {
                    Some(r) => text_at(r, path, "ring_id", row)?,
                    None => None,
                },
                first_seen: first_seen.filter(|c| c.is_valid(row)).map_or(previous_as_of, |c| c.value(row)),
                nights_seen: nights.filter(|c| c.is_valid(row)).map_or(1, |c| c.value(row)),
            });
        }
    }
    Ok(out)
}

/// Last night's `node_id` → label on tonight's nodes; entities gone since count in the sizes only.
fn read_labels(path: &Path, label: &str, graph: &Graph) -> Result<Option<Labels>> {
    if !path.is_file() {
        return Ok(None);
    }
    let mut of_node = vec![NO_LABEL; graph.node_count()];
    let mut sizes: BTreeMap<u32, u32> = BTreeMap::new();
    for batch in read_all(path)? {
        let nodes = column(&batch, path, "node_id")?.as_string_opt::<i32>().ok_or_else(|| read_error(path, "node_id is not text"))?;
        let labels = column(&batch, path, label)?
            .as_primitive_opt::<arrow_array::types::UInt32Type>()
            .ok_or_else(|| read_error(path, format!("{label} is not u32")))?;
        for row in 0..batch.num_rows() {
            if !labels.is_valid(row) || !nodes.is_valid(row) {
                continue;
            }
            let id = labels.value(row);
            *sizes.entry(id).or_default() += 1;
            if let Some(v) = graph.lookup(nodes.value(row)) {
                of_node[v.index()] = id;
            }
        }
    }
    Ok(Some(Labels { of_node, sizes }))
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// "2 new members, 1 left" (empty when neither).
fn membership_change(arrived: usize, left: usize) -> Vec<String> {
    let mut parts = Vec::new();
    if arrived > 0 {
        parts.push(plural(arrived, "new member", "new members"));
    }
    if left > 0 {
        parts.push(format!("{left} left"));
    }
    parts
}

/// Scores differ beyond print precision.
fn score_moved(a: f64, b: f64) -> bool {
    (a - b).abs() > 5e-4 * a.abs().max(b.abs()).max(1e-9)
}

/// Tonight's rings against last night's: the history columns of `rings.parquet` and the ring rows
/// of `changes.parquet` (tonight's order, then the rings gone in last night's order).
pub fn compare_rings(current: &[RingFacts], previous: &[PreviousRing], as_of: i64) -> (RingHistory, Vec<Change>) {
    let mut history = RingHistory::first_night(current.len(), as_of);
    let mut continues: Vec<Option<usize>> = vec![None; current.len()];
    let mut taken = vec![false; previous.len()];
    // The same id: the same kind and members.
    let by_id: HashMap<&str, usize> = previous.iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
    for (c, ring) in current.iter().enumerate() {
        if let Some(&p) = by_id.get(ring.id) {
            continues[c] = Some(p);
            taken[p] = true;
        }
    }
    // Otherwise the previous ring of its kind it overlaps most, one to one, best pairs first.
    let mut holders: HashMap<&str, Vec<usize>> = HashMap::new();
    for (p, ring) in previous.iter().enumerate().filter(|(p, _)| !taken[*p]) {
        for m in &ring.members {
            holders.entry(m.as_str()).or_default().push(p);
        }
    }
    let mut candidates: Vec<(f64, usize, usize)> = Vec::new();
    for (c, ring) in current.iter().enumerate().filter(|(c, _)| continues[*c].is_none()) {
        let mut near: Vec<usize> = ring.members.iter().filter_map(|m| holders.get(m.as_str())).flatten().copied().collect();
        near.sort_unstable();
        near.dedup();
        for p in near.into_iter().filter(|&p| previous[p].kind == ring.kind) {
            let similarity = jaccard(&ring.members, &previous[p].members);
            if similarity >= RING_JACCARD {
                candidates.push((similarity, c, p));
            }
        }
    }
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(previous[a.2].id.cmp(&previous[b.2].id)).then(a.1.cmp(&b.1)));
    for (_, c, p) in candidates {
        if continues[c].is_none() && !taken[p] {
            continues[c] = Some(p);
            taken[p] = true;
        }
    }
    let mut changes = Vec::new();
    for (c, ring) in current.iter().enumerate() {
        let row = |change: &'static str, previous_id: Option<String>, what: String| Change {
            subject: "ring",
            subject_id: ring.id.to_string(),
            node_id: None,
            change,
            previous_id,
            what,
        };
        let Some(p) = continues[c] else {
            changes.push(row(
                "new",
                None,
                format!("new {} ring of {}, score {:.3}", ring.kind, plural(ring.members.len(), "member", "members"), ring.score),
            ));
            continue;
        };
        let before = &previous[p];
        history.first_seen[c] = before.first_seen.min(as_of);
        history.nights_seen[c] = before.nights_seen.saturating_add(1);
        let mut what = Vec::new();
        if before.id != ring.id {
            history.previous_id[c] = Some(before.id.clone());
            let shared = shared_count(&ring.members, &before.members);
            what.extend(membership_change(ring.members.len() - shared, before.members.len() - shared));
        }
        if score_moved(before.score, ring.score) {
            what.push(format!("score {:.3} → {:.3}", before.score, ring.score));
        }
        if let Some(firm) = &ring.newly_defaulted {
            what.push(format!("now includes a defaulted firm ({firm})"));
        }
        let change = if what.is_empty() { "unchanged" } else { "changed" };
        changes.push(row(change, Some(before.id.clone()), what.join("; ")));
    }
    for (_, ring) in previous.iter().enumerate().filter(|(p, _)| !taken[*p]) {
        changes.push(Change {
            subject: "ring",
            subject_id: ring.id.clone(),
            node_id: None,
            change: "gone",
            previous_id: Some(ring.id.clone()),
            what: format!("the {} ring of {} is no longer found", ring.kind, plural(ring.members.len(), "member", "members")),
        });
    }
    (history, changes)
}

/// What a flag is tonight, for the comparison.
pub struct FlagFacts<'a> {
    pub node_id: &'a str,
    pub flag: &'a str,
    pub severity: &'a str,
    pub ring_id: Option<&'a str>,
}

/// Tonight's flags against last night's, matched by (entity, flag, occurrence): first seen,
/// nights seen, and the flag rows of `changes.parquet`.
pub fn compare_flags(current: &[FlagFacts], previous: &[PreviousFlag], as_of: i64) -> (Vec<i64>, Vec<u32>, Vec<Change>) {
    let key_of = |node: &str, flag: &str, seen: &mut HashMap<(String, String), u32>| {
        let k = seen.entry((node.to_string(), flag.to_string())).or_insert(0);
        *k += 1;
        (node.to_string(), flag.to_string(), *k)
    };
    let mut seen = HashMap::new();
    let mut before: HashMap<(String, String, u32), usize> = HashMap::new();
    for (i, f) in previous.iter().enumerate() {
        before.insert(key_of(&f.node_id, &f.flag, &mut seen), i);
    }
    let mut seen = HashMap::new();
    let (mut first_seen, mut nights) = (vec![as_of; current.len()], vec![1u32; current.len()]);
    let mut taken = vec![false; previous.len()];
    let mut changes = Vec::new();
    for (c, flag) in current.iter().enumerate() {
        let row = |change: &'static str, what: String| Change {
            subject: "flag",
            subject_id: flag.flag.to_string(),
            node_id: Some(flag.node_id.to_string()),
            change,
            previous_id: None,
            what,
        };
        let Some(&p) = before.get(&key_of(flag.node_id, flag.flag, &mut seen)) else {
            changes.push(row("new", format!("new {} flag", flag.severity)));
            continue;
        };
        taken[p] = true;
        let was = &previous[p];
        first_seen[c] = was.first_seen.min(as_of);
        nights[c] = was.nights_seen.saturating_add(1);
        let mut what = Vec::new();
        if was.severity != flag.severity {
            what.push(format!("severity {} → {}", was.severity, flag.severity));
        }
        if was.ring_id.as_deref() != flag.ring_id {
            if let (Some(now), Some(then)) = (flag.ring_id, &was.ring_id) {
                what.push(format!("now ring {now} (was {then})"));
            }
        }
        let mut change = row(if what.is_empty() { "unchanged" } else { "changed" }, what.join("; "));
        change.previous_id = was.ring_id.clone();
        changes.push(change);
    }
    for (_, was) in previous.iter().enumerate().filter(|(p, _)| !taken[*p]) {
        changes.push(Change {
            subject: "flag",
            subject_id: was.flag.clone(),
            node_id: Some(was.node_id.clone()),
            change: "gone",
            previous_id: was.ring_id.clone(),
            what: format!("the {} flag is no longer raised", was.severity),
        });
    }
    (first_seen, nights, changes)
}

/// The community or group rows of `changes.parquet`: `sizes` are tonight's per current label;
/// with `skip_singletons`, labels of one member on both nights are left out (most firms are a
/// group of their own).
pub fn label_changes(subject: &'static str, carried: &Carried, sizes: &[u32], previous: &Labels, skip_singletons: bool) -> Vec<Change> {
    let mut out = Vec::new();
    let row = |id: u32, change: &'static str, previous_id: Option<u32>, what: String| Change {
        subject,
        subject_id: id.to_string(),
        node_id: None,
        change,
        previous_id: previous_id.map(|p| p.to_string()),
        what,
    };
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&c| carried.id[c]);
    for c in order {
        let (id, size) = (carried.id[c], sizes[c] as usize);
        match carried.matched[c] {
            None => {
                if !(skip_singletons && size <= 1) {
                    out.push(row(id, "new", None, format!("new, {}", plural(size, "member", "members"))));
                }
            }
            Some((p, overlap)) => {
                let before = previous.sizes.get(&p).copied().unwrap_or(0) as usize;
                if skip_singletons && size <= 1 && before <= 1 {
                    continue;
                }
                let what = membership_change(size - overlap as usize, before.saturating_sub(overlap as usize)).join(", ");
                out.push(row(id, if what.is_empty() { "unchanged" } else { "changed" }, Some(p), what));
            }
        }
    }
    for &p in &carried.gone {
        let before = previous.sizes.get(&p).copied().unwrap_or(0);
        if !(skip_singletons && before <= 1) {
            out.push(row(p, "gone", Some(p), format!("no longer found ({} last night)", plural(before as usize, "member", "members"))));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn previous_ring(id: &str, kind: &str, members: &[&str], score: f64, first_seen: i64, nights: u32) -> PreviousRing {
        PreviousRing {
            id: id.into(),
            kind: kind.into(),
            members: members.iter().map(|m| m.to_string()).collect(),
            score,
            first_seen,
            nights_seen: nights,
        }
    }

    fn ring<'a>(id: &'a str, kind: &'a str, members: &[&str], score: f64) -> RingFacts<'a> {
        RingFacts { id, kind, members: members.iter().map(|m| m.to_string()).collect(), score, newly_defaulted: None }
    }

    #[test]
    fn a_ring_that_gains_a_member_continues_the_old_one_and_a_near_miss_does_not() {
        let previous = vec![
            previous_ring("OLD", "fund_cycle", &["A1", "A2", "A3"], 1.0, 10, 4),
            previous_ring("SAME", "shared_identifier", &["F1", "F2"], 2.0, 20, 2),
            // Same members as tonight's NEW but another kind: never a match.
            previous_ring("OTHERKIND", "fan_in", &["B1", "B2", "B3"], 1.0, 10, 1),
            // Shares 1 of 3 with tonight's NEAR: Jaccard 1/5 < 0.5.
            previous_ring("FAR", "fund_cycle", &["C1", "C2", "C3"], 1.0, 10, 1),
        ];
        let current = vec![
            ring("GREW", "fund_cycle", &["A1", "A2", "A3", "A4"], 1.5),
            ring("SAME", "shared_identifier", &["F1", "F2"], 2.0),
            ring("NEW", "fund_cycle", &["B1", "B2", "B3"], 1.0),
            ring("NEAR", "fund_cycle", &["C1", "D2", "D3"], 1.0),
        ];
        let (history, changes) = compare_rings(&current, &previous, 100);
        assert_eq!(history.previous_id, vec![Some("OLD".to_string()), None, None, None]);
        assert_eq!(history.first_seen, vec![10, 20, 100, 100]);
        assert_eq!(history.nights_seen, vec![5, 3, 1, 1]);
        let summary: Vec<(&str, &str, &str)> = changes.iter().map(|c| (c.subject_id.as_str(), c.change, c.what.as_str())).collect();
        assert_eq!(
            summary,
            vec![
                ("GREW", "changed", "1 new member; score 1.000 → 1.500"),
                ("SAME", "unchanged", ""),
                ("NEW", "new", "new fund_cycle ring of 3 members, score 1.000"),
                ("NEAR", "new", "new fund_cycle ring of 3 members, score 1.000"),
                ("OTHERKIND", "gone", "the fan_in ring of 3 members is no longer found"),
                ("FAR", "gone", "the fund_cycle ring of 3 members is no longer found"),
            ]
        );
    }

    #[test]
    fn two_rings_near_one_old_ring_only_the_closer_continues_it() {
        let previous = vec![previous_ring("OLD", "fund_cycle", &["A1", "A2", "A3", "A4"], 1.0, 10, 1)];
        let mut grown = ring("GROWN", "fund_cycle", &["A1", "A2", "A3", "A4", "A5"], 1.0);
        grown.newly_defaulted = Some("F9".into());
        let current = vec![ring("SHRUNK", "fund_cycle", &["A1", "A2", "A3"], 1.0), grown];
        let (history, changes) = compare_rings(&current, &previous, 100);
        // Jaccard 3/4 against 4/5: the grown ring continues it.
        assert_eq!(history.previous_id, vec![None, Some("OLD".to_string())]);
        assert_eq!(changes[1].what, "1 new member; now includes a defaulted firm (F9)");
    }

    #[test]
    fn flags_continue_by_entity_and_flag() {
        let was = |node: &str, flag: &str, severity: &str| PreviousFlag {
            node_id: node.into(),
            flag: flag.into(),
            severity: severity.into(),
            ring_id: None,
            first_seen: 5,
            nights_seen: 3,
        };
        let previous = vec![was("F1", "fund_cycle", "high"), was("F2", "contagion_risk", "medium"), was("F3", "fan_in", "medium")];
        let now = |node_id, flag, severity| FlagFacts { node_id, flag, severity, ring_id: None };
        let current = vec![now("F1", "fund_cycle", "high"), now("F2", "contagion_risk", "high"), now("F4", "fan_in", "medium")];
        let (first, nights, changes) = compare_flags(&current, &previous, 9);
        assert_eq!(first, vec![5, 5, 9]);
        assert_eq!(nights, vec![4, 4, 1]);
        let summary: Vec<(Option<&str>, &str, &str)> = changes.iter().map(|c| (c.node_id.as_deref(), c.change, c.what.as_str())).collect();
        assert_eq!(
            summary,
            vec![
                (Some("F1"), "unchanged", ""),
                (Some("F2"), "changed", "severity medium → high"),
                (Some("F4"), "new", "new medium flag"),
                (Some("F3"), "gone", "the medium flag is no longer raised"),
            ]
        );
    }

    #[test]
    fn community_rows_say_who_arrived_and_left() {
        let previous = Labels { of_node: vec![], sizes: BTreeMap::from([(3, 4), (8, 1), (9, 2)]) };
        // Tonight: label 0 took 3 (3 of its 4 members, plus 2 new), label 1 took 9 unchanged,
        // label 2 is new; 8 is gone.
        let carried = Carried { id: vec![3, 9, 10], matched: vec![Some((3, 3)), Some((9, 2)), None], gone: vec![8] };
        let rows = label_changes("community", &carried, &[5, 2, 1], &previous, false);
        let summary: Vec<(&str, &str, &str)> = rows.iter().map(|c| (c.subject_id.as_str(), c.change, c.what.as_str())).collect();
        assert_eq!(
            summary,
            vec![
                ("3", "changed", "2 new members, 1 left"),
                ("9", "unchanged", ""),
                ("10", "new", "new, 1 member"),
                ("8", "gone", "no longer found (1 member last night)")
            ]
        );
        let groups = label_changes("group", &carried, &[5, 2, 1], &previous, true);
        assert_eq!(groups.len(), 2, "singletons on both nights are left out");
    }
}
