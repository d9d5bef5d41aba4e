//! `score.toml`: which analyses the nightly job runs and with what parameters. Every field has a
//! default (the same as the matching `ekg run` flag); unknown keys are errors, so a typo cannot
//! silently fall back to a default. The resolved configuration goes into the manifest.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::exit::{coded, USAGE};
pub use crate::params::communities::CommunityAlgorithm;
use crate::params::communities::CommunityArgs;
use crate::params::contagion::ContagionArgs;
use crate::params::ownership::{GroupArgs, OwnershipArgs};
use crate::params::pagerank::PageRankArgs;
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
    /// Industrial clusters (clusters.parquet): same-region supply communities around a core.
    Clusters,
    /// The acquisition white list (prospects.parquet), after the flags.
    Prospects,
}

impl Analysis {
    /// In dependency order.
    pub const ALL: [Analysis; 13] = [
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
        Analysis::Clusters,
        Analysis::Prospects,
    ];
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoreConfig {
    /// Analyses to run (default: all); features of the others are null.
    pub analyses: Vec<Analysis>,
    /// Seed for every randomised stage (communities, cascades).
    pub seed: u64,
    pub pagerank: PageRankArgs,
    pub communities: CommunityArgs,
    pub ownership: OwnershipArgs,
    pub groups: GroupArgs,
    pub contagion: ContagionArgs,
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
            pagerank: PageRankArgs::default(),
            communities: CommunityArgs::default(),
            ownership: OwnershipArgs::default(),
            groups: GroupArgs::default(),
            contagion: ContagionArgs::default(),
            rings: RingArgs::default(),
            flags: FlagSection::default(),
            prospects: ProspectsSection::default(),
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

/// What each score.toml key outside the analysis parameters means (those take theirs from the
/// matching `ekg run` flag's help, `crate::params`).
const MEANINGS: [(&str, &str); 11] = [
    ("analyses", "analyses to run, in dependency order; features of the others are null"),
    ("seed", "seed of every randomised stage (communities, cascades)"),
    ("communities.algorithm", "louvain (the fastest), leiden (connected communities, slower) or lpa (Graphalytics CDLP)"),
    ("flags.contagion_lift", "contagion flag: cascade lift at least this (and contagion_probability)"),
    ("flags.contagion_probability", "contagion flag: contagion-inclusive default probability at least this (and contagion_lift)"),
    ("flags.defaulted_controlled", "controller flag: controls at least this many defaulted firms"),
    ("flags.review_capacity", "cases a team reviews a day, per lead kind (cases.parquet in_capacity)"),
    ("flags.min_ring_score", "a ring flags its members and may lead a case from this score, by kind"),
    ("prospects.core_top", "white list: the core enterprises are the firms of highest supply-chain PageRank, this many"),
    ("prospects.hops", "white list: supply links from a core"),
    ("prospects.max_capital", "white list: small and micro firms only, registered capital at most this"),
];

/// `section.key` → the help of the `ekg run` flag that sets it, without its "algorithms: " prefix.
fn flag_meanings<A: clap::Args>(section: &str) -> Vec<(String, String)> {
    A::augment_args(clap::Command::new("params"))
        .get_arguments()
        .filter_map(|a| {
            let help = a.get_help()?.to_string();
            let meaning = match help.split_once(": ") {
                Some((prefix, rest)) if prefix.chars().all(|c| c.is_ascii_lowercase() || c == ',' || c == ' ') => rest.to_string(),
                _ => help,
            };
            Some((format!("{section}.{}", a.get_id()), meaning))
        })
        .collect()
}

impl ScoreConfig {
    /// The configuration as score.toml, each key under a comment saying what it means.
    pub fn documented(&self) -> Result<String> {
        let table: toml::Table = toml::Table::try_from(self).context("cannot render the configuration")?;
        let mut meanings: Vec<(String, String)> = MEANINGS.iter().map(|(k, m)| (k.to_string(), m.to_string())).collect();
        meanings.extend(flag_meanings::<PageRankArgs>("pagerank"));
        meanings.extend(flag_meanings::<CommunityArgs>("communities"));
        meanings.extend(flag_meanings::<OwnershipArgs>("ownership"));
        meanings.extend(flag_meanings::<GroupArgs>("groups"));
        meanings.extend(flag_meanings::<ContagionArgs>("contagion"));
        meanings.extend(flag_meanings::<RingArgs>("rings"));
        meanings.push(("rings".into(), "the ring detectors' parameters, as `ekg run rings` takes them".into()));
        let meaning = |section: &str, key: &str| -> String {
            let path = if section.is_empty() { key.to_string() } else { format!("{section}.{key}") };
            meanings.iter().find(|(k, _)| *k == path).map(|(_, m)| m.clone()).unwrap_or_default()
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
        let checks = [
            self.rings.validate(),
            self.ownership.config().map(drop),
            self.pagerank.config().map(drop),
            self.communities.validate(),
            self.contagion.validate(),
        ];
        checks.into_iter().collect::<Result<(), String>>().map_err(|e| coded(USAGE, format!("config: {e}")))
    }

    pub fn enabled(&self, analysis: Analysis) -> bool {
        self.analyses.contains(&analysis)
    }
}
