//! The relation tables are read a few row groups at a time: cutting the input into many small
//! row groups and the partitioning into many small rounds changes no feature.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use ekg_distributed::stages::HeldValues;
use ekg_distributed::{run, Cluster, Features, Job, ROUND_ROWS};
use ekg_loaders::{Dataset, Encoding};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

fn sample_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sample-data")
}

/// Every Parquet table of `from` rewritten into `to` in row groups of `rows` rows.
fn in_row_groups_of(from: &Path, to: &Path, rows: usize) {
    for entry in std::fs::read_dir(from).expect("sample data") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "parquet") {
            continue;
        }
        let file = std::fs::File::open(&path).expect("open");
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet");
        let schema = builder.schema().clone();
        let reader = builder.build().expect("reader");
        let props = WriterProperties::builder().set_max_row_group_row_count(Some(rows)).build();
        let out = std::fs::File::create(to.join(path.file_name().expect("name"))).expect("create");
        let mut writer = ArrowWriter::try_new(out, schema, Some(props)).expect("writer");
        for batch in reader {
            writer.write(&batch.expect("batch")).expect("write");
        }
        writer.close().expect("close");
    }
}

fn features(data: &Path, round_rows: usize, threads: usize) -> Features {
    let job = Job {
        dataset: Dataset::discover(data).expect("dataset"),
        encoding: Encoding::Utf8,
        as_of: None,
        pagerank: Default::default(),
        round_rows,
    };
    let cluster = Cluster { addresses: vec!["local".into()], process: 0, threads, connected: Arc::new(AtomicBool::new(false)) };
    run(job, cluster).expect("run").expect("process 0 gets the features")
}

#[test]
fn small_row_groups_and_small_rounds_change_no_feature() {
    let dir = tempfile::tempdir().expect("temp");
    in_row_groups_of(&sample_data(), dir.path(), 997);
    let whole = features(&sample_data(), ROUND_ROWS, 2);
    let cut = features(dir.path(), 1_500, 3);
    assert_eq!(whole.node_id, cut.node_id);
    assert_eq!(whole.kind, cut.kind);
    assert_eq!(whole.as_of, cut.as_of, "the default instant, the latest transfer");
    assert_eq!(whole.edges, cut.edges);
    assert!(whole.edges > 200_000, "{} edges", whole.edges);
    assert_eq!(whole.columns.len(), cut.columns.len());
    for (a, b) in whole.columns.iter().zip(&cut.columns) {
        assert_eq!(a.name, b.name);
        match (&a.values, &b.values) {
            (HeldValues::U32(x), HeldValues::U32(y)) => assert_eq!(x.to_vec(), y.to_vec(), "{}", a.name),
            (HeldValues::F64(x), HeldValues::F64(y)) => {
                for (i, (p, q)) in x.to_vec().iter().zip(&y.to_vec()).enumerate() {
                    let same = (p.is_nan() && q.is_nan()) || (p - q).abs() <= 1e-12 * p.abs().max(q.abs());
                    assert!(same, "{} of {}: {p} and {q}", a.name, whole.node_id[i]);
                }
            }
            _ => panic!("{}: different types", a.name),
        }
    }
}
