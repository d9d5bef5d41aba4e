//! `ekg score --processes N` (timely dataflow across processes) against the single-process job:
//! every column it writes holds the same values for the same entities, on an independent CSV
//! dataset with events of every dated kind after the as-of day and on the Parquet sample data.

use std::collections::BTreeMap;
use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::as_of::{account, base, date, with_later_events};
use super::{ekg, read_batches, sample, text};

/// A features table by node id: kind and every numeric column (u32 widened to f64), by name.
struct Features {
    kinds: BTreeMap<String, String>,
    columns: BTreeMap<String, BTreeMap<String, f64>>,
}

fn read_features(path: &Path) -> Features {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, UInt32Type};
    let (mut kinds, mut columns) = (BTreeMap::new(), BTreeMap::<String, BTreeMap<String, f64>>::new());
    for batch in read_batches(path) {
        let schema = batch.schema();
        let column = |name: &str| batch.column(schema.index_of(name).expect("column"));
        let ids: Vec<String> = column("node_id").as_string::<i32>().iter().map(|v| v.unwrap_or_default().to_string()).collect();
        let kind = column("kind");
        for (i, id) in ids.iter().enumerate() {
            kinds.insert(id.clone(), kind.as_string::<i32>().value(i).to_string());
        }
        for (k, field) in schema.fields().iter().enumerate() {
            let values: Vec<f64> = match field.data_type() {
                arrow_schema::DataType::Float64 => {
                    batch.column(k).as_primitive::<Float64Type>().iter().map(|v| v.unwrap_or(f64::NAN)).collect()
                }
                arrow_schema::DataType::UInt32 => {
                    batch.column(k).as_primitive::<UInt32Type>().iter().map(|v| v.map_or(f64::NAN, f64::from)).collect()
                }
                _ => continue,
            };
            let entry = columns.entry(field.name().clone()).or_default();
            entry.extend(ids.iter().cloned().zip(values));
        }
    }
    Features { kinds, columns }
}

/// Every column of `distributed` equals `single`'s: integers exactly, floats within 1e-9
/// relative, for the same entities.
fn assert_same_columns(single: &Path, distributed: &Path, what: &str) {
    let (a, b) = (read_features(&single.join("features.parquet")), read_features(&distributed.join("features.parquet")));
    assert_eq!(a.kinds, b.kinds, "{what}: entities and kinds");
    assert!(b.columns.len() >= 20, "{what}: {} columns", b.columns.len());
    for (name, values) in &b.columns {
        let expected = a.columns.get(name).unwrap_or_else(|| panic!("{what}: {name} is not a column of ekg score"));
        for (id, &y) in values {
            let x = expected[id];
            let same = (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs());
            assert!(same, "{what}: {name} of {id}: single {x}, distributed {y}");
        }
    }
}

fn score(input: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec!["score", input.to_str().unwrap_or_default(), "--out", out.to_str().unwrap_or_default()];
    args.extend_from_slice(extra);
    let result = ekg(&args);
    assert!(result.status.success(), "{args:?}: {}", text(&result.stderr));
}

#[test]
fn two_and_three_processes_write_the_single_process_values_as_of_d() {
    let mut rng = ChaCha8Rng::seed_from_u64(29);
    let (tables, firms, accounts) = base(&mut rng);
    let mut tables = with_later_events(&tables, firms, accounts, &mut rng);
    // Near misses on the windows' edges: exactly 30 and 90 days before the instant (left out of
    // the window), and the instant itself (in).
    for (days, amount) in [(30, 111), (90, 222), (0, 333)] {
        tables.transfers.push_str(&format!("{},{},{amount},{}T23:59:59.999999Z\n", account(1), account(2), date(200 - days)));
    }
    let dir = tempfile::tempdir().expect("temp");
    let data = dir.path().join("data");
    tables.write(&data);
    let d = date(200);
    let single = dir.path().join("single");
    score(&data, &single, &["--as-of", &d, "--reveal-pii"]);
    for (name, extra) in [("p2", vec!["--processes", "2"]), ("p3", vec!["--processes", "3", "--threads", "2"])] {
        let out = dir.path().join(name);
        let mut args = extra.clone();
        args.extend(["--as-of", &d, "--reveal-pii"]);
        score(&data, &out, &args);
        assert_same_columns(&single, &out, name);
    }
}

#[test]
fn the_sample_data_on_two_processes_matches_with_the_same_pseudonyms_and_repeats_byte_for_byte() {
    let dir = tempfile::tempdir().expect("temp");
    let key = dir.path().join("pii.key");
    std::fs::write(&key, "a test key of more than sixteen bytes").expect("key");
    let key = key.to_str().unwrap_or_default().to_string();
    let sample = Path::new(&sample()).to_path_buf();
    let single = dir.path().join("single");
    score(&sample, &single, &["--pii-key", &key]);
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    score(&sample, &first, &["--processes", "2", "--pii-key", &key]);
    assert_same_columns(&single, &first, "sample");
    score(&sample, &second, &["--processes", "2", "--pii-key", &key]);
    assert_eq!(std::fs::read(first.join("features.parquet")).ok(), std::fs::read(second.join("features.parquet")).ok(), "repeatable");
}

#[test]
fn a_dangling_endpoint_stops_every_process_naming_file_row_and_column() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (mut tables, _, _) = base(&mut rng);
    let row = tables.transfers.lines().count() + 1;
    tables.transfers.push_str(&format!("{},NOBODY,100,2024-03-01T10:00:00Z\n", account(1)));
    let dir = tempfile::tempdir().expect("temp");
    let data = dir.path().join("data");
    tables.write(&data);
    let out = dir.path().join("out");
    let result = ekg(&["score", data.to_str().unwrap_or_default(), "--out", out.to_str().unwrap_or_default(), "--processes", "2"]);
    assert_eq!(result.status.code(), Some(65), "{}", text(&result.stderr));
    let expected = format!("transfers.csv: row {row}: column `dst_id`: 'NOBODY' is not an entity of this dataset");
    assert!(text(&result.stderr).contains(&expected), "{}", text(&result.stderr));
    assert!(!out.exists(), "nothing written");
}

#[test]
fn a_process_that_never_connects_ends_the_run_after_the_timeout() {
    let dir = tempfile::tempdir().expect("temp");
    let ports: Vec<String> = (0..2)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.to_string()).expect("port"))
        .collect();
    let hosts = dir.path().join("hosts.txt");
    std::fs::write(&hosts, ports.join("\n")).expect("hosts");
    let out = dir.path().join("out");
    let args = ["score", &sample(), "--out", out.to_str().unwrap_or_default(), "--hosts", hosts.to_str().unwrap_or_default()];
    let result = ekg(&[&args[..], &["--process", "0", "--connect-timeout", "2"]].concat());
    assert_eq!(result.status.code(), Some(69), "{}", text(&result.stderr));
    assert!(text(&result.stderr).contains("not every process connected within 2 s"), "{}", text(&result.stderr));
    assert!(!out.join("features.parquet").exists(), "nothing written");
}
