//! Community detection's parameters: `ekg run louvain|leiden|lpa` flags and `score.toml`'s
//! `[communities]`.

use clap::Args;
use ekg_algorithms::community::louvain::{LouvainConfig, DEFAULT_RESOLUTION};
use ekg_algorithms::community::lpa::{LabelPropagationConfig, DEFAULT_ITERATIONS};
use serde::{Deserialize, Serialize};

/// How the risk network's communities are found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommunityAlgorithm {
    /// The fastest modularity method here (the default).
    Louvain,
    /// Connected communities; several times slower.
    Leiden,
    /// Graphalytics CDLP label propagation: parallel, no resolution.
    Lpa,
}

#[derive(Args, Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommunityArgs {
    /// score: louvain (the fastest), leiden (connected communities, slower) or lpa (Graphalytics
    /// CDLP); `ekg run` names the algorithm instead.
    #[arg(skip = CommunityAlgorithm::Louvain)]
    pub algorithm: CommunityAlgorithm,
    /// louvain, leiden: modularity resolution γ (larger: smaller communities).
    #[arg(long, default_value_t = DEFAULT_RESOLUTION)]
    pub resolution: f64,
    /// lpa: iteration limit of label propagation.
    #[arg(long, default_value_t = DEFAULT_ITERATIONS)]
    pub lpa_iterations: u32,
}

impl Default for CommunityArgs {
    fn default() -> Self {
        CommunityArgs { algorithm: CommunityAlgorithm::Louvain, resolution: DEFAULT_RESOLUTION, lpa_iterations: DEFAULT_ITERATIONS }
    }
}

impl CommunityArgs {
    pub fn validate(&self) -> Result<(), String> {
        if !(self.resolution > 0.0 && self.resolution.is_finite()) {
            return Err(format!("communities: resolution {} must be > 0", self.resolution));
        }
        Ok(())
    }

    /// Louvain's and Leiden's configuration with the job's seed.
    pub fn louvain(&self, seed: u64) -> LouvainConfig {
        LouvainConfig { resolution: self.resolution, seed, ..LouvainConfig::default() }
    }

    pub fn label_propagation(&self) -> LabelPropagationConfig {
        LabelPropagationConfig { max_iterations: self.lpa_iterations }
    }
}
