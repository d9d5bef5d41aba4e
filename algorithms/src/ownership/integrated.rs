//! Integrated ownership of one firm by each of its direct and indirect holders.
//!
//! With `S[h, f]` the share of firm `f` held directly by `h`, the integrated ownership of `h` in
//! `f` is the sum over every holding path `h → f1 → … → f` of the product of its shares,
//! `T = S (I − S_ff)^-1` (Brioschi, Buzzacchi and Colombo 1989; the "integrated ownership" of
//! Vitali, Glattfelder and Battiston, PLoS ONE 2011). It is computed per firm by pushing
//! ownership mass up the holder lists — Gauss–Southwell style, as in push-based personalized
//! PageRank — so that only the firm's ancestors are touched and cycles are summed as the geometric
//! series they are.
//!
//! # Pruning and termination
//! A residual of at most `epsilon` reaching a firm is recorded for that firm but not pushed to its
//! holders; the total mass dropped this way is returned (`pruned`), an upper bound on the
//! ownership left unattributed. On a holding cycle with outside owners the residual shrinks
//! geometrically, so the push ends; a cycle of 100% holdings (nobody outside owns any member) is
//! detected beforehand ([`closed_cycles`]) and its members are not pushed through. A firm whose
//! push exceeds `max_pushes` (near-closed cycles) stops there and is reported unconverged.
//!
//! # Complexity
//! O(ancestor edges × cycle passes) per firm, with a scratch map sized by the ancestors.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use super::HoldingNetwork;
use crate::components::scc::Condensation;
use crate::hash::FastMap;

/// Shares of a closed cycle's members held from inside the cycle must reach this to count as
/// "no outside owner" (share sums are validated to ≤ 1 + 1e-6 on load).
pub const CLOSED_CYCLE_TOLERANCE: f64 = 1e-9;

#[derive(Clone, Copy, Debug, Default)]
struct Cell {
    /// Integrated ownership of this node in the firm so far.
    acc: f64,
    /// Mass received but not yet pushed.
    pending: f64,
    queued: bool,
}

/// Per-task scratch space, reused across firms.
#[derive(Default)]
pub struct Scratch {
    cells: FastMap<u32, Cell>,
    queue: VecDeque<u32>,
    best: FastMap<u32, (f64, u32)>,
    heap: BinaryHeap<Candidate>,
}

/// What one firm's integration did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Integration {
    pub converged: bool,
    pub pruned: f64,
    pub pushes: u64,
}

/// Integrates the ownership of `firm` into `scratch`; read it back with [`owners`].
pub fn integrate(net: &HoldingNetwork, firm: u32, blocked: &[bool], epsilon: f64, max_pushes: u64, scratch: &mut Scratch) -> Integration {
    let Scratch { cells, queue, .. } = scratch;
    cells.clear();
    queue.clear();
    let add = |cells: &mut FastMap<u32, Cell>, queue: &mut VecDeque<u32>, v: u32, x: f64| {
        let cell = cells.entry(v).or_default();
        cell.pending += x;
        if !cell.queued {
            cell.queued = true;
            queue.push_back(v);
        }
    };
    for (h, s) in net.holders_of(firm) {
        add(cells, queue, h, s);
    }
    let mut result = Integration { converged: true, ..Integration::default() };
    while let Some(v) = queue.pop_front() {
        let Some(cell) = cells.get_mut(&v) else { continue };
        let r = cell.pending;
        cell.pending = 0.0;
        cell.queued = false;
        cell.acc += r;
        result.pushes += 1;
        if result.pushes > max_pushes {
            result.converged = false;
            break;
        }
        if !net.is_firm(v) || blocked.get(v as usize).copied().unwrap_or(false) || net.holder_count(v) == 0 {
            continue;
        }
        if r <= epsilon {
            result.pruned += r;
            continue;
        }
        for (h, s) in net.holders_of(v) {
            add(cells, queue, h, r * s);
        }
    }
    result
}

/// The integrated owners found by the last [`integrate`], as (node, ownership) sorted by node.
pub fn owners(scratch: &Scratch) -> Vec<(u32, f64)> {
    let mut out: Vec<(u32, f64)> = scratch.cells.iter().map(|(&v, c)| (v, c.acc + c.pending)).collect();
    out.sort_by_key(|x| x.0);
    out
}

/// Max-heap entry: larger product first, then smaller node id.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    product: f64,
    node: u32,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.product.total_cmp(&other.product).then(other.node.cmp(&self.node))
    }
}

/// The holding path of largest share product from each of `targets` down to `firm` (owner first,
/// `firm` last); empty for a target that does not reach the firm. Dijkstra on −ln(share) over the
/// holder lists (shares ≤ 1, so products only shrink along a path); ties go to smaller ids.
pub fn strongest_paths(net: &HoldingNetwork, firm: u32, blocked: &[bool], targets: &[u32], scratch: &mut Scratch) -> Vec<Vec<u32>> {
    let Scratch { best, heap, .. } = scratch;
    best.clear();
    heap.clear();
    best.insert(firm, (1.0, super::NONE));
    heap.push(Candidate { product: 1.0, node: firm });
    let mut remaining = targets.len();
    let mut settled = crate::hash::FastSet::default();
    while let Some(Candidate { product, node }) = heap.pop() {
        if !settled.insert(node) {
            continue;
        }
        if targets.contains(&node) {
            remaining -= 1;
            if remaining == 0 {
                break;
            }
        }
        if node != firm && (!net.is_firm(node) || blocked.get(node as usize).copied().unwrap_or(false)) {
            continue;
        }
        for (h, s) in net.holders_of(node) {
            let p = product * s;
            let better = match best.get(&h) {
                Some(&(q, pred)) => p > q || (p == q && node < pred),
                None => true,
            };
            if better && !settled.contains(&h) {
                best.insert(h, (p, node));
                heap.push(Candidate { product: p, node: h });
            }
        }
    }
    targets
        .iter()
        .map(|&t| {
            let mut path = Vec::new();
            if t == firm || !best.contains_key(&t) {
                return path;
            }
            let mut v = t;
            while v != super::NONE && path.len() <= best.len() {
                path.push(v);
                v = best.get(&v).map_or(super::NONE, |x| x.1);
            }
            path
        })
        .collect()
}

/// Members of holding cycles that nobody outside the cycle owns: every member's shares held from
/// inside its strongly connected component sum to 1. Their ownership is undefined (the series
/// diverges); they are reported as a data problem and not pushed through.
pub fn closed_cycles(net: &HoldingNetwork, condensation: &Condensation) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    for c in 0..condensation.count() {
        let members = condensation.members(c);
        let inside = |h: u32| net.is_firm(h) && condensation.component[h as usize] as usize == c;
        let cyclic = members.len() > 1 || members.iter().any(|&m| net.holders_of(m).any(|(h, _)| h == m));
        if !cyclic {
            continue;
        }
        let closed = members.iter().all(|&m| {
            let held_inside: f64 = net.holders_of(m).filter(|&(h, _)| inside(h)).map(|(_, s)| s).sum();
            held_inside >= 1.0 - CLOSED_CYCLE_TOLERANCE
        });
        if closed {
            out.push(members.to_vec());
        }
    }
    out
}
