//! Behaviour segments: firms grouped by how money moves through their accounts over the twelve
//! months before the as-of instant, for segment-level default rates and each firm's deviation
//! from its segment.
//!
//! A firm's profile (its own and its accounts' transfers, in 30-day months counted back from the
//! as-of instant):
//! - `inflow_level`, `outflow_level`: ln(1 + mean monthly amount received / paid);
//! - `inflow_volatility`: coefficient of variation of the monthly amounts received;
//! - `seasonality`: ln(busiest month's flow / mean monthly flow), 0 for an even year;
//! - `concentration`: Herfindahl index of its payments over counterparties (of its receipts when
//!   it paid nothing), 1 for a single counterparty;
//! - `growth`: ln((1 + mean flow of the last 3 months) / (1 + mean flow of the 9 before)).
//!
//! Firms with no transfer in the year have no profile and no segment. The profiles are
//! standardised (z-scores), then k-means (Lloyd's iterations, see [`lloyd`], from a k-means++
//! start drawn with [`crate::hash::unit`] from the seed) groups them; segments are numbered by
//! size, 0 the largest (ties: by centroid value). Firms are taken in the order of their profiles'
//! values, so the same profiles and seed give the same segments whatever the firms' ids or input
//! order.
//!
//! # Complexity
//! Profiles O(transfers) in parallel over firms; k-means O(iterations × firms × k × 6) in
//! parallel over fixed blocks of firms whose sums are added in block order (deterministic for
//! any thread count).

use rayon::prelude::*;

use ekg_schema::{Graph, NodeId, NodeKind, Relation, MICROS_PER_DAY, TS_NULL};

pub const MONTHS: usize = 12;
pub const DIMENSIONS: [&str; 6] = ["inflow_level", "outflow_level", "inflow_volatility", "seasonality", "concentration", "growth"];
pub const DEFAULT_SEGMENTS: usize = 6;
pub const MAX_ITERATIONS: usize = 300;
/// Lloyd's iterations stop when the centroids move less than this share of the data's variance
/// (scikit-learn's default).
pub const TOLERANCE: f64 = 1e-4;

pub type Profile = [f64; 6];

/// Each firm's behaviour profile, None when it moved no money in the year before `as_of`.
/// `owner[account]` is the account's owner (see `ownership::account_owner`).
pub fn profiles(graph: &Graph, as_of: i64, owner: &[u32]) -> Vec<Option<Profile>> {
    let store = graph.relation(Relation::Transfer);
    let amount = store.f64_attr("amount").unwrap_or(&[]);
    let ts = store.attr("ts").and_then(|c| c.as_i64()).unwrap_or(&[]);
    let owners = graph.relation(Relation::AccountOwner);
    let month_of = |e: usize| -> Option<usize> {
        let t = ts.get(e).copied().filter(|&t| t != TS_NULL && t <= as_of)?;
        let m = ((as_of - t) / (30 * MICROS_PER_DAY)) as usize;
        (m < MONTHS).then_some(m)
    };
    let positive_amount = |e: usize| amount.get(e).copied().filter(|x| x.is_finite() && *x > 0.0).unwrap_or(0.0);
    let who = |v: u32| -> u32 { owner.get(v as usize).copied().filter(|&o| o != u32::MAX).unwrap_or(v) };
    graph
        .kind_range(NodeKind::Firm)
        .into_par_iter()
        .map_init(Vec::new, |payments: &mut Vec<(u32, f64)>, f| {
            // A firm's own transfers and its accounts'.
            let sources = || std::iter::once(f).chain(owners.forward.neighbor_ids(NodeId(f)).iter().copied());
            payments.clear();
            let (mut inflow, mut outflow) = ([0.0f64; MONTHS], [0.0f64; MONTHS]);
            for a in sources() {
                let a = NodeId(a);
                for (e, t) in store.forward.range(a).zip(store.forward.neighbor_ids(a)) {
                    if let Some(m) = month_of(e) {
                        let x = positive_amount(e);
                        outflow[m] += x;
                        payments.push((who(*t), x));
                    }
                }
            }
            // Receipts set the concentration only for a firm that paid nothing: the others skip
            // looking up their payers' owners (a random read each).
            let concentration_from_receipts = payments.is_empty();
            for a in sources() {
                let a = NodeId(a);
                for (i, s) in store.reverse.range(a).zip(store.reverse.neighbor_ids(a)) {
                    let e = store.reverse_edge[i] as usize;
                    // The time first: a receipt outside the year costs no read of its amount.
                    if let Some(m) = month_of(e) {
                        let x = positive_amount(e);
                        inflow[m] += x;
                        if concentration_from_receipts {
                            payments.push((who(*s), x));
                        }
                    }
                }
            }
            profile(&inflow, &outflow, payments)
        })
        .collect()
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// The profile of one firm's monthly flows and (counterparty, amount) payments (its receipts
/// when it paid nothing).
fn profile(inflow: &[f64; MONTHS], outflow: &[f64; MONTHS], payments: &mut [(u32, f64)]) -> Option<Profile> {
    let flow: Vec<f64> = inflow.iter().zip(outflow).map(|(a, b)| a + b).collect();
    let mean_flow = mean(&flow);
    if mean_flow <= 0.0 {
        return None;
    }
    let mean_in = mean(inflow);
    let volatility =
        if mean_in > 0.0 { (inflow.iter().map(|x| (x - mean_in).powi(2)).sum::<f64>() / MONTHS as f64).sqrt() / mean_in } else { 0.0 };
    let busiest = flow.iter().copied().fold(0.0, f64::max);
    payments.sort_by_key(|p| p.0);
    let total: f64 = payments.iter().map(|p| p.1).sum();
    let mut hhi = 0.0;
    let mut k = 0;
    while k < payments.len() {
        let mut x = 0.0;
        let c = payments[k].0;
        while k < payments.len() && payments[k].0 == c {
            x += payments[k].1;
            k += 1;
        }
        if total > 0.0 {
            hhi += (x / total).powi(2);
        }
    }
    // Month 0 is the most recent.
    let growth = ((1.0 + mean(&flow[..3])) / (1.0 + mean(&flow[3..]))).ln();
    Some([mean_in.ln_1p(), mean(outflow).ln_1p(), volatility, (busiest / mean_flow).ln(), hhi, growth])
}

#[derive(Clone, Debug, PartialEq)]
pub struct Segments {
    /// Per input row: its segment, None where the row had no profile.
    pub segment: Vec<Option<u32>>,
    /// Per segment: its centroid in standardised units, and its size.
    pub centroids: Vec<Profile>,
    pub sizes: Vec<u32>,
    /// Per input row: distance to its segment's centroid in standardised units (NaN without one).
    pub deviation: Vec<f64>,
    pub iterations: usize,
}

/// Profiles in a total order of their values (rows with equal profiles are interchangeable).
fn by_value(a: &Profile, b: &Profile) -> std::cmp::Ordering {
    a.iter().zip(b).map(|(x, y)| x.total_cmp(y)).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal)
}

/// k-means over the rows that have a profile, at most `k` segments.
pub fn segment(profiles: &[Option<Profile>], k: usize, seed: u64) -> Segments {
    // Work in the order of the profiles' values, not of the rows: every sum, the k-means++ draws
    // and the numbering are then the same whatever the firms' ids or input order.
    let mut rows: Vec<(usize, Profile)> = profiles.iter().enumerate().filter_map(|(i, p)| p.map(|p| (i, p))).collect();
    rows.par_sort_by(|a, b| by_value(&a.1, &b.1).then(a.0.cmp(&b.0)));
    let n = profiles.len();
    if rows.is_empty() || k == 0 {
        return Segments { segment: vec![None; n], centroids: Vec::new(), sizes: Vec::new(), deviation: vec![f64::NAN; n], iterations: 0 };
    }
    // Standardise each dimension (a constant one contributes nothing).
    let mut centre = [0.0; 6];
    let mut scale = [0.0; 6];
    for d in 0..6 {
        let m = rows.iter().map(|r| r.1[d]).sum::<f64>() / rows.len() as f64;
        let sd = (rows.iter().map(|r| (r.1[d] - m).powi(2)).sum::<f64>() / rows.len() as f64).sqrt();
        centre[d] = m;
        scale[d] = if sd > 0.0 { sd } else { 1.0 };
    }
    let points: Vec<Profile> = rows.iter().map(|r| std::array::from_fn(|d| (r.1[d] - centre[d]) / scale[d])).collect();
    let start = plus_plus(&points, k.min(points.len()), seed);
    let Lloyd { assignment, centroids, iterations } = lloyd(&points, start, TOLERANCE);
    // Number by size (0 = largest), ties by centroid value; empty segments dropped.
    let mut sizes = vec![0u32; centroids.len()];
    for &c in &assignment {
        sizes[c as usize] += 1;
    }
    let mut order: Vec<usize> = (0..centroids.len()).filter(|&c| sizes[c] > 0).collect();
    order.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(by_value(&centroids[a], &centroids[b])));
    let mut rank = vec![u32::MAX; centroids.len()];
    for (r, &c) in order.iter().enumerate() {
        rank[c] = r as u32;
    }
    let mut segment = vec![None; n];
    let mut deviation = vec![f64::NAN; n];
    for ((row, _), (p, &c)) in rows.iter().zip(points.iter().zip(&assignment)) {
        segment[*row] = Some(rank[c as usize]);
        deviation[*row] = distance(p, &centroids[c as usize]).sqrt();
    }
    Segments {
        segment,
        centroids: order.iter().map(|&c| centroids[c]).collect(),
        sizes: order.iter().map(|&c| sizes[c]).collect(),
        deviation,
        iterations,
    }
}

/// Points per block of the assignment pass: each block's centroid sums are added in block order,
/// so the sums (and the segments) do not depend on the thread count.
const BLOCK: usize = 8192;

/// The outcome of Lloyd's iterations.
#[derive(Clone, Debug, PartialEq)]
pub struct Lloyd {
    /// Per point: its nearest final centroid.
    pub assignment: Vec<u32>,
    pub centroids: Vec<Profile>,
    pub iterations: usize,
}

/// Lloyd's k-means iterations from `start`, scikit-learn's rule for stopping: when no point
/// changes centroid, or when the centroids' total squared shift in an iteration is at most
/// `tolerance` × the points' mean variance per dimension, or after [`MAX_ITERATIONS`]. Points are
/// then assigned to the final centroids. A centroid that loses every point stays where it was.
///
/// Millions of firms never settle exactly (a few near a boundary keep flipping while the
/// centroids move by 1e-7), so the tolerance, not the strict rule, ends a national run.
pub fn lloyd(points: &[Profile], start: Vec<Profile>, tolerance: f64) -> Lloyd {
    let mut centroids = start;
    let k = centroids.len();
    let threshold = tolerance * mean_variance(points);
    let mut assignment = vec![u32::MAX; points.len()];
    let mut iterations = 0;
    loop {
        iterations += 1;
        // Assign and sum in one pass over the points, per block in parallel.
        let blocks: Vec<(Vec<Profile>, Vec<u32>, bool)> = points
            .par_chunks(BLOCK)
            .zip(assignment.par_chunks_mut(BLOCK))
            .map(|(points, assigned)| {
                let mut sums = vec![[0.0; 6]; k];
                let mut counts = vec![0u32; k];
                let mut changed = false;
                for (p, a) in points.iter().zip(assigned) {
                    let c = nearest(p, &centroids).0;
                    changed |= *a != c;
                    *a = c;
                    counts[c as usize] += 1;
                    for (sum, x) in sums[c as usize].iter_mut().zip(p) {
                        *sum += x;
                    }
                }
                (sums, counts, changed)
            })
            .collect();
        let mut sums = vec![[0.0; 6]; k];
        let mut counts = vec![0u32; k];
        let mut changed = false;
        for (block_sums, block_counts, block_changed) in &blocks {
            changed |= block_changed;
            for c in 0..k {
                counts[c] += block_counts[c];
                for d in 0..6 {
                    sums[c][d] += block_sums[c][d];
                }
            }
        }
        if !changed {
            // The centroids are the means of an assignment that no longer moves.
            break;
        }
        let mut shift = 0.0;
        for (c, (sum, &count)) in sums.iter().zip(&counts).enumerate() {
            if count > 0 {
                let moved = sum.map(|x| x / count as f64);
                shift += distance(&moved, &centroids[c]);
                centroids[c] = moved;
            }
        }
        if shift <= threshold || iterations >= MAX_ITERATIONS {
            assignment.par_iter_mut().zip(points).for_each(|(a, p)| *a = nearest(p, &centroids).0);
            break;
        }
    }
    Lloyd { assignment, centroids, iterations }
}

/// The mean over dimensions of the points' variance.
fn mean_variance(points: &[Profile]) -> f64 {
    if points.is_empty() {
        return 0.0;
    }
    let n = points.len() as f64;
    (0..6)
        .map(|d| {
            let m = points.iter().map(|p| p[d]).sum::<f64>() / n;
            points.iter().map(|p| (p[d] - m).powi(2)).sum::<f64>() / n
        })
        .sum::<f64>()
        / 6.0
}

fn distance(a: &Profile, b: &Profile) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum()
}

fn nearest(p: &Profile, centroids: &[Profile]) -> (u32, f64) {
    let mut best = (0u32, f64::INFINITY);
    for (c, centroid) in centroids.iter().enumerate() {
        let d = distance(p, centroid);
        if d < best.1 {
            best = (c as u32, d);
        }
    }
    best
}

/// k-means++ (Arthur and Vassilvitskii 2007): each next centre drawn with probability
/// proportional to the squared distance to the nearest centre so far.
fn plus_plus(points: &[Profile], k: usize, seed: u64) -> Vec<Profile> {
    let first = (crate::hash::unit(seed, 7, 0, 0) * points.len() as f64) as usize;
    let mut centroids = vec![points[first.min(points.len() - 1)]];
    let mut d2: Vec<f64> = points.iter().map(|p| distance(p, &centroids[0])).collect();
    for c in 1..k {
        let total: f64 = d2.iter().sum();
        if total <= 0.0 {
            break;
        }
        let mut target = crate::hash::unit(seed, 7, c as u64, 0) * total;
        let mut pick = points.len() - 1;
        for (i, &d) in d2.iter().enumerate() {
            if target < d {
                pick = i;
                break;
            }
            target -= d;
        }
        centroids.push(points[pick]);
        for (i, p) in points.iter().enumerate() {
            d2[i] = d2[i].min(distance(p, &centroids[c]));
        }
    }
    centroids
}

/// Per segment, the share of its firms (rows with `defaulted`) that defaulted.
/// Per row: the default rate of the rest of its segment (leave-one-out, so a firm's own label
/// never feeds its own feature); NaN without a segment or when it is alone in it.
pub fn default_rates(segments: &Segments, defaulted: &[bool]) -> Vec<f64> {
    let mut bad = vec![0u32; segments.sizes.len()];
    for (s, &d) in segments.segment.iter().zip(defaulted) {
        if let (Some(s), true) = (s, d) {
            bad[*s as usize] += 1;
        }
    }
    segments
        .segment
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let Some(s) = s else { return f64::NAN };
            let own = u32::from(defaulted.get(i).copied().unwrap_or(false));
            let others = segments.sizes[*s as usize] - 1;
            if others == 0 {
                f64::NAN
            } else {
                f64::from(bad[*s as usize] - own) / f64::from(others)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(level: f64, volatility: f64) -> Option<Profile> {
        Some([level, level, volatility, 0.1, 0.5, 0.0])
    }

    #[test]
    fn separated_groups_are_found_whatever_the_seed() {
        // Three tight groups of different sizes and one firm without activity.
        let mut profiles = Vec::new();
        for i in 0..30 {
            profiles.push(point(10.0 + (i % 3) as f64 * 0.01, 0.2));
        }
        for i in 0..20 {
            profiles.push(point(5.0 + (i % 2) as f64 * 0.01, 1.5));
        }
        for _ in 0..10 {
            profiles.push(point(15.0, 3.0));
        }
        profiles.push(None);
        for seed in [1, 2, 42] {
            let s = segment(&profiles, 3, seed);
            assert_eq!(s.sizes, vec![30, 20, 10], "seed {seed}");
            assert!(s.segment[..30].iter().all(|&x| x == Some(0)));
            assert!(s.segment[30..50].iter().all(|&x| x == Some(1)));
            assert!(s.segment[50..60].iter().all(|&x| x == Some(2)));
            assert_eq!(s.segment[60], None);
            assert!(s.deviation[60].is_nan() && s.deviation[..60].iter().all(|d| *d < 0.1));
        }
        let defaulted: Vec<bool> = (0..61).map(|i| i < 3 || i == 59).collect();
        let rates = default_rates(&segment(&profiles, 3, 1), &defaulted);
        // Segment 0 has 3 defaults in 30: a defaulted member sees 2 of the other 29.
        assert_eq!(rates[0], 2.0 / 29.0);
        assert_eq!(rates[3], 3.0 / 29.0);
        assert_eq!(rates[30], 0.0);
        assert_eq!(rates[59], 0.0);
        assert_eq!(rates[50], 1.0 / 9.0);
        assert!(rates[60].is_nan());
    }

    #[test]
    fn reordering_the_firms_moves_no_firm_between_segments() {
        let mut profiles = Vec::new();
        // Two segments of equal size: their numbers must not depend on which occurs first.
        for i in 0..40 {
            profiles.push(point(4.0 + (i % 4) as f64 * 0.02, 0.3 + (i % 3) as f64 * 0.01));
            profiles.push(point(12.0 + (i % 5) as f64 * 0.02, 2.0));
        }
        profiles.push(None);
        let original = segment(&profiles, 2, 7);
        assert_eq!(original.sizes, vec![40, 40]);
        // A fixed permutation (a stride coprime with the length), and the reverse, in which the
        // other segment occurs first.
        let n = profiles.len();
        let stride: Vec<usize> = (0..n).map(|i| (i * 37 + 11) % n).collect();
        let reverse: Vec<usize> = (0..n).rev().collect();
        for order in [stride, reverse] {
            let moved = segment(&order.iter().map(|&i| profiles[i]).collect::<Vec<_>>(), 2, 7);
            for (k, &i) in order.iter().enumerate() {
                assert_eq!(moved.segment[k], original.segment[i], "row {i}");
                assert_eq!(moved.deviation[k].to_bits(), original.deviation[i].to_bits(), "row {i}");
            }
            assert_eq!(moved.sizes, original.sizes);
        }
    }

    #[test]
    fn the_thread_count_changes_nothing() {
        // Several blocks of overlapping profiles, so the block sums are combined across threads.
        let profiles: Vec<Option<Profile>> = (0..5 * BLOCK as u64)
            .map(|i| Some(std::array::from_fn(|d| crate::hash::unit(11, i, d as u64, 0) * (1.0 + (i % 3) as f64))))
            .collect();
        let on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
            pool.install(|| segment(&profiles, 6, 3))
        };
        let one = on(1);
        assert!(one.iterations > 2, "{} iterations", one.iterations);
        for threads in [2, 3] {
            let other = on(threads);
            assert_eq!(other.segment, one.segment, "{threads} threads");
            let bits = |s: &Segments| s.deviation.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&other), bits(&one), "{threads} threads");
            assert_eq!(other.iterations, one.iterations);
        }
    }

    #[test]
    fn a_profile_by_hand() {
        // 1,200 received evenly, 600 paid in the latest month to one counterparty.
        let inflow = [100.0; MONTHS];
        let mut outflow = [0.0; MONTHS];
        outflow[0] = 600.0;
        let p = profile(&inflow, &outflow, &mut [(7, 600.0)]).expect("active");
        assert!((p[0] - 101f64.ln()).abs() < 1e-12);
        assert!((p[1] - 51f64.ln()).abs() < 1e-12);
        assert_eq!(p[2], 0.0);
        assert!((p[3] - (700.0 / 150.0f64).ln()).abs() < 1e-12);
        assert_eq!(p[4], 1.0);
        assert!((p[5] - ((1.0 + 300.0) / 101.0f64).ln()).abs() < 1e-12);
        assert_eq!(profile(&[0.0; MONTHS], &[0.0; MONTHS], &mut []), None);
    }
}
