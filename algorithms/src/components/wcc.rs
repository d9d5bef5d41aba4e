//! Weakly connected components by a lock-free union-find over all edges in parallel, linking the
//! larger root under the smaller (Shiloach–Vishkin style hooking, as in Afforest, Sutton et al.
//! 2018, without the sampling phase). Every root is the minimum id of its tree, so the final labels
//! do not depend on scheduling. Self-loops and edge direction are ignored.
//!
//! # Complexity
//! O(m α(n)) expected work, parallel over nodes; memory one u32 per node.

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

pub fn weakly_connected_components(graph: &Projection) -> ComponentsResult {
    let n = graph.node_count();
    let parent: Vec<AtomicU32> = (0..n as u32).map(AtomicU32::new).collect();
    (0..n as u32).into_par_iter().for_each(|v| {
        for &u in graph.out_neighbors(v) {
            if u != v {
                union(&parent, v, u);
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
