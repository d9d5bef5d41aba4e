//! `ekg score --processes N` and `--hosts FILE --process I`: the stages of `ekg_distributed` on
//! a cluster of timely processes, then the small-graph stages of `ekg score` on process 0 alone
//! (`SMALL_GRAPH_STAGES`); process 0 writes `features.parquet`, those stages' tables and
//! `manifest.json`.
//!
//! With `--processes N` this process becomes process 0 and starts N − 1 copies of itself on the
//! same machine, each given a host file of free localhost ports, exactly as the processes of a
//! real cluster are given theirs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ekg_distributed::stages::{HeldValues, NOT_APPLICABLE};
use ekg_distributed::{Cluster, Error, Features, Job};
use ekg_loaders::{Dataset, Encoding};
use serde_json::json;

use super::job::ScoreJob;
use super::stages::{Scoring, Stage, PLAN, SMALL_GRAPH_STAGES};
use crate::cli::{EncodingArg, InputFormat, OnErrorArg, ScoreArgs};
use crate::exit::{coded, DATA, UNAVAILABLE, USAGE};
use crate::input::parse_as_of;
use crate::output::{OutputKind, Target};
use crate::table::Table;
use ekg_schema::contract::TableKind;
use ekg_schema::NodeId;

pub fn run(args: &ScoreArgs, threads: Option<usize>, quiet: bool) -> Result<()> {
    let job = ScoreJob::from_args(args)?;
    if job.format != InputFormat::Contract {
        return Err(coded(USAGE, "a distributed run reads datasets in the ekg contract layout (--format contract)"));
    }
    if matches!(job.on_error, OnErrorArg::Skip) {
        return Err(coded(USAGE, "a distributed run does not drop bad rows yet: it stops on them (--on-error fail)"));
    }
    if !job.input.is_dir() {
        return Err(coded(
            USAGE,
            format!("{}: a distributed run reads a dataset folder; each process reads its share of the tables", job.input.display()),
        ));
    }
    let threads = threads.unwrap_or(1).max(1);
    let timeout = Duration::from_secs(args.connect_timeout.max(1));
    // Started copies of this process, killed if this one fails first.
    let children: Arc<Mutex<Vec<Child>>> = Arc::default();
    let (addresses, process, hosts_file) = match (args.processes, &args.hosts, args.process) {
        (Some(n), _, _) => {
            if n == 0 {
                return Err(coded(USAGE, "--processes must be at least 1"));
            }
            let addresses = ekg_distributed::local_addresses(n).context("finding free localhost ports")?;
            let file = std::env::temp_dir().join(format!("ekg-hosts-{}.txt", std::process::id()));
            std::fs::write(&file, addresses.join("\n") + "\n").with_context(|| format!("writing {}", file.display()))?;
            for i in 1..n {
                let child = start_copy(&file, i)?;
                children.lock().map_err(|_| anyhow::anyhow!("the cluster's process list"))?.push(child);
            }
            watch(&children);
            (addresses, 0, Some(file))
        }
        (None, Some(file), Some(i)) => (ekg_distributed::read_hosts(file).map_err(|e| coded(USAGE, e.to_string()))?, i, None),
        _ => return Err(coded(USAGE, "--hosts needs --process")),
    };
    let connected = Arc::new(AtomicBool::new(false));
    watch_connection(Arc::clone(&connected), timeout, addresses.clone());
    let outcome = run_process(&job, Cluster { addresses, process, threads, connected }, quiet);
    if let Some(file) = hosts_file {
        let _ = std::fs::remove_file(file);
    }
    let mut children = children.lock().map_err(|_| anyhow::anyhow!("the cluster's process list"))?;
    if outcome.is_err() {
        for child in children.iter_mut() {
            let _ = child.kill();
        }
    }
    let mut failed = Vec::new();
    for (k, child) in children.iter_mut().enumerate() {
        match child.wait() {
            Ok(status) if status.success() => {}
            Ok(status) => failed.push(format!("process {} exited with {status}", k + 1)),
            Err(e) => failed.push(format!("process {}: {e}", k + 1)),
        }
    }
    outcome?;
    if !failed.is_empty() {
        return Err(coded(UNAVAILABLE, failed.join("; ")));
    }
    Ok(())
}

/// Timely retries a peer that does not answer for ever: after `timeout` without every process
/// connected, this process ends with exit 69.
fn watch_connection(connected: Arc<AtomicBool>, timeout: Duration, addresses: Vec<String>) {
    std::thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if connected.load(Ordering::Acquire) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("error: cluster: not every process connected within {} s ({})", timeout.as_secs(), addresses.join(", "));
        std::process::exit(i32::from(UNAVAILABLE));
    });
}

/// Timely prints its connection progress on stdout, which carries `--json`: stderr takes it
/// while the job runs (nothing else prints meanwhile).
struct StdoutToStderr {
    saved: Option<libc::c_int>,
}

impl StdoutToStderr {
    fn start() -> StdoutToStderr {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        // SAFETY: dup and dup2 on the process's own standard descriptors; a failure leaves them
        // as they were.
        let saved = unsafe {
            let saved = libc::dup(1);
            (saved >= 0 && libc::dup2(2, 1) >= 0).then_some(saved)
        };
        StdoutToStderr { saved }
    }
}

impl Drop for StdoutToStderr {
    fn drop(&mut self) {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        if let Some(saved) = self.saved {
            // SAFETY: puts back the descriptor saved by `start`, then closes the copy.
            unsafe {
                libc::dup2(saved, 1);
                libc::close(saved);
            }
        }
    }
}

/// A copy that exits with a failure (bad arguments, a crash) ends this process too, at once: the
/// others would otherwise wait for it until the connection timeout.
fn watch(children: &Arc<Mutex<Vec<Child>>>) {
    let children = Arc::clone(children);
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(100));
        let Ok(mut list) = children.lock() else { return };
        for (k, child) in list.iter_mut().enumerate() {
            if let Ok(Some(status)) = child.try_wait() {
                if !status.success() {
                    eprintln!("error: process {} of the local cluster failed ({status}); stopping", k + 1);
                    // A copy's exit code says why it stopped (bad input, a usage or I/O error, a
                    // bug), and this process takes it: whichever process notices first, the run
                    // ends as one process would. A copy killed by a signal is the cluster's failure.
                    std::process::exit(status.code().unwrap_or(i32::from(UNAVAILABLE)));
                }
            }
        }
    });
}

/// Starts process `i` of a local cluster: this program with the same arguments, the host file
/// in place of `--processes`.
fn start_copy(hosts: &Path, i: usize) -> Result<Child> {
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    let mut skip_value = false;
    for a in std::env::args_os().skip(1) {
        if skip_value {
            skip_value = false;
            continue;
        }
        let text = a.to_string_lossy();
        if text == "--processes" {
            skip_value = true;
            continue;
        }
        if text.starts_with("--processes=") || text == "--json" {
            continue;
        }
        args.push(a);
    }
    if !args.iter().any(|a| a == "--quiet") {
        args.push("--quiet".into());
    }
    args.extend(["--hosts".into(), hosts.as_os_str().to_owned(), "--process".into(), i.to_string().into()]);
    let exe = std::env::current_exe().context("finding the ekg executable")?;
    Command::new(exe).args(args).stdout(Stdio::null()).stdin(Stdio::null()).spawn().context("starting a process of the local cluster")
}

fn run_process(job: &ScoreJob, cluster: Cluster, quiet: bool) -> Result<()> {
    let (processes, threads, process) = (cluster.addresses.len(), cluster.threads, cluster.process);
    // Only process 0 writes; it claims (and locks) the output folder before any work.
    let target = if process == 0 { Some(Target::claim(&job.out, OutputKind::ScoreDir, job.force)?) } else { None };
    let pagerank = job.config.pagerank.config().map_err(|e| coded(USAGE, e))?;
    let as_of = job.as_of.as_deref().map(parse_as_of).transpose()?;
    let dataset = Dataset::discover(&job.input)?;
    let encoding = match job.encoding {
        EncodingArg::Utf8 => Encoding::Utf8,
        EncodingArg::Gb18030 => Encoding::Gb18030,
    };
    let started = Instant::now();
    ekg_schema::memory::return_freed_memory();
    let stdout = StdoutToStderr::start();
    let features = ekg_distributed::run(Job { dataset, encoding, as_of, pagerank, round_rows: ekg_distributed::ROUND_ROWS }, cluster);
    drop(stdout);
    let features = features.map_err(|e| match e {
        Error::Load(load) => anyhow::Error::from(load),
        Error::Rows { .. } | Error::Input(_) => coded(DATA, e.to_string()),
        Error::Cluster(_) => coded(UNAVAILABLE, e.to_string()),
    })?;
    let (Some(target), Some(features)) = (target, features) else { return Ok(()) };
    let seconds = started.elapsed().as_secs_f64();
    let small_started = Instant::now();
    let small = small_graph_stages(job, &features, quiet)?;
    let small_seconds = small_started.elapsed().as_secs_f64();
    let staged = target.stage_dir()?;
    let dir = staged.path().to_path_buf();
    let rows = write_features(&features, &small, &dir.join("features.parquet"))?;
    let mut outputs = vec![json!({"file": "features.parquet", "rows": rows})];
    for (file, table) in small.tables {
        let rows = table.write(&dir.join(file)).with_context(|| format!("writing {file}"))?;
        outputs.push(json!({"file": file, "rows": rows}));
    }
    let exchanged: u64 = features.workers.iter().map(|w| w.partition_bytes + w.stage_bytes).sum();
    let mut peak_by_process = vec![0u64; processes];
    for w in &features.workers {
        if let Some(p) = peak_by_process.get_mut(w.process as usize) {
            *p = (*p).max(w.peak_rss_bytes);
        }
    }
    let manifest = json!({
        "ekg_version": env!("CARGO_PKG_VERSION"),
        "mode": "distributed",
        "input": job.input.display().to_string(),
        "as_of": chrono::DateTime::from_timestamp_micros(features.as_of).map(|t| t.to_rfc3339()),
        "processes": processes,
        "threads_per_process": threads,
        "seconds": seconds,
        "peak_rss_bytes_by_process": peak_by_process,
        "peak_rss_bytes_process_0_after_write": super::peak_rss_bytes(),
        "edges": features.edges,
        "exchanged_bytes": {
            "partition": features.workers.iter().map(|w| w.partition_bytes).sum::<u64>(),
            "stages": features.workers.iter().map(|w| w.stage_bytes).sum::<u64>(),
            "per_edge": exchanged as f64 / features.edges.max(1) as f64,
        },
        "columns": features.columns.iter().map(|c| c.name.clone()).chain(small.names).collect::<Vec<_>>(),
        "small_graph_stages": {"stages": small.stages, "seconds": small_seconds},
        "outputs": outputs,
        "pii": crate::pii::policy()?.describe(),
    });
    std::fs::write(dir.join("manifest.json"), serde_json::to_string_pretty(&manifest)? + "\n").context("writing manifest.json")?;
    let out: PathBuf = staged.commit()?;
    if !quiet {
        eprintln!(
            "scored {rows} entities on {processes} process(es) × {threads} worker(s) in {seconds:.1} s ({:.1} MB exchanged) → {}",
            exchanged as f64 / 1e6,
            out.display()
        );
    }
    if job.json {
        println!("{}", json!({"out": out.display().to_string(), "rows": rows, "processes": processes, "seconds": seconds}));
    }
    Ok(())
}

/// What process 0 computes on its own: the stages of [`SMALL_GRAPH_STAGES`] the configuration
/// enables, their feature columns, and their tables.
struct SmallGraph {
    stages: Vec<&'static str>,
    names: Vec<String>,
    /// The stages' feature columns by the small graph's node ids, ...
    features: super::features::Features,
    /// ... and the node of each gathered row.
    node_of_row: Vec<u32>,
    tables: Vec<(&'static str, Table)>,
}

/// Runs `ekg score`'s small-graph stages on process 0 over the dataset without its transfers and
/// identifiers, as of the run's instant. The graph's nodes are those of the full one, in the same
/// order (edges add no nodes), so every stage computes what the single-process job does.
fn small_graph_stages(job: &ScoreJob, features: &Features, quiet: bool) -> Result<SmallGraph> {
    let stages: Vec<&Stage> = PLAN.iter().filter(|s| SMALL_GRAPH_STAGES.contains(&s.name) && (s.enabled)(&job.config)).collect();
    let stage_names: Vec<&'static str> = stages.iter().map(|s| s.name).collect();
    if stages.is_empty() {
        return Ok(SmallGraph {
            stages: stage_names,
            names: Vec::new(),
            features: super::features::Features::default(),
            node_of_row: Vec::new(),
            tables: Vec::new(),
        });
    }
    let phase = crate::progress::Phase::start(quiet, "small-graph stages on process 0");
    let mut dataset = Dataset::discover(&job.input)?;
    dataset.tables.retain(|t| !matches!(t.kind, TableKind::Transfers | TableKind::Identifiers));
    let load = crate::cli::LoadArgs { format: job.format, as_of: None, encoding: job.encoding };
    let mut options = crate::input::load_options(&load, ekg_loaders::OnError::Fail)?;
    options.as_of = i64::MAX;
    let mut report = ekg_loaders::load::LoadReport::default();
    let graph = ekg_loaders::load::load_inputs(ekg_loaders::load::dataset_inputs(&dataset), &options, &mut report)?;
    let mut graph = graph.as_of(features.as_of);
    // The gathered rows are the existing entities by kind, then id: this graph's in that order.
    let mut order: Vec<u32> = (0..graph.node_count() as u32).collect();
    order.sort_by(|&a, &b| {
        let key = |v: u32| (graph.kind(NodeId(v)) as u8, graph.external_id(NodeId(v)));
        key(a).cmp(&key(b))
    });
    let same = order.len() == features.node_id.len()
        && order
            .iter()
            .zip(features.kind.iter().zip(&features.node_id))
            .all(|(&v, (&kind, id))| graph.kind(NodeId(v)) == kind && graph.external_id(NodeId(v)) == id.as_str());
    if !same {
        return Err(coded(
            DATA,
            format!(
                "process 0 read {} entities where the cluster gathered {}: the dataset changed during the run?",
                order.len(),
                features.node_id.len()
            ),
        ));
    }
    // Ids in these stages' outputs (controllers, groups' members) follow the personal-data policy.
    crate::pii::policy()?.apply(&mut graph)?;
    let mut scoring = Scoring::new(&graph, &job.config, features.as_of);
    for stage in &stages {
        (stage.run)(&mut scoring)?;
    }
    let names = scoring.features.columns.iter().map(|c| c.name.clone()).collect();
    let mut tables = Vec::new();
    if let Some(groups) = scoring.groups_table.take() {
        tables.push(("groups.parquet", groups));
    }
    if let Some(cascade) = scoring.cascade_table() {
        tables.push(("cascade.parquet", cascade?));
    }
    phase.finish();
    Ok(SmallGraph { stages: stage_names, names, features: std::mem::take(&mut scoring.features), node_of_row: order, tables })
}

/// `features.parquet` with the key columns of `ekg score`'s, the distributed columns and then
/// `small`'s, written a slice of rows at a time so the Arrow copy of the table is one slice.
fn write_features(features: &Features, small: &SmallGraph, path: &Path) -> Result<usize> {
    let policy = crate::pii::policy()?;
    super::features::write_in_slices(path, features.node_id.len(), |slice| {
        let ids: Vec<String> =
            slice.clone().map(|i| policy.shown_id(features.kind[i], features.personal[i], &features.node_id[i])).collect();
        let mut table = Table::new()
            .utf8("node_id", ids.iter().map(String::as_str))
            .describe("Entity key: the external id of the firm, person, account or loan.")
            .utf8("kind", features.kind[slice.clone()].iter().map(|k| k.as_str()))
            .describe("firm | person | account | loan.")
            .timestamp_opt("as_of", ids.iter().map(|_| Some(features.as_of)))
            .describe("The instant the graph was scored as of (UTC).")
            .timestamp_opt("event_timestamp", ids.iter().map(|_| Some(features.as_of)))
            .describe("Feast's event timestamp: the same instant as as_of.");
        for c in &features.columns {
            table = match &c.values {
                HeldValues::F64(x) => table.f64_nan_null(&c.name, x.rows(slice.clone())),
                HeldValues::U32(x) => table.u32_opt(&c.name, x.rows(slice.clone()).into_iter().map(|v| (v != NOT_APPLICABLE).then_some(v))),
            }
            .describe(&c.description);
        }
        if !small.node_of_row.is_empty() {
            table = table.append(small.features.columns_table(super::features::Rows::List(&small.node_of_row[slice.clone()])));
        }
        Ok(table)
    })
}
