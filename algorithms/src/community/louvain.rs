//! Louvain community detection (Blondel et al., J. Stat. Mech. 2008): local moving of single
//! nodes to the neighbouring community of best modularity gain, then aggregation of communities
//! into nodes, repeated while modularity improves. Weighted, with a resolution parameter γ
//! (Reichardt–Bornholdt): Q = Σ_c [ Σ_in(c) / 2m − γ (Σ_tot(c) / 2m)² ].
//!
//! The view is undirected: on a directed projection an edge's weight counts at both ends (A + Aᵀ).
//! Self-loops add their weight to the node's own community, counted twice (the usual convention,
//! as in networkx and igraph). Deterministic for a seed: nodes are visited in a seeded
//! pseudo-random order, sequentially, and gains tie to the smallest community id, so the thread
//! count does not matter. Aggregation is parallel.
//!
//! # Complexity
//! O(m) per local-moving pass, a few passes per level, O(log n) levels in practice.

use std::collections::VecDeque;

use rayon::prelude::*;

use crate::projection::Projection;

pub const DEFAULT_RESOLUTION: f64 = 1.0;
pub const DEFAULT_SEED: u64 = 42;
/// A move must raise modularity by more than this to count (stops endless tiny swaps).
pub const DEFAULT_MIN_GAIN: f64 = 1e-12;

#[derive(Clone, Debug, PartialEq)]
pub struct LouvainConfig {
    /// γ > 0: larger gives more, smaller communities.
    pub resolution: f64,
    /// Seeds the node visiting order.
    pub seed: u64,
    /// Upper bound on aggregation levels.
    pub max_levels: u32,
    /// Upper bound on local-moving passes per level.
    pub max_passes: u32,
}

impl Default for LouvainConfig {
    fn default() -> Self {
        LouvainConfig { resolution: DEFAULT_RESOLUTION, seed: DEFAULT_SEED, max_levels: 20, max_passes: 50 }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LouvainResult {
    /// Community per local node, dense, ordered by size (0 = largest), ties by smallest member.
    pub community: Vec<u32>,
    pub modularity: f64,
    pub levels: u32,
}

/// A weighted undirected graph in CSR form; `loops[v]` is v's self-loop weight as it appears in
/// the symmetric adjacency (2w for a loop of weight w).
#[derive(Clone, Debug)]
pub(crate) struct WeightedGraph {
    pub offsets: Vec<u64>,
    pub targets: Vec<u32>,
    pub weights: Vec<f64>,
    pub loops: Vec<f64>,
}

impl WeightedGraph {
    pub fn from_projection(p: &Projection) -> WeightedGraph {
        let n = p.node_count();
        let weight_of = |w: &Option<Vec<f64>>, i: usize| w.as_ref().map_or(1.0, |w| w[i]);
        let lists: Vec<(Vec<(u32, f64)>, f64)> = (0..n as u32)
            .into_par_iter()
            .map(|v| {
                let mut list: Vec<(u32, f64)> = Vec::new();
                let (lo, hi) = (p.out_offsets[v as usize] as usize, p.out_offsets[v as usize + 1] as usize);
                list.extend((lo..hi).map(|i| (p.out_targets[i], weight_of(&p.out_weights, i))));
                if !p.undirected {
                    let (lo, hi) = (p.in_offsets[v as usize] as usize, p.in_offsets[v as usize + 1] as usize);
                    list.extend((lo..hi).map(|i| (p.in_sources[i], weight_of(&p.in_weights, i))));
                }
                let mut loops = 0.0;
                list.retain(|&(u, w)| {
                    if u == v {
                        loops += w;
                        false
                    } else {
                        true
                    }
                });
                (merge_by_target(list), loops)
            })
            .collect();
        Self::from_lists(lists)
    }

    fn from_lists(lists: Vec<(Vec<(u32, f64)>, f64)>) -> WeightedGraph {
        let mut offsets = Vec::with_capacity(lists.len() + 1);
        offsets.push(0u64);
        for (l, _) in &lists {
            offsets.push(offsets[offsets.len() - 1] + l.len() as u64);
        }
        let loops = lists.iter().map(|(_, s)| *s).collect();
        let targets = lists.iter().flat_map(|(l, _)| l.iter().map(|e| e.0)).collect();
        let weights = lists.iter().flat_map(|(l, _)| l.iter().map(|e| e.1)).collect();
        WeightedGraph { offsets, targets, weights, loops }
    }

    pub fn node_count(&self) -> usize {
        self.loops.len()
    }

    pub fn edges(&self, v: usize) -> impl Iterator<Item = (u32, f64)> + '_ {
        let (lo, hi) = (self.offsets[v] as usize, self.offsets[v + 1] as usize);
        self.targets[lo..hi].iter().copied().zip(self.weights[lo..hi].iter().copied())
    }

    /// k_v: weighted degree, self-loops included.
    pub fn degree(&self, v: usize) -> f64 {
        self.edges(v).map(|e| e.1).sum::<f64>() + self.loops[v]
    }

    /// Merges nodes by `community` (dense ids `0..k`).
    pub fn aggregate(&self, community: &[u32], k: usize) -> WeightedGraph {
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); k];
        for (v, &c) in community.iter().enumerate() {
            members[c as usize].push(v as u32);
        }
        let lists: Vec<(Vec<(u32, f64)>, f64)> = members
            .par_iter()
            .map(|nodes| {
                let mut list: Vec<(u32, f64)> = Vec::new();
                let mut loops = 0.0;
                for &v in nodes {
                    loops += self.loops[v as usize];
                    for (u, w) in self.edges(v as usize) {
                        let cu = community[u as usize];
                        if cu == community[v as usize] {
                            loops += w;
                        } else {
                            list.push((cu, w));
                        }
                    }
                }
                (merge_by_target(list), loops)
            })
            .collect();
        Self::from_lists(lists)
    }
}

/// Sorts a weighted list by target and adds up the weights of repeated targets.
fn merge_by_target(mut list: Vec<(u32, f64)>) -> Vec<(u32, f64)> {
    list.sort_by_key(|e| e.0);
    let mut merged: Vec<(u32, f64)> = Vec::with_capacity(list.len());
    for (u, w) in list {
        match merged.last_mut() {
            Some(last) if last.0 == u => last.1 += w,
            _ => merged.push((u, w)),
        }
    }
    merged
}

/// Modularity of a partition of `graph` (the undirected view) at resolution γ.
pub fn modularity(graph: &Projection, community: &[u32], resolution: f64) -> f64 {
    modularity_of(&WeightedGraph::from_projection(graph), community, resolution)
}

pub(crate) fn modularity_of(g: &WeightedGraph, community: &[u32], resolution: f64) -> f64 {
    let n = g.node_count();
    let k = community.iter().copied().max().map_or(0, |c| c as usize + 1);
    let mut inside = vec![0.0; k];
    let mut total = vec![0.0; k];
    let mut m2 = 0.0;
    for v in 0..n {
        let c = community[v] as usize;
        let kv = g.degree(v);
        m2 += kv;
        total[c] += kv;
        inside[c] += g.loops[v];
        for (u, w) in g.edges(v) {
            if community[u as usize] as usize == c {
                inside[c] += w;
            }
        }
    }
    if m2 == 0.0 {
        return 0.0;
    }
    (0..k).map(|c| inside[c] / m2 - resolution * (total[c] / m2).powi(2)).sum()
}

/// A deterministic permutation of `0..n` (splitmix64-driven Fisher–Yates).
pub(crate) fn seeded_order(n: usize, seed: u64) -> Vec<u32> {
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    for i in (1..n).rev() {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        order.swap(i, (z % (i as u64 + 1)) as usize);
    }
    order
}

/// One round of local moving; returns whether any node moved. `community` is updated in place.
pub(crate) fn local_moving(g: &WeightedGraph, community: &mut [u32], resolution: f64, seed: u64, max_passes: u32) -> bool {
    let n = g.node_count();
    let degree: Vec<f64> = (0..n).into_par_iter().map(|v| g.degree(v)).collect();
    let m2: f64 = degree.iter().sum();
    if m2 == 0.0 {
        return false;
    }
    let mut total = vec![0.0; n];
    for v in 0..n {
        total[community[v] as usize] += degree[v];
    }
    // The fast local move of Traag, Waltman and van Eck (2019): a queue in seeded order; a node
    // that moves re-queues its neighbours outside its new community, and only they are visited
    // again, instead of full passes over nodes whose surroundings never changed.
    let mut queue: VecDeque<u32> = seeded_order(n, seed).into();
    let mut queued = vec![true; n];
    let mut weight_to = vec![0.0f64; n];
    let mut touched: Vec<u32> = Vec::new();
    let mut moved_any = false;
    // Bounds the visits like `max_passes` full passes would.
    let mut budget = max_passes as usize * n;
    while let Some(v) = queue.pop_front() {
        if budget == 0 {
            break;
        }
        budget -= 1;
        let v = v as usize;
        queued[v] = false;
        let own = community[v];
        touched.clear();
        for (u, w) in g.edges(v) {
            let c = community[u as usize];
            if weight_to[c as usize] == 0.0 {
                touched.push(c);
            }
            weight_to[c as usize] += w;
        }
        total[own as usize] -= degree[v];
        let kv = degree[v];
        let gain = |c: u32, w: f64| w - resolution * total[c as usize] * kv / m2;
        let mut best = own;
        let mut best_gain = gain(own, weight_to[own as usize]);
        for &c in &touched {
            let g_c = gain(c, weight_to[c as usize]);
            // Strictly better only: neighbours are visited in sorted order, so ties resolve
            // the same way on every run, and a node never leaves for an equal community.
            if g_c > best_gain + DEFAULT_MIN_GAIN {
                best = c;
                best_gain = g_c;
            }
        }
        total[best as usize] += kv;
        for &c in &touched {
            weight_to[c as usize] = 0.0;
        }
        if best != own {
            community[v] = best;
            moved_any = true;
            for (u, _) in g.edges(v) {
                if !queued[u as usize] && community[u as usize] != best {
                    queued[u as usize] = true;
                    queue.push_back(u);
                }
            }
        }
    }
    moved_any
}

/// Renumbers labels densely by first appearance; returns the count.
pub(crate) fn renumber(labels: &mut [u32]) -> usize {
    let mut map = vec![u32::MAX; labels.len()];
    let mut next = 0u32;
    for l in labels.iter_mut() {
        if map[*l as usize] == u32::MAX {
            map[*l as usize] = next;
            next += 1;
        }
        *l = map[*l as usize];
    }
    next as usize
}

pub fn louvain(graph: &Projection, config: &LouvainConfig) -> LouvainResult {
    let base = WeightedGraph::from_projection(graph);
    let n = base.node_count();
    let mut assignment: Vec<u32> = (0..n as u32).collect();
    let mut g = base.clone();
    let mut levels = 0;
    while levels < config.max_levels {
        let mut community: Vec<u32> = (0..g.node_count() as u32).collect();
        let moved = local_moving(&g, &mut community, config.resolution, config.seed.wrapping_add(levels as u64), config.max_passes);
        let k = renumber(&mut community);
        levels += 1;
        for a in assignment.iter_mut() {
            *a = community[*a as usize];
        }
        if !moved || k == g.node_count() {
            break;
        }
        g = g.aggregate(&community, k);
    }
    let modularity = modularity_of(&base, &assignment, config.resolution);
    let (community, _) = crate::components::dense_by_size(&representatives(&assignment));
    LouvainResult { community, modularity, levels }
}

/// Per node, the smallest member of its community (a canonical label for `dense_by_size`).
pub(crate) fn representatives(labels: &[u32]) -> Vec<u32> {
    let k = labels.iter().copied().max().map_or(0, |c| c as usize + 1);
    let mut smallest = vec![u32::MAX; k];
    for (v, &c) in labels.iter().enumerate() {
        smallest[c as usize] = smallest[c as usize].min(v as u32);
    }
    labels.iter().map(|&c| smallest[c as usize]).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Two 5-cliques joined by one edge (also used by the Leiden tests).
    pub(crate) fn two_cliques_with_a_bridge() -> Projection {
        let mut edges = Vec::new();
        for base in [0u32, 5] {
            for a in 0..5 {
                for b in a + 1..5 {
                    edges.push((base + a, base + b, 1.0));
                }
            }
        }
        edges.push((4, 5, 1.0));
        Projection::from_edges(10, &edges, true, false)
    }

    #[test]
    fn finds_the_two_cliques_and_their_modularity() {
        let g = two_cliques_with_a_bridge();
        let r = louvain(&g, &LouvainConfig::default());
        assert_eq!(r.community, vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
        // m = 21 edges; each clique: 10 internal edges, degree total 21. Q = 2(20/42 − (21/42)²).
        let expected = 2.0 * (20.0 / 42.0 - 0.25);
        assert!((r.modularity - expected).abs() < 1e-12, "{}", r.modularity);
        assert!((modularity(&g, &r.community, 1.0) - expected).abs() < 1e-12);
    }

    #[test]
    fn modularity_by_hand_with_a_self_loop() {
        // Edge 0-1 (w 1) and a self-loop on 1 (w 1): degrees k0 = 1, k1 = 1 + 2 = 3, 2m = 4.
        let g = Projection::from_edges(2, &[(0, 1, 1.0), (1, 1, 1.0)], true, false);
        let together = modularity(&g, &[0, 0], 1.0);
        assert!((together - 0.0).abs() < 1e-12, "{together}"); // 4/4 − (4/4)²
        let apart = modularity(&g, &[0, 1], 1.0);
        assert!((apart - (2.0 / 4.0 - (1.0f64 / 4.0).powi(2) - (3.0f64 / 4.0).powi(2))).abs() < 1e-12, "{apart}");
    }

    #[test]
    fn higher_resolution_never_gives_fewer_communities_here() {
        let g = two_cliques_with_a_bridge();
        let coarse = louvain(&g, &LouvainConfig { resolution: 0.1, ..Default::default() });
        let fine = louvain(&g, &LouvainConfig { resolution: 3.0, ..Default::default() });
        let count = |r: &LouvainResult| r.community.iter().max().map_or(0, |m| m + 1);
        assert!(count(&coarse) <= count(&fine));
    }
}
