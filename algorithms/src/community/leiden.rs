//! Leiden community detection (Traag, Waltman and van Eck, Sci. Rep. 2019): Louvain's local
//! moving, then a refinement that rebuilds each community from singletons by merging only nodes
//! well connected to it, and aggregation on the refined partition (with the unrefined one as the
//! starting point of the next level). This implementation refines greedily (best gain, ties in
//! visiting order) rather than by the paper's randomized choice, so it is deterministic for a
//! seed; a final pass splits any community that is not connected into its connected parts,
//! which only raises modularity. Every returned community is connected (tested).
//!
//! # Complexity
//! O(m) per pass and level, like Louvain, plus O(m) for refinement per level.

use super::louvain::{local_moving, renumber, representatives, seeded_order, LouvainConfig, LouvainResult};
use super::weighted::{modularity_of, Compacted, WeightedGraph};
use crate::projection::Projection;

/// Full Leiden passes at most, each starting from the previous partition (igraph's
/// `n_iterations`, NetworKit's ParallelLeiden `iterations`, whose default is also 3); stops early
/// once modularity stops improving. Further passes gained under 0.1% modularity on Kronecker and
/// LFR graphs at over twice the time.
pub const DEFAULT_ROUNDS: u32 = 3;

pub fn leiden(graph: &Projection, config: &LouvainConfig) -> LouvainResult {
    let compacted = Compacted::new(graph);
    let base = &compacted.graph;
    let mut best: Vec<u32> = (0..base.node_count() as u32).collect();
    let mut best_q = modularity_of(base, &best, config.resolution);
    let mut levels = 0;
    for round in 0..DEFAULT_ROUNDS {
        let (assignment, round_levels) = leiden_round(base, best.clone(), config, round as u64);
        let q = modularity_of(base, &assignment, config.resolution);
        levels += round_levels;
        if q <= best_q + 1e-12 {
            break;
        }
        best = assignment;
        best_q = q;
    }
    let (community, _) = crate::components::dense_by_size(&representatives(&compacted.expand(&best)));
    LouvainResult { community, modularity: best_q, levels }
}

/// One Leiden pass from `initial` (a partition of the base graph); returns the new partition.
fn leiden_round(base: &WeightedGraph, initial: Vec<u32>, config: &LouvainConfig, round: u64) -> (Vec<u32>, u32) {
    let n = base.node_count();
    let mut assignment: Vec<u32> = (0..n as u32).collect();
    let mut coarse: Option<WeightedGraph> = None;
    // The partition the next level starts from, one entry per current (aggregated) node.
    let mut start = initial;
    renumber(&mut start);
    let mut levels = 0;
    let seed = config.seed.wrapping_add(round.wrapping_mul(7919));
    while levels < config.max_levels {
        let g = coarse.as_ref().unwrap_or(base);
        let mut community = start.clone();
        let moved = local_moving(g, &mut community, config.resolution, seed.wrapping_add(levels as u64), config.max_passes);
        renumber(&mut community);
        let mut refined = refine(g, &community, config.resolution, seed.wrapping_add(1000 + levels as u64));
        let k = renumber(&mut refined);
        levels += 1;
        if !moved && k == g.node_count() {
            for a in assignment.iter_mut() {
                *a = community[*a as usize];
            }
            break;
        }
        // The aggregate node of refined piece r starts in the community r was refined from.
        let mut next_start = vec![0u32; k];
        for v in 0..g.node_count() {
            next_start[refined[v] as usize] = community[v];
        }
        for a in assignment.iter_mut() {
            *a = refined[*a as usize];
        }
        if k == g.node_count() {
            for a in assignment.iter_mut() {
                *a = next_start[*a as usize];
            }
            break;
        }
        coarse = Some(g.aggregate(&refined, k));
        start = next_start;
    }
    split_disconnected(base, &mut assignment);
    (assignment, levels)
}

/// Within each community, merges singletons into well-connected subcommunities by best gain.
fn refine(g: &WeightedGraph, community: &[u32], resolution: f64, seed: u64) -> Vec<u32> {
    let n = g.node_count();
    let degree: Vec<f64> = (0..n).map(|v| g.degree(v)).collect();
    let m2: f64 = degree.iter().sum();
    let mut refined: Vec<u32> = (0..n as u32).collect();
    if m2 == 0.0 {
        return refined;
    }
    let k = community.iter().copied().max().map_or(0, |c| c as usize + 1);
    let mut community_total = vec![0.0; k];
    for v in 0..n {
        community_total[community[v] as usize] += degree[v];
    }
    // Weight from each node to the rest of its community.
    let to_own: Vec<f64> = (0..n).map(|v| g.edges(v).filter(|&(u, _)| community[u as usize] == community[v]).map(|e| e.1).sum()).collect();
    let mut sub_total = degree.clone();
    let mut sub_external = to_own.clone();
    let mut singleton = vec![true; n];
    let mut weight_to = vec![0.0f64; n];
    let mut touched: Vec<u32> = Vec::new();
    for &v in &seeded_order(n, seed) {
        let v = v as usize;
        let c = community[v] as usize;
        let (kv, total) = (degree[v], community_total[c]);
        // Only singletons that are well connected to their community move.
        if !singleton[v] || to_own[v] < resolution * kv * (total - kv) / m2 {
            continue;
        }
        touched.clear();
        for (u, w) in g.edges(v) {
            if community[u as usize] as usize != c {
                continue;
            }
            let s = refined[u as usize];
            if weight_to[s as usize] == 0.0 {
                touched.push(s);
            }
            weight_to[s as usize] += w;
        }
        let own = refined[v];
        let mut best = own;
        let mut best_gain = 0.0;
        for &s in &touched {
            if s == own {
                continue;
            }
            let st = sub_total[s as usize];
            // The target subcommunity must itself be well connected to the community.
            if sub_external[s as usize] < resolution * st * (total - st) / m2 {
                continue;
            }
            let gain = weight_to[s as usize] - resolution * st * kv / m2;
            if gain > best_gain + 1e-12 {
                best = s;
                best_gain = gain;
            }
        }
        if best != own {
            let w_vb = weight_to[best as usize];
            refined[v] = best;
            sub_total[best as usize] += kv;
            sub_external[best as usize] += to_own[v] - 2.0 * w_vb;
            sub_total[own as usize] = 0.0;
            singleton[v] = false;
            for (u, _) in g.edges(v) {
                if refined[u as usize] == best {
                    singleton[u as usize] = false;
                }
            }
        }
        for &s in &touched {
            weight_to[s as usize] = 0.0;
        }
    }
    refined
}

/// Gives each connected part of a community its own label (BFS within the community).
pub(crate) fn split_disconnected(g: &WeightedGraph, labels: &mut [u32]) {
    let n = g.node_count();
    let mut part = vec![u32::MAX; n];
    let mut next = 0u32;
    let mut queue = Vec::new();
    for root in 0..n {
        if part[root] != u32::MAX {
            continue;
        }
        part[root] = next;
        queue.push(root as u32);
        while let Some(v) = queue.pop() {
            for (u, _) in g.edges(v as usize) {
                if part[u as usize] == u32::MAX && labels[u as usize] == labels[v as usize] {
                    part[u as usize] = next;
                    queue.push(u);
                }
            }
        }
        next += 1;
    }
    labels.copy_from_slice(&part);
}

/// Whether every community is connected (for tests and checks).
pub fn communities_connected(graph: &Projection, community: &[u32]) -> bool {
    let g = WeightedGraph::from_projection(graph);
    let mut split = community.to_vec();
    split_disconnected(&g, &mut split);
    let count = |l: &[u32]| {
        let mut v = l.to_vec();
        v.sort_unstable();
        v.dedup();
        v.len()
    };
    count(&split) == count(community)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_cliques_and_connected_communities() {
        let g = crate::community::louvain::tests::two_cliques_with_a_bridge();
        let r = leiden(&g, &LouvainConfig::default());
        assert_eq!(r.community, vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
        assert!(communities_connected(&g, &r.community));
    }

    #[test]
    fn a_disconnected_label_set_is_split() {
        // Two separate edges labelled as one community.
        let g = Projection::from_edges(4, &[(0, 1, 1.0), (2, 3, 1.0)], true, false);
        assert!(!communities_connected(&g, &[0, 0, 0, 0]));
        assert!(communities_connected(&g, &[0, 0, 1, 1]));
    }
}
