//! Compressed sparse rows: the adjacency of one relation in one direction.
//!
//! Rows cover one contiguous id range `row_start..row_start + rows` (the kinds a relation allows
//! at that end: kinds are contiguous id ranges), so a relation between firms costs nothing per
//! person. Offsets are `u32`: a relation holds fewer than 2^32 edges (checked by the builder).
//!
//! Invariant: `offsets.len() == rows + 1`, `offsets[0] == 0`, `offsets` is non-decreasing and
//! `offsets[rows] == targets.len()`; every target is `< target_count`. The neighbours of `v` are
//! `targets[offsets[v - row_start]..offsets[v - row_start + 1]]`, empty outside the row range.
//! Built by a parallel counting sort; the order within a list is fixed by a sort key, never by
//! thread timing.

use std::ops::Range;
use std::sync::atomic::{AtomicU32, Ordering};

use rayon::prelude::*;

use crate::column::Column;
use crate::kinds::NodeId;

#[derive(Debug, Default)]
pub struct Csr {
    pub(crate) row_start: u32,
    pub(crate) offsets: Column<u32>,
    pub(crate) targets: Column<NodeId>,
}

impl Csr {
    /// The first row's id.
    pub fn row_start(&self) -> u32 {
        self.row_start
    }

    pub fn rows(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn edge_count(&self) -> usize {
        self.targets.len()
    }

    #[inline]
    pub fn range(&self, row: NodeId) -> Range<usize> {
        let i = row.0.wrapping_sub(self.row_start) as usize;
        if i + 1 < self.offsets.len() {
            self.offsets[i] as usize..self.offsets[i + 1] as usize
        } else {
            0..0
        }
    }

    #[inline]
    pub fn neighbors(&self, row: NodeId) -> &[NodeId] {
        &self.targets[self.range(row)]
    }

    /// The neighbours of `row` as raw ids (for algorithms over plain `u32` adjacency).
    #[inline]
    pub fn neighbor_ids(&self, row: NodeId) -> &[u32] {
        bytemuck::cast_slice(self.neighbors(row))
    }

    #[inline]
    pub fn degree(&self, row: NodeId) -> usize {
        self.range(row).len()
    }

    /// Offsets of rows `row_start..`, see the module invariant.
    pub fn offsets(&self) -> &[u32] {
        &self.offsets
    }

    pub fn targets(&self) -> &[NodeId] {
        &self.targets
    }

    pub fn byte_len(&self) -> usize {
        self.offsets.byte_len() + self.targets.byte_len()
    }

    /// Checks the invariant in the module doc (used on snapshot load).
    pub fn is_well_formed(&self, target_count: usize) -> bool {
        let offsets = &*self.offsets;
        if offsets.first() != Some(&0) || offsets.last().map(|&m| m as usize) != Some(self.targets.len()) {
            return false;
        }
        let monotone = offsets.par_windows(2).all(|w| w[0] <= w[1]);
        monotone && self.targets.par_iter().all(|t| t.index() < target_count)
    }

    pub(crate) fn from_parts(row_start: u32, offsets: Column<u32>, targets: Column<NodeId>) -> Self {
        Csr { row_start, offsets, targets }
    }
}

/// The permutation that groups edges by `rows[e] - row_start` (a counting sort; every row id must
/// lie in `row_start..row_start + row_count`), ordering each group by `(key(e), e)`. Returns the
/// CSR offsets and, for each output position, the input edge index. `rows.len() < 2^32`.
///
/// # Complexity
/// O(m + n) work for the counting sort plus O(d log d) per row for the in-row order; parallel.
pub fn group_by_row<K, F>(rows: &[NodeId], row_start: u32, row_count: usize, key: F) -> (Vec<u32>, Vec<u32>)
where
    K: Ord + Send + Sync,
    F: Fn(u32) -> K + Sync,
{
    let counts: Vec<AtomicU32> = (0..row_count).map(|_| AtomicU32::new(0)).collect();
    let slot = |r: &NodeId| (r.0 - row_start) as usize;
    rows.par_iter().for_each(|r| {
        counts[slot(r)].fetch_add(1, Ordering::Relaxed);
    });
    let mut offsets = Vec::with_capacity(row_count + 1);
    let mut total = 0u32;
    offsets.push(0);
    for count in &counts {
        total += count.load(Ordering::Relaxed);
        offsets.push(total);
    }
    // Reuse the counters as per-row write cursors.
    counts.par_iter().zip(offsets.par_iter()).for_each(|(c, &start)| c.store(start, Ordering::Relaxed));
    // Edge indices fit u32: the graph builder refuses relations of 2^32 edges or more.
    let order: Vec<AtomicU32> = (0..rows.len()).map(|_| AtomicU32::new(0)).collect();
    rows.par_iter().enumerate().for_each(|(edge, r)| {
        let at = counts[slot(r)].fetch_add(1, Ordering::Relaxed);
        order[at as usize].store(edge as u32, Ordering::Relaxed);
    });
    // The scatter above is racy in order within a row; sorting each row by (key, edge) restores
    // determinism. Keys are gathered once, so the sorts run on contiguous memory instead of
    // chasing each edge's attributes at every comparison.
    let mut keyed: Vec<(K, u32)> = order
        .into_par_iter()
        .map(|e| {
            let e = e.into_inner();
            (key(e), e)
        })
        .collect();
    let mut segments: Vec<&mut [(K, u32)]> = Vec::with_capacity(row_count);
    let mut rest: &mut [(K, u32)] = &mut keyed;
    for w in offsets.windows(2) {
        let (head, tail) = rest.split_at_mut((w[1] - w[0]) as usize);
        segments.push(head);
        rest = tail;
    }
    segments.into_par_iter().for_each(|segment| {
        if segment.len() > 1 {
            segment.sort_unstable();
        }
    });
    let order = keyed.into_par_iter().map(|(_, e)| e).collect();
    (offsets, order)
}

/// Gathers `values[order[i]]` for each `i`, in parallel.
pub fn gather<T: Copy + Send + Sync>(values: &[T], order: &[u32]) -> Vec<T> {
    order.par_iter().map(|&e| values[e as usize]).collect()
}

/// Hints the cache to fetch `x`: random gathers issued a few iterations early overlap their
/// misses instead of waiting on each in turn.
#[inline(always)]
pub fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that never faults and changes nothing the program observes.
    unsafe {
        std::arch::x86_64::_mm_prefetch(x as *const T as *const i8, std::arch::x86_64::_MM_HINT_T0)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_is_a_stable_counting_sort_with_keys() {
        let rows = [NodeId(2), NodeId(0), NodeId(2), NodeId(1), NodeId(2)];
        let keys = [30, 5, 10, 7, 10];
        let (offsets, order) = group_by_row(&rows, 0, 4, |e| keys[e as usize]);
        assert_eq!(offsets, vec![0, 1, 2, 5, 5]);
        // Row 2 holds edges 0 (key 30), 2 (key 10), 4 (key 10): by key, then by input index.
        assert_eq!(order, vec![1, 3, 2, 4, 0]);
    }

    #[test]
    fn rows_outside_the_range_have_no_neighbours() {
        let csr = Csr::from_parts(10, vec![0, 2, 3].into(), vec![NodeId(1), NodeId(2), NodeId(0)].into());
        assert_eq!(csr.neighbors(NodeId(10)), &[NodeId(1), NodeId(2)]);
        assert_eq!(csr.neighbors(NodeId(11)), &[NodeId(0)]);
        assert!(csr.neighbors(NodeId(9)).is_empty());
        assert!(csr.neighbors(NodeId(12)).is_empty());
    }

    #[test]
    fn well_formedness_catches_bad_offsets_and_targets() {
        let good = Csr::from_parts(0, vec![0, 1, 2].into(), vec![NodeId(1), NodeId(0)].into());
        assert!(good.is_well_formed(2));
        assert!(!good.is_well_formed(1));
        let bad = Csr::from_parts(0, vec![0, 2, 1].into(), vec![NodeId(1), NodeId(0)].into());
        assert!(!bad.is_well_formed(2));
    }
}
