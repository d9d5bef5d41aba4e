//! The view an algorithm runs on: a chosen set of relations, directed or undirected, optionally
//! weighted, over a dense local id space.
//!
//! The node set is every node of the kinds the chosen relations connect (transfers between
//! accounts → every account, including those without a transfer), so unrelated kinds never absorb
//! rank. Local ids keep graph order (kind by kind, by external id), so results map back by a table
//! lookup and ties broken by local id are ties broken by external id, never by row order. Parallel edges are kept as
//! multiplicity (their weights add up); self-loops are kept and each algorithm documents how it
//! treats them. Each list is sorted by neighbour, so the projection is identical for any thread
//! count.
//!
//! Invariant: `out_offsets.len() == in_offsets.len() == n + 1`; `out_targets[out_offsets[v]..
//! out_offsets[v + 1]]` are the out-neighbours of local node `v`, sorted; in an undirected
//! projection the in- and out-lists are the same lists.

use ekg_schema::{Graph, KindSet, NodeId, Relation};
use rayon::prelude::*;

/// The firm-level "risk network": who owns, runs, guarantees and supplies whom (risk rank,
/// communities, structure, prospects).
pub const RISK_RELATIONS: [Relation; 4] = [Relation::Shareholding, Relation::Officer, Relation::Guarantee, Relation::Supply];

/// Which relations, and how to view them.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectionConfig {
    pub relations: Vec<Relation>,
    /// Each edge is followed in both directions.
    pub undirected: bool,
    /// Use the relation's amount / share / volume as the edge weight (1 where it has none or the
    /// value is missing).
    pub weighted: bool,
}

impl ProjectionConfig {
    pub fn new(relations: &[Relation]) -> Self {
        ProjectionConfig { relations: relations.to_vec(), undirected: false, weighted: false }
    }
}

/// A compact adjacency over local ids `0..n`.
#[derive(Clone, Debug, Default)]
pub struct Projection {
    /// Local id → graph node.
    pub nodes: Vec<NodeId>,
    pub out_offsets: Vec<u64>,
    pub out_targets: Vec<u32>,
    pub out_weights: Option<Vec<f64>>,
    /// Incoming lists of a directed projection; empty when undirected, whose incoming lists are
    /// its outgoing ones, stored once (see [`Projection::in_sources`]).
    in_offsets: Vec<u64>,
    in_sources: Vec<u32>,
    in_weights: Option<Vec<f64>>,
    pub undirected: bool,
}

impl Projection {
    /// Builds the view of `graph` described by `config`.
    ///
    /// # Complexity
    /// O(n + m log d) work, parallel over nodes.
    pub fn new(graph: &Graph, config: &ProjectionConfig) -> Projection {
        let mut kinds = KindSet::EMPTY;
        for r in &config.relations {
            let (s, d) = r.endpoint_kinds();
            kinds = kinds.union(s).union(d);
        }
        let mut nodes = Vec::new();
        // local_base[k] = local id of the first node of kind k (if the kind is in the set).
        let mut local_base = [u32::MAX; 4];
        for kind in kinds.iter() {
            local_base[kind as usize] = nodes.len() as u32;
            nodes.extend(graph.kind_range(kind).map(NodeId));
        }
        let local = |v: NodeId| -> u32 {
            let kind = graph.kind(v);
            local_base[kind as usize] + (v.0 - graph.kind_range(kind).start)
        };
        // Visits the edges of `v` in one direction (both when undirected) as (local id, weight).
        let visit = |v: NodeId, outgoing: bool, f: &mut dyn FnMut(u32, f64)| {
            for &r in &config.relations {
                let store = graph.relation(r);
                let weights = if config.weighted { r.weight_attr().and_then(|a| store.f64_attr(a)) } else { None };
                let weight = |e: usize| weights.map(|w| w[e]).filter(|w| w.is_finite() && *w > 0.0).unwrap_or(1.0);
                if config.undirected || outgoing {
                    let range = store.forward.range(v);
                    for (e, t) in range.clone().zip(&store.forward.targets()[range]) {
                        f(local(*t), weight(e));
                    }
                }
                if config.undirected || !outgoing {
                    let range = store.reverse.range(v);
                    for (i, s) in range.clone().zip(&store.reverse.targets()[range]) {
                        f(local(*s), weight(store.reverse_edge[i] as usize));
                    }
                }
            }
        };
        // Two passes, no per-node allocation: degrees → offsets, then each block of nodes fills
        // its own contiguous slice and sorts each list by (neighbour, weight).
        let build = |outgoing: bool| -> (Vec<u64>, Vec<u32>, Option<Vec<f64>>) {
            // Every edge of a visited range counts, so a degree is the ranges' lengths: no pass
            // over the edges themselves.
            let degrees: Vec<u64> = nodes
                .par_iter()
                .map(|&v| {
                    let mut d = 0usize;
                    for &r in &config.relations {
                        let store = graph.relation(r);
                        if config.undirected || outgoing {
                            d += store.forward.range(v).len();
                        }
                        if config.undirected || !outgoing {
                            d += store.reverse.range(v).len();
                        }
                    }
                    d as u64
                })
                .collect();
            let offsets = prefix_offsets(&degrees);
            let m = offsets[nodes.len()] as usize;
            let mut targets = vec![0u32; m];
            let mut weights = vec![0f64; if config.weighted { m } else { 0 }];
            const BLOCK: usize = 4096;
            let mut jobs = Vec::with_capacity(nodes.len() / BLOCK + 1);
            let (mut t_rest, mut w_rest) = (&mut targets[..], &mut weights[..]);
            for start in (0..nodes.len()).step_by(BLOCK) {
                let end = (start + BLOCK).min(nodes.len());
                let len = (offsets[end] - offsets[start]) as usize;
                let (t, tr) = t_rest.split_at_mut(len);
                let (w, wr) = w_rest.split_at_mut(if config.weighted { len } else { 0 });
                jobs.push((start, end, t, w));
                t_rest = tr;
                w_rest = wr;
            }
            jobs.into_par_iter().for_each(|(start, end, t, w)| {
                let base = offsets[start] as usize;
                let mut pairs: Vec<(u32, f64)> = Vec::new();
                for i in start..end {
                    pairs.clear();
                    visit(nodes[i], outgoing, &mut |u, x| pairs.push((u, x)));
                    let order = |a: &(u32, f64), b: &(u32, f64)| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1));
                    // A single relation's list usually arrives sorted by neighbour already.
                    if !pairs.is_sorted_by(|a, b| order(a, b).is_le()) {
                        pairs.sort_by(order);
                    }
                    let at = offsets[i] as usize - base;
                    for (k, (u, x)) in pairs.iter().enumerate() {
                        t[at + k] = *u;
                        if !w.is_empty() {
                            w[at + k] = *x;
                        }
                    }
                }
            });
            (offsets, targets, config.weighted.then_some(weights))
        };
        let (out_offsets, out_targets, out_weights) = build(true);
        let (in_offsets, in_sources, in_weights) = if config.undirected { (Vec::new(), Vec::new(), None) } else { build(false) };
        Projection { nodes, out_offsets, out_targets, out_weights, in_offsets, in_sources, in_weights, undirected: config.undirected }
    }

    /// A projection straight from edge lists over `0..n` (industrial clusters, tests, benchmarks,
    /// other front ends). Lists are sorted by neighbour, then weight; built by sorting, with no
    /// per-node allocation.
    pub fn from_edges(n: usize, edges: &[(u32, u32, f64)], undirected: bool, weighted: bool) -> Projection {
        use rayon::prelude::*;
        let finish = |mut arcs: Vec<(u32, u32, f64)>| {
            arcs.par_sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)));
            let mut offsets = vec![0u64; n + 1];
            for &(s, _, _) in &arcs {
                offsets[s as usize + 1] += 1;
            }
            for v in 0..n {
                offsets[v + 1] += offsets[v];
            }
            let targets: Vec<u32> = arcs.iter().map(|a| a.1).collect();
            let weights: Option<Vec<f64>> = weighted.then(|| arcs.iter().map(|a| a.2).collect());
            (offsets, targets, weights)
        };
        let forward: Vec<(u32, u32, f64)> =
            if undirected { edges.iter().flat_map(|&(s, d, w)| [(s, d, w), (d, s, w)]).collect() } else { edges.to_vec() };
        let (out_offsets, out_targets, out_weights) = finish(forward);
        let (in_offsets, in_sources, in_weights) =
            if undirected { (Vec::new(), Vec::new(), None) } else { finish(edges.iter().map(|&(s, d, w)| (d, s, w)).collect()) };
        Projection {
            nodes: (0..n as u32).map(NodeId).collect(),
            out_offsets,
            out_targets,
            out_weights,
            in_offsets,
            in_sources,
            in_weights,
            undirected,
        }
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn edge_count(&self) -> usize {
        self.out_targets.len()
    }

    /// Frees the outgoing lists' targets and weights of a directed projection (an undirected
    /// one's are its incoming lists too, and stay); the out-offsets, so the out-degrees, stay.
    /// For a caller done with them whose memory is wanted for what it builds next.
    pub fn release_out_lists(&mut self) {
        if !self.undirected {
            self.out_targets = Vec::new();
            self.out_weights = None;
        }
    }

    /// Frees every list, keeping the node list (`nodes`, `node_count`, `local_id`).
    pub fn release_lists(&mut self) {
        *self = Projection { nodes: std::mem::take(&mut self.nodes), undirected: self.undirected, ..Projection::default() };
    }

    #[inline]
    pub fn out_neighbors(&self, v: u32) -> &[u32] {
        &self.out_targets[self.out_offsets[v as usize] as usize..self.out_offsets[v as usize + 1] as usize]
    }

    #[inline]
    pub fn in_neighbors(&self, v: u32) -> &[u32] {
        let offsets = self.in_offsets();
        &self.in_sources()[offsets[v as usize] as usize..offsets[v as usize + 1] as usize]
    }

    /// Offsets of the incoming lists (the outgoing ones when undirected).
    #[inline]
    pub fn in_offsets(&self) -> &[u64] {
        if self.undirected {
            &self.out_offsets
        } else {
            &self.in_offsets
        }
    }

    /// Sources of the incoming lists, each sorted by source then weight (the outgoing lists when
    /// undirected).
    #[inline]
    pub fn in_sources(&self) -> &[u32] {
        if self.undirected {
            &self.out_targets
        } else {
            &self.in_sources
        }
    }

    /// Weights of the incoming lists, when weighted.
    #[inline]
    pub fn in_weights(&self) -> Option<&[f64]> {
        if self.undirected {
            self.out_weights.as_deref()
        } else {
            self.in_weights.as_deref()
        }
    }

    #[inline]
    pub fn out_degree(&self, v: u32) -> usize {
        (self.out_offsets[v as usize + 1] - self.out_offsets[v as usize]) as usize
    }

    /// The local id of a graph node, if it is in this projection.
    pub fn local_id(&self, node: NodeId) -> Option<u32> {
        self.nodes.binary_search(&node).ok().map(|i| i as u32)
    }

    /// The simple undirected neighbour lists (no self-loops, no repeats), sorted, for algorithms
    /// defined on simple graphs (triangles, clustering, k-core). Two passes over merged sorted
    /// lists (count, then fill), parallel, with no allocation per node.
    pub fn simple_undirected(&self) -> (Vec<u64>, Vec<u32>) {
        let n = self.node_count();
        // Visits the distinct neighbours of v other than v, in increasing order.
        let visit = |v: u32, f: &mut dyn FnMut(u32)| {
            let b = if self.undirected { &[][..] } else { self.in_neighbors(v) };
            let mut last = u32::MAX;
            merge_sorted(self.out_neighbors(v), b, |x| {
                if x != last && x != v {
                    f(x);
                }
                last = x;
            });
        };
        let degrees: Vec<u64> = (0..n as u32)
            .into_par_iter()
            .map(|v| {
                let mut d = 0u64;
                visit(v, &mut |_| d += 1);
                d
            })
            .collect();
        let offsets = prefix_offsets(&degrees);
        let mut targets = vec![0u32; offsets[n] as usize];
        fill_blocks(&offsets, &mut targets, |v, out| {
            let mut k = 0;
            visit(v, &mut |x| {
                out[k] = x;
                k += 1;
            });
        });
        (offsets, targets)
    }
}

/// Calls `f` on the elements of two ascending lists in merged ascending order (repeats kept).
pub(crate) fn merge_sorted(a: &[u32], b: &[u32], mut f: impl FnMut(u32)) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if j >= b.len() || (i < a.len() && a[i] <= b[j]) {
            f(a[i]);
            i += 1;
        } else {
            f(b[j]);
            j += 1;
        }
    }
}

/// CSR offsets from per-node degrees: `offsets[v + 1] - offsets[v] == degrees[v]`.
pub(crate) fn prefix_offsets(degrees: &[u64]) -> Vec<u64> {
    let mut offsets = Vec::with_capacity(degrees.len() + 1);
    offsets.push(0u64);
    for d in degrees {
        offsets.push(offsets[offsets.len() - 1] + d);
    }
    offsets
}

/// Fills `targets` list by list: `fill(v, slice_of_v)` for each node, in parallel over blocks of
/// nodes, each block owning its contiguous part of `targets`.
pub(crate) fn fill_blocks(offsets: &[u64], targets: &mut [u32], fill: impl Fn(u32, &mut [u32]) + Sync) {
    block_jobs(offsets, targets).into_par_iter().for_each(|(start, end, block)| {
        let base = offsets[start];
        for v in start..end {
            let (lo, hi) = ((offsets[v] - base) as usize, (offsets[v + 1] - base) as usize);
            fill(v as u32, &mut block[lo..hi]);
        }
    });
}

/// `targets` cut into jobs of consecutive lists `(start, end, their slots)`, as [`block_ranges`].
pub(crate) fn block_jobs<'a>(offsets: &[u64], mut targets: &'a mut [u32]) -> Vec<(usize, usize, &'a mut [u32])> {
    let ranges = block_ranges(offsets);
    let mut jobs = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        let (head, tail) = targets.split_at_mut((offsets[end] - offsets[start]) as usize);
        jobs.push((start, end, head));
        targets = tail;
    }
    jobs
}

/// The lists of `offsets` cut into jobs of consecutive lists `(start, end)`: up to 4096 lists and
/// about 2¹⁶ slots each (one list may be longer). The slot bound keeps jobs even where the first
/// nodes hold most arcs (lists renumbered by descending degree) and a job's slots in L2.
pub(crate) fn block_ranges(offsets: &[u64]) -> Vec<(usize, usize)> {
    const NODES: usize = 4096;
    const SLOTS: u64 = 1 << 16;
    let n = offsets.len() - 1;
    let mut ranges = Vec::with_capacity(n / NODES + 1);
    let mut start = 0;
    while start < n {
        let mut end = (start + NODES).min(n);
        if offsets[end] - offsets[start] > SLOTS {
            // The first node past the slot budget ends the job (at least one node per job).
            end = offsets[start + 1..=end].partition_point(|&o| o - offsets[start] <= SLOTS) + start + 1;
            end = end.min(start + NODES).max(start + 1);
        }
        ranges.push((start, end));
        start = end;
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_jobs_cover_every_list_once_and_cut_heavy_prefixes() {
        // Two hubs first (as in a descending-degree order), then many short lists.
        let degrees: Vec<u64> = [100_000u64, 70_000].into_iter().chain((0..10_000u64).map(|v| v % 3)).collect();
        let offsets = prefix_offsets(&degrees);
        let mut targets = vec![0u32; offsets[offsets.len() - 1] as usize];
        let jobs = block_jobs(&offsets, &mut targets);
        assert_eq!((jobs[0].0, jobs[0].1), (0, 1), "a hub past the slot budget is a job of its own");
        assert_eq!((jobs[1].0, jobs[1].1), (1, 2));
        let mut next = 0;
        for (start, end, slots) in &jobs {
            assert_eq!(*start, next);
            assert!(end > start && end - start <= 4096);
            assert_eq!(slots.len() as u64, offsets[*end] - offsets[*start]);
            // Without its last list, a job stays within the budget.
            assert!(offsets[end - 1] - offsets[*start] <= 1 << 16);
            next = *end;
        }
        assert_eq!(next, degrees.len());
    }
}
