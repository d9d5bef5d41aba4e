//! `ekg build`: dataset → validated graph → snapshot, refusing up front what memory cannot hold.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ekg_loaders::estimate::{estimate_dataset, estimate_from_rows, MemoryEstimate};
use ekg_loaders::{Dataset, OnError};

use crate::cli::{BuildArgs, InputFormat, OnErrorArg};
use crate::exit::{coded, REFUSED, USAGE};
use crate::input::{load_dataset, load_options};
use crate::progress::Phase;

/// Refuses (exit 78) a load whose estimated peak exceeds `limit`, with the numbers, unless forced.
pub(crate) fn preflight(estimate: &MemoryEstimate, limit: Option<u64>, force: bool) -> Result<()> {
    if let Some(limit) = limit {
        if estimate.peak_bytes > limit && !force {
            return Err(coded(
                REFUSED,
                format!(
                    "needs ~{}, {} available (n={}, m={}); use --force to try anyway",
                    gib(estimate.peak_bytes),
                    gib(limit),
                    estimate.nodes,
                    estimate.relations
                ),
            ));
        }
    }
    Ok(())
}

pub fn run(args: &BuildArgs, quiet: bool) -> Result<()> {
    let estimate = match args.load.format {
        InputFormat::Contract => estimate_dataset(&Dataset::discover(&args.dataset)?)?,
        // FinBench files are small benchmark snapshots; estimate from line counts of its entities.
        InputFormat::Finbench => estimate_from_rows(&[]),
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
    let on_error = match args.on_error {
        OnErrorArg::Fail => OnError::Fail,
        OnErrorArg::Skip => OnError::Skip,
    };
    let options = load_options(&args.load, on_error)?;
    let pseudonymizer = args.pseudonymize.as_deref().map(crate::pseudonym::Pseudonymizer::from_file).transpose()?;
    let phase = Phase::start(quiet, "loading and validating");
    let (mut graph, report) = load_dataset(&args.dataset, args.load.format, &options)?;
    if let Some(p) = &pseudonymizer {
        p.apply(&mut graph)?;
    }
    let load_time = phase.finish();
    let rejects = if on_error == OnError::Skip && !report.problems.is_empty() {
        let path = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).join("rejects.csv");
        write_rejects(&path, &report.problems)?;
        Some(path)
    } else {
        None
    };
    let phase = Phase::start(quiet, "writing snapshot");
    let bytes = ekg_schema::snapshot::write_snapshot(&graph, &out).with_context(|| format!("cannot write {}", out.display()))?;
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
        if let Some(path) = rejects {
            println!("{} rows rejected; listed in {}", report.rows_rejected(), path.display());
        }
    }
    Ok(())
}

fn default_out(dataset: &Path) -> PathBuf {
    let name = dataset.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "graph".into());
    PathBuf::from(format!("{name}.ekg"))
}

fn write_rejects(path: &Path, problems: &ekg_loaders::ProblemLog) -> Result<()> {
    let tmp = path.with_extension("csv.tmp");
    let mut writer = csv::Writer::from_path(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    writer.write_record(["table", "file", "row", "column", "rule", "reason"])?;
    for p in problems.problems() {
        writer.write_record([p.table, p.path.as_ref(), &p.row.to_string(), p.column, p.rule.as_str(), &p.message])?;
    }
    let mut file = writer.into_inner().map_err(|e| anyhow::anyhow!("cannot write {}: {}", tmp.display(), e.error()))?;
    file.flush()?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
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

pub fn gib(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    }
}

/// `8G`, `512M`, `1024K` or plain bytes.
pub(crate) fn parse_bytes(text: &str) -> Result<u64> {
    let t = text.trim().to_ascii_uppercase();
    let t = t.strip_suffix('B').unwrap_or(&t).strip_suffix('I').unwrap_or(t.strip_suffix('B').unwrap_or(&t));
    let (number, scale) = match t.chars().last() {
        Some('G') => (&t[..t.len() - 1], 1u64 << 30),
        Some('M') => (&t[..t.len() - 1], 1 << 20),
        Some('K') => (&t[..t.len() - 1], 1 << 10),
        _ => (t, 1),
    };
    let value: f64 = number.trim().parse().map_err(|_| coded(USAGE, format!("--memory-limit {text}: expected e.g. 8G or 500M")))?;
    Ok((value * scale as f64) as u64)
}

/// Memory available to this process: MemAvailable, capped by a cgroup v2 limit if set.
pub(crate) fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let available = meminfo
        .lines()
        .find(|l| l.starts_with("MemAvailable:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb * 1024)?;
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok().and_then(|s| s.trim().parse::<u64>().ok());
    Some(cgroup.map_or(available, |c| c.min(available)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_limits_parse_with_units() {
        assert_eq!(parse_bytes("8G").ok(), Some(8 << 30));
        assert_eq!(parse_bytes("500M").ok(), Some(500 << 20));
        assert_eq!(parse_bytes("1GiB").ok(), Some(1 << 30));
        assert_eq!(parse_bytes("1234").ok(), Some(1234));
        assert!(parse_bytes("lots").is_err());
    }
}
