//! `ekg score`: the nightly job. One loaded graph, its as-of view, the configured stages of
//! `stages::PLAN` in dependency order, and one output folder written atomically with its audit
//! manifest last.

pub mod config;
pub mod distributed;
pub mod features;
pub mod flags;
mod job;
mod manifest;
pub mod previous;
mod reuse;
mod stages;

use std::time::Instant;

use anyhow::{Context, Result};
use ekg_loaders::OnError;
use ekg_schema::{Graph, NodeId, NodeKind, Relation};
use serde_json::{json, Value};

use crate::cli::{OnErrorArg, ScoreArgs};
use crate::findings::write_rings;
use crate::input::{load_dataset, load_options, parse_as_of};
use crate::output::{OutputKind, Target};
use crate::progress::Phase;
use crate::table::Table;
use flags::Flag;
use job::ScoreJob;
use stages::{Scoring, Stage, PLAN};

/// One stage's record for the summary and the manifest.
struct StageRecord {
    name: &'static str,
    seconds: f64,
    rows: u64,
    peak_rss_bytes: u64,
}

struct Stages {
    quiet: bool,
    records: Vec<StageRecord>,
}

impl Stages {
    fn run<T>(&mut self, name: &'static str, f: impl FnOnce() -> Result<(T, u64)>) -> Result<T> {
        self.timed(name, Phase::start(self.quiet, name), f)
    }

    /// A stage of the plan, shown as `stage k/N name`.
    fn run_numbered<T>(&mut self, name: &'static str, k: usize, of: usize, f: impl FnOnce() -> Result<(T, u64)>) -> Result<T> {
        self.timed(name, Phase::start(self.quiet, &format!("stage {k}/{of} {name}")), f)
    }

    fn timed<T>(&mut self, name: &'static str, phase: Phase, f: impl FnOnce() -> Result<(T, u64)>) -> Result<T> {
        let started = Instant::now();
        let (value, rows) = f()?;
        phase.finish();
        self.records.push(StageRecord { name, seconds: started.elapsed().as_secs_f64(), rows, peak_rss_bytes: peak_rss_bytes() });
        // The peak is a high-water mark (freed memory stays in the heap, see `tune_malloc`); what a
        // stage leaves live for the next is the heap in use.
        tracing::debug!(stage = name, heap_in_use_bytes = heap_in_use_bytes(), "stage done");
        Ok(value)
    }
}

/// Bytes the allocator has handed out and not had back, 0 where unknown.
fn heap_in_use_bytes() -> u64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 only reads the allocator's counters.
        let info = unsafe { libc::mallinfo2() };
        (info.uordblks + info.hblkhd) as u64
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    0
}

/// The process's peak resident memory so far (Linux VmHWM), 0 where unknown.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()))
        .map_or(0, |kb| kb * 1024)
}

pub fn run(args: &ScoreArgs, quiet: bool) -> Result<()> {
    if args.print_config {
        print!("{}", config::ScoreConfig::load(args.config.as_deref())?.documented()?);
        return Ok(());
    }
    let job = ScoreJob::from_args(args)?;
    let config = &job.config;
    let target = Target::claim(&job.out, OutputKind::ScoreDir, job.force)?;
    let started = Instant::now();
    let mut stages = Stages { quiet, records: Vec::new() };

    let pii = crate::pii::policy()?;
    let (graph, load_report) = stages.run("load", || {
        let (mut graph, report) = open_input(&job)?;
        // Every table and sentence below prints ids as the personal-data policy shows them.
        pii.apply(&mut graph)?;
        let rows = graph.node_count() as u64 + graph.total_edge_count() as u64;
        Ok(((graph, report), rows))
    })?;
    let as_of = match &job.as_of {
        Some(text) => parse_as_of(text)?,
        None => graph.latest_transfer_ts().unwrap_or_else(|| chrono::Utc::now().timestamp_micros()),
    };
    let (mut graph, view) = stages.run("as_of", || {
        let (g, view) = graph.as_of_with_report(as_of);
        let rows = g.edge_count(Relation::Transfer) as u64;
        Ok(((g, view), rows))
    })?;
    if view.undated_defaults > 0 {
        eprintln!(
            "warning: {} defaulted firms and loans have no defaulted_on date; they count as defaulted at every --as-of",
            view.undated_defaults
        );
    }
    // The output is staged from the start: the feature columns wait on its disk, not in memory.
    let staged = target.stage_dir()?;
    let dir = staged.path().to_path_buf();
    // So do the graph's strings, renamed (pseudonyms) into new heap memory; only memory is lost
    // if the folder cannot take them.
    stages.run("spill", || {
        if let Err(e) = graph.spill_strings(&dir) {
            tracing::warn!("cannot move the graph's strings to {}: {e}; they stay in memory", dir.display());
        }
        Ok(((), graph.node_count() as u64))
    })?;
    // The networks the stages share (risk, guarantees, impact), timed so the table adds up.
    let mut scoring = stages.run("networks", || {
        let scoring = Scoring::new(&graph, config, as_of);
        let links = scoring.network_links();
        Ok((scoring, links))
    })?;
    scoring.features.spill_to(&dir);
    scoring.out_dir = Some(dir.clone());
    if let Some(dir) = &job.previous {
        scoring.previous = Some(stages.run("previous", || {
            let previous = previous::Previous::read(dir, &graph, as_of)?;
            let rows = (previous.rings.len() + previous.flags.len()) as u64;
            Ok((previous, rows))
        })?);
    }
    let plan: Vec<&Stage> = PLAN.iter().filter(|stage| (stage.enabled)(config)).collect();
    for (k, stage) in plan.iter().enumerate() {
        stages.run_numbered(stage.name, k + 1, plan.len(), || Ok(((), (stage.run)(&mut scoring)?)))?;
    }

    let continuity = stages.run("continuity", || {
        let continuity = Continuity::of(&mut scoring);
        scoring.release_stage_state();
        let rows = scoring.changes.len() as u64;
        Ok((continuity, rows))
    })?;

    // Write everything into the staged folder; the manifest last; then move it into place.
    let outputs = stages.run("write", || {
        let outputs = write_tables(&mut scoring, &continuity, &dir)?;
        let rows = outputs.len() as u64;
        Ok((outputs, rows))
    })?;
    let firm_count = graph.kind_count(NodeKind::Firm);
    let mut summary = summarise(&stages, &scoring.flags, &scoring.rings, scoring.debtrank_total, as_of);
    summary["ring_notes"] = Value::Object(std::mem::take(&mut scoring.ring_notes));
    summary["ring_seconds_by_detector"] = Value::Object(std::mem::take(&mut scoring.ring_seconds));
    summary["cases"] = crate::cases::summary(&scoring.rings, &scoring.review);
    summary["alert_volume_per_100k_firms"] = alert_volume(&scoring.flags, &scoring.rings, &scoring.review, firm_count);
    summary["as_of_view"] = json!({
        "nodes_removed": {"firms": view.nodes_removed[0], "persons": view.nodes_removed[1], "accounts": view.nodes_removed[2], "loans": view.nodes_removed[3]},
        "edges_removed": Relation::ALL.iter().zip(&view.edges_removed).map(|(r, c)| (r.as_str().to_string(), json!(c))).collect::<serde_json::Map<_, _>>(),
        "identifier_links_removed": view.identifier_links_removed,
        "defaults_after_as_of": view.later_defaults,
        "defaults_without_date": view.undated_defaults,
    });
    if let Some(list) = &scoring.prospects {
        summary["prospects"] = json!({"rows": list.rows.len(), "excluded": list.excluded});
    }
    summary["pii"] = pii.describe();
    summary["stage_inputs"] = json!(scoring.stage_inputs);
    summary["reused"] = json!(scoring.reused);
    // Exact bits: JSON's decimal need not read back to the same f64.
    summary["debtrank_reuse"] =
        json!({"rows": scoring.debtrank_rows, "total_bits": scoring.debtrank_total.map(|t| format!("{:016x}", t.to_bits()))});
    if let Some(p) = &scoring.previous {
        summary["previous"] = json!({
            "dir": p.dir.display().to_string(),
            "as_of": chrono::DateTime::from_timestamp_micros(p.as_of).map(|t| t.to_rfc3339()),
            "changes": change_counts(&scoring.changes),
        });
    }
    manifest::write(
        &dir,
        &manifest::Context {
            input: &job.input,
            graph: &graph,
            report: load_report.as_ref(),
            config,
            as_of,
            stages: stages.records.iter().map(|s| (s.name, s.seconds, s.rows, s.peak_rss_bytes)).collect(),
            outputs: &outputs,
            summary: &summary,
            invocation: job.invocation(),
        },
    )?;
    let out = staged.commit()?;
    report(&summary, &stages, &out, scoring.rings.len(), started.elapsed().as_secs_f64(), job.json);
    Ok(())
}

/// Tonight's rings and flags against the previous night's (first night: all new).
struct Continuity {
    rings: previous::RingHistory,
    flag_first_seen: Vec<i64>,
    flag_nights: Vec<u32>,
}

impl Continuity {
    /// Compares, and adds the ring and flag rows to `scoring.changes`.
    fn of(scoring: &mut Scoring) -> Continuity {
        let (graph, as_of) = (scoring.graph, scoring.as_of);
        let Some(before) = &scoring.previous else {
            return Continuity {
                rings: previous::RingHistory::first_night(scoring.rings.len(), as_of),
                flag_first_seen: vec![as_of; scoring.flags.len()],
                flag_nights: vec![1; scoring.flags.len()],
            };
        };
        let facts = previous::ring_facts(graph, &scoring.rings, &scoring.ring_ids, &scoring.owner, before.as_of);
        let (rings, ring_changes) = previous::compare_rings(&facts, &before.rings, as_of);
        let flag_facts: Vec<previous::FlagFacts> = scoring
            .flags
            .iter()
            .map(|f| previous::FlagFacts {
                node_id: graph.external_id(NodeId(f.node)),
                flag: f.flag,
                severity: f.severity.as_str(),
                ring_id: f.ring_id.as_deref(),
            })
            .collect();
        let (flag_first_seen, flag_nights, flag_changes) = previous::compare_flags(&flag_facts, &before.flags, as_of);
        scoring.changes.extend(ring_changes);
        scoring.changes.extend(flag_changes);
        Continuity { rings, flag_first_seen, flag_nights }
    }
}

/// Changes per subject and kind of change, for the summary.
fn change_counts(changes: &[previous::Change]) -> Value {
    let mut counts: std::collections::BTreeMap<&str, std::collections::BTreeMap<&str, u64>> = std::collections::BTreeMap::new();
    for c in changes {
        *counts.entry(c.subject).or_default().entry(c.change).or_default() += 1;
    }
    json!(counts)
}

/// Every table of the job into `dir`; returns the file names written.
fn write_tables(scoring: &mut Scoring, continuity: &Continuity, dir: &std::path::Path) -> Result<Vec<String>> {
    let graph = scoring.graph;
    let mut outputs: Vec<String> = Vec::new();
    let mut add = |name: &str| outputs.push(name.to_string());
    scoring.features.write(graph, scoring.as_of, &dir.join("features.parquet"))?;
    add("features.parquet");
    std::fs::write(dir.join("features.md"), scoring.features.dictionary()).context("cannot write features.md")?;
    add("features.md");
    // Nothing reads the matrix after this: the other tables reuse its memory.
    scoring.features = features::Features::default();
    flags_table(graph, &scoring.flags)
        .timestamp_opt("first_seen", continuity.flag_first_seen.iter().map(|&t| Some(t)))
        .u32_opt("nights_seen", continuity.flag_nights.iter().map(|&n| Some(n)))
        .documented(&crate::dictionary::FLAGS)?
        .write(&dir.join("flags.parquet"))?;
    add("flags.parquet");
    if scoring.previous.is_some() {
        let changes = &scoring.changes;
        Table::new()
            .utf8("subject", changes.iter().map(|c| c.subject))
            .utf8("subject_id", changes.iter().map(|c| c.subject_id.as_str()))
            .utf8_opt("node_id", changes.iter().map(|c| c.node_id.as_deref()))
            .utf8("change", changes.iter().map(|c| c.change))
            .utf8_opt("previous_id", changes.iter().map(|c| c.previous_id.as_deref()))
            .utf8("what", changes.iter().map(|c| c.what.as_str()))
            .documented(&crate::dictionary::CHANGES)?
            .write(&dir.join("changes.parquet"))?;
        add("changes.parquet");
    }
    for path in write_rings(graph, &scoring.rings, &scoring.ring_ids, Some(&continuity.rings), &scoring.review, dir)? {
        add(&std::path::Path::new(&path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or(path));
    }
    if let Some((nodes, community)) = &scoring.communities {
        let t = Table::new()
            .utf8("node_id", nodes.iter().map(|&v| graph.external_id(NodeId(v))))
            .utf8("kind", nodes.iter().map(|&v| graph.kind(NodeId(v)).as_str()))
            .u32("community", community.iter().copied())
            .documented(&crate::dictionary::COMMUNITIES)?;
        t.write(&dir.join("communities.parquet"))?;
        add("communities.parquet");
    }
    if let Some(t) = scoring.groups_table.take() {
        t.write(&dir.join("groups.parquet"))?;
        add("groups.parquet");
    } else if scoring.written.contains(&"groups.parquet") {
        add("groups.parquet");
    }
    if let Some(table) = scoring.cascade_table() {
        table?.write(&dir.join("cascade.parquet"))?;
        add("cascade.parquet");
    }
    if let Some(found) = &scoring.clusters {
        crate::whitelist::clusters_table(graph, found)?.write(&dir.join("clusters.parquet"))?;
        outputs.push("clusters.parquet".to_string());
    }
    if let Some(list) = &scoring.prospects {
        crate::whitelist::table(graph, list, scoring.clusters.as_ref().map(|c| c.cluster_of.as_slice()))?
            .write(&dir.join("prospects.parquet"))?;
        outputs.push("prospects.parquet".to_string());
    }
    let files: Vec<&str> = outputs.iter().map(String::as_str).collect();
    std::fs::write(dir.join("tables.md"), crate::dictionary::markdown(&files)).context("cannot write tables.md")?;
    outputs.push("tables.md".to_string());
    Ok(outputs)
}

/// The run's summary: JSON on stdout with `--json`, else a stage table and the counts.
fn report(summary: &Value, stages: &Stages, out: &std::path::Path, rings: usize, total: f64, as_json: bool) {
    if as_json {
        let mut s = summary.clone();
        s["out"] = json!(out);
        s["seconds"] = json!(total);
        s["stages"] = stages
            .records
            .iter()
            .map(|r| json!({"stage": r.name, "seconds": r.seconds, "rows": r.rows, "peak_rss_bytes": r.peak_rss_bytes}))
            .collect();
        println!("{s}");
    } else {
        println!("{:<12} {:>9} {:>12} {:>10}", "stage", "seconds", "rows", "peak MiB");
        for r in &stages.records {
            println!("{:<12} {:>9.2} {:>12} {:>10}", r.name, r.seconds, r.rows, r.peak_rss_bytes >> 20);
        }
        println!("flags raised: {} ({} high); rings: {rings}; total {total:.1}s", summary["flags"], summary["high_flags"]);
        println!("wrote {}", out.display());
    }
}

fn summarise(stages: &Stages, flags: &[Flag], rings: &[ekg_algorithms::rings::Ring], debtrank: Option<f64>, as_of: i64) -> Value {
    let mut by_flag = serde_json::Map::new();
    for f in flags {
        let e = by_flag.entry(f.flag.to_string()).or_insert(json!(0));
        *e = json!(e.as_u64().unwrap_or(0) + 1);
    }
    json!({
        "as_of": chrono::DateTime::from_timestamp_micros(as_of).map(|t| t.to_rfc3339()),
        "flags": flags.len(),
        "high_flags": flags.iter().filter(|f| f.severity == flags::Severity::High).count(),
        "flags_by_kind": by_flag,
        "rings": rings.len(),
        "debtrank": debtrank,
        "stages": stages.records.len(),
    })
}

/// Rings per kind and flags per severity for every 100,000 firms: the load a fraud team would
/// carry, comparable across portfolio sizes.
fn alert_volume(flags: &[Flag], rings: &[ekg_algorithms::rings::Ring], review: &crate::cases::Review, firms: usize) -> Value {
    let per = |count: usize| if firms == 0 { 0.0 } else { count as f64 * 100_000.0 / firms as f64 };
    let mut by_kind = serde_json::Map::new();
    for kind in ekg_algorithms::rings::RingKind::ALL {
        let count = rings.iter().filter(|r| r.kind == kind).count();
        if count > 0 {
            by_kind.insert(kind.as_str().into(), json!(per(count)));
        }
    }
    let high = flags.iter().filter(|f| f.severity == flags::Severity::High).count();
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for f in flags {
        *counts.entry(f.flag).or_default() += 1;
    }
    let flags_by_kind: serde_json::Map<String, Value> = counts.into_iter().map(|(k, c)| (k.to_string(), json!(per(c)))).collect();
    let queued = review.cases.iter().filter(|c| c.lead.is_some()).count();
    json!({"rings": by_kind, "queued_cases": per(queued), "flags": per(flags.len()), "high_flags": per(high), "flags_by_kind": flags_by_kind})
}

fn flags_table(graph: &Graph, flags: &[Flag]) -> Table {
    Table::new()
        .utf8("node_id", flags.iter().map(|f| graph.external_id(NodeId(f.node))))
        .utf8("flag", flags.iter().map(|f| f.flag))
        .utf8("severity", flags.iter().map(|f| f.severity.as_str()))
        .utf8("reason", flags.iter().map(|f| f.reason.as_str()))
        .utf8_opt("ring_id", flags.iter().map(|f| f.ring_id.as_deref()))
        .utf8_opt("path", flags.iter().map(|f| f.path.as_deref()))
}

/// Fault injection for the reliability tests: `EKG_INJECT_PANIC=STAGE` panics inside a rayon
/// worker at that stage, to prove a worker's panic ends the run with exit 70 and no output.
fn inject_worker_panic(stage: &str) {
    use rayon::prelude::*;
    if std::env::var("EKG_INJECT_PANIC").is_ok_and(|s| s == stage) {
        (0..64u32).into_par_iter().for_each(|i| {
            if i == 37 {
                panic!("injected fault in stage {stage}");
            }
        });
    }
}

/// Loads the input: a snapshot, or a dataset folder (no timestamp is refused: `--as-of` filters).
fn open_input(args: &ScoreJob) -> Result<(Graph, Option<ekg_loaders::load::LoadReport>)> {
    if args.input.is_file() {
        let graph =
            ekg_schema::snapshot::read_snapshot(&args.input).with_context(|| format!("cannot open graph {}", args.input.display()))?;
        return Ok((graph, None));
    }
    if !args.input.exists() {
        return Err(ekg_loaders::Error::Missing { name: "dataset".into(), path: args.input.clone() }.into());
    }
    // Memory pre-flight, as `ekg build`: refuse before loading what cannot fit.
    if args.format == crate::cli::InputFormat::Contract {
        let estimate = ekg_loaders::estimate::estimate_dataset(&ekg_loaders::Dataset::discover(&args.input)?)?;
        let limit = match &args.memory_limit {
            Some(text) => Some(crate::memory::parse_bytes(text)?),
            None => crate::memory::available_memory(),
        };
        crate::memory::preflight(&estimate, limit, args.force)?;
    }
    let load = crate::cli::LoadArgs { format: args.format, as_of: None, encoding: args.encoding };
    let on_error = match args.on_error {
        OnErrorArg::Fail => OnError::Fail,
        OnErrorArg::Skip => OnError::Skip,
    };
    let mut options = load_options(&load, on_error)?;
    options.as_of = i64::MAX;
    let (graph, report) = load_dataset(&args.input, args.format, &options)?;
    Ok((graph, Some(report)))
}
