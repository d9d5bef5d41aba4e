//! `score.toml`: which analyses the nightly job runs and with what parameters. Every field has a
//! default (the same as the matching `ekg run` flag); unknown keys are errors, so a typo cannot
//! silently fall back to a default. The resolved configuration goes into the manifest.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::exit::{coded, USAGE};
use crate::params::rings::RingArgs;

/// An analysis the job can run (`analyses` in score.toml, by these names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Analysis {
    Pagerank,
    Ppr,
    Components,
    Communities,
    Structure,
    Ownership,
    Groups,
    Guarantees,
    Debtrank,
    Cascade,
    Rings,
    /// The acquisition white list (prospects.parquet), after the flags.
    Prospects,
}

impl Analysis {
    /// In dependency order.
    pub const ALL: [Analysis; 12] = [
        Analysis::Pagerank,
        Analysis::Ppr,
        Analysis::Components,
        Analysis::Communities,
        Analysis::Structure,
        Analysis::Ownership,
        Analysis::Groups,
        Analysis::Guarantees,
        Analysis::Debtrank,
        Analysis::Cascade,
        Analysis::Rings,
        Analysis::Prospects,
    ];
}

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

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoreConfig {
    /// Analyses to run (default: all); features of the others are null.
    pub analyses: Vec<Analysis>,
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
    pub prospects: ProspectsSection,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProspectsSection {
    pub core_top: usize,
    pub hops: u32,
    pub max_capital: f64,
}

impl Default for ProspectsSection {
    fn default() -> Self {
        ProspectsSection {
            core_top: DEFAULT_CORE_TOP,
            hops: crate::whitelist::DEFAULT_HOPS,
            max_capital: crate::whitelist::DEFAULT_MAX_CAPITAL,
        }
    }
}

/// Core enterprises of the nightly white list: the firms of highest supply-chain PageRank.
pub const DEFAULT_CORE_TOP: usize = 10;

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
    pub algorithm: CommunityAlgorithm,
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
    pub supply_disruption_rate: f64,
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
            analyses: Analysis::ALL.to_vec(),
            seed: ekg_algorithms::DEFAULT_SEED,
            pagerank: PageRankSection::default(),
            communities: CommunitySection::default(),
            ownership: OwnershipSection::default(),
            groups: GroupSection::default(),
            contagion: ContagionSection::default(),
            rings: RingArgs::default(),
            flags: FlagSection::default(),
            prospects: ProspectsSection::default(),
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
        CommunitySection { algorithm: CommunityAlgorithm::Louvain, resolution: ekg_algorithms::community::louvain::DEFAULT_RESOLUTION }
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
            supply_disruption_rate: ekg_algorithms::contagion::impact::DEFAULT_SUPPLY_DISRUPTION_RATE,
            runs: ekg_algorithms::contagion::cascade::DEFAULT_RUNS,
            top_k: ekg_algorithms::contagion::debtrank::DEFAULT_TOP_K,
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

/// What each score.toml key means (the ring keys take theirs from `ekg run rings --help`).
const MEANINGS: [(&str, &str); 26] = [
    ("analyses", "analyses to run, in dependency order; features of the others are null"),
    ("seed", "seed of every randomised stage (communities, cascades)"),
    ("pagerank.damping", "PageRank damping factor"),
    ("pagerank.max_iterations", "PageRank iteration limit"),
    ("pagerank.tolerance", "PageRank stops when the L1 change is below tolerance × nodes"),
    ("communities.algorithm", "louvain (the fastest), leiden (connected communities, slower) or lpa (Graphalytics CDLP)"),
    ("communities.resolution", "modularity resolution γ (larger: smaller communities)"),
    ("ownership.epsilon", "residual ownership at or below this is not propagated further"),
    ("ownership.ubo_threshold", "persons with at least this integrated ownership are beneficial owners"),
    ("ownership.control_threshold", "without majority control, the largest owner controls from this share (with control_margin)"),
    ("ownership.control_margin", "without majority control, the largest owner must lead the next by this margin"),
    ("groups.join_guarantees", "group customers also join firms that guarantee each other"),
    ("groups.join_legal_rep", "group customers also join firms with the same legal representative"),
    ("contagion.supply_loss_rate", "share of supply volume a supplier loses when its customer defaults"),
    (
        "contagion.supply_disruption_rate",
        "share of its capital a customer loses when a supplier it depends on entirely fails (times its dependence share)",
    ),
    ("contagion.runs", "Monte Carlo cascade runs"),
    ("contagion.top_k", "systemic DebtRank for this many firms, largest exposure first"),
    ("flags.contagion_lift", "contagion flag: cascade lift at least this (and contagion_probability)"),
    ("flags.contagion_probability", "contagion flag: contagion-inclusive default probability at least this (and contagion_lift)"),
    ("flags.defaulted_controlled", "controller flag: controls at least this many defaulted firms"),
    ("flags.review_capacity", "cases a team reviews a day, per lead kind (cases.parquet in_capacity)"),
    ("flags.min_ring_score", "a ring flags its members and may lead a case from this score, by kind"),
    ("rings", "the ring detectors' parameters, as `ekg run rings` takes them"),
    ("prospects.core_top", "white list: the core enterprises are the firms of highest supply-chain PageRank, this many"),
    ("prospects.hops", "white list: supply links from a core"),
    ("prospects.max_capital", "white list: small and micro firms only, registered capital at most this"),
];

impl ScoreConfig {
    /// The configuration as score.toml, each key under a comment saying what it means.
    pub fn documented(&self) -> Result<String> {
        use clap::{Args, Command};
        let table: toml::Table = toml::Table::try_from(self).context("cannot render the configuration")?;
        let rings_help: Vec<(String, String)> = RingArgs::augment_args(Command::new("rings"))
            .get_arguments()
            .filter_map(|a| Some((a.get_id().as_str().to_string(), a.get_help()?.to_string().trim_start_matches("rings: ").to_string())))
            .collect();
        let meaning = |section: &str, key: &str| -> String {
            let path = if section.is_empty() { key.to_string() } else { format!("{section}.{key}") };
            if section == "rings" {
                return rings_help.iter().find(|(k, _)| k == key).map(|(_, h)| h.clone()).unwrap_or_default();
            }
            MEANINGS.iter().find(|(k, _)| *k == path).map(|(_, m)| m.to_string()).unwrap_or_default()
        };
        let mut out = String::from("# score.toml: every key, its value here and what it means\n");
        let (sections, scalars): (Vec<_>, Vec<_>) = table.iter().partition(|(_, v)| v.is_table());
        for (key, value) in scalars {
            out += &format!("# {}\n{key} = {value}\n", meaning("", key));
        }
        for (section, value) in sections {
            let Some(entries) = value.as_table() else { continue };
            out += &format!("\n[{section}]\n");
            let (nested, plain): (Vec<_>, Vec<_>) = entries.iter().partition(|(_, v)| v.is_table());
            for (key, v) in plain {
                out += &format!("# {}\n{key} = {v}\n", meaning(section, key));
            }
            for (key, v) in nested {
                out += &format!("\n# {}\n[{section}.{key}]\n", meaning(section, key));
                for (k, x) in v.as_table().into_iter().flatten() {
                    out += &format!("{k} = {x}\n");
                }
            }
        }
        Ok(out)
    }

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
        unit("contagion.supply_disruption_rate", self.contagion.supply_disruption_rate)?;
        if self.contagion.runs == 0 || self.communities.resolution <= 0.0 {
            return Err(coded(USAGE, "config: contagion.runs ≥ 1, communities.resolution > 0"));
        }
        Ok(())
    }

    pub fn enabled(&self, analysis: Analysis) -> bool {
        self.analyses.contains(&analysis)
    }
}
