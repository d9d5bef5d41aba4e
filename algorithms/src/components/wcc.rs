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

use super::dense_by_size;
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

fn find(parent: &[AtomicU32], mut x: u32) -> u32 {
    loop {
        let p = parent[x as usize].load(Ordering::Relaxed);
        if p == x {
            return x;
        }
        let grand = parent[p as usize].load(Ordering::Relaxed);
        // Path halving; losing this race only costs a longer walk later.
        let _ = parent[x as usize].compare_exchange_weak(p, grand, Ordering::Relaxed, Ordering::Relaxed);
        x = p;
    }
}

fn union(parent: &[AtomicU32], a: u32, b: u32) {
    loop {
        let (ra, rb) = (find(parent, a), find(parent, b));
        if ra == rb {
            return;
        }
        let (high, low) = if ra > rb { (ra, rb) } else { (rb, ra) };
        if parent[high as usize].compare_exchange(high, low, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
            return;
        }
    }
}

/// Neighbours linked in Afforest's first phase.
const NEIGHBOR_ROUNDS: usize = 2;
/// Nodes sampled to guess the largest component.
const SAMPLES: usize = 1024;

pub fn weakly_connected_components(graph: &Projection) -> ComponentsResult {
    let n = graph.node_count();
    let parent: Vec<AtomicU32> = (0..n as u32).map(AtomicU32::new).collect();
    let compress = || {
        (0..n as u32).into_par_iter().for_each(|v| {
            let root = find(&parent, v);
            parent[v as usize].store(root, Ordering::Relaxed);
        })
    };
    // Afforest phase 1: link each node to its first few neighbours; most of a skewed graph's
    // giant component forms here from a fraction of the edges.
    for round in 0..NEIGHBOR_ROUNDS {
        (0..n as u32).into_par_iter().for_each(|v| {
            if let Some(&u) = graph.out_neighbors(v).get(round) {
                if u != v {
                    union(&parent, v, u);
                }
            }
        });
        compress();
    }
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
                union(&parent, v, u);
            }
        }
        if !graph.undirected {
            for &u in graph.in_neighbors(v) {
                if u != v {
                    union(&parent, v, u);
                }
            }
        }
    });
    let roots: Vec<u32> = (0..n as u32).into_par_iter().map(|v| find(&parent, v)).collect();
    let (component, sizes) = dense_by_size(&roots);
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
