//! Ownership and group-customer parameters: `ekg run ownership|groups` flags and `score.toml`'s
//! `[ownership]` and `[groups]`.

use clap::Args;
use ekg_algorithms::ownership::control::{DEFAULT_EPSILON, DEFAULT_FALLBACK_MARGIN, DEFAULT_FALLBACK_THRESHOLD, DEFAULT_UBO_THRESHOLD};
use ekg_algorithms::ownership::{GroupLinks, OwnershipConfig};
use serde::{Deserialize, Serialize};

#[derive(Args, Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OwnershipArgs {
    /// ownership: residual ownership at or below this is not propagated further.
    #[arg(long, default_value_t = DEFAULT_EPSILON)]
    pub epsilon: f64,
    /// ownership: persons with at least this integrated ownership are beneficial owners.
    #[arg(long, default_value_t = DEFAULT_UBO_THRESHOLD)]
    pub ubo_threshold: f64,
    /// ownership: without majority control, the largest owner controls from this share (with
    /// control_margin).
    #[arg(long, default_value_t = DEFAULT_FALLBACK_THRESHOLD)]
    pub control_threshold: f64,
    /// ownership: without majority control, the largest owner must lead the next by this margin.
    #[arg(long, default_value_t = DEFAULT_FALLBACK_MARGIN)]
    pub control_margin: f64,
}

impl Default for OwnershipArgs {
    fn default() -> Self {
        OwnershipArgs {
            epsilon: DEFAULT_EPSILON,
            ubo_threshold: DEFAULT_UBO_THRESHOLD,
            control_threshold: DEFAULT_FALLBACK_THRESHOLD,
            control_margin: DEFAULT_FALLBACK_MARGIN,
        }
    }
}

impl OwnershipArgs {
    /// The algorithm's configuration, checked.
    pub fn config(&self) -> Result<OwnershipConfig, String> {
        let config = OwnershipConfig {
            epsilon: self.epsilon,
            ubo_threshold: self.ubo_threshold,
            fallback_threshold: self.control_threshold,
            fallback_margin: self.control_margin,
            ..OwnershipConfig::default()
        };
        config.validate().map_err(|e| format!("ownership: {e}"))?;
        Ok(config)
    }
}

#[derive(Args, Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GroupArgs {
    /// groups: also join firms that guarantee each other (`--join-guarantees=false` to leave
    /// them apart).
    #[arg(long, default_value_t = GroupLinks::default().mutual_guarantees, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub join_guarantees: bool,
    /// groups: also join firms with the same legal representative.
    #[arg(long, default_value_t = GroupLinks::default().legal_rep, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub join_legal_rep: bool,
}

impl Default for GroupArgs {
    fn default() -> Self {
        let links = GroupLinks::default();
        GroupArgs { join_guarantees: links.mutual_guarantees, join_legal_rep: links.legal_rep }
    }
}

impl GroupArgs {
    pub fn links(&self) -> GroupLinks {
        GroupLinks { mutual_guarantees: self.join_guarantees, legal_rep: self.join_legal_rep }
    }
}
