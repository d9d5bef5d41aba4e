//! End-to-end tests of the `ekg` binary: exit codes, messages, determinism, the demo.

mod architecture;
mod as_of;
mod continuity;
mod dictionary;
mod distributed;
mod metamorphic;
mod query;
mod risk;
mod safety;
mod score;
mod serve;

use std::path::Path;
use std::process::{Command, Output};

fn ekg(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ekg")).args(args).arg("--quiet").output().expect("ekg runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The names in `dir` other than `except`: what a run left beside its output.
fn names_in(dir: &Path, except: &str) -> Vec<String> {
    std::fs::read_dir(dir).expect("dir").flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n != except).collect()
}

fn sample() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data").display().to_string()
}

#[test]
fn demo_runs_the_nightly_job_on_the_sample_data_and_says_what_it_found() {
    let dir = tempfile::tempdir().expect("temp");
    let out = Command::new(env!("CARGO_BIN_EXE_ekg")).arg("demo").arg("--quiet").current_dir(dir.path()).output().expect("ekg runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for expected in ["Found", "flags: high", "Top flags", "Top rings", "Largest group customer", "ekg show ring", "ekg serve"] {
        assert!(stdout.contains(expected), "{expected} missing from:\n{stdout}");
    }
    assert!(dir.path().join("ekg-demo/manifest.json").is_file(), "the demo keeps its score folder");
    // A folder it did not write is refused and left alone.
    let foreign = tempfile::tempdir().expect("temp");
    std::fs::create_dir(foreign.path().join("ekg-demo")).expect("mkdir");
    std::fs::write(foreign.path().join("ekg-demo/notes.txt"), "mine").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_ekg")).arg("demo").arg("--quiet").current_dir(foreign.path()).output().expect("ekg runs");
    assert_eq!(out.status.code(), Some(73), "{}", text(&out.stderr));
    assert!(foreign.path().join("ekg-demo/notes.txt").is_file());
}

#[test]
fn build_then_info_from_the_snapshot() {
    let dir = tempfile::tempdir().expect("temp");
    let snapshot = dir.path().join("g.ekg");
    let out = ekg(&["build", &sample(), "--out", snapshot.to_str().unwrap_or_default(), "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let built: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let out = ekg(&["info", snapshot.to_str().unwrap_or_default(), "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(info["nodes"], built["nodes"]);
    assert_eq!(info["nodes_by_kind"][0], serde_json::json!(["firm", 10000]));
}

#[test]
fn bad_data_exits_65_naming_file_row_and_column() {
    let dir = tempfile::tempdir().expect("temp");
    std::fs::write(dir.path().join("firms.csv"), "firm_id,pd\nF1,0.1\nF2,7\n").expect("write");
    let out = ekg(&["validate", dir.path().to_str().unwrap_or_default()]);
    assert_eq!(out.status.code(), Some(65));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("firms.csv: row 2: column `pd`: 7 must be in [0, 1]"), "{stdout}");
    let out = ekg(&["build", dir.path().to_str().unwrap_or_default(), "--out", dir.path().join("g.ekg").to_str().unwrap_or_default()]);
    assert_eq!(out.status.code(), Some(65));
    assert!(text(&out.stderr).contains("row 2: column `pd`"), "{}", text(&out.stderr));
    assert!(!dir.path().join("g.ekg").exists(), "nothing half-written");
    // Under skip the bad row goes to rejects.csv and the build succeeds.
    let out = ekg(&[
        "build",
        dir.path().to_str().unwrap_or_default(),
        "--on-error",
        "skip",
        "--out",
        dir.path().join("g.ekg").to_str().unwrap_or_default(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rejects = std::fs::read_to_string(dir.path().join("rejects.csv")).expect("rejects.csv");
    assert!(rejects.contains("firms,") && rejects.contains(",2,pd,out_of_range,"), "{rejects}");
}

#[test]
fn missing_input_exits_66_and_usage_errors_exit_2() {
    let out = ekg(&["validate", "/nonexistent/dataset"]);
    assert_eq!(out.status.code(), Some(66));
    assert!(text(&out.stderr).contains("input 'dataset' not found: /nonexistent/dataset"));
    let out = ekg(&["info", "/nonexistent/graph.ekg"]);
    assert_eq!(out.status.code(), Some(66));
    let out = ekg(&["build"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_build_that_cannot_fit_is_refused_with_the_numbers() {
    let out = ekg(&["build", &sample(), "--memory-limit", "1M", "--out", "/tmp/never.ekg"]);
    assert_eq!(out.status.code(), Some(78));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("needs ~") && stderr.contains("available (n=44933, m="), "{stderr}");
    let out = ekg(&["build", &sample(), "--estimate", "--json"]);
    assert!(out.status.success());
    let estimate: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(estimate["estimate"]["nodes"], 44933);
}

#[test]
fn a_corrupt_snapshot_exits_65() {
    let dir = tempfile::tempdir().expect("temp");
    let path = dir.path().join("g.ekg");
    let out = ekg(&["build", &sample(), "--out", path.to_str().unwrap_or_default()]);
    assert!(out.status.success());
    let bytes = std::fs::read(&path).expect("snapshot");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncate");
    let out = ekg(&["info", path.to_str().unwrap_or_default()]);
    assert_eq!(out.status.code(), Some(65));
    assert!(text(&out.stderr).contains("corrupt snapshot"), "{}", text(&out.stderr));
}

#[test]
fn generate_is_deterministic_for_a_seed_and_valid() {
    let dir = tempfile::tempdir().expect("temp");
    let (a, b, c) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("c"));
    for (path, seed, threads) in [(&a, "7", "1"), (&b, "7", "2"), (&c, "8", "2")] {
        let out = ekg(&["generate", "--firms", "500", "--seed", seed, "--threads", threads, "--out", path.to_str().unwrap_or_default()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    for table in ["firms", "transfers", "identifiers", "truth/rings"] {
        let read = |dir: &Path| std::fs::read(dir.join(format!("{table}.parquet"))).expect("table");
        assert_eq!(read(&a), read(&b), "{table} differs across thread counts");
        assert_ne!(read(&a), read(&c), "{table} ignores the seed");
    }
    let out = ekg(&["validate", a.to_str().unwrap_or_default()]);
    assert!(out.status.success(), "{}", text(&out.stdout));
}

fn read_batches(path: &Path) -> Vec<arrow_array::RecordBatch> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet").build().expect("reader");
    reader.map(|b| b.expect("batch")).collect()
}

/// A text column as strings, null as None.
fn read_parquet_column_str(path: &Path, column: &str) -> Vec<Option<String>> {
    use arrow_array::cast::AsArray;
    let mut out = Vec::new();
    for batch in read_batches(path) {
        let i = batch.schema().index_of(column).expect("column");
        out.extend(batch.column(i).as_string::<i32>().iter().map(|v| v.map(str::to_string)));
    }
    out
}

/// One primitive column of every batch, nulls as None.
fn read_primitive<T: arrow_array::types::ArrowPrimitiveType>(path: &Path, column: &str) -> Vec<Option<T::Native>> {
    use arrow_array::cast::AsArray;
    let mut out = Vec::new();
    for batch in read_batches(path) {
        let i = batch.schema().index_of(column).expect("column");
        out.extend(batch.column(i).as_primitive::<T>().iter());
    }
    out
}

/// A non-null primitive column.
fn read_required<T: arrow_array::types::ArrowPrimitiveType>(path: &Path, column: &str) -> Vec<T::Native> {
    read_primitive::<T>(path, column).into_iter().map(|v| v.expect("non-null")).collect()
}

fn read_parquet_column_u32(path: &Path, column: &str) -> Vec<u32> {
    read_required::<arrow_array::types::UInt32Type>(path, column)
}

fn read_parquet_column_u32_opt(path: &Path, column: &str) -> Vec<Option<u32>> {
    read_primitive::<arrow_array::types::UInt32Type>(path, column)
}

/// A nullable timestamp column (µs).
fn read_parquet_column_ts_opt(path: &Path, column: &str) -> Vec<Option<i64>> {
    read_primitive::<arrow_array::types::TimestampMicrosecondType>(path, column)
}

fn read_parquet_column_u64(path: &Path, column: &str) -> Vec<u64> {
    read_required::<arrow_array::types::UInt64Type>(path, column)
}

fn read_parquet_column_f64(path: &Path, column: &str) -> Vec<f64> {
    read_required::<arrow_array::types::Float64Type>(path, column)
}

#[test]
fn run_writes_one_row_per_node_for_every_algorithm() {
    let dir = tempfile::tempdir().expect("temp");
    let snapshot = dir.path().join("g.ekg");
    assert!(ekg(&["build", &sample(), "--out", snapshot.to_str().unwrap_or_default()]).status.success());
    let out = dir.path().join("out");
    let graph = snapshot.to_str().unwrap_or_default();
    let out_dir = out.to_str().unwrap_or_default();
    for (algorithm, extra) in [
        ("pagerank", vec!["--relations", "transfers,account_owner"]),
        ("ppr", vec!["--relations", "guarantees,shareholdings,supply_links", "--undirected"]),
        ("wcc", vec!["--relations", "guarantees"]),
        ("scc", vec!["--relations", "guarantees"]),
        ("lpa", vec!["--relations", "supply_links"]),
        ("louvain", vec!["--relations", "supply_links,guarantees", "--weighted"]),
        ("leiden", vec!["--relations", "supply_links,guarantees", "--weighted", "--resolution", "2"]),
        ("triangles", vec!["--relations", "supply_links"]),
        ("kcore", vec!["--relations", "supply_links"]),
    ] {
        let mut args = vec!["run", algorithm, "--graph", graph, "--out", out_dir, "--json"];
        args.extend(extra);
        let result = ekg(&args);
        assert!(result.status.success(), "{algorithm}: {}", text(&result.stderr));
        let summary: serde_json::Value = serde_json::from_slice(&result.stdout).expect("json");
        assert_eq!(summary["algorithm"], algorithm);
        assert!(out.join(format!("{algorithm}.parquet")).exists());
    }
    let scores = read_parquet_column_f64(&out.join("pagerank.parquet"), "pagerank");
    assert_eq!(scores.len(), 44933, "transfers connect all kinds, so every node has a row");
    assert!((scores.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    let ppr = read_parquet_column_f64(&out.join("ppr.parquet"), "ppr");
    assert_eq!(ppr.len(), 22000, "guarantees, shareholdings and supply links connect firms and persons");
    // An unknown relation is a usage error.
    let bad = ekg(&["run", "wcc", "--graph", graph, "--relations", "friendships", "--out", out_dir]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("unknown relation 'friendships'"));
}

#[test]
fn tiny_datasets_generate_and_build() {
    // Regression: 20 firms once underflowed the ring placement (found while seeding the fuzzers).
    let dir = tempfile::tempdir().expect("temp");
    for firms in ["20", "33", "61"] {
        let out = dir.path().join(format!("d{firms}"));
        let result = ekg(&["generate", "--firms", firms, "--out", out.to_str().unwrap_or_default()]);
        assert!(result.status.success(), "{firms}: {}", text(&result.stderr));
        let snapshot = dir.path().join(format!("d{firms}.ekg"));
        let built = ekg(&["build", out.to_str().unwrap_or_default(), "--out", snapshot.to_str().unwrap_or_default()]);
        assert!(built.status.success(), "{firms}: {}", text(&built.stderr));
    }
    let small = ekg(&["generate", "--firms", "1", "--out", dir.path().join("d1").to_str().unwrap_or_default()]);
    assert_eq!(small.status.code(), Some(2), "below the minimum is a usage error");
}

#[test]
fn fuzzer_finds_are_regression_tests() {
    // Found by `cargo fuzz run parquet_table` (a slow unit: a huge declared list in the footer's
    // metadata): refused with the file named and exit 65, never a crash.
    let dir = tempfile::tempdir().expect("temp");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz/slow_metadata.parquet");
    std::fs::copy(&fixture, dir.path().join("firms.parquet")).expect("copy");
    let out = ekg(&["validate", dir.path().to_str().unwrap_or_default()]);
    assert_eq!(out.status.code(), Some(65), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("firms.parquet") && text(&out.stderr).contains("not valid Parquet"));
}
