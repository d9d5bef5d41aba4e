//! The same data as CSV and as Parquet (with the physical variants banks export: dictionary
//! strings, large_utf8, integer ids, millisecond timestamps, date32) gives the identical graph.

use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, DictionaryArray, Float64Array, Int64Array, LargeStringArray, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use ekg_loaders::OnError;
use ekg_schema::snapshot::content_digest;
use parquet::arrow::ArrowWriter;

use crate::common::Fixture;

fn write(path: std::path::PathBuf, columns: Vec<(&str, ArrayRef)>) {
    let schema = Arc::new(Schema::new(columns.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect::<Vec<_>>()));
    let batch = RecordBatch::try_new(schema.clone(), columns.into_iter().map(|(_, a)| a).collect()).expect("batch");
    let file = std::fs::File::create(path).expect("create");
    let mut w = ArrowWriter::try_new(file, schema, None).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
}

const CSV: [(&str, &str); 4] = [
    ("firms", "firm_id,name,registered_capital,founded,defaulted\n101,Alpha,1000,2010-05-01,true\n102,Beta,,2015-03-10,false\n"),
    ("accounts", "account_id,owner_id,opened\n9001,101,2020-01-01T00:00:00Z\n9002,102,\n"),
    ("transfers", "src_id,dst_id,amount,ts\n9001,9002,10.5,2024-03-01T10:00:00.250Z\n9002,9001,3,2024-03-02T00:00:00Z\n"),
    ("identifiers", "entity_id,kind,value\n101,phone,138\n102,phone,138\n"),
];

#[test]
fn csv_and_parquet_of_the_same_data_build_identical_graphs() {
    let empty: Vec<(&str, &str)> =
        ["persons", "loans", "shareholdings", "officers", "guarantees", "supply_links"].iter().map(|n| (*n, "")).collect();
    let mut csv_overrides = empty.clone();
    csv_overrides.extend(CSV);
    let csv = Fixture::new(&csv_overrides);
    let mut pq_overrides = empty;
    pq_overrides.extend(CSV.iter().map(|(n, _)| (*n, "")));
    let pq = Fixture::new(&pq_overrides);
    write(
        pq.file("firms.parquet"),
        vec![
            ("firm_id", Arc::new(Int64Array::from(vec![101, 102])) as ArrayRef),
            ("name", Arc::new(LargeStringArray::from(vec!["Alpha", "Beta"]))),
            ("registered_capital", Arc::new(Float64Array::from(vec![Some(1000.0), None]))),
            ("founded", Arc::new(Date32Array::from(vec![14730, 16504]))),
            ("defaulted", Arc::new(BooleanArray::from(vec![true, false]))),
        ],
    );
    let owners: DictionaryArray<Int32Type> = vec!["101", "102"].into_iter().collect();
    write(
        pq.file("accounts.parquet"),
        vec![
            ("account_id", Arc::new(StringArray::from(vec!["9001", "9002"])) as ArrayRef),
            ("owner_id", Arc::new(owners)),
            ("opened", Arc::new(TimestampMillisecondArray::from(vec![Some(1_577_836_800_000), None]).with_timezone("UTC"))),
        ],
    );
    write(
        pq.file("transfers.parquet"),
        vec![
            ("src_id", Arc::new(Int64Array::from(vec![9001, 9002])) as ArrayRef),
            ("dst_id", Arc::new(Int64Array::from(vec![9002, 9001]))),
            ("amount", Arc::new(Float64Array::from(vec![10.5, 3.0]))),
            ("ts", Arc::new(TimestampMillisecondArray::from(vec![1_709_287_200_250, 1_709_337_600_000]))),
        ],
    );
    write(
        pq.file("identifiers.parquet"),
        vec![
            ("entity_id", Arc::new(StringArray::from(vec!["101", "102"])) as ArrayRef),
            ("kind", Arc::new(StringArray::from(vec!["phone", "phone"]))),
            ("value", Arc::new(StringArray::from(vec!["138", "138"]))),
        ],
    );
    let (a, _) = csv.load(OnError::Fail).expect("csv loads");
    let (b, _) = pq.load(OnError::Fail).expect("parquet loads");
    assert_eq!(a.node_count(), 4);
    assert_eq!(content_digest(&a), content_digest(&b));
    let _ = DataType::Timestamp(TimeUnit::Millisecond, None);
}

/// Each table's header, then its rows reversed.
fn reversed(table: &str) -> String {
    let mut lines: Vec<&str> = table.lines().collect();
    lines[1..].reverse();
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn node_rows_in_another_order_build_the_identical_graph() {
    // Nodes are numbered in the order of their ids, whatever the rows' order, so every result
    // that breaks a tie or draws by node number is the same for a re-ordered export.
    let tables: Vec<(&str, String)> = crate::common::TABLES.iter().map(|(name, text)| (*name, reversed(text))).collect();
    let overrides: Vec<(&str, &str)> = tables.iter().map(|(name, text)| (*name, text.as_str())).collect();
    let (a, _) = Fixture::new(&[]).load(OnError::Fail).expect("loads");
    let (b, _) = Fixture::new(&overrides).load(OnError::Fail).expect("reversed loads");
    assert_ne!(crate::common::FIRMS, reversed(crate::common::FIRMS), "the near miss: rows really moved");
    assert_eq!(content_digest(&a), content_digest(&b));
    let firms: Vec<&str> = (0..3).map(|v| b.external_id(ekg_schema::NodeId(v))).collect();
    assert_eq!(firms, ["F1", "F2", "F3"]);
}
