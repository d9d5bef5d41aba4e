//! Contagion parameters: `ekg run debtrank|cascade` flags and `score.toml`'s `[contagion]`.

use clap::Args;
use ekg_algorithms::contagion::cascade::DEFAULT_RUNS;
use ekg_algorithms::contagion::debtrank::DEFAULT_TOP_K;
use ekg_algorithms::contagion::impact::{DEFAULT_SUPPLY_DISRUPTION_RATE, DEFAULT_SUPPLY_LOSS_RATE};
use ekg_algorithms::contagion::{CascadeConfig, ImpactConfig};
use serde::{Deserialize, Serialize};

#[derive(Args, Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContagionArgs {
    /// debtrank, cascade: share of supply volume a supplier loses when its customer defaults.
    #[arg(long, default_value_t = DEFAULT_SUPPLY_LOSS_RATE)]
    pub supply_loss_rate: f64,
    /// debtrank, cascade: share of its capital a customer loses when a supplier it depends on
    /// entirely fails (times its dependence share).
    #[arg(long, default_value_t = DEFAULT_SUPPLY_DISRUPTION_RATE)]
    pub supply_disruption_rate: f64,
    /// cascade: Monte Carlo runs.
    #[arg(long, default_value_t = DEFAULT_RUNS)]
    pub runs: u32,
    /// debtrank: systemic importance for this many firms, largest exposure first.
    #[arg(long, default_value_t = DEFAULT_TOP_K)]
    pub top_k: usize,
}

impl Default for ContagionArgs {
    fn default() -> Self {
        ContagionArgs {
            supply_loss_rate: DEFAULT_SUPPLY_LOSS_RATE,
            supply_disruption_rate: DEFAULT_SUPPLY_DISRUPTION_RATE,
            runs: DEFAULT_RUNS,
            top_k: DEFAULT_TOP_K,
        }
    }
}

impl ContagionArgs {
    pub fn validate(&self) -> Result<(), String> {
        for (name, x) in [("supply_loss_rate", self.supply_loss_rate), ("supply_disruption_rate", self.supply_disruption_rate)] {
            if !(0.0..=1.0).contains(&x) {
                return Err(format!("contagion: {name} {x} must be in [0, 1]"));
            }
        }
        if self.runs == 0 || self.runs == u32::MAX {
            return Err("contagion: runs must be between 1 and 4294967294".into());
        }
        Ok(())
    }

    /// The impact network's loss rates (its relations are the caller's).
    pub fn impact(&self) -> ImpactConfig {
        ImpactConfig {
            supply_loss_rate: self.supply_loss_rate,
            supply_disruption_rate: self.supply_disruption_rate,
            ..ImpactConfig::default()
        }
    }

    pub fn cascade(&self, seed: u64) -> CascadeConfig {
        CascadeConfig { runs: self.runs, seed }
    }
}
