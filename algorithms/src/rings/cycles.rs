//! Time-respecting fund cycles (round-tripping): money that leaves an account and comes back
//! through 1..k−1 others, each hop strictly later than the previous, the whole cycle within
//! `window` of its first hop, and every hop's amount within `tolerance` of the first.
//!
//! A time-respecting cycle instance has exactly one earliest hop, so the search starts from every
//! transfer as a possible first hop and finds each instance exactly once, whichever member sends
//! first. The depth-first search runs over time-sorted adjacency: a binary search skips hops that
//! are too early, the window ends the scan, only edges inside one strongly connected component can
//! lie on a cycle, a first hop is tried only if the start receives a similar amount back within
//! the window, and a path stops as soon as it is later than the latest such return (no hop could
//! close it). Instances of one node cycle (the same members in the same
//! cyclic order, from any first sender) form one ring with all their transfers as evidence.
//! Score: amount consistency × speed (1 − span / window) × length weight (2-cycles count a third,
//! 3-cycles two thirds, longer in full), taken over the best instance.
//!
//! # Complexity
//! Parallel over start nodes; each start's searches together are bounded by `max_expansions`
//! scanned hops, and every start that hit the bound is counted in
//! [`FundCycleResult::truncated_starts`]. The components are found in parallel too (trimming and
//! a forward–backward search, [`strongly_connected_of`]): Tarjan alone runs on one thread over
//! every account.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use super::{similar, Evidence, Ring, RingKind, Transfers};
use crate::components::scc::strongly_connected_of;

pub use ekg_schema::MICROS_PER_DAY;

#[derive(Clone, Debug)]
pub struct CycleConfig {
    /// Fewest accounts on a cycle (2: a transfer paid straight back).
    pub min_len: usize,
    /// Most accounts on a cycle.
    pub max_len: usize,
    /// Longest time from a cycle's first hop to its last, µs.
    pub window: i64,
    /// Largest relative difference between a hop's amount and the first hop's.
    pub tolerance: f64,
    /// Hops scanned from one start node, over all its first hops, before its search stops.
    pub max_expansions: usize,
}

impl CycleConfig {
    pub const DEFAULT_MIN_LEN: usize = 2;
    pub const DEFAULT_MAX_LEN: usize = 6;
    pub const DEFAULT_WINDOW_DAYS: i64 = 30;
    pub const DEFAULT_TOLERANCE: f64 = super::DEFAULT_AMOUNT_TOLERANCE;
    pub const DEFAULT_MAX_EXPANSIONS: usize = 200_000;
}

impl Default for CycleConfig {
    fn default() -> Self {
        CycleConfig {
            min_len: Self::DEFAULT_MIN_LEN,
            max_len: Self::DEFAULT_MAX_LEN,
            window: Self::DEFAULT_WINDOW_DAYS * MICROS_PER_DAY,
            tolerance: Self::DEFAULT_TOLERANCE,
            max_expansions: Self::DEFAULT_MAX_EXPANSIONS,
        }
    }
}

/// What [`fund_cycles`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct FundCycleResult {
    /// One ring per node cycle, in canonical order (see [`Ring::new`]), unsorted by score.
    pub rings: Vec<Ring>,
    /// Start nodes whose search hit `max_expansions`: cycles through them may be missing.
    pub truncated_starts: usize,
}

/// One found instance: the node sequence rotated to start at its smallest node (the ring's
/// key), and its edges in time order from the first hop.
struct Instance {
    key: Vec<u32>,
    edges: Vec<usize>,
}

/// The node cycle `nodes` rotated so that its smallest node comes first.
fn canonical_rotation(nodes: &[u32]) -> Vec<u32> {
    let start = nodes.iter().enumerate().min_by_key(|(_, &v)| v).map_or(0, |(i, _)| i);
    nodes[start..].iter().chain(&nodes[..start]).copied().collect()
}

/// Every time-respecting fund cycle of `t` under `config`.
pub fn fund_cycles(t: &Transfers, config: &CycleConfig) -> FundCycleResult {
    let n = t.node_count();
    let scc = strongly_connected_of(n, |v| t.out_ids(v), |v| t.in_ids(v));
    let comp = &scc.component;
    let truncated = AtomicUsize::new(0);
    let mut instances: Vec<Instance> = (0..n as u32)
        .into_par_iter()
        .filter(|&s| scc.sizes[comp[s as usize] as usize] > 1)
        .flat_map_iter(|s| {
            let mut found = Vec::new();
            // Transfers back into `s` from its component, in time order: a first hop needs a
            // return of a similar amount within the window, and a path later than the latest
            // such return can never close.
            let returns: Vec<(i64, f64)> = t
                .in_edges_with_source(s)
                .filter(|&(src, _)| src != s && comp[src as usize] == comp[s as usize])
                .map(|(_, e)| (t.ts(e), t.amount(e)))
                .collect();
            let mut search = Search { t, config, comp, start: s, last_return: i64::MIN, budget: config.max_expansions, found: &mut found };
            let mut nodes = vec![s];
            let mut edges: Vec<usize> = Vec::new();
            for e0 in t.out_edges(s) {
                let a = t.dst(e0);
                if a == s || comp[a as usize] != comp[s as usize] {
                    continue;
                }
                let (t0, amount0) = (t.ts(e0), t.amount(e0));
                let first_later = returns.partition_point(|r| r.0 <= t0);
                let latest_return = returns[first_later..]
                    .iter()
                    .take_while(|r| r.0 <= t0.saturating_add(config.window))
                    .filter(|r| similar(r.1, amount0, config.tolerance))
                    .map(|r| r.0)
                    .last();
                let Some(latest_return) = latest_return else { continue };
                search.last_return = latest_return;
                nodes.truncate(1);
                edges.clear();
                nodes.push(a);
                edges.push(e0);
                search.extend(t0, amount0, &mut nodes, &mut edges);
                if search.budget == 0 {
                    truncated.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
            found
        })
        .collect();
    instances.sort_by(|a, b| a.key.cmp(&b.key).then(a.edges.cmp(&b.edges)));
    let mut rings = Vec::new();
    for group in instances.chunk_by(|a, b| a.key == b.key) {
        let mut best = 0.0f64;
        let mut evidence = Vec::new();
        let mut total = 0.0;
        for inst in group {
            let amounts: Vec<f64> = inst.edges.iter().map(|&e| t.amount(e)).collect();
            let (lo, hi) = amounts.iter().fold((f64::MAX, 0.0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
            let consistency = if hi > 0.0 { lo / hi } else { 0.0 };
            let span = inst.edges.last().map_or(0, |&e| t.ts(e)) - inst.edges.first().map_or(0, |&e| t.ts(e));
            let speed = 1.0 - span as f64 / config.window as f64;
            let length = match inst.key.len() {
                2 => 1.0 / 3.0,
                3 => 2.0 / 3.0,
                _ => 1.0,
            };
            best = best.max(consistency * speed.max(0.0) * length);
            total += amounts.first().copied().unwrap_or(0.0);
            evidence.extend(inst.edges.iter().map(|&e| Evidence::transfer(t, e)));
        }
        rings.push(Ring::new(RingKind::FundCycle, best, group[0].key.clone(), evidence, total));
    }
    FundCycleResult { rings, truncated_starts: truncated.into_inner() }
}

/// The depth-first search from one start node.
struct Search<'a, 't> {
    t: &'a Transfers<'t>,
    config: &'a CycleConfig,
    comp: &'a [u32],
    start: u32,
    /// The latest transfer back into `start` that could close the current first hop's cycle.
    last_return: i64,
    budget: usize,
    found: &'a mut Vec<Instance>,
}

impl Search<'_, '_> {
    /// Extends the path `nodes` (joined by `edges`, whose first hop was at `t0` for `amount0`).
    fn extend(&mut self, t0: i64, amount0: f64, nodes: &mut Vec<u32>, edges: &mut Vec<usize>) {
        let (t, config) = (self.t, self.config);
        let Some(&x) = nodes.last() else { return };
        let last_ts = edges.last().map_or(t0, |&e| t.ts(e));
        // Hops must be strictly later, so a path at or after the latest return cannot close.
        if last_ts >= self.last_return {
            return;
        }
        let range = t.out_edges(x);
        // First hop strictly after the previous one (lists are time-sorted).
        let skip = range.start + t.ts_slice(range.clone()).partition_point(|&ts| ts <= last_ts);
        let home = self.comp[self.start as usize];
        for e in skip..range.end {
            if t.ts(e) > t0 + config.window {
                break;
            }
            if self.budget == 0 {
                return;
            }
            self.budget -= 1;
            let y = t.dst(e);
            if !similar(t.amount(e), amount0, config.tolerance) || self.comp[y as usize] != home {
                continue;
            }
            if y == self.start {
                if nodes.len() >= config.min_len {
                    let mut inst_edges = edges.clone();
                    inst_edges.push(e);
                    self.found.push(Instance { key: canonical_rotation(nodes), edges: inst_edges });
                }
                continue;
            }
            if nodes.len() >= config.max_len || nodes.contains(&y) {
                continue;
            }
            nodes.push(y);
            edges.push(e);
            self.extend(t0, amount0, nodes, edges);
            nodes.pop();
            edges.pop();
        }
    }
}
