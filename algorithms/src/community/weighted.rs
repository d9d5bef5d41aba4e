//! The weighted undirected graph Louvain and Leiden work on, its aggregation, and modularity.
//!
//! Built from a projection with the nodes renumbered by descending degree and the isolated nodes
//! left out: local moving reads `community[u]` for every neighbour `u`, a random gather like
//! PageRank's, and on skewed graphs the hubs most lists point at then share a few cache lines
//! (see `crate::locality`). Isolated nodes never move and change no modularity term, so they
//! are added back as singletons at the end.

use std::cell::RefCell;

use rayon::prelude::*;

use crate::locality::{prefetch, NodeOrder};
use crate::projection::Projection;

/// A weighted undirected graph in CSR form; `loops[v]` is v's self-loop weight as it appears in
/// the symmetric adjacency (2w for a loop of weight w). Each neighbour appears once per list.
#[derive(Clone, Debug, Default)]
pub(crate) struct WeightedGraph {
    pub offsets: Vec<u64>,
    pub targets: Vec<u32>,
    /// Arc weights, empty when every arc weighs 1 (read through [`WeightedGraph::weight`]). An
    /// unweighted base graph is the common case, and without this array a row is 4 bytes an arc
    /// instead of 12: local moving, refinement and aggregation stream rows from memory.
    pub weights: Vec<f64>,
    pub loops: Vec<f64>,
    /// k_v: weighted degree, self-loops included (read by every pass, so computed once).
    pub degrees: Vec<f64>,
}

/// A projection's nodes that have an edge, renumbered for locality.
pub(crate) struct Compacted {
    pub graph: WeightedGraph,
    /// `order[new] = old` for the nodes kept; every other node is isolated.
    pub order: Vec<u32>,
    /// Node count of the projection.
    pub n: usize,
}

impl Compacted {
    /// The projection's undirected view without its isolated nodes, by descending degree.
    ///
    /// # Complexity
    /// O(n log n + m log d) work, parallel over nodes; memory 8(n + 1) + 12m bytes.
    pub fn new(p: &Projection) -> Compacted {
        let n = p.node_count();
        let arcs = |v: u32| undirected_arcs(p, v as usize) as u64;
        let mut order = NodeOrder::by_descending(arcs, n);
        let kept = order.order.partition_point(|&v| arcs(v) > 0);
        order.order.truncate(kept);
        let graph = WeightedGraph::from_projection_in(p, &order.order, |u| order.rank[u as usize]);
        Compacted { graph, order: order.order, n }
    }

    /// Labels of the compacted nodes as labels of the projection's nodes; isolated nodes get
    /// labels of their own.
    pub fn expand(&self, labels: &[u32]) -> Vec<u32> {
        let mut full = vec![u32::MAX; self.n];
        for (new, &old) in self.order.iter().enumerate() {
            full[old as usize] = labels[new];
        }
        // Compacted labels are below the kept count, so kept + isolated labels fit in n.
        let first = labels.iter().copied().max().map_or(0, |m| m + 1);
        for (label, fresh) in full.iter_mut().filter(|l| **l == u32::MAX).zip(first..) {
            *label = fresh;
        }
        full
    }
}

/// Node v's arcs in the undirected view of `p`, before parallel arcs are merged and self-loops
/// set apart: an upper bound on its list's length.
fn undirected_arcs(p: &Projection, v: usize) -> usize {
    let out = (p.out_offsets[v + 1] - p.out_offsets[v]) as usize;
    if p.undirected {
        out
    } else {
        out + (p.in_offsets()[v + 1] - p.in_offsets()[v]) as usize
    }
}

/// One block of consecutive nodes' lists, built by one task.
struct Block {
    lengths: Vec<u32>,
    loops: Vec<f64>,
    degrees: Vec<f64>,
    targets: Vec<u32>,
    /// The arcs' weights, left unallocated (capacity 0) while every arc so far weighs 1: a
    /// unit-weight graph then never writes, copies or scans an array it would drop.
    weights: Vec<f64>,
}

impl Block {
    fn weighted(&self) -> bool {
        self.weights.capacity() > 0
    }
}

/// A block holds at most this many nodes, and ends once its arcs reach [`BLOCK_ARCS`].
const BLOCK_NODES: usize = 2048;
const BLOCK_ARCS: usize = 1 << 16;

/// How many arcs ahead a gather of `community[u]` is prefetched (its miss overlaps the work on
/// the arcs in between).
const PREFETCH_AHEAD: usize = 8;

impl WeightedGraph {
    /// The undirected view of `p` in its own node order (for checks on a given partition).
    pub fn from_projection(p: &Projection) -> WeightedGraph {
        let identity: Vec<u32> = (0..p.node_count() as u32).collect();
        Self::from_projection_in(p, &identity, |u| u)
    }

    /// New node `i` is old node `order[i]`; `rename` maps old ids to new. On a directed
    /// projection an edge's weight counts at both ends (A + Aᵀ); parallel edges add up. The
    /// projection's lists are sorted, so duplicates are merged in one pass without a sort.
    fn from_projection_in(p: &Projection, order: &[u32], rename: impl Fn(u32) -> u32 + Sync) -> WeightedGraph {
        let weight_of = |w: Option<&[f64]>, i: usize| w.map_or(1.0, |w| w[i]);
        let arcs_at_most = |new: usize| undirected_arcs(p, order[new] as usize);
        Self::build(order.len(), arcs_at_most, None, |new, pairs| {
            let v = order[new] as usize;
            let out = (p.out_offsets[v] as usize..p.out_offsets[v + 1] as usize)
                .map(|i| (p.out_targets[i], weight_of(p.out_weights.as_deref(), i)));
            let (in_lo, in_hi) = if p.undirected { (0, 0) } else { (p.in_offsets()[v] as usize, p.in_offsets()[v + 1] as usize) };
            let inn = (in_lo..in_hi).map(|i| (p.in_sources()[i], weight_of(p.in_weights(), i)));
            let mut loops = 0.0;
            let mut last = u32::MAX;
            let mut emit = |(u, w): (u32, f64)| {
                if u as usize == v {
                    loops += w;
                } else if u == last {
                    if let Some(e) = pairs.last_mut() {
                        e.1 += w;
                    }
                } else {
                    last = u;
                    pairs.push((u, w));
                }
            };
            let (mut out, mut inn) = (out.peekable(), inn.peekable());
            loop {
                let take_out = match (out.peek(), inn.peek()) {
                    (Some(a), Some(b)) => a.0 <= b.0,
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    (None, None) => break,
                };
                let next = if take_out { out.next() } else { inn.next() };
                if let Some(e) = next {
                    emit(e);
                }
            }
            for e in pairs.iter_mut() {
                e.0 = rename(e.0);
            }
            loops
        })
    }

    /// Builds node lists block by block in parallel: `fill(v, pairs)` pushes node v's merged
    /// (neighbour, weight) pairs onto the empty `pairs` and returns its loop weight.
    /// `arcs_at_most(v)` bounds node v's arcs. Blocks are runs of consecutive nodes of about
    /// [`BLOCK_ARCS`] arcs by that bound: by node count they were lopsided, as the first nodes
    /// (by degree, or the first communities, which gather the hubs) hold most arcs; at deep
    /// aggregation levels one block of 2,048 held 64–96% of them. The bound also sizes each
    /// block's buffer once, instead of growing it by doubling.
    ///
    /// The arrays of `spare`, a graph no longer needed, hold the result where their capacity
    /// allows: a multilevel run builds each level's graph in the arrays of the one two levels up.
    /// A fresh page costs a fault and the kernel's zeroing when first written, and on a virtual
    /// machine that returns freed memory to its host, the host's fault too: on the test machine
    /// 0.3 to 1.2 s per GiB, against 0.07 s to write a GiB already touched.
    fn build(
        n: usize,
        arcs_at_most: impl Fn(usize) -> usize + Sync,
        spare: Option<WeightedGraph>,
        fill: impl Fn(usize, &mut Vec<(u32, f64)>) -> f64 + Sync,
    ) -> WeightedGraph {
        let node_bounds: Vec<usize> = (0..n).into_par_iter().with_min_len(1 << 12).map(&arcs_at_most).collect();
        let mut block_starts = vec![0];
        let mut bounds = Vec::new();
        let mut arcs = 0;
        for (v, &bound) in node_bounds.iter().enumerate() {
            arcs += bound;
            if arcs >= BLOCK_ARCS || v + 1 - block_starts[block_starts.len() - 1] == BLOCK_NODES || v + 1 == n {
                block_starts.push(v + 1);
                bounds.push(arcs);
                arcs = 0;
            }
        }
        drop(node_bounds);
        let block_nodes = |b: usize| block_starts[b]..block_starts[b + 1];
        let blocks: Vec<Block> = (0..bounds.len())
            .into_par_iter()
            .map_init(Vec::new, |pairs, b| {
                let nodes = block_nodes(b);
                let mut block = Block {
                    lengths: Vec::with_capacity(nodes.len()),
                    loops: Vec::with_capacity(nodes.len()),
                    degrees: Vec::with_capacity(nodes.len()),
                    targets: Vec::with_capacity(bounds[b]),
                    weights: Vec::new(),
                };
                for v in nodes {
                    pairs.clear();
                    let loops = fill(v, pairs);
                    block.targets.extend(pairs.iter().map(|e| e.0));
                    if !block.weighted() && pairs.iter().any(|e| e.1 != 1.0) {
                        block.weights.reserve_exact(bounds[b]);
                        block.weights.resize(block.targets.len() - pairs.len(), 1.0);
                    }
                    if block.weighted() {
                        block.weights.extend(pairs.iter().map(|e| e.1));
                    }
                    block.lengths.push(pairs.len() as u32);
                    block.degrees.push(pairs.iter().map(|e| e.1).sum::<f64>() + loops);
                    block.loops.push(loops);
                }
                block
            })
            .collect();
        let WeightedGraph { mut offsets, mut targets, mut weights, mut loops, mut degrees } = spare.unwrap_or_default();
        offsets.clear();
        offsets.reserve(n + 1);
        offsets.push(0u64);
        for length in blocks.iter().flat_map(|b| &b.lengths) {
            offsets.push(offsets[offsets.len() - 1] + *length as u64);
        }
        let m = offsets[n] as usize;
        let weighted = blocks.iter().any(Block::weighted);
        // Zeroed in parallel (a fresh page's first write is a fault), then overwritten block
        // by block. An unweighted graph's weights stay empty whatever capacity they keep.
        targets.clear();
        targets.par_extend(rayon::iter::repeat_n(0u32, m));
        weights.clear();
        if weighted {
            weights.par_extend(rayon::iter::repeat_n(0.0, m));
        }
        let mut jobs = Vec::with_capacity(blocks.len());
        let (mut t_rest, mut w_rest) = (&mut targets[..], &mut weights[..]);
        for block in &blocks {
            let arcs = block.targets.len();
            let (t, t_tail) = t_rest.split_at_mut(arcs);
            let (w, w_tail) = w_rest.split_at_mut(if weighted { arcs } else { 0 });
            jobs.push((t, w, block));
            (t_rest, w_rest) = (t_tail, w_tail);
        }
        jobs.into_par_iter().for_each(|(t, w, block)| {
            t.copy_from_slice(&block.targets);
            if block.weighted() {
                w.copy_from_slice(&block.weights);
            } else {
                w.fill(1.0);
            }
        });
        loops.clear();
        loops.extend(blocks.iter().flat_map(|b| b.loops.iter().copied()));
        degrees.clear();
        degrees.extend(blocks.iter().flat_map(|b| b.degrees.iter().copied()));
        WeightedGraph { offsets, targets, weights, loops, degrees }
    }

    /// The weight of arc `i`.
    #[inline(always)]
    pub fn weight(&self, i: usize) -> f64 {
        if self.weights.is_empty() {
            1.0
        } else {
            self.weights[i]
        }
    }

    pub fn node_count(&self) -> usize {
        self.loops.len()
    }

    pub fn edges(&self, v: usize) -> impl Iterator<Item = (u32, f64)> + '_ {
        let (lo, hi) = (self.offsets[v] as usize, self.offsets[v + 1] as usize);
        (lo..hi).map(|i| (self.targets[i], self.weight(i)))
    }

    /// v's arcs as (arc index, target), calling `ahead` with the target `PREFETCH_AHEAD` arcs
    /// further on: the loops over a row read an array at each target, a random miss that a
    /// prefetch issued there has in flight by the time it is needed.
    #[inline]
    pub fn arcs_prefetching<'a>(&'a self, v: usize, ahead: impl Fn(usize) + 'a) -> impl Iterator<Item = (usize, u32)> + 'a {
        let (lo, hi) = (self.offsets[v] as usize, self.offsets[v + 1] as usize);
        (lo..hi).map(move |i| {
            if let Some(&next) = self.targets.get(i + PREFETCH_AHEAD) {
                ahead(next as usize);
            }
            (i, self.targets[i])
        })
    }

    pub fn edge_count(&self, v: usize) -> usize {
        (self.offsets[v + 1] - self.offsets[v]) as usize
    }

    /// Aggregation reads the rows of a community's members, which lie anywhere in the graph: a
    /// chain of dependent misses (offsets, then the row, then `community` of each neighbour) per
    /// member. Walking the member list `ahead` of the member at `at`, this starts each link of the
    /// chain a step before it is needed: offsets four members ahead, the row two ahead, and the
    /// first neighbours' labels one ahead (a row's later labels are prefetched within it).
    #[inline]
    fn prefetch_member_rows(&self, members: &[u32], at: usize, community: &[u32]) {
        if let Some(&far) = members.get(at + 4) {
            prefetch(&self.offsets[far as usize]);
            prefetch(&self.loops[far as usize]);
        }
        if let Some(&near) = members.get(at + 2) {
            let lo = self.offsets[near as usize] as usize;
            if let Some(t) = self.targets.get(lo) {
                prefetch(t);
            }
            if let Some(w) = self.weights.get(lo) {
                prefetch(w);
            }
        }
        if let Some(&next) = members.get(at + 1) {
            let (lo, hi) = (self.offsets[next as usize] as usize, self.offsets[next as usize + 1] as usize);
            for &u in &self.targets[lo..hi.min(lo + PREFETCH_AHEAD)] {
                prefetch(&community[u as usize]);
            }
        }
    }

    /// Merges nodes by `community` (dense ids `0..k`), into `spare`'s arrays where they fit.
    ///
    /// # Complexity
    /// O(n + m) work, parallel over communities.
    pub fn aggregate(&self, community: &[u32], k: usize, spare: Option<WeightedGraph>) -> WeightedGraph {
        // Members of each community, in node order (a counting sort).
        let mut starts = vec![0usize; k + 1];
        for &c in community {
            starts[c as usize + 1] += 1;
        }
        for c in 0..k {
            starts[c + 1] += starts[c];
        }
        let mut next = starts.clone();
        let mut members = vec![0u32; community.len()];
        for (v, &c) in community.iter().enumerate() {
            members[next[c as usize]] = v as u32;
            next[c as usize] += 1;
        }
        drop(next);
        // A community has at most as many arcs as its members have, and at most one per community.
        let arcs_at_most = |c: usize| members[starts[c]..starts[c + 1]].iter().map(|&v| self.edge_count(v as usize)).sum::<usize>().min(k);
        Self::build(k, arcs_at_most, spare, |c, pairs| {
            with_table(|table| {
                let nodes = &members[starts[c]..starts[c + 1]];
                table.reset(arcs_at_most(c), k);
                let mut loops = 0.0;
                for (j, &v) in nodes.iter().enumerate() {
                    self.prefetch_member_rows(&members, starts[c] + j, community);
                    loops += self.loops[v as usize];
                    let (lo, hi) = (self.offsets[v as usize] as usize, self.offsets[v as usize + 1] as usize);
                    for i in lo..hi {
                        if i + PREFETCH_AHEAD < hi {
                            prefetch(&community[self.targets[i + PREFETCH_AHEAD] as usize]);
                        }
                        let (u, w) = (self.targets[i], self.weight(i));
                        let cu = community[u as usize];
                        if cu == c as u32 {
                            loops += w;
                        } else {
                            table.add(cu, w);
                        }
                    }
                }
                // Insertion order: deterministic, and no sort is needed by anything downstream.
                pairs.extend(table.entries());
                loops
            })
        })
    }
}

/// Modularity of `community` on `g` at resolution γ: Q = Σ_c [ Σ_in(c) / 2m − γ (Σ_tot(c) / 2m)² ].
/// Sums run over fixed chunks combined in order, so the value does not depend on the thread count.
pub(crate) fn modularity_of(g: &WeightedGraph, community: &[u32], resolution: f64) -> f64 {
    const CHUNK: usize = 1 << 14;
    let n = g.node_count();
    let k = community.iter().copied().max().map_or(0, |c| c as usize + 1);
    let degree = &g.degrees;
    let (inside, m2) = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|chunk| {
            let (mut inside, mut m2) = (0.0, 0.0);
            for v in chunk * CHUNK..((chunk + 1) * CHUNK).min(n) {
                m2 += degree[v];
                inside += g.loops[v];
                for (u, w) in g.edges(v) {
                    if community[u as usize] == community[v] {
                        inside += w;
                    }
                }
            }
            (inside, m2)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    if m2 == 0.0 {
        return 0.0;
    }
    let mut total = vec![0.0; k];
    for v in 0..n {
        total[community[v] as usize] += degree[v];
    }
    inside / m2 - resolution * total.iter().map(|t| (t / m2).powi(2)).sum::<f64>()
}

thread_local! {
    /// One table per worker thread, reused from node to node instead of allocated per task.
    static TABLE: RefCell<CommunityWeights> = RefCell::new(CommunityWeights::default());
}

/// Runs `f` with this thread's [`CommunityWeights`]. `f` must not call back into rayon (a task
/// stolen meanwhile would find the table borrowed).
pub(crate) fn with_table<R>(f: impl FnOnce(&mut CommunityWeights) -> R) -> R {
    TABLE.with(|cell| {
        let mut table = cell.borrow_mut();
        let result = f(&mut table);
        // A hub's table is not kept for the thread's lifetime.
        if table.keys.len() > 1 << 20 {
            *table = CommunityWeights::default();
        }
        result
    })
}

/// Weights from one node (or one community) to each neighbouring community. Short lists (most
/// nodes') go to a small array searched linearly: no hashing, nothing to clear. Longer ones go
/// to an open-addressing table sized to the list: a dense n-sized array per thread would do the
/// same with a cache miss per neighbour, while this table stays in L1/L2 for all but the hubs.
#[derive(Default)]
pub(crate) struct CommunityWeights {
    keys: Vec<u32>,
    weights: Vec<f64>,
    used: Vec<u32>,
    mask: usize,
    direct: bool,
    small: bool,
    small_len: usize,
    small_keys: [u32; SMALL_ENTRIES],
    small_weights: [f64; SMALL_ENTRIES],
}

/// Lists of at most this many entries are searched linearly (94% of the enterprise graph's nodes).
const SMALL_ENTRIES: usize = 16;

impl CommunityWeights {
    const EMPTY: u32 = u32::MAX;

    /// Empties the table and makes room for `entries` distinct keys, all below `key_space`.
    /// When a hashed table would be a sizeable part of the key space anyway (a hub's list), the
    /// key indexes its slot directly: no probing, and a smaller table than hashing would need.
    pub fn reset(&mut self, entries: usize, key_space: usize) {
        for &slot in &self.used {
            self.keys[slot as usize] = Self::EMPTY;
        }
        self.used.clear();
        self.small_len = 0;
        self.small = entries <= SMALL_ENTRIES;
        if self.small {
            return;
        }
        let hashed = (2 * entries + 2).next_power_of_two().max(16);
        self.direct = 2 * hashed >= key_space;
        let capacity = if self.direct { key_space } else { hashed };
        if self.keys.len() < capacity {
            self.keys.resize(capacity, Self::EMPTY);
            self.weights.resize(capacity, 0.0);
        }
        self.mask = hashed - 1;
    }

    #[inline]
    fn slot(&self, key: u32) -> usize {
        if self.direct {
            key as usize
        } else {
            ((key as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & self.mask
        }
    }

    #[inline]
    pub fn add(&mut self, key: u32, weight: f64) {
        if self.small {
            let len = self.small_len;
            match self.small_keys[..len].iter().position(|&k| k == key) {
                Some(j) => self.small_weights[j] += weight,
                None => {
                    self.small_keys[len] = key;
                    self.small_weights[len] = weight;
                    self.small_len = len + 1;
                }
            }
            return;
        }
        let mut i = self.slot(key);
        loop {
            let found = self.keys[i];
            if found == key {
                self.weights[i] += weight;
                return;
            }
            if found == Self::EMPTY {
                self.keys[i] = key;
                self.weights[i] = weight;
                self.used.push(i as u32);
                return;
            }
            i = (i + 1) & self.mask;
        }
    }

    #[inline]
    pub fn get(&self, key: u32) -> f64 {
        if self.small {
            let len = self.small_len;
            return self.small_keys[..len].iter().position(|&k| k == key).map_or(0.0, |j| self.small_weights[j]);
        }
        let mut i = self.slot(key);
        loop {
            let found = self.keys[i];
            if found == key {
                return self.weights[i];
            }
            if found == Self::EMPTY {
                return 0.0;
            }
            i = (i + 1) & self.mask;
        }
    }

    /// (key, weight) pairs in insertion order.
    pub fn entries(&self) -> impl Iterator<Item = (u32, f64)> + '_ {
        let small = self.small_keys[..self.small_len].iter().copied().zip(self.small_weights[..self.small_len].iter().copied());
        small.chain(self.used.iter().map(|&i| (self.keys[i as usize], self.weights[i as usize])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compaction_drops_isolated_nodes_and_expands_them_as_singletons() {
        // 0-1-2 path with a parallel edge 1-2, node 3 isolated, node 4 with a self-loop only.
        let p = Projection::from_edges(5, &[(0, 1, 1.0), (1, 2, 1.0), (2, 1, 2.0), (4, 4, 1.0)], true, true);
        let c = Compacted::new(&p);
        assert_eq!(c.order.len(), 4);
        assert!(!c.order.contains(&3));
        // Node 1 has the most arcs, so it comes first.
        assert_eq!(c.order[0], 1);
        let sum = |g: &WeightedGraph| (0..g.targets.len()).map(|i| g.weight(i)).sum::<f64>() + g.loops.iter().sum::<f64>();
        let plain = WeightedGraph::from_projection(&p);
        assert_eq!(sum(&c.graph), sum(&plain));
        assert!(!c.graph.weights.is_empty(), "the merged parallel edge weighs 3");
        let labels = c.expand(&[0, 0, 0, 1]);
        assert_eq!(labels[c.order[0] as usize], 0);
        assert_eq!(labels[3], 2, "the isolated node gets a label of its own");
    }

    #[test]
    fn unit_weights_are_not_stored_and_read_as_one() {
        let path = Projection::from_edges(3, &[(0, 1, 1.0), (1, 2, 1.0)], true, false);
        let g = WeightedGraph::from_projection(&path);
        assert!(g.weights.is_empty());
        assert_eq!(g.edges(1).collect::<Vec<_>>(), vec![(0, 1.0), (2, 1.0)]);
        assert_eq!(g.degrees, vec![1.0, 2.0, 1.0]);
        // Merging 0 and 1 turns their edge into a loop (2w in the symmetric adjacency).
        let coarse = g.aggregate(&[0, 0, 1], 2, None);
        assert_eq!(coarse.edges(0).collect::<Vec<_>>(), vec![(1, 1.0)]);
        assert_eq!(coarse.loops, vec![2.0, 0.0]);
    }

    #[test]
    fn blocks_of_unit_and_weighted_arcs_give_the_same_lists() {
        // A star of 3 × BLOCK_ARCS leaves (the hub fills a block alone) and a path after it,
        // so blocks end by arcs and by node count. Weights other than 1 appear first in the
        // middle of a block (earlier arcs of that block read as 1), in a later block, or nowhere.
        let leaves = 3 * BLOCK_ARCS as u32;
        let n = leaves as usize + 1 + 3 * BLOCK_NODES;
        for heavy in [None, Some(leaves + 700), Some(leaves + 2 * BLOCK_NODES as u32 + 5)] {
            let mut edges: Vec<(u32, u32, f64)> = (1..=leaves).map(|v| (0, v, 1.0)).collect();
            edges.extend((leaves + 1..n as u32 - 1).map(|v| (v, v + 1, if Some(v) == heavy { 3.0 } else { 1.0 })));
            let p = Projection::from_edges(n, &edges, true, true);
            let g = WeightedGraph::from_projection(&p);
            assert_eq!(g.weights.is_empty(), heavy.is_none());
            for v in 0..n {
                let arcs = p.out_offsets[v] as usize..p.out_offsets[v + 1] as usize;
                let expected: Vec<(u32, f64)> = arcs.map(|i| (p.out_targets[i], p.out_weights.as_ref().map_or(1.0, |w| w[i]))).collect();
                assert_eq!(g.edges(v).collect::<Vec<_>>(), expected, "node {v}, heavy {heavy:?}");
                assert_eq!(g.degrees[v], expected.iter().map(|e| e.1).sum::<f64>(), "node {v}");
            }
        }
    }

    #[test]
    fn building_into_a_spare_gives_the_same_graph() {
        let mut rng = crate::test_rng(5);
        // A simple graph (no parallel edges or loops), so that its own arcs all weigh 1.
        let mut pairs: Vec<(u32, u32)> = (0..3000).map(|_| (rng() % 500, rng() % 500)).filter(|(a, b)| a < b).collect();
        pairs.sort_unstable();
        pairs.dedup();
        let edges: Vec<(u32, u32, f64)> = pairs.into_iter().map(|(a, b)| (a, b, 1.0)).collect();
        let g = WeightedGraph::from_projection(&Projection::from_edges(500, &edges, true, false));
        assert!(g.weights.is_empty());
        let community: Vec<u32> = (0..500).map(|v| v % 40).collect();
        let fields = |g: &WeightedGraph| (g.offsets.clone(), g.targets.clone(), g.weights.clone(), g.loops.clone(), g.degrees.clone());
        let weighted = g.aggregate(&community, 40, None);
        assert!(!weighted.weights.is_empty());
        // A weighted spare, larger or smaller than the result: the same graph either way.
        let big = g.aggregate(&community, 40, None);
        let small = weighted.aggregate(&(0..40).map(|c| c % 3).collect::<Vec<u32>>(), 3, None);
        for spare in [big, small] {
            assert_eq!(fields(&g.aggregate(&community, 40, Some(spare))), fields(&weighted));
        }
        // An unweighted result in a weighted spare keeps no weights (they would be read as arcs').
        let identity: Vec<u32> = (0..500).collect();
        let unit = g.aggregate(&identity, 500, Some(weighted.clone()));
        assert!(unit.weights.is_empty());
        assert_eq!(fields(&unit), fields(&g.aggregate(&identity, 500, None)));
    }

    #[test]
    fn community_weights_sum_per_key_in_insertion_order_short_or_long() {
        let mut rng = crate::test_rng(11);
        let mut table = CommunityWeights::default();
        // Around the linear/hashed boundary, with small and large key spaces (the latter direct).
        for (entries, key_space) in [(3, 1000), (16, 1000), (17, 1000), (200, 1000), (40, 50), (16, 20)] {
            for _ in 0..5 {
                table.reset(entries, key_space);
                let mut reference: Vec<(u32, f64)> = Vec::new();
                for _ in 0..entries {
                    let (key, weight) = (rng() % key_space as u32, (1 + rng() % 5) as f64);
                    table.add(key, weight);
                    match reference.iter_mut().find(|e| e.0 == key) {
                        Some(e) => e.1 += weight,
                        None => reference.push((key, weight)),
                    }
                }
                assert_eq!(table.entries().collect::<Vec<_>>(), reference, "{entries} adds of keys below {key_space}");
                for &(key, weight) in &reference {
                    assert_eq!(table.get(key), weight);
                }
                let absent = (0..key_space as u32).find(|k| reference.iter().all(|e| e.0 != *k));
                if let Some(key) = absent {
                    assert_eq!(table.get(key), 0.0);
                }
            }
        }
    }

    #[test]
    fn aggregation_keeps_the_total_weight_and_the_modularity() {
        let mut rng = crate::test_rng(7);
        let edges: Vec<(u32, u32, f64)> = (0..400).map(|_| (rng() % 60, rng() % 60, 1.0 + (rng() % 3) as f64)).collect();
        let g = WeightedGraph::from_projection(&Projection::from_edges(60, &edges, false, true));
        let community: Vec<u32> = (0..60).map(|v| v % 7).collect();
        let coarse = g.aggregate(&community, 7, None);
        let sum = |g: &WeightedGraph| (0..g.targets.len()).map(|i| g.weight(i)).sum::<f64>() + g.loops.iter().sum::<f64>();
        assert!((sum(&g) - sum(&coarse)).abs() < 1e-9);
        let q_fine = modularity_of(&g, &community, 1.0);
        let q_coarse = modularity_of(&coarse, &(0..7).collect::<Vec<u32>>(), 1.0);
        assert!((q_fine - q_coarse).abs() < 1e-12, "{q_fine} vs {q_coarse}");
    }
}
