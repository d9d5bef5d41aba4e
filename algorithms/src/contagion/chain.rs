//! The evidence behind a contagion flag: the single chain of defaults that contributes most to a
//! firm's contagion-inclusive default probability.
//!
//! In the independent cascade of [`super::cascade`], a chain `s → … → f` brings `f` down with
//! probability `pd(s) × Π W` along it; the strongest chain maximises that product over chains of
//! at most `max_hops` impacts. Found by a best-first search backwards from `f` over the reversed
//! impact network (products only shrink, so the first time a node is settled its best product to
//! `f` is final, as in Dijkstra's algorithm on `−ln W`; where the hop bound binds, a node keeps
//! its strongest chain even if a weaker, shorter one could have reached further).
//!
//! # Complexity
//! O(v log v + e) for the v firms and e impacts settled, at most `max_visits` firms per target.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::ImpactNetwork;
use crate::hash::FastMap;

/// The impact network reversed: who hits each firm, and how hard.
pub struct ImpactSources {
    offsets: Vec<u64>,
    sources: Vec<u32>,
    weights: Vec<f64>,
}

impl ImpactSources {
    pub fn new(net: &ImpactNetwork) -> ImpactSources {
        let n = net.firms as usize;
        let mut counts = vec![0u64; n + 1];
        for &j in &net.targets {
            counts[j as usize + 1] += 1;
        }
        for k in 1..=n {
            counts[k] += counts[k - 1];
        }
        let mut next = counts.clone();
        let mut sources = vec![0u32; net.targets.len()];
        let mut weights = vec![0f64; net.targets.len()];
        for i in 0..net.firms {
            let (targets, ws, _) = net.impacts(i);
            for (&j, &w) in targets.iter().zip(ws) {
                let at = next[j as usize] as usize;
                sources[at] = i;
                weights[at] = w;
                next[j as usize] += 1;
            }
        }
        ImpactSources { offsets: counts, sources, weights }
    }

    fn hits(&self, j: u32) -> impl Iterator<Item = (u32, f64)> + '_ {
        let range = self.offsets[j as usize] as usize..self.offsets[j as usize + 1] as usize;
        self.sources[range.clone()].iter().copied().zip(self.weights[range].iter().copied())
    }
}

/// A chain and its contribution.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    /// From the firm whose own default starts it to the flagged firm.
    pub firms: Vec<u32>,
    /// `pd(first) × Π W` along the chain.
    pub contribution: f64,
}

#[derive(PartialEq)]
struct Entry {
    product: f64,
    hops: usize,
    firm: u32,
    /// The next firm towards the target.
    via: u32,
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Largest product first; ties by fewer hops, then smaller id (a total, deterministic order).
    fn cmp(&self, other: &Self) -> Ordering {
        self.product.total_cmp(&other.product).then(other.hops.cmp(&self.hops)).then(other.firm.cmp(&self.firm))
    }
}

/// The strongest chain into `target` of at most `max_hops` impacts, settling at most
/// `max_visits` firms; `None` when no firm with a positive pd reaches it.
pub fn strongest_chain(sources: &ImpactSources, pd: &[f64], target: u32, max_hops: usize, max_visits: usize) -> Option<Chain> {
    let p = |f: u32| pd.get(f as usize).copied().filter(|x| x.is_finite()).unwrap_or(0.0).clamp(0.0, 1.0);
    // firm → (product of W from it to the target, next firm towards the target)
    let mut settled: FastMap<u32, (f64, u32)> = FastMap::default();
    let mut best: Option<(f64, u32)> = None;
    let mut heap = BinaryHeap::from([Entry { product: 1.0, hops: 0, firm: target, via: u32::MAX }]);
    while let Some(Entry { product, hops, firm, via }) = heap.pop() {
        if settled.contains_key(&firm) {
            continue;
        }
        settled.insert(firm, (product, via));
        if firm != target {
            let contribution = p(firm) * product;
            if contribution > 0.0 && best.is_none_or(|(b, f)| contribution > b || (contribution == b && firm < f)) {
                best = Some((contribution, firm));
            }
        }
        // No chain through a weaker link can beat the best found: products only shrink.
        if best.is_some_and(|(b, _)| product <= b) || settled.len() >= max_visits || hops >= max_hops {
            continue;
        }
        for (source, w) in sources.hits(firm) {
            if source != target && !settled.contains_key(&source) {
                heap.push(Entry { product: product * w, hops: hops + 1, firm: source, via: firm });
            }
        }
    }
    let (contribution, start) = best?;
    let mut firms = vec![start];
    let mut at = start;
    while at != target {
        at = settled.get(&at)?.1;
        firms.push(at);
    }
    Some(Chain { firms, contribution })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strongest_chain_beats_a_likelier_start_with_weaker_links() {
        // 0 (pd 0.5) hits 2 with W 0.1; 1 (pd 0.2) hits 3 with W 0.9, which hits 2 with W 0.8.
        // Chains into 2: 0→2 gives 0.05, 1→3→2 gives 0.2 × 0.72 = 0.144, 3→2 alone 0.
        let net = ImpactNetwork::from_losses(4, vec![(0, 2, 10.0), (1, 3, 90.0), (3, 2, 80.0)], &[100.0; 4]);
        let pd = [0.5, 0.2, 0.0, 0.0];
        let chain = strongest_chain(&ImpactSources::new(&net), &pd, 2, 4, 100).expect("a chain");
        assert_eq!(chain.firms, vec![1, 3, 2]);
        assert!((chain.contribution - 0.144).abs() < 1e-12, "{}", chain.contribution);
        // Within one hop only the direct hit counts.
        let chain = strongest_chain(&ImpactSources::new(&net), &pd, 2, 1, 100).expect("a chain");
        assert_eq!(chain.firms, vec![0, 2]);
        // Nobody with a pd reaches firm 1.
        assert!(strongest_chain(&ImpactSources::new(&net), &pd, 1, 4, 100).is_none());
    }
}
