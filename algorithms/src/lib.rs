//! `ekg-algorithms`: pure, parallel graph algorithms over the ekg graph. No I/O, no CLI types.
//!
//! Every algorithm runs on a [`projection::Projection`] — the chosen relations of a graph,
//! directed or undirected, optionally weighted — takes a config with documented defaults and
//! returns a named result indexed by local node id. Results are deterministic for a given input
//! and config, whatever the thread count: float sums are reduced in fixed chunks (see
//! [`reduce`]), labels are canonical (minimum ids, ties to the smallest), and no result depends on
//! scheduling.
//!
//! | family | algorithms |
//! |---|---|
//! | [`centrality`] | PageRank, personalized (risk-seeded) PageRank |
//! | [`components`] | weakly and strongly connected components |
//! | [`community`] | label propagation (Graphalytics CDLP), Louvain, Leiden |
//! | [`structure`] | triangles and local clustering, core numbers |
//! | [`ownership`] | integrated ownership, UBOs, control chains and actual controllers, group customers, the owner's social capital and officer tenure |
//! | [`contagion`] | guarantee network, DebtRank, Monte Carlo default cascades |
//! | [`rings`] | shared-identifier rings, fund cycles, AML flow typologies (fans scored against chance), dense blocks (FRAUDAR), loan diversion, guarantee circles; cases merging the parts of one structure; all detectors behind one call |
//! | [`clusters`] | industrial clusters: same-region supply communities with their core, default rate and penetration |
//! | [`supply_chain`] | firms around core enterprises: upstream, downstream or cluster, with the chain |
//! | [`sme`] | firm size by China's 2011 SME classification standard |
//! | [`segments`] | behaviour segments from a year of monthly flows (deterministic k-means++) |
//! | [`continuity`] | night-to-night ids: tonight's communities and groups take last night's ids by member overlap |

pub mod centrality;
pub mod clusters;
pub mod community;
pub mod components;
pub mod contagion;
pub mod continuity;
pub mod hash;
pub mod locality;
pub mod ownership;
pub mod pool;
pub mod projection;
pub mod reduce;
pub mod rings;
pub mod segments;
pub mod sme;
pub mod structure;
pub mod supply_chain;

pub use projection::{Projection, ProjectionConfig, RISK_RELATIONS};

/// The seed of every randomised algorithm unless one is given (communities, cascades).
pub const DEFAULT_SEED: u64 = 42;

/// A small deterministic generator for unit tests' random graphs (an LCG's high bits).
#[cfg(test)]
pub(crate) fn test_rng(seed: u64) -> impl FnMut() -> u32 {
    let mut state = seed;
    move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) as u32
    }
}
