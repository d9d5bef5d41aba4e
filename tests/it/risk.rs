//! The risk analyses end to end on the sample data: planted pyramids, groups and guarantee circles
//! from the generator's truth/ are recovered; contagion outputs keep their invariants.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::{ekg, read_parquet_column_f64, read_parquet_column_str, read_parquet_column_u32, sample, text};

fn run(algorithm: &str, out: &Path, extra: &[&str]) -> serde_json::Value {
    let graph = sample();
    let mut args = vec!["run", algorithm, "--graph", &graph, "--out", out.to_str().unwrap_or_default(), "--json", "--reveal-pii"];
    args.extend_from_slice(extra);
    let result = ekg(&args);
    assert!(result.status.success(), "{algorithm}: {}", text(&result.stderr));
    serde_json::from_slice(&result.stdout).expect("json summary")
}

fn truth(table: &str) -> PathBuf {
    Path::new(&sample()).join("truth").join(format!("{table}.parquet"))
}

fn by_id(ids: Vec<Option<String>>) -> HashMap<String, usize> {
    ids.into_iter().enumerate().map(|(i, id)| (id.unwrap_or_default(), i)).collect()
}

#[test]
fn ownership_recovers_every_planted_pyramid_controller() {
    let dir = tempfile::tempdir().expect("temp");
    let summary = run("ownership", dir.path(), &[]);
    assert_eq!(summary["closed_cycles"], 0);
    let table = dir.path().join("ownership.parquet");
    let row = by_id(read_parquet_column_str(&table, "node_id"));
    let controller = read_parquet_column_str(&table, "controller_id");
    let path = read_parquet_column_str(&table, "control_path");
    let planted_firms = read_parquet_column_str(&truth("pyramids"), "firm_id");
    let planted_controllers = read_parquet_column_str(&truth("pyramids"), "controller_id");
    assert!(planted_firms.len() > 100);
    for (firm, person) in planted_firms.iter().zip(&planted_controllers) {
        let firm = firm.as_deref().unwrap_or_default();
        let i = row[firm];
        assert_eq!(controller[i], *person, "controller of planted pyramid firm {firm}");
        // Evidence: the path starts at the controller and ends at the firm.
        let p = path[i].as_deref().unwrap_or_default();
        assert!(p.starts_with(person.as_deref().unwrap_or("?")) && p.ends_with(firm), "{p}");
    }
    // Every UBO row is at or above the threshold and every firm's UBO shares sum to at most 1.
    let ubo = dir.path().join("ownership_ubo.parquet");
    let shares = read_parquet_column_f64(&ubo, "share");
    let firms = read_parquet_column_str(&ubo, "firm_id");
    let mut total: BTreeMap<String, f64> = BTreeMap::new();
    for (f, s) in firms.iter().zip(&shares) {
        assert!(*s >= 0.25 - 1e-9);
        *total.entry(f.clone().unwrap_or_default()).or_default() += s;
    }
    assert!(total.values().all(|&t| t <= 1.0 + 1e-9));
}

#[test]
fn groups_put_each_planted_pyramid_in_one_group() {
    let dir = tempfile::tempdir().expect("temp");
    run("groups", dir.path(), &["--join-guarantees", "--join-legal-rep"]);
    let table = dir.path().join("groups.parquet");
    let row = by_id(read_parquet_column_str(&table, "node_id"));
    let group = read_parquet_column_u32(&table, "group_id");
    let size = read_parquet_column_u32(&table, "group_size");
    let reason = read_parquet_column_str(&table, "reason");
    let planted_firms = read_parquet_column_str(&truth("pyramids"), "firm_id");
    let planted_group = super::read_parquet_column_u64(&truth("pyramids"), "group_id");
    let mut seen: BTreeMap<u64, u32> = BTreeMap::new();
    for (firm, g) in planted_firms.iter().zip(&planted_group) {
        let i = row[firm.as_deref().unwrap_or_default()];
        let found = *seen.entry(*g).or_insert(group[i]);
        assert_eq!(group[i], found, "pyramid {g} split across groups");
        assert!(size[i] >= 2);
        assert!(reason[i].is_some(), "member {firm:?} without a reason");
    }
}

#[test]
fn guarantee_circles_contain_every_planted_circle() {
    let dir = tempfile::tempdir().expect("temp");
    let summary = run("guarantees", dir.path(), &[]);
    assert!(summary["circles"].as_u64().unwrap_or(0) >= 2);
    let table = dir.path().join("guarantees.parquet");
    let row = by_id(read_parquet_column_str(&table, "node_id"));
    let circle = super::read_parquet_column_u32_opt(&table, "circle_id");
    let kinds = read_parquet_column_str(&truth("rings"), "kind");
    let rings = super::read_parquet_column_u64(&truth("rings"), "ring_id");
    let members = read_parquet_column_str(&truth("rings"), "member_id");
    let mut planted: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for ((k, r), m) in kinds.iter().zip(&rings).zip(&members) {
        if k.as_deref() == Some("guarantee_circle") {
            planted.entry(*r).or_default().push(m.clone().unwrap_or_default());
        }
    }
    assert!(!planted.is_empty());
    for (r, ms) in &planted {
        let ids: BTreeSet<Option<u32>> = ms.iter().map(|m| circle[row[m]]).collect();
        assert_eq!(ids.len(), 1, "planted circle {r} split: {ids:?}");
        assert!(ids.iter().all(Option::is_some), "planted circle {r} not found");
    }
}

#[test]
fn debtrank_and_cascade_keep_their_invariants() {
    let dir = tempfile::tempdir().expect("temp");
    let summary = run("debtrank", dir.path(), &[]);
    let debtrank = summary["debtrank"].as_f64().unwrap_or(-1.0);
    assert!(debtrank > 0.0 && debtrank <= 1.0, "{summary}");
    let distress = read_parquet_column_f64(&dir.path().join("debtrank.parquet"), "distress");
    assert!(distress.iter().all(|h| (0.0..=1.0).contains(h)));
    // A harsher scenario never lowers anyone's distress: the same firms shocked harder.
    let mild = run("debtrank", &dir.path().join("mild"), &["--shock-region", "Shanghai", "--psi", "0.2"]);
    let harsh = run("debtrank", &dir.path().join("harsh"), &["--shock-region", "Shanghai", "--psi", "0.8"]);
    assert_eq!(mild["shocked_firms"], harsh["shocked_firms"]);
    let m = read_parquet_column_f64(&dir.path().join("mild/debtrank.parquet"), "distress");
    let h = read_parquet_column_f64(&dir.path().join("harsh/debtrank.parquet"), "distress");
    assert!(m.iter().zip(&h).all(|(a, b)| a <= b));

    let summary = run("cascade", dir.path(), &["--runs", "2000", "--seed", "9"]);
    assert!(summary["expected_defaults_with_contagion"].as_f64() >= summary["expected_defaults_without_contagion"].as_f64());
    let path = dir.path().join("cascade.parquet");
    let pd = read_parquet_column_f64(&path, "pd");
    let p = read_parquet_column_f64(&path, "cascade_pd");
    let lo = read_parquet_column_f64(&path, "ci_low");
    let hi = read_parquet_column_f64(&path, "ci_high");
    for i in 0..pd.len() {
        assert!(p[i] >= pd[i] && lo[i] <= p[i] && p[i] <= hi[i] && hi[i] <= 1.0, "row {i}");
    }
    // The same seed under another thread count gives the same bytes.
    let again = dir.path().join("again");
    let graph = sample();
    let result = ekg(&[
        "run",
        "cascade",
        "--graph",
        &graph,
        "--out",
        again.to_str().unwrap_or_default(),
        "--runs",
        "2000",
        "--seed",
        "9",
        "--threads",
        "1",
    ]);
    assert!(result.status.success());
    assert_eq!(std::fs::read(&path).ok(), std::fs::read(again.join("cascade.parquet")).ok());
}

#[test]
fn rings_recover_the_planted_truth_identically_across_thread_counts() {
    let dir = tempfile::tempdir().expect("temp");
    let truth_dir = Path::new(&sample()).join("truth");
    let summary = run("rings", dir.path(), &["--truth", truth_dir.to_str().unwrap_or_default()]);
    let evaluation = summary["evaluation"].as_object().expect("evaluation");
    for kind in [
        "shared_identifier",
        "fund_cycle",
        "fan_in",
        "fan_out",
        "scatter_gather",
        "gather_scatter",
        "dense_block",
        "loan_diversion",
        "guarantee_circle",
    ] {
        let e = &evaluation[kind];
        assert!(e["planted"].as_u64().unwrap_or(0) > 0, "{kind}: nothing planted");
        assert!(e["recall"].as_f64().unwrap_or(0.0) >= 0.9, "{kind}: {e}");
        assert!(e["precision"].as_f64().unwrap_or(0.0) >= 0.8, "{kind}: {e}");
    }
    // The review queue: parts of one structure merged, each lead kind's first cases planted.
    let cases = &summary["cases"];
    assert!(cases["rings_merged"].as_u64().unwrap_or(0) > 0, "{cases}");
    assert!(cases["queued"].as_u64().unwrap_or(0) > 0 && cases["in_capacity"].as_u64() <= cases["queued"].as_u64(), "{cases}");
    let queue = &summary["queue_evaluation"];
    for (kind, e) in queue["by_lead_kind"].as_object().expect("queue by kind") {
        assert!(e["precision_at_capacity"].as_f64().unwrap_or(0.0) >= 0.9, "{kind}: {e}");
    }
    let planted = queue["planted"].as_u64().unwrap_or(0);
    assert!(planted > 0 && queue["planted_reached_by_a_queued_case"].as_u64().unwrap_or(0) as f64 >= 0.95 * planted as f64, "{queue}");
    let case_of = super::read_parquet_column_u64(&dir.path().join("rings.parquet"), "case_id");
    let case_ids = super::read_parquet_column_u64(&dir.path().join("cases.parquet"), "case_id");
    assert!(case_of.iter().all(|c| (*c as usize) < case_ids.len()), "every ring's case is a row of cases.parquet");
    // Evidence in time order within each ring.
    let edges = dir.path().join("ring_edges.parquet");
    let ring_ids = read_parquet_column_str(&edges, "ring_id");
    let ts = super::read_parquet_column_ts_opt(&edges, "ts");
    for i in 1..ring_ids.len() {
        if ring_ids[i] == ring_ids[i - 1] {
            if let (Some(a), Some(b)) = (ts[i - 1], ts[i]) {
                assert!(a <= b, "ring {:?} evidence out of order", ring_ids[i]);
            }
        }
    }
    // One thread gives the same bytes.
    let single = dir.path().join("single");
    let graph = sample();
    let result = ekg(&["run", "rings", "--graph", &graph, "--out", single.to_str().unwrap_or_default(), "--threads", "1", "--reveal-pii"]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    for table in ["rings", "ring_edges", "ring_nodes", "cases"] {
        let name = format!("{table}.parquet");
        assert_eq!(std::fs::read(dir.path().join(&name)).ok(), std::fs::read(single.join(&name)).ok(), "{table} differs");
    }
}
