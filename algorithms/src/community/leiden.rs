//! Leiden community detection (Traag, Waltman and van Eck, Sci. Rep. 2019): Louvain's local
//! moving, then a refinement that rebuilds each community from singletons by merging only nodes
//! well connected to it, and aggregation on the refined partition (with the unrefined one as the
//! starting point of the next level). This implementation refines greedily (best gain) rather
//! than by the paper's randomized choice, so it is deterministic for a seed. After the last round,
//! one more local moving of the base nodes, then a pass that splits any community that is not
//! connected into its connected parts; both only raise modularity.
//! Every returned community is connected (tested).
//!
//! Local moving and refinement both run in seeded batches whose choices are made in parallel and
//! applied in order (see [`refine_in_batches`] and `louvain::local_moving`), so the result does
//! not depend on the thread count.
//!
//! # Complexity
//! O(m) per pass and level, like Louvain, plus O(m) for refinement per level.

use std::sync::atomic::{AtomicU32, Ordering};

use rayon::prelude::*;

use super::louvain::{batch_size, local_moving, renumber, representatives, seeded_order, LouvainConfig, LouvainResult};
use super::weighted::{modularity_of, with_table, Compacted, WeightedGraph};
use crate::components::wcc::{find, link};
use crate::locality::prefetch;
use crate::projection::Projection;

/// Full Leiden passes at most, each starting from the previous partition (igraph's
/// `n_iterations`, NetworKit's ParallelLeiden `iterations`, whose default is also 3); stops early
/// once modularity stops improving. Further passes gained under 0.1% modularity on Kronecker and
/// LFR graphs at over twice the time.
pub const DEFAULT_ROUNDS: u32 = 3;

/// Passes of local moving on the base graph in the first round, which starts from singletons.
/// The passes after the first few move ever fewer nodes (on the enterprise graph, passes 4–14
/// moved 14% of them at 45% of the level's time), and the next round's local moving on the
/// base graph starts from this partition and revisits those nodes anyway; after the last round
/// a local moving of the base nodes runs to convergence. Measured against no cap: enterprise
/// 4% faster at higher modularity (0.475022 against 0.474907), Kronecker scale 22 7% faster at
/// 0.02% lower modularity (0.075464 against 0.075481); a cap of 2 lost 0.2% there.
const FIRST_ROUND_BASE_PASSES: u32 = 3;

pub fn leiden(graph: &Projection, config: &LouvainConfig) -> LouvainResult {
    crate::pool::on_pool(|| leiden_on_pool(graph, config))
}

fn leiden_on_pool(graph: &Projection, config: &LouvainConfig) -> LouvainResult {
    let compacted = Compacted::new(graph);
    let base = &compacted.graph;
    let mut best: Vec<u32> = (0..base.node_count() as u32).collect();
    // Round 0 only makes moves that gain, so it cannot end below the singletons' modularity:
    // no need to spend a pass over every arc computing that.
    let mut best_q = f64::NEG_INFINITY;
    let mut levels = 0;
    for round in 0..DEFAULT_ROUNDS {
        let (assignment, q, round_levels) = leiden_round(base, best.clone(), config, round as u64);
        levels += round_levels;
        if q <= best_q + 1e-12 {
            break;
        }
        best = assignment;
        best_q = q;
    }
    // A last local moving of the base nodes: each round ends on its coarsest graph, where a node
    // moves with its whole piece; single nodes that fit better elsewhere move here (NetworKit's
    // PLM `refine`, at the finest level only). It can only raise modularity.
    let moved = local_moving(base, &mut best, config.resolution, seed_of_round(config, DEFAULT_ROUNDS as u64), config.max_passes);
    // Only the returned partition needs connected communities: a round may start from
    // disconnected ones (its refinement only ever merges connected nodes). Splitting cannot lower
    // modularity, and most often finds nothing to split.
    let split = split_disconnected(base, &mut best);
    if moved || split {
        best_q = modularity_of(base, &best, config.resolution);
    }
    let (community, _) = crate::components::dense_by_size(&representatives(&compacted.expand(&best)));
    LouvainResult { community, modularity: best_q, levels }
}

fn seed_of_round(config: &LouvainConfig, round: u64) -> u64 {
    config.seed.wrapping_add(round.wrapping_mul(7919))
}

/// One Leiden pass from `initial` (a partition of the base graph); returns the new partition, its
/// modularity and the number of levels. The modularity is taken on the last aggregated graph,
/// where the partition is a few thousand nodes' labels: the same value as on the base graph (an
/// aggregate keeps the weight inside and the total degree of every community), up to rounding.
/// Each aggregated graph is built in the arrays of the one two levels up (see
/// `WeightedGraph::build`); none is kept from round to round, as it would then be held while the
/// next round works on the base graph, its largest.
fn leiden_round(base: &WeightedGraph, initial: Vec<u32>, config: &LouvainConfig, round: u64) -> (Vec<u32>, f64, u32) {
    // The graph two levels up, whose arrays the next aggregation reuses.
    let mut spare: Option<WeightedGraph> = None;
    let n = base.node_count();
    let mut assignment: Vec<u32> = (0..n as u32).collect();
    let mut coarse: Option<WeightedGraph> = None;
    // The partition the next level starts from, one entry per current (aggregated) node.
    let mut start = initial;
    renumber(&mut start);
    let mut levels = 0;
    let seed = seed_of_round(config, round);
    let q = loop {
        let g = coarse.as_ref().unwrap_or(base);
        if levels == config.max_levels {
            // Out of levels: the current nodes stay in the communities they start from.
            assignment.par_iter_mut().for_each(|a| *a = start[*a as usize]);
            break modularity_of(g, &start, config.resolution);
        }
        let mut community = start.clone();
        let passes = if round == 0 && levels == 0 { config.max_passes.min(FIRST_ROUND_BASE_PASSES) } else { config.max_passes };
        local_moving(g, &mut community, config.resolution, seed.wrapping_add(levels as u64), passes);
        renumber(&mut community);
        let mut refined = refine(g, &community, config.resolution, seed.wrapping_add(1000 + levels as u64));
        let k = renumber(&mut refined);
        levels += 1;
        // Nothing merged: a coarser level would be this one again, so the current nodes take
        // their communities.
        if k == g.node_count() {
            assignment.par_iter_mut().for_each(|a| *a = community[*a as usize]);
            break modularity_of(g, &community, config.resolution);
        }
        // The aggregate node of refined piece r starts in the community r was refined from.
        let mut next_start = vec![0u32; k];
        for v in 0..g.node_count() {
            next_start[refined[v] as usize] = community[v];
        }
        assignment.par_iter_mut().for_each(|a| *a = refined[*a as usize]);
        let next = g.aggregate(&refined, k, spare.take());
        spare = coarse.replace(next);
        start = next_start;
    };
    (assignment, q, levels)
}

/// Within each community, merges singletons into well-connected subcommunities by best gain.
/// Returns, per node, the founding node of its subcommunity.
pub(crate) fn refine(g: &WeightedGraph, community: &[u32], resolution: f64, seed: u64) -> Vec<u32> {
    refine_in_batches(g, community, resolution, seed, batch_size(g.node_count()))
}

/// [`refine`] with nodes visited in seeded order, `batch` at a time: each batch's singletons pick
/// their subcommunity in parallel against the state at the batch's start, then the merges are
/// applied in order, each re-checked against the state as it is by then (the node must still be
/// a singleton, the target must still exist and be well connected, the gain must still be
/// positive). With batches of one this is the sequential greedy refinement. A node only ever
/// joins a subcommunity it has an edge into, and members never leave, so every subcommunity
/// stays connected. Deterministic for a seed whatever the thread count.
///
/// # Complexity
/// O(n + m) work, parallel within each batch.
fn refine_in_batches(g: &WeightedGraph, community: &[u32], resolution: f64, seed: u64, batch: usize) -> Vec<u32> {
    let n = g.node_count();
    let degree = &g.degrees;
    let m2: f64 = degree.iter().sum();
    if m2 == 0.0 {
        return (0..n as u32).collect();
    }
    let k = community.iter().copied().max().map_or(0, |c| c as usize + 1);
    let mut community_total = vec![0.0; k];
    for v in 0..n {
        community_total[community[v] as usize] += degree[v];
    }
    // Weight from each node to the rest of its community.
    let weight_inside = |v: usize, keep: &dyn Fn(u32) -> bool| -> f64 {
        g.edges(v).filter(|&(u, _)| community[u as usize] == community[v] && keep(u)).map(|e| e.1).sum()
    };
    // Per founder: the subcommunity's total degree and its weight to the rest of the community,
    // side by side: each candidate subcommunity then costs one cache miss, not two. Everyone
    // starts a singleton, whose pair is its own degree and weight to the rest of its community,
    // and keeps it for as long as it stays one (which is all the choice below reads of a mover).
    let mut sub_weights: Vec<[f64; 2]> = (0..n)
        .into_par_iter()
        .with_min_len(1 << 10)
        .map(|v| {
            let own = community[v];
            let mut sum = 0.0;
            for (i, u) in g.arcs_prefetching(v, |ahead| prefetch(&community[ahead])) {
                if community[u as usize] == own {
                    sum += g.weight(i);
                }
            }
            [degree[v], sum]
        })
        .collect();
    // Per node: its community (high half) and its subcommunity's founder (low half), in one word
    // so that each arc costs one random read, not two.
    let mut label: Vec<u64> = (0..n).into_par_iter().map(|v| (community[v] as u64) << 32 | v as u64).collect();
    let founder_of = |l: u64| l as u32;
    let mut singleton = vec![true; n];
    // The batch in which a subcommunity last gained a member (its weights from the batch's
    // start are then stale).
    let mut grown_in = vec![u32::MAX; n];
    let well_connected = |inside: f64, total: f64, c: usize| inside >= resolution * total * (community_total[c] - total) / m2;
    // Per node of a batch, the merge it chose if any (filled in place, as in local moving).
    let mut merges: Vec<Option<(u32, u32, f64)>> = Vec::with_capacity(batch);
    for (batch_no, nodes) in (0..).zip(seeded_order(n, seed).chunks(batch)) {
        let (label_now, sub_now, singleton_now) = (&label, &sub_weights, &singleton);
        nodes
            .par_iter()
            .with_max_len(64)
            .map(|&v| {
                let v = v as usize;
                // Only singletons that are well connected to their community move.
                if !singleton_now[v] {
                    return None;
                }
                let (c, [kv, to_own]) = (community[v] as usize, sub_now[v]);
                if !well_connected(to_own, kv, c) {
                    return None;
                }
                with_table(|table| {
                    table.reset(g.edge_count(v), n);
                    for (i, u) in g.arcs_prefetching(v, |ahead| prefetch(&label_now[ahead])) {
                        let l = label_now[u as usize];
                        if (l >> 32) as usize == c {
                            // The candidates' weights are read below: start those misses now.
                            prefetch(&sub_now[founder_of(l) as usize]);
                            table.add(founder_of(l), g.weight(i));
                        }
                    }
                    let mut best: Option<(u32, f64)> = None;
                    let mut best_gain = 0.0;
                    for (founder, w) in table.entries() {
                        let [st, external] = sub_now[founder as usize];
                        // The target subcommunity must itself be well connected to the community.
                        if founder as usize == v || !well_connected(external, st, c) {
                            continue;
                        }
                        let gain = w - resolution * st * kv / m2;
                        if gain > best_gain + 1e-12 {
                            (best, best_gain) = (Some((founder, w)), gain);
                        }
                    }
                    best.map(|(sub, w)| (v as u32, sub, w))
                })
            })
            .collect_into_vec(&mut merges);
        for i in 0..merges.len() {
            // The applying loop is sequential: start a later merge's random reads now.
            if let Some(&Some((node, ahead, _))) = merges.get(i + 8) {
                let (v, s) = (node as usize, ahead as usize);
                prefetch(&label[s]);
                prefetch(&sub_weights[s]);
                prefetch(&grown_in[s]);
                prefetch(&singleton[s]);
                prefetch(&label[v]);
                prefetch(&sub_weights[v]);
                prefetch(&singleton[v]);
            }
            let Some((v, sub, stale_weight)) = merges[i] else {
                continue;
            };
            let (v, s) = (v as usize, sub as usize);
            // Someone joined v, or the target's founder left it (so it is empty), this batch.
            if !singleton[v] || founder_of(label[s]) != sub {
                continue;
            }
            let (c, [kv, to_own]) = (community[v] as usize, sub_weights[v]);
            let weight = if grown_in[s] == batch_no { weight_inside(v, &|u| founder_of(label[u as usize]) == sub) } else { stale_weight };
            let [st, external] = sub_weights[s];
            if !well_connected(external, st, c) || weight - resolution * st * kv / m2 <= 1e-12 {
                continue;
            }
            label[v] = (c as u64) << 32 | sub as u64;
            sub_weights[s][0] += kv;
            sub_weights[s][1] += to_own - 2.0 * weight;
            sub_weights[v][0] = 0.0;
            singleton[v] = false;
            // Members never leave, so only the founder could still have been a singleton.
            singleton[s] = false;
            grown_in[s] = batch_no;
        }
    }
    label.into_par_iter().map(founder_of).collect()
}

/// Gives each connected part of a community its own label: the smallest node id in the part
/// (a parallel union-find over the edges inside communities).
///
/// # Complexity
/// O(m α(n)) work, parallel over nodes.
pub(crate) fn split_disconnected(g: &WeightedGraph, labels: &mut [u32]) -> bool {
    let n = g.node_count();
    let parent: Vec<AtomicU32> = (0..n as u32).into_par_iter().map(AtomicU32::new).collect();
    let same = &*labels;
    (0..n).into_par_iter().with_min_len(1 << 10).for_each(|v| {
        // Both ends' labels and parents are random reads (the pass took 0.48 s on the enterprise
        // graph without these prefetches, 0.35 s with them).
        let ahead = |u: usize| {
            prefetch(&same[u]);
            prefetch(&parent[u]);
        };
        for (_, u) in g.arcs_prefetching(v, ahead) {
            if (u as usize) > v && same[u as usize] == same[v] {
                link(&parent, v as u32, u);
            }
        }
    });
    let pieces = parent.par_iter().enumerate().filter(|&(v, p)| p.load(Ordering::Relaxed) == v as u32).count();
    let communities = {
        let mut seen = vec![false; labels.iter().max().map_or(0, |&l| l as usize + 1)];
        labels.iter().filter(|&&l| !std::mem::replace(&mut seen[l as usize], true)).count()
    };
    if pieces == communities {
        return false;
    }
    labels.par_iter_mut().enumerate().for_each(|(v, l)| *l = find(&parent, v as u32));
    true
}

/// Whether every community is connected (for tests and checks).
pub fn communities_connected(graph: &Projection, community: &[u32]) -> bool {
    !split_disconnected(&WeightedGraph::from_projection(graph), &mut community.to_vec())
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
        let w = WeightedGraph::from_projection(&g);
        let mut labels = vec![7, 7, 7, 7];
        assert!(split_disconnected(&w, &mut labels), "a split is reported");
        assert_eq!(labels, vec![0, 0, 2, 2]);
        let mut labels = vec![5, 5, 1, 1];
        assert!(!split_disconnected(&w, &mut labels), "nothing to split");
        assert_eq!(labels, vec![5, 5, 1, 1], "labels without a split are left alone");
    }

    /// The sequential refinement the parallel one must match: one sweep in seeded order.
    fn refine_sequential(g: &WeightedGraph, community: &[u32], resolution: f64, seed: u64) -> Vec<u32> {
        let n = g.node_count();
        let degree = g.degrees.clone();
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
        let to_own: Vec<f64> =
            (0..n).map(|v| g.edges(v).filter(|&(u, _)| community[u as usize] == community[v]).map(|e| e.1).sum()).collect();
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

    #[test]
    fn refinement_in_batches_of_one_matches_one_sequential_sweep_and_batches_keep_pieces_connected() {
        let mut rng = crate::test_rng(3);
        let mut merged_rounds = 0;
        for round in 0..20u64 {
            let n = 50 + (rng() % 400) as usize;
            let edges: Vec<(u32, u32, f64)> = (0..n * 4).map(|_| (rng() % n as u32, rng() % n as u32, 1.0 + (rng() % 4) as f64)).collect();
            let g = WeightedGraph::from_projection(&Projection::from_edges(n, &edges, round % 2 == 0, true));
            let communities = 1 + rng() % 12;
            let community: Vec<u32> = (0..n).map(|_| rng() % communities).collect();
            let resolution = [1.0, 0.5, 0.05][round as usize % 3];
            let refined = refine_in_batches(&g, &community, resolution, round, 1);
            assert_eq!(refined, refine_sequential(&g, &community, resolution, round), "round {round}");
            for batch in [7, 64] {
                let pieces = refine_in_batches(&g, &community, resolution, round, batch);
                assert!(pieces.iter().enumerate().all(|(v, &f)| community[v] == community[f as usize]), "a piece crosses communities");
                let mut split = pieces.clone();
                split_disconnected(&g, &mut split);
                let connected = (0..n).all(|v| split[v] == split[pieces[v] as usize]);
                assert!(connected, "round {round}, batch {batch}: a piece is not connected");
            }
            merged_rounds += usize::from(refined.iter().enumerate().any(|(v, &f)| f != v as u32));
        }
        assert!(merged_rounds >= 15, "the cases must exercise merging: {merged_rounds}");
    }
}
