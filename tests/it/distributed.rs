//! `ekg score --processes N` (timely dataflow across processes) against the single-process job:
//! every column it writes holds the same values for the same entities, on an independent CSV
//! dataset with events of every dated kind after the as-of day and on the Parquet sample data;
//! the small-graph stages' tables (groups, cascades) are the same tables.

use std::collections::BTreeMap;
use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::as_of::{account, base, date, with_later_events};
use super::{ekg, read_batches, sample, text};

/// A features table by node id: kind and every column, by name.
struct Features {
    kinds: BTreeMap<String, String>,
    columns: BTreeMap<String, BTreeMap<String, Cell>>,
}

/// One value: numbers (u32 and bool widened to f64, null as NaN) or text.
#[derive(Clone, Debug, PartialEq)]
enum Cell {
    Number(f64),
    Text(Option<String>),
}

fn read_features(path: &Path) -> Features {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, UInt32Type};
    use arrow_schema::DataType;
    let (mut kinds, mut columns) = (BTreeMap::new(), BTreeMap::<String, BTreeMap<String, Cell>>::new());
    for batch in read_batches(path) {
        let schema = batch.schema();
        let column = |name: &str| batch.column(schema.index_of(name).expect("column"));
        let ids: Vec<String> = column("node_id").as_string::<i32>().iter().map(|v| v.unwrap_or_default().to_string()).collect();
        let kind = column("kind");
        for (i, id) in ids.iter().enumerate() {
            kinds.insert(id.clone(), kind.as_string::<i32>().value(i).to_string());
        }
        for (k, field) in schema.fields().iter().enumerate() {
            let number = |v: Option<f64>| Cell::Number(v.unwrap_or(f64::NAN));
            let values: Vec<Cell> = match field.data_type() {
                _ if ["node_id", "kind"].contains(&field.name().as_str()) => continue,
                DataType::Float64 => batch.column(k).as_primitive::<Float64Type>().iter().map(number).collect(),
                DataType::UInt32 => batch.column(k).as_primitive::<UInt32Type>().iter().map(|v| number(v.map(f64::from))).collect(),
                DataType::Boolean => batch.column(k).as_boolean().iter().map(|v| number(v.map(|b| f64::from(u8::from(b))))).collect(),
                DataType::Utf8 => batch.column(k).as_string::<i32>().iter().map(|v| Cell::Text(v.map(str::to_string))).collect(),
                _ => continue,
            };
            let entry = columns.entry(field.name().clone()).or_default();
            entry.extend(ids.iter().cloned().zip(values));
        }
    }
    Features { kinds, columns }
}

/// Every column of `distributed` equals `single`'s: integers, flags and text exactly, floats
/// within 1e-9 relative, for the same entities.
pub(super) fn assert_same_columns(single: &Path, distributed: &Path, what: &str) {
    assert_same_columns_renamed(single, distributed, &|id| id.to_string(), what);
}

/// The Monte Carlo cascade's columns: its draws are keyed by the firms' ids, so with the ids
/// renamed they are other draws of the same cascades.
const MONTE_CARLO: [&str; 2] = ["cascade_pd", "cascade_lift"];

/// Labels of groups numbered by size, ties in the order of the ids: with the ids renamed, the
/// same groups under other numbers.
const LABELS: [&str; 1] = ["group_id"];

/// [`assert_same_columns`] where `distributed` names entity `x` of `single` as `rename(x)` (in
/// the key and in text columns that name entities). Where the names differ, the Monte Carlo
/// columns agree within their sampling error instead, and label columns make the same partition.
fn assert_same_columns_renamed(single: &Path, distributed: &Path, rename: &dyn Fn(&str) -> String, what: &str) {
    let a = read_features(&single.join("features.parquet"));
    let mut b = read_features(&distributed.join("features.parquet"));
    let back: BTreeMap<String, String> = a.kinds.keys().map(|id| (rename(id), id.clone())).collect();
    let renamed = back.iter().any(|(new, old)| new != old);
    let original = |id: &String| back.get(id).cloned().unwrap_or_else(|| panic!("{what}: {id} is not a renamed entity"));
    b.kinds = b.kinds.iter().map(|(id, k)| (original(id), k.clone())).collect();
    for values in b.columns.values_mut() {
        *values = values
            .iter()
            .map(|(id, x)| {
                let x = match x {
                    Cell::Text(Some(t)) => Cell::Text(Some(back.get(t).cloned().unwrap_or_else(|| t.clone()))),
                    other => other.clone(),
                };
                (original(id), x)
            })
            .collect();
    }
    assert_eq!(a.kinds, b.kinds, "{what}: entities and kinds");
    assert!(b.columns.len() >= 20, "{what}: {} columns", b.columns.len());
    let mut wrong = Vec::new();
    for (name, values) in &b.columns {
        let expected = a.columns.get(name).unwrap_or_else(|| panic!("{what}: {name} is not a column of ekg score"));
        if renamed && MONTE_CARLO.contains(&name.as_str()) {
            continue;
        }
        if renamed && LABELS.contains(&name.as_str()) {
            // The same partition: labels correspond one to one.
            let (mut forward, mut backward) = (BTreeMap::new(), BTreeMap::new());
            for (id, y) in values {
                let (x, y) = (format!("{:?}", expected[id]), format!("{y:?}"));
                assert_eq!(forward.entry(x.clone()).or_insert_with(|| y.clone()), &y, "{what}: {name} of {id}: another group");
                assert_eq!(backward.entry(y).or_insert(x.clone()), &x, "{what}: {name} of {id}: groups merged");
            }
            continue;
        }
        let same = |x: &Cell, y: &Cell| match (x, y) {
            (Cell::Number(x), Cell::Number(y)) => (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
            (x, y) => x == y,
        };
        let differing: Vec<&String> = values.iter().filter(|(id, y)| !same(&expected[*id], y)).map(|(id, _)| id).collect();
        if let Some(id) = differing.first() {
            wrong.push(format!("{name} of {} entities, {id}'s {:?} against {:?}", differing.len(), expected[*id], values[*id]));
        }
    }
    assert!(wrong.is_empty(), "{what}: columns differ:\n  {}", wrong.join("\n  "));
    if renamed {
        assert_same_cascades(&a, &b, what);
    }
}

/// Two Monte Carlo estimates of the same cascades: each firm's contagion-inclusive probability
/// within 5 standard errors of the other's (10,000 runs each), and its lift the same multiple of
/// it in both.
fn assert_same_cascades(a: &Features, b: &Features, what: &str) {
    let number = |f: &Features, column: &str, id: &str| match f.columns.get(column).and_then(|c| c.get(id)) {
        Some(Cell::Number(x)) => *x,
        other => panic!("{what}: {column} of {id}: {other:?}"),
    };
    let mut compared = 0;
    for id in a.kinds.iter().filter(|(_, k)| k.as_str() == "firm").map(|(id, _)| id) {
        let (p, q) = (number(a, "cascade_pd", id), number(b, "cascade_pd", id));
        let mean = (p + q) / 2.0;
        let error = (2.0 * mean * (1.0 - mean) / 10_000.0).sqrt();
        assert!((p - q).abs() <= 5.0 * error + 1e-12, "{what}: cascade_pd of {id}: {p} and {q}");
        let (lift_p, lift_q) = (number(a, "cascade_lift", id), number(b, "cascade_lift", id));
        if lift_p.is_finite() || lift_q.is_finite() {
            assert!((lift_p * q - lift_q * p).abs() <= 1e-9 * (lift_p * q).abs().max(1.0), "{what}: cascade_lift of {id}");
        }
        compared += 1;
    }
    assert!(compared > 0, "{what}: no firm's cascade compared");
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
    // Near misses on the default's day: a firm that defaulted on the day itself counts as
    // defaulted (risk shares, the personalised PageRank's seeds), one that defaulted the day after
    // does not.
    let mut flipped = 0;
    let firms: Vec<String> = tables
        .firms
        .lines()
        .map(|line| match line.strip_suffix(",false,") {
            Some(kept) if flipped < 2 => {
                flipped += 1;
                format!("{kept},true,{}", date(199 + flipped))
            }
            _ => line.to_string(),
        })
        .collect();
    tables.firms = firms.join("\n") + "\n";
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
    // The small-graph stages' own tables, computed on process 0, as the single process writes them.
    for table in ["groups.parquet", "cascade.parquet"] {
        let expected = read_batches(&single.join(table));
        assert!(expected.iter().map(|b| b.num_rows()).sum::<usize>() > 0, "{table}: rows");
        assert_eq!(read_batches(&first.join(table)), expected, "{table}");
    }
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
    // Dropping bad rows is not there yet: refused before any work.
    let skip = ekg(&[
        "score",
        data.to_str().unwrap_or_default(),
        "--out",
        out.to_str().unwrap_or_default(),
        "--processes",
        "2",
        "--on-error",
        "skip",
    ]);
    assert_eq!(skip.status.code(), Some(2), "{}", text(&skip.stderr));
}

#[test]
fn an_officer_role_outside_the_contract_stops_every_process_as_it_stops_one() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (mut tables, _, _) = base(&mut rng);
    let row = tables.officers.lines().count() + 1;
    let first = tables.officers.lines().nth(1).expect("an officer").to_string();
    // A near miss first: a known role in another case is accepted, as the loader accepts it.
    tables.officers.push_str(&first.replacen("legal_rep", "LEGAL_REP", 1));
    tables.officers.push('\n');
    tables.officers.push_str(&first.replacen("legal_rep", "chief", 1));
    tables.officers.push('\n');
    let dir = tempfile::tempdir().expect("temp");
    let data = dir.path().join("data");
    tables.write(&data);
    let expected = format!("officers.csv: row {}: column `role`: 'chief' is not one of", row + 1);
    // Without the small-graph stages, process 0 does not read the officers again on its own: the
    // distributed read alone must stop the run.
    let config = dir.path().join("score.toml");
    std::fs::write(&config, "analyses = [\"pagerank\"]\n").expect("config");
    let config = config.to_str().unwrap_or_default();
    for extra in [vec![], vec!["--processes", "2"], vec!["--processes", "2", "--config", config]] {
        let out = dir.path().join("out");
        let args = [&["score", data.to_str().unwrap_or_default(), "--out", out.to_str().unwrap_or_default()][..], &extra[..]].concat();
        let result = ekg(&args);
        assert_eq!(result.status.code(), Some(65), "{extra:?}: {}", text(&result.stderr));
        assert!(text(&result.stderr).contains(&expected), "{extra:?}: {}", text(&result.stderr));
        assert!(!text(&result.stderr).contains("LEGAL_REP"), "{extra:?}: {}", text(&result.stderr));
        assert!(!out.exists(), "{extra:?}: nothing written");
    }
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

/// An id of the as-of generator's datasets: a kind letter and digits.
fn is_entity_id(field: &str) -> bool {
    let mut chars = field.chars();
    matches!(chars.next(), Some('F' | 'A' | 'P' | 'L')) && field.len() > 1 && chars.all(|c| c.is_ascii_digit())
}

#[test]
fn renaming_every_id_and_shuffling_every_table_changes_nothing_on_three_processes() {
    use rand::seq::SliceRandom;
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let (tables, firms, accounts) = base(&mut rng);
    let tables = with_later_events(&tables, firms, accounts, &mut rng);
    // A random bijection onto new ids (so new hash partitions), and every table's rows shuffled
    // (so other workers read other rows).
    let mut ids: Vec<String> = Vec::new();
    for table in [&tables.firms, &tables.persons, &tables.accounts, &tables.loans] {
        ids.extend(table.lines().filter_map(|l| l.split(',').next()).map(str::to_string));
    }
    let mut targets: Vec<u32> = (0..ids.len() as u32).collect();
    targets.shuffle(&mut rng);
    let rename: BTreeMap<String, String> = ids.iter().zip(&targets).map(|(id, t)| (id.clone(), format!("{}{t:06}", &id[..1]))).collect();
    let rewrite = |table: &str, rng: &mut ChaCha8Rng| -> String {
        let mut lines: Vec<String> = table
            .lines()
            .map(|l| {
                l.split(',')
                    .map(|f| if is_entity_id(f) { rename.get(f).cloned().unwrap_or_else(|| f.to_string()) } else { f.to_string() })
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        lines.shuffle(rng);
        lines.iter().map(|l| format!("{l}\n")).collect()
    };
    let mut renamed = tables.clone();
    for (to, from) in [
        (&mut renamed.firms, &tables.firms),
        (&mut renamed.persons, &tables.persons),
        (&mut renamed.accounts, &tables.accounts),
        (&mut renamed.loans, &tables.loans),
        (&mut renamed.shareholdings, &tables.shareholdings),
        (&mut renamed.officers, &tables.officers),
        (&mut renamed.transfers, &tables.transfers),
        (&mut renamed.guarantees, &tables.guarantees),
        (&mut renamed.supply_links, &tables.supply_links),
        (&mut renamed.identifiers, &tables.identifiers),
    ] {
        *to = rewrite(from, &mut rng);
    }
    let dir = tempfile::tempdir().expect("temp");
    let (data, moved) = (dir.path().join("data"), dir.path().join("renamed"));
    tables.write(&data);
    renamed.write(&moved);
    let d = date(200);
    let (before, after) = (dir.path().join("before"), dir.path().join("after"));
    score(&data, &before, &["--processes", "3", "--as-of", &d, "--reveal-pii"]);
    score(&moved, &after, &["--processes", "3", "--as-of", &d, "--reveal-pii"]);
    let map = |id: &str| rename.get(id).cloned().unwrap_or_else(|| id.to_string());
    assert_same_columns_renamed(&before, &after, &map, "renamed and shuffled");
}
