//! Strongly connected components. [`strongly_connected_components`]: trimming and one
//! forward–backward search from a hub (parallel) take the trivial and the giant components, then
//! Tarjan's algorithm (1972) the rest. [`condensation`]: Tarjan alone, for its topological order.
//! Tarjan is iterative (an explicit stack, so a 10-million-node chain cannot overflow the thread
//! stack). Labels are canonical (dense by size, ties by smallest member), so deterministic.
//!
//! # Complexity
//! O(n + m) work; memory about 20 bytes per node.

use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use super::dense_by_size;
use super::wcc::ComponentsResult;
use crate::projection::Projection;

pub fn strongly_connected_components(graph: &Projection) -> ComponentsResult {
    strongly_connected_of(graph.node_count(), |v| graph.out_neighbors(v), |v| graph.in_neighbors(v))
}

/// [`strongly_connected_components`] over any adjacency of nodes `0..n` given both ways:
/// `out(v)` and `into(v)`, the nodes `v` links to and those linking to it.
pub fn strongly_connected_of<'a>(
    n: usize,
    out: impl Fn(u32) -> &'a [u32] + Sync,
    into: impl Fn(u32) -> &'a [u32] + Sync,
) -> ComponentsResult {
    // finished[v]: v's component is known; rep[v]: its smallest member.
    let finished: Vec<AtomicBool> = (0..n).into_par_iter().map(|_| AtomicBool::new(false)).collect();
    let mut rep: Vec<u32> = (0..n as u32).collect();
    // Trim: a node without in-edges or without out-edges lies on no cycle.
    let trimmed = |v: u32| out(v).is_empty() || into(v).is_empty();
    (0..n as u32)
        .into_par_iter()
        .with_min_len(1 << 12)
        .filter(|&v| trimmed(v))
        .for_each(|v| finished[v as usize].store(true, Ordering::Relaxed));
    // Forward–backward from the node with the most in × out arcs (Fleischer, Hendrickson and
    // Pinar 2000): on a skewed graph the giant component, found by two parallel searches.
    let pivot = (0..n as u32)
        .into_par_iter()
        .filter(|&v| !trimmed(v))
        .map(|v| (out(v).len() as u64 * into(v).len() as u64, std::cmp::Reverse(v)))
        .max()
        .map(|(_, std::cmp::Reverse(v))| v);
    if let Some(pivot) = pivot {
        let forward = reach(n, pivot, &out, &finished);
        let backward = reach(n, pivot, &into, &finished);
        let giant: Vec<u32> = (0..n as u32)
            .into_par_iter()
            .filter(|&v| forward[v as usize].load(Ordering::Relaxed) && backward[v as usize].load(Ordering::Relaxed))
            .collect();
        let smallest = giant.first().copied().unwrap_or(pivot);
        for &v in &giant {
            rep[v as usize] = smallest;
            finished[v as usize].store(true, Ordering::Relaxed);
        }
    }
    // The rest (small components around the giant) by Tarjan, finished nodes skipped.
    let finished: Vec<bool> = finished.into_iter().map(AtomicBool::into_inner).collect();
    tarjan(
        n,
        out,
        |v| finished[v as usize],
        |members| {
            let smallest = members.iter().copied().min().unwrap_or(0);
            for &v in members {
                rep[v as usize] = smallest;
            }
        },
    );
    let (component, sizes) = dense_by_size(&rep);
    ComponentsResult { component, sizes }
}

/// The nodes reachable from `start` along `next` without entering finished nodes, by a
/// level-synchronous parallel search.
fn reach<'a>(n: usize, start: u32, next: impl Fn(u32) -> &'a [u32] + Sync, finished: &[AtomicBool]) -> Vec<AtomicBool> {
    let seen: Vec<AtomicBool> = (0..n).into_par_iter().map(|_| AtomicBool::new(false)).collect();
    seen[start as usize].store(true, Ordering::Relaxed);
    let mut frontier = vec![start];
    while !frontier.is_empty() {
        frontier = frontier
            .par_iter()
            .flat_map_iter(|&v| next(v).iter().copied())
            .filter(|&w| {
                !finished[w as usize].load(Ordering::Relaxed)
                    && !seen[w as usize].load(Ordering::Relaxed)
                    && !seen[w as usize].swap(true, Ordering::Relaxed)
            })
            .collect();
    }
    seen
}

/// The strongly connected components in topological order of the condensation: every edge
/// `u → v` between different components has `component[u] < component[v]`, so a pass over
/// components in index order sees every predecessor first (holders before the firms they hold,
/// guarantors before borrowers).
#[derive(Clone, Debug, Default)]
pub struct Condensation {
    /// Component index per local node.
    pub component: Vec<u32>,
    /// `members[offsets[c]..offsets[c + 1]]` are the nodes of component `c`, ascending.
    pub offsets: Vec<u32>,
    pub members: Vec<u32>,
}

impl Condensation {
    pub fn count(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn members(&self, c: usize) -> &[u32] {
        &self.members[self.offsets[c] as usize..self.offsets[c + 1] as usize]
    }
}

/// Tarjan's algorithm, emitting components in reverse topological order; reversed at the end.
///
/// # Complexity
/// O(n + m) time, sequential; memory about 21 bytes per node.
pub fn condensation(graph: &Projection) -> Condensation {
    condensation_of(graph.node_count(), |v| graph.out_neighbors(v))
}

/// [`condensation`] over any adjacency `out(v)` of nodes `0..n`.
pub fn condensation_of<'a>(n: usize, out: impl Fn(u32) -> &'a [u32]) -> Condensation {
    // Components as emitted (sinks first): flat members with end offsets.
    let mut emitted: Vec<u32> = Vec::with_capacity(n);
    let mut emitted_ends: Vec<u32> = Vec::new();
    tarjan(
        n,
        out,
        |_| false,
        |members| {
            emitted.extend_from_slice(members);
            emitted_ends.push(emitted.len() as u32);
        },
    );
    let count = emitted_ends.len();
    let mut component = vec![0u32; n];
    let mut offsets = Vec::with_capacity(count + 1);
    let mut members = Vec::with_capacity(n);
    offsets.push(0u32);
    for k in (0..count).rev() {
        let start = if k == 0 { 0 } else { emitted_ends[k - 1] as usize };
        let c = offsets.len() as u32 - 1;
        for &v in &emitted[start..emitted_ends[k] as usize] {
            component[v as usize] = c;
            members.push(v);
        }
        offsets.push(members.len() as u32);
    }
    Condensation { component, offsets, members }
}

/// Tarjan's algorithm with an explicit stack over the nodes not `skip`ped (edges into skipped
/// nodes are ignored): `emit` receives each component's members, ascending, sinks first.
fn tarjan<'a>(n: usize, out: impl Fn(u32) -> &'a [u32], skip: impl Fn(u32) -> bool, mut emit: impl FnMut(&[u32])) {
    const UNSEEN: u32 = u32::MAX;
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<u32> = Vec::new();
    let mut component: Vec<u32> = Vec::new();
    // Frames of (node, position in its out-list).
    let mut frames: Vec<(u32, usize)> = Vec::new();
    let mut counter = 0u32;
    for root in 0..n as u32 {
        if index[root as usize] != UNSEEN || skip(root) {
            continue;
        }
        frames.push((root, 0));
        index[root as usize] = counter;
        low[root as usize] = counter;
        counter += 1;
        stack.push(root);
        on_stack[root as usize] = true;
        while let Some(&mut (v, ref mut pos)) = frames.last_mut() {
            let neighbors = out(v);
            if *pos < neighbors.len() {
                let w = neighbors[*pos];
                *pos += 1;
                if index[w as usize] == UNSEEN {
                    if skip(w) {
                        continue;
                    }
                    index[w as usize] = counter;
                    low[w as usize] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[w as usize] = true;
                    frames.push((w, 0));
                } else if on_stack[w as usize] {
                    low[v as usize] = low[v as usize].min(index[w as usize]);
                }
                continue;
            }
            frames.pop();
            if let Some(&(parent, _)) = frames.last() {
                low[parent as usize] = low[parent as usize].min(low[v as usize]);
            }
            if low[v as usize] == index[v as usize] {
                component.clear();
                while let Some(w) = stack.pop() {
                    on_stack[w as usize] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                component.sort_unstable();
                emit(&component);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_chains_and_self_loops() {
        // 0→1→2→0 is a cycle; 2→3; 3↔4; 5 has a self-loop only.
        let edges = [(0, 1, 1.0), (1, 2, 1.0), (2, 0, 1.0), (2, 3, 1.0), (3, 4, 1.0), (4, 3, 1.0), (5, 5, 1.0)];
        let r = strongly_connected_components(&Projection::from_edges(6, &edges, false, false));
        assert_eq!(r.component, vec![0, 0, 0, 1, 1, 2]);
        assert_eq!(r.sizes, vec![3, 2, 1]);
    }

    #[test]
    fn condensation_is_topologically_ordered() {
        let edges = [(3, 4, 1.0), (4, 3, 1.0), (2, 3, 1.0), (0, 1, 1.0), (1, 2, 1.0), (2, 0, 1.0), (5, 0, 1.0)];
        let g = Projection::from_edges(6, &edges, false, false);
        let c = condensation(&g);
        assert_eq!(c.count(), 3);
        for &(u, v, _) in &edges {
            assert!(c.component[u as usize] <= c.component[v as usize], "{u}->{v}");
        }
        assert_eq!(c.members(c.component[0] as usize), &[0, 1, 2]);
    }

    #[test]
    fn the_parallel_front_agrees_with_tarjan_alone() {
        let mut next = crate::test_rng(5);
        for density in [1, 2, 4] {
            let n = 500u32;
            let edges: Vec<(u32, u32, f64)> = (0..n * density).map(|_| (next() % n, (next() % n) * (next() % n) / n, 1.0)).collect();
            let g = Projection::from_edges(n as usize, &edges, false, false);
            let c = condensation(&g);
            let mut rep = vec![0u32; n as usize];
            for k in 0..c.count() {
                for &v in c.members(k) {
                    rep[v as usize] = c.members(k)[0];
                }
            }
            let (component, sizes) = dense_by_size(&rep);
            let r = strongly_connected_components(&g);
            assert_eq!((r.component, r.sizes), (component, sizes), "density {density}");
        }
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        let n = 1_000_000u32;
        let edges: Vec<(u32, u32, f64)> = (0..n - 1).map(|i| (i, i + 1, 1.0)).collect();
        let r = strongly_connected_components(&Projection::from_edges(n as usize, &edges, false, false));
        assert_eq!(r.count(), n as usize);
    }
}
