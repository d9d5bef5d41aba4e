//! DebtRank (Battiston, Puliga, Kaushik, Tasca and Caldarelli, "DebtRank: Too Central to Fail?",
//! Scientific Reports 2, 541, 2012), with the paper's dynamics:
//!
//! ```text
//! h_j(t) = min(1, h_j(t−1) + Σ_{i : s_i(t−1) = D} W_ij · h_i(t−1))
//! s_j(t) = D if h_j(t) > 0 and s_j(t−1) ≠ I;  I if s_j(t−1) = D;  else s_j(t−1)
//! ```
//!
//! Shocked firms start distressed (`D`) at their shock level; each distressed firm propagates
//! once, then becomes inactive (`I`), so the dynamics end after at most n rounds. The scenario's
//! DebtRank is `Σ v_j h_j(T) − Σ v_j h_j(1)`: the economic value lost beyond the initial shock.
//!
//! # Complexity and determinism
//! O(edges out of distressed firms) per run over dense per-firm arrays that are reset by their
//! touched entries only, so a run costs what the shock reaches. A round whose frontier has many
//! links pulls instead of pushing (Beamer et al.'s direction optimisation): each firm sums its
//! incoming links from distressed firms, a sequential pass over the links with one 8-byte read
//! per source and no branch, where pushing scatters into 16-byte entries all over the firms and
//! branches on each. It pays where the frontier holds much of the network. Either way
//! a firm's contributions are added in ascending source order (the frontier is sorted; a firm's
//! incoming links are too), so the two give the same bits and results do not depend on threads;
//! systemic importance runs firms in parallel, one workspace per worker.

use rayon::prelude::*;

use super::impact::ImpactNetwork;
use ekg_schema::csr::prefetch;

/// Firms whose systemic importance is computed unless configured: the largest exposures.
pub const DEFAULT_TOP_K: usize = 100;

const SOUND: u8 = 0;
const DISTRESSED: u8 = 1;
const INACTIVE: u8 = 2;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DebtRankResult {
    /// (firm, final distress h) for every firm with h > 0, ascending by firm.
    pub distress: Vec<(u32, f64)>,
    /// Σ v_j h_j(T) − Σ v_j h_j(1).
    pub debtrank: f64,
    /// Σ v_j h_j(1): the shock's own value.
    pub initial_value: f64,
    /// Rounds until no firm was distressed.
    pub rounds: u32,
}

/// A firm's distress and the stress it receives this round: together, because a link's target
/// reads one and then the other, and the network is read in random order.
#[derive(Clone, Copy, Default)]
struct Level {
    h: f64,
    delta: f64,
}

/// Dense per-firm state, reused across runs by one worker: only touched entries are reset.
pub struct Workspace {
    level: Vec<Level>,
    state: Vec<u8>,
    touched: Vec<u32>,
    /// During a pull round: h of each distressed firm, 0 elsewhere (one read per link, no branch).
    sending: Vec<f64>,
}

impl Workspace {
    pub fn new(firms: u32) -> Workspace {
        let n = firms as usize;
        Workspace { level: vec![Level::default(); n], state: vec![SOUND; n], touched: Vec::new(), sending: Vec::new() }
    }

    fn touch(&mut self, f: u32) {
        if self.level[f as usize].h == 0.0 && self.state[f as usize] == SOUND {
            self.touched.push(f);
        }
    }

    fn reset(&mut self) {
        for &f in &self.touched {
            self.level[f as usize] = Level::default();
            self.state[f as usize] = SOUND;
        }
        self.touched.clear();
    }
}

/// The impact links by target, each target's in ascending source order: what a pull round reads.
struct Incoming {
    offsets: Vec<u64>,
    sources: Vec<u32>,
    weights: Vec<f64>,
    /// Each link's channel shares, in this order (only where stress is attributed).
    channels: Vec<[f32; 4]>,
    /// A round pulls when its frontier's links number more than all links / this.
    pull_divisor: u64,
}

impl Incoming {
    fn new(net: &ImpactNetwork, with_channels: bool) -> Incoming {
        let n = net.firms as usize;
        let mut offsets = vec![0u64; n + 1];
        for &j in &net.targets {
            offsets[j as usize + 1] += 1;
        }
        for f in 0..n {
            offsets[f + 1] += offsets[f];
        }
        let mut next: Vec<u64> = offsets[..n].to_vec();
        let m = net.targets.len();
        let (mut sources, mut weights) = (vec![0u32; m], vec![0.0; m]);
        let mut channels = if with_channels { vec![[0.0f32; 4]; m] } else { Vec::new() };
        // Sources in ascending order, so each target's links come out sorted by source.
        for i in 0..net.firms {
            let (targets, link_weights, start) = net.impacts(i);
            for (k, (&j, &w)) in targets.iter().zip(link_weights).enumerate() {
                let slot = next[j as usize] as usize;
                next[j as usize] += 1;
                sources[slot] = i;
                weights[slot] = w;
                if with_channels {
                    channels[slot] = net.channels.get(start + k).copied().unwrap_or_default();
                }
            }
        }
        Incoming { offsets, sources, weights, channels, pull_divisor: PULL_DIVISOR }
    }
}

/// Links a pull round looks ahead to fetch a source's distress.
const PULL_AHEAD: usize = 16;

/// See [`Incoming::pull_divisor`].
const PULL_DIVISOR: u64 = 4;

/// Runs the dynamics from `shock` = (firm, initial distress in (0, 1]) with economic weights `v`.
pub fn debt_rank(net: &ImpactNetwork, value: &[f64], shock: &[(u32, f64)]) -> DebtRankResult {
    debt_rank_in(net, value, shock, &mut Workspace::new(net.firms))
}

/// [`debt_rank`] with, per distressed firm, the stress it received through each channel (indexed
/// by [`Channel`](super::impact::Channel)): the contributions `W_ij · h_i` split by the link's
/// channel shares, before the cap at 1. A shocked firm's own shock is not counted. Ascending by
/// firm, firms that received nothing left out.
pub fn debt_rank_by_channel(net: &ImpactNetwork, value: &[f64], shock: &[(u32, f64)]) -> (DebtRankResult, Vec<(u32, [f64; 4])>) {
    let mut received = vec![[0.0f64; 4]; net.firms as usize];
    let incoming = Incoming::new(net, true);
    let result = run(net, Some(&incoming), value, shock, &mut Workspace::new(net.firms), Some(&mut received), true);
    let by_channel = received.into_iter().enumerate().filter(|(_, r)| r.iter().any(|&x| x > 0.0)).map(|(f, r)| (f as u32, r)).collect();
    (result, by_channel)
}

/// [`debt_rank`] in a reusable workspace.
pub fn debt_rank_in(net: &ImpactNetwork, value: &[f64], shock: &[(u32, f64)], ws: &mut Workspace) -> DebtRankResult {
    run(net, None, value, shock, ws, None, true)
}

/// One run; with `incoming`, rounds whose frontier has many links pull.
fn run(
    net: &ImpactNetwork,
    incoming: Option<&Incoming>,
    value: &[f64],
    shock: &[(u32, f64)],
    ws: &mut Workspace,
    mut received: Option<&mut Vec<[f64; 4]>>,
    keep_distress: bool,
) -> DebtRankResult {
    ws.reset();
    let mut frontier: Vec<u32> = Vec::new();
    for &(f, psi) in shock {
        if f < net.firms && psi > 0.0 {
            ws.touch(f);
            ws.level[f as usize].h = (ws.level[f as usize].h + psi).min(1.0);
            if ws.state[f as usize] == SOUND {
                ws.state[f as usize] = DISTRESSED;
                frontier.push(f);
            }
        }
    }
    frontier.sort_unstable();
    let v = |f: u32| value.get(f as usize).copied().filter(|x| x.is_finite()).unwrap_or(0.0);
    let initial_value: f64 = frontier.iter().map(|&f| v(f) * ws.level[f as usize].h).sum();
    let mut rounds = 0u32;
    let mut hit: Vec<u32> = Vec::new();
    while !frontier.is_empty() {
        rounds += 1;
        hit.clear();
        let frontier_links: u64 = frontier.iter().map(|&i| net.offsets[i as usize + 1] - net.offsets[i as usize]).sum();
        match incoming {
            Some(incoming) if frontier_links.saturating_mul(incoming.pull_divisor) > net.targets.len() as u64 => {
                pull(incoming, &frontier, ws, received.as_deref_mut(), &mut hit);
            }
            _ => {
                // Contributions add up in (frontier order, link order): fixed, so the sums are too.
                for &i in &frontier {
                    let h_i = ws.level[i as usize].h;
                    let (targets, weights, start) = net.impacts(i);
                    for (k, (&j, &w)) in targets.iter().zip(weights).enumerate() {
                        let d = &mut ws.level[j as usize].delta;
                        if *d == 0.0 {
                            hit.push(j);
                        }
                        *d += w * h_i;
                        if let (Some(r), Some(shares)) = (received.as_deref_mut(), net.channels.get(start + k)) {
                            for (total, &share) in r[j as usize].iter_mut().zip(shares) {
                                *total += w * h_i * f64::from(share);
                            }
                        }
                    }
                }
            }
        }
        for &i in &frontier {
            ws.state[i as usize] = INACTIVE;
        }
        let mut next = Vec::new();
        for &j in &hit {
            let sum = std::mem::take(&mut ws.level[j as usize].delta);
            if sum == 0.0 {
                continue;
            }
            ws.touch(j);
            let h = &mut ws.level[j as usize].h;
            *h = (*h + sum).min(1.0);
            if ws.state[j as usize] == SOUND && *h > 0.0 {
                ws.state[j as usize] = DISTRESSED;
                next.push(j);
            }
        }
        next.sort_unstable();
        frontier = next;
    }
    // Summed in ascending firm order, as the distress list is: the same total for any order the
    // firms were touched in. Every touched firm has h > 0, so where a shock reached many firms
    // a scan for them lists the same firms sorted, cheaper than sorting.
    if ws.touched.len() > ws.level.len() / 8 {
        ws.touched.clear();
        ws.touched.extend((0..ws.level.len() as u32).filter(|&f| ws.level[f as usize].h > 0.0));
    } else {
        ws.touched.sort_unstable();
    }
    let distressed = ws.touched.iter().map(|&f| (f, ws.level[f as usize].h)).filter(|x| x.1 > 0.0);
    let final_value: f64 = distressed.clone().map(|(f, h)| v(f) * h).sum();
    let distress = if keep_distress { distressed.collect() } else { Vec::new() };
    DebtRankResult { distress, debtrank: final_value - initial_value, initial_value, rounds }
}

/// Every firm's stress from the distressed firms (the frontier) in one pass over the incoming
/// links: the push loop's sums, added in the same order (ascending source), into `delta`, and
/// the firms that received any listed in `hit`.
fn pull(incoming: &Incoming, frontier: &[u32], ws: &mut Workspace, mut received: Option<&mut Vec<[f64; 4]>>, hit: &mut Vec<u32>) {
    let n = incoming.offsets.len() - 1;
    ws.sending.resize(n, 0.0);
    for &i in frontier {
        ws.sending[i as usize] = ws.level[i as usize].h;
    }
    let sources = &incoming.sources;
    for j in 0..n {
        let links = incoming.offsets[j] as usize..incoming.offsets[j + 1] as usize;
        let mut sum = 0.0;
        let mut any = false;
        // A firm not distressed adds w · 0 = +0, which leaves the sum's bits as they were.
        for (k, (&i, &w)) in links.clone().zip(sources[links.clone()].iter().zip(&incoming.weights[links.clone()])) {
            // The links are one array across firms: looking ahead in it keeps the misses on
            // `sending` overlapping, also past the end of short rows.
            if let Some(&ahead) = sources.get(k + PULL_AHEAD) {
                prefetch(&ws.sending[ahead as usize]);
            }
            let h_i = ws.sending[i as usize];
            sum += w * h_i;
            any |= h_i > 0.0;
        }
        if !any {
            continue;
        }
        ws.level[j].delta = sum;
        hit.push(j as u32);
        if let Some(r) = received.as_deref_mut() {
            for k in links {
                let h_i = ws.sending[incoming.sources[k] as usize];
                if let (true, Some(shares)) = (h_i > 0.0, incoming.channels.get(k)) {
                    let w = incoming.weights[k];
                    for (total, &share) in r[j].iter_mut().zip(shares) {
                        *total += w * h_i * f64::from(share);
                    }
                }
            }
        }
    }
    for &i in frontier {
        ws.sending[i as usize] = 0.0;
    }
}

/// Each firm's systemic importance: the DebtRank of its own default alone (h = 1), in parallel.
pub fn systemic_importance(net: &ImpactNetwork, value: &[f64], firms: &[u32]) -> Vec<f64> {
    let incoming = Incoming::new(net, false);
    // Only the total is kept: the distress list of a scenario reaching most firms is not built.
    firms
        .par_iter()
        .map_init(|| Workspace::new(net.firms), |ws, &f| run(net, Some(&incoming), value, &[(f, 1.0)], ws, None, false).debtrank)
        .collect()
}

/// Economic weights: exposure shares, or capital shares when no firm has a known exposure.
pub fn economic_weights(exposure: &[f64], capital: &[f64]) -> Vec<f64> {
    let known = |x: &f64| x.is_finite() && *x > 0.0;
    let source = if exposure.iter().any(known) { exposure } else { capital };
    let total: f64 = source.iter().filter(|x| known(x)).sum();
    if total <= 0.0 {
        return vec![0.0; source.len()];
    }
    source.iter().map(|x| if known(x) { x / total } else { 0.0 }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(firms: u32, edges: &[(u32, u32, f64)]) -> ImpactNetwork {
        // Buffers of 1 make each loss its own weight.
        ImpactNetwork::from_losses(firms, edges.to_vec(), &vec![1.0; firms as usize])
    }

    #[test]
    fn chain_by_hand() {
        // 0 → 1 (W 0.5), 1 → 2 (W 0.4); v = (0.2, 0.3, 0.5); 0 defaults.
        // t=1: h = (1, 0, 0). t=2: h1 = 0.5. t=3: h2 = 0.4 · 0.5 = 0.2.
        // DebtRank = 0.3 · 0.5 + 0.5 · 0.2 = 0.25.
        let n = net(3, &[(0, 1, 0.5), (1, 2, 0.4)]);
        let r = debt_rank(&n, &[0.2, 0.3, 0.5], &[(0, 1.0)]);
        assert_eq!(r.distress, vec![(0, 1.0), (1, 0.5), (2, 0.2)]);
        assert!((r.debtrank - 0.25).abs() < 1e-12);
        assert_eq!(r.rounds, 3);
    }

    #[test]
    fn each_firm_propagates_once_around_a_cycle() {
        // 0 ↔ 1 with W 0.5 both ways; 0 shocked at 0.4.
        // t=2: h1 = 0.2 (0 becomes inactive). t=3: h0 = 0.4 + 0.5 · 0.2 = 0.5; 1 inactive; stop.
        let n = net(2, &[(0, 1, 0.5), (1, 0, 0.5)]);
        let r = debt_rank(&n, &[0.5, 0.5], &[(0, 0.4)]);
        assert_eq!(r.distress, vec![(0, 0.5), (1, 0.2)]);
        assert!((r.debtrank - (0.5 * 0.5 + 0.5 * 0.2 - 0.5 * 0.4)).abs() < 1e-12);
    }

    #[test]
    fn stress_is_attributed_to_the_channels_it_came_through() {
        use crate::contagion::impact::Channel;
        // Firm 2 (buffer 100) guaranteed 30 for firm 0 and buys half its inputs from firm 1
        // (disruption rate 0.4: 0.4 · 0.5 · 100 = 20); firm 3 (buffer 50) supplies 0 (receivables
        // 10) and holds 10% of 1 (capital 100: 10). 0 and 1 default.
        // 2: 0.3 by guarantee, 0.2 upstream; 3: 0.2 downstream, 0.2 by equity.
        let losses = vec![
            (0, 2, 30.0, Channel::Guarantee),
            (1, 2, 20.0, Channel::Upstream),
            (0, 3, 10.0, Channel::Downstream),
            (1, 3, 10.0, Channel::Equity),
        ];
        let n = ImpactNetwork::from_channel_losses(4, losses, &[100.0, 100.0, 100.0, 50.0]);
        let (r, by) = debt_rank_by_channel(&n, &[0.25; 4], &[(0, 1.0), (1, 1.0)]);
        assert_eq!(r, debt_rank(&n, &[0.25; 4], &[(0, 1.0), (1, 1.0)]), "attribution changes nothing");
        let close = |a: [f64; 4], b: [f64; 4]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6);
        assert_eq!(by.len(), 2);
        assert!(close(by[0].1, [0.3, 0.0, 0.0, 0.2]), "{:?}", by[0]);
        assert!(close(by[1].1, [0.0, 0.2, 0.2, 0.0]), "{:?}", by[1]);
        // Two channels on one link split it by their losses.
        let n =
            ImpactNetwork::from_channel_losses(2, vec![(0, 1, 30.0, Channel::Guarantee), (0, 1, 10.0, Channel::Downstream)], &[100.0; 2]);
        let (_, by) = debt_rank_by_channel(&n, &[0.5; 2], &[(0, 1.0)]);
        assert!(close(by[0].1, [0.3, 0.0, 0.1, 0.0]), "{:?}", by[0]);
    }

    #[test]
    fn star_and_capping() {
        // 1 and 2 both hit 0 with W 0.7: h0 = min(1, 1.4) = 1.
        let n = net(3, &[(1, 0, 0.7), (2, 0, 0.7)]);
        let r = debt_rank(&n, &[1.0, 0.0, 0.0], &[(1, 1.0), (2, 1.0)]);
        assert_eq!(r.distress[0], (0, 1.0));
        assert!((r.debtrank - 1.0).abs() < 1e-12);
        assert_eq!(systemic_importance(&n, &[1.0, 0.0, 0.0], &[1, 2, 0]), vec![0.7, 0.7, 0.0]);
    }

    /// Pulling every round, pushing every round and the default mix give the same bits: the
    /// sums are added in the same order whichever way a round goes.
    #[test]
    fn pulling_and_pushing_agree_to_the_bit() {
        use crate::contagion::impact::Channel;
        use crate::hash::unit;
        for seed in 0..20u64 {
            let firms = 40 + (unit(seed, 0, 0, 0) * 60.0) as u32;
            let links = (firms as f64 * (1.0 + 4.0 * unit(seed, 0, 0, 1))) as u64;
            let losses: Vec<(u32, u32, f64, Channel)> = (0..links)
                .map(|k| {
                    let pick = |item: u64| (unit(seed, 1, k, item) * firms as f64) as u32;
                    (pick(0), pick(1), 0.05 + unit(seed, 1, k, 2) * 40.0, Channel::ALL[(unit(seed, 1, k, 3) * 4.0) as usize % 4])
                })
                .collect();
            let buffers: Vec<f64> = (0..firms as u64).map(|f| 20.0 + unit(seed, 2, f, 0) * 80.0).collect();
            let net = ImpactNetwork::from_channel_losses(firms, losses, &buffers);
            let value: Vec<f64> = (0..firms as u64).map(|f| unit(seed, 3, f, 0)).collect();
            let shock: Vec<(u32, f64)> =
                (0..3).map(|k| ((unit(seed, 4, k, 0) * firms as f64) as u32, 0.2 + 0.8 * unit(seed, 4, k, 1))).collect();
            let outcome = |pull_divisor: Option<u64>| {
                let mut incoming = Incoming::new(&net, true);
                incoming.pull_divisor = pull_divisor.unwrap_or(PULL_DIVISOR);
                let mut received = vec![[0.0f64; 4]; firms as usize];
                let with = pull_divisor.is_none_or(|d| d > 0);
                let result = run(&net, with.then_some(&incoming), &value, &shock, &mut Workspace::new(firms), Some(&mut received), true);
                let bits = |x: f64| x.to_bits();
                let distress: Vec<(u32, u64)> = result.distress.iter().map(|&(f, h)| (f, bits(h))).collect();
                let received: Vec<[u64; 4]> = received.iter().map(|r| r.map(bits)).collect();
                (distress, bits(result.debtrank), result.rounds, received)
            };
            let pushed = outcome(Some(0));
            assert!(pushed.0.len() > shock.len(), "seed {seed}: the shock spreads");
            assert_eq!(outcome(Some(u64::MAX)), pushed, "seed {seed}: every round pulled");
            assert_eq!(outcome(None), pushed, "seed {seed}: the default mix");
        }
    }
}
