//! Contagion against brute force and its defining properties: DebtRank monotone in the shock,
//! cascade probabilities never below pd and identical across thread counts, guarantee-network
//! liabilities and depths against per-node searches.

use ekg_algorithms::contagion::{debt_rank, default_cascade, guarantee_network, CascadeConfig, ImpactNetwork};
use ekg_algorithms::Projection;
use proptest::prelude::*;

fn network() -> impl Strategy<Value = (u32, Vec<(u32, u32, f64)>)> {
    (2u32..12).prop_flat_map(|n| (Just(n), proptest::collection::vec((0..n, 0..n, 0.01f64..1.5), 0..40)))
}

fn with_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool").install(f)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn debtrank_distress_is_monotone_in_the_shock((n, losses) in network(), psi in 0.05f64..0.5, extra in 0.0f64..0.5) {
        let net = ImpactNetwork::from_losses(n, losses, &vec![1.0; n as usize]);
        let value = vec![1.0 / n as f64; n as usize];
        let mild = debt_rank(&net, &value, &[(0, psi)]);
        let harsh = debt_rank(&net, &value, &[(0, psi + extra)]);
        let get = |r: &ekg_algorithms::contagion::DebtRankResult, f: u32| r.distress.iter().find(|x| x.0 == f).map_or(0.0, |x| x.1);
        for f in 0..n {
            prop_assert!(get(&mild, f) <= get(&harsh, f) + 1e-12, "firm {f}");
            prop_assert!(get(&harsh, f) <= 1.0);
        }
    }

    #[test]
    fn cascade_never_below_pd_and_thread_independent((n, losses) in network(), seed in 0u64..1000) {
        let net = ImpactNetwork::from_losses(n, losses, &vec![1.0; n as usize]);
        let pd: Vec<f64> = (0..n).map(|f| (f as f64 * 0.07) % 0.5).collect();
        let config = CascadeConfig { runs: 600, seed };
        let keys: Vec<u64> = (0..n as u64).collect();
        let one = with_threads(1, || default_cascade(&net, &pd, &keys, &config));
        let two = with_threads(2, || default_cascade(&net, &pd, &keys, &config));
        prop_assert_eq!(&one, &two);
        for (f, &base) in pd.iter().enumerate() {
            prop_assert!(one.probability[f] >= base && one.low[f] <= one.probability[f] && one.probability[f] <= one.high[f]);
        }
    }

    #[test]
    fn guarantee_liabilities_match_per_node_search((n, raw) in network()) {
        let edges: Vec<(u32, u32, f64)> = raw.iter().map(|&(a, b, w)| (a, b, (w * 100.0).round())).collect();
        let g = Projection::from_edges(n as usize, &edges, false, true);
        let defaulted: Vec<bool> = (0..n).map(|v| v % 5 == 4).collect();
        let r = guarantee_network(&g, &defaulted);
        for v in 0..n {
            // Reach from v by depth-first search.
            let mut seen = vec![false; n as usize];
            let mut stack = vec![v];
            seen[v as usize] = true;
            while let Some(x) = stack.pop() {
                for &y in g.out_neighbors(x) {
                    if !seen[y as usize] {
                        seen[y as usize] = true;
                        stack.push(y);
                    }
                }
            }
            let transitive: f64 = edges.iter().filter(|e| seen[e.0 as usize]).map(|e| e.2).sum();
            prop_assert!((r.transitive_liability[v as usize] - transitive).abs() < 1e-6);
            let direct: f64 = edges.iter().filter(|e| e.0 == v).map(|e| e.2).sum();
            prop_assert!((r.direct_liability[v as usize] - direct).abs() < 1e-6);
            let exposed = (0..n).any(|w| w != v && seen[w as usize] && defaulted[w as usize]);
            prop_assert_eq!(r.exposed_to_default[v as usize], exposed);
            // In a circle exactly when some other node reaches v and v reaches it.
            let in_circle = (0..n).any(|w| w != v && seen[w as usize] && {
                let mut s2 = vec![false; n as usize];
                let mut st = vec![w];
                s2[w as usize] = true;
                while let Some(x) = st.pop() {
                    for &y in g.out_neighbors(x) {
                        if !s2[y as usize] { s2[y as usize] = true; st.push(y); }
                    }
                }
                s2[v as usize]
            });
            prop_assert_eq!(r.circle[v as usize] != u32::MAX, in_circle);
        }
    }
}
