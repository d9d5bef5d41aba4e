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

use crate::projection::{block_ranges, prefix_offsets, Projection};

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

/// How many arcs ahead the renaming of in-lists prefetches.
const RENAME_PREFETCH_DISTANCE: usize = 32;

/// The in-lists of `graph` renumbered by `order` and cut by source: segment `s` holds, for each
/// target with a source among new ids `s·len .. (s+1)·len`, those sources (as offsets from
/// `s·len`, in list order) and their weights. This is CSR segmenting (Zhang et al., "Making caches
/// work for graph analytics", IEEE BigData 2017): a pull that sweeps one segment at a time reads
/// only `len` entries of the value array, which stay in the core's private L2 however large the
/// graph, instead of gathering at random over all of it. With nodes in descending-degree order
/// the first segment holds most arcs, so few targets appear in many segments.
pub struct SegmentedInLists {
    pub segment_len: usize,
    pub segments: Vec<InSegment>,
}

/// One segment's lists: entry `e` is target `targets[e]` with sources `sources[offsets[e]..offsets[e + 1]]`.
pub struct InSegment {
    /// Ascending.
    pub targets: Vec<u32>,
    pub offsets: Vec<u64>,
    pub sources: Vec<u32>,
    pub weights: Option<Vec<f64>>,
    /// Entry ranges `jobs[j]..jobs[j + 1]` of about 2¹⁶ arcs (or 4096 targets): units of parallel
    /// work that even out where a few hubs hold most arcs.
    pub jobs: Vec<usize>,
}

/// One list's arcs grouped by segment, in list order within each segment.
#[derive(Default)]
struct Grouped {
    sources: Vec<u32>,
    weights: Vec<f64>,
    cursors: Vec<usize>,
    keys: Vec<u64>,
}

impl Grouped {
    /// Groups `sources` (and their `weights`) by segment `source >> shift`: a counting sort over
    /// the segments the list spans, or a sort where the list is shorter than that span.
    fn fill(&mut self, sources: &[u32], weights: Option<&[f64]>, shift: u32) {
        self.sources.clear();
        self.weights.clear();
        let (low, high) = sources.iter().fold((u32::MAX, 0), |(low, high), &u| (low.min(u), high.max(u)));
        let first = (low >> shift) as usize;
        let span = ((high >> shift) as usize + 1).saturating_sub(first);
        if span <= 1 {
            self.sources.extend_from_slice(sources);
            self.weights.extend_from_slice(weights.unwrap_or_default());
        } else if span > sources.len() {
            self.keys.clear();
            self.keys.extend(sources.iter().enumerate().map(|(k, &u)| ((u >> shift) as u64) << 32 | k as u64));
            self.keys.sort_unstable();
            self.sources.extend(self.keys.iter().map(|&key| sources[key as u32 as usize]));
            if let Some(w) = weights {
                self.weights.extend(self.keys.iter().map(|&key| w[key as u32 as usize]));
            }
        } else {
            self.cursors.clear();
            self.cursors.resize(span, 0);
            for &u in sources {
                self.cursors[(u >> shift) as usize - first] += 1;
            }
            let mut total = 0;
            for cursor in &mut self.cursors {
                (*cursor, total) = (total, total + *cursor);
            }
            self.sources.resize(sources.len(), 0);
            self.weights.resize(weights.map_or(0, <[f64]>::len), 0.0);
            for (k, &u) in sources.iter().enumerate() {
                let slot = &mut self.cursors[(u >> shift) as usize - first];
                self.sources[*slot] = u;
                if let Some(w) = weights {
                    self.weights[*slot] = w[k];
                }
                *slot += 1;
            }
        }
    }
}

/// One block of targets' share of every segment, before the segments are put together.
#[derive(Default)]
struct SegmentPart {
    targets: Vec<u32>,
    lengths: Vec<u32>,
    sources: Vec<u32>,
    weights: Vec<f64>,
}

impl SegmentedInLists {
    /// `segment_len` is rounded up to a power of two.
    ///
    /// # Complexity
    /// O(n + m) work (a list spanning more segments than it has arcs is sorted instead), parallel
    /// over blocks of targets; memory 4m (+ 8m weighted) for the lists and 12 bytes per (target,
    /// segment) entry, up to twice over while the segments are joined (each block's parts are
    /// freed once copied).
    pub fn new(graph: &Projection, order: &NodeOrder, segment_len: usize) -> SegmentedInLists {
        Self::cut(graph, order, segment_len).join()
    }

    /// [`SegmentedInLists::new`] for a caller done with the projection's lists: they are freed
    /// (the node list stays) once their arcs are dealt out, before the segments are joined, so
    /// the lists, the dealt-out parts and the joined segments are never held all at once.
    pub fn new_releasing(graph: &mut Projection, order: &NodeOrder, segment_len: usize) -> SegmentedInLists {
        let cut = Self::cut(graph, order, segment_len);
        graph.release_lists();
        cut.join()
    }

    /// Deals each block of targets' renamed in-arcs out to the segments of their sources.
    fn cut(graph: &Projection, order: &NodeOrder, segment_len: usize) -> Cut {
        let n = order.order.len();
        let segment_len = segment_len.max(1).next_power_of_two();
        let shift = segment_len.trailing_zeros();
        let segment_count = n.div_ceil(segment_len).max(1);
        let weighted = graph.in_weights().is_some();
        let degrees: Vec<u64> =
            order.order.par_iter().map(|&old| graph.in_offsets()[old as usize + 1] - graph.in_offsets()[old as usize]).collect();
        let offsets = prefix_offsets(&degrees);
        drop(degrees);
        let blocks = block_ranges(&offsets);
        // Each block groups its targets' renamed sources by segment and deals them out.
        let parts: Vec<Vec<SegmentPart>> = blocks
            .par_iter()
            .map(|&(start, end)| {
                let mut parts: Vec<SegmentPart> = (0..segment_count).map(|_| SegmentPart::default()).collect();
                // The block's lists renamed in one linear pass first: the renaming is a random read
                // of `rank` per arc, and only over a long run can its misses be prefetched ahead.
                let mut renamed = Vec::with_capacity((offsets[end] - offsets[start]) as usize);
                for new in start..end {
                    renamed.extend_from_slice(graph.in_neighbors(order.order[new]));
                }
                for k in 0..renamed.len() {
                    if let Some(&ahead) = renamed.get(k + RENAME_PREFETCH_DISTANCE) {
                        prefetch(&order.rank[ahead as usize]);
                    }
                    renamed[k] = order.rank[renamed[k] as usize];
                }
                let mut grouped = Grouped::default();
                for new in start..end {
                    let old = order.order[new] as usize;
                    let (lo, hi) = ((offsets[new] - offsets[start]) as usize, (offsets[new + 1] - offsets[start]) as usize);
                    let weights = graph.in_weights().map(|w| &w[graph.in_offsets()[old] as usize..graph.in_offsets()[old + 1] as usize]);
                    grouped.fill(&renamed[lo..hi], weights, shift);
                    let mut first = 0;
                    while first < grouped.sources.len() {
                        let segment = (grouped.sources[first] >> shift) as usize;
                        let base = (segment as u32) << shift;
                        let end = first + grouped.sources[first..].partition_point(|&u| (u - base) >> shift == 0);
                        let part = &mut parts[segment];
                        part.targets.push(new as u32);
                        part.lengths.push((end - first) as u32);
                        part.sources.extend(grouped.sources[first..end].iter().map(|&u| u - base));
                        if weighted {
                            part.weights.extend_from_slice(&grouped.weights[first..end]);
                        }
                        first = end;
                    }
                }
                parts
            })
            .collect();
        Cut { segment_len, segment_count, weighted, parts }
    }
}

/// The in-arcs of every block of targets dealt out by segment (`parts[block][segment]`), before
/// the segments are joined.
struct Cut {
    segment_len: usize,
    segment_count: usize,
    weighted: bool,
    parts: Vec<Vec<SegmentPart>>,
}

impl Cut {
    /// Joins each segment's parts in block order, freeing them as it goes.
    fn join(self) -> SegmentedInLists {
        let Cut { segment_len, segment_count, weighted, parts } = self;
        let mut by_segment: Vec<Vec<SegmentPart>> = (0..segment_count).map(|_| Vec::with_capacity(parts.len())).collect();
        for block in parts {
            for (segment, part) in by_segment.iter_mut().zip(block) {
                segment.push(part);
            }
        }
        let segments = by_segment
            .into_par_iter()
            .map(|pieces| {
                let entries: usize = pieces.iter().map(|p| p.targets.len()).sum();
                let arcs: usize = pieces.iter().map(|p| p.sources.len()).sum();
                let mut joined = InSegment {
                    targets: Vec::with_capacity(entries),
                    offsets: Vec::with_capacity(entries + 1),
                    sources: huge_page_vec::<u32>(arcs),
                    weights: weighted.then(|| Vec::with_capacity(arcs)),
                    jobs: Vec::new(),
                };
                joined.offsets.push(0);
                let mut filled = 0;
                for piece in pieces {
                    joined.targets.extend_from_slice(&piece.targets);
                    for &length in &piece.lengths {
                        joined.offsets.push(joined.offsets[joined.offsets.len() - 1] + length as u64);
                    }
                    joined.sources[filled..filled + piece.sources.len()].copy_from_slice(&piece.sources);
                    filled += piece.sources.len();
                    if let Some(w) = &mut joined.weights {
                        w.extend_from_slice(&piece.weights);
                    }
                }
                joined.jobs = block_ranges(&joined.offsets).into_iter().map(|(start, _)| start).chain([entries]).collect();
                joined
            })
            .collect();
        SegmentedInLists { segment_len, segments }
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
    fn segmented_in_lists_are_the_same_graph_renamed_and_cut() {
        // Parallel arcs (2 → 1 twice, with different weights) and every segment length from one
        // node per segment to one segment for all.
        let g = Projection::from_edges(
            5,
            &[(0, 1, 2.0), (2, 1, 3.0), (3, 1, 4.0), (2, 1, 7.0), (1, 0, 5.0), (3, 2, 6.0), (4, 2, 1.0), (0, 4, 8.0)],
            false,
            true,
        );
        let o = NodeOrder::by_descending(|v| g.in_neighbors(v).len() as u64, 5);
        for segment_len in 1..=6 {
            let lists = SegmentedInLists::new(&g, &o, segment_len);
            assert_eq!(lists.segment_len, segment_len.next_power_of_two());
            assert_eq!(lists.segments.len(), 5usize.div_ceil(lists.segment_len));
            let mut found: Vec<Vec<(u32, f64)>> = vec![Vec::new(); 5];
            for (s, segment) in lists.segments.iter().enumerate() {
                assert!(segment.targets.windows(2).all(|w| w[0] < w[1]));
                assert_eq!(segment.jobs.first(), Some(&0));
                assert_eq!(segment.jobs.last(), Some(&segment.targets.len()));
                let weights = segment.weights.as_deref().unwrap_or_default();
                for (e, &target) in segment.targets.iter().enumerate() {
                    let (lo, hi) = (segment.offsets[e] as usize, segment.offsets[e + 1] as usize);
                    assert!(hi > lo, "an entry has at least one source");
                    for (&source, &weight) in segment.sources[lo..hi].iter().zip(&weights[lo..hi]) {
                        assert!((source as usize) < lists.segment_len);
                        found[target as usize].push((o.order[s * lists.segment_len + source as usize], weight));
                    }
                }
            }
            for new in 0..5u32 {
                let old = o.order[new as usize];
                let lo = g.in_offsets()[old as usize] as usize;
                let mut expected: Vec<(u32, f64)> =
                    g.in_neighbors(old).iter().enumerate().map(|(k, &u)| (u, g.in_weights().unwrap_or_default()[lo + k])).collect();
                // Grouped by segment, in list order within each.
                expected.sort_by_key(|&(u, _)| o.rank[u as usize] as usize / lists.segment_len);
                assert_eq!(found[new as usize], expected, "target {new}, segments of {segment_len}");
            }
        }
    }
}
