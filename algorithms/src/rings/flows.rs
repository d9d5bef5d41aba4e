//! AML flow typologies (the IBM AMLSim / AMLworld families): fan-out, fan-in, scatter-gather and
//! gather-scatter, each within a time window and with consistent amounts.
//!
//! A fan is a burst: within `window` of its first transfer, at least `min_fan` distinct
//! counterparties whose amounts lie within `tolerance` of each other (the largest such group,
//! found by a two-pointer scan over the burst's amounts). Scatter-gather: a source's burst of at
//! least `min_mules` transfers whose receivers each forward a similar amount to one common sink
//! within the window. Gather-scatter: a burst into a hub followed, within the window, by a burst
//! out of it of similar pieces. A fan whose centre is the source, sink or hub of a found
//! scatter-gather or gather-scatter is reported as that typology only. Score: counterparties ×
//! amount consistency (smallest / largest piece).
//!
//! # Complexity
//! Parallel over nodes; O(d log d) per node of degree d, plus the mules' out-lists.

use rayon::prelude::*;

use super::{similar, Evidence, Ring, RingKind, Transfers};
use crate::hash::FastSet;

#[derive(Clone, Debug)]
pub struct FlowConfig {
    /// µs.
    pub window: i64,
    pub tolerance: f64,
    pub min_fan: usize,
    pub min_mules: usize,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig { window: 3 * super::cycles::MICROS_PER_DAY, tolerance: 0.2, min_fan: 5, min_mules: 3 }
    }
}

/// (ts, amount, counterparty, edge) of one side of a node.
type Side = Vec<(i64, f64, u32, usize)>;

/// Non-overlapping bursts of `side` (time-sorted): edge lists of consistent amounts with at
/// least `min` distinct counterparties.
fn bursts(side: &Side, config: &FlowConfig, min: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut scratch: Vec<(f64, u32, usize)> = Vec::new();
    while i < side.len() {
        let end = side[i..].partition_point(|x| x.0 <= side[i].0 + config.window) + i;
        if end - i < min {
            i += 1;
            continue;
        }
        scratch.clear();
        scratch.extend(side[i..end].iter().map(|x| (x.1, x.2, x.3)));
        scratch.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
        // Largest run whose largest amount is within tolerance of its smallest.
        let (mut best_lo, mut best_hi, mut lo) = (0, 0, 0);
        for hi in 0..scratch.len() {
            while !similar(scratch[lo].0, scratch[hi].0, config.tolerance) {
                lo += 1;
            }
            if hi + 1 - lo > best_hi - best_lo {
                best_lo = lo;
                best_hi = hi + 1;
            }
        }
        let group = &scratch[best_lo..best_hi];
        let distinct: FastSet<u32> = group.iter().map(|x| x.1).collect();
        if distinct.len() >= min {
            let mut edges: Vec<usize> = group.iter().map(|x| x.2).collect();
            edges.sort_unstable();
            out.push(edges);
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

fn consistency(t: &Transfers, edges: &[usize]) -> f64 {
    let (lo, hi) = edges.iter().map(|&e| t.amount(e)).fold((f64::MAX, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
    if hi > 0.0 {
        lo / hi
    } else {
        0.0
    }
}

fn out_side(t: &Transfers, v: u32) -> Side {
    t.out_edges(v).map(|e| (t.ts(e), t.amount(e), t.dst(e), e)).collect()
}

fn in_side(t: &Transfers, v: u32) -> Side {
    let mut side: Side = t.in_edges_with_source(v).map(|(s, e)| (t.ts(e), t.amount(e), s, e)).collect();
    side.sort_by(|a, b| a.0.cmp(&b.0).then(a.3.cmp(&b.3)));
    side
}

fn ring_of(t: &Transfers, kind: RingKind, centre: &[u32], edges: Vec<usize>) -> Ring {
    let mut members: Vec<u32> = centre.to_vec();
    for &e in &edges {
        members.push(t.src(e));
        members.push(t.dst(e));
    }
    let total: f64 = edges.iter().map(|&e| t.amount(e)).sum();
    let evidence: Vec<Evidence> = edges.iter().map(|&e| Evidence::transfer(t, e)).collect();
    let mut ring = Ring::new(kind, 0.0, members, evidence, total);
    let counterparties = ring.members.len().saturating_sub(centre.len()) as f64;
    let edge_list: Vec<usize> = edges;
    ring.score = counterparties * consistency(t, &edge_list);
    ring
}

pub fn flow_typologies(t: &Transfers, config: &FlowConfig) -> Vec<Ring> {
    let n = t.node_count() as u32;
    let found: Vec<Vec<Ring>> = (0..n)
        .into_par_iter()
        .map(|v| {
            let mut rings = Vec::new();
            if t.out_edges(v).len() < config.min_mules && t.in_edges(v).next().is_none() {
                return rings;
            }
            let out = out_side(t, v);
            let inn = in_side(t, v);
            // Scatter-gather with v as the source.
            for burst in bursts(&out, config, config.min_mules) {
                let mut forwards: Vec<(u32, usize, usize)> = Vec::new(); // (sink, receive edge, forward edge)
                for &r in &burst {
                    let (mule, received, at) = (t.dst(r), t.amount(r), t.ts(r));
                    let mut seen = FastSet::default();
                    for f in t.out_edges(mule) {
                        let (ts, sink) = (t.ts(f), t.dst(f));
                        if ts <= at || ts > at + config.window || sink == v || sink == mule {
                            continue;
                        }
                        if similar(t.amount(f), received, config.tolerance) && seen.insert(sink) {
                            forwards.push((sink, r, f));
                        }
                    }
                }
                forwards.sort_unstable();
                let mut i = 0;
                while i < forwards.len() {
                    let sink = forwards[i].0;
                    let j = forwards[i..].partition_point(|x| x.0 == sink) + i;
                    let mules: FastSet<u32> = forwards[i..j].iter().map(|x| t.dst(x.1)).collect();
                    if mules.len() >= config.min_mules {
                        let edges: Vec<usize> = forwards[i..j].iter().flat_map(|x| [x.1, x.2]).collect();
                        rings.push(ring_of(t, RingKind::ScatterGather, &[v, sink], edges));
                    }
                    i = j;
                }
            }
            // Gather-scatter with v as the hub.
            for gathered in bursts(&inn, config, config.min_mules) {
                let first = gathered.iter().map(|&e| t.ts(e)).min().unwrap_or(0);
                let last = gathered.iter().map(|&e| t.ts(e)).max().unwrap_or(0);
                let mut pieces: Vec<f64> = gathered.iter().map(|&e| t.amount(e)).collect();
                pieces.sort_by(f64::total_cmp);
                let median = pieces[pieces.len() / 2];
                let later: Side = out
                    .iter()
                    .copied()
                    .filter(|x| x.0 > first && x.0 <= last + config.window && similar(x.1, median, config.tolerance))
                    .collect();
                if let Some(scattered) = bursts(&later, config, config.min_mules).into_iter().max_by_key(|b| b.len()) {
                    let mut edges = gathered.clone();
                    edges.extend(scattered);
                    rings.push(ring_of(t, RingKind::GatherScatter, &[v], edges));
                }
            }
            for burst in bursts(&out, config, config.min_fan) {
                rings.push(ring_of(t, RingKind::FanOut, &[v], burst));
            }
            for burst in bursts(&inn, config, config.min_fan) {
                rings.push(ring_of(t, RingKind::FanIn, &[v], burst));
            }
            rings
        })
        .collect();
    let mut rings: Vec<Ring> = found.into_iter().flatten().collect();
    // Fans subsumed by a more specific typology at the same centre.
    let mut sources = FastSet::default();
    let mut sinks = FastSet::default();
    for r in &rings {
        match r.kind {
            RingKind::ScatterGather => {
                if let (Some(first), Some(last)) = (r.evidence.first(), r.evidence.last()) {
                    sources.insert(first.src);
                    sinks.insert(last.dst);
                }
            }
            RingKind::GatherScatter => {
                if let Some(first) = r.evidence.first() {
                    sources.insert(first.dst);
                    sinks.insert(first.dst);
                }
            }
            _ => {}
        }
    }
    rings.retain(|r| match r.kind {
        RingKind::FanOut => r.evidence.first().is_none_or(|e| !sources.contains(&e.src)),
        RingKind::FanIn => r.evidence.first().is_none_or(|e| !sinks.contains(&e.dst)),
        _ => true,
    });
    rings
}
