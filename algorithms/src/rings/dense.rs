//! Dense transfer blocks: groups of senders that all pay the same group of receivers, found with
//! FRAUDAR's camouflage-resistant objective (Hooi, Song, Beutel, Shah, Shin and Faloutsos, KDD
//! 2016): greedily peel the node of least weighted degree and keep the densest prefix, where a
//! transfer into receiver `r` weighs `1 / ln(in-degree(r) + 5)` — so payments to popular
//! receivers (the camouflage a fraudster adds by paying ordinary firms) barely count.
//!
//! The same peeling runs on the entity–identifier graph ([`identifier_blocks`]).
//!
//! Peeling the whole national graph finds one block per pass; instead each sender seeds a local
//! bipartite graph — its receivers, and every sender paying them — and is peeled there, so all
//! blocks are found in one parallel pass. Receivers with in-degree above `max_receiver_degree`
//! (core firms, utilities) are left out of the seeds' neighbourhoods. Blocks found from several
//! seeds are reported once. Score: the block's weighted density.
//!
//! # Complexity
//! Parallel over senders; O(e log e) per seed for its local graph of e edges.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rayon::prelude::*;

use super::{Evidence, Ring, RingKind, Transfers};
use crate::hash::FastMap;

#[derive(Clone, Debug)]
pub struct DenseConfig {
    pub min_side: usize,
    pub min_density: f64,
    pub max_receiver_degree: usize,
    /// Local graphs larger than this many edges are skipped.
    pub max_local_edges: usize,
}

impl Default for DenseConfig {
    fn default() -> Self {
        DenseConfig { min_side: 3, min_density: 0.5, max_receiver_degree: 200, max_local_edges: 50_000 }
    }
}

/// Fixed-point scale of edge weights inside [`peel`]: integer sums are exact in any order.
const WEIGHT_SCALE: f64 = 4_294_967_296.0;

/// The densest block of a bipartite graph by greedy peeling: (senders, receivers, density).
/// `edges` are (sender, receiver, weight) over local ids `0..senders` and `0..receivers`.
///
/// Nodes tied at the least weight are peeled together, and weights are summed in fixed point, so
/// the block does not depend on how nodes happen to be numbered (renaming the input or shuffling
/// its rows gives the same block).
pub fn peel(senders: usize, receivers: usize, edges: &[(u32, u32, f64)]) -> (Vec<u32>, Vec<u32>, f64) {
    Peeling::default().peel(senders, receivers, edges)
}

/// [`peel`]'s buffers, kept by a worker from one local graph to the next: a pass over millions of
/// seeds would otherwise allocate a dozen vectors per seed.
#[derive(Default)]
struct Peeling {
    start: Vec<usize>,
    fill: Vec<usize>,
    arcs: Vec<(u32, u64)>,
    weight: Vec<u64>,
    heap: BinaryHeap<Reverse<(u64, u32)>>,
    removed: Vec<bool>,
    order: Vec<u32>,
    batch: Vec<u32>,
    in_batch: Vec<bool>,
}

impl Peeling {
    fn peel(&mut self, senders: usize, receivers: usize, edges: &[(u32, u32, f64)]) -> (Vec<u32>, Vec<u32>, f64) {
        let n = senders + receivers;
        let Peeling { start, fill, arcs, weight, heap, removed, order, batch, in_batch } = self;
        // Both directions of every edge in one CSR, lists in edge order.
        start.clear();
        start.resize(n + 1, 0);
        for &(s, r, _) in edges {
            start[s as usize + 1] += 1;
            start[senders + r as usize + 1] += 1;
        }
        for v in 0..n {
            start[v + 1] += start[v];
        }
        fill.clear();
        fill.extend_from_slice(start);
        arcs.clear();
        arcs.resize(2 * edges.len(), (0, 0));
        weight.clear();
        weight.resize(n, 0);
        let mut total = 0u64;
        for &(s, r, w) in edges {
            let (a, b) = (s as usize, senders + r as usize);
            let w = (w.max(0.0) * WEIGHT_SCALE).round() as u64;
            arcs[fill[a]] = (b as u32, w);
            fill[a] += 1;
            arcs[fill[b]] = (a as u32, w);
            fill[b] += 1;
            weight[a] += w;
            weight[b] += w;
            total += w;
        }
        let (start, arcs) = (&*start, &*arcs);
        let adjacency = |v: usize| &arcs[start[v]..start[v + 1]];
        let density = |total: u64, alive: usize| total as f64 / WEIGHT_SCALE / alive.max(1) as f64;
        heap.clear();
        heap.extend((0..n as u32).map(|v| Reverse((weight[v as usize], v))));
        removed.clear();
        removed.resize(n, false);
        order.clear();
        let (mut best, mut best_at) = (density(total, n), 0);
        let mut alive = n;
        batch.clear();
        in_batch.clear();
        in_batch.resize(n, false);
        while let Some(Reverse((w, v))) = heap.pop() {
            if removed[v as usize] || w != weight[v as usize] {
                continue;
            }
            // Every live node at this least weight goes at once.
            for &x in batch.iter() {
                in_batch[x as usize] = false;
            }
            batch.clear();
            batch.push(v);
            in_batch[v as usize] = true;
            while let Some(&Reverse((w2, u))) = heap.peek() {
                if w2 != w {
                    break;
                }
                heap.pop();
                if !removed[u as usize] && weight[u as usize] == w && !in_batch[u as usize] {
                    batch.push(u);
                    in_batch[u as usize] = true;
                }
            }
            for &x in batch.iter() {
                removed[x as usize] = true;
            }
            // The batch's weights count an edge between two of its nodes twice; `total` once.
            let marked = &*in_batch;
            let inside: u64 = batch
                .iter()
                .flat_map(|&x| adjacency(x as usize).iter().filter(move |&&(u, _)| marked[u as usize] && u < x))
                .map(|e| e.1)
                .sum();
            total = total + inside - batch.iter().map(|&x| weight[x as usize]).sum::<u64>();
            for &x in batch.iter() {
                order.push(x);
                alive -= 1;
                for &(u, y) in adjacency(x as usize) {
                    if !removed[u as usize] {
                        weight[u as usize] -= y;
                        heap.push(Reverse((weight[u as usize], u)));
                    }
                }
            }
            if alive > 0 && density(total, alive) > best {
                best = density(total, alive);
                best_at = order.len();
            }
        }
        // Every node is peeled by now; `removed` is reused to mark those after the best prefix.
        let kept = removed;
        kept.fill(true);
        for &v in &order[..best_at] {
            kept[v as usize] = false;
        }
        let kept = &*kept;
        let s = (0..senders as u32).filter(|&v| kept[v as usize]).collect();
        let r = (0..receivers as u32).filter(|&v| kept[senders + v as usize]).collect();
        (s, r, best)
    }
}

/// One worker's buffers for the seeds' local graphs.
#[derive(Default)]
struct Local {
    receivers: Vec<u32>,
    pairs: Vec<(u32, u32)>,
    senders: Vec<u32>,
    weights: Vec<f64>,
    edges: Vec<(u32, u32, f64)>,
    peeling: Peeling,
}

pub fn dense_blocks(t: &Transfers, config: &DenseConfig) -> Vec<Ring> {
    let n = t.node_count() as u32;
    let column_weight = |r: u32| 1.0 / ((t.in_degree(r) + 5) as f64).ln();
    let mut blocks: Vec<(Vec<u32>, Vec<u32>, f64)> = (0..n)
        .into_par_iter()
        .map_init(Local::default, |local, seed| {
            // Fewer payments than a side needs: no block, and nothing allocated.
            if t.out_ids(seed).len() < config.min_side {
                return None;
            }
            let Local { receivers, pairs, senders, weights, edges, peeling } = local;
            receivers.clear();
            receivers.extend_from_slice(t.out_ids(seed));
            receivers.sort_unstable();
            receivers.dedup();
            receivers.retain(|&r| r != seed && t.in_degree(r) <= config.max_receiver_degree);
            if receivers.len() < config.min_side {
                return None;
            }
            // (sender, receiver's local id), sorted: senders take local ids in this order.
            pairs.clear();
            for (ri, &r) in receivers.iter().enumerate() {
                pairs.extend(t.in_ids(r).iter().map(|&s| (s, ri as u32)));
                if pairs.len() > config.max_local_edges {
                    return None;
                }
            }
            pairs.sort_unstable();
            pairs.dedup();
            senders.clear();
            senders.extend(pairs.iter().map(|p| p.0));
            senders.dedup();
            if senders.len() < config.min_side {
                return None;
            }
            weights.clear();
            weights.extend(receivers.iter().map(|&r| column_weight(r)));
            let mut sender_index = 0u32;
            edges.clear();
            edges.extend(pairs.iter().map(|&(s, ri)| {
                if senders[sender_index as usize] != s {
                    sender_index += 1;
                }
                (sender_index, ri, weights[ri as usize])
            }));
            let (s, r, density) = peeling.peel(senders.len(), receivers.len(), edges);
            if s.len() < config.min_side || r.len() < config.min_side || density < config.min_density {
                return None;
            }
            let s: Vec<u32> = s.iter().map(|&i| senders[i as usize]).collect();
            let r: Vec<u32> = r.iter().map(|&i| receivers[i as usize]).collect();
            Some((s, r, density))
        })
        .flatten()
        .collect();
    blocks.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    blocks.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    blocks
        .into_iter()
        .map(|(senders, receivers, density)| {
            let mut evidence = Vec::new();
            let mut total = 0.0;
            for &s in &senders {
                for e in t.out_edges(s) {
                    if receivers.binary_search(&t.dst(e)).is_ok() {
                        evidence.push(Evidence::transfer(t, e));
                        total += t.amount(e);
                    }
                }
            }
            let mut members = senders;
            members.extend(receivers);
            Ring::new(RingKind::DenseBlock, density, members, evidence, total)
        })
        .collect()
}

/// Dense blocks of the entity–identifier graph: entities (an account standing for its owner)
/// that share many identifiers. Each entity seeds a local graph of its identifiers (those held by
/// at most `max_share` entities) and every entity holding them, peeled as above with identifier
/// weights `1 / ln(holders + 5)`. Blocks need `min_side` entities and two identifiers.
pub fn identifier_blocks(graph: &ekg_schema::Graph, config: &DenseConfig, max_share: usize) -> Vec<Ring> {
    use ekg_schema::{NodeId, NodeKind, Relation, TS_NULL};
    let owners = graph.relation(Relation::AccountOwner);
    let accounts = graph.kind_range(NodeKind::Account);
    let owner = |v: u32| -> u32 {
        if accounts.contains(&v) {
            owners.reverse.neighbor_ids(NodeId(v)).first().copied().unwrap_or(v)
        } else {
            v
        }
    };
    let ids = &graph.identifiers;
    let holders = |value: u32| -> Vec<u32> {
        let mut h: Vec<u32> = ids.by_value.neighbor_ids(NodeId(value)).iter().map(|&v| owner(v)).collect();
        h.sort_unstable();
        h.dedup();
        h
    };
    let entities = graph.kind_range(NodeKind::Firm).start..accounts.end;
    let mut blocks: Vec<(Vec<u32>, Vec<u32>, f64)> = entities
        .into_par_iter()
        .filter_map(|seed| {
            // The seed's identifiers (an entity's own and its accounts'), shared but not common.
            let mut values: Vec<u32> = ids.by_entity.neighbor_ids(NodeId(seed)).to_vec();
            for &a in owners.forward.neighbor_ids(NodeId(seed)) {
                values.extend_from_slice(ids.by_entity.neighbor_ids(NodeId(a)));
            }
            values.sort_unstable();
            values.dedup();
            let lists: Vec<(u32, Vec<u32>)> =
                values.into_iter().map(|v| (v, holders(v))).filter(|(_, h)| h.len() >= 2 && h.len() <= max_share).collect();
            if lists.len() < 2 || accounts.contains(&seed) {
                return None;
            }
            let mut rows: Vec<u32> = lists.iter().flat_map(|(_, h)| h.iter().copied()).collect();
            rows.sort_unstable();
            rows.dedup();
            let row_index: FastMap<u32, u32> = rows.iter().enumerate().map(|(i, &r)| (r, i as u32)).collect();
            let mut edges = Vec::new();
            for (c, (_, h)) in lists.iter().enumerate() {
                let w = 1.0 / ((h.len() + 5) as f64).ln();
                edges.extend(h.iter().map(|r| (row_index[r], c as u32, w)));
            }
            let (r, c, density) = peel(rows.len(), lists.len(), &edges);
            if r.len() < config.min_side || c.len() < 2 || density < config.min_density {
                return None;
            }
            let members: Vec<u32> = r.iter().map(|&i| rows[i as usize]).collect();
            let values: Vec<u32> = c.iter().map(|&i| lists[i as usize].0).collect();
            Some((members, values, density))
        })
        .collect();
    blocks.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    blocks.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    blocks
        .into_iter()
        .map(|(members, values, density)| {
            let mut evidence = Vec::new();
            for &v in &values {
                let h = holders(v);
                let inside: Vec<u32> = h.into_iter().filter(|m| members.binary_search(m).is_ok()).collect();
                for pair in inside.windows(2) {
                    evidence.push(super::Evidence {
                        src: pair[0],
                        dst: pair[1],
                        kind: super::EvidenceKind::SharedIdentifier,
                        amount: f64::NAN,
                        ts: TS_NULL,
                        identifier: v,
                    });
                }
            }
            Ring::new(RingKind::DenseBlock, density, members, evidence, f64::NAN)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peeling_keeps_the_complete_block_and_drops_the_camouflage() {
        // Senders 0..4 pay receivers 0..4 (a complete 4×4 block); sender 4 pays receiver 4 only,
        // and block senders also pay receiver 5 once each (camouflage).
        let mut edges = Vec::new();
        for s in 0..4 {
            for r in 0..4 {
                edges.push((s, r, 1.0));
            }
        }
        edges.push((4, 4, 1.0));
        edges.push((0, 5, 1.0));
        let (s, r, density) = peel(5, 6, &edges);
        assert_eq!(s, vec![0, 1, 2, 3]);
        assert_eq!(r, vec![0, 1, 2, 3]);
        assert!((density - 2.0).abs() < 1e-12);
    }
}
