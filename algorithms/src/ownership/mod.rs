//! Ownership and control: integrated (indirect) ownership, ultimate beneficial owners, majority
//! control chains and actual controllers ([`ownership`]), and related-party group customers
//! ([`groups`]).
//!
//! Everything runs on a [`HoldingNetwork`]: for each firm, the list of its direct holders with
//! their shares. Node ids are the graph's: firms are `0..firms`, every other id (persons) is a
//! holder that nobody holds.

pub mod control;
pub mod groups;
pub mod integrated;
pub mod social;

pub use control::{ownership, ControlBasis, OwnershipConfig, OwnershipResult, UboTable};
pub use groups::{
    control_links, graph_groups, group_customers, legal_rep_links, mutual_guarantee_links, mutual_guarantees, GraphGroups, GroupLink,
    GroupLinks, GroupResult, LinkKind,
};

use ekg_schema::{Graph, NodeId, NodeKind, Relation};
use rayon::prelude::*;

use crate::components::scc::{condensation_of, Condensation};

/// Marks "no node" in node-valued result columns.
pub const NONE: u32 = u32::MAX;

/// Direct holdings, by held firm. Invariant: `holder_offsets.len() == firms + 1`; each list is
/// sorted by holder id; shares are in (0, 1].
#[derive(Clone, Debug, Default)]
pub struct HoldingNetwork {
    pub firms: u32,
    pub holder_offsets: Vec<u64>,
    pub holders: Vec<u32>,
    pub shares: Vec<f64>,
}

impl HoldingNetwork {
    /// The shareholdings relation of a graph.
    pub fn from_graph(graph: &Graph) -> HoldingNetwork {
        let firms = graph.kind_count(NodeKind::Firm) as u32;
        let store = graph.relation(Relation::Shareholding);
        let share = store.f64_attr("share").unwrap_or(&[]);
        let mut holder_offsets = Vec::with_capacity(firms as usize + 1);
        holder_offsets.push(0u64);
        let mut holders = Vec::with_capacity(store.edge_count());
        let mut shares = Vec::with_capacity(store.edge_count());
        let mut list: Vec<(u32, f64)> = Vec::new();
        for f in 0..firms {
            list.clear();
            let range = store.reverse.range(NodeId(f));
            for (i, h) in range.clone().zip(&store.reverse.targets()[range]) {
                let s = share.get(store.reverse_edge[i] as usize).copied().unwrap_or(f64::NAN);
                if s.is_finite() && s > 0.0 {
                    list.push((h.0, s.min(1.0)));
                }
            }
            list.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
            holders.extend(list.iter().map(|x| x.0));
            shares.extend(list.iter().map(|x| x.1));
            holder_offsets.push(holders.len() as u64);
        }
        HoldingNetwork { firms, holder_offsets, holders, shares }
    }

    /// From (holder, firm, share) triples; holders `>= firms` are persons (tests, other front ends).
    pub fn from_edges(firms: u32, edges: &[(u32, u32, f64)]) -> HoldingNetwork {
        let mut sorted: Vec<(u32, u32, f64)> = edges.iter().copied().filter(|e| e.1 < firms && e.2 > 0.0).collect();
        sorted.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)).then(a.2.total_cmp(&b.2)));
        let mut holder_offsets = vec![0u64; firms as usize + 1];
        for e in &sorted {
            holder_offsets[e.1 as usize + 1] += 1;
        }
        for i in 0..firms as usize {
            holder_offsets[i + 1] += holder_offsets[i];
        }
        HoldingNetwork {
            firms,
            holder_offsets,
            holders: sorted.iter().map(|e| e.0).collect(),
            shares: sorted.iter().map(|e| e.2.min(1.0)).collect(),
        }
    }

    #[inline]
    pub fn is_firm(&self, node: u32) -> bool {
        node < self.firms
    }

    /// (holder, share) of firm `f`; empty for non-firms.
    #[inline]
    pub fn holders_of(&self, f: u32) -> impl Iterator<Item = (u32, f64)> + '_ {
        let range =
            if f < self.firms { self.holder_offsets[f as usize] as usize..self.holder_offsets[f as usize + 1] as usize } else { 0..0 };
        self.holders[range.clone()].iter().copied().zip(self.shares[range].iter().copied())
    }

    pub fn holder_count(&self, f: u32) -> usize {
        if f < self.firms {
            (self.holder_offsets[f as usize + 1] - self.holder_offsets[f as usize]) as usize
        } else {
            0
        }
    }

    /// Strongly connected components of the firm-to-firm holdings (holder → held), holders'
    /// components first.
    pub fn firm_condensation(&self) -> Condensation {
        let n = self.firms as usize;
        let mut counts = vec![0u64; n + 1];
        for &h in self.holders.iter().filter(|&&h| h < self.firms) {
            counts[h as usize + 1] += 1;
        }
        for i in 0..n {
            counts[i + 1] += counts[i];
        }
        let mut fill = counts.clone();
        let mut held = vec![0u32; counts[n] as usize];
        for f in 0..self.firms {
            for (h, _) in self.holders_of(f) {
                if h < self.firms {
                    held[fill[h as usize] as usize] = f;
                    fill[h as usize] += 1;
                }
            }
        }
        condensation_of(n, |v| &held[counts[v as usize] as usize..counts[v as usize + 1] as usize])
    }
}

/// Variable-length node paths, flat: path `i` is `nodes[offsets[i]..offsets[i + 1]]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Paths {
    pub offsets: Vec<u64>,
    pub nodes: Vec<u32>,
}

impl Paths {
    pub fn new() -> Paths {
        Paths { offsets: vec![0], nodes: Vec::new() }
    }

    pub fn push(&mut self, path: &[u32]) {
        self.nodes.extend_from_slice(path);
        self.offsets.push(self.nodes.len() as u64);
    }

    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, i: usize) -> &[u32] {
        &self.nodes[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// Concatenates in order (chunk results of a parallel pass).
    pub fn append(&mut self, other: &Paths) {
        let base = self.nodes.len() as u64;
        self.nodes.extend_from_slice(&other.nodes);
        self.offsets.extend(other.offsets.iter().skip(1).map(|o| o + base));
    }
}

/// Splits `0..n` into fixed chunks processed in parallel, results in chunk order.
pub(crate) fn par_chunks_in_order<T: Send>(n: u32, chunk: u32, f: impl Fn(std::ops::Range<u32>) -> T + Sync) -> Vec<T> {
    let chunks = n.div_ceil(chunk.max(1));
    (0..chunks).into_par_iter().map(|c| f(c * chunk..((c + 1) * chunk).min(n))).collect()
}

/// The owner of each account (`NONE` for other nodes), from the account_owner relation.
pub fn account_owner(graph: &ekg_schema::Graph) -> Vec<u32> {
    use ekg_schema::{NodeId, NodeKind, Relation};
    let owners = graph.relation(Relation::AccountOwner);
    let mut out = vec![NONE; graph.node_count()];
    for a in graph.kind_range(NodeKind::Account) {
        if let Some(o) = owners.reverse.neighbor_ids(NodeId(a)).first() {
            out[a as usize] = *o;
        }
    }
    out
}
