//! AML flow typologies (the IBM AMLSim / AMLworld families): fan-out, fan-in, scatter-gather and
//! gather-scatter, each within its time windows and with consistent amounts.
//!
//! A fan is a burst: within `window` of its first transfer, at least `min_fan` distinct
//! counterparties whose amounts lie within `tolerance` of each other (the largest such group,
//! found by a two-pointer scan over the burst's amounts). Scatter-gather: a source pays at least
//! `min_mules` mules within `scatter_window`, amounts consistent, and each mule pays a similar
//! amount on to one common sink within `gather_window` of receiving it; the candidates are found
//! per (source, sink) from every mule's forward, not from a fan-out burst, so ordinary payments
//! of the source around the structure cannot cut it. Gather-scatter: a burst into a hub followed,
//! within `gather_window` of its last piece, by a burst out of it of similar pieces spread over at
//! most `scatter_window`. A fan whose transfers are at least half evidence of a found
//! scatter-gather or gather-scatter is that structure's part and is not reported again.
//!
//! Score of a scatter-gather or gather-scatter: counterparties × amount consistency (smallest /
//! largest piece). A fan is scored by how rarely chance would produce it at the centre's own
//! rate: with μ the payments like the burst's (same side, amount within `tolerance` of its
//! median) the centre sees in a window outside the burst, the score is
//! −log10(P(Poisson(μ) ≥ counterparties) × windows in the observation period), the expected
//! number of such bursts in the period. A payroll account or a busy supplier sees many similar
//! payments every few days and scores low; a quiet account that suddenly receives from six
//! others scores high; the same burst scores the same however dense the rest of the graph is, so
//! the count of fans above a score grows with the number of accounts, not faster. One similar
//! payment is assumed besides those seen, and the period is at least 30 days, so a new account's
//! first burst has a finite score. Fans below
//! `min_fan_score` are not reported: at 5, chance leaves about one fan per 100,000 accounts.
//!
//! A payment hub (a processor, a platform, a payroll account) can hold a million transfers in one
//! window. Sliding over it transfer by transfer would cost a sort of the whole window per step, so
//! a window of more than [`MAX_SLIDING_WINDOW`] transfers is judged once and then stepped over
//! whole; each receipt's onward payments are scanned up to [`MAX_ONWARD_SCAN`]. Below those sizes
//! (every mule network seen in AMLSim and the generator) the search is exact as described.
//!
//! # Complexity
//! Parallel over nodes; O(d log d) per node of degree d (the window and onward caps keep a hub
//! linear up to the sort), plus each mule's out-list within `gather_window` of its receipt
//! (binary-searched, at most `MAX_ONWARD_SCAN` payments).

use rayon::prelude::*;

use ekg_schema::TS_NULL;

use super::{similar, Evidence, Ring, RingKind, Transfers};
use crate::hash::FastSet;

#[derive(Clone, Debug)]
pub struct FlowConfig {
    /// Longest spread of a fan's transfers, or of a hub's receipts, µs.
    pub window: i64,
    /// Longest spread of the payments out of a scatter's source or a gather-scatter's hub, µs.
    pub scatter_window: i64,
    /// Longest delay from a piece's receipt (scatter-gather) or a hub's last receipt
    /// (gather-scatter) to the onward payment, µs.
    pub gather_window: i64,
    /// Largest relative difference between pieces that count as the same money.
    pub tolerance: f64,
    pub min_fan: usize,
    pub min_mules: usize,
    /// Fans scoring below this are not reported (see the module doc).
    pub min_fan_score: f64,
}

impl FlowConfig {
    pub const DEFAULT_WINDOW_DAYS: i64 = 3;
    pub const DEFAULT_SCATTER_WINDOW_DAYS: i64 = 3;
    pub const DEFAULT_GATHER_WINDOW_DAYS: i64 = 7;
    pub const DEFAULT_MIN_FAN: usize = 5;
    pub const DEFAULT_MIN_FAN_SCORE: f64 = 5.0;
}

impl Default for FlowConfig {
    fn default() -> Self {
        let day = super::cycles::MICROS_PER_DAY;
        FlowConfig {
            window: Self::DEFAULT_WINDOW_DAYS * day,
            scatter_window: Self::DEFAULT_SCATTER_WINDOW_DAYS * day,
            gather_window: Self::DEFAULT_GATHER_WINDOW_DAYS * day,
            tolerance: super::DEFAULT_AMOUNT_TOLERANCE,
            min_fan: Self::DEFAULT_MIN_FAN,
            min_mules: 3,
            min_fan_score: Self::DEFAULT_MIN_FAN_SCORE,
        }
    }
}

/// Windows with more transfers than this are judged once and stepped over whole (a hub), not
/// slid over transfer by transfer: that would sort the window once per transfer, quadratic in a
/// hub's degree.
pub const MAX_SLIDING_WINDOW: usize = 4096;
/// Onward payments scanned per receipt of a mule: a busy account forwards to many; a mule
/// forwards the piece among its next few payments.
pub const MAX_ONWARD_SCAN: usize = 1024;

/// (ts, amount, counterparty, edge) of one side of a node.
type Side = Vec<(i64, f64, u32, usize)>;

/// Distinct counterparties of a sliding window `[start, end)` of a time-sorted list, kept as the
/// window moves (each element enters and leaves once): a window with too few of them is skipped
/// without sorting it, so an account paying one hub over and over costs linear time.
struct SlidingDistinct {
    count: crate::hash::FastMap<u32, u32>,
    start: usize,
    end: usize,
}

impl SlidingDistinct {
    fn new() -> Self {
        SlidingDistinct { count: Default::default(), start: 0, end: 0 }
    }

    /// Moves the window to `[start, end)` (both only grow) and returns its distinct count.
    fn window(&mut self, start: usize, end: usize, key: impl Fn(usize) -> u32) -> usize {
        while self.end < end {
            *self.count.entry(key(self.end)).or_insert(0) += 1;
            self.end += 1;
        }
        while self.start < start.min(self.end) {
            let k = key(self.start);
            if let Some(c) = self.count.get_mut(&k) {
                *c -= 1;
                if *c == 0 {
                    self.count.remove(&k);
                }
            }
            self.start += 1;
        }
        self.count.len()
    }
}

/// Non-overlapping bursts of `side` (time-sorted): edge lists of consistent amounts with at
/// least `min` distinct counterparties.
fn bursts(side: &Side, window: i64, tolerance: f64, min: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut scratch: Vec<(f64, u32, usize)> = Vec::new();
    let mut distinct_in = SlidingDistinct::new();
    while i < side.len() {
        let end = side[i..].partition_point(|x| x.0 <= side[i].0 + window) + i;
        if end - i < min || distinct_in.window(i, end, |k| side[k].2) < min {
            i += 1;
            continue;
        }
        scratch.clear();
        scratch.extend(side[i..end].iter().map(|x| (x.1, x.2, x.3)));
        scratch.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
        // Largest run whose largest amount is within tolerance of its smallest.
        let (mut best_lo, mut best_hi, mut lo) = (0, 0, 0);
        for hi in 0..scratch.len() {
            while !similar(scratch[lo].0, scratch[hi].0, tolerance) {
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
        } else if end - i > MAX_SLIDING_WINDOW {
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

/// −log10 of the bursts of at least `k` that chance gives in `windows` windows when one window
/// expects `mu` events: −log10(P(Poisson(mu) ≥ k) × windows). Written by hand (a few lines; the
/// statistics crates bring far more): the tail is summed from its first term in log space, so
/// it stays exact where P is far below f64's smallest normal number.
pub fn chance_score(k: usize, mu: f64, windows: f64) -> f64 {
    if k == 0 || mu <= 0.0 {
        return if k == 0 { -windows.log10() } else { f64::INFINITY };
    }
    let ln_tail = if mu >= k as f64 {
        // The tail is large: 1 − the terms below k, summed directly.
        let mut term = (-mu).exp();
        let mut below = 0.0;
        for i in 0..k {
            below += term;
            term *= mu / (i + 1) as f64;
        }
        (1.0 - below).max(f64::MIN_POSITIVE).ln()
    } else {
        let ln_first = -mu + k as f64 * mu.ln() - (2..=k).map(|i| (i as f64).ln()).sum::<f64>();
        // Σ_{i≥k} term_i / term_k: a series whose ratio μ/(i+1) is below 1 from the start.
        let (mut ratio, mut sum, mut i) = (1.0f64, 1.0f64, k);
        while ratio > 1e-17 * sum && i < k + 10_000 {
            i += 1;
            ratio *= mu / i as f64;
            sum += ratio;
        }
        ln_first + sum.ln()
    };
    -(ln_tail + windows.ln()) / std::f64::consts::LN_10
}

/// The earliest and latest transfer times: the observation period fans are measured against.
fn observation_period(t: &Transfers) -> (i64, i64) {
    (0..t.node_count() as u32)
        .into_par_iter()
        .filter_map(|v| {
            let times = t.ts_slice(t.out_edges(v));
            let first = times.iter().copied().find(|&x| x != TS_NULL)?;
            let last = times.iter().rev().copied().find(|&x| x != TS_NULL)?;
            Some((first, last))
        })
        .reduce(|| (i64::MAX, i64::MIN), |a, b| (a.0.min(b.0), a.1.max(b.1)))
}

/// A fan of `burst` around `centre` scored by chance (see the module doc), `None` below
/// `min_fan_score`. `sorted_amounts` are the amounts of the centre's side, ascending.
fn fan(
    t: &Transfers,
    kind: RingKind,
    centre: u32,
    burst: Vec<usize>,
    sorted_amounts: &[f64],
    config: &FlowConfig,
    period: i64,
) -> Option<Ring> {
    let mut pieces: Vec<f64> = burst.iter().map(|&e| t.amount(e)).collect();
    pieces.sort_by(f64::total_cmp);
    let median = pieces[pieces.len() / 2];
    // similar(a, median) ⇔ median·(1 − tol) ≤ a ≤ median / (1 − tol).
    let (lo, hi) = (median * (1.0 - config.tolerance), median / (1.0 - config.tolerance));
    let count_in = |xs: &[f64]| xs.partition_point(|&a| a <= hi) - xs.partition_point(|&a| a < lo);
    let outside = count_in(sorted_amounts).saturating_sub(count_in(&pieces));
    let period = period.max(config.window).max(MIN_BASELINE_DAYS * super::cycles::MICROS_PER_DAY) as f64;
    let days = period / super::cycles::MICROS_PER_DAY as f64;
    // One such payment is assumed even when none was seen, so a new account's first burst has a
    // finite score.
    let per_day = (outside + 1) as f64 / days;
    let mu = per_day * config.window as f64 / super::cycles::MICROS_PER_DAY as f64;
    let mut ring = ring_of(t, kind, &[centre], burst);
    let counterparties = ring.members.len().saturating_sub(1);
    ring.score = chance_score(counterparties, mu, period / config.window as f64).min(MAX_FAN_SCORE);
    ring.background_per_day = per_day;
    (ring.score >= config.min_fan_score).then_some(ring)
}

/// A centre's usual rate is never taken over less than this: in data spanning a few days, one
/// similar payment a month is assumed, not one in those few days.
const MIN_BASELINE_DAYS: i64 = 30;

/// Scores are capped here: beyond it chance is no explanation whatever the number says.
const MAX_FAN_SCORE: f64 = 99.0;

fn sorted_amounts(side: &Side) -> Vec<f64> {
    let mut amounts: Vec<f64> = side.iter().map(|x| x.1).collect();
    amounts.sort_by(f64::total_cmp);
    amounts
}

pub fn flow_typologies(t: &Transfers, config: &FlowConfig) -> Vec<Ring> {
    let n = t.node_count() as u32;
    let (first, last) = observation_period(t);
    let period = last.saturating_sub(first).max(0);
    let found: Vec<Vec<Ring>> = (0..n)
        .into_par_iter()
        .map(|v| {
            let mut rings = Vec::new();
            if t.out_edges(v).len() < config.min_mules && t.in_edges(v).next().is_none() {
                return rings;
            }
            let out = out_side(t, v);
            let inn = in_side(t, v);
            // Scatter-gather with v as the source: it pays each of `min_mules` mules at least once.
            if out.len() >= config.min_mules {
                rings.extend(scatter_gathers(t, config, v));
            }
            // Gather-scatter with v as the hub.
            for gathered in bursts(&inn, config.window, config.tolerance, config.min_mules) {
                let first = gathered.iter().map(|&e| t.ts(e)).min().unwrap_or(0);
                let last = gathered.iter().map(|&e| t.ts(e)).max().unwrap_or(0);
                let mut pieces: Vec<f64> = gathered.iter().map(|&e| t.amount(e)).collect();
                pieces.sort_by(f64::total_cmp);
                let median = pieces[pieces.len() / 2];
                // `out` is in time order: binary-search the span instead of filtering it all.
                let from = out.partition_point(|x| x.0 <= first);
                let to = out.partition_point(|x| x.0 <= last + config.gather_window);
                let later: Side = out[from..to.max(from)].iter().copied().filter(|x| similar(x.1, median, config.tolerance)).collect();
                let scattered = bursts(&later, config.scatter_window, config.tolerance, config.min_mules);
                if let Some(scattered) = scattered.into_iter().max_by_key(|b| b.len()) {
                    let mut edges = gathered.clone();
                    edges.extend(scattered);
                    rings.push(ring_of(t, RingKind::GatherScatter, &[v], edges));
                }
            }
            for (side, kind) in [(&out, RingKind::FanOut), (&inn, RingKind::FanIn)] {
                let found = bursts(side, config.window, config.tolerance, config.min_fan);
                if !found.is_empty() {
                    let amounts = sorted_amounts(side);
                    rings.extend(found.into_iter().filter_map(|burst| fan(t, kind, v, burst, &amounts, config, period)));
                }
            }
            rings
        })
        .collect();
    let mut rings: Vec<Ring> = found.into_iter().flatten().collect();
    // A fan that is mostly a part of a found structure is that structure, reported once.
    let structural: FastSet<(u32, u32, i64)> = rings
        .iter()
        .filter(|r| matches!(r.kind, RingKind::ScatterGather | RingKind::GatherScatter))
        .flat_map(|r| r.evidence.iter().map(|e| (e.src, e.dst, e.ts)))
        .collect();
    rings.retain(|r| {
        if !matches!(r.kind, RingKind::FanOut | RingKind::FanIn) {
            return true;
        }
        let inside = r.evidence.iter().filter(|e| structural.contains(&(e.src, e.dst, e.ts))).count();
        2 * inside < r.evidence.len()
    });
    rings
}

/// The scatter-gathers with `source` as the source: for every payment out of it, the mule's
/// similar onward payments within `gather_window`; per sink, the largest set of distinct mules
/// paid within `scatter_window` with consistent amounts, repeatedly while one has `min_mules`.
fn scatter_gathers(t: &Transfers, config: &FlowConfig, source: u32) -> Vec<Ring> {
    // (sink, receipt time, receipt amount, mule, receive edge, forward edge)
    let mut candidates: Vec<(u32, i64, f64, u32, usize, usize)> = Vec::new();
    for r in t.out_edges(source) {
        let (mule, received, at) = (t.dst(r), t.amount(r), t.ts(r));
        if mule == source {
            continue;
        }
        let range = t.out_edges(mule);
        let first = range.start + t.ts_slice(range.clone()).partition_point(|&ts| ts <= at);
        let mut seen: Vec<u32> = Vec::new();
        for f in first..range.end.min(first + MAX_ONWARD_SCAN) {
            if t.ts(f) > at + config.gather_window {
                break;
            }
            let sink = t.dst(f);
            if sink == source || sink == mule || seen.contains(&sink) || !similar(t.amount(f), received, config.tolerance) {
                continue;
            }
            seen.push(sink);
            candidates.push((sink, at, received, mule, r, f));
        }
    }
    candidates.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(a.4.cmp(&b.4)).then(a.5.cmp(&b.5)));
    let mut rings = Vec::new();
    for group in candidates.chunk_by(|a, b| a.0 == b.0) {
        let mut left: Vec<_> = group.to_vec();
        while left.len() >= config.min_mules {
            let Some(best) = best_scatter(&left, config) else { break };
            let sink = left[best[0]].0;
            let mut edges: Vec<usize> = best.iter().flat_map(|&i| [left[i].4, left[i].5]).collect();
            edges.sort_unstable();
            edges.dedup();
            rings.push(ring_of(t, RingKind::ScatterGather, &[source, sink], edges));
            let taken: FastSet<usize> = best.iter().copied().collect();
            left = left.into_iter().enumerate().filter(|(i, _)| !taken.contains(i)).map(|(_, c)| c).collect();
        }
    }
    rings
}

/// Within one sink's candidates (time-sorted), the positions of the largest set of distinct mules
/// paid within `scatter_window` of each other whose pieces are within `tolerance`; the earliest
/// such set on ties. `None` when no set reaches `min_mules`.
fn best_scatter(candidates: &[(u32, i64, f64, u32, usize, usize)], config: &FlowConfig) -> Option<Vec<usize>> {
    let mut best: Option<Vec<usize>> = None;
    let mut scratch: Vec<(f64, u32, usize)> = Vec::new();
    let mut next = 0;
    let mut mules_in = SlidingDistinct::new();
    while next < candidates.len() {
        let i = next;
        let end = candidates[i..].partition_point(|c| c.1 <= candidates[i].1 + config.scatter_window) + i;
        // A hub's window is judged once and stepped over (see MAX_SLIDING_WINDOW).
        next = if end - i > MAX_SLIDING_WINDOW { end } else { i + 1 };
        let mules = mules_in.window(i, end, |k| candidates[k].3);
        if end - i < config.min_mules || mules < config.min_mules || best.as_ref().is_some_and(|b| b.len() >= mules) {
            continue;
        }
        scratch.clear();
        scratch.extend((i..end).map(|k| (candidates[k].2, candidates[k].3, k)));
        scratch.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
        let (mut lo, mut pick) = (0, (0, 0));
        for hi in 0..scratch.len() {
            while !similar(scratch[lo].0, scratch[hi].0, config.tolerance) {
                lo += 1;
            }
            if hi + 1 - lo > pick.1 - pick.0 {
                pick = (lo, hi + 1);
            }
        }
        // One piece per mule: its earliest.
        let mut chosen: Vec<usize> = scratch[pick.0..pick.1].iter().map(|x| x.2).collect();
        chosen.sort_unstable();
        let mut mules: FastSet<u32> = FastSet::default();
        chosen.retain(|&k| mules.insert(candidates[k].3));
        if chosen.len() >= config.min_mules && best.as_ref().is_none_or(|b| chosen.len() > b.len()) {
            best = Some(chosen);
        }
    }
    best
}
