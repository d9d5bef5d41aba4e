//! File-level failures: missing, empty, malformed or mistyped inputs give a typed error naming
//! the file (and line and field for CSV), never a panic.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use ekg_loaders::{Encoding, Error, OnError};
use parquet::arrow::ArrowWriter;

use crate::common::*;

fn write_parquet(path: &std::path::Path, batch: &RecordBatch) {
    let file = std::fs::File::create(path).expect("create");
    let mut writer = ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    writer.write(batch).expect("write");
    writer.close().expect("close");
}

#[test]
fn missing_dataset_folder_and_missing_firms_table() {
    let err = ekg_loaders::Dataset::discover(std::path::Path::new("/nonexistent/ekg")).expect_err("error");
    assert!(matches!(err, Error::Missing { .. }), "{err}");
    let f = Fixture::new(&[("firms", "")]);
    let err = f.load(OnError::Fail).expect_err("error");
    assert_eq!(err.to_string(), format!("input 'firms' not found: {}", f.file("firms.parquet").display()));
}

#[test]
fn header_only_firms_is_an_error_and_header_only_optional_table_a_notice() {
    let f = Fixture::new(&[("firms", "firm_id,name\n")]);
    let err = f.load(OnError::Fail).expect_err("error");
    assert!(matches!(err, Error::EmptyTable { .. }) && err.to_string().contains("firms.csv"), "{err}");
    let f = Fixture::new(&[("supply_links", "supplier_id,customer_id,volume\n")]);
    let (_, report) = f.load(OnError::Fail).expect("empty optional table");
    assert!(report.problems.notices.iter().any(|n| n.contains("supply_links") && n.contains("no rows")));
}

#[test]
fn an_empty_file_is_an_error_not_a_panic() {
    let f = Fixture::new(&[]);
    std::fs::write(f.file("officers.csv"), "").expect("write");
    let err = f.load(OnError::Fail).expect_err("error");
    assert!(err.to_string().contains("officers.csv"), "{err}");
}

#[test]
fn missing_required_column() {
    let f = Fixture::new(&[("transfers", "src_id,dst_id,amount\nA1,A2,5\n")]);
    let err = f.load(OnError::Skip).expect_err("error");
    assert_eq!(err.to_string(), format!("{}: required column 'ts' is missing", f.file("transfers.csv").display()));
}

#[test]
fn ragged_csv_rows_name_the_line() {
    let f = Fixture::new(&[("persons", "person_id,name\nP1,Wang\nP2,Li,extra\n")]);
    let err = f.load(OnError::Skip).expect_err("error");
    let text = err.to_string();
    assert!(matches!(err, Error::Csv { line: 3, .. }), "{text}");
    assert!(text.contains("persons.csv: line 3") && text.contains("3 fields where the header has 2"), "{text}");
}

#[test]
fn quoted_fields_with_embedded_newlines_and_a_bom_are_read() {
    let f = Fixture::new(&[("persons", "\u{feff}person_id,name\nP1,\"Wang,\nJr\"\nP2,\"Li \"\"the\"\" elder\"\n")]);
    let (graph, _) = f.load(OnError::Fail).expect("valid CSV");
    let p1 = graph.lookup("P1").expect("the BOM is not part of the column name");
    let first_person = graph.kind_range(ekg_schema::NodeKind::Person).start;
    assert_eq!(graph.persons.name.get((p1.0 - first_person) as usize), "Wang,\nJr");
}

#[test]
fn non_utf8_bytes_name_line_and_field_and_gb18030_decodes_them() {
    let f = Fixture::new(&[]);
    // "王" in GBK is 0xCD 0xF5.
    let mut bytes = b"person_id,name\nP1,".to_vec();
    bytes.extend_from_slice(&[0xCD, 0xF5]);
    bytes.extend_from_slice(b"\nP2,Li\n");
    std::fs::write(f.file("persons.csv"), &bytes).expect("write");
    let err = f.load(OnError::Skip).expect_err("error");
    let text = err.to_string();
    assert!(text.contains("persons.csv: line 2, field 2") && text.contains("--encoding gb18030"), "{text}");
    let dataset = ekg_loaders::Dataset::discover(f.path()).expect("dataset");
    let options = ekg_loaders::LoadOptions { encoding: Encoding::Gb18030, as_of: AS_OF, ..Default::default() };
    let (graph, _) = ekg_loaders::load_dataset(&dataset, &options).expect("decoded");
    let first_person = graph.kind_range(ekg_schema::NodeKind::Person).start;
    assert_eq!(graph.persons.name.get(0), "王");
    assert_eq!(graph.lookup("P1").map(|p| p.0), Some(first_person));
}

#[test]
fn binary_junk_named_csv() {
    let f = Fixture::new(&[]);
    let junk: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(f.file("transfers.csv"), &junk).expect("write");
    let err = f.load(OnError::Skip).expect_err("error");
    assert!(err.is_bad_data() && err.to_string().contains("transfers.csv"), "{err}");
}

#[test]
fn huge_values_are_bounded() {
    let f = Fixture::new(&[]);
    let text = format!("person_id,name\nP1,{}\n", "x".repeat(10_000_000));
    std::fs::write(f.file("persons.csv"), text).expect("write");
    let err = f.load(OnError::Skip).expect_err("error");
    assert!(err.to_string().contains("exceeds the limit"), "{err}");
}

#[test]
fn parquet_and_csv_of_one_table_is_ambiguous() {
    let f = Fixture::new(&[]);
    std::fs::write(f.file("persons.parquet"), b"PAR1").expect("write");
    let err = ekg_loaders::Dataset::discover(f.path()).expect_err("error");
    assert!(matches!(err, Error::Ambiguous { .. }), "{err}");
}

#[test]
fn files_that_are_not_tables_are_ignored() {
    let f = Fixture::new(&[]);
    std::fs::write(f.file("README.md"), "# notes").expect("write");
    std::fs::create_dir(f.file("truth")).expect("mkdir");
    std::fs::write(f.file("truth/rings.parquet"), b"not read").expect("write");
    let dataset = ekg_loaders::Dataset::discover(f.path()).expect("dataset");
    assert_eq!(dataset.tables.len(), 10);
    assert_eq!(dataset.ignored.len(), 2);
}

fn persons_batch() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("person_id", DataType::Utf8, false), Field::new("name", DataType::Utf8, true)]));
    RecordBatch::try_new(
        schema,
        vec![Arc::new(StringArray::from(vec!["P1", "P2"])) as ArrayRef, Arc::new(StringArray::from(vec!["Wang", "Li"]))],
    )
    .expect("batch")
}

#[test]
fn truncated_and_corrupt_parquet_is_refused_with_the_file_name() {
    let f = Fixture::new(&[("persons", "")]);
    let path = f.file("persons.parquet");
    write_parquet(&path, &persons_batch());
    let good = std::fs::read(&path).expect("read");
    assert!(f.load(OnError::Fail).is_ok());
    // Every truncation length, and bit flips across the file: an error, never a panic.
    for cut in (0..good.len()).step_by(7).chain([good.len() - 1, good.len() - 4, good.len() - 8]) {
        std::fs::write(&path, &good[..cut]).expect("write");
        let err = f.load(OnError::Fail).err().unwrap_or_else(|| panic!("truncation at {cut} loaded"));
        assert!(err.to_string().contains("persons.parquet"), "cut {cut}: {err}");
    }
    for at in (0..good.len()).step_by(3) {
        let mut bad = good.clone();
        bad[at] ^= 0x5A;
        std::fs::write(&path, &bad).expect("write");
        // A flipped bit in page data may still decode to other valid values; only a panic or a
        // hang would be a failure here, and a load error must name the file.
        if let Err(err) = f.load(OnError::Skip) {
            assert!(err.to_string().contains("persons.parquet") || err.is_bad_data(), "flip at {at}: {err}");
        }
    }
    let mut wrong_magic = good.clone();
    wrong_magic[..4].copy_from_slice(b"PAR0");
    std::fs::write(&path, &wrong_magic).expect("write");
    let err = f.load(OnError::Fail).expect_err("error");
    assert_eq!(err.to_string(), format!("{}: not valid Parquet (wrong magic bytes at the start)", path.display()));
    let mut huge_footer = good.clone();
    let n = huge_footer.len();
    huge_footer[n - 8..n - 4].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&path, &huge_footer).expect("write");
    let err = f.load(OnError::Fail).expect_err("error");
    assert!(err.to_string().contains("footer length 4294967295 beyond the file"), "{err}");
}

#[test]
fn a_parquet_column_of_the_wrong_type_names_expected_and_found() {
    let f = Fixture::new(&[("transfers", "")]);
    let schema = Arc::new(Schema::new(vec![
        Field::new("src_id", DataType::Utf8, false),
        Field::new("dst_id", DataType::Utf8, false),
        Field::new("amount", DataType::Float64, false),
        Field::new("ts", DataType::Float64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(vec!["A1"])) as ArrayRef,
            Arc::new(StringArray::from(vec!["A2"])),
            Arc::new(Float64Array::from(vec![5.0])),
            Arc::new(Float64Array::from(vec![1.0])),
        ],
    )
    .expect("batch");
    write_parquet(&f.file("transfers.parquet"), &batch);
    let err = f.load(OnError::Fail).expect_err("error");
    assert_eq!(err.to_string(), format!("{}: column 'ts' expected timestamp, found Float64", f.file("transfers.parquet").display()));
}
