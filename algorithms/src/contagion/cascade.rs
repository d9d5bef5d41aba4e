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
//! are identical for any thread count and any order of runs. Firms enter the draws by a key the
//! caller derives from their external ids, never by their place in the graph, and a link by its
//! two firms' keys: with the input's rows in another order, or a firm added beside them, every
//! other firm draws the same defaults and its estimate does not move. A firm's own defaults are drawn per
//! segment of 256 runs by geometric jumps between successes, so a run costs its defaults, not
//! one draw per firm.
//!
//! # Segments simulated together
//! The 256 runs of a segment are simulated together, one bit per run: a run's cascade is the set
//! of firms reachable over its live links from its own defaults, so sweeping the firms with
//! undelivered runs in ascending order, until none is left, finds every run's set with each
//! firm's links read once per sweep instead of once per run. The draws are the same as run by
//! run (a unit test holds the counts equal to a queue per run), so this changes the time, not one
//! result. On a large network most firms default in some run of a segment and each link's read
//! of its target is a cache miss, so sharing the reads is what keeps the cascade near linear in
//! the firms (`benches/README.md`).
//!
//! # Complexity
//! O(runs × (own defaults + links out of defaulted firms) + firms × runs / 256) draws, and
//! links read O(segments × sweeps × links), parallel over segments of runs; memory 68 bytes per
//! firm per worker.

use rayon::prelude::*;

use super::impact::ImpactNetwork;
use crate::hash::{pair_key, run_key, unit_in_run};
use ekg_schema::csr::prefetch;

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
fn own_default_runs(seed: u64, firm_key: u64, segment: u32, p: f64, mut emit: impl FnMut(u32)) {
    if p <= 0.0 {
        return;
    }
    if p >= 1.0 {
        (0..SEGMENT).for_each(emit);
        return;
    }
    let log_q = (-p).ln_1p();
    let run_key = run_key(seed, NODE_STREAM, firm_key);
    let mut at = 0u64;
    for k in 0u64.. {
        let u = 1.0 - unit_in_run(run_key, ((segment as u64) << 32) | k); // in (0, 1]
        at += (u.ln() / log_q).floor() as u64;
        if at >= SEGMENT as u64 {
            return;
        }
        emit(at as u32);
        at += 1;
    }
}

/// A segment's runs are simulated together, one bit each: a firm's links are read once for
/// every run of the segment that reaches it instead of once per run. That read is a cache miss
/// per link once the network outgrows the cache, and it, not the draws, bounds the cascade.
const WORDS: usize = (SEGMENT / 64) as usize;

/// A firm's runs in the segment: those in which it has defaulted, and those whose default it has
/// not yet passed on. In one cache line, since a link reads both of its target's.
#[derive(Clone, Copy, Default)]
#[repr(align(64))]
struct Runs {
    defaulted: [u64; WORDS],
    fresh: [u64; WORDS],
}

/// The targets of the firm `FIRMS_AHEAD` places on in the sweep (its first `PREFETCH_AHEAD`
/// links), and of the link `PREFETCH_AHEAD` on in a long row, are fetched early, so their
/// misses overlap: most firms have a handful of links, so looking ahead within a row alone
/// leaves most misses waited on one by one.
const FIRMS_AHEAD: usize = 4;
const PREFETCH_AHEAD: usize = 16;

/// One worker's state: per firm its [`Runs`] in the segment and its contagion count over all the
/// worker's runs.
struct Worker {
    runs: Vec<Runs>,
    contagion: Vec<u32>,
    touched: Vec<u32>,
    frontier: Vec<u32>,
    next: Vec<u32>,
    /// This segment's own defaults: (source, its runs as bits).
    initial: Vec<(u32, [u64; WORDS])>,
}

impl Worker {
    fn new(n: usize) -> Worker {
        Worker {
            runs: vec![Runs::default(); n],
            contagion: vec![0; n],
            touched: Vec::new(),
            frontier: Vec::new(),
            next: Vec::new(),
            initial: Vec::new(),
        }
    }

    /// The segment's runs `first..first + SEGMENT` (those below the total) from the sources' own
    /// defaults in `initial`. A run's cascade is the set reachable over its live links, so the
    /// order firms are visited in does not change it: sweeps go in ascending firm order, for
    /// sequential reads of the network, until no run has a default left to pass on.
    /// `is_source`: bit per firm, set when its default hits some firm.
    fn simulate_segment(&mut self, net: &ImpactNetwork, draws: &Draws, p: &impl Fn(u32) -> f64, is_source: &[u64], first: u32, seed: u64) {
        let link_keys: [u64; SEGMENT as usize] = std::array::from_fn(|b| run_key(seed, LINK_STREAM, (first + b as u32) as u64));
        let hit_keys: [u64; SEGMENT as usize] = std::array::from_fn(|b| run_key(seed, HIT_STREAM, (first + b as u32) as u64));
        let Worker { runs, contagion, touched, frontier, next, initial } = self;
        frontier.clear();
        for &(s, own) in initial.iter() {
            runs[s as usize] = Runs { defaulted: own, fresh: own };
            frontier.push(s);
            touched.push(s);
        }
        while !frontier.is_empty() {
            next.clear();
            for (at, &i) in frontier.iter().enumerate() {
                if let Some(&ahead) = frontier.get(at + FIRMS_AHEAD) {
                    prefetch(&runs[ahead as usize]);
                    for &t in net.impacts(ahead).0.iter().take(PREFETCH_AHEAD) {
                        prefetch(&runs[t as usize]);
                    }
                }
                // Invariant: a firm with fresh runs is listed once, in the unswept part of this
                // sweep or in the next, so taking them here passes each run's default on once.
                let passing = std::mem::take(&mut runs[i as usize].fresh);
                let (targets, weights, start) = net.impacts(i);
                for (k, (&j, &wt)) in targets.iter().zip(weights).enumerate() {
                    if let Some(&ahead) = targets.get(k + PREFETCH_AHEAD) {
                        prefetch(&runs[ahead as usize]);
                    }
                    let target = &mut runs[j as usize];
                    let mut live = [0u64; WORDS];
                    for w in 0..WORDS {
                        let mut candidates = passing[w] & !target.defaulted[w];
                        while candidates != 0 {
                            let b = candidates.trailing_zeros();
                            candidates &= candidates - 1;
                            if unit_in_run(link_keys[w * 64 + b as usize], draws.link[start + k]) < wt {
                                live[w] |= 1 << b;
                            }
                        }
                    }
                    if live == [0; WORDS] {
                        continue;
                    }
                    if target.defaulted == [0; WORDS] {
                        touched.push(j);
                    }
                    if target.fresh == [0; WORDS] {
                        next.push(j);
                    }
                    for (w, &bits) in live.iter().enumerate() {
                        target.defaulted[w] |= bits;
                        target.fresh[w] |= bits;
                    }
                }
            }
            next.sort_unstable();
            std::mem::swap(frontier, next);
        }
        // Counted once per firm and segment, not per hit, so the sweeps touch only `runs`. The
        // sources with own defaults head `touched`, in the order of `initial`.
        for (at, &j) in touched.iter().enumerate() {
            if let Some(&ahead) = touched.get(at + PREFETCH_AHEAD) {
                prefetch(&runs[ahead as usize]);
                prefetch(&contagion[ahead as usize]);
            }
            let own = initial.get(at).map_or([0; WORDS], |&(_, own)| own);
            let firm = &mut runs[j as usize];
            let reached: [u64; WORDS] = std::array::from_fn(|w| firm.defaulted[w] & !own[w]);
            firm.defaulted = [0; WORDS];
            // A source's own defaults were set before the sweeps, so every other run that reached
            // it is contagion; a firm that can only be hit draws its own in the runs that reach it.
            contagion[j as usize] += if is_source[j as usize / 64] >> (j % 64) & 1 == 1 {
                reached.iter().map(|x| x.count_ones()).sum::<u32>()
            } else {
                let pj = p(j);
                let mut count = 0;
                for (w, &word) in reached.iter().enumerate() {
                    let mut hit = word;
                    while hit != 0 {
                        let b = hit.trailing_zeros();
                        hit &= hit - 1;
                        count += u32::from(unit_in_run(hit_keys[w * 64 + b as usize], draws.firm[j as usize]) >= pj);
                    }
                }
                count
            };
        }
        touched.clear();
    }
}

/// What a firm's and a link's draws are keyed by.
struct Draws<'a> {
    /// Per firm, from the caller.
    firm: &'a [u64],
    /// Per link (in the network's order): its source's and its target's keys, mixed.
    link: Vec<u64>,
}

impl<'a> Draws<'a> {
    fn new(net: &ImpactNetwork, firm: &'a [u64]) -> Draws<'a> {
        let link = (0..net.firms)
            .into_par_iter()
            .flat_map_iter(|i| net.impacts(i).0.iter().map(move |&j| pair_key(firm[i as usize], firm[j as usize])))
            .collect();
        Draws { firm, link }
    }
}

/// Runs the cascade. `pd` per firm (NaN counts as 0). `firm_keys`: per firm, a key that names
/// it independently of its place in the graph (a hash of its external id), which its draws and
/// its links' draws are keyed by; distinct firms should have distinct keys.
///
/// # Panics
/// When `firm_keys` has fewer keys than the network has firms (a caller's mistake, not data's).
pub fn default_cascade(net: &ImpactNetwork, pd: &[f64], firm_keys: &[u64], config: &CascadeConfig) -> CascadeResult {
    let n = net.firms as usize;
    assert!(firm_keys.len() >= n, "default_cascade: {} firm keys for {n} firms", firm_keys.len());
    let draws = Draws::new(net, firm_keys);
    let p = |f: u32| pd.get(f as usize).copied().filter(|x| x.is_finite()).unwrap_or(0.0).clamp(0.0, 1.0);
    // Firms that can pass default on draw their own defaults up front; a firm that can only be hit
    // draws when the cascade reaches it.
    let sources: Vec<u32> = (0..net.firms).filter(|&f| !net.impacts(f).0.is_empty() && p(f) > 0.0).collect();
    let mut is_source = vec![0u64; n.div_ceil(64)];
    for f in 0..net.firms {
        if !net.impacts(f).0.is_empty() {
            is_source[f as usize / 64] |= 1 << (f % 64);
        }
    }
    let mut reachable = vec![false; n];
    for &j in &net.targets {
        reachable[j as usize] = true;
    }
    let runs = config.runs;
    let segments = runs.div_ceil(SEGMENT);
    let threads = rayon::current_num_threads().max(1) as u32;
    let min_len = (segments / threads).max(1) as usize;
    let contagion_runs = (0..segments)
        .into_par_iter()
        .with_min_len(min_len)
        .fold(
            || Worker::new(n),
            |mut w, segment| {
                let first = segment * SEGMENT;
                w.initial.clear();
                for &s in &sources {
                    let mut bits = [0u64; WORDS];
                    own_default_runs(config.seed, firm_keys[s as usize], segment, p(s), |k| {
                        if first + k < runs {
                            bits[(k / 64) as usize] |= 1 << (k % 64);
                        }
                    });
                    if bits != [0; WORDS] {
                        w.initial.push((s, bits));
                    }
                }
                w.simulate_segment(net, &draws, &p, &is_source, first, config.seed);
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
    use crate::hash::unit;

    /// Keys for firms 0..n in tests: distinct and unrelated to the places.
    fn keys(n: u32) -> Vec<u64> {
        (0..n as u64).map(|f| f.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xabcd).collect()
    }

    #[test]
    fn firms_in_another_order_draw_the_same_cascades() {
        // The same network with its firms renumbered by a permutation, each firm keeping its key:
        // every firm's count of contagion runs is the same, as when an export lists the firms in
        // another order. Keying draws by place fails this.
        for case in 0..12u64 {
            let n = 5 + (case % 23) as u32;
            let losses: Vec<(u32, u32, f64)> = (0..case * 5 + 8)
                .map(|e| ((unit(case, 9, e, 0) * n as f64) as u32, (unit(case, 9, e, 1) * n as f64) as u32, unit(case, 9, e, 2) * 1.3))
                .collect();
            let pd: Vec<f64> = (0..n).map(|f| unit(case, 8, f as u64, 0) * 0.3).collect();
            // place[f]: firm f's number in the renumbered network.
            let mut place: Vec<u32> = (0..n).collect();
            place.sort_by_key(|&f| (unit(case, 7, f as u64, 0) * 1e9) as u64);
            let renumbered = ImpactNetwork::from_losses(
                n,
                losses.iter().map(|&(i, j, l)| (place[i as usize], place[j as usize], l)).collect(),
                &vec![1.0; n as usize],
            );
            let net = ImpactNetwork::from_losses(n, losses, &vec![1.0; n as usize]);
            let (keys, mut moved_keys, mut moved_pd) = (keys(n), vec![0; n as usize], vec![0.0; n as usize]);
            for f in 0..n as usize {
                moved_keys[place[f] as usize] = keys[f];
                moved_pd[place[f] as usize] = pd[f];
            }
            let config = CascadeConfig { runs: 700, seed: case };
            let before = default_cascade(&net, &pd, &keys, &config).contagion_runs;
            let after = default_cascade(&renumbered, &moved_pd, &moved_keys, &config).contagion_runs;
            assert!(before.iter().any(|&c| c > 0), "case {case}: no contagion to compare");
            for f in 0..n as usize {
                assert_eq!(before[f], after[place[f] as usize], "case {case}, firm {f}");
            }
        }
    }

    /// The cascade one run at a time, by a queue per run: the definition the batched sweeps must
    /// reproduce draw for draw.
    fn contagion_run_by_run(net: &ImpactNetwork, pd: &[f64], keys: &[u64], config: &CascadeConfig) -> Vec<u32> {
        let n = net.firms as usize;
        let p = |f: u32| pd.get(f as usize).copied().filter(|x| x.is_finite()).unwrap_or(0.0).clamp(0.0, 1.0);
        let is_source = |f: u32| !net.impacts(f).0.is_empty();
        let mut contagion = vec![0u32; n];
        let mut stamp = vec![u32::MAX; n];
        for run in 0..config.runs {
            let (segment, offset) = (run / SEGMENT, run % SEGMENT);
            let mut queue = Vec::new();
            for s in (0..net.firms).filter(|&s| is_source(s)) {
                own_default_runs(config.seed, keys[s as usize], segment, p(s), |k| {
                    if k == offset {
                        queue.push(s);
                    }
                });
            }
            for &s in &queue {
                stamp[s as usize] = run;
            }
            let mut head = 0;
            while head < queue.len() {
                let i = queue[head];
                head += 1;
                let (targets, weights, _) = net.impacts(i);
                for (&j, &wt) in targets.iter().zip(weights) {
                    if stamp[j as usize] == run
                        || unit(config.seed, LINK_STREAM, run as u64, pair_key(keys[i as usize], keys[j as usize])) >= wt
                    {
                        continue;
                    }
                    stamp[j as usize] = run;
                    queue.push(j);
                    if is_source(j) || unit(config.seed, HIT_STREAM, run as u64, keys[j as usize]) >= p(j) {
                        contagion[j as usize] += 1;
                    }
                }
            }
        }
        contagion
    }

    #[test]
    fn batched_sweeps_match_run_by_run_queues() {
        // Random networks with cycles, hubs, certain links (W = 1) and firms without pd; run
        // counts that end inside a word of runs and inside a segment.
        for case in 0..40u64 {
            let n = 3 + (case % 37) as u32;
            let links = case * 7 % 90;
            let losses: Vec<(u32, u32, f64)> = (0..links)
                .map(|e| {
                    let (a, b) = ((unit(case, 9, e, 0) * n as f64) as u32, (unit(case, 9, e, 1) * n as f64) as u32);
                    let hub = if e % 3 == 0 { 0 } else { a };
                    (hub, b, unit(case, 9, e, 2) * 1.3)
                })
                .collect();
            let net = ImpactNetwork::from_losses(n, losses, &vec![1.0; n as usize]);
            let pd: Vec<f64> = (0..n).map(|f| if f % 4 == 3 { 0.0 } else { unit(case, 8, f as u64, 0) * 0.3 }).collect();
            for runs in [1, 63, 64, 65, 300, 513] {
                let config = CascadeConfig { runs, seed: case };
                let keys = keys(n);
                assert_eq!(
                    default_cascade(&net, &pd, &keys, &config).contagion_runs,
                    contagion_run_by_run(&net, &pd, &keys, &config),
                    "case {case}, {runs} runs"
                );
            }
        }
    }

    #[test]
    fn two_firm_chain_matches_closed_form() {
        // 0 → 1 with W 0.5; pd = (0.2, 0.1): P1 = 0.1 + 0.9 · 0.2 · 0.5 = 0.19.
        let net = ImpactNetwork::from_losses(2, vec![(0, 1, 0.5)], &[1.0, 1.0]);
        let r = default_cascade(&net, &[0.2, 0.1], &keys(2), &CascadeConfig { runs: 100_000, seed: 7 });
        assert_eq!(r.probability[0], 0.2);
        assert!((r.probability[1] - 0.19).abs() < 0.004, "{}", r.probability[1]);
        // A 95% interval misses the truth in about one seed in twenty: count over forty.
        let covering = (0..40u64)
            .filter(|&seed| {
                let r = default_cascade(&net, &[0.2, 0.1], &keys(2), &CascadeConfig { runs: 20_000, seed });
                r.low[1] <= 0.19 && 0.19 <= r.high[1]
            })
            .count();
        assert!(covering >= 34, "{covering} of 40 intervals hold P1");
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
        let r = default_cascade(&net, &[0.3, 0.4, 0.0], &keys(3), &CascadeConfig { runs: 60_000, seed: 3 });
        assert!((r.probability[2] - 0.235).abs() < 0.006, "{}", r.probability[2]);
        let threads = |k| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(k)
                .build()
                .map(|pool| pool.install(|| default_cascade(&net, &[0.3, 0.4, 0.0], &keys(3), &CascadeConfig { runs: 3000, seed: 3 })))
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
