//! Contagion: how default spreads between firms — the guarantee network, DebtRank and Monte Carlo
//! default cascades over the exposure (impact) network of guarantees, holdings and supply links.

pub mod cascade;
pub mod chain;
pub mod debtrank;
pub mod guarantees;
pub mod impact;

pub use cascade::{default_cascade, CascadeConfig, CascadeResult};
pub use chain::{Chain, ImpactSources, StrongestChains};
pub use debtrank::{debt_rank, debt_rank_by_channel, economic_weights, systemic_importance, DebtRankResult};
pub use guarantees::{guarantee_network, Circle, GuaranteeResult};
pub use impact::{Channel, ImpactConfig, ImpactNetwork};

/// Per firm (firms are ids `0..firms`): the probability of default contagion starts from. A firm
/// already in default defaults with certainty; an unknown pd counts as 0.
pub fn firm_pd(graph: &ekg_schema::Graph) -> Vec<f64> {
    let raw: &[f64] = &graph.firms.pd;
    (0..graph.kind_count(ekg_schema::NodeKind::Firm) as u32)
        .map(|f| {
            if graph.is_defaulted(ekg_schema::NodeId(f)) {
                1.0
            } else {
                raw.get(f as usize).copied().filter(|x| x.is_finite()).unwrap_or(0.0)
            }
        })
        .collect()
}

/// Contagion-inclusive over stand-alone default probability, NaN where the stand-alone one is 0.
pub fn cascade_lift(with_contagion: &[f64], pd: &[f64]) -> Vec<f64> {
    with_contagion.iter().zip(pd).map(|(&p, &base)| if base > 0.0 { p / base } else { f64::NAN }).collect()
}

/// The `k` of firms `0..firms` of largest exposure (unknown counts as 0; ties: smaller id),
/// largest first: the firms whose systemic importance DebtRank measures.
pub fn largest_exposures(exposure: &[f64], firms: usize, k: usize) -> Vec<u32> {
    let key = |f: u32| exposure.get(f as usize).copied().filter(|x| x.is_finite()).unwrap_or(0.0);
    let mut top: Vec<u32> = (0..firms as u32).collect();
    top.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
    top.truncate(k);
    top
}
