//! Night to night: a generated 3,000-firm portfolio scored on day D, then on D+1 with a day of new
//! transfers, five new supply links and two firms sold to other firms, `--previous` pointing at D.
//! Rings and communities whose members did not change keep their ids (the cold run, without
//! `--previous`, renumbers communities); `changes.parquet` accounts for every ring and flag.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use rand::seq::IndexedRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{ekg, read_batches, read_parquet_column_str, read_parquet_column_u32, text};

/// A (text, text, number) table without the rows whose second column is in `drop`, and with
/// `rows` appended.
fn rewrite_rows(path: &Path, drop: &BTreeSet<String>, rows: &[(String, String, f64)]) {
    let batches = read_batches(path);
    let schema = batches[0].schema();
    let mut columns: [Vec<Option<String>>; 2] = [Vec::new(), Vec::new()];
    let mut numbers: Vec<Option<f64>> = Vec::new();
    for batch in &batches {
        use arrow_array::cast::AsArray;
        let (a, b) = (batch.column(0).as_string::<i32>(), batch.column(1).as_string::<i32>());
        let x = batch.column(2).as_primitive::<arrow_array::types::Float64Type>();
        for row in (0..batch.num_rows()).filter(|&row| !drop.contains(b.value(row))) {
            columns[0].push(Some(a.value(row).to_string()));
            columns[1].push(Some(b.value(row).to_string()));
            numbers.push(Some(x.value(row)));
        }
    }
    for (a, b, x) in rows {
        columns[0].push(Some(a.clone()));
        columns[1].push(Some(b.clone()));
        numbers.push(Some(*x));
    }
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(columns[0].clone())),
        Arc::new(StringArray::from(columns[1].clone())),
        Arc::new(Float64Array::from(numbers)),
    ];
    let batch = RecordBatch::try_new(schema.clone(), arrays).expect("batch");
    let file = std::fs::File::create(path).expect("create");
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema, None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

fn score(data: &Path, out: &Path, as_of: &str, previous: Option<&Path>) {
    let mut args =
        vec!["score", data.to_str().unwrap_or_default(), "--out", out.to_str().unwrap_or_default(), "--as-of", as_of, "--reveal-pii"];
    if let Some(p) = previous {
        args.extend(["--previous", p.to_str().unwrap_or_default()]);
    }
    let result = ekg(&args);
    assert!(result.status.success(), "score: {}", text(&result.stderr));
}

/// Member set → id, for the labels of `column` in `file`.
fn labels(out: &Path, file: &str, column: &str) -> BTreeMap<BTreeSet<String>, u32> {
    let path = out.join(file);
    let mut members: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
    for (node, label) in read_parquet_column_str(&path, "node_id").into_iter().zip(read_parquet_column_u32(&path, column)) {
        members.entry(label).or_default().insert(node.unwrap_or_default());
    }
    members.into_iter().map(|(label, set)| (set, label)).collect()
}

/// (kind, sorted members) → id of every ring.
fn rings(out: &Path) -> BTreeMap<(String, Vec<String>), String> {
    let mut found = BTreeMap::new();
    for batch in read_batches(&out.join("rings.parquet")) {
        use arrow_array::cast::AsArray;
        let schema = batch.schema();
        let column = |name: &str| batch.column(schema.index_of(name).expect("column"));
        let (ids, kinds, lists) =
            (column("ring_id").as_string::<i32>(), column("kind").as_string::<i32>(), column("members").as_list::<i32>());
        for row in 0..batch.num_rows() {
            let list = lists.value(row);
            let mut members: Vec<String> = list.as_string::<i32>().iter().flatten().map(str::to_string).collect();
            members.sort();
            found.insert((kinds.value(row).to_string(), members), ids.value(row).to_string());
        }
    }
    found
}

/// Share of `before`'s member sets found tonight that kept their id, and how many were found.
fn kept<K: Ord, V: PartialEq>(before: &BTreeMap<K, V>, tonight: &BTreeMap<K, V>) -> (f64, usize) {
    let same: Vec<&K> = before.keys().filter(|k| tonight.contains_key(*k)).collect();
    let kept = same.iter().filter(|k| before[**k] == tonight[**k]).count();
    (if same.is_empty() { 0.0 } else { kept as f64 / same.len() as f64 }, same.len())
}

#[test]
fn rings_communities_and_groups_keep_their_ids_from_one_night_to_the_next() {
    let dir = tempfile::tempdir().expect("temp");
    let (day_one, day_two) = (dir.path().join("day1"), dir.path().join("day2"));
    let result = ekg(&["generate", "--firms", "3000", "--seed", "5", "--out", day_one.to_str().unwrap_or_default(), "--reveal-pii"]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    std::fs::create_dir(&day_two).expect("day2");
    for entry in std::fs::read_dir(&day_one).expect("day1").flatten().filter(|e| e.path().is_file()) {
        std::fs::copy(entry.path(), day_two.join(entry.file_name())).expect("copy");
    }
    // The next day: five supply links and two majority holdings between random firms.
    let firms: Vec<String> = read_parquet_column_str(&day_one.join("firms.parquet"), "firm_id").into_iter().flatten().collect();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut pairs = |count: usize, amount: f64| -> Vec<(String, String, f64)> {
        (0..count)
            .map(|_| {
                let pair: Vec<&String> = firms.choose_multiple(&mut rng, 2).collect();
                (pair[0].clone(), pair[1].clone(), amount)
            })
            .collect()
    };
    rewrite_rows(&day_two.join("supply_links.parquet"), &BTreeSet::new(), &pairs(5, 1.0e6));
    // Two firms sold outright to other firms: their old holders go.
    let sold = pairs(2, 1.0);
    rewrite_rows(&day_two.join("shareholdings.parquet"), &sold.iter().map(|s| s.1.clone()).collect(), &sold);

    let (night_one, night_two, cold) = (dir.path().join("n1"), dir.path().join("n2"), dir.path().join("cold"));
    score(&day_one, &night_one, "2025-11-30", None);
    score(&day_two, &night_two, "2025-12-01", Some(&night_one));
    score(&day_two, &cold, "2025-12-01", None);

    let (ring_share, ring_count) = kept(&rings(&night_one), &rings(&night_two));
    assert!(ring_count >= 50 && ring_share >= 0.99, "rings with the same members kept their id: {ring_share} of {ring_count}");
    let before = labels(&night_one, "communities.parquet", "community");
    let (community_share, community_count) = kept(&before, &labels(&night_two, "communities.parquet", "community"));
    let (cold_share, _) = kept(&before, &labels(&cold, "communities.parquet", "community"));
    assert!(community_count >= 50 && community_share >= 0.99, "communities kept their id: {community_share} of {community_count}");
    assert!(cold_share < 0.9, "the new links should renumber a cold run's communities ({cold_share}), or this test proves nothing");
    let before = labels(&night_one, "groups.parquet", "group_id");
    let (group_share, group_count) = kept(&before, &labels(&night_two, "groups.parquet", "group_id"));
    let (cold_groups, _) = kept(&before, &labels(&cold, "groups.parquet", "group_id"));
    eprintln!(
        "same members, same id: rings {ring_share:.4} of {ring_count}; communities {community_share:.4} of {community_count} \
         (cold run {cold_share:.4}); groups {group_share:.4} of {group_count} (cold run {cold_groups:.4})"
    );
    assert!(group_count >= 1000 && group_share >= 0.99, "groups kept their id: {group_share} of {group_count}");

    // Every ring and flag of both nights is accounted for once in changes.parquet.
    let changes = night_two.join("changes.parquet");
    let (subject, change) = (read_parquet_column_str(&changes, "subject"), read_parquet_column_str(&changes, "change"));
    let count = |s: &str, c: &[&str]| {
        subject.iter().zip(&change).filter(|(x, y)| x.as_deref() == Some(s) && c.contains(&y.as_deref().unwrap_or(""))).count()
    };
    let rings_tonight = read_parquet_column_str(&night_two.join("rings.parquet"), "ring_id").len();
    let rings_before = read_parquet_column_str(&night_one.join("rings.parquet"), "ring_id").len();
    assert_eq!(count("ring", &["new", "changed", "unchanged"]), rings_tonight);
    assert_eq!(count("ring", &["changed", "unchanged", "gone"]), rings_before);
    let flags_tonight = read_parquet_column_str(&night_two.join("flags.parquet"), "flag").len();
    assert_eq!(count("flag", &["new", "changed", "unchanged"]), flags_tonight);
    assert!(count("community", &["changed", "new"]) > 0, "the new links changed some community");
    // Rings seen on both nights count two nights, and were first seen on the first.
    let nights = read_parquet_column_u32(&night_two.join("rings.parquet"), "nights_seen");
    assert!(nights.iter().filter(|&&n| n == 2).count() as f64 >= 0.9 * rings_before.min(rings_tonight) as f64);
}

#[test]
fn a_previous_night_that_is_not_earlier_is_refused() {
    let dir = tempfile::tempdir().expect("temp");
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    let data = super::sample();
    score(Path::new(&data), &first, "2025-06-30", None);
    let result = ekg(&[
        "score",
        &data,
        "--out",
        second.to_str().unwrap_or_default(),
        "--as-of",
        "2025-06-30",
        "--reveal-pii",
        "--previous",
        first.to_str().unwrap_or_default(),
    ]);
    assert_eq!(result.status.code(), Some(65), "{}", text(&result.stderr));
    assert!(text(&result.stderr).contains("not earlier"), "{}", text(&result.stderr));
    assert!(!second.exists(), "nothing written");
    // A folder that is not an ekg score output.
    let result =
        ekg(&["score", &data, "--out", second.to_str().unwrap_or_default(), "--previous", dir.path().to_str().unwrap_or_default()]);
    assert_eq!(result.status.code(), Some(66), "{}", text(&result.stderr));
    assert!(text(&result.stderr).contains("manifest.json"), "{}", text(&result.stderr));
}

fn manifest_summary(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("manifest.json")).expect("manifest");
    serde_json::from_str::<serde_json::Value>(&text).expect("json")["summary"].clone()
}

/// A night on which only transfers changed: the cascades and DebtRank, which read none, come from
/// the previous night, and every table is what a full run writes (the night-to-night columns of
/// rings and flags aside).
#[test]
fn an_incremental_night_reuses_what_did_not_change_and_writes_what_a_full_run_writes() {
    let dir = tempfile::tempdir().expect("temp");
    let data = Path::new(&super::sample()).to_path_buf();
    let (before, incremental, full) = (dir.path().join("before"), dir.path().join("incremental"), dir.path().join("full"));
    score(&data, &before, "2025-06-30", None);
    score(&data, &incremental, "2025-07-01", Some(&before));
    score(&data, &full, "2025-07-01", None);
    let reused = manifest_summary(&incremental)["reused"].clone();
    assert_eq!(
        reused,
        serde_json::json!(["ppr", "communities", "structure", "debtrank", "cascade"]),
        "nothing but transfers changed that day"
    );
    assert_eq!(manifest_summary(&full)["reused"], serde_json::json!([]));
    let night_columns = ["first_seen", "nights_seen", "previous_ring_id"];
    for entry in std::fs::read_dir(&full).expect("full").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".parquet") {
            continue;
        }
        let (a, b) = (read_batches(&incremental.join(&name)), read_batches(&entry.path()));
        assert_eq!(a.len(), b.len(), "{name}");
        for (x, y) in a.iter().zip(&b) {
            let schema = x.schema();
            for (i, field) in schema.fields().iter().enumerate().filter(|(_, f)| !night_columns.contains(&f.name().as_str())) {
                assert_eq!(x.column(i).as_ref(), y.column(i).as_ref(), "{name}.{}", field.name());
            }
        }
    }
    // A near miss: the next night one firm is sold, so the loss network changes and the cascades run again.
    let changed = dir.path().join("changed");
    std::fs::create_dir(&changed).expect("dir");
    for entry in std::fs::read_dir(&data).expect("data").flatten().filter(|e| e.path().is_file()) {
        std::fs::copy(entry.path(), changed.join(entry.file_name())).expect("copy");
    }
    let firms: Vec<String> = read_parquet_column_str(&data.join("firms.parquet"), "firm_id").into_iter().flatten().collect();
    let sold = vec![(firms[1].clone(), firms[2].clone(), 1.0)];
    rewrite_rows(&changed.join("shareholdings.parquet"), &sold.iter().map(|s| s.1.clone()).collect(), &sold);
    let next = dir.path().join("next");
    score(&changed, &next, "2025-07-02", Some(&incremental));
    assert_eq!(manifest_summary(&next)["reused"], serde_json::json!([]), "a changed holding reuses nothing");
}
