//! `ekg generate`: a synthetic dataset, written atomically.

use anyhow::Result;

use crate::cli::GenerateArgs;
use crate::exit::{coded, USAGE};
use crate::generate::{plan, write_dataset, GenConfig};
use crate::output::{OutputKind, Target, DATASET_MARKER};
use crate::progress::Phase;

pub fn run(args: &GenerateArgs, quiet: bool) -> Result<()> {
    if args.firms < 20 {
        return Err(coded(USAGE, "--firms must be at least 20"));
    }
    if !(args.transfers_per_firm.is_finite() && args.transfers_per_firm >= 0.0) {
        return Err(coded(USAGE, "--transfers-per-firm must be a non-negative number"));
    }
    let target = Target::claim(&args.out, OutputKind::DatasetDir, args.force)?;
    let config = GenConfig { firms: args.firms, seed: args.seed, transfers_per_firm: args.transfers_per_firm };
    let phase = Phase::start(quiet, "planning");
    let plan = plan(&config);
    let plan_time = phase.finish();
    let phase = Phase::start(quiet, "writing Parquet");
    let staged = target.stage_dir()?;
    let rows = write_dataset(&plan, staged.path())?;
    std::fs::write(staged.path().join(DATASET_MARKER), "written by ekg generate; ekg replaces this folder only while this file is here\n")?;
    std::fs::write(staged.path().join("README.md"), readme(&config))?;
    // A hand-written README in the target (as in sample-data/) survives regeneration.
    if let Ok(existing) = std::fs::read_to_string(args.out.join("README.md")) {
        if !existing.starts_with("# Synthetic ekg dataset") {
            std::fs::write(staged.path().join("README.md"), existing)?;
        }
    }
    let out = staged.commit()?;
    let write_time = phase.finish();
    let seconds = (plan_time + write_time).as_secs_f64();
    if args.json {
        println!(
            "{}",
            serde_json::json!({"out": out, "firms": plan.firms, "persons": plan.persons, "rows": rows, "seed": args.seed, "seconds": seconds, "planted_patterns": plan.rings.len()})
        );
    } else {
        println!("wrote {} ({} firms, {} rows, {} planted patterns) in {seconds:.1}s", out.display(), plan.firms, rows, plan.rings.len());
    }
    Ok(())
}

fn readme(config: &GenConfig) -> String {
    format!(
        "# Synthetic ekg dataset\n\nMade by `ekg generate --firms {} --seed {} --transfers-per-firm {}`. \
         Every table follows ekg's input contract (graph-schema/README.md). `truth/` records the planted \
         patterns: `rings.parquet` (ring_id, kind, member_id: shared-identifier shell rings, fund cycles, \
         scatter-gather, gather-scatter, fan-in and fan-out flows, dense transfer blocks, guarantee circles, \
         loan diversions) and `pyramids.parquet` (ownership groups \
         with their controller). Not real data.\n",
        config.firms, config.seed, config.transfers_per_firm
    )
}
