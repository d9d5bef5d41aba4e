//! Core number per node on the simple undirected view, by parallel level-synchronous peeling
//! (Dasari et al., "ParK", 2014; Dhulipala et al., "Julienne", 2017): for k = 0, 1, …, remove
//! every remaining node of degree ≤ k, in rounds, lowering its neighbours' degrees atomically; a
//! neighbour that drops from k + 1 to k joins the next round. Core numbers are unique, so the
//! result is the same for any thread count. `core_numbers_sequential` is the O(n + m) bucket
//! algorithm of Batagelj and Zaversnik (2003), kept as the reference the tests compare against.
//!
//! # Complexity
//! O(m + n·L) work, L the number of distinct core numbers (one scan of the remaining nodes per
//! level that occurs), parallel; memory three u32
//! arrays of n plus the frontiers.

use std::sync::atomic::{AtomicU32, Ordering};

use rayon::prelude::*;

use crate::projection::Projection;

#[derive(Clone, Debug, PartialEq)]
pub struct CoreResult {
    pub core: Vec<u32>,
    pub max_core: u32,
}

pub fn core_numbers(graph: &Projection) -> CoreResult {
    let (offsets, neighbors) = graph.simple_undirected();
    let n = graph.node_count();
    let list = |v: u32| &neighbors[offsets[v as usize] as usize..offsets[v as usize + 1] as usize];
    let degree: Vec<AtomicU32> = (0..n).map(|v| AtomicU32::new((offsets[v + 1] - offsets[v]) as u32)).collect();
    const ALIVE: u32 = u32::MAX;
    let core: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(ALIVE)).collect();
    let mut alive: Vec<u32> = (0..n as u32).collect();
    let mut k = 0u32;
    while !alive.is_empty() {
        let mut frontier: Vec<u32> = alive.par_iter().copied().filter(|&v| degree[v as usize].load(Ordering::Relaxed) <= k).collect();
        while !frontier.is_empty() {
            frontier.par_iter().for_each(|&v| core[v as usize].store(k, Ordering::Relaxed));
            frontier = frontier
                .par_iter()
                .flat_map_iter(|&v| list(v).iter().copied())
                .filter(|&u| {
                    let lowered = degree[u as usize].fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| (d > k).then(|| d - 1));
                    // Exactly one decrement takes a node from k + 1 to k: it joins this level.
                    lowered == Ok(k + 1)
                })
                .collect();
        }
        alive = alive.into_par_iter().filter(|&v| core[v as usize].load(Ordering::Relaxed) == ALIVE).collect();
        // Levels no remaining node has are skipped: the next one is the smallest degree left.
        k = alive.par_iter().map(|&v| degree[v as usize].load(Ordering::Relaxed)).min().map_or(k + 1, |d| d.max(k + 1));
    }
    let core: Vec<u32> = core.into_iter().map(AtomicU32::into_inner).collect();
    let max_core = core.iter().copied().max().unwrap_or(0);
    CoreResult { core, max_core }
}

/// Batagelj–Zaversnik bucket peeling: sequential, O(n + m).
pub fn core_numbers_sequential(graph: &Projection) -> CoreResult {
    let (offsets, neighbors) = graph.simple_undirected();
    let n = graph.node_count();
    let mut degree: Vec<u32> = (0..n).map(|v| (offsets[v + 1] - offsets[v]) as u32).collect();
    let max_degree = degree.iter().copied().max().unwrap_or(0) as usize;
    // Nodes sorted by degree (counting sort), with each degree's first position.
    let mut bin = vec![0u32; max_degree + 2];
    for &d in &degree {
        bin[d as usize + 1] += 1;
    }
    for d in 1..bin.len() {
        bin[d] += bin[d - 1];
    }
    let mut pos = vec![0u32; n];
    let mut order = vec![0u32; n];
    let mut next = bin.clone();
    for v in 0..n {
        let d = degree[v] as usize;
        pos[v] = next[d];
        order[next[d] as usize] = v as u32;
        next[d] += 1;
    }
    for i in 0..n {
        let v = order[i] as usize;
        for &u in &neighbors[offsets[v] as usize..offsets[v + 1] as usize] {
            let u = u as usize;
            if degree[u] > degree[v] {
                // Move u to the front of its degree bucket, then shrink its degree by one.
                let du = degree[u] as usize;
                let (pu, pw) = (pos[u] as usize, bin[du] as usize);
                let w = order[pw] as usize;
                if u != w {
                    order.swap(pu, pw);
                    pos[u] = pw as u32;
                    pos[w] = pu as u32;
                }
                bin[du] += 1;
                degree[u] -= 1;
            }
        }
    }
    let max_core = degree.iter().copied().max().unwrap_or(0);
    CoreResult { core: degree, max_core }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clique_with_a_tail() {
        // 4-clique {0,1,2,3}, tail 3-4-5, isolated 6.
        let mut edges = vec![];
        for a in 0..4u32 {
            for b in a + 1..4 {
                edges.push((a, b, 1.0));
            }
        }
        edges.extend([(3, 4, 1.0), (4, 5, 1.0)]);
        let g = Projection::from_edges(7, &edges, true, false);
        let r = core_numbers(&g);
        assert_eq!(r.core, vec![3, 3, 3, 3, 1, 1, 0]);
        assert_eq!(r.max_core, 3);
        assert_eq!(core_numbers_sequential(&g), r);
    }

    #[test]
    fn parallel_peeling_equals_the_bucket_algorithm_on_random_graphs() {
        let mut state = 12345u64;
        for n in [10u32, 100, 1000] {
            let mut edges = Vec::new();
            for _ in 0..n * 4 {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let (a, b) = ((state >> 33) as u32 % n, (state >> 13) as u32 % n);
                edges.push((a, b, 1.0));
            }
            let g = Projection::from_edges(n as usize, &edges, true, false);
            assert_eq!(core_numbers(&g), core_numbers_sequential(&g));
        }
    }
}
