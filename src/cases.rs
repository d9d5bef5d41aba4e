//! The review queue: rings merged into cases (one structure, one alert), each led by its most
//! specific ring above its kind's flag threshold, ranked within the lead's kind by score, and
//! marked `in_capacity` for the first `capacity` of each kind (a day's work of the team that
//! reviews that kind). Written as `cases.parquet` beside `rings.parquet`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use ekg_algorithms::rings::cases::{cases, Case, CaseConfig};
use ekg_algorithms::rings::{Ring, RingKind};
use ekg_schema::{Graph, NodeId};

use crate::table::Table;

/// Cases a team reviews a day, per lead kind, unless configured.
pub const DEFAULT_CAPACITY: usize = 50;

/// The score from which a ring flags its members and may lead a case, by kind (scores are
/// comparable within a kind only). Between planted rings and background noise on generated data
/// at 250k-2.25M firms; a fan's 6 is one chance burst per million accounts.
pub fn default_min_ring_score() -> BTreeMap<String, f64> {
    [
        ("dense_block", 0.75),
        ("fan_in", 6.0),
        ("fan_out", 6.0),
        ("fund_cycle", 0.4),
        ("scatter_gather", 3.0),
        ("gather_scatter", 6.0),
        ("shared_identifier", 2.0),
        ("loan_diversion", 0.3),
        ("guarantee_circle", 0.0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Which ring leads a case: the most specific typology first (a scatter-gather explains its fans
/// and the cycles inside it; a shared-identifier ring explains why its firms trade densely).
fn specificity(kind: RingKind) -> u8 {
    match kind {
        RingKind::ScatterGather => 0,
        RingKind::GatherScatter => 1,
        RingKind::FundCycle => 2,
        RingKind::LoanDiversion => 3,
        RingKind::SharedIdentifier => 4,
        RingKind::GuaranteeCircle => 5,
        RingKind::FanOut => 6,
        RingKind::FanIn => 7,
        RingKind::DenseBlock => 8,
    }
}

/// One case of the queue.
pub struct QueuedCase {
    pub case: Case,
    /// The ring that leads the case; `None` when no ring of it reaches its kind's threshold.
    pub lead: Option<u32>,
    /// Position in its lead kind's queue (0 = review first).
    pub rank: Option<u32>,
    pub in_capacity: bool,
}

/// The review queue of a run's rings.
#[derive(Default)]
pub struct Review {
    pub cases: Vec<QueuedCase>,
    /// Each ring's case.
    pub case_of: Vec<u32>,
}

/// The queue and each ring's case. `min_score` gives each kind's threshold (absent: 0).
pub fn queue(rings: &[Ring], owner: &[u32], min_score: &BTreeMap<String, f64>, capacity: usize) -> Review {
    let (found, case_of) = cases(rings, owner, &CaseConfig::default());
    let passes = |r: &Ring| r.score >= min_score.get(r.kind.as_str()).copied().unwrap_or(0.0);
    let mut queued: Vec<QueuedCase> = found
        .into_iter()
        .map(|case| {
            let lead = case.rings.iter().copied().filter(|&i| passes(&rings[i as usize])).min_by(|&a, &b| {
                let (x, y) = (&rings[a as usize], &rings[b as usize]);
                specificity(x.kind).cmp(&specificity(y.kind)).then(y.score.total_cmp(&x.score)).then(a.cmp(&b))
            });
            QueuedCase { case, lead, rank: None, in_capacity: false }
        })
        .collect();
    // Rank within each lead kind: highest lead score first, then case order.
    let mut order: Vec<usize> = (0..queued.len()).filter(|&c| queued[c].lead.is_some()).collect();
    let lead_of = |c: usize| &rings[queued[c].lead.unwrap_or(0) as usize];
    order.sort_by(|&a, &b| lead_of(a).kind.cmp(&lead_of(b).kind).then(lead_of(b).score.total_cmp(&lead_of(a).score)).then(a.cmp(&b)));
    let ranks: Vec<(usize, u32)> = order
        .chunk_by(|&a, &b| lead_of(a).kind == lead_of(b).kind)
        .flat_map(|group| group.iter().enumerate().map(|(rank, &c)| (c, rank as u32)))
        .collect();
    for (c, rank) in ranks {
        queued[c].rank = Some(rank);
        queued[c].in_capacity = (rank as usize) < capacity;
    }
    Review { cases: queued, case_of }
}

/// `cases.parquet`: one row per case, the queue's columns and the case's rings and entities.
pub fn write(
    graph: &Graph,
    rings: &[Ring],
    ring_ids: &[String],
    queue: &[QueuedCase],
    explanations: &[String],
    path: &Path,
) -> Result<usize> {
    let kinds = |q: &QueuedCase| {
        let mut k: Vec<RingKind> = q.case.rings.iter().map(|&i| rings[i as usize].kind).collect();
        k.sort();
        k.dedup();
        k.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",")
    };
    let kind_lists: Vec<String> = queue.iter().map(kinds).collect();
    let explanation = |q: &QueuedCase| -> Option<String> {
        let lead = q.lead?;
        let others = q.case.rings.len() - 1;
        let mut text = explanations[lead as usize].clone();
        if others > 0 {
            text += &format!(" (with {others} more ring{} of this structure)", if others == 1 { "" } else { "s" });
        }
        Some(text)
    };
    Table::new()
        .u64("case_id", 0..queue.len() as u64)
        .utf8_opt("lead_kind", queue.iter().map(|q| q.lead.map(|i| rings[i as usize].kind.as_str())))
        .u32_opt("rank", queue.iter().map(|q| q.rank))
        .bool("in_capacity", queue.iter().map(|q| q.in_capacity))
        .utf8_opt("lead_ring_id", queue.iter().map(|q| q.lead.map(|i| ring_ids[i as usize].as_str())))
        .f64_nan_null("lead_score", queue.iter().map(|q| q.lead.map_or(f64::NAN, |i| rings[i as usize].score)))
        .utf8("ring_kinds", kind_lists.iter().map(String::as_str))
        .utf8_list("ring_ids", queue.iter().map(|q| q.case.rings.iter().map(|&i| ring_ids[i as usize].as_str())))
        .u32("size", queue.iter().map(|q| q.case.entities.len() as u32))
        .utf8_list("entities", queue.iter().map(|q| q.case.entities.iter().map(|&e| graph.external_id(NodeId(e))).collect::<Vec<_>>()))
        .utf8_opt("explanation", queue.iter().map(explanation).collect::<Vec<_>>().iter().map(|e| e.as_deref()))
        .documented(&crate::dictionary::CASES)?
        .write(path)
}

/// Counts for the run summary and the manifest: cases, rings merged into another ring's case,
/// and queued cases per lead kind.
pub fn summary(rings: &[Ring], review: &Review) -> serde_json::Value {
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &review.cases {
        if let Some(lead) = c.lead {
            *by_kind.entry(rings[lead as usize].kind.as_str()).or_default() += 1;
        }
    }
    serde_json::json!({
        "cases": review.cases.len(),
        "rings_merged": rings.len() - review.cases.len(),
        "queued": by_kind.values().sum::<usize>(),
        "queued_by_lead_kind": by_kind,
        "in_capacity": review.cases.iter().filter(|c| c.in_capacity).count(),
    })
}
