//! PageRank by power iteration, pulling over in-edges (Page et al. 1999), with the dangling and
//! teleport conventions of networkx and LDBC Graphalytics: the rank of a node without out-edges is
//! spread like the teleport (uniformly, or over the personalization seeds). Weighted: transition
//! probabilities proportional to edge weight over the source's total out-weight. Self-loops count
//! as out-edges (a node passes rank to itself), parallel edges as multiplicity.
//!
//! Determinism: each iteration reads `rank` and writes `next`; each node's sum runs over its
//! sorted in-list in order; global sums are reduced in fixed chunks combined in chunk order. The
//! result is bit-identical for any thread count.
//!
//! On large graphs the iteration runs on in-lists renumbered by descending out-degree and cut by
//! source into segments whose contributions fit in L2 (see [`crate::locality`]); the sums then
//! run over each node's sources segment by segment, still a fixed order. There the
//! contributions are also gathered as f32 (see [`run_in_order`]): scores within about 4e-7
//! relative of the all-f64 iteration.
//!
//! # Complexity
//! O(iterations × (n + m)) work, parallel over nodes; memory 3 arrays of n f64 and the
//! contributions (n f64, or n f32 on large graphs), plus on large graphs the segmented in-lists
//! (4m bytes, + 8m weighted, and 12 bytes per node per segment it has sources in) and the order
//! (8n).

use rayon::prelude::*;

use crate::locality::{huge_page_vec, InSegment, NodeOrder, SegmentedInLists, REORDER_MIN_ARCS};
use crate::projection::Projection;
use crate::reduce::chunked_sum;

pub const DEFAULT_DAMPING: f64 = 0.85;
pub const DEFAULT_MAX_ITERATIONS: u32 = 100;
/// Per-node tolerance: iteration stops when the L1 change is below `tolerance × n`.
pub const DEFAULT_TOLERANCE: f64 = 1e-10;

#[derive(Clone, Debug, PartialEq)]
pub struct PageRankConfig {
    /// Probability of following an edge rather than teleporting.
    pub damping: f64,
    pub max_iterations: u32,
    /// Stop when Σ|next − rank| < tolerance × n; 0 runs exactly `max_iterations`.
    pub tolerance: f64,
}

impl Default for PageRankConfig {
    fn default() -> Self {
        PageRankConfig { damping: DEFAULT_DAMPING, max_iterations: DEFAULT_MAX_ITERATIONS, tolerance: DEFAULT_TOLERANCE }
    }
}

impl PageRankConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..1.0).contains(&self.damping) {
            return Err(format!("damping {} must be in [0, 1)", self.damping));
        }
        if !(self.tolerance >= 0.0 && self.tolerance.is_finite()) {
            return Err(format!("tolerance {} must be ≥ 0", self.tolerance));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PageRankResult {
    /// Indexed by local id; sums to 1 (up to rounding) on a non-empty graph.
    pub scores: Vec<f64>,
    pub iterations: u32,
    pub converged: bool,
    /// The last iteration's L1 change.
    pub delta: f64,
}

/// Global PageRank: teleport uniformly over all nodes.
pub fn page_rank(graph: &Projection, config: &PageRankConfig) -> PageRankResult {
    run(graph, config, None)
}

/// Global PageRank on the layout large graphs get (degree order, in-lists cut into segments of
/// `segment_len` sources, f32 contributions), whatever the graph's size: how the reference tests
/// check that layout on their small graphs.
pub fn page_rank_segmented(graph: &Projection, config: &PageRankConfig, segment_len: usize) -> PageRankResult {
    run_in_order(graph, config, None, Layout::Segmented { segment_len }, true)
}

/// Personalized PageRank: teleport and dangling mass go to `seeds` (local ids) uniformly, so
/// score flows outward from them. With no valid seed the result is all zeros.
pub fn personalized_page_rank(graph: &Projection, seeds: &[u32], config: &PageRankConfig) -> PageRankResult {
    let n = graph.node_count();
    let mut teleport = vec![0.0; n];
    let mut unique: Vec<u32> = seeds.iter().copied().filter(|&s| (s as usize) < n).collect();
    unique.sort_unstable();
    unique.dedup();
    if unique.is_empty() {
        return PageRankResult { scores: teleport, iterations: 0, converged: true, delta: 0.0 };
    }
    for &s in &unique {
        teleport[s as usize] = 1.0 / unique.len() as f64;
    }
    run(graph, config, Some(&teleport))
}

/// [`page_rank`] for a caller that needs only the projection's node list afterwards: its lists
/// are freed as soon as the iteration is done with them (the out-lists once the out-weights are
/// summed, the in-lists once cut into segments), so the peak is the in-lists and their segmented
/// copy rather than the whole projection besides. The same scores as [`page_rank`].
pub fn page_rank_releasing(graph: &mut Projection, config: &PageRankConfig) -> PageRankResult {
    let layout = layout_for(graph);
    run_releasing(graph, config, layout)
}

fn run_releasing(graph: &mut Projection, config: &PageRankConfig, layout: Layout) -> PageRankResult {
    let Layout::Segmented { segment_len } = layout else {
        let result = page_rank(graph, config);
        graph.release_lists();
        return result;
    };
    let out_weight = out_weights(graph);
    let order = NodeOrder::by_descending(|v| graph.out_degree(v) as u64, graph.node_count());
    graph.release_out_lists();
    let segmented = SegmentedInLists::new_releasing(graph, &order, segment_len);
    iterate_segmented(&segmented, &order, out_weight, config, None, true)
}

fn run(graph: &Projection, config: &PageRankConfig, teleport: Option<&[f64]>) -> PageRankResult {
    let layout = layout_for(graph);
    run_in_order(graph, config, teleport, layout, layout != Layout::Plain)
}

fn layout_for(graph: &Projection) -> Layout {
    if graph.edge_count() >= REORDER_MIN_ARCS {
        Layout::Segmented { segment_len: SEGMENT_BYTES / 4 }
    } else {
        Layout::Plain
    }
}

/// Contribution bytes one segment of the pull reads: half of the 2 MiB private L2 of the machines
/// measured (AMD EPYC), the rest left to the streamed lists and sums.
const SEGMENT_BYTES: usize = 1 << 20;

/// How the in-lists are laid out for the pull.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Layout {
    /// The projection's own in-lists.
    Plain,
    /// Renumbered by descending out-degree and cut into segments of `segment_len` sources (see
    /// [`SegmentedInLists`]).
    Segmented { segment_len: usize },
}

/// A contribution (rank / out-weight) as stored for the gather of the next iteration.
trait Contribution: Copy + Default + Send + Sync {
    /// The L1 change below which iterating stops whatever the tolerance. Rounded contributions
    /// can settle into a cycle of flips by an ulp instead of a fixed point, each flip moving a
    /// score by under 2⁻²⁴ of itself; the cycles seen changed the ranks by about 6e-10 in L1.
    /// The floor sits well above that and well below any tolerance a large graph is run at
    /// (the default, 1e-10 × n, is 1e-4 at a million nodes).
    const DELTA_FLOOR: f64;
    fn narrow(x: f64) -> Self;
    fn widen(self) -> f64;
}

impl Contribution for f64 {
    const DELTA_FLOOR: f64 = 0.0;
    fn narrow(x: f64) -> f64 {
        x
    }
    fn widen(self) -> f64 {
        self
    }
}

impl Contribution for f32 {
    const DELTA_FLOOR: f64 = f32::EPSILON as f64 / 8.0;
    fn narrow(x: f64) -> f32 {
        x as f32
    }
    fn widen(self) -> f64 {
        self as f64
    }
}

/// With [`Layout::Segmented`], iterates on in-lists renumbered by descending out-degree (the
/// nodes whose contribution is read most often share cache lines; see [`crate::locality`]) and
/// cut by source into segments whose contributions fit in L2, swept one after another; the
/// scores are mapped back. Same fixed point: a node's sum runs over its sources segment by
/// segment, still in a fixed order.
/// With `narrow`, contributions are gathered as f32 (ranks and sums stay f64): the random reads
/// of an iteration then touch half the bytes (GAP's reference PageRank keeps its scores in float
/// throughout). Each rounding is relative and below 2⁻²⁴, so every score stays within about
/// 6e-8 / (1 − d) ≈ 4e-7 of the f64 iteration's, relatively (tested at 1e-6). A tolerance
/// tighter than that rounding stops at [`Contribution::DELTA_FLOOR`] instead of running to
/// `max_iterations`.
fn run_in_order(graph: &Projection, config: &PageRankConfig, teleport: Option<&[f64]>, layout: Layout, narrow: bool) -> PageRankResult {
    let n = graph.node_count();
    if n == 0 {
        return PageRankResult { scores: Vec::new(), iterations: 0, converged: true, delta: 0.0 };
    }
    let out_weight = out_weights(graph);
    let Layout::Segmented { segment_len } = layout else {
        let lists = Pull::Lists { offsets: graph.in_offsets(), sources: graph.in_sources(), weights: graph.in_weights() };
        return if narrow {
            iterate::<f32>(&lists, out_weight, config, teleport)
        } else {
            iterate::<f64>(&lists, out_weight, config, teleport)
        };
    };
    let order = NodeOrder::by_descending(|v| graph.out_degree(v) as u64, n);
    let segmented = SegmentedInLists::new(graph, &order, segment_len);
    iterate_segmented(&segmented, &order, out_weight, config, teleport, narrow)
}

/// Each node's total out-weight (its out-degree when unweighted), summed over its sorted list.
fn out_weights(graph: &Projection) -> Vec<f64> {
    (0..graph.node_count() as u32)
        .into_par_iter()
        .map(|v| match &graph.out_weights {
            Some(w) => w[graph.out_offsets[v as usize] as usize..graph.out_offsets[v as usize + 1] as usize].iter().sum(),
            None => graph.out_degree(v) as f64,
        })
        .collect()
}

/// Iterates on in-lists segmented in `order` (out-weights and teleport by original id), the
/// scores mapped back to original ids.
fn iterate_segmented(
    segmented: &SegmentedInLists,
    order: &NodeOrder,
    out_weight: Vec<f64>,
    config: &PageRankConfig,
    teleport: Option<&[f64]>,
    narrow: bool,
) -> PageRankResult {
    let lists = Pull::Segments(segmented);
    let teleport = teleport.map(|t| order.permute(t));
    let (out_weight, teleport) = (order.permute(&out_weight), teleport.as_deref());
    let mut result =
        if narrow { iterate::<f32>(&lists, out_weight, config, teleport) } else { iterate::<f64>(&lists, out_weight, config, teleport) };
    result.scores = order.restore(&result.scores);
    result
}

/// The in-lists a pull iteration gathers over.
enum Pull<'a> {
    Lists { offsets: &'a [u64], sources: &'a [u32], weights: Option<&'a [f64]> },
    Segments(&'a SegmentedInLists),
}

impl Pull<'_> {
    /// `sums[v]` = Σ contribution × weight over the in-arcs of `v`.
    fn gather<C: Contribution>(&self, contrib: &[C], sums: &mut [f64]) {
        match self {
            Pull::Lists { offsets, sources, weights } => sums.par_iter_mut().enumerate().for_each(|(v, x)| {
                let (lo, hi) = (offsets[v] as usize, offsets[v + 1] as usize);
                *x = match weights {
                    Some(w) => sources[lo..hi].iter().zip(&w[lo..hi]).map(|(&u, &wt)| contrib[u as usize].widen() * wt).sum(),
                    None => sources[lo..hi].iter().map(|&u| contrib[u as usize].widen()).sum(),
                };
            }),
            Pull::Segments(lists) => {
                sums.par_iter_mut().for_each(|x| *x = 0.0);
                for (s, segment) in lists.segments.iter().enumerate() {
                    let base = s * lists.segment_len;
                    let values = &contrib[base..(base + lists.segment_len).min(contrib.len())];
                    let weights = segment.weights.as_deref();
                    segment_jobs(segment, sums).into_par_iter().for_each(|(entries, first, piece)| {
                        for e in entries {
                            let (lo, hi) = (segment.offsets[e] as usize, segment.offsets[e + 1] as usize);
                            let sources = &segment.sources[lo..hi];
                            piece[segment.targets[e] as usize - first] += match weights {
                                Some(w) => sources.iter().zip(&w[lo..hi]).map(|(&u, &wt)| values[u as usize].widen() * wt).sum(),
                                None => four_way_sum(values, sources),
                            };
                        }
                    });
                }
            }
        }
    }
}

/// A segment's jobs, each with the part of `sums` its targets own: (entries, first target, sums
/// of targets `first..`).
fn segment_jobs<'s>(segment: &InSegment, sums: &'s mut [f64]) -> Vec<(std::ops::Range<usize>, usize, &'s mut [f64])> {
    let mut jobs = Vec::with_capacity(segment.jobs.len());
    let (mut rest, mut consumed) = (sums, 0);
    for bounds in segment.jobs.windows(2) {
        let (first, end) = (segment.targets[bounds[0]] as usize, segment.targets[bounds[1] - 1] as usize + 1);
        let (piece, tail) = std::mem::take(&mut rest)[first - consumed..].split_at_mut(end - first);
        jobs.push((bounds[0]..bounds[1], first, piece));
        (rest, consumed) = (tail, end);
    }
    jobs
}

/// Σ values[u] over `sources` in four interleaved partial sums (a fixed order): one chain of
/// dependent adds would wait on each load in turn; four let the loads overlap.
fn four_way_sum<C: Contribution>(values: &[C], sources: &[u32]) -> f64 {
    let mut partial = [0.0f64; 4];
    let mut quads = sources.chunks_exact(4);
    for quad in &mut quads {
        for (p, &u) in partial.iter_mut().zip(quad) {
            *p += values[u as usize].widen();
        }
    }
    let mut sum = (partial[0] + partial[1]) + (partial[2] + partial[3]);
    for &u in quads.remainder() {
        sum += values[u as usize].widen();
    }
    sum
}

fn iterate<C: Contribution>(lists: &Pull, out_weight: Vec<f64>, config: &PageRankConfig, teleport: Option<&[f64]>) -> PageRankResult {
    let n = out_weight.len();
    let stop_below = (config.tolerance * n as f64).max(C::DELTA_FLOOR);
    let d = config.damping;
    let uniform = 1.0 / n as f64;
    let mut rank = vec![uniform; n];
    let mut next = vec![0.0; n];
    let mut contrib = huge_page_vec::<C>(n);
    let (mut iterations, mut delta, mut converged) = (0, f64::INFINITY, false);
    while iterations < config.max_iterations {
        contrib
            .par_iter_mut()
            .zip(rank.par_iter().zip(out_weight.par_iter()))
            .for_each(|(c, (r, w))| *c = C::narrow(if *w > 0.0 { r / w } else { 0.0 }));
        let dangling = chunked_sum(&rank, |i, r| if out_weight[i] > 0.0 { 0.0 } else { r });
        // Mass that teleports this round: the (1 − d) share plus the damped dangling rank.
        let spread = (1.0 - d) + d * dangling;
        lists.gather(&contrib, &mut next);
        next.par_iter_mut().enumerate().for_each(|(v, x)| *x = d * *x + spread * teleport.map_or(uniform, |t| t[v]));
        delta = chunked_sum(&next, |i, x| (x - rank[i]).abs());
        std::mem::swap(&mut rank, &mut next);
        iterations += 1;
        if config.tolerance > 0.0 && delta < stop_below {
            converged = true;
            break;
        }
    }
    PageRankResult { scores: rank, iterations, converged: converged || config.tolerance == 0.0, delta }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn a_directed_cycle_has_uniform_rank() {
        let g = Projection::from_edges(4, &[(0, 1, 1.0), (1, 2, 1.0), (2, 3, 1.0), (3, 0, 1.0)], false, false);
        let r = page_rank(&g, &PageRankConfig::default());
        assert!(r.converged);
        assert!(r.scores.iter().all(|&s| close(s, 0.25)), "{:?}", r.scores);
    }

    #[test]
    fn a_star_by_hand() {
        // Leaves 1..=3 point at the hub 0, which has no out-edges (dangling: its rank is spread
        // uniformly). Fixed point: leaf l = (0.15 + 0.85 h)/4, hub h = 0.85·3l + l, 3l + h = 1,
        // so h = 0.8875 / 1.6375.
        let g = Projection::from_edges(4, &[(1, 0, 1.0), (2, 0, 1.0), (3, 0, 1.0)], false, false);
        let r = page_rank(&g, &PageRankConfig { tolerance: 1e-15, ..Default::default() });
        let h = r.scores[0];
        let l = r.scores[1];
        assert!(close(l, (0.15 + 0.85 * h) / 4.0), "{h} {l}");
        assert!(close(3.0 * l + h, 1.0));
        assert!(close(h, 0.8875 / 1.6375), "{h}");
    }

    #[test]
    fn empty_and_isolated_graphs() {
        assert!(page_rank(&Projection::from_edges(0, &[], false, false), &PageRankConfig::default()).scores.is_empty());
        let r = page_rank(&Projection::from_edges(3, &[], false, false), &PageRankConfig::default());
        assert!(r.scores.iter().all(|&s| close(s, 1.0 / 3.0)));
    }

    #[test]
    fn personalized_rank_stays_with_the_seeds_component() {
        let g = Projection::from_edges(5, &[(0, 1, 1.0), (1, 0, 1.0), (2, 3, 1.0), (3, 4, 1.0), (4, 2, 1.0)], false, false);
        let tight = PageRankConfig { max_iterations: 1000, tolerance: 1e-16, ..Default::default() };
        let r = personalized_page_rank(&g, &[0], &tight);
        assert!(close(r.scores.iter().sum::<f64>(), 1.0));
        // Unseeded nodes start with 1/n (as in networkx) and lose 15% per round: nothing stays.
        assert!(r.scores[2..].iter().all(|&s| s < 1e-15), "{:?}", r.scores);
        assert!(r.scores[0] > r.scores[1]);
        assert_eq!(personalized_page_rank(&g, &[99], &PageRankConfig::default()).scores, vec![0.0; 5]);
    }

    /// `arcs` random arcs over `n` nodes whose targets skew to low ids (a few hubs), weights 1 to
    /// `max_weight`.
    fn skewed_graph(next: &mut impl FnMut() -> u32, n: u32, arcs: usize, max_weight: u32, undirected: bool, weighted: bool) -> Projection {
        let edges: Vec<(u32, u32, f64)> =
            (0..arcs).map(|_| (next() % n, (next() % n) * (next() % n) / n, 1.0 + (next() % max_weight) as f64)).collect();
        Projection::from_edges(n as usize, &edges, undirected, weighted)
    }

    #[test]
    fn releasing_the_lists_as_it_goes_changes_no_score() {
        let mut next = crate::test_rng(11);
        for (weighted, undirected) in [(true, false), (false, false), (true, true)] {
            let n = 500;
            let g = skewed_graph(&mut next, n, 4000, 9, undirected, weighted);
            let config = PageRankConfig::default();
            for (layout, kept) in
                [(Layout::Plain, page_rank(&g, &config)), (Layout::Segmented { segment_len: 64 }, page_rank_segmented(&g, &config, 64))]
            {
                let mut released = g.clone();
                assert_eq!(run_releasing(&mut released, &config, layout), kept, "{layout:?}");
                assert_eq!((released.nodes.len(), released.edge_count(), released.in_sources().len()), (n as usize, 0, 0));
                assert_eq!(released.local_id(g.nodes[7]), Some(7));
            }
        }
    }

    #[test]
    fn the_segmented_iteration_reaches_the_same_scores() {
        // Skewed random graphs (a few hubs), weighted or not, global and personalized, cut into
        // segments of 1 to all nodes: the renumbered, segmented path used on large graphs agrees
        // with the plain one.
        let mut next = crate::test_rng(7);
        for (weighted, undirected) in [(false, false), (true, false), (false, true)] {
            let n = 300;
            let g = skewed_graph(&mut next, n, 3000, 5, undirected, weighted);
            let tight = PageRankConfig { tolerance: 1e-14, ..Default::default() };
            let teleport: Vec<f64> = (0..n).map(|v| if v % 7 == 0 { 1.0 / 43.0 } else { 0.0 }).collect();
            for t in [None, Some(&teleport[..])] {
                let plain = run_in_order(&g, &tight, t, Layout::Plain, false);
                for segment_len in [1, 7, 64, 300, 1 << 18] {
                    let segmented = run_in_order(&g, &tight, t, Layout::Segmented { segment_len }, false);
                    assert_eq!(plain.iterations, segmented.iterations);
                    for (a, b) in plain.scores.iter().zip(&segmented.scores) {
                        assert!((a - b).abs() <= 1e-12 * a.abs().max(1e-12), "{a} {b}, segments of {segment_len}");
                    }
                }
                // f32 contributions, as on large graphs: every score within 1e-6 relative, and the
                // tight tolerance met down to the rounding floor.
                let narrow = run_in_order(&g, &tight, t, Layout::Segmented { segment_len: 64 }, true);
                assert!(
                    narrow.converged && narrow.iterations < tight.max_iterations,
                    "{} iterations, delta {}",
                    narrow.iterations,
                    narrow.delta
                );
                assert!(narrow.delta < f32::EPSILON as f64 / 8.0, "{}", narrow.delta);
                let mut worst: f64 = 0.0;
                // Relative to the score, or to 1e-9 for the scores that decay towards zero
                // (personalized: nodes no seed reaches, 1/n = 3e-3 here).
                for (a, b) in plain.scores.iter().zip(&narrow.scores) {
                    assert!((a - b).abs() <= 1e-6 * a.abs().max(1e-9), "{a} {b}");
                    worst = worst.max((a - b).abs() / a.abs().max(1e-9));
                }
                // The f32 path really rounds (a test of the f64 path twice would pass above).
                assert!(worst > 1e-12, "{worst}");
            }
        }
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let mut next = crate::test_rng(11);
        let n = 500;
        let edges: Vec<(u32, u32, f64)> = (0..6000).map(|_| (next() % n, (next() % n) * (next() % n) / n, 1.0)).collect();
        let g = Projection::from_edges(n as usize, &edges, false, false);
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool");
            pool.install(|| run_in_order(&g, &PageRankConfig::default(), None, Layout::Segmented { segment_len: 32 }, true).scores)
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn weights_shift_rank_towards_heavier_edges() {
        let g = Projection::from_edges(3, &[(0, 1, 9.0), (0, 2, 1.0), (1, 0, 1.0), (2, 0, 1.0)], false, true);
        let r = page_rank(&g, &PageRankConfig::default());
        assert!(r.scores[1] > 3.0 * r.scores[2]);
    }
}
