//! PageRank's parameters: `ekg run pagerank|ppr` flags and `score.toml`'s `[pagerank]`.

use clap::Args;
use ekg_algorithms::centrality::pagerank::{PageRankConfig, DEFAULT_DAMPING, DEFAULT_MAX_ITERATIONS, DEFAULT_TOLERANCE};
use serde::{Deserialize, Serialize};

#[derive(Args, Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PageRankArgs {
    /// pagerank, ppr: damping factor.
    #[arg(long, default_value_t = DEFAULT_DAMPING)]
    pub damping: f64,
    /// pagerank, ppr: iteration limit.
    #[arg(long = "max-iter", default_value_t = DEFAULT_MAX_ITERATIONS)]
    pub max_iterations: u32,
    /// pagerank, ppr: stops when the L1 change is below tolerance × nodes.
    #[arg(long, default_value_t = DEFAULT_TOLERANCE)]
    pub tolerance: f64,
}

impl Default for PageRankArgs {
    fn default() -> Self {
        PageRankArgs { damping: DEFAULT_DAMPING, max_iterations: DEFAULT_MAX_ITERATIONS, tolerance: DEFAULT_TOLERANCE }
    }
}

impl PageRankArgs {
    /// The algorithm's configuration, checked.
    pub fn config(&self) -> Result<PageRankConfig, String> {
        let config = PageRankConfig { damping: self.damping, max_iterations: self.max_iterations, tolerance: self.tolerance };
        config.validate().map_err(|e| format!("pagerank: {e}"))?;
        Ok(config)
    }
}
