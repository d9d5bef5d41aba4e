//! `manifest.json`: the audit record of a scoring run — what went in (files, sizes, hashes, row
//! counts, rejects), how (the resolved configuration, seed, as-of, ekg version and git revision),
//! how long and how much memory each stage took, and what came out (files, rows, hashes). Written
//! last, so a folder with a manifest is a complete one.

use std::io::Read;
use std::path::Path;

use anyhow::{Context as _, Result};
use ekg_loaders::load::LoadReport;
use ekg_schema::{Graph, NodeKind, Relation};
use serde_json::{json, Value};

use super::config::ScoreConfig;

pub struct Context<'a> {
    pub input: &'a Path,
    pub graph: &'a Graph,
    pub report: Option<&'a LoadReport>,
    pub config: &'a ScoreConfig,
    pub as_of: i64,
    /// (stage, seconds, rows, peak RSS bytes)
    pub stages: Vec<(&'static str, f64, u64, u64)>,
    /// The files written, by name.
    pub outputs: &'a [String],
    pub summary: &'a Value,
    /// The job as asked (argv, input, load options): enough to replay it.
    pub invocation: Value,
}

/// xxh3-64 of a file, streamed, as 16 hex digits.
pub fn hash_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(format!("{:016x}", hasher.digest()))
}

fn describe_file(path: &Path) -> Result<Value> {
    let bytes = std::fs::metadata(path).with_context(|| format!("cannot stat {}", path.display()))?.len();
    Ok(json!({"path": path.display().to_string(), "bytes": bytes, "xxh3_64": hash_file(path)?}))
}

/// Rows of a Parquet file, from its footer.
pub fn parquet_rows(path: &Path) -> Result<u64> {
    use parquet::file::reader::FileReader;
    let file = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let reader = parquet::file::reader::SerializedFileReader::new(file).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(reader.metadata().file_metadata().num_rows().max(0) as u64)
}

pub fn write(dir: &Path, c: &Context) -> Result<()> {
    let inputs: Vec<Value> = if c.input.is_file() {
        vec![describe_file(c.input)?]
    } else {
        let mut files: Vec<_> = std::fs::read_dir(c.input)
            .with_context(|| format!("cannot list {}", c.input.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
                p.is_file() && [".parquet", ".csv", ".csv.gz"].iter().any(|x| name.ends_with(x))
            })
            .collect();
        files.sort();
        files.iter().map(|p| describe_file(p)).collect::<Result<_>>()?
    };
    let tables: Vec<Value> = c
        .report
        .map(|r| {
            r.tables
                .iter()
                .map(|t| json!({"table": t.table, "path": t.path, "rows": t.rows, "accepted": t.accepted, "rejected": t.rejected}))
                .collect()
        })
        .unwrap_or_default();
    let nodes: serde_json::Map<String, Value> =
        NodeKind::ALL.iter().map(|&k| (k.as_str().to_string(), json!(c.graph.kind_count(k)))).collect();
    let edges: serde_json::Map<String, Value> =
        Relation::ALL.iter().map(|&r| (r.as_str().to_string(), json!(c.graph.edge_count(r)))).collect();
    // Rows and hashes are read back from the files as written, never taken from what was meant
    // to be written.
    let outputs: Vec<Value> = c
        .outputs
        .iter()
        .map(|name| {
            let path = dir.join(name);
            let bytes = std::fs::metadata(&path).with_context(|| format!("cannot stat {}", path.display()))?.len();
            let rows = if name.ends_with(".parquet") { Some(parquet_rows(&path)?) } else { None };
            Ok(json!({"file": name, "rows": rows, "bytes": bytes, "xxh3_64": hash_file(&path)?}))
        })
        .collect::<Result<_>>()?;
    let manifest = json!({
        "ekg_version": env!("CARGO_PKG_VERSION"),
        "output_contract": crate::dictionary::OUTPUT_CONTRACT,
        "git_revision": option_env!("EKG_GIT_REVISION").unwrap_or("unknown"),
        "created_at": chrono::Utc::now().to_rfc3339(),
        "invocation": c.invocation,
        "as_of": chrono::DateTime::from_timestamp_micros(c.as_of).map(|t| t.to_rfc3339()),
        "as_of_micros": c.as_of,
        "input": {"path": c.input.display().to_string(), "files": inputs, "tables": tables, "rows_rejected": c.report.map_or(0, |r| r.rows_rejected()),
            "ignored_files": c.report.map(|r| r.ignored_files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>()).unwrap_or_default(),
            "link_rows_dropped": c.report.map_or(0, |r| r.problems.warnings.len())},
        "graph": {"nodes": nodes, "edges": edges},
        "config": c.config,
        "seed": c.config.seed,
        "threads": rayon::current_num_threads(),
        "stages": c.stages.iter().map(|(name, seconds, rows, peak)| json!({"stage": name, "seconds": seconds, "rows": rows, "peak_rss_bytes": peak})).collect::<Vec<_>>(),
        "outputs": outputs,
        "summary": c.summary,
    });
    let text = serde_json::to_string_pretty(&manifest)?;
    let path = dir.join("manifest.json");
    let mut file = std::fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    file.sync_all().with_context(|| format!("cannot sync {}", path.display()))?;
    Ok(())
}
