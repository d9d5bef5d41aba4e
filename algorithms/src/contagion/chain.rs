//! The evidence behind a contagion flag: the single chain of defaults that contributes most to a
//! firm's contagion-inclusive default probability.
//!
//! In the independent cascade of [`super::cascade`], a chain `s → … → f` brings `f` down with
//! probability `pd(s) × Π W` along it; the strongest chain maximises that product over chains of
//! at most `max_hops` impacts that start at another firm than `f`. Found for every firm at once
//! by dynamic programming over the number of hops: a chain of `h` impacts into `v` extends one of
//! `h − 1` impacts into a firm hitting `v`. Each level keeps, per firm, the two strongest chains
//! with different starting firms, so that the strongest chain into `f` not starting at `f` itself
//! is always among them. Since `W ≤ 1`, a chain that repeats a firm is never stronger than the
//! shorter one without the repeat, and the fewest hops win ties, so the chain found is a simple
//! path: the exact optimum, not a search bounded by visits.
//!
//! # Complexity
//! O(max_hops × e) for e impacts, parallel over firms; 24 bytes per firm and hop.

use rayon::prelude::*;

use super::ImpactNetwork;

/// The impact network reversed: who hits each firm, and how hard.
pub struct ImpactSources {
    offsets: Vec<u64>,
    sources: Vec<u32>,
    weights: Vec<f64>,
}

impl ImpactSources {
    pub fn new(net: &ImpactNetwork) -> ImpactSources {
        let n = net.firms as usize;
        let mut counts = vec![0u64; n + 1];
        for &j in &net.targets {
            counts[j as usize + 1] += 1;
        }
        for k in 1..=n {
            counts[k] += counts[k - 1];
        }
        let mut next = counts.clone();
        let mut sources = vec![0u32; net.targets.len()];
        let mut weights = vec![0f64; net.targets.len()];
        for i in 0..net.firms {
            let (targets, ws, _) = net.impacts(i);
            for (&j, &w) in targets.iter().zip(ws) {
                let at = next[j as usize] as usize;
                sources[at] = i;
                weights[at] = w;
                next[j as usize] += 1;
            }
        }
        ImpactSources { offsets: counts, sources, weights }
    }

    pub fn hits(&self, j: u32) -> impl Iterator<Item = (u32, f64)> + '_ {
        let range = self.offsets[j as usize] as usize..self.offsets[j as usize + 1] as usize;
        self.sources[range.clone()].iter().copied().zip(self.weights[range].iter().copied())
    }
}

/// A chain and its contribution.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    /// From the firm whose own default starts it to the flagged firm.
    pub firms: Vec<u32>,
    /// `pd(first) × Π W` along the chain.
    pub contribution: f64,
}

const NO_START: u32 = u32::MAX;

/// The two strongest chains of one length into one firm, with different starts: (contribution,
/// start), strongest first; an absent chain has contribution 0 and start [`NO_START`].
#[derive(Clone, Copy)]
struct TopTwo([(f64, u32); 2]);

impl TopTwo {
    const EMPTY: TopTwo = TopTwo([(0.0, NO_START); 2]);

    /// Larger contribution first, ties by the smaller start: a total order.
    fn beats(a: (f64, u32), b: (f64, u32)) -> bool {
        a.0 > b.0 || (a.0 == b.0 && a.1 < b.1)
    }

    fn offer(&mut self, candidate: (f64, u32)) {
        if candidate.0 <= 0.0 {
            return;
        }
        let [first, second] = &mut self.0;
        if candidate.1 == first.1 {
            if TopTwo::beats(candidate, *first) {
                *first = candidate;
            }
        } else if candidate.1 == second.1 {
            if TopTwo::beats(candidate, *second) {
                *second = candidate;
                if TopTwo::beats(*second, *first) {
                    std::mem::swap(first, second);
                }
            }
        } else if TopTwo::beats(candidate, *first) {
            *second = *first;
            *first = candidate;
        } else if TopTwo::beats(candidate, *second) {
            *second = candidate;
        }
    }
}

/// The strongest chains into every firm, by number of hops.
pub struct StrongestChains<'a> {
    sources: &'a ImpactSources,
    /// `levels[h][v]`: chains of exactly `h` impacts into `v`; level 0 is each firm's own pd.
    levels: Vec<Vec<TopTwo>>,
}

impl<'a> StrongestChains<'a> {
    /// `pd` per firm (non-finite or missing counts as 0, clamped to [0, 1]).
    pub fn new(sources: &'a ImpactSources, pd: &[f64], max_hops: usize) -> StrongestChains<'a> {
        let firms = sources.offsets.len().saturating_sub(1);
        let p = |f: usize| pd.get(f).copied().filter(|x| x.is_finite()).unwrap_or(0.0).clamp(0.0, 1.0);
        let own: Vec<TopTwo> = (0..firms).map(|f| TopTwo([(p(f), f as u32), (0.0, NO_START)])).collect();
        let mut levels = vec![own];
        for _ in 0..max_hops {
            let previous = &levels[levels.len() - 1];
            let next: Vec<TopTwo> = (0..firms as u32)
                .into_par_iter()
                .map(|v| {
                    let mut top = TopTwo::EMPTY;
                    for (u, w) in sources.hits(v) {
                        for (value, start) in previous[u as usize].0 {
                            if start != NO_START {
                                top.offer((value * w, start));
                            }
                        }
                    }
                    top
                })
                .collect();
            levels.push(next);
        }
        StrongestChains { sources, levels }
    }

    /// The strongest chain into `target` starting at another firm: largest contribution, then
    /// fewest hops, then smallest starting firm; `None` when no firm with a positive pd reaches
    /// it.
    pub fn chain(&self, target: u32) -> Option<Chain> {
        let mut best: Option<(f64, usize, u32)> = None;
        for h in 1..self.levels.len() {
            for (value, start) in self.levels[h].get(target as usize)?.0 {
                if start == NO_START || start == target {
                    continue;
                }
                // Levels rise, so an equal contribution found later has more hops and loses.
                let better = best.is_none_or(|(b, best_hops, s)| value > b || (value == b && h == best_hops && start < s));
                if better {
                    best = Some((value, h, start));
                }
            }
        }
        let (contribution, hops, start) = best?;
        // Walk back: at each level, the smallest hitting firm whose chain from `start`, extended,
        // gives exactly the value held.
        let mut firms = vec![target];
        let (mut at, mut value) = (target, contribution);
        for h in (1..=hops).rev() {
            let (u, previous) = self.sources.hits(at).find_map(|(u, w)| {
                self.levels[h - 1][u as usize].0.iter().find(|&&(x, s)| s == start && x * w == value).map(|&(x, _)| (u, x))
            })?;
            firms.push(u);
            (at, value) = (u, previous);
        }
        firms.reverse();
        Some(Chain { firms, contribution })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counter-based stream of uniform numbers in [0, 1).
    fn uniform(seed: u64) -> impl FnMut() -> f64 {
        let mut draws = 0u64;
        move || {
            draws += 1;
            crate::hash::unit(seed, 0, 0, draws)
        }
    }

    fn chain(net: &ImpactNetwork, pd: &[f64], target: u32, max_hops: usize) -> Option<Chain> {
        StrongestChains::new(&ImpactSources::new(net), pd, max_hops).chain(target)
    }

    #[test]
    fn the_strongest_chain_beats_a_likelier_start_with_weaker_links() {
        // 0 (pd 0.5) hits 2 with W 0.1; 1 (pd 0.2) hits 3 with W 0.9, which hits 2 with W 0.8.
        // Chains into 2: 0→2 gives 0.05, 1→3→2 gives 0.2 × 0.72 = 0.144, 3→2 alone 0.
        let net = ImpactNetwork::from_losses(4, vec![(0, 2, 10.0), (1, 3, 90.0), (3, 2, 80.0)], &[100.0; 4]);
        let pd = [0.5, 0.2, 0.0, 0.0];
        let found = chain(&net, &pd, 2, 4).expect("a chain");
        assert_eq!(found.firms, vec![1, 3, 2]);
        assert!((found.contribution - 0.144).abs() < 1e-12, "{}", found.contribution);
        // Within one hop only the direct hit counts.
        assert_eq!(chain(&net, &pd, 2, 1).expect("a chain").firms, vec![0, 2]);
        // Nobody with a pd reaches firm 1.
        assert!(chain(&net, &pd, 1, 4).is_none());
    }

    #[test]
    fn a_firm_is_not_its_own_source_even_when_that_chain_is_strongest() {
        // 0 and 1 guarantee each other fully; 0's own pd (0.9) round the circle would give 0.9,
        // but the chain must start elsewhere: 2 (pd 0.1) hits 1, which hits 0.
        let net = ImpactNetwork::from_losses(3, vec![(0, 1, 100.0), (1, 0, 100.0), (2, 1, 50.0)], &[100.0; 3]);
        let pd = [0.9, 0.0, 0.1];
        let found = chain(&net, &pd, 0, 4).expect("a chain");
        assert_eq!(found.firms, vec![2, 1, 0]);
        assert!((found.contribution - 0.05).abs() < 1e-12, "{}", found.contribution);
        // Into 1, firm 0's own default is the strongest (0.9), ahead of 2's 0.05.
        assert_eq!(chain(&net, &pd, 1, 4).expect("a chain").firms, vec![0, 1]);
    }

    /// Every simple chain of at most `max_hops` impacts into `target`, starting elsewhere: the
    /// strongest by (contribution, fewer hops, smaller start).
    fn brute_force(edges: &[(u32, u32, f64)], pd: &[f64], target: u32, max_hops: usize) -> Option<(f64, Vec<u32>)> {
        fn walk(path: &mut Vec<u32>, edges: &[(u32, u32, f64)], pd: &[f64], max_hops: usize, best: &mut Option<(f64, Vec<u32>)>) {
            let start = *path.last().unwrap_or(&0);
            if path.len() > 1 {
                // path is target ← … ← start; the contribution from the start forwards.
                let mut value = pd[start as usize];
                for pair in path.windows(2).rev() {
                    let w: f64 = edges.iter().filter(|e| e.0 == pair[1] && e.1 == pair[0]).map(|e| e.2).fold(0.0, f64::max);
                    value *= w;
                }
                let hops = path.len() - 1;
                let better = value > 0.0
                    && best
                        .as_ref()
                        .is_none_or(|(b, p)| value > *b || (value == *b && (hops < p.len() - 1 || (hops == p.len() - 1 && start < p[0]))));
                if better {
                    *best = Some((value, path.iter().rev().copied().collect()));
                }
            }
            if path.len() > max_hops {
                return;
            }
            let at = *path.last().unwrap_or(&0);
            let mut sources: Vec<u32> = edges.iter().filter(|e| e.1 == at).map(|e| e.0).collect();
            sources.sort_unstable();
            sources.dedup();
            for u in sources {
                if !path.contains(&u) {
                    path.push(u);
                    walk(path, edges, pd, max_hops, best);
                    path.pop();
                }
            }
        }
        let mut best = None;
        walk(&mut vec![target], edges, pd, max_hops, &mut best);
        best
    }

    #[test]
    fn the_chains_are_those_an_exhaustive_search_of_simple_paths_finds() {
        let mut unit = uniform(11);
        for round in 0..200 {
            let n = 2 + (unit() * 7.0) as u32;
            let mut losses = Vec::new();
            for _ in 0..1 + (unit() * 3.0 * n as f64) as usize {
                let (i, j) = ((unit() * n as f64) as u32, (unit() * n as f64) as u32);
                if i != j && !losses.iter().any(|&(a, b, _)| (a, b) == (i, j)) {
                    // Some full losses (W = 1), the rest partial.
                    let loss = if unit() < 0.2 { 150.0 } else { 1.0 + 99.0 * unit() };
                    losses.push((i, j, loss));
                }
            }
            let pd: Vec<f64> = (0..n).map(|_| if unit() < 0.3 { 0.0 } else { 0.001 + 0.999 * unit() }).collect();
            let net = ImpactNetwork::from_losses(n, losses.clone(), &vec![100.0; n as usize]);
            let edges: Vec<(u32, u32, f64)> = losses.iter().map(|&(i, j, l)| (i, j, (l / 100.0f64).min(1.0))).collect();
            let max_hops = 1 + (unit() * 4.0) as usize;
            let sources = ImpactSources::new(&net);
            let chains = StrongestChains::new(&sources, &pd, max_hops);
            for target in 0..n {
                let expected = brute_force(&edges, &pd, target, max_hops);
                let found = chains.chain(target);
                match (&expected, &found) {
                    (None, None) => {}
                    (Some((value, path)), Some(c)) => {
                        assert!(
                            (value - c.contribution).abs() <= 1e-12 * value,
                            "round {round} target {target}: {value} vs {}",
                            c.contribution
                        );
                        // Near-equal products may order differently by rounding; exact ones must agree.
                        if (value - c.contribution).abs() == 0.0 {
                            assert_eq!(path, &c.firms, "round {round} target {target}");
                        }
                    }
                    _ => panic!("round {round} target {target}: expected {expected:?}, found {found:?}"),
                }
            }
        }
    }

    #[test]
    fn renaming_the_firms_renames_the_chains() {
        let mut unit = uniform(12);
        let n = 40u32;
        // Partial losses only: with W < 1 no two chains tie, so the chain itself is determined.
        let losses: Vec<(u32, u32, f64)> = (0..120)
            .map(|_| ((unit() * n as f64) as u32, (unit() * n as f64) as u32, 1.0 + 98.0 * unit()))
            .filter(|&(i, j, _)| i != j)
            .collect();
        let pd: Vec<f64> = (0..n).map(|_| 0.01 + 0.5 * unit()).collect();
        // A random bijection (Fisher–Yates).
        let mut rename: Vec<u32> = (0..n).collect();
        for i in (1..n as usize).rev() {
            rename.swap(i, (unit() * (i + 1) as f64) as usize);
        }
        let mut renamed_losses: Vec<(u32, u32, f64)> =
            losses.iter().map(|&(i, j, l)| (rename[i as usize], rename[j as usize], l)).collect();
        renamed_losses.reverse();
        let mut renamed_pd = vec![0.0; n as usize];
        for (f, &p) in pd.iter().enumerate() {
            renamed_pd[rename[f] as usize] = p;
        }
        let (net, renamed_net) = (
            ImpactNetwork::from_losses(n, losses, &vec![100.0; n as usize]),
            ImpactNetwork::from_losses(n, renamed_losses, &vec![100.0; n as usize]),
        );
        let (sources, renamed_sources) = (ImpactSources::new(&net), ImpactSources::new(&renamed_net));
        let (chains, renamed_chains) = (StrongestChains::new(&sources, &pd, 4), StrongestChains::new(&renamed_sources, &renamed_pd, 4));
        let mut found = 0;
        for f in 0..n {
            let original = chains.chain(f).map(|c| (c.firms.iter().map(|&x| rename[x as usize]).collect::<Vec<_>>(), c.contribution));
            let renamed = renamed_chains.chain(rename[f as usize]).map(|c| (c.firms, c.contribution));
            match (original, renamed) {
                (Some((path, value)), Some((renamed_path, renamed_value))) => {
                    assert_eq!(path, renamed_path, "firm {f}");
                    assert!((value - renamed_value).abs() <= 1e-15, "firm {f}");
                    found += 1;
                }
                (None, None) => {}
                other => panic!("firm {f}: {other:?}"),
            }
        }
        assert!(found > 20, "only {found} firms have a chain");
    }
}
