//! `ekg build`: dataset → validated graph → snapshot, refusing up front what memory cannot hold.

use std::path::{Path, PathBuf};

use anyhow::Result;
use ekg_loaders::estimate::{estimate_dataset, estimate_from_rows, MemoryEstimate};
use ekg_loaders::{Dataset, OnError};

use crate::cli::{BuildArgs, InputFormat, OnErrorArg};
use crate::exit::{coded, CANT_CREATE, IO};
use crate::input::{load_dataset, load_options};
use crate::memory::{available_memory, gib, parse_bytes, preflight};
use crate::output::{OutputKind, Target};
use crate::progress::Phase;

pub fn run(args: &BuildArgs, quiet: bool) -> Result<()> {
    let estimate = match args.load.format {
        InputFormat::Contract => estimate_dataset(&Dataset::discover(&args.dataset)?)?,
        InputFormat::Finbench => estimate_from_rows(&ekg_loaders::finbench::row_counts(&args.dataset)?),
    };
    let limit = match &args.memory_limit {
        Some(text) => Some(parse_bytes(text)?),
        None => available_memory(),
    };
    if args.estimate {
        print_estimate(&estimate, limit, args.json);
        return Ok(());
    }
    if !quiet && !args.json {
        eprintln!("estimate: {} nodes, {} relations, needs ~{} peak", estimate.nodes, estimate.relations, gib(estimate.peak_bytes));
    }
    preflight(&estimate, limit, args.force)?;
    let out = args.out.clone().unwrap_or_else(|| default_out(&args.dataset));
    let target = Target::claim(&out, OutputKind::Snapshot, args.force)?;
    let on_error = match args.on_error {
        OnErrorArg::Fail => OnError::Fail,
        OnErrorArg::Skip => OnError::Skip,
    };
    let options = load_options(&args.load, on_error)?;
    let pseudonymizer = args.pseudonymize.as_deref().map(crate::pii::Pseudonymizer::from_file).transpose()?;
    let phase = Phase::start(quiet, "loading and validating");
    let (mut graph, report) = load_dataset(&args.dataset, args.load.format, &options)?;
    if let Some(p) = &pseudonymizer {
        p.apply(&mut graph, crate::pii::Scope::Share)?;
    }
    let load_time = phase.finish();
    let rejects = if (on_error == OnError::Skip && !report.problems.is_empty()) || !report.problems.warnings.is_empty() {
        let path = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).join("rejects.csv");
        write_rejects(&Target::claim(&path, OutputKind::Rejects, args.force)?, &report.problems)?;
        Some(path)
    } else {
        None
    };
    let phase = Phase::start(quiet, "writing snapshot");
    // The snapshot writer stages under its own temporary name: removed if a signal stops us.
    let snapshot_tmp = ekg_schema::snapshot::temp_path(target.path());
    crate::output::cleanup::register(&snapshot_tmp);
    let written = ekg_schema::snapshot::write_snapshot(&graph, target.path());
    crate::output::cleanup::unregister(&snapshot_tmp);
    let bytes = written.map_err(|e| {
        use std::io::ErrorKind as K;
        let cannot_create = matches!(&e, ekg_schema::Error::Io { source, .. }
            if matches!(source.kind(), K::NotFound | K::PermissionDenied | K::IsADirectory | K::NotADirectory | K::ReadOnlyFilesystem));
        coded(if cannot_create { CANT_CREATE } else { IO }, format!("cannot write {}: {e}", out.display()))
    })?;
    let write_time = phase.finish();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "out": out,
                "nodes": graph.node_count(),
                "relations": graph.total_edge_count(),
                "snapshot_bytes": bytes,
                "load_seconds": load_time.as_secs_f64(),
                "write_seconds": write_time.as_secs_f64(),
                "rows_rejected": report.rows_rejected(),
                "rejects": rejects,
                "tables": report.tables,
                "normalized_values": report.normalized_values,
                "deduplicated_rows": report.deduplicated_rows,
                "warnings": report.problems.warnings.len(),
                "ignored_files": report.ignored_files,
                "estimate": estimate,
            })
        );
    } else {
        println!(
            "built {}: {} nodes, {} relations, {} on disk (load {:.2}s, write {:.2}s)",
            out.display(),
            graph.node_count(),
            graph.total_edge_count(),
            gib(bytes),
            load_time.as_secs_f64(),
            write_time.as_secs_f64()
        );
        for notice in &report.problems.notices {
            println!("notice: {notice}");
        }
        for file in &report.ignored_files {
            println!("notice: {} is not a table of the contract; ignored", file.display());
        }
        if let Some(first) = report.problems.warnings.first() {
            println!("warning: {} link rows dropped, their entities kept (first: {first})", report.problems.warnings.len());
        }
        if let Some(path) = rejects {
            println!("{} rows rejected; listed in {}", report.rows_rejected() + report.problems.warnings.len() as u64, path.display());
        }
    }
    Ok(())
}

fn default_out(dataset: &Path) -> PathBuf {
    let name = dataset.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "graph".into());
    PathBuf::from(format!("{name}.ekg"))
}

fn write_rejects(target: &Target, problems: &ekg_loaders::ProblemLog) -> Result<()> {
    let tmp = target.temp_file();
    let io = |e: &dyn std::fmt::Display| coded(IO, format!("cannot write {}: {e}", tmp.path().display()));
    let mut writer =
        csv::Writer::from_path(tmp.path()).map_err(|e| coded(CANT_CREATE, format!("cannot create {}: {e}", tmp.path().display())))?;
    writer.write_record(crate::dictionary::REJECTS.columns.iter().map(|c| c.name)).map_err(|e| io(&e))?;
    for p in problems.problems().iter().chain(&problems.warnings) {
        writer.write_record([p.table, p.path.as_ref(), &p.row.to_string(), p.column, p.rule.as_str(), &p.message]).map_err(|e| io(&e))?;
    }
    let file = writer.into_inner().map_err(|e| io(e.error()))?;
    file.sync_all().map_err(|e| io(&e))?;
    tmp.commit(target.path())
}

fn print_estimate(e: &MemoryEstimate, limit: Option<u64>, json: bool) {
    if json {
        println!("{}", serde_json::json!({"estimate": e, "available_bytes": limit}));
        return;
    }
    for (table, rows) in &e.rows {
        println!("{table:<16} {rows:>14} rows");
    }
    println!("nodes {} relations {}: graph ~{}, build peak ~{}", e.nodes, e.relations, gib(e.graph_bytes), gib(e.peak_bytes));
    if let Some(limit) = limit {
        println!("available: {}", gib(limit));
    }
}
