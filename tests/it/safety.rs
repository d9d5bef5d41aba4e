//! Data safety end to end: ekg replaces only what it wrote, exits with the documented codes,
//! tells the truth in its manifest, replays a run from it, cleans up after a signal, and reads
//! the inputs that used to be dropped or misread silently.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{ekg, read_batches, sample, text};

fn s(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

/// A folder holding only `notes.txt`, as a user keeps one.
fn foreign_folder(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir(&dir).expect("dir");
    std::fs::write(dir.join("notes.txt"), "mine").expect("notes");
    dir
}

#[test]
fn out_never_replaces_what_ekg_did_not_write() {
    let dir = tempfile::tempdir().expect("temp");
    let graph = sample();
    // score and generate into a folder of the user's: refused, named, untouched.
    for (args, name) in [(vec!["score", graph.as_str(), "--out"], "scores"), (vec!["generate", "--firms", "50", "--out"], "dataset")] {
        let target = foreign_folder(dir.path(), name);
        let mut full = args.clone();
        full.push(s(&target));
        let refused = ekg(&full);
        assert_eq!(refused.status.code(), Some(73), "{}", text(&refused.stderr));
        assert!(text(&refused.stderr).contains("notes.txt"), "{}", text(&refused.stderr));
        assert_eq!(std::fs::read_to_string(target.join("notes.txt")).ok().as_deref(), Some("mine"));
        // --force replaces it; then it is ekg's, and a rerun replaces it without --force.
        full.push("--force");
        let forced = ekg(&full);
        assert!(forced.status.success(), "{}", text(&forced.stderr));
        assert!(!target.join("notes.txt").exists());
        full.pop();
        let again = ekg(&full);
        assert!(again.status.success(), "{}", text(&again.stderr));
        // A file the user adds to ekg's folder makes it foreign again.
        std::fs::write(target.join("notes.txt"), "mine").expect("notes");
        assert_eq!(ekg(&full).status.code(), Some(73));
    }
    // An empty folder is fine.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("dir");
    assert!(ekg(&["score", &graph, "--out", s(&empty)]).status.success());
    // --out naming a file: score refuses (73) and the file stays as it was.
    let snapshot = dir.path().join("g.ekg");
    assert!(ekg(&["build", &graph, "--out", s(&snapshot)]).status.success());
    let bytes = std::fs::read(&snapshot).expect("snapshot");
    let refused = ekg(&["score", &graph, "--out", s(&snapshot)]);
    assert_eq!(refused.status.code(), Some(73), "{}", text(&refused.stderr));
    assert_eq!(std::fs::read(&snapshot).ok(), Some(bytes));
    // build over a file that is not a snapshot, or a folder.
    let notes = dir.path().join("notes.ekg");
    std::fs::write(&notes, "mine").expect("notes");
    assert_eq!(ekg(&["build", &graph, "--out", s(&notes)]).status.code(), Some(73));
    assert_eq!(std::fs::read_to_string(&notes).ok().as_deref(), Some("mine"));
    assert_eq!(ekg(&["build", &graph, "--out", s(&empty)]).status.code(), Some(73));
    // neighborhood, prospects and run over files they did not write.
    let first_firm = "91420106867243961B";
    for (args, file) in [
        (vec!["neighborhood", first_firm, "--graph", snapshot.to_str().unwrap_or_default(), "--out"], "view.graphml"),
        (vec!["prospects", "--graph", snapshot.to_str().unwrap_or_default(), "--core-top", "2", "--out"], "prospects.parquet"),
    ] {
        let target = dir.path().join(file);
        std::fs::write(&target, "mine").expect("file");
        let mut full = args.clone();
        full.push(s(&target));
        let refused = ekg(&full);
        assert_eq!(refused.status.code(), Some(73), "{file}: {}", text(&refused.stderr));
        assert_eq!(std::fs::read_to_string(&target).ok().as_deref(), Some("mine"));
        std::fs::remove_file(&target).expect("rm");
        assert!(ekg(&full).status.success(), "{file}");
        // What ekg wrote it replaces.
        assert!(ekg(&full).status.success(), "{file} rewritten");
    }
    let tables = dir.path().join("tables");
    std::fs::create_dir(&tables).expect("dir");
    std::fs::write(tables.join("pagerank.parquet"), "mine").expect("file");
    std::fs::write(tables.join("other.txt"), "mine").expect("file");
    let refused = ekg(&["run", "pagerank", "--graph", s(&snapshot), "--out", s(&tables)]);
    assert_eq!(refused.status.code(), Some(73), "{}", text(&refused.stderr));
    std::fs::remove_file(tables.join("pagerank.parquet")).expect("rm");
    assert!(ekg(&["run", "pagerank", "--graph", s(&snapshot), "--out", s(&tables)]).status.success());
    assert!(ekg(&["run", "pagerank", "--graph", s(&snapshot), "--out", s(&tables)]).status.success());
    assert!(tables.join("other.txt").exists(), "run writes beside the user's files");
}

#[test]
fn paths_that_cannot_be_created_exit_73() {
    let dir = tempfile::tempdir().expect("temp");
    let graph = sample();
    let out = ekg(&["build", &graph, "--out", "/no/such/dir/g.ekg"]);
    assert_eq!(out.status.code(), Some(73), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("/no/such/dir does not exist"), "{}", text(&out.stderr));
    let file = dir.path().join("file");
    std::fs::write(&file, "x").expect("file");
    let out = ekg(&["score", &graph, "--out", s(&file.join("sub"))]);
    assert_eq!(out.status.code(), Some(73), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("is not a folder"), "{}", text(&out.stderr));
}

#[test]
fn the_manifest_lists_each_output_as_written_and_replays_the_run() {
    let dir = tempfile::tempdir().expect("temp");
    let graph = sample();
    let first = dir.path().join("first");
    let run = ekg(&["score", &graph, "--out", s(&first), "--as-of", "2025-12-31", "--on-error", "skip"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(first.join("manifest.json")).expect("m")).expect("json");
    let outputs = manifest["outputs"].as_array().expect("outputs");
    let mut names = BTreeSet::new();
    for o in outputs {
        let name = o["file"].as_str().expect("file");
        names.insert(name.to_string());
        if name.ends_with(".parquet") {
            let rows: usize = read_batches(&first.join(name)).iter().map(|b| b.num_rows()).sum();
            assert_eq!(o["rows"].as_u64(), Some(rows as u64), "{name}: rows as written");
            assert!(rows > 0, "{name} has rows on the sample");
        }
    }
    for table in ["features", "flags", "rings", "ring_edges", "ring_nodes", "communities", "groups"] {
        assert!(names.contains(&format!("{table}.parquet")), "{table} listed");
    }
    // Files of the dataset that are not tables are named, never skipped silently.
    let ignored = manifest["input"]["ignored_files"].as_array().expect("ignored files");
    assert!(ignored.iter().any(|f| f.as_str().is_some_and(|f| f.ends_with("README.md"))), "{ignored:?}");
    let invocation = &manifest["invocation"];
    assert_eq!(invocation["on_error"], "skip");
    assert_eq!(invocation["format"], "contract");
    assert!(invocation["argv"].as_array().is_some_and(|a| a.iter().any(|x| x == "--as-of")));
    // The replay: same tables, byte for byte, from the manifest alone.
    let second = dir.path().join("second");
    let replay = ekg(&["score", "--replay", s(&first.join("manifest.json")), "--out", s(&second)]);
    assert!(replay.status.success(), "{}", text(&replay.stderr));
    let again: serde_json::Value = serde_json::from_slice(&std::fs::read(second.join("manifest.json")).expect("m")).expect("json");
    assert_eq!(
        again["outputs"].as_array().map(|a| a.iter().map(|o| o["xxh3_64"].clone()).collect::<Vec<_>>()),
        Some(outputs.iter().map(|o| o["xxh3_64"].clone()).collect::<Vec<_>>())
    );
    assert_eq!(again["as_of_micros"], manifest["as_of_micros"]);
    // A replay of changed inputs is refused, naming the file.
    let copy = dir.path().join("data");
    std::fs::create_dir(&copy).expect("dir");
    for entry in std::fs::read_dir(&graph).expect("sample").flatten().filter(|e| e.path().is_file()) {
        std::fs::copy(entry.path(), copy.join(entry.file_name())).expect("copy");
    }
    let third = dir.path().join("third");
    assert!(ekg(&["score", s(&copy), "--out", s(&third)]).status.success());
    let csv = "firm_id\n91420106867243961B\n";
    std::fs::remove_file(copy.join("firms.parquet")).expect("rm");
    std::fs::write(copy.join("firms.csv"), csv).expect("csv");
    let refused = ekg(&["score", "--replay", s(&third.join("manifest.json")), "--out", s(&dir.path().join("fourth"))]);
    assert!(matches!(refused.status.code(), Some(65 | 66)), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("firms.parquet"), "{}", text(&refused.stderr));
}

/// SIGTERM part-way through: exit 143, no lock, no staging folder, the previous outputs whole.
#[cfg(unix)]
#[test]
fn sigterm_leaves_no_lock_staging_or_temporary_behind() {
    let dir = tempfile::tempdir().expect("temp");
    let graph = sample();
    let out = dir.path().join("scores");
    assert!(ekg(&["score", &graph, "--out", s(&out), "--as-of", "2025-12-31"]).status.success());
    let before = std::fs::read(out.join("features.parquet")).expect("features");
    for delay_ms in [30u64, 150, 400] {
        let child = Command::new(env!("CARGO_BIN_EXE_ekg"))
            .args(["score", &graph, "--out", s(&out), "--quiet", "--as-of", "2025-06-30"])
            .spawn()
            .expect("spawn");
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        // SAFETY: kill(2) on our own child's pid, which has not been waited for yet.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        let status = child.wait_with_output().expect("wait").status;
        let leftovers = super::names_in(dir.path(), "scores");
        assert!(leftovers.is_empty(), "left behind after SIGTERM at {delay_ms} ms: {leftovers:?}");
        if status.code() == Some(143) {
            assert_eq!(std::fs::read(out.join("features.parquet")).ok().as_ref(), Some(&before), "previous outputs intact");
        } else {
            assert!(status.success(), "finished before the signal, or stopped by it: {status:?}");
        }
    }
    // A SIGKILLed build's temporary is swept by the next build of the same snapshot.
    let snapshot = dir.path().join("g.ekg");
    std::fs::write(dir.path().join("g.ekg.tmp-4194000"), vec![0u8; 4096]).expect("leftover");
    std::fs::write(dir.path().join(".g.ekg.tmp-4194001"), vec![0u8; 4096]).expect("leftover");
    assert!(ekg(&["build", &graph, "--out", s(&snapshot)]).status.success());
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).expect("dir").flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert!(!names.iter().any(|n| n.contains(".tmp-")), "temporaries swept: {names:?}");
}

#[test]
fn verbose_logs_carry_no_colour_codes_when_redirected() {
    let dir = tempfile::tempdir().expect("temp");
    let out = Command::new(env!("CARGO_BIN_EXE_ekg"))
        .args(["build", &sample(), "--out", s(&dir.path().join("g.ekg")), "-v"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("INFO"), "-v logs: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "escape codes in a redirected log");
}

/// Writes a one-table dataset (`firms` plus `extra`) and validates it.
fn validate(files: &[(&str, &[u8])]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("temp");
    for (name, body) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("dir");
        }
        std::fs::write(path, body).expect("write");
    }
    let out = ekg(&["validate", s(dir.path())]);
    (out.status.code(), format!("{}{}", text(&out.stdout), text(&out.stderr)))
}

#[test]
fn inputs_once_dropped_or_misread_silently_are_read_or_refused() {
    // An unclosed quote in the last field swallowed every later row: refused, naming the line.
    let (code, message) = validate(&[("firms.csv", b"firm_id,name\nF1,\"Alpha\nF2,Beta\nF3,Gamma\n")]);
    assert_eq!(code, Some(65), "{message}");
    assert!(message.contains("line 2") && message.contains("never closed"), "{message}");
    // A Spark-style folder of part files is refused, not skipped.
    let (code, message) = validate(&[("firms.csv", b"firm_id\nF1\n"), ("transfers.parquet/part-0000.parquet", b"PAR1")]);
    assert_eq!(code, Some(65), "{message}");
    assert!(message.contains("transfers.parquet") && message.contains("folder"), "{message}");
    // A capitalised name and a gzip-compressed CSV are read.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, b"person_id,name\n110105194912310021,Li\n").expect("gz");
    let persons = gz.finish().expect("gz");
    let (code, message) = validate(&[("Firms.csv", b"firm_id\nF1\nF2\n"), ("persons.csv.gz", &persons)]);
    assert_eq!(code, Some(0), "{message}");
    assert!(message.contains("valid: 3 nodes"), "{message}");
    // Two columns with one name (up to case), or a contract column in another case.
    let (code, message) = validate(&[("firms.csv", b"firm_id,pd,PD\nF1,0.1,0.9\n")]);
    assert_eq!(code, Some(65), "{message}");
    assert!(message.contains("'pd' and 'PD'"), "{message}");
    let (code, message) = validate(&[("firms.csv", b"firm_id,Defaulted_On\nF1,2024-01-01\n")]);
    assert_eq!(code, Some(65), "{message}");
    assert!(message.contains("'Defaulted_On'") && message.contains("'defaulted_on'"), "{message}");
    // An id with a zero-width space would be an invisible twin of another firm.
    let (code, message) = validate(&[("firms.csv", "firm_id\nF1\nF1\u{200b}\n".as_bytes())]);
    assert_eq!(code, Some(65), "{message}");
    assert!(message.contains("row 2") && message.contains("U+200B"), "{message}");
    // An ASCII control inside an id (a bell), and the DEL character.
    let (code, message) = validate(&[("firms.csv", b"firm_id\nF1\nF\x071\nF\x7f2\n")]);
    assert_eq!(code, Some(65), "{message}");
    assert!(message.contains("row 2") && message.contains("U+0007") && message.contains("U+007F"), "{message}");
    // Amounts near f64::MAX would make sums infinite.
    let (code, message) = validate(&[("firms.csv", b"firm_id,registered_capital\nF1,1e300\n")]);
    assert_eq!(code, Some(65), "{message}");
    assert!(message.contains("row 1") && message.contains("registered_capital"), "{message}");
    // Text timestamps outside years 1..9999.
    let (code, message) =
        validate(&[("firms.csv", b"firm_id\nF1\nF2\n"), ("accounts.csv", b"account_id,owner_id,opened\nA1,F1,+586000-01-01\n")]);
    assert_eq!(code, Some(65), "{message}");
}

#[test]
fn parquet_dates_and_timestamps_out_of_range_are_row_errors_not_wrapped_values() {
    use arrow_array::{ArrayRef, Date32Array, RecordBatch, StringArray, TimestampMicrosecondArray};
    use std::sync::Arc;
    let dir = tempfile::tempdir().expect("temp");
    let ids: ArrayRef = Arc::new(StringArray::from(vec!["F1", "F2", "F3"]));
    // Year 586,000 as a date32 (it used to overflow into 1970), and a normal date.
    let founded: ArrayRef = Arc::new(Date32Array::from(vec![Some(213_300_000), Some(19_000), None]));
    let batch = RecordBatch::try_from_iter([("firm_id", ids.clone()), ("founded", founded)]).expect("batch");
    let file = std::fs::File::create(dir.path().join("firms.parquet")).expect("file");
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
    // i64::MIN in a required timestamp (it used to read as null).
    let accounts: ArrayRef = Arc::new(StringArray::from(vec!["A1"]));
    let owners: ArrayRef = Arc::new(StringArray::from(vec!["F1"]));
    let opened: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![i64::MIN]).with_timezone("UTC"));
    let batch = RecordBatch::try_from_iter([("account_id", accounts), ("owner_id", owners), ("opened", opened)]).expect("batch");
    let file = std::fs::File::create(dir.path().join("accounts.parquet")).expect("file");
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
    let out = ekg(&["validate", s(dir.path())]);
    assert_eq!(out.status.code(), Some(65));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("firms.parquet: row 1: column `founded`") && stdout.contains("outside the years 1 to 9999"), "{stdout}");
    assert!(!stdout.contains("row 2: column `founded`"), "{stdout}");
    assert!(stdout.contains("accounts.parquet: row 1: column `opened`"), "{stdout}");
}

#[test]
fn a_line_longer_than_any_value_is_refused_before_it_is_held() {
    let dir = tempfile::tempdir().expect("temp");
    let mut body = b"firm_id,name\nF1,".to_vec();
    body.extend(std::iter::repeat_n(b'x', 20 << 20));
    body.extend_from_slice(b"\nF2,b\n");
    std::fs::write(dir.path().join("firms.csv"), body).expect("write");
    let out = ekg(&["validate", s(dir.path())]);
    assert_eq!(out.status.code(), Some(65));
    assert!(text(&out.stderr).contains("line 2") && text(&out.stderr).contains("bytes"), "{}", text(&out.stderr));
}

/// Every string of a Parquet file (text columns and lists of text), for the PII scan.
fn strings_of(path: &Path) -> Vec<String> {
    use arrow_array::cast::AsArray;
    use arrow_array::Array;
    let mut out = Vec::new();
    for batch in read_batches(path) {
        for column in batch.columns() {
            match column.data_type() {
                arrow_schema::DataType::Utf8 => out.extend(column.as_string::<i32>().iter().flatten().map(str::to_string)),
                arrow_schema::DataType::List(_) => {
                    let list = column.as_list::<i32>();
                    for i in 0..list.len() {
                        if list.is_valid(i) {
                            let values = list.value(i);
                            if let Some(text) = values.as_string_opt::<i32>() {
                                out.extend(text.iter().flatten().map(str::to_string));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Tokens of a text that could be an id, phone or e-mail.
fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '_' | '-' | '+')))
        .map(|t| t.trim_end_matches('.'))
        .filter(|t| t.len() >= 6)
}

#[test]
fn outputs_hold_no_raw_personal_value_unless_revealed() {
    use super::read_parquet_column_str;
    let dir = tempfile::tempdir().expect("temp");
    let graph = sample();
    let data = Path::new(&graph);
    // The raw personal values of the input: resident ID numbers, personal identifiers (not
    // addresses), and the accounts of persons.
    let mut raw: BTreeSet<String> = read_parquet_column_str(&data.join("persons.parquet"), "person_id").into_iter().flatten().collect();
    let persons = raw.clone();
    let kinds = read_parquet_column_str(&data.join("identifiers.parquet"), "kind");
    let values = read_parquet_column_str(&data.join("identifiers.parquet"), "value");
    for (kind, value) in kinds.iter().zip(&values) {
        if let (Some(kind), Some(value)) = (kind, value) {
            if kind != "address" {
                raw.insert(value.clone());
            }
        }
    }
    let accounts = read_parquet_column_str(&data.join("accounts.parquet"), "account_id");
    let owners = read_parquet_column_str(&data.join("accounts.parquet"), "owner_id");
    let mut personal_accounts = 0;
    for (account, owner) in accounts.iter().zip(&owners) {
        if let (Some(account), Some(owner)) = (account, owner) {
            if persons.contains(owner) {
                raw.insert(account.clone());
                personal_accounts += 1;
            }
        }
    }
    assert!(raw.len() > 12_000 && personal_accounts > 0, "the sample has personal values to hide");
    let key = dir.path().join("pii.key");
    std::fs::write(&key, [7u8; 32]).expect("key");
    let scan = |out: &Path| -> Vec<String> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(out).expect("out").flatten() {
            let path = entry.path();
            let cells = if path.extension().is_some_and(|x| x == "parquet") {
                strings_of(&path)
            } else {
                vec![std::fs::read_to_string(&path).expect("text")]
            };
            for cell in &cells {
                found.extend(tokens(cell).filter(|t| raw.contains(*t)).map(|t| format!("{}: {t}", path.display())));
            }
        }
        found
    };
    let hidden = dir.path().join("hidden");
    let run = ekg(&["score", &graph, "--out", s(&hidden), "--pii-key", s(&key)]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let leaks = scan(&hidden);
    assert!(leaks.is_empty(), "{} raw values in outputs, e.g. {:?}", leaks.len(), &leaks[..leaks.len().min(5)]);
    // The same value has the same pseudonym in every table: a ring's shared phone is the
    // identifier the ring edges name, and the pseudonymised person ids of features are those of
    // ring members.
    let features: BTreeSet<String> = read_parquet_column_str(&hidden.join("features.parquet"), "node_id").into_iter().flatten().collect();
    let members = strings_of(&hidden.join("rings.parquet"));
    assert!(members.iter().filter(|m| m.starts_with("p:")).all(|m| features.contains(m)));
    assert!(features.iter().any(|id| id.starts_with("p:")));
    // Addresses stay readable.
    assert!(read_parquet_column_str(&hidden.join("ring_edges.parquet"), "identifier")
        .iter()
        .flatten()
        .any(|i| i.starts_with("address:") && i.contains(' ')));
    // With --reveal-pii the values are there: the scan can find them.
    let shown = dir.path().join("shown");
    assert!(ekg(&["score", &graph, "--out", s(&shown), "--reveal-pii"]).status.success());
    assert!(!scan(&shown).is_empty(), "revealed outputs show the values");
    // A pseudonym is stable under one key and differs under another.
    let again = dir.path().join("again");
    assert!(ekg(&["score", &graph, "--out", s(&again), "--pii-key", s(&key)]).status.success());
    assert_eq!(std::fs::read(hidden.join("features.parquet")).ok(), std::fs::read(again.join("features.parquet")).ok());
    // The investigator asks by the raw id and gets the answer under that id; other persons as
    // pseudonyms.
    let person = persons.iter().next().expect("a person").clone();
    let shown = ekg(&["show", "node", &person, "--graph", &graph, "--pii-key", s(&key), "--json"]);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    assert_eq!(answer["node_id"], person.as_str(), "the entity asked about is shown as asked");
}

#[test]
fn messages_mask_personal_values_and_show_business_keys() {
    // A dangling person-like id is masked; a dangling firm code (USCC) is shown whole.
    let (code, message) = validate(&[
        ("firms.csv", b"firm_id\n91350100M000100Y43\n"),
        (
            "shareholdings.csv",
            b"holder_id,firm_id,share\n11010519491231002X,91350100M000100Y43,0.5\n91110000MA00000000,91350100M000100Y43,0.2\n",
        ),
    ]);
    assert_eq!(code, Some(65), "{message}");
    assert!(message.contains("1101**********002X") && !message.contains("11010519491231002X"), "{message}");
    assert!(message.contains("'91110000MA00000000' is not an entity"), "{message}");
    // The user's own query is repeated as typed.
    let out = ekg(&["show", "node", "13812345678", "--graph", &sample()]);
    assert_eq!(out.status.code(), Some(65));
    assert!(text(&out.stderr).contains("'13812345678' is not an entity"), "{}", text(&out.stderr));
}

/// Every Arrow type in every logical kind of column: read when it can stand for the column,
/// otherwise exit 65 naming the file and column; never a panic, never exit 70.
#[test]
fn any_arrow_type_in_any_column_is_read_or_refused_by_name() {
    use arrow_array::builder::{ListBuilder, StringBuilder};
    use arrow_array::{
        ArrayRef, BinaryArray, BooleanArray, Date32Array, Date64Array, Decimal128Array, DurationSecondArray, Float32Array, Float64Array,
        Int16Array, Int32Array, Int64Array, Int8Array, LargeStringArray, RecordBatch, StringArray, StructArray, Time32SecondArray,
        TimestampNanosecondArray, UInt64Array, UInt8Array,
    };
    use std::sync::Arc;
    let list: ArrayRef = {
        let mut b = ListBuilder::new(StringBuilder::new());
        for v in ["1", "2"] {
            b.values().append_value(v);
            b.append(true);
        }
        Arc::new(b.finish())
    };
    let arrays: Vec<(&str, ArrayRef)> = vec![
        ("bool", Arc::new(BooleanArray::from(vec![true, false]))),
        ("int8", Arc::new(Int8Array::from(vec![1, 2]))),
        ("uint8", Arc::new(UInt8Array::from(vec![1, 2]))),
        ("int16", Arc::new(Int16Array::from(vec![1, 2]))),
        ("int32", Arc::new(Int32Array::from(vec![1, 2]))),
        ("int64", Arc::new(Int64Array::from(vec![1, 2]))),
        ("uint64", Arc::new(UInt64Array::from(vec![1, u64::MAX]))),
        ("float32", Arc::new(Float32Array::from(vec![0.5, 1.5]))),
        ("float64", Arc::new(Float64Array::from(vec![0.5, f64::MAX]))),
        ("decimal", Arc::new(Decimal128Array::from(vec![150, 250]).with_precision_and_scale(10, 2).expect("decimal"))),
        ("utf8", Arc::new(StringArray::from(vec!["F1", "F2"]))),
        ("large_utf8", Arc::new(LargeStringArray::from(vec!["F1", "F2"]))),
        ("binary", Arc::new(BinaryArray::from(vec![&b"F1"[..], &b"\xff\xfe"[..]]))),
        ("date32", Arc::new(Date32Array::from(vec![19_000, i32::MAX]))),
        ("date64", Arc::new(Date64Array::from(vec![0, i64::MAX]))),
        ("timestamp_ns", Arc::new(TimestampNanosecondArray::from(vec![0, i64::MIN]))),
        ("time32", Arc::new(Time32SecondArray::from(vec![1, 2]))),
        ("duration", Arc::new(DurationSecondArray::from(vec![1, 2]))),
        ("list", list),
        (
            "struct",
            Arc::new(StructArray::from(vec![(
                Arc::new(arrow_schema::Field::new("x", arrow_schema::DataType::Int32, false)),
                Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef,
            )])),
        ),
    ];
    let dir = tempfile::tempdir().expect("temp");
    let ids: ArrayRef = Arc::new(StringArray::from(vec!["F1", "F2"]));
    for column in ["firm_id", "registered_capital", "founded", "defaulted", "pd", "name"] {
        for (type_name, array) in &arrays {
            let data = dir.path().join(format!("{column}-{type_name}"));
            std::fs::create_dir(&data).expect("dir");
            let mut columns = vec![(column, array.clone())];
            if column != "firm_id" {
                columns.insert(0, ("firm_id", ids.clone()));
            }
            let batch = RecordBatch::try_from_iter(columns).expect("batch");
            let file = std::fs::File::create(data.join("firms.parquet")).expect("file");
            let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
            writer.write(&batch).expect("write");
            writer.close().expect("close");
            let out = ekg(&["validate", s(&data)]);
            let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
            match out.status.code() {
                Some(0) => {}
                Some(65) => assert!(said.contains("firms.parquet") && said.contains(column), "{column} as {type_name}: {said}"),
                other => panic!("{column} as {type_name}: exit {other:?}: {said}"),
            }
        }
    }
}

#[test]
fn folders_dangling_links_colliding_ids_and_flipped_snapshots_are_refused() {
    let dir = tempfile::tempdir().expect("temp");
    // A folder where a table should be.
    let data = dir.path().join("folder");
    std::fs::create_dir_all(data.join("firms.csv")).expect("dir");
    let out = ekg(&["validate", s(&data)]);
    assert_eq!(out.status.code(), Some(65), "{}", text(&out.stderr));
    // A table that is a dangling link: input missing.
    #[cfg(unix)]
    {
        let data = dir.path().join("link");
        std::fs::create_dir(&data).expect("dir");
        std::os::unix::fs::symlink("/nonexistent/firms.csv", data.join("firms.csv")).expect("link");
        let out = ekg(&["validate", s(&data)]);
        assert_eq!(out.status.code(), Some(66), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("firms.csv"), "{}", text(&out.stderr));
    }
    // Ids that differ in the file but are one after trimming and NFKC (full-width letters).
    let (code, message) = validate(&[("firms.csv", "firm_id,name\nF001,Alpha\nＦ００１ ,Beta\n".as_bytes())]);
    assert_eq!(code, Some(65), "{message}");
    assert!(message.contains("row 2") && message.contains("duplicate id"), "{message}");
    // A snapshot with flipped bytes anywhere past the header.
    let snapshot = dir.path().join("g.ekg");
    assert!(ekg(&["build", &sample(), "--out", s(&snapshot)]).status.success());
    let bytes = std::fs::read(&snapshot).expect("snapshot");
    for at in [bytes.len() / 3, bytes.len() / 2, bytes.len() - 100] {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x5a;
        let path = dir.path().join(format!("flipped-{at}.ekg"));
        std::fs::write(&path, flipped).expect("write");
        let out = ekg(&["info", s(&path)]);
        assert_eq!(out.status.code(), Some(65), "byte {at}: {}", text(&out.stderr));
    }
}
