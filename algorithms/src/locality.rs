//! A cache-friendly node order for gather-bound kernels (PageRank's pull).
//!
//! A pull iteration reads `value[u]` for every in-neighbour `u` of every node: a random gather
//! whose cost is set by how much of `value` stays in cache. On skewed graphs a few nodes are
//! most of the sources, so renumbering nodes by descending degree puts the hot entries into a
//! small contiguous prefix that stays in L2/L3 (Faldu et al., "A closer look at lightweight graph
//! reordering", IISWC 2019: degree sorting is the cheap order that keeps most of the gain). The
//! order is a pure function of the degrees (ties by id), so results stay deterministic.
//!
//! Large working arrays also ask for transparent huge pages where the kernel is in `madvise`
//! mode: a TLB miss per random gather costs as much as the cache miss it accompanies.

use rayon::prelude::*;

use crate::projection::{block_jobs, prefix_offsets, Projection};

/// How many arcs ahead the renaming of in-lists prefetches.
const RENAME_PREFETCH_DISTANCE: usize = 32;

/// Below this many arcs the whole value array fits in cache and renumbering cannot pay.
pub const REORDER_MIN_ARCS: usize = 1 << 22;

/// A renumbering: `order[new] = old`, `rank[old] = new`.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeOrder {
    pub order: Vec<u32>,
    pub rank: Vec<u32>,
}

impl NodeOrder {
    /// Nodes by descending `degree`, ties by id.
    pub fn by_descending(degree: impl Fn(u32) -> u64 + Sync, n: usize) -> NodeOrder {
        // Sort packed (clamped degree, id) keys: one u64 comparison per step.
        let mut keys: Vec<u64> =
            (0..n as u32).into_par_iter().map(|v| ((u32::MAX as u64 - degree(v).min(u32::MAX as u64)) << 32) | v as u64).collect();
        keys.par_sort_unstable();
        let order: Vec<u32> = keys.par_iter().map(|k| *k as u32).collect();
        drop(keys);
        // A sequential scatter: a few ms per million nodes, not worth a parallel unsafe one.
        let mut rank = vec![0u32; n];
        for (new, &old) in order.iter().enumerate() {
            rank[old as usize] = new as u32;
        }
        NodeOrder { order, rank }
    }

    /// `values` (indexed by old id) in the new order.
    pub fn permute<T: Copy + Send + Sync>(&self, values: &[T]) -> Vec<T> {
        self.order.par_iter().map(|&old| values[old as usize]).collect()
    }

    /// `values` (indexed by new id) back in the old order.
    pub fn restore<T: Copy + Send + Sync>(&self, values: &[T]) -> Vec<T> {
        self.rank.par_iter().map(|&new| values[new as usize]).collect()
    }
}

/// The in-lists of `graph` renumbered by `order`: for new node `i`, the sources of old node
/// `order[i]`, each renamed to its new id, in their original order (sums keep their order, so the
/// result does not depend on thread count). Weights follow their arcs.
pub struct PermutedInLists {
    pub offsets: Vec<u64>,
    pub sources: Vec<u32>,
    pub weights: Option<Vec<f64>>,
}

impl PermutedInLists {
    /// # Complexity
    /// O(n + m) work, parallel over nodes; memory 8(n + 1) + 4m bytes (+ 8m weighted).
    pub fn new(graph: &Projection, order: &NodeOrder) -> PermutedInLists {
        let degrees: Vec<u64> =
            order.order.par_iter().map(|&old| graph.in_offsets[old as usize + 1] - graph.in_offsets[old as usize]).collect();
        let offsets = prefix_offsets(&degrees);
        drop(degrees);
        let mut sources = huge_page_vec::<u32>(offsets[offsets.len() - 1] as usize);
        // Copy a job's lists, then rename its slots in one linear pass: the renaming is a random
        // read of `rank` per arc, and only over a linear run can its misses be prefetched ahead
        // (most lists are shorter than the prefetch distance). The job's slots are still in L2.
        block_jobs(&offsets, &mut sources).into_par_iter().for_each(|(start, end, block)| {
            let mut filled = 0;
            for &old in &order.order[start..end] {
                let list = graph.in_neighbors(old);
                block[filled..filled + list.len()].copy_from_slice(list);
                filled += list.len();
            }
            for k in 0..block.len() {
                if let Some(&ahead) = block.get(k + RENAME_PREFETCH_DISTANCE) {
                    prefetch(&order.rank[ahead as usize]);
                }
                block[k] = order.rank[block[k] as usize];
            }
        });
        let weights = graph.in_weights.as_ref().map(|w| {
            let mut permuted = vec![0f64; sources.len()];
            let mut rest = &mut permuted[..];
            let mut jobs = Vec::with_capacity(order.order.len());
            for &old in &order.order {
                let (lo, hi) = (graph.in_offsets[old as usize] as usize, graph.in_offsets[old as usize + 1] as usize);
                let (head, tail) = rest.split_at_mut(hi - lo);
                jobs.push((head, &w[lo..hi]));
                rest = tail;
            }
            jobs.into_par_iter().with_min_len(4096).for_each(|(dst, src)| dst.copy_from_slice(src));
            permuted
        });
        PermutedInLists { offsets, sources, weights }
    }
}

pub use ekg_schema::csr::prefetch;

pub use ekg_schema::memory::huge_page_vec;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descending_degree_order_is_a_permutation_with_ties_by_id() {
        let degree = [1u64, 5, 0, 5, 2];
        let o = NodeOrder::by_descending(|v| degree[v as usize], 5);
        assert_eq!(o.order, vec![1, 3, 4, 0, 2]);
        assert_eq!(o.rank, vec![3, 0, 4, 1, 2]);
        let values = [10, 11, 12, 13, 14];
        assert_eq!(o.restore(&o.permute(&values)), values.to_vec());
    }

    #[test]
    fn permuted_in_lists_are_the_same_graph_renamed() {
        let g = Projection::from_edges(4, &[(0, 1, 2.0), (2, 1, 3.0), (3, 1, 4.0), (1, 0, 5.0), (3, 2, 6.0)], false, true);
        let o = NodeOrder::by_descending(|v| g.in_neighbors(v).len() as u64, 4);
        let p = PermutedInLists::new(&g, &o);
        for new in 0..4u32 {
            let old = o.order[new as usize];
            let (lo, hi) = (p.offsets[new as usize] as usize, p.offsets[new as usize + 1] as usize);
            let renamed: Vec<(u32, f64)> = p.sources[lo..hi]
                .iter()
                .map(|&s| o.order[s as usize])
                .zip(p.weights.as_deref().unwrap_or_default()[lo..hi].iter().copied())
                .collect();
            let expected: Vec<(u32, f64)> = g
                .in_neighbors(old)
                .iter()
                .copied()
                .zip(g.in_weights.as_deref().unwrap_or_default()[g.in_offsets[old as usize] as usize..].iter().copied())
                .collect();
            assert_eq!(renamed, expected);
        }
    }
}
