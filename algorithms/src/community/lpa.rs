//! Community detection by label propagation with LDBC Graphalytics CDLP semantics (Raghavan et
//! al. 2007, made deterministic by the benchmark): synchronous rounds; a node takes the label most
//! frequent among its neighbours, counting in- and out-neighbours on a directed view (a
//! reciprocated edge counts twice) and parallel edges by multiplicity; ties go to the smallest
//! label; a node without neighbours keeps its label. Labels start as local ids and are reported as
//! the local id of the node whose label won. Self-loops count as a neighbour like any other edge.
//!
//! # Complexity
//! O(iterations × m log d) work, parallel over nodes; memory two u32 arrays of n.

use rayon::prelude::*;

use crate::projection::Projection;

pub const DEFAULT_ITERATIONS: u32 = 10;

#[derive(Clone, Debug, PartialEq)]
pub struct LabelPropagationConfig {
    /// Synchronous rounds (Graphalytics runs a fixed number; stops early once nothing changes).
    pub max_iterations: u32,
}

impl Default for LabelPropagationConfig {
    fn default() -> Self {
        LabelPropagationConfig { max_iterations: DEFAULT_ITERATIONS }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LabelPropagationResult {
    /// Label per local node (a local id).
    pub labels: Vec<u32>,
    pub iterations: u32,
    /// Whether a round changed nothing before `max_iterations`.
    pub converged: bool,
}

pub fn label_propagation(graph: &Projection, config: &LabelPropagationConfig) -> LabelPropagationResult {
    let n = graph.node_count();
    let mut labels: Vec<u32> = (0..n as u32).collect();
    let mut next = labels.clone();
    let mut iterations = 0;
    let mut converged = false;
    while iterations < config.max_iterations {
        let changed: usize = next
            .par_iter_mut()
            .enumerate()
            .map_init(Vec::new, |seen, (v, out)| {
                seen.clear();
                seen.extend(graph.out_neighbors(v as u32).iter().map(|&u| labels[u as usize]));
                if !graph.undirected {
                    seen.extend(graph.in_neighbors(v as u32).iter().map(|&u| labels[u as usize]));
                }
                *out = most_frequent_smallest(seen).unwrap_or(labels[v]);
                usize::from(*out != labels[v])
            })
            .sum();
        std::mem::swap(&mut labels, &mut next);
        iterations += 1;
        if changed == 0 {
            converged = true;
            break;
        }
    }
    LabelPropagationResult { labels, iterations, converged }
}

/// The most frequent value, ties to the smallest.
fn most_frequent_smallest(values: &mut [u32]) -> Option<u32> {
    values.sort_unstable();
    let mut best: Option<(usize, u32)> = None;
    let mut i = 0;
    while i < values.len() {
        let mut j = i;
        while j < values.len() && values[j] == values[i] {
            j += 1;
        }
        if best.is_none_or(|(count, _)| j - i > count) {
            best = Some((j - i, values[i]));
        }
        i = j;
    }
    best.map(|(_, label)| label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_triangles_joined_by_a_bridge_split_in_two() {
        let edges = [(0, 1, 1.0), (1, 2, 1.0), (2, 0, 1.0), (3, 4, 1.0), (4, 5, 1.0), (5, 3, 1.0), (2, 3, 1.0)];
        let g = Projection::from_edges(6, &edges, true, false);
        let r = label_propagation(&g, &LabelPropagationConfig { max_iterations: 20 });
        assert_eq!(r.labels[0], r.labels[1]);
        assert_eq!(r.labels[4], r.labels[5]);
    }

    #[test]
    fn ties_go_to_the_smallest_label() {
        assert_eq!(most_frequent_smallest(&mut [5, 3, 5, 3, 9]), Some(3));
        assert_eq!(most_frequent_smallest(&mut [7, 7, 2]), Some(7));
        assert_eq!(most_frequent_smallest(&mut []), None);
    }
}
