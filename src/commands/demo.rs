//! `ekg demo`: a newcomer's first look. The nightly job (`ekg score`) on the bundled sample data
//! into `ekg-demo/` (kept; refused if something there is not ekg's), then what it found and the
//! commands to look closer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use arrow_array::cast::AsArray;
use arrow_array::types::UInt32Type;
use arrow_array::{Array, RecordBatch};

use crate::cli::{DemoArgs, EncodingArg, InputFormat, OnErrorArg, ScoreArgs};
use crate::query::{cell, read_all};

/// The sample data committed with the sources.
pub fn sample_data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sample-data")
}

/// Flags and rings shown in full.
const SHOWN: usize = 5;

pub fn run(args: &DemoArgs, quiet: bool) -> Result<()> {
    let data = args.data.clone().unwrap_or_else(sample_data_dir);
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("ekg-demo"));
    println!("ekg demo: the nightly job on {} into {}\n", data.display(), out.display());
    let score = ScoreArgs {
        input: Some(data.clone()),
        out: Some(out.clone()),
        print_config: false,
        replay: None,
        config: None,
        as_of: None,
        format: InputFormat::Contract,
        encoding: EncodingArg::Utf8,
        on_error: OnErrorArg::Fail,
        memory_limit: None,
        force: false,
        previous: None,
        json: false,
        processes: None,
        hosts: None,
        process: None,
        connect_timeout: 60,
    };
    crate::score::run(&score, quiet)?;
    println!();
    let examples = report(&out)?;
    next_steps(&data, &out, &examples);
    Ok(())
}

/// Every row of a table as column → text, in file order.
fn rows(path: &Path) -> Result<Vec<BTreeMap<String, String>>> {
    let mut out = Vec::new();
    if !path.is_file() {
        return Ok(out);
    }
    for batch in read_all(path)? {
        let names: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
        for row in 0..batch.num_rows() {
            out.push(names.iter().enumerate().filter_map(|(i, n)| Some((n.clone(), cell(&batch, i, row)?))).collect());
        }
    }
    Ok(out)
}

fn report(out: &Path) -> Result<Examples> {
    let mut examples = Examples::default();
    let flags = rows(&out.join("flags.parquet"))?;
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_severity: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &flags {
        *by_kind.entry(f.get("flag").map_or("", String::as_str)).or_default() += 1;
        *by_severity.entry(f.get("severity").map_or("", String::as_str)).or_default() += 1;
    }
    let mut kinds: Vec<(&str, usize)> = by_kind.into_iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let list = |pairs: &[(&str, usize)]| pairs.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ");
    println!("Found");
    println!("  {} flags: {}", flags.len(), list(&["high", "medium", "low"].map(|s| (s, by_severity.get(s).copied().unwrap_or(0)))));
    println!("    by kind: {}", list(&kinds));
    // One high flag of each kind first: the variety of what the job finds.
    let mut shown_kinds = Vec::new();
    println!("\n  Top flags");
    for f in flags.iter().filter(|f| f.get("severity").map(String::as_str) == Some("high")) {
        let kind = f.get("flag").cloned().unwrap_or_default();
        if shown_kinds.contains(&kind) || shown_kinds.len() == SHOWN {
            continue;
        }
        println!("  - [high] {kind}: {}", f.get("reason").map_or("", String::as_str));
        examples.node.get_or_insert_with(|| f.get("node_id").cloned().unwrap_or_default());
        shown_kinds.push(kind);
    }
    let rings = rows(&out.join("rings.parquet"))?;
    let ring = |id: &str| rings.iter().find(|r| r.get("ring_id").map(String::as_str) == Some(id));
    println!("\n  Top rings (the head of each review queue)");
    for case in rows(&out.join("cases.parquet"))?.iter().filter(|c| c.get("rank").map(String::as_str) == Some("0")).take(SHOWN) {
        let id = case.get("lead_ring_id").cloned().unwrap_or_default();
        if let Some(r) = ring(&id) {
            examples.ring.get_or_insert_with(|| id.clone());
            println!(
                "  - ring {id}, {} of {} members, score {:.2}: {}",
                r.get("kind").map_or("", String::as_str),
                r.get("size").map_or("", String::as_str),
                r.get("score").and_then(|s| s.parse::<f64>().ok()).unwrap_or(f64::NAN),
                r.get("explanation").map_or("", String::as_str)
            );
        }
    }
    largest_group(out)?;
    let circle = rings
        .iter()
        .filter(|r| r.get("kind").map(String::as_str) == Some("guarantee_circle"))
        .max_by_key(|r| r.get("size").and_then(|s| s.parse::<u64>().ok()).unwrap_or(0));
    if let Some(c) = circle {
        println!(
            "  Largest guarantee circle: ring {}: {}",
            c.get("ring_id").map_or("", String::as_str),
            c.get("explanation").map_or("", String::as_str)
        );
    }
    Ok(examples)
}

/// Group 0 is the largest: its size, anchor and exposure.
fn largest_group(out: &Path) -> Result<()> {
    let path = out.join("groups.parquet");
    if !path.is_file() {
        return Ok(());
    }
    for batch in read_all(&path)? {
        if let Some((row, size)) = first_of_group_zero(&batch) {
            let get = |name: &str| batch.schema().index_of(name).ok().and_then(|i| cell(&batch, i, row)).unwrap_or_default();
            let exposure = get("group_exposure").parse::<f64>().unwrap_or(0.0);
            println!("\n  Largest group customer: {size} firms under the control of {}, exposure {exposure:.0}", get("anchor_id"));
            return Ok(());
        }
    }
    Ok(())
}

fn first_of_group_zero(batch: &RecordBatch) -> Option<(usize, u32)> {
    let schema = batch.schema();
    let groups = batch.column(schema.index_of("group_id").ok()?).as_primitive_opt::<UInt32Type>()?;
    let sizes = batch.column(schema.index_of("group_size").ok()?).as_primitive_opt::<UInt32Type>()?;
    (0..batch.num_rows()).find(|&r| groups.is_valid(r) && groups.value(r) == 0).map(|r| (r, sizes.value(r)))
}

fn next_steps(data: &Path, out: &Path, first: &Examples) {
    let (data, out) = (data.display(), out.display());
    let ring = first.ring.as_deref().unwrap_or("RING_ID");
    let node = first.node.as_deref().unwrap_or("ID");
    println!("\nNext (with cargo: cargo run --release -- COMMAND)");
    println!("  ekg show ring {ring} --graph {data} --scores {out}");
    println!("  ekg show node {node} --graph {data} --scores {out}");
    println!("  ekg serve {data} --scores {out}      then open http://127.0.0.1:8080/");
}

/// The first ring and flagged entity the report showed, for the next commands.
#[derive(Default)]
struct Examples {
    ring: Option<String>,
    node: Option<String>,
}
