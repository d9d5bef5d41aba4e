//! Weakly connected components by Afforest (Sutton, Ben-Nun and Barak, IPDPS 2018): a lock-free
//! union-find that links the larger root under the smaller, first over each node's first two
//! neighbours, then — after sampling to find the giant component — over the remaining edges of
//! nodes outside it only. Every root is the minimum id of its tree, so the labels do not depend on
//! scheduling. Self-loops and edge direction are ignored.
//!
//! # Complexity
//! O(m α(n)) worst case, far less on graphs with a giant component; parallel over nodes; memory
//! one u32 per node.

use std::sync::atomic::{AtomicU32, Ordering};

use rayon::prelude::*;

use super::dense_by_size_hinted;
use crate::locality::prefetch;
use crate::projection::Projection;

#[derive(Clone, Debug, PartialEq)]
pub struct ComponentsResult {
    /// Dense component id per local node: 0 is the largest component, ties by smallest member.
    pub component: Vec<u32>,
    /// Size of each component, by component id.
    pub sizes: Vec<u64>,
}

impl ComponentsResult {
    pub fn count(&self) -> usize {
        self.sizes.len()
    }
}

pub(crate) fn find(parent: &[AtomicU32], mut x: u32) -> u32 {
    loop {
        let p = parent[x as usize].load(Ordering::Relaxed);
        if p == x {
            return x;
        }
        x = p;
    }
}

/// Afforest's link (as in the GAP suite): hooks the larger of the two current parents under the
/// smaller with one CAS, climbing only as far as needed. Cheaper than two full finds, and it never
/// writes along the way, so the links of two threads do not bounce cache lines they only read.
pub(crate) fn link(parent: &[AtomicU32], a: u32, b: u32) {
    let load = |x: u32| parent[x as usize].load(Ordering::Relaxed);
    let (mut p1, mut p2) = (load(a), load(b));
    while p1 != p2 {
        let (high, low) = if p1 > p2 { (p1, p2) } else { (p2, p1) };
        let p_high = load(high);
        if p_high == low
            || (p_high == high && parent[high as usize].compare_exchange(high, low, Ordering::AcqRel, Ordering::Relaxed).is_ok())
        {
            return;
        }
        p1 = load(load(high));
        p2 = load(low);
    }
}

const PREFETCH_DISTANCE: u32 = 16;

/// Neighbours linked in Afforest's first phase.
const NEIGHBOR_ROUNDS: usize = 2;
/// Nodes sampled to guess the largest component.
const SAMPLES: usize = 1024;

pub fn weakly_connected_components(graph: &Projection) -> ComponentsResult {
    let n = graph.node_count();
    let parent: Vec<AtomicU32> = (0..n as u32).into_par_iter().map(AtomicU32::new).collect();
    // Points every node straight at its root. Parents only ever decrease, so a node's chain
    // ends at a root whatever other threads do meanwhile.
    let compress = || {
        (0..n as u32).into_par_iter().with_min_len(1 << 12).for_each(|v| {
            let ahead = parent[(v + PREFETCH_DISTANCE).min(n as u32 - 1) as usize].load(Ordering::Relaxed);
            prefetch(&parent[ahead as usize]);
            let root = find(&parent, v);
            parent[v as usize].store(root, Ordering::Relaxed);
        })
    };
    // Afforest phase 1: link each node to its first few neighbours; most of a skewed graph's
    // giant component forms here from a fraction of the edges. Both neighbours in one sweep: GAP's
    // round per neighbour, with a compress between, costs a second sweep over every node.
    (0..n as u32).into_par_iter().with_min_len(1 << 12).for_each(|v| {
        // The parents of neighbours a few nodes ahead: their cache misses overlap these links.
        for &ahead in graph.out_neighbors((v + PREFETCH_DISTANCE).min(n as u32 - 1)).iter().take(NEIGHBOR_ROUNDS) {
            prefetch(&parent[ahead as usize]);
        }
        for &u in graph.out_neighbors(v).iter().take(NEIGHBOR_ROUNDS) {
            if u != v {
                link(&parent, v, u);
            }
        }
    });
    compress();
    // Phase 2: the most frequent root among evenly spaced samples is (likely) the giant.
    let giant = if n == 0 {
        u32::MAX
    } else {
        let mut roots: Vec<u32> = (0..SAMPLES.min(n)).map(|i| parent[i * n / SAMPLES.min(n)].load(Ordering::Relaxed)).collect();
        roots.sort_unstable();
        let mut best = (0usize, u32::MAX);
        let mut i = 0;
        while i < roots.len() {
            let j = roots[i..].iter().take_while(|&&r| r == roots[i]).count() + i;
            if j - i > best.0 {
                best = (j - i, roots[i]);
            }
            i = j;
        }
        best.1
    };
    // Phase 3: the remaining edges of nodes outside the giant. Every edge with one end outside
    // is still seen from that end: undirected lists hold both ends, and on a directed projection
    // the in-list is walked too.
    (0..n as u32).into_par_iter().for_each(|v| {
        if find(&parent, v) == giant {
            return;
        }
        let skip = if graph.undirected { NEIGHBOR_ROUNDS } else { 0 };
        let out = graph.out_neighbors(v);
        for &u in out.iter().skip(skip.min(out.len())) {
            if u != v {
                link(&parent, v, u);
            }
        }
        if !graph.undirected {
            for &u in graph.in_neighbors(v) {
                if u != v {
                    link(&parent, v, u);
                }
            }
        }
    });
    // Every node's root, read straight into the labels (no second write into `parent`).
    let roots: Vec<u32> = (0..n as u32)
        .into_par_iter()
        .with_min_len(1 << 12)
        .map(|v| {
            let ahead = parent[(v + PREFETCH_DISTANCE).min(n as u32 - 1) as usize].load(Ordering::Relaxed);
            prefetch(&parent[ahead as usize]);
            find(&parent, v)
        })
        .collect();
    // Phase 3 may have hung the giant under a smaller root.
    let giant_root = (giant != u32::MAX).then(|| find(&parent, giant));
    let (component, sizes) = dense_by_size_hinted(&roots, giant_root);
    ComponentsResult { component, sizes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_isolated_nodes_and_self_loops() {
        // {0,1,2} chain (direction ignored), {3,4}, {5} alone with a self-loop, {6} isolated.
        let g = Projection::from_edges(7, &[(1, 0, 1.0), (1, 2, 1.0), (4, 3, 1.0), (5, 5, 1.0)], false, false);
        let r = weakly_connected_components(&g);
        assert_eq!(r.component, vec![0, 0, 0, 1, 1, 2, 3]);
        assert_eq!(r.sizes, vec![3, 2, 1, 1]);
    }
}
