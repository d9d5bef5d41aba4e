//! `ekg run ALGO`: one analysis alone, its tables into `--out`.

mod graph;
mod rings;
mod risk;
mod target;

use anyhow::Result;

use crate::cli::{Algorithm, RunArgs};

pub fn run(args: &RunArgs, quiet: bool) -> Result<()> {
    if args.algorithm == Algorithm::Rings {
        rings::run(args, quiet)
    } else if risk::is_risk(args.algorithm) {
        risk::run(args, quiet)
    } else {
        graph::run(args, quiet)
    }
}
