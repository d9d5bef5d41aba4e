//! Fraud-ring detection: shared-identifier rings, time-respecting fund cycles, AML flow
//! typologies, dense transfer blocks, loan-fund diversion and guarantee circles. Each detector
//! returns [`Ring`]s with their evidence edges, sorted by score (then members), so the output is a
//! function of the graph and the config alone.

pub mod cases;
pub mod cycles;
pub mod dense;
pub mod detect;
pub mod diversion;
pub mod flows;
pub mod shared;

use ekg_schema::{Graph, NodeId, Relation, TS_NULL};

use crate::ownership::NONE;

/// What a ring is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RingKind {
    SharedIdentifier,
    FundCycle,
    FanIn,
    FanOut,
    ScatterGather,
    GatherScatter,
    DenseBlock,
    LoanDiversion,
    GuaranteeCircle,
}

impl RingKind {
    pub const ALL: [RingKind; 9] = [
        RingKind::SharedIdentifier,
        RingKind::FundCycle,
        RingKind::FanIn,
        RingKind::FanOut,
        RingKind::ScatterGather,
        RingKind::GatherScatter,
        RingKind::DenseBlock,
        RingKind::LoanDiversion,
        RingKind::GuaranteeCircle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RingKind::SharedIdentifier => "shared_identifier",
            RingKind::FundCycle => "fund_cycle",
            RingKind::FanIn => "fan_in",
            RingKind::FanOut => "fan_out",
            RingKind::ScatterGather => "scatter_gather",
            RingKind::GatherScatter => "gather_scatter",
            RingKind::DenseBlock => "dense_block",
            RingKind::LoanDiversion => "loan_diversion",
            RingKind::GuaranteeCircle => "guarantee_circle",
        }
    }

    pub fn parse(text: &str) -> Option<RingKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// The relation an evidence edge stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EvidenceKind {
    Transfer,
    /// Both ends carry the identifier value in `identifier` (an index into the identifier store).
    SharedIdentifier,
    /// Both ends have the person `identifier` as legal representative.
    SharedLegalRep,
    Guarantee,
    /// A loan's disbursement into its deposit account.
    Disbursement,
}

impl EvidenceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::Transfer => "transfer",
            EvidenceKind::SharedIdentifier => "shared_identifier",
            EvidenceKind::SharedLegalRep => "shared_legal_rep",
            EvidenceKind::Guarantee => "guarantee",
            EvidenceKind::Disbursement => "disbursement",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evidence {
    pub src: u32,
    pub dst: u32,
    pub kind: EvidenceKind,
    /// NaN when not applicable.
    pub amount: f64,
    /// `TS_NULL` when not applicable.
    pub ts: i64,
    /// Identifier value index or legal-representative node; `NONE` otherwise.
    pub identifier: u32,
}

impl Evidence {
    pub fn transfer(t: &Transfers, e: usize) -> Evidence {
        Evidence { src: t.src(e), dst: t.dst(e), kind: EvidenceKind::Transfer, amount: t.amount(e), ts: t.ts(e), identifier: NONE }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ring {
    pub kind: RingKind,
    /// Higher is more suspicious; comparable within a kind.
    pub score: f64,
    /// Node ids, ascending.
    pub members: Vec<u32>,
    /// Time order (untimed evidence first).
    pub evidence: Vec<Evidence>,
    /// Σ of the ring's money in motion, NaN when the kind has none.
    pub total_amount: f64,
    /// Fans: payments like the burst's (similar amounts, same side) the centre makes or receives
    /// a day at its own usual rate, outside the burst; NaN for other kinds.
    pub background_per_day: f64,
}

impl Ring {
    /// Sorts members and evidence into their canonical order.
    pub fn new(kind: RingKind, score: f64, mut members: Vec<u32>, mut evidence: Vec<Evidence>, total_amount: f64) -> Ring {
        members.sort_unstable();
        members.dedup();
        evidence.sort_by(|a, b| a.ts.cmp(&b.ts).then(a.src.cmp(&b.src)).then(a.dst.cmp(&b.dst)).then(a.amount.total_cmp(&b.amount)));
        evidence.dedup();
        Ring { kind, score, members, evidence, total_amount, background_per_day: f64::NAN }
    }

    pub fn first_ts(&self) -> i64 {
        self.evidence.iter().map(|e| e.ts).filter(|&t| t != TS_NULL).min().unwrap_or(TS_NULL)
    }

    pub fn last_ts(&self) -> i64 {
        self.evidence.iter().map(|e| e.ts).filter(|&t| t != TS_NULL).max().unwrap_or(TS_NULL)
    }
}

/// Highest score first, then kind and members: a total order, so outputs are reproducible.
pub fn sort_rings(rings: &mut [Ring]) {
    rings.sort_by(|a, b| a.kind.cmp(&b.kind).then(b.score.total_cmp(&a.score)).then(a.members.cmp(&b.members)));
}

/// The transfers relation with its attributes: forward positions are edge ids; both directions
/// are sorted by time (a graph invariant).
pub struct Transfers<'g> {
    store: &'g ekg_schema::graph::RelationStore,
    amount: &'g [f64],
    ts: &'g [i64],
}

impl<'g> Transfers<'g> {
    pub fn new(graph: &'g Graph) -> Transfers<'g> {
        let store = graph.relation(Relation::Transfer);
        let amount = store.f64_attr("amount").unwrap_or(&[]);
        let ts = store.attr("ts").and_then(|c| c.as_i64()).unwrap_or(&[]);
        Transfers { store, amount, ts }
    }

    pub fn edge_count(&self) -> usize {
        self.store.edge_count()
    }

    /// Forward edge ids leaving `v`, in time order.
    #[inline]
    pub fn out_edges(&self, v: u32) -> std::ops::Range<usize> {
        self.store.forward.range(NodeId(v))
    }

    /// Forward edge ids entering `v`, in time order.
    #[inline]
    pub fn in_edges(&self, v: u32) -> impl Iterator<Item = usize> + '_ {
        self.store.reverse.range(NodeId(v)).map(|i| self.store.reverse_edge[i] as usize)
    }

    /// Transfers entering `v`, counted from the reverse CSR's offsets.
    #[inline]
    pub fn in_degree(&self, v: u32) -> usize {
        self.store.reverse.range(NodeId(v)).len()
    }

    /// Sources of the edges entering `v`, in time order.
    #[inline]
    pub fn in_ids(&self, v: u32) -> &[u32] {
        self.store.reverse.neighbor_ids(NodeId(v))
    }

    /// (source, forward edge id) of the edges entering `v`, in time order: the source comes from
    /// the reverse CSR, no search.
    #[inline]
    pub fn in_edges_with_source(&self, v: u32) -> impl Iterator<Item = (u32, usize)> + '_ {
        let range = self.store.reverse.range(NodeId(v));
        self.store.reverse.targets()[range.clone()].iter().zip(range).map(|(s, i)| (s.0, self.store.reverse_edge[i] as usize))
    }

    #[inline]
    pub fn dst(&self, e: usize) -> u32 {
        self.store.forward.targets()[e].0
    }

    /// The source of forward edge `e` (a binary search over the offsets; per-edge loops over a
    /// node's in-edges use [`Transfers::in_edges_with_source`] instead).
    pub fn src(&self, e: usize) -> u32 {
        let offsets = self.store.forward.offsets();
        let row = offsets.partition_point(|&o| o as usize <= e).saturating_sub(1);
        self.store.forward.row_start() + row as u32
    }

    #[inline]
    pub fn amount(&self, e: usize) -> f64 {
        self.amount.get(e).copied().unwrap_or(f64::NAN)
    }

    #[inline]
    pub fn ts(&self, e: usize) -> i64 {
        self.ts.get(e).copied().unwrap_or(TS_NULL)
    }

    /// The times of edges `range` (empty when the relation has no times).
    #[inline]
    pub fn ts_slice(&self, range: std::ops::Range<usize>) -> &[i64] {
        self.ts.get(range).unwrap_or(&[])
    }

    pub fn node_count(&self) -> usize {
        self.store.forward.row_start() as usize + self.store.forward.rows()
    }

    /// Out-neighbours as raw ids (time order), for graph searches.
    pub fn out_ids(&self, v: u32) -> &[u32] {
        self.store.forward.neighbor_ids(NodeId(v))
    }
}

/// Amounts within this relative difference count as the same money (fund cycles, flows).
pub const DEFAULT_AMOUNT_TOLERANCE: f64 = 0.2;

/// |a − b| ≤ tolerance × max(a, b): amounts "within 20% of each other".
#[inline]
pub fn similar(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance * a.max(b)
}

/// Jaccard similarity of two ascending id lists; 0 for two empty lists (nothing matches nothing).
pub fn jaccard(a: &[u32], b: &[u32]) -> f64 {
    let common = crate::continuity::shared_count(a, b);
    let union = a.len() + b.len() - common;
    if union == 0 {
        0.0
    } else {
        common as f64 / union as f64
    }
}

/// Recall and precision of reported rings against planted ones of one kind: a planted ring is
/// recalled when some reported ring has member Jaccard ≥ 0.5 with it; precision is over the
/// top-N reported rings by score, N = the number planted.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Recovery {
    pub planted: usize,
    pub reported: usize,
    pub recalled: usize,
    pub recall: f64,
    pub top_n: usize,
    pub top_n_matched: usize,
    pub precision: f64,
}

/// `reported` sorted by score descending; member lists ascending.
pub fn recovery(planted: &[Vec<u32>], reported: &[&[u32]]) -> Recovery {
    let matches = |r: &[u32], p: &[u32]| jaccard(r, p) >= 0.5;
    let recalled = planted.iter().filter(|p| reported.iter().any(|r| matches(r, p))).count();
    let top_n = planted.len().min(reported.len());
    let top_n_matched = reported[..top_n].iter().filter(|r| planted.iter().any(|p| matches(r, p))).count();
    Recovery {
        planted: planted.len(),
        reported: reported.len(),
        recalled,
        recall: if planted.is_empty() { 1.0 } else { recalled as f64 / planted.len() as f64 },
        top_n,
        top_n_matched,
        precision: if top_n == 0 { 1.0 } else { top_n_matched as f64 / top_n as f64 },
    }
}
