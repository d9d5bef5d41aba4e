//! Time-respecting fund cycles (round-tripping): money that leaves an account and comes back
//! through 1..k−1 others, each hop strictly later than the previous, the whole cycle within
//! `window` of its first hop, and every hop's amount within `tolerance` of the first.
//!
//! Each cycle is searched once, from its smallest node (all other nodes must be larger), by a
//! depth-first search over time-sorted adjacency: a binary search skips hops that are too early,
//! the window ends the scan, and only edges inside one strongly connected component can lie on a
//! cycle. Repeated instances of the same node cycle form one ring with all their transfers as
//! evidence. Score: amount consistency × speed (1 − span / window) × length weight (2-cycles
//! count a third, 3-cycles two thirds, longer in full), taken over the best instance.
//!
//! # Complexity
//! Parallel over start nodes; each search is bounded by `max_expansions` (reported when hit).

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use super::{similar, Evidence, Ring, RingKind, Transfers};
use crate::components::scc::condensation_of;

pub const MICROS_PER_DAY: i64 = 86_400_000_000;

#[derive(Clone, Debug)]
pub struct CycleConfig {
    pub min_len: usize,
    pub max_len: usize,
    /// µs.
    pub window: i64,
    pub tolerance: f64,
    pub max_expansions: usize,
}

impl Default for CycleConfig {
    fn default() -> Self {
        CycleConfig { min_len: 2, max_len: 6, window: 30 * MICROS_PER_DAY, tolerance: 0.2, max_expansions: 200_000 }
    }
}

/// One found instance: the node sequence from the smallest node, and its edges.
struct Instance {
    nodes: Vec<u32>,
    edges: Vec<usize>,
}

pub fn fund_cycles(t: &Transfers, config: &CycleConfig) -> (Vec<Ring>, usize) {
    let n = t.node_count();
    let cond = condensation_of(n, |v| t.out_ids(v));
    let comp = &cond.component;
    let truncated = AtomicUsize::new(0);
    let mut instances: Vec<Instance> = (0..n as u32)
        .into_par_iter()
        .filter(|&s| cond.members(comp[s as usize] as usize).len() > 1)
        .flat_map_iter(|s| {
            let mut found = Vec::new();
            let mut budget = config.max_expansions;
            let mut path_nodes = vec![s];
            let mut path_edges: Vec<usize> = Vec::new();
            for e0 in t.out_edges(s) {
                let a = t.dst(e0);
                if a <= s || comp[a as usize] != comp[s as usize] {
                    continue;
                }
                let (t0, amount0) = (t.ts(e0), t.amount(e0));
                path_nodes.truncate(1);
                path_edges.clear();
                path_nodes.push(a);
                path_edges.push(e0);
                search(t, config, comp, s, t0, amount0, &mut path_nodes, &mut path_edges, &mut budget, &mut found);
                if budget == 0 {
                    truncated.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
            found
        })
        .collect();
    instances.sort_by(|a, b| a.nodes.cmp(&b.nodes).then(a.edges.cmp(&b.edges)));
    let mut rings = Vec::new();
    let mut i = 0;
    while i < instances.len() {
        let mut j = i;
        let mut best = 0.0f64;
        let mut evidence = Vec::new();
        let mut total = 0.0;
        while j < instances.len() && instances[j].nodes == instances[i].nodes {
            let inst = &instances[j];
            let amounts: Vec<f64> = inst.edges.iter().map(|&e| t.amount(e)).collect();
            let (lo, hi) = amounts.iter().fold((f64::MAX, 0.0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
            let consistency = if hi > 0.0 { lo / hi } else { 0.0 };
            let span = inst.edges.last().map_or(0, |&e| t.ts(e)) - inst.edges.first().map_or(0, |&e| t.ts(e));
            let speed = 1.0 - span as f64 / config.window as f64;
            let length = match inst.nodes.len() {
                2 => 1.0 / 3.0,
                3 => 2.0 / 3.0,
                _ => 1.0,
            };
            best = best.max(consistency * speed.max(0.0) * length);
            total += amounts.first().copied().unwrap_or(0.0);
            evidence.extend(inst.edges.iter().map(|&e| Evidence::transfer(t, e)));
            j += 1;
        }
        rings.push(Ring::new(RingKind::FundCycle, best, instances[i].nodes.clone(), evidence, total));
        i = j;
    }
    (rings, truncated.into_inner())
}

#[allow(clippy::too_many_arguments)]
fn search(
    t: &Transfers,
    config: &CycleConfig,
    comp: &[u32],
    start: u32,
    t0: i64,
    amount0: f64,
    nodes: &mut Vec<u32>,
    edges: &mut Vec<usize>,
    budget: &mut usize,
    found: &mut Vec<Instance>,
) {
    let Some(&x) = nodes.last() else { return };
    let last_ts = edges.last().map_or(t0, |&e| t.ts(e));
    let range = t.out_edges(x);
    // First hop strictly after the previous one (lists are time-sorted).
    let skip = {
        let (mut lo, mut hi) = (range.start, range.end);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if t.ts(mid) <= last_ts {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    };
    for e in skip..range.end {
        if t.ts(e) > t0 + config.window {
            break;
        }
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let y = t.dst(e);
        if comp[y as usize] != comp[start as usize] || !similar(t.amount(e), amount0, config.tolerance) {
            continue;
        }
        if y == start {
            if nodes.len() >= config.min_len {
                let mut inst_edges = edges.clone();
                inst_edges.push(e);
                found.push(Instance { nodes: nodes.clone(), edges: inst_edges });
            }
            continue;
        }
        if y < start || nodes.len() >= config.max_len || nodes.contains(&y) {
            continue;
        }
        nodes.push(y);
        edges.push(e);
        search(t, config, comp, start, t0, amount0, nodes, edges, budget, found);
        nodes.pop();
        edges.pop();
    }
}
