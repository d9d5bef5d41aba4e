//! Every algorithm gives bit-identical results under 1, 2 and 4 threads, and is invariant under
//! relabelling where its definition is.

use ekg_algorithms::centrality::pagerank::{page_rank, personalized_page_rank, PageRankConfig};
use ekg_algorithms::community::lpa::{label_propagation, LabelPropagationConfig};
use ekg_algorithms::components::scc::strongly_connected_components;
use ekg_algorithms::components::wcc::weakly_connected_components;
use ekg_algorithms::structure::kcore::core_numbers;
use ekg_algorithms::structure::triangles::triangles;
use ekg_algorithms::Projection;
use proptest::prelude::*;

use crate::networkx::{graph, reference};

fn run_all(g: &Projection) -> Vec<u64> {
    let mut fingerprint = Vec::new();
    let pr = page_rank(g, &PageRankConfig::default());
    fingerprint.extend(pr.scores.iter().map(|x| x.to_bits()));
    fingerprint.extend(personalized_page_rank(g, &[0, 3], &PageRankConfig::default()).scores.iter().map(|x| x.to_bits()));
    fingerprint.extend(weakly_connected_components(g).component.iter().map(|&c| c as u64));
    fingerprint.extend(strongly_connected_components(g).component.iter().map(|&c| c as u64));
    fingerprint.extend(label_propagation(g, &LabelPropagationConfig::default()).labels.iter().map(|&c| c as u64));
    let t = triangles(g);
    fingerprint.extend(t.triangles.iter().copied());
    fingerprint.extend(t.clustering.iter().map(|x| x.to_bits()));
    fingerprint.extend(core_numbers(g).core.iter().map(|&c| c as u64));
    let communities = ekg_algorithms::community::louvain::LouvainConfig::default();
    fingerprint.extend(ekg_algorithms::community::louvain::louvain(g, &communities).community.iter().map(|&c| c as u64));
    fingerprint.extend(ekg_algorithms::community::leiden::leiden(g, &communities).community.iter().map(|&c| c as u64));
    // Ownership, guarantees and contagion on the same edges read as holdings and exposures.
    let n = g.node_count() as u32;
    // Shares scaled so each firm's holders hold at most half of it (sums ≤ 1, as the loader
    // enforces; half keeps the cyclic integration short).
    let edges: Vec<(u32, u32, f64)> =
        (0..n).flat_map(|v| g.out_neighbors(v).iter().map(move |&w| (v, w, 0.1 + ((v * 7 + w) % 5) as f64 * 0.1))).collect();
    let mut held = vec![0.0f64; n as usize];
    for &(_, w, s) in &edges {
        held[w as usize] += s;
    }
    let edges: Vec<(u32, u32, f64)> = edges.iter().map(|&(v, w, s)| (v, w, s * 0.5 / held[w as usize].max(0.5))).collect();
    let owned = ekg_algorithms::ownership::ownership(
        &ekg_algorithms::ownership::HoldingNetwork::from_edges(n, &edges),
        &ekg_algorithms::ownership::OwnershipConfig { ubo_threshold: 0.01, ..Default::default() },
    );
    fingerprint.extend(owned.controller.iter().map(|&c| c as u64));
    fingerprint.extend(owned.ubos.share.iter().map(|x| x.to_bits()));
    let guarantees = ekg_algorithms::contagion::guarantee_network(g, &vec![false; n as usize]);
    fingerprint.extend(guarantees.transitive_liability.iter().map(|x| x.to_bits()));
    let net = ekg_algorithms::contagion::ImpactNetwork::from_losses(n, edges.clone(), &vec![1.0; n as usize]);
    let value = vec![1.0 / n.max(1) as f64; n as usize];
    fingerprint.extend(ekg_algorithms::contagion::debt_rank(&net, &value, &[(0, 1.0)]).distress.iter().map(|x| x.1.to_bits()));
    let pd: Vec<f64> = (0..n).map(|v| (v % 10) as f64 * 0.01).collect();
    let cascade = ekg_algorithms::contagion::default_cascade(
        &net,
        &pd,
        &(0..n as u64).collect::<Vec<_>>(),
        &ekg_algorithms::contagion::CascadeConfig { runs: 500, seed: 3 },
    );
    fingerprint.extend(cascade.probability.iter().map(|x| x.to_bits()));
    fingerprint
}

fn with_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool").install(f)
}

#[test]
fn identical_bits_under_one_two_and_four_threads() {
    let r = reference();
    for weighted in [false, true] {
        let g = graph(&r, weighted);
        let one = with_threads(1, || run_all(&g));
        let two = with_threads(2, || run_all(&g));
        let four = with_threads(4, || run_all(&g));
        assert_eq!(one, two);
        assert_eq!(one, four);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// PageRank sums to 1, and relabelling the nodes permutes the scores (up to float rounding).
    #[test]
    fn pagerank_sums_to_one_and_ignores_labels(edges in prop::collection::vec((0u32..40, 0u32..40), 0..150), seed in 0u64..1000) {
        let n = 40usize;
        let g = Projection::from_edges(n, &edges.iter().map(|&(a, b)| (a, b, 1.0)).collect::<Vec<_>>(), false, false);
        let r = page_rank(&g, &PageRankConfig::default());
        prop_assert!((r.scores.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        // A permutation of 0..n from the seed.
        let mut perm: Vec<u32> = (0..n as u32).collect();
        super::TestRng::new(seed).shuffle(&mut perm);
        let relabelled: Vec<(u32, u32, f64)> = edges.iter().map(|&(a, b)| (perm[a as usize], perm[b as usize], 1.0)).collect();
        let r2 = page_rank(&Projection::from_edges(n, &relabelled, false, false), &PageRankConfig::default());
        for (v, &renamed) in perm.iter().enumerate() {
            prop_assert!((r.scores[v] - r2.scores[renamed as usize]).abs() < 1e-12);
        }
        // Component partitions are label-free too.
        let (c1, c2) = (weakly_connected_components(&g), weakly_connected_components(&Projection::from_edges(n, &relabelled, false, false)));
        for a in 0..n {
            for b in 0..n {
                prop_assert_eq!(c1.component[a] == c1.component[b], c2.component[perm[a] as usize] == c2.component[perm[b] as usize]);
            }
        }
    }
}
