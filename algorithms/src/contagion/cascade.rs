//! Monte Carlo default cascades on the impact network: in each run, firm `i` defaults on its own
//! with probability `pd_i`, and a defaulted firm passes default to `j` with probability `W[i → j]`
//! (an independent-cascade model, Kempe, Kleinberg and Tardos 2003, with the DebtRank weights).
//!
//! # Estimator
//! The contagion-inclusive default probability is `P_j = pd_j + P(j defaults by contagion only)`;
//! the second term is estimated by the share of runs in which `j` defaulted without its own draw
//! having failed, with a Wilson 95% interval. This is unbiased, never below `pd_j`, and exact
//! (`pd_j`, zero width) for a firm no link can reach.
//!
//! # Determinism
//! Every draw is a pure function of (seed, run, firm or link) through a counter-based generator
//! ([`crate::hash::unit`]), and per-firm counts are integers summed across threads, so results
//! are identical for any thread count and any order of runs. A firm's own defaults are drawn per
//! segment of 256 runs by geometric jumps between successes, so a run costs its defaults, not
//! one draw per firm.
//!
//! # Complexity
//! O(runs × (own defaults + links out of defaulted firms) + firms × runs / 256), parallel over
//! segments of runs; memory two u32 per firm per worker.

use rayon::prelude::*;

use super::impact::ImpactNetwork;
use crate::hash::unit;

pub const DEFAULT_RUNS: u32 = 10_000;
pub use crate::DEFAULT_SEED;
/// Two-sided 95% normal quantile.
const Z95: f64 = 1.959_963_984_540_054;
const NODE_STREAM: u64 = 1;
const LINK_STREAM: u64 = 2;
const HIT_STREAM: u64 = 3;

#[derive(Clone, Debug)]
pub struct CascadeConfig {
    pub runs: u32,
    pub seed: u64,
}

impl Default for CascadeConfig {
    fn default() -> Self {
        CascadeConfig { runs: DEFAULT_RUNS, seed: DEFAULT_SEED }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CascadeResult {
    /// Per firm: contagion-inclusive default probability.
    pub probability: Vec<f64>,
    pub low: Vec<f64>,
    pub high: Vec<f64>,
    /// Per firm: runs in which it defaulted by contagion only.
    pub contagion_runs: Vec<u32>,
    pub runs: u32,
    /// Expected number of firms defaulting per run (own draws and contagion).
    pub mean_defaults: f64,
}

/// Wilson score interval for `k` successes in `n` trials.
pub fn wilson(k: u32, n: u32) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    // The interval always holds the estimate (rounding could otherwise lift the lower end above
    // 0 at k = 0).
    ((centre - half).clamp(0.0, p), (centre + half).clamp(p, 1.0))
}

/// Runs per segment of the own-default draws; part of the definition of the random stream.
const SEGMENT: u32 = 256;

/// The runs of segment `segment` in which a firm with default probability `p` defaults on its own
/// draw, as offsets in `0..SEGMENT`, by geometric jumps between Bernoulli successes
/// (`gap = ⌊ln U / ln(1 − p)⌋`): O(defaults) work instead of one draw per run.
fn own_default_runs(seed: u64, firm: u32, segment: u32, p: f64, mut emit: impl FnMut(u32)) {
    if p <= 0.0 {
        return;
    }
    if p >= 1.0 {
        (0..SEGMENT).for_each(emit);
        return;
    }
    let log_q = (-p).ln_1p();
    let stream = ((segment as u64) << 32) | firm as u64;
    let mut at = 0u64;
    for k in 0.. {
        let u = 1.0 - unit(seed, NODE_STREAM, stream, k); // in (0, 1]
        at += (u.ln() / log_q).floor() as u64;
        if at >= SEGMENT as u64 {
            return;
        }
        emit(at as u32);
        at += 1;
    }
}

/// Runs the cascade. `pd` per firm (NaN counts as 0).
pub fn default_cascade(net: &ImpactNetwork, pd: &[f64], config: &CascadeConfig) -> CascadeResult {
    let n = net.firms as usize;
    let p = |f: u32| pd.get(f as usize).copied().filter(|x| x.is_finite()).unwrap_or(0.0).clamp(0.0, 1.0);
    // Firms that can pass default on draw their own defaults up front; a firm that can only be hit
    // draws when the cascade reaches it.
    let sources: Vec<u32> = (0..net.firms).filter(|&f| !net.impacts(f).0.is_empty() && p(f) > 0.0).collect();
    let mut reachable = vec![false; n];
    for &j in &net.targets {
        reachable[j as usize] = true;
    }
    struct Worker {
        stamp: Vec<u32>,
        contagion: Vec<u32>,
        queue: Vec<u32>,
        initial: Vec<Vec<u32>>,
    }
    let runs = config.runs;
    let segments = runs.div_ceil(SEGMENT);
    let threads = rayon::current_num_threads().max(1) as u32;
    let min_len = (segments / threads).max(1) as usize;
    let contagion_runs = (0..segments)
        .into_par_iter()
        .with_min_len(min_len)
        .fold(
            || Worker { stamp: vec![u32::MAX; n], contagion: vec![0; n], queue: Vec::new(), initial: vec![Vec::new(); SEGMENT as usize] },
            |mut w, segment| {
                for list in w.initial.iter_mut() {
                    list.clear();
                }
                for &s in &sources {
                    own_default_runs(config.seed, s, segment, p(s), |k| w.initial[k as usize].push(s));
                }
                let first = segment * SEGMENT;
                for run in first..(first + SEGMENT).min(runs) {
                    let Worker { stamp, contagion, queue, initial } = &mut w;
                    queue.clear();
                    for &s in &initial[(run - first) as usize] {
                        stamp[s as usize] = run;
                        queue.push(s);
                    }
                    let mut head = 0;
                    while head < queue.len() {
                        let i = queue[head];
                        head += 1;
                        let (targets, weights, start) = net.impacts(i);
                        for (k, (&j, &wt)) in targets.iter().zip(weights).enumerate() {
                            // The draw first: it reads only sequential memory, and most links stay
                            // dead, so the random access to `stamp[j]` is paid for live ones only.
                            if unit(config.seed, LINK_STREAM, run as u64, (start + k) as u64) >= wt || stamp[j as usize] == run {
                                continue;
                            }
                            stamp[j as usize] = run;
                            queue.push(j);
                            // Sources' own defaults were stamped at the start of the run.
                            let is_source = !net.impacts(j).0.is_empty();
                            let own = !is_source && unit(config.seed, HIT_STREAM, run as u64, j as u64) < p(j);
                            if !own {
                                contagion[j as usize] += 1;
                            }
                        }
                    }
                }
                w
            },
        )
        .map(|w| w.contagion)
        .reduce(
            || vec![0; n],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(&b) {
                    *x += y;
                }
                a
            },
        );
    let mut probability = Vec::with_capacity(n);
    let mut low = Vec::with_capacity(n);
    let mut high = Vec::with_capacity(n);
    for f in 0..n {
        let base = p(f as u32);
        if reachable[f] {
            let (lo, hi) = wilson(contagion_runs[f], runs);
            probability.push((base + contagion_runs[f] as f64 / runs.max(1) as f64).min(1.0));
            low.push((base + lo).min(1.0));
            high.push((base + hi).min(1.0));
        } else {
            probability.push(base);
            low.push(base);
            high.push(base);
        }
    }
    // E[defaults per run] = Σ of the marginal probabilities.
    let mean_defaults = crate::reduce::chunked_sum(&probability, |_, x| x);
    CascadeResult { probability, low, high, contagion_runs, runs, mean_defaults }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_firm_chain_matches_closed_form() {
        // 0 → 1 with W 0.5; pd = (0.2, 0.1): P1 = 0.1 + 0.9 · 0.2 · 0.5 = 0.19.
        let net = ImpactNetwork::from_losses(2, vec![(0, 1, 0.5)], &[1.0, 1.0]);
        let r = default_cascade(&net, &[0.2, 0.1], &CascadeConfig { runs: 100_000, seed: 7 });
        assert_eq!(r.probability[0], 0.2);
        assert!((r.probability[1] - 0.19).abs() < 0.004, "{}", r.probability[1]);
        assert!(r.low[1] <= 0.19 && 0.19 <= r.high[1]);
    }

    #[test]
    fn geometric_jumps_draw_bernoulli_runs() {
        for p in [0.001, 0.03, 0.5, 0.97] {
            let mut count = 0u64;
            let segments = 2000;
            for s in 0..segments {
                own_default_runs(5, 17, s, p, |k| {
                    assert!(k < SEGMENT);
                    count += 1;
                });
            }
            let trials = (segments * SEGMENT) as f64;
            let sd = (p * (1.0 - p) / trials).sqrt();
            assert!((count as f64 / trials - p).abs() < 5.0 * sd, "p {p}: {}", count as f64 / trials);
        }
    }

    #[test]
    fn a_firm_hit_from_several_sides_matches_inclusion_exclusion() {
        // 0 → 2 (W 0.5) and 1 → 2 (W 0.25); pd = (0.3, 0.4, 0): P2 = 1 − (1 − 0.15)(1 − 0.1) = 0.235.
        let net = ImpactNetwork::from_losses(3, vec![(0, 2, 0.5), (1, 2, 0.25)], &[1.0; 3]);
        let r = default_cascade(&net, &[0.3, 0.4, 0.0], &CascadeConfig { runs: 60_000, seed: 3 });
        assert!((r.probability[2] - 0.235).abs() < 0.006, "{}", r.probability[2]);
        let threads = |k| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(k)
                .build()
                .map(|pool| pool.install(|| default_cascade(&net, &[0.3, 0.4, 0.0], &CascadeConfig { runs: 3000, seed: 3 })))
        };
        assert_eq!(threads(1).ok(), threads(2).ok());
    }

    #[test]
    fn wilson_contains_the_mle() {
        let (lo, hi) = wilson(30, 100);
        assert!(lo < 0.3 && hi > 0.3);
        assert!((lo - 0.2189).abs() < 1e-3 && (hi - 0.3958).abs() < 1e-3);
    }
}
