//! What `ekg serve` holds in memory: the graph, the score folder's alerts and rings (read once at
//! start, so a page never rereads a table), the feature dictionary, and a sorted name index for
//! search.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Result;
use arrow_array::cast::AsArray;
use ekg_schema::{Graph, NodeId, NodeKind, Relation};

use crate::query::{cell, read_all};

/// One row of flags.parquet.
pub struct Alert {
    pub node: Option<u32>,
    pub node_id: String,
    pub flag: String,
    pub severity: String,
    pub reason: String,
    pub ring_id: Option<String>,
    /// Since the previous night (`ekg score --previous`): new, changed or unchanged.
    pub change: Option<String>,
}

/// One row of rings.parquet, without its evidence.
pub struct RingRow {
    pub ring_id: String,
    pub case_id: Option<u64>,
    pub kind: String,
    pub score: f64,
    pub members: Vec<String>,
    pub explanation: String,
}

pub struct Workbench {
    pub graph: Graph,
    pub scores: Option<PathBuf>,
    /// Highest severity first, then by ring score, then by entity.
    pub alerts: Vec<Alert>,
    pub rings: Vec<RingRow>,
    /// Member id → positions in `rings`.
    pub rings_of: HashMap<String, Vec<usize>>,
    /// Node → positions in `alerts`: a page never scans the whole queue for one entity.
    pub alerts_of: HashMap<u32, Vec<usize>>,
    /// Feature column → its description (features.parquet field metadata).
    pub feature_docs: BTreeMap<String, String>,
    /// Firm names, lower-cased, sorted, with their node: prefix search by binary search.
    names: Vec<(String, u32)>,
    /// Firm and loan ids, sorted: id prefix search (persons' and accounts' ids are personal data
    /// and are found by the exact id only).
    ids: Vec<(String, u32)>,
}

pub fn severity_rank(severity: &str) -> u8 {
    match severity {
        "high" => 0,
        "medium" => 1,
        "low" => 2,
        _ => 3,
    }
}

impl Workbench {
    pub fn load(graph: Graph, scores: Option<&Path>) -> Result<Workbench> {
        let mut names: Vec<(String, u32)> = graph
            .kind_range(NodeKind::Firm)
            .filter_map(|f| {
                let name = graph.firms.name.get(f as usize);
                (!name.is_empty()).then(|| (name.to_lowercase(), f))
            })
            .collect();
        names.sort_unstable();
        let mut ids: Vec<(String, u32)> = [NodeKind::Firm, NodeKind::Loan]
            .iter()
            .flat_map(|&k| graph.kind_range(k))
            .map(|v| (graph.external_id(NodeId(v)).to_string(), v))
            .collect();
        ids.sort_unstable();
        let mut bench = Workbench {
            graph,
            scores: scores.map(Path::to_path_buf),
            alerts: Vec::new(),
            rings: Vec::new(),
            rings_of: HashMap::new(),
            alerts_of: HashMap::new(),
            feature_docs: BTreeMap::new(),
            names,
            ids,
        };
        if let Some(dir) = scores {
            bench.alerts = read_alerts(&bench.graph, &dir.join("flags.parquet"))?;
            mark_changes(&mut bench.alerts, &dir.join("changes.parquet"))?;
            bench.rings = read_rings(&dir.join("rings.parquet"))?;
            let score_of: HashMap<&str, f64> = bench.rings.iter().map(|r| (r.ring_id.as_str(), r.score)).collect();
            let ring_score = |a: &Alert| a.ring_id.as_deref().and_then(|r| score_of.get(r).copied()).unwrap_or(0.0);
            bench.alerts.sort_by(|a, b| {
                severity_rank(&a.severity)
                    .cmp(&severity_rank(&b.severity))
                    .then(ring_score(b).total_cmp(&ring_score(a)))
                    .then(a.node_id.cmp(&b.node_id))
                    .then(a.flag.cmp(&b.flag))
            });
            for (i, alert) in bench.alerts.iter().enumerate() {
                if let Some(v) = alert.node {
                    bench.alerts_of.entry(v).or_default().push(i);
                }
            }
            for (i, ring) in bench.rings.iter().enumerate() {
                for m in &ring.members {
                    bench.rings_of.entry(m.clone()).or_default().push(i);
                }
            }
            bench.feature_docs = feature_docs(&dir.join("features.parquet"))?;
        }
        Ok(bench)
    }

    /// The entity's flags, most severe first.
    pub fn alerts_of(&self, v: u32) -> impl Iterator<Item = &Alert> {
        self.alerts_of.get(&v).into_iter().flatten().map(|&i| &self.alerts[i])
    }

    pub fn name(&self, v: u32) -> Option<&str> {
        let node = NodeId(v);
        let name = match self.graph.kind(node) {
            NodeKind::Firm => self.graph.firms.name.get(v as usize),
            NodeKind::Person => self.graph.persons.name.get((v - self.graph.kind_range(NodeKind::Person).start) as usize),
            NodeKind::Account | NodeKind::Loan => "",
        };
        (!name.is_empty()).then_some(name)
    }

    pub fn industry(&self, v: u32) -> Option<&str> {
        (self.graph.kind(NodeId(v)) == NodeKind::Firm).then(|| self.graph.firms.industry.get(v as usize)).flatten()
    }

    pub fn region(&self, v: u32) -> Option<&str> {
        (self.graph.kind(NodeId(v)) == NodeKind::Firm).then(|| self.graph.firms.region.get(v as usize)).flatten()
    }

    pub fn defaulted(&self, v: u32) -> bool {
        self.graph.is_defaulted(NodeId(v))
    }

    /// The firm or person an account belongs to (the account itself otherwise): an alert on an
    /// account is about its owner's region and industry.
    pub fn owner(&self, v: u32) -> u32 {
        if self.graph.kind(NodeId(v)) == NodeKind::Account {
            if let Some(&o) = self.graph.relation(Relation::AccountOwner).reverse.neighbor_ids(NodeId(v)).first() {
                return o;
            }
        }
        v
    }

    /// What a drawing calls a node: its name, an account by its owner's name, else its id.
    pub fn label(&self, v: u32) -> String {
        if let Some(name) = self.name(v) {
            return name.to_string();
        }
        let owner = self.owner(v);
        match self.name(owner) {
            Some(name) if owner != v => format!("{name} (account)"),
            _ => self.graph.external_id(NodeId(v)).to_string(),
        }
    }

    /// Entities matching `query`: the exact id, then firm and loan ids starting with it, then firm
    /// names starting with it, then names containing it, and when none of these matched, names
    /// within a small edit distance (Jaro–Winkler ≥ 0.85); at most `limit`, each with how it matched.
    pub fn search(&self, query: &str, limit: usize) -> Vec<(u32, &'static str)> {
        let q = query.trim();
        let mut found: Vec<(u32, &'static str)> = Vec::new();
        if q.is_empty() {
            return found;
        }
        if let Some(v) = crate::pii::lookup(&self.graph, q) {
            found.push((v.0, "id"));
        }
        let start = self.ids.partition_point(|(id, _)| id.as_str() < q);
        for (id, v) in &self.ids[start..] {
            if found.len() >= limit || !id.starts_with(q) {
                break;
            }
            push_new(&mut found, *v, "id prefix");
        }
        let lower = q.to_lowercase();
        let start = self.names.partition_point(|(n, _)| n.as_str() < lower.as_str());
        for (name, f) in &self.names[start..] {
            if found.len() >= limit || !name.starts_with(&lower) {
                break;
            }
            push_new(&mut found, *f, "name prefix");
        }
        if found.len() < limit {
            for (name, f) in &self.names {
                if found.len() >= limit {
                    break;
                }
                if name.contains(&lower) {
                    push_new(&mut found, *f, "name");
                }
            }
        }
        // Similar names only when nothing else matched and the query reads as a name: the scan
        // compares every firm name.
        if found.is_empty() && lower.chars().count() >= 3 && lower.chars().any(char::is_alphabetic) {
            let mut close: Vec<(f64, u32)> = self
                .names
                .iter()
                .map(|(name, f)| (strsim::jaro_winkler(name, &lower), *f))
                .filter(|&(similarity, _)| similarity >= 0.85)
                .collect();
            close.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for (_, f) in close {
                if found.len() >= limit {
                    break;
                }
                push_new(&mut found, f, "similar name");
            }
        }
        found
    }
}

fn push_new(found: &mut Vec<(u32, &'static str)>, v: u32, how: &'static str) {
    if !found.iter().any(|&(u, _)| u == v) {
        found.push((v, how));
    }
}

fn read_alerts(graph: &Graph, path: &Path) -> Result<Vec<Alert>> {
    let mut out = Vec::new();
    if !path.is_file() {
        return Ok(out);
    }
    for batch in read_all(path)? {
        let schema = batch.schema();
        let col = |name: &str| schema.index_of(name).ok();
        let (Some(node), Some(flag), Some(severity), Some(reason)) = (col("node_id"), col("flag"), col("severity"), col("reason")) else {
            anyhow::bail!("{}: not an ekg flags table", path.display());
        };
        let ring = col("ring_id");
        for row in 0..batch.num_rows() {
            let node_id = cell(&batch, node, row).unwrap_or_default();
            out.push(Alert {
                node: crate::pii::lookup(graph, &node_id).map(|v| v.0),
                node_id,
                flag: cell(&batch, flag, row).unwrap_or_default(),
                severity: cell(&batch, severity, row).unwrap_or_default(),
                reason: cell(&batch, reason, row).unwrap_or_default(),
                ring_id: ring.and_then(|c| cell(&batch, c, row)),
                change: None,
            });
        }
    }
    Ok(out)
}

/// Each alert's change since the previous night, from changes.parquet when the scores have one:
/// flag rows match by (entity, flag, occurrence), as `ekg score --previous` made them.
fn mark_changes(alerts: &mut [Alert], path: &Path) -> Result<()> {
    if !path.is_file() {
        return Ok(());
    }
    let mut change_of: HashMap<(String, String, u32), String> = HashMap::new();
    let mut seen: HashMap<(String, String), u32> = HashMap::new();
    for batch in read_all(path)? {
        let schema = batch.schema();
        let col = |name: &str| schema.index_of(name).ok();
        let (Some(subject), Some(id), Some(node), Some(change)) = (col("subject"), col("subject_id"), col("node_id"), col("change")) else {
            anyhow::bail!("{}: not an ekg changes table", path.display());
        };
        for row in 0..batch.num_rows() {
            let (Some("flag"), Some(flag), Some(node), Some(change)) =
                (cell(&batch, subject, row).as_deref(), cell(&batch, id, row), cell(&batch, node, row), cell(&batch, change, row))
            else {
                continue;
            };
            if change == "gone" {
                continue;
            }
            let k = seen.entry((node.clone(), flag.clone())).or_insert(0);
            *k += 1;
            change_of.insert((node, flag, *k), change);
        }
    }
    let mut seen: HashMap<(String, String), u32> = HashMap::new();
    for a in alerts.iter_mut() {
        let k = seen.entry((a.node_id.clone(), a.flag.clone())).or_insert(0);
        *k += 1;
        a.change = change_of.remove(&(a.node_id.clone(), a.flag.clone(), *k));
    }
    Ok(())
}

fn read_rings(path: &Path) -> Result<Vec<RingRow>> {
    let mut out = Vec::new();
    if !path.is_file() {
        return Ok(out);
    }
    for batch in read_all(path)? {
        let schema = batch.schema();
        let col = |name: &str| schema.index_of(name).ok();
        let (Some(ring), Some(kind), Some(score), Some(members)) = (col("ring_id"), col("kind"), col("score"), col("members")) else {
            anyhow::bail!("{}: not an ekg rings table", path.display());
        };
        let Some(ids) = batch.column(ring).as_string_opt::<i32>() else {
            anyhow::bail!("{}: ring_id is not text (a table from an older ekg?)", path.display());
        };
        let lists = batch.column(members).as_list::<i32>();
        for row in 0..batch.num_rows() {
            let list = lists.value(row);
            out.push(RingRow {
                ring_id: ids.value(row).to_string(),
                case_id: col("case_id").and_then(|c| cell(&batch, c, row)).and_then(|c| c.parse().ok()),
                kind: cell(&batch, kind, row).unwrap_or_default(),
                score: cell(&batch, score, row).and_then(|s| s.parse().ok()).unwrap_or(f64::NAN),
                members: list.as_string::<i32>().iter().flatten().map(str::to_string).collect(),
                explanation: col("explanation").and_then(|c| cell(&batch, c, row)).unwrap_or_default(),
            });
        }
    }
    out.sort_by(|a, b| a.ring_id.cmp(&b.ring_id));
    Ok(out)
}

fn feature_docs(path: &Path) -> Result<BTreeMap<String, String>> {
    if !path.is_file() {
        return Ok(BTreeMap::new());
    }
    let file = std::fs::File::open(path)?;
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| anyhow::anyhow!("{}: not a Parquet table: {e}", path.display()))?;
    Ok(builder.schema().fields().iter().filter_map(|f| Some((f.name().clone(), f.metadata().get("description")?.clone()))).collect())
}
