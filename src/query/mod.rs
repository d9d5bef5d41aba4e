//! Investigator queries over a graph (a snapshot, memory-mapped, opens in milliseconds) and an
//! optional `ekg score` output folder: `show node`, `show ring`, `path`, `neighborhood`.
//! Terminal output is aligned text; `--json` gives the same content to tools.

pub mod neighborhood;
pub mod path;
pub mod show;

use std::path::Path;

use anyhow::{Context, Result};
use arrow_array::RecordBatch;
use ekg_schema::{Graph, NodeId, Relation};
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector};

use crate::exit::{coded, DATA};

/// The node of an external id (as the input has it, or its pseudonym), or a data error naming it.
/// The id is the user's own query, so the message repeats it unmasked.
pub fn resolve(graph: &Graph, id: &str) -> Result<NodeId> {
    crate::pii::lookup(graph, id).ok_or_else(|| coded(DATA, format!("'{}' is not an entity of the graph", id.trim())))
}

/// One edge seen from a node: the neighbour, the relation, whether the node is its source, and
/// the forward edge id (for attributes).
#[derive(Clone, Copy, Debug)]
pub struct Hop {
    pub neighbor: u32,
    pub relation: Relation,
    pub outgoing: bool,
    pub edge: usize,
}

/// Every edge of `v` in the chosen relations, both directions.
pub fn hops(graph: &Graph, relations: &[Relation], v: u32, mut f: impl FnMut(Hop)) {
    for &relation in relations {
        let store = graph.relation(relation);
        let range = store.forward.range(NodeId(v));
        for (e, t) in range.clone().zip(&store.forward.targets()[range]) {
            f(Hop { neighbor: t.0, relation, outgoing: true, edge: e });
        }
        let range = store.reverse.range(NodeId(v));
        for (i, s) in range.clone().zip(&store.reverse.targets()[range]) {
            f(Hop { neighbor: s.0, relation, outgoing: false, edge: store.reverse_edge[i] as usize });
        }
    }
}

/// The attributes of one edge as (name, text) pairs.
pub fn edge_attributes(graph: &Graph, relation: Relation, edge: usize) -> Vec<(&'static str, String)> {
    let store = graph.relation(relation);
    let mut out = Vec::new();
    for (name, column) in &store.attrs {
        let text = match column {
            ekg_schema::graph::AttrColumn::F64(c) => c.get(edge).filter(|x| x.is_finite()).map(|x| format!("{x:.2}")),
            ekg_schema::graph::AttrColumn::I64(c) => c
                .get(edge)
                .filter(|&&t| t != ekg_schema::TS_NULL)
                .and_then(|&t| chrono::DateTime::from_timestamp_micros(t))
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string()),
            ekg_schema::graph::AttrColumn::I32(c) => c
                .get(edge)
                .filter(|&&d| d != ekg_schema::DATE_NULL)
                .and_then(|&d| chrono::NaiveDate::from_num_days_from_ce_opt(d + 719_163))
                .map(|d| d.to_string()),
            ekg_schema::graph::AttrColumn::U8(c) => c.get(edge).map(|&x| {
                if *name == "role" {
                    ekg_schema::OfficerRole::from_code(x).map_or(x.to_string(), |r| r.as_str().to_string())
                } else {
                    x.to_string()
                }
            }),
        };
        if let Some(text) = text {
            out.push((*name, text));
        }
    }
    out
}

/// Row `row` of a Parquet file, reading only the pages that hold it (page index).
pub fn read_row(path: &Path, row: usize) -> Result<Option<RecordBatch>> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let options = ArrowReaderOptions::new().with_page_index_policy(parquet::file::metadata::PageIndexPolicy::Optional);
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
        .with_context(|| format!("{}: not a Parquet table", path.display()))?;
    let rows = builder.metadata().file_metadata().num_rows() as usize;
    if row >= rows {
        return Ok(None);
    }
    let selection = RowSelection::from(vec![RowSelector::skip(row), RowSelector::select(1)]);
    let mut reader = builder.with_row_selection(selection).build().with_context(|| format!("cannot read {}", path.display()))?;
    reader.next().transpose().with_context(|| format!("cannot read {}", path.display()))
}

/// The first row whose text column `column` equals `key`, as a one-row batch.
pub fn find_row(path: &Path, column: &str, key: &str) -> Result<Option<RecordBatch>> {
    use arrow_array::cast::AsArray;
    use arrow_array::Array;
    for batch in read_all(path)? {
        let index = batch.schema().index_of(column).with_context(|| format!("{}: no column {column}", path.display()))?;
        let Some(values) = batch.column(index).as_string_opt::<i32>() else {
            anyhow::bail!("{}: column {column} is not text", path.display());
        };
        if let Some(row) = (0..batch.num_rows()).find(|&row| values.is_valid(row) && values.value(row) == key) {
            return Ok(Some(batch.slice(row, 1)));
        }
    }
    Ok(None)
}

/// The named columns of the first `limit` rows of a Parquet file (others are not decoded).
pub fn read_columns(path: &Path, names: &[&str], limit: usize) -> Result<Vec<RecordBatch>> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).with_context(|| format!("{}: not a Parquet table", path.display()))?;
    let mask = parquet::arrow::ProjectionMask::columns(builder.parquet_schema(), names.iter().copied());
    let reader = builder.with_projection(mask).with_limit(limit).build().with_context(|| format!("cannot read {}", path.display()))?;
    reader.collect::<std::result::Result<Vec<_>, _>>().with_context(|| format!("cannot read {}", path.display()))
}

/// Every batch of a Parquet file.
pub fn read_all(path: &Path) -> Result<Vec<RecordBatch>> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .with_context(|| format!("{}: not a Parquet table", path.display()))?;
    reader.collect::<std::result::Result<Vec<_>, _>>().with_context(|| format!("cannot read {}", path.display()))
}

/// One cell as display text (null: None).
pub fn cell(batch: &RecordBatch, column: usize, row: usize) -> Option<String> {
    let array = batch.column(column);
    if array.is_null(row) {
        return None;
    }
    if let arrow_schema::DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, _) = array.data_type() {
        use arrow_array::cast::AsArray;
        let micros = array.as_primitive::<arrow_array::types::TimestampMicrosecondType>().value(row);
        return chrono::DateTime::from_timestamp_micros(micros).map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string());
    }
    arrow_cast::display::array_value_to_string(array, row).ok()
}
