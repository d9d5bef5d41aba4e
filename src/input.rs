//! Opening a graph: a snapshot file (memory-mapped) or a dataset folder (contract or FinBench),
//! with the load options every command shares.

use std::path::Path;

use anyhow::{Context, Result};
use ekg_loaders::load::{dataset_inputs, load_inputs, LoadReport};
use ekg_loaders::{Dataset, Encoding, LoadOptions, OnError};
use ekg_schema::Graph;

use crate::cli::{EncodingArg, InputFormat, LoadArgs};
use crate::exit::{coded, USAGE};

/// Load options from flags; `--as-of` defaults to now.
pub fn load_options(args: &LoadArgs, on_error: OnError) -> Result<LoadOptions> {
    let as_of = match &args.as_of {
        Some(text) => parse_as_of(text)?,
        None => chrono::Utc::now().timestamp_micros(),
    };
    let encoding = match args.encoding {
        EncodingArg::Utf8 => Encoding::Utf8,
        EncodingArg::Gb18030 => Encoding::Gb18030,
    };
    Ok(LoadOptions { on_error, as_of, encoding })
}

/// `YYYY-MM-DD` (the end of that day, UTC) or an RFC 3339 instant.
pub fn parse_as_of(text: &str) -> Result<i64> {
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        let end = day.and_hms_micro_opt(23, 59, 59, 999_999).map(|t| t.and_utc().timestamp_micros());
        return end.ok_or_else(|| coded(USAGE, format!("--as-of {text}: not a date")));
    }
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.timestamp_micros())
        .map_err(|_| coded(USAGE, format!("--as-of {text}: expected YYYY-MM-DD or an RFC 3339 time")))
}

/// Loads a dataset folder in the chosen layout.
pub fn load_dataset(path: &Path, format: InputFormat, options: &LoadOptions) -> Result<(Graph, LoadReport)> {
    let mut report = LoadReport::default();
    let inputs = match format {
        InputFormat::Contract => {
            let dataset = Dataset::discover(path)?;
            report.ignored_files = dataset.ignored.clone();
            dataset_inputs(&dataset)
        }
        InputFormat::Finbench => {
            let finbench = ekg_loaders::finbench::finbench_inputs(path)?;
            for warning in finbench.warnings {
                report.problems.warn(warning);
            }
            finbench.inputs
        }
    };
    let graph = load_inputs(inputs, options, &mut report)?;
    Ok((graph, report))
}

/// [`open_graph`] for a command that prints or writes ids: the run's personal-data policy
/// applied (pseudonyms unless `--reveal-pii`).
pub fn open_graph_shown(path: &Path, args: &LoadArgs) -> Result<Graph> {
    let mut graph = open_graph(path, args)?;
    crate::pii::policy()?.apply(&mut graph)?;
    Ok(graph)
}

/// A snapshot (by its magic bytes) or a dataset folder.
pub fn open_graph(path: &Path, args: &LoadArgs) -> Result<Graph> {
    if path.is_file() {
        return ekg_schema::snapshot::read_snapshot(path).with_context(|| format!("cannot open graph {}", path.display()));
    }
    if !path.exists() {
        return Err(ekg_loaders::Error::Missing { name: "graph".into(), path: path.to_path_buf() }.into());
    }
    let options = load_options(args, OnError::Fail)?;
    Ok(load_dataset(path, args.format, &options)?.0)
}
