//! `ekg demo`: the bundled sample data → validated graph → snapshot → summary. No arguments.

use std::path::PathBuf;

use anyhow::Result;
use ekg_loaders::OnError;

use super::info::{render, summarize};
use crate::cli::{DemoArgs, InputFormat, LoadArgs};
use crate::exit::{coded, CANT_CREATE};
use crate::input::{load_dataset, load_options};
use crate::output::{OutputKind, Target};
use crate::progress::Phase;

/// The sample data committed with the sources.
pub fn sample_data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sample-data")
}

pub fn run(args: &DemoArgs, quiet: bool) -> Result<()> {
    let data = args.data.clone().unwrap_or_else(sample_data_dir);
    let load = LoadArgs { format: InputFormat::Contract, as_of: None, encoding: crate::cli::EncodingArg::Utf8 };
    let options = load_options(&load, OnError::Fail)?;
    println!("ekg demo: loading {}", data.display());
    let phase = Phase::start(quiet, "loading and validating");
    let (graph, report) = load_dataset(&data, InputFormat::Contract, &options)?;
    let load_time = phase.finish();
    println!(
        "loaded {} rows from {} tables in {:.2}s, no data problems",
        report.tables.iter().map(|t| t.rows).sum::<u64>(),
        report.tables.len(),
        load_time.as_secs_f64()
    );
    let out_dir = match &args.out {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("ekg-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(&out_dir).map_err(|e| coded(CANT_CREATE, format!("cannot create {}: {e}", out_dir.display())))?;
    let snapshot = out_dir.join("sample.ekg");
    let target = Target::claim(&snapshot, OutputKind::Snapshot, false)?;
    ekg_schema::snapshot::write_snapshot(&graph, target.path())?;
    drop(target);
    let started = std::time::Instant::now();
    let reopened = ekg_schema::snapshot::read_snapshot(&snapshot)?;
    println!("snapshot {} reopened in {:.1} ms", snapshot.display(), started.elapsed().as_secs_f64() * 1e3);
    print!("{}", render(&summarize(&reopened)));
    let defaulted =
        (0..reopened.kind_count(ekg_schema::NodeKind::Firm)).filter(|&i| reopened.is_defaulted(ekg_schema::NodeId(i as u32))).count();
    println!("defaulted firms: {defaulted}");
    if args.out.is_none() {
        let _ = std::fs::remove_dir_all(&out_dir);
    }
    Ok(())
}
