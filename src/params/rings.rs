//! The ring detectors' parameters: `ekg run rings` flags and `score.toml`'s `[rings]`.

use clap::Args;
use ekg_algorithms::rings::cycles::CycleConfig;
use ekg_algorithms::rings::detect::{Detector, RingSearch};
use ekg_algorithms::rings::diversion::DiversionConfig;
use ekg_algorithms::rings::flows::FlowConfig;
use ekg_algorithms::rings::shared::{SharedConfig, DEFAULT_MAX_SHARE};
use ekg_schema::MICROS_PER_DAY;
use serde::{Deserialize, Serialize};

#[derive(Args, Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RingArgs {
    /// rings: detectors to run, comma-separated (default: all): shared_identifier, fund_cycle,
    /// flows (fan_in, fan_out, scatter_gather, gather_scatter), dense_block, loan_diversion,
    /// guarantee_circle.
    #[arg(long, value_delimiter = ',', value_parser = parse_detector)]
    #[serde(with = "detector_names")]
    pub detectors: Vec<Detector>,
    /// rings: identifiers shared by more entities than this are ignored (registration agents).
    #[arg(long, default_value_t = DEFAULT_MAX_SHARE)]
    pub max_share: usize,
    /// rings: fund cycles must close within this many days of their first hop.
    #[arg(long, default_value_t = CycleConfig::DEFAULT_WINDOW_DAYS as u32)]
    pub cycle_window_days: u32,
    /// rings: longest fund cycle, in hops.
    #[arg(long, default_value_t = CycleConfig::DEFAULT_MAX_LEN)]
    pub max_cycle_len: usize,
    /// rings: a fan's transfers, or a gather-scatter hub's receipts, span at most this many days.
    #[arg(long, default_value_t = FlowConfig::DEFAULT_WINDOW_DAYS as u32)]
    pub flow_window_days: u32,
    /// rings: a scatter's payments out of its source (or hub) span at most this many days.
    #[arg(long, default_value_t = FlowConfig::DEFAULT_SCATTER_WINDOW_DAYS as u32)]
    pub scatter_window_days: u32,
    /// rings: each onward payment (mule to sink, hub out) follows its receipt within this many days.
    #[arg(long, default_value_t = FlowConfig::DEFAULT_GATHER_WINDOW_DAYS as u32)]
    pub gather_window_days: u32,
    /// rings: amounts count as the same money within this relative tolerance.
    #[arg(long, default_value_t = CycleConfig::DEFAULT_TOLERANCE)]
    pub amount_tolerance: f64,
    /// rings: fewest counterparties of a fan-in or fan-out.
    #[arg(long, default_value_t = FlowConfig::DEFAULT_MIN_FAN)]
    pub min_fan: usize,
    /// rings: fans are reported from this score: −log10 of the bursts like it that chance would
    /// give at the centre's own payment rate over the observation period (5: about one chance
    /// fan per 100,000 accounts).
    #[arg(long, default_value_t = FlowConfig::DEFAULT_MIN_FAN_SCORE, allow_negative_numbers = true)]
    pub min_fan_score: f64,
}

impl Default for RingArgs {
    fn default() -> Self {
        RingArgs {
            detectors: Detector::ALL.to_vec(),
            max_share: DEFAULT_MAX_SHARE,
            cycle_window_days: CycleConfig::DEFAULT_WINDOW_DAYS as u32,
            max_cycle_len: CycleConfig::DEFAULT_MAX_LEN,
            flow_window_days: FlowConfig::DEFAULT_WINDOW_DAYS as u32,
            scatter_window_days: FlowConfig::DEFAULT_SCATTER_WINDOW_DAYS as u32,
            gather_window_days: FlowConfig::DEFAULT_GATHER_WINDOW_DAYS as u32,
            amount_tolerance: CycleConfig::DEFAULT_TOLERANCE,
            min_fan: FlowConfig::DEFAULT_MIN_FAN,
            min_fan_score: FlowConfig::DEFAULT_MIN_FAN_SCORE,
        }
    }
}

impl RingArgs {
    /// The one check of these values, for flags and configuration files alike.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..1.0).contains(&self.amount_tolerance) {
            return Err(format!("rings: amount_tolerance must be in [0, 1), not {}", self.amount_tolerance));
        }
        if self.max_cycle_len < 2 || self.min_fan < 2 {
            return Err("rings: max_cycle_len and min_fan must be at least 2".into());
        }
        if self.min_fan_score.is_nan() {
            return Err("rings: min_fan_score must be a number".into());
        }
        Ok(())
    }

    /// The detectors' configuration (no detector chosen: all of them).
    pub fn search(&self) -> RingSearch {
        let day = MICROS_PER_DAY;
        RingSearch {
            detectors: if self.detectors.is_empty() { Detector::ALL.to_vec() } else { self.detectors.clone() },
            shared: SharedConfig { max_share: self.max_share, ..SharedConfig::default() },
            cycles: CycleConfig {
                max_len: self.max_cycle_len,
                window: self.cycle_window_days as i64 * day,
                tolerance: self.amount_tolerance,
                ..CycleConfig::default()
            },
            flows: FlowConfig {
                window: self.flow_window_days as i64 * day,
                scatter_window: self.scatter_window_days as i64 * day,
                gather_window: self.gather_window_days as i64 * day,
                tolerance: self.amount_tolerance,
                min_fan: self.min_fan,
                min_fan_score: self.min_fan_score,
                ..FlowConfig::default()
            },
            dense: Default::default(),
            diversion: DiversionConfig { max_share: self.max_share, ..DiversionConfig::default() },
        }
    }
}

fn parse_detector(name: &str) -> Result<Detector, String> {
    Detector::parse(name).ok_or_else(|| format!("unknown detector '{name}' (known: {})", known()))
}

fn known() -> String {
    Detector::ALL.map(Detector::as_str).join(", ")
}

/// Detectors in TOML and the manifest as their names.
mod detector_names {
    use ekg_algorithms::rings::detect::Detector;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(detectors: &[Detector], s: S) -> Result<S::Ok, S::Error> {
        detectors.iter().map(|d| d.as_str()).collect::<Vec<_>>().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Detector>, D::Error> {
        Vec::<String>::deserialize(d)?.iter().map(|name| super::parse_detector(name).map_err(serde::de::Error::custom)).collect()
    }
}
