//! Ownership and control against closed forms: hand-built chains, cycles and ties, and integrated
//! ownership against the matrix solution `T = S_pf (I − S_ff)^-1` by Gaussian elimination.

use ekg_algorithms::ownership::{ownership, ControlBasis, HoldingNetwork, OwnershipConfig, OwnershipResult, NONE};
use proptest::prelude::*;

fn run(firms: u32, edges: &[(u32, u32, f64)]) -> OwnershipResult {
    ownership(&HoldingNetwork::from_edges(firms, edges), &OwnershipConfig::default())
}

fn path(r: &OwnershipResult, f: usize) -> Vec<u32> {
    r.control_paths.get(f).to_vec()
}

#[test]
fn pyramid_chain_ubos_and_controller() {
    // Firms 0 (A), 1 (B); persons 10 (P), 11 (Q). P 60% A; A 70% B; Q 30% B.
    let r = run(2, &[(10, 0, 0.6), (0, 1, 0.7), (11, 1, 0.3)]);
    assert_eq!(r.ubo_count, vec![1, 2]);
    assert_eq!(r.top_ubo, vec![10, 10]);
    assert!((r.top_ubo_share[1] - 0.42).abs() < 1e-12);
    assert_eq!(r.controller, vec![10, 10]);
    assert_eq!(r.basis, vec![ControlBasis::Majority, ControlBasis::Majority]);
    assert_eq!(path(&r, 1), vec![10, 0, 1]);
    // The UBO table: B's owners P (0.42, via A) and Q (0.30, direct), largest first.
    let rows: Vec<(u32, u32, f64)> = (0..r.ubos.firm.len()).map(|i| (r.ubos.firm[i], r.ubos.person[i], r.ubos.share[i])).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!((rows[1].0, rows[1].1), (1, 10));
    assert_eq!((rows[2].0, rows[2].1), (1, 11));
    assert_eq!(r.ubos.paths.get(1), &[10, 0, 1]);
    assert_eq!(r.ubos.paths.get(2), &[11, 1]);
}

#[test]
fn control_adds_direct_and_controlled_holdings() {
    // P holds 30% of C directly and 60% of A, which holds 30% of C: P controls C with 60%.
    let r = run(2, &[(10, 0, 0.6), (10, 1, 0.3), (0, 1, 0.3), (11, 1, 0.4)]);
    assert_eq!(r.controller[1], 10);
    assert_eq!(r.basis[1], ControlBasis::Majority);
    // Tied 30% holders: the path goes through the firm (A sorts before P by share, then id).
    assert_eq!(path(&r, 1), vec![10, 0, 1]);
}

#[test]
fn no_majority_and_no_clear_leader_means_no_controller() {
    let r = run(1, &[(10, 0, 0.40), (11, 0, 0.35), (12, 0, 0.25)]);
    assert_eq!(r.controller[0], NONE);
    assert_eq!(r.basis[0], ControlBasis::None);
    assert_eq!(r.ubo_count[0], 3);
    // A clear leader without majority is the controller as largest owner.
    let r = run(1, &[(10, 0, 0.45), (11, 0, 0.20), (12, 0, 0.20)]);
    assert_eq!((r.controller[0], r.basis[0]), (10, ControlBasis::LargestOwner));
    assert_eq!(path(&r, 0), vec![10, 0]);
}

#[test]
fn mutual_majority_is_circular_control_with_the_largest_owner_as_controller() {
    // A (0) and B (1) hold 60% of each other; P (10) 40% of A, Q (11) 40% of B.
    let r = run(2, &[(1, 0, 0.6), (0, 1, 0.6), (10, 0, 0.4), (11, 1, 0.4)]);
    assert_eq!(r.circular_control, vec![0, 1]);
    // Integrated: P in A = 0.4 / (1 − 0.36) = 0.625; Q in A = 0.4 · 0.6 / 0.64 = 0.375.
    assert!((r.top_ubo_share[0] - 0.625).abs() < 1e-6);
    assert_eq!((r.controller[0], r.basis[0]), (10, ControlBasis::LargestOwner));
    assert_eq!((r.controller[1], r.basis[1]), (11, ControlBasis::LargestOwner));
    assert!(r.closed_cycles.is_empty());
}

#[test]
fn a_closed_cycle_is_reported_not_looped_on() {
    // A and B hold all of each other; C is 80% held by A and 20% by P.
    let r = run(3, &[(1, 0, 1.0), (0, 1, 1.0), (0, 2, 0.8), (10, 2, 0.2)]);
    assert_eq!(r.closed_cycles, vec![vec![0, 1]]);
    assert!(r.unconverged.is_empty());
    assert_eq!(r.ubo_count, vec![0, 0, 0]);
    // C is controlled by A (80%); A's control is circular or closed: the top of C's chain is A.
    assert_eq!(r.chain_top[2], 0);
    assert_eq!(r.controller[2], 0);
}

#[test]
fn a_long_chain_is_one_pass_and_keeps_its_path() {
    let n = 50_000u32;
    let person = n + 1;
    let mut edges = vec![(person, 0, 0.9)];
    edges.extend((1..n).map(|f| (f - 1, f, 0.9)));
    let r = run(n, &edges);
    assert_eq!(r.controller[(n - 1) as usize], person);
    let long = r.control_paths.get((n - 1) as usize);
    assert_eq!(long.len(), 2 + ekg_algorithms::ownership::control::MAX_PATH_HOPS);
    assert_eq!((long[0], long[1], long[long.len() - 1]), (person, NONE, n - 1));
    assert_eq!(r.control_paths.get(5), &[person, 0, 1, 2, 3, 4, 5]);
    // 0.9^k falls below the UBO threshold after 13 levels.
    assert_eq!(r.ubo_count[12], 1);
    assert_eq!(r.ubo_count[13], 0);
}

/// T[p][f] for persons p by solving (I − S_ffᵀ) X = S_pfᵀ column by column.
fn reference(firms: usize, persons: usize, edges: &[(u32, u32, f64)]) -> Vec<Vec<f64>> {
    // a[f][g] = S[g][f] (share of f held by firm g); b[f][p] = S[p][f].
    let mut a = vec![vec![0.0; firms]; firms];
    let mut b = vec![vec![0.0; persons]; firms];
    for &(h, f, s) in edges {
        if (h as usize) < firms {
            a[f as usize][h as usize] += s;
        } else {
            b[f as usize][h as usize - firms] += s;
        }
    }
    // x_f = b_f + Σ_g a[f][g]... integrated ownership of p in f: T[p][f] = S[p][f] + Σ_g T[p][g] S[g][f].
    // So for each p: (I − Aᵀ... ) solve t = b_p + A t with A[f][g] = S[g][f].
    let mut m = vec![vec![0.0; firms + persons]; firms];
    for f in 0..firms {
        for g in 0..firms {
            m[f][g] = if f == g { 1.0 } else { 0.0 } - a[f][g];
        }
        for p in 0..persons {
            m[f][firms + p] = b[f][p];
        }
    }
    // Gauss–Jordan with partial pivoting.
    for col in 0..firms {
        let pivot = (col..firms).max_by(|&i, &j| m[i][col].abs().total_cmp(&m[j][col].abs())).unwrap_or(col);
        m.swap(col, pivot);
        let d = m[col][col];
        for x in m[col].iter_mut() {
            *x /= d;
        }
        for r in 0..firms {
            if r != col {
                let factor = m[r][col];
                if factor != 0.0 {
                    let pivot_row = m[col].clone();
                    for (x, y) in m[r].iter_mut().zip(&pivot_row) {
                        *x -= factor * y;
                    }
                }
            }
        }
    }
    (0..persons).map(|p| (0..firms).map(|f| m[f][firms + p]).collect()).collect()
}

fn holdings() -> impl Strategy<Value = (usize, usize, Vec<(u32, u32, f64)>)> {
    (2usize..7, 1usize..4).prop_flat_map(|(firms, persons)| {
        let edge = (0..(firms + persons) as u32, 0..firms as u32, 0.05f64..1.0);
        (Just(firms), Just(persons), proptest::collection::vec(edge, 1..20))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn integrated_ownership_matches_the_matrix_solution((firms, persons, raw) in holdings()) {
        // Scale each firm's holders to sum to at most 0.95, so (I − S_ff) is invertible.
        let mut sums = vec![0.0; firms];
        for &(_, f, s) in &raw {
            sums[f as usize] += s;
        }
        let edges: Vec<(u32, u32, f64)> =
            raw.iter().map(|&(h, f, s)| (h, f, s * 0.95 / sums[f as usize].max(0.95))).collect();
        let config = OwnershipConfig { epsilon: 1e-12, ubo_threshold: 1e-9, ..OwnershipConfig::default() };
        let r = ownership(&HoldingNetwork::from_edges(firms as u32, &edges), &config);
        let t = reference(firms, persons, &edges);
        for f in 0..firms {
            let mut total = 0.0;
            for (p, by_firm) in t.iter().enumerate().take(persons) {
                let expected = by_firm[f];
                let got: f64 = (0..r.ubos.firm.len())
                    .filter(|&i| r.ubos.firm[i] as usize == f && r.ubos.person[i] as usize == firms + p)
                    .map(|i| r.ubos.share[i])
                    .sum();
                prop_assert!((got - expected).abs() < 1e-7, "firm {f} person {p}: {got} vs {expected}");
                total += got;
            }
            // Integrated ownership over ultimate owners never exceeds the whole firm.
            prop_assert!(total <= 1.0 + 1e-9);
        }
    }
}
