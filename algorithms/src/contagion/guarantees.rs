//! The guarantee network: circles, mutual pairs, chain depth, contingent liabilities and exposure
//! to defaults, on guarantor → borrower edges weighted by amount.
//!
//! - A circle is a strongly connected set of at least two entities: each is, through the chain,
//!   a guarantor of every other, so one default can travel all the way round.
//! - Chain depth: the longest guarantee chain ending at an entity, counted in links between
//!   circles (each circle collapsed to one step), from an entity nobody guarantees.
//! - Direct liability: Σ amounts the entity guarantees. Transitive liability: Σ amounts of every
//!   guarantee given by the entity or by anyone it guarantees, directly or down the chain (each
//!   guarantee once): the guaranteed debt whose default can reach it.
//! - Exposed to default: some entity it guarantees, directly or down the chain (or a fellow member
//!   of its circle), has defaulted.
//!
//! # Complexity
//! Condensation O(n + m); depth and exposure one pass each over it in topological order;
//! transitive liability one pass in reverse topological order, plus one search per component
//! with two or more successors, in parallel, each bounded by `MAX_EXACT_REACH` — so a 10^7-long
//! chain is linear.

use rayon::prelude::*;

use crate::components::scc::condensation;
use crate::hash::FastSet;
use crate::projection::Projection;

pub const NONE: u32 = u32::MAX;
/// Components with two or more successors and at most this many downstream components (counted
/// with multiplicity) get an exact search; larger ones add their successors' sums, which can
/// count a guarantee reachable two ways twice. Real guarantee networks stay far below it.
pub const MAX_EXACT_REACH: u64 = 100_000;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Circle {
    /// Local ids, ascending.
    pub members: Vec<u32>,
    /// Σ amounts of guarantees between members (unknown amounts count 0).
    pub total_amount: f64,
    /// Members that have defaulted.
    pub defaulted: Vec<u32>,
}

#[derive(Clone, Debug, Default)]
pub struct GuaranteeResult {
    /// Per node: its circle's index in `circles`, or `NONE`.
    pub circle: Vec<u32>,
    /// Largest first, ties by smallest member.
    pub circles: Vec<Circle>,
    /// Per node: entities it both guarantees and is guaranteed by.
    pub mutual_pairs: Vec<u32>,
    pub chain_depth: Vec<u32>,
    pub direct_liability: Vec<f64>,
    pub transitive_liability: Vec<f64>,
    pub exposed_to_default: Vec<bool>,
    /// Components whose transitive liability is an upper bound (see `MAX_EXACT_REACH`).
    pub transitive_upper_bounds: usize,
}

/// Analyses the guarantee links of `graph` (a directed, weighted projection of guarantor →
/// borrower edges; unweighted counts amounts as 0). `defaulted` is indexed by local id.
pub fn guarantee_network(graph: &Projection, defaulted: &[bool]) -> GuaranteeResult {
    let n = graph.node_count();
    let amount = |e: usize| graph.out_weights.as_ref().and_then(|w| w.get(e)).copied().filter(|a| a.is_finite()).unwrap_or(0.0);
    let cond = condensation(graph);
    let comps = cond.count();
    let is_defaulted = |v: u32| defaulted.get(v as usize).copied().unwrap_or(false);

    // Direct liability and mutual pairs, parallel over nodes.
    let per_node: Vec<(f64, u32)> = (0..n as u32)
        .into_par_iter()
        .map(|v| {
            let start = graph.out_offsets[v as usize] as usize;
            let out = graph.out_neighbors(v);
            let direct: f64 = (start..start + out.len()).map(amount).fold(0.0, |a, b| a + b);
            let mut mutual = 0u32;
            let mut last = NONE;
            for &w in out {
                // Lists are sorted: count each partner once.
                if w != v && w != last && graph.out_neighbors(w).binary_search(&v).is_ok() {
                    mutual += 1;
                }
                last = w;
            }
            (direct, mutual)
        })
        .collect();
    let direct_liability: Vec<f64> = per_node.iter().map(|x| x.0).collect();
    let mutual_pairs: Vec<u32> = per_node.iter().map(|x| x.1).collect();

    // Component-level DAG edges, deduplicated, in topological order of their source.
    let mut comp_offsets = vec![0u64; comps + 1];
    let mut comp_targets: Vec<u32> = Vec::new();
    let mut scratch: Vec<u32> = Vec::new();
    for c in 0..comps {
        scratch.clear();
        for &v in cond.members(c) {
            for &w in graph.out_neighbors(v) {
                let d = cond.component[w as usize];
                if d as usize != c {
                    scratch.push(d);
                }
            }
        }
        scratch.sort_unstable();
        scratch.dedup();
        comp_targets.extend_from_slice(&scratch);
        comp_offsets[c + 1] = comp_targets.len() as u64;
    }
    let successors = |c: usize| &comp_targets[comp_offsets[c] as usize..comp_offsets[c + 1] as usize];

    // Chain depth: longest path in the condensation, forward in topological order.
    let mut depth = vec![0u32; comps];
    for c in 0..comps {
        let next = depth[c] + 1;
        for &d in successors(c) {
            depth[d as usize] = depth[d as usize].max(next);
        }
    }
    // Exposure to defaults downstream, backward in topological order.
    let any_defaulted: Vec<bool> = (0..comps).map(|c| cond.members(c).iter().any(|&v| is_defaulted(v))).collect();
    let mut downstream_default = vec![false; comps];
    for c in (0..comps).rev() {
        downstream_default[c] = successors(c).iter().any(|&d| any_defaulted[d as usize] || downstream_default[d as usize]);
    }
    let exposed_to_default: Vec<bool> = (0..n as u32)
        .map(|v| {
            let c = cond.component[v as usize] as usize;
            let members = cond.members(c);
            downstream_default[c] || (members.len() > 1 && members.iter().any(|&w| w != v && is_defaulted(w)))
        })
        .collect();

    // Transitive liability per component: Σ over its downstream components (itself included).
    let comp_liability: Vec<f64> =
        (0..comps).map(|c| cond.members(c).iter().map(|&v| direct_liability[v as usize]).fold(0.0, |a, b| a + b)).collect();
    // Downstream size counted with multiplicity (saturating): decides which components get an
    // exact search. A component with one successor needs none: its downstream is its successor's
    // plus itself, so a chain is exact in linear time.
    let mut downstream = vec![1u64; comps];
    for c in (0..comps).rev() {
        downstream[c] = successors(c).iter().fold(1u64, |a, &d| a.saturating_add(downstream[d as usize]));
    }
    let searched: Vec<Option<f64>> = (0..comps)
        .into_par_iter()
        .map_init(
            || (FastSet::<u32>::default(), Vec::<u32>::new()),
            |(seen, stack), c| {
                if successors(c).len() < 2 || downstream[c] > MAX_EXACT_REACH {
                    return None;
                }
                seen.clear();
                stack.clear();
                seen.insert(c as u32);
                stack.push(c as u32);
                while let Some(x) = stack.pop() {
                    for &d in successors(x as usize) {
                        if seen.insert(d) {
                            stack.push(d);
                        }
                    }
                }
                // Sum in component order for a thread-independent result.
                let mut reached: Vec<u32> = seen.iter().copied().collect();
                reached.sort_unstable();
                Some(reached.iter().map(|&d| comp_liability[d as usize]).fold(0.0, |a, b| a + b))
            },
        )
        .collect();
    let mut transitive_by_comp = vec![0.0f64; comps];
    let mut upper_bounds = 0usize;
    for c in (0..comps).rev() {
        transitive_by_comp[c] = match searched[c] {
            Some(exact) => exact,
            None => {
                if successors(c).len() >= 2 {
                    // A very large downstream part: successors' sums added, so a guarantee
                    // reachable two ways counts twice (an upper bound, counted).
                    upper_bounds += 1;
                }
                successors(c).iter().fold(comp_liability[c], |a, &d| a + transitive_by_comp[d as usize])
            }
        };
    }
    let transitive_liability: Vec<f64> = (0..n).map(|v| transitive_by_comp[cond.component[v] as usize]).collect();
    let chain_depth: Vec<u32> = (0..n).map(|v| depth[cond.component[v] as usize]).collect();

    // Circles: components of two or more.
    let mut circle_comps: Vec<usize> = (0..comps).filter(|&c| cond.members(c).len() > 1).collect();
    circle_comps.sort_by(|&a, &b| cond.members(b).len().cmp(&cond.members(a).len()).then(cond.members(a)[0].cmp(&cond.members(b)[0])));
    let mut circle = vec![NONE; n];
    let circles: Vec<Circle> = circle_comps
        .iter()
        .enumerate()
        .map(|(k, &c)| {
            let members = cond.members(c).to_vec();
            let mut total_amount = 0.0;
            for &v in &members {
                circle[v as usize] = k as u32;
                let start = graph.out_offsets[v as usize] as usize;
                for (e, &w) in (start..).zip(graph.out_neighbors(v)) {
                    if cond.component[w as usize] as usize == c {
                        total_amount += amount(e);
                    }
                }
            }
            let defaulted = members.iter().copied().filter(|&v| is_defaulted(v)).collect();
            Circle { members, total_amount, defaulted }
        })
        .collect();
    GuaranteeResult {
        circle,
        circles,
        mutual_pairs,
        chain_depth,
        direct_liability,
        transitive_liability,
        exposed_to_default,
        transitive_upper_bounds: upper_bounds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circle_chain_and_liabilities() {
        // 0→1→2→0 is a circle (amounts 10, 20, 30); 2→3 (5); 3→4 (7); 5→0 (1); 6↔7 mutual (2, 3).
        let edges = [(0, 1, 10.0), (1, 2, 20.0), (2, 0, 30.0), (2, 3, 5.0), (3, 4, 7.0), (5, 0, 1.0), (6, 7, 2.0), (7, 6, 3.0)];
        let g = Projection::from_edges(8, &edges, false, true);
        let mut defaulted = vec![false; 8];
        defaulted[4] = true;
        let r = guarantee_network(&g, &defaulted);
        assert_eq!(r.circles.len(), 2);
        assert_eq!(r.circles[0], Circle { members: vec![0, 1, 2], total_amount: 60.0, defaulted: vec![] });
        assert_eq!(r.circles[1].members, vec![6, 7]);
        assert_eq!(r.circle[3], NONE);
        assert_eq!(r.mutual_pairs, vec![0, 0, 0, 0, 0, 0, 1, 1]);
        // 5 → circle → 3 → 4.
        assert_eq!(r.chain_depth, vec![1, 1, 1, 2, 3, 0, 0, 0]);
        assert_eq!(r.direct_liability, vec![10.0, 20.0, 35.0, 7.0, 0.0, 1.0, 2.0, 3.0]);
        assert_eq!(r.transitive_liability, vec![72.0, 72.0, 72.0, 7.0, 0.0, 73.0, 5.0, 5.0]);
        assert_eq!(r.exposed_to_default, vec![true, true, true, true, false, true, false, false]);
    }
}
