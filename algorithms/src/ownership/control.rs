//! Ownership penetration for every firm: ultimate beneficial owners, majority control chains and
//! the actual controller, each with its evidence path.
//!
//! # Control
//! `h` controls firm `f` when `h`'s direct share of `f` plus the shares of `f` held by firms that
//! `h` controls exceeds one half; control propagates along majority chains. Computed as the top
//! of each firm's chain: holders are grouped by the entity at the top of their own chain (a
//! person, or a firm nobody controls), and a group holding more than half of `f` makes its top the
//! top of `f`. Firms are visited in topological order of the holder → held condensation, so every
//! holder's top is final first and one pass suffices on acyclic holdings; inside a holding cycle
//! the members are iterated to a fixed point, and members whose tops still change after
//! `size + 2` rounds control each other in a circle — reported as circular control, with no
//! majority controller.
//!
//! # Actual controller
//! The top of the chain when it is a person. When the top is a firm, or nobody holds a majority,
//! the largest ultimate owner (a person, or a firm nobody holds) by integrated ownership, if it
//! holds at least `fallback_threshold` and leads the next by `fallback_margin`; otherwise the top
//! firm itself (majority) or none. The path is the control chain, prefixed by the largest owner's
//! strongest holding path when that decides.
//!
//! # Complexity
//! Control: O(n + m) sequential over firms (plus cycle rounds). Integration: parallel over firms,
//! O(ancestor edges) each. Deterministic: chunks of firms are concatenated in order and every tie
//! is broken by node id.

use super::integrated::{closed_cycles, integrate, owners, strongest_paths, Scratch};
use super::{par_chunks_in_order, HoldingNetwork, Paths, NONE};

pub const DEFAULT_EPSILON: f64 = 1e-6;
pub const DEFAULT_UBO_THRESHOLD: f64 = 0.25;
pub const DEFAULT_FALLBACK_THRESHOLD: f64 = 0.30;
pub const DEFAULT_FALLBACK_MARGIN: f64 = 0.10;
pub const DEFAULT_MAX_PUSHES: u64 = 10_000_000;
/// Control paths keep at most this many hops above the firm; longer chains elide the middle.
pub const MAX_PATH_HOPS: usize = 30;
/// Control needs strictly more than this share.
pub const MAJORITY: f64 = 0.5;

#[derive(Clone, Debug)]
pub struct OwnershipConfig {
    /// Residual ownership at or below this is not pushed further up the holdings.
    pub epsilon: f64,
    /// Persons with integrated ownership at or above this are ultimate beneficial owners.
    pub ubo_threshold: f64,
    /// Without majority control, the largest ultimate owner must hold at least this ...
    pub fallback_threshold: f64,
    /// ... and lead the second largest by at least this to be the actual controller.
    pub fallback_margin: f64,
    /// Push budget per firm; beyond it the firm is reported unconverged.
    pub max_pushes: u64,
}

impl Default for OwnershipConfig {
    fn default() -> Self {
        OwnershipConfig {
            epsilon: DEFAULT_EPSILON,
            ubo_threshold: DEFAULT_UBO_THRESHOLD,
            fallback_threshold: DEFAULT_FALLBACK_THRESHOLD,
            fallback_margin: DEFAULT_FALLBACK_MARGIN,
            max_pushes: DEFAULT_MAX_PUSHES,
        }
    }
}

impl OwnershipConfig {
    pub fn validate(&self) -> Result<(), String> {
        let unit = |name: &str, x: f64| {
            if (0.0..=1.0).contains(&x) {
                Ok(())
            } else {
                Err(format!("{name} {x} must be in [0, 1]"))
            }
        };
        unit("epsilon", self.epsilon)?;
        unit("ubo threshold", self.ubo_threshold)?;
        unit("fallback threshold", self.fallback_threshold)?;
        unit("fallback margin", self.fallback_margin)?;
        if self.ubo_threshold == 0.0 {
            return Err("ubo threshold must be > 0".into());
        }
        Ok(())
    }
}

/// How a firm's actual controller was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ControlBasis {
    None = 0,
    /// A majority chain from the controller down to the firm.
    Majority = 1,
    /// The largest ultimate owner by integrated ownership (no person holds a majority chain).
    LargestOwner = 2,
}

impl ControlBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            ControlBasis::None => "none",
            ControlBasis::Majority => "majority",
            ControlBasis::LargestOwner => "largest_owner",
        }
    }
}

/// Persons at or above the UBO threshold, one row each, grouped by firm in firm order.
#[derive(Clone, Debug, Default)]
pub struct UboTable {
    pub firm: Vec<u32>,
    pub person: Vec<u32>,
    /// Integrated ownership.
    pub share: Vec<f64>,
    /// Strongest holding path, person first, firm last.
    pub paths: Paths,
}

#[derive(Clone, Debug, Default)]
pub struct OwnershipResult {
    /// Per firm: persons at or above the UBO threshold.
    pub ubo_count: Vec<u32>,
    /// Per firm: the UBO with the largest share (ties: smaller id), or `NONE`.
    pub top_ubo: Vec<u32>,
    /// Per firm: its integrated ownership; NaN without UBO.
    pub top_ubo_share: Vec<f64>,
    /// Per firm: the entity at the top of its majority chain, the firm itself if none.
    pub chain_top: Vec<u32>,
    /// Per firm: the holder through which control reaches it, or `NONE`.
    pub controlled_via: Vec<u32>,
    /// Per firm: the actual controller (person or firm), or `NONE`.
    pub controller: Vec<u32>,
    pub basis: Vec<ControlBasis>,
    /// Per firm: controller first, firm last; empty without controller. `NONE` inside a path
    /// marks elided hops (chains longer than `MAX_PATH_HOPS`).
    pub control_paths: Paths,
    pub ubos: UboTable,
    /// Holding cycles with no outside owner (a data problem), members ascending.
    pub closed_cycles: Vec<Vec<u32>>,
    /// Firms whose control could not be settled because members of a cycle control each other.
    pub circular_control: Vec<u32>,
    /// Firms whose push ran out of budget.
    pub unconverged: Vec<u32>,
    /// Σ over firms of the ownership mass dropped by pruning (≤ epsilon per dropped residual).
    pub pruned_mass: f64,
    /// Largest push count of one firm.
    pub max_pushes: u64,
}

/// Per firm, from the parallel integration pass.
struct ChunkOut {
    ubo_count: Vec<u32>,
    top_ubo: Vec<u32>,
    top_ubo_share: Vec<f64>,
    /// Largest ultimate owner passing the fallback rule, or NONE; and its path.
    fallback: Vec<u32>,
    fallback_paths: Paths,
    ubos: UboTable,
    unconverged: Vec<u32>,
    pruned: f64,
    max_pushes: u64,
}

/// Runs the whole analysis. See the module doc for the rules.
pub fn ownership(net: &HoldingNetwork, config: &OwnershipConfig) -> OwnershipResult {
    let n = net.firms;
    let condensation = net.firm_condensation();
    let closed = closed_cycles(net, &condensation);
    let mut blocked = vec![false; n as usize];
    for &m in closed.iter().flatten() {
        blocked[m as usize] = true;
    }
    let (chain_top, controlled_via, circular) = control_chains(net, &condensation);
    drop(condensation);

    let chunks = par_chunks_in_order(n, 2048, |range| integrate_chunk(net, range, &blocked, config));
    let mut result = OwnershipResult {
        ubo_count: Vec::with_capacity(n as usize),
        top_ubo: Vec::with_capacity(n as usize),
        top_ubo_share: Vec::with_capacity(n as usize),
        ubos: UboTable { paths: Paths::new(), ..UboTable::default() },
        ..OwnershipResult::default()
    };
    let mut fallback = Vec::with_capacity(n as usize);
    let mut fallback_paths = Paths::new();
    for c in chunks {
        result.ubo_count.extend(c.ubo_count);
        result.top_ubo.extend(c.top_ubo);
        result.top_ubo_share.extend(c.top_ubo_share);
        fallback.extend(c.fallback);
        fallback_paths.append(&c.fallback_paths);
        result.ubos.firm.extend(c.ubos.firm);
        result.ubos.person.extend(c.ubos.person);
        result.ubos.share.extend(c.ubos.share);
        result.ubos.paths.append(&c.ubos.paths);
        result.unconverged.extend(c.unconverged);
        result.pruned_mass += c.pruned;
        result.max_pushes = result.max_pushes.max(c.max_pushes);
    }

    // Actual controllers and their paths, parallel over firms.
    let decided = par_chunks_in_order(n, 4096, |range| {
        let mut out = (Vec::with_capacity(range.len()), Vec::with_capacity(range.len()), Paths::new());
        let mut chain = Vec::new();
        for f in range {
            chain.clear();
            let top = chain_top[f as usize];
            let (controller, basis) = if top != f {
                // The chain from the top down to f.
                let mut v = f;
                while v != top && v != NONE && chain.len() < MAX_PATH_HOPS {
                    chain.push(v);
                    v = controlled_via.get(v as usize).copied().unwrap_or(NONE);
                }
                if v != top {
                    // Very long chains keep their last hops; NONE marks the elided middle.
                    chain.push(NONE);
                }
                chain.push(top);
                chain.reverse();
                if net.is_firm(top) && fallback[top as usize] != NONE {
                    // A firm tops the chain: whoever controls that firm controls f.
                    let mut path = fallback_paths.get(top as usize).to_vec();
                    path.pop();
                    path.extend_from_slice(&chain);
                    chain = path;
                    (fallback[top as usize], ControlBasis::Majority)
                } else {
                    (top, ControlBasis::Majority)
                }
            } else if fallback[f as usize] != NONE {
                chain.extend_from_slice(fallback_paths.get(f as usize));
                (fallback[f as usize], ControlBasis::LargestOwner)
            } else {
                (NONE, ControlBasis::None)
            };
            out.0.push(controller);
            out.1.push(basis);
            out.2.push(&chain);
        }
        out
    });
    result.controller.reserve(n as usize);
    result.basis.reserve(n as usize);
    result.control_paths = Paths::new();
    for (controllers, bases, paths) in decided {
        result.controller.extend(controllers);
        result.basis.extend(bases);
        result.control_paths.append(&paths);
    }
    result.chain_top = chain_top;
    result.controlled_via = controlled_via;
    result.closed_cycles = closed;
    result.circular_control = circular;
    result
}

/// Integration of one chunk of firms.
fn integrate_chunk(net: &HoldingNetwork, range: std::ops::Range<u32>, blocked: &[bool], config: &OwnershipConfig) -> ChunkOut {
    let mut out = ChunkOut {
        ubo_count: Vec::with_capacity(range.len()),
        top_ubo: Vec::with_capacity(range.len()),
        top_ubo_share: Vec::with_capacity(range.len()),
        fallback: Vec::with_capacity(range.len()),
        fallback_paths: Paths::new(),
        ubos: UboTable { paths: Paths::new(), ..UboTable::default() },
        unconverged: Vec::new(),
        pruned: 0.0,
        max_pushes: 0,
    };
    let mut scratch = Scratch::default();
    let mut ultimate: Vec<(u32, f64)> = Vec::new();
    for f in range {
        ultimate.clear();
        if net.holder_count(f) > 0 {
            let run = integrate(net, f, blocked, config.epsilon, config.max_pushes, &mut scratch);
            if !run.converged {
                out.unconverged.push(f);
            }
            out.pruned += run.pruned;
            out.max_pushes = out.max_pushes.max(run.pushes);
            // Ultimate owners: persons, and firms nobody holds.
            ultimate.extend(owners(&scratch).into_iter().filter(|&(v, _)| !net.is_firm(v) || net.holder_count(v) == 0));
            ultimate.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        }
        let ubos: Vec<(u32, f64)> =
            ultimate.iter().copied().filter(|&(v, s)| !net.is_firm(v) && s >= config.ubo_threshold - 1e-12).collect();
        let leader = ultimate.first().copied().filter(|&(_, s)| {
            let second = ultimate.get(1).map_or(0.0, |x| x.1);
            s >= config.fallback_threshold - 1e-12 && s - second >= config.fallback_margin - 1e-12
        });
        let mut targets: Vec<u32> = ubos.iter().map(|x| x.0).collect();
        if let Some((l, _)) = leader {
            if !targets.contains(&l) {
                targets.push(l);
            }
        }
        let paths = if targets.is_empty() { Vec::new() } else { strongest_paths(net, f, blocked, &targets, &mut scratch) };
        out.ubo_count.push(ubos.len() as u32);
        out.top_ubo.push(ubos.first().map_or(NONE, |x| x.0));
        out.top_ubo_share.push(ubos.first().map_or(f64::NAN, |x| x.1));
        for (k, &(p, s)) in ubos.iter().enumerate() {
            out.ubos.firm.push(f);
            out.ubos.person.push(p);
            out.ubos.share.push(s);
            out.ubos.paths.push(&paths[k]);
        }
        match leader {
            Some((l, _)) => {
                out.fallback.push(l);
                let k = targets.iter().position(|&t| t == l).unwrap_or(0);
                out.fallback_paths.push(&paths[k]);
            }
            None => {
                out.fallback.push(NONE);
                out.fallback_paths.push(&[]);
            }
        }
    }
    out
}

/// Top of each firm's majority chain and the holder control comes through; plus the firms left
/// in circular control. See the module doc.
pub fn control_chains(net: &HoldingNetwork, condensation: &crate::components::scc::Condensation) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    let n = net.firms as usize;
    let mut top: Vec<u32> = (0..n as u32).collect();
    let mut via = vec![NONE; n];
    let mut circular = Vec::new();
    let mut groups: Vec<(u32, f64, u32, f64)> = Vec::new();
    // Decides f from the current tops of its holders: (top, via) or (f, NONE).
    let decide = |f: u32, top: &[u32], groups: &mut Vec<(u32, f64, u32, f64)>| -> (u32, u32) {
        groups.clear();
        for (h, s) in net.holders_of(f) {
            let key = if net.is_firm(h) { top[h as usize] } else { h };
            groups.push((key, s, h, s));
        }
        // Sum by key; keep the largest single holder of each group as the path's next hop.
        groups.sort_by(|a, b| a.0.cmp(&b.0).then(b.3.total_cmp(&a.3)).then(a.2.cmp(&b.2)));
        let mut best: Option<(u32, f64, u32)> = None;
        let mut i = 0;
        while i < groups.len() {
            let key = groups[i].0;
            let lead = groups[i].2;
            let mut sum = 0.0;
            while i < groups.len() && groups[i].0 == key {
                sum += groups[i].1;
                i += 1;
            }
            if sum > MAJORITY && key != f && best.is_none_or(|b| sum > b.1) {
                best = Some((key, sum, lead));
            }
        }
        match best {
            Some((key, _, lead)) => (key, lead),
            None => (f, NONE),
        }
    };
    for c in 0..condensation.count() {
        let members = condensation.members(c);
        if members.len() == 1 {
            let f = members[0];
            let (t, v) = decide(f, &top, &mut groups);
            top[f as usize] = t;
            via[f as usize] = v;
            continue;
        }
        let rounds = members.len() + 2;
        let mut stable = false;
        let mut changed: Vec<u32> = Vec::new();
        for _ in 0..rounds {
            let next: Vec<(u32, u32)> = members.iter().map(|&f| decide(f, &top, &mut groups)).collect();
            changed.clear();
            for (&f, &(t, v)) in members.iter().zip(&next) {
                if top[f as usize] != t || via[f as usize] != v {
                    changed.push(f);
                }
                top[f as usize] = t;
                via[f as usize] = v;
            }
            if changed.is_empty() {
                stable = true;
                break;
            }
        }
        if !stable {
            for &f in &changed {
                top[f as usize] = f;
                via[f as usize] = NONE;
                circular.push(f);
            }
        }
    }
    circular.sort_unstable();
    (top, via, circular)
}
