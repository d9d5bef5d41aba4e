//! Where `ekg run ALGO` writes: the tables of each algorithm, claimed before any work.

use anyhow::Result;

use crate::cli::{Algorithm, RunArgs};
use crate::exit::{coded, CANT_CREATE};
use crate::output::guard::check_replaceable;
use crate::output::{OutputKind, Target};

/// The tables an algorithm writes into `--out`.
fn output_files(algorithm: Algorithm) -> Vec<String> {
    let names: &[&str] = match algorithm {
        Algorithm::Ownership => &["ownership", "ownership_ubo"],
        Algorithm::Guarantees => &["guarantees", "guarantee_circles"],
        Algorithm::Rings => &["rings", "ring_edges", "ring_nodes", "cases"],
        other => return vec![format!("{}.parquet", algorithm_name(other))],
    };
    names.iter().map(|n| format!("{n}.parquet")).collect()
}

/// Claims `--out` before any work: locked against other runs, created if absent, and every table
/// this algorithm will write checked to be ekg's to replace (or absent), so a refusal comes before
/// the work and never after half the tables were written.
pub fn claim_out(args: &RunArgs) -> Result<Target> {
    let target = Target::claim(&args.out, OutputKind::TableDir, args.force)?;
    if !args.out.exists() {
        std::fs::create_dir(&args.out).map_err(|e| coded(CANT_CREATE, format!("cannot create {}: {e}", args.out.display())))?;
    }
    for file in output_files(args.algorithm) {
        check_replaceable(&args.out.join(file), OutputKind::Parquet, args.force)?;
    }
    Ok(target)
}

pub fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::Pagerank => "pagerank",
        Algorithm::Ppr => "ppr",
        Algorithm::Wcc => "wcc",
        Algorithm::Scc => "scc",
        Algorithm::Lpa => "lpa",
        Algorithm::Louvain => "louvain",
        Algorithm::Leiden => "leiden",
        Algorithm::Triangles => "triangles",
        Algorithm::Kcore => "kcore",
        Algorithm::Ownership => "ownership",
        Algorithm::Groups => "groups",
        Algorithm::Guarantees => "guarantees",
        Algorithm::Debtrank => "debtrank",
        Algorithm::Cascade => "cascade",
        Algorithm::Rings => "rings",
    }
}

/// The run's summary: one JSON object with `--json`, else `print` renders it for a reader.
pub fn report(summary: &serde_json::Value, json: bool, print: fn(&serde_json::Value)) {
    if json {
        println!("{summary}");
    } else {
        print(summary);
    }
}
