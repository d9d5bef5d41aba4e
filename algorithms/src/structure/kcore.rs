//! Core number per node on the simple undirected view, by the bucket algorithm of Batagelj and
//! Zaversnik (2003): repeatedly remove a node of minimum remaining degree. Sequential and
//! deterministic.
//!
//! # Complexity
//! O(n + m) time; memory four u32 arrays of n.

use crate::projection::Projection;

#[derive(Clone, Debug, PartialEq)]
pub struct CoreResult {
    pub core: Vec<u32>,
    pub max_core: u32,
}

pub fn core_numbers(graph: &Projection) -> CoreResult {
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
        let r = core_numbers(&Projection::from_edges(7, &edges, true, false));
        assert_eq!(r.core, vec![3, 3, 3, 3, 1, 1, 0]);
        assert_eq!(r.max_core, 3);
    }
}
