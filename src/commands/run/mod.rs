//! `ekg run ALGO`: one analysis alone, its tables into `--out`. The flags are checked once
//! ([`job::Analysis::check`]); each runner takes the checked configuration of its analysis.

mod graph;
mod job;
mod rings;
mod risk;
mod target;

use anyhow::Result;

use crate::cli::RunArgs;
use job::Analysis;

pub fn run(args: &RunArgs, quiet: bool) -> Result<()> {
    match &Analysis::check(args)? {
        Analysis::Rings(search) => rings::run(args, search, quiet),
        Analysis::Graph { algorithm, projection } => graph::run(args, algorithm, projection, quiet),
        risk => risk::run(args, risk, quiet),
    }
}
