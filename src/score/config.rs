//! `score.toml`: which analyses the nightly job runs and with what parameters. Every field has a
//! default (the same as the matching `ekg run` flag); unknown keys are errors, so a typo cannot
//! silently fall back to a default. The resolved configuration goes into the manifest.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::exit::{coded, USAGE};
use crate::params::rings::RingArgs;

/// The analyses, in dependency order.
pub const ANALYSES: [&str; 11] =
    ["pagerank", "ppr", "components", "communities", "structure", "ownership", "groups", "guarantees", "debtrank", "cascade", "rings"];

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoreConfig {
    /// Analyses to run (default: all); features of the others are null.
    pub analyses: Vec<String>,
    /// Seed for every randomised stage (communities, cascades).
    pub seed: u64,
    pub pagerank: PageRankSection,
    pub communities: CommunitySection,
    pub ownership: OwnershipSection,
    pub groups: GroupSection,
    pub contagion: ContagionSection,
    /// The ring detectors' parameters, as `ekg run rings` takes them.
    pub rings: RingArgs,
    pub flags: FlagSection,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PageRankSection {
    pub damping: f64,
    pub max_iterations: u32,
    pub tolerance: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommunitySection {
    /// louvain (default: the fastest modularity method here), leiden (connected communities,
    /// several times slower) or lpa (Graphalytics CDLP, parallel, no resolution).
    pub algorithm: String,
    pub resolution: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OwnershipSection {
    pub epsilon: f64,
    pub ubo_threshold: f64,
    pub control_threshold: f64,
    pub control_margin: f64,
}

impl OwnershipSection {
    pub fn config(&self) -> ekg_algorithms::ownership::OwnershipConfig {
        ekg_algorithms::ownership::OwnershipConfig {
            epsilon: self.epsilon,
            ubo_threshold: self.ubo_threshold,
            fallback_threshold: self.control_threshold,
            fallback_margin: self.control_margin,
            ..Default::default()
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GroupSection {
    pub join_guarantees: bool,
    pub join_legal_rep: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContagionSection {
    pub supply_loss_rate: f64,
    pub runs: u32,
    pub top_k: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FlagSection {
    /// Contagion flag: cascade lift at least this ...
    pub contagion_lift: f64,
    /// ... and contagion-inclusive default probability at least this.
    pub contagion_probability: f64,
    /// Controller flag: controls at least this many defaulted firms.
    pub defaulted_controlled: u32,
    /// Ring flags: a ring flags its members only from this score (by kind; scores are
    /// comparable within a kind); see `cases::default_min_ring_score`.
    pub min_ring_score: std::collections::BTreeMap<String, f64>,
    /// Cases a team reviews a day, per lead kind: the first this many of each kind's queue are
    /// marked `in_capacity` in cases.parquet.
    pub review_capacity: usize,
}

impl Default for ScoreConfig {
    fn default() -> Self {
        ScoreConfig {
            analyses: ANALYSES.iter().map(|s| s.to_string()).collect(),
            seed: 42,
            pagerank: PageRankSection::default(),
            communities: CommunitySection::default(),
            ownership: OwnershipSection::default(),
            groups: GroupSection::default(),
            contagion: ContagionSection::default(),
            rings: RingArgs::default(),
            flags: FlagSection::default(),
        }
    }
}

impl Default for PageRankSection {
    fn default() -> Self {
        use ekg_algorithms::centrality::pagerank as pr;
        PageRankSection { damping: pr::DEFAULT_DAMPING, max_iterations: pr::DEFAULT_MAX_ITERATIONS, tolerance: pr::DEFAULT_TOLERANCE }
    }
}

impl Default for CommunitySection {
    fn default() -> Self {
        CommunitySection { algorithm: "louvain".into(), resolution: ekg_algorithms::community::louvain::DEFAULT_RESOLUTION }
    }
}

impl Default for OwnershipSection {
    fn default() -> Self {
        use ekg_algorithms::ownership::control as c;
        OwnershipSection {
            epsilon: c::DEFAULT_EPSILON,
            ubo_threshold: c::DEFAULT_UBO_THRESHOLD,
            control_threshold: c::DEFAULT_FALLBACK_THRESHOLD,
            control_margin: c::DEFAULT_FALLBACK_MARGIN,
        }
    }
}

impl Default for GroupSection {
    fn default() -> Self {
        GroupSection { join_guarantees: true, join_legal_rep: false }
    }
}

impl Default for ContagionSection {
    fn default() -> Self {
        ContagionSection {
            supply_loss_rate: ekg_algorithms::contagion::impact::DEFAULT_SUPPLY_LOSS_RATE,
            runs: ekg_algorithms::contagion::cascade::DEFAULT_RUNS,
            top_k: 100,
        }
    }
}

impl Default for FlagSection {
    fn default() -> Self {
        let min_ring_score = crate::cases::default_min_ring_score();
        FlagSection {
            contagion_lift: 2.0,
            contagion_probability: 0.1,
            defaulted_controlled: 2,
            min_ring_score,
            review_capacity: crate::cases::DEFAULT_CAPACITY,
        }
    }
}

impl ScoreConfig {
    pub fn load(path: Option<&Path>) -> Result<ScoreConfig> {
        let config = match path {
            None => ScoreConfig::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config {}", path.display()))?;
                toml::from_str(&text).map_err(|e| coded(USAGE, format!("{}: {e}", path.display())))?
            }
        };
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<()> {
        for a in &self.analyses {
            if !ANALYSES.contains(&a.as_str()) {
                return Err(coded(USAGE, format!("config: unknown analysis '{a}' (known: {})", ANALYSES.join(", "))));
            }
        }
        if !["louvain", "leiden", "lpa"].contains(&self.communities.algorithm.as_str()) {
            return Err(coded(
                USAGE,
                format!("config: communities.algorithm '{}' (known: louvain, leiden, lpa)", self.communities.algorithm),
            ));
        }
        for kind in self.flags.min_ring_score.keys() {
            if ekg_algorithms::rings::RingKind::parse(kind).is_none() {
                return Err(coded(USAGE, format!("config: flags.min_ring_score: unknown ring kind '{kind}'")));
            }
        }
        self.rings.validate().map_err(|e| coded(USAGE, format!("config: {e}")))?;
        self.ownership.config().validate().map_err(|e| coded(USAGE, format!("config: {e}")))?;
        let unit = |name: &str, x: f64| -> Result<()> {
            if (0.0..=1.0).contains(&x) {
                Ok(())
            } else {
                Err(coded(USAGE, format!("config: {name} {x} must be in [0, 1]")))
            }
        };
        unit("pagerank.damping", self.pagerank.damping)?;
        unit("ownership.ubo_threshold", self.ownership.ubo_threshold)?;
        unit("contagion.supply_loss_rate", self.contagion.supply_loss_rate)?;
        if self.contagion.runs == 0 || self.communities.resolution <= 0.0 {
            return Err(coded(USAGE, "config: contagion.runs ≥ 1, communities.resolution > 0"));
        }
        Ok(())
    }

    pub fn enabled(&self, analysis: &str) -> bool {
        self.analyses.iter().any(|a| a == analysis)
    }
}
